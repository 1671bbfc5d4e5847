"""A workspace: one folder holding the inbox, quarantine, store, index, database and settings.

Every command finds its workspace from `--workspace`, then `MOTCUA_WORKSPACE`,
then the current folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from motcua.errors import UserError, WorkspaceNotFound

CONFIG_NAME = "motcua.toml"
ENV_VAR = "MOTCUA_WORKSPACE"


@dataclass(frozen=True)
class Signer:
    name: str
    title: str  # e.g. "CHỦ TỊCH", "PHÓ CHỦ TỊCH"


@dataclass(frozen=True)
class AgencyConfig:
    code: str = "000.00.07.H47"
    name: str = "Trung tâm Phục vụ hành chính công xã Gia Lộc"
    parent_body: str = "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG"
    issuing_body: str = "ỦY BAN NHÂN DÂN XÃ GIA LỘC"
    abbreviation: str = "UBND"
    place_name: str = "Gia Lộc"
    chairman: Signer = Signer("Nguyễn Văn An", "CHỦ TỊCH")
    vice_chairman: Signer = Signer("Trần Thị Bình", "PHÓ CHỦ TỊCH")


def usable_cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than
    the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class OcrConfig:
    language: str = "vie"
    confidence_threshold: float = 70.0
    jobs: int = field(default_factory=lambda: usable_cores())
    timeout_seconds: float = 600.0
    thresholding: str = "sauvola"
    retry_language: str = ""
    retry_below: float = 90.0


@dataclass(frozen=True)
class IngestConfig:
    operator: str = "Cán bộ số hóa"
    stable_seconds: float = 3.0
    rescan_minutes: float = 5.0
    poll: bool = False
    ignore_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexConfig:
    engine: str = "tantivy"  # or "whoosh"


@dataclass(frozen=True)
class Config:
    agency: AgencyConfig = AgencyConfig()
    ocr: OcrConfig = OcrConfig()
    ingest: IngestConfig = IngestConfig()
    index: IndexConfig = IndexConfig()
    extra: dict[str, Any] = field(default_factory=dict)  # sections owned by later features

    def section(self, name: str) -> dict[str, Any]:
        """One of OTHER_SECTIONS as written (empty when absent); `parse_config` has
        already refused a section that is not a table or holds an unknown key."""
        return dict(self.extra.get(name, {}))


DEFAULT_CONFIG_TEXT = """\
# Cấu hình motcua (settings of this workspace). Lines starting with # are comments.

[agency]
# Mã cơ quan tiếp nhận: the receiving agency code, first part of every dossier code.
code = "000.00.07.H47"
name = "Trung tâm Phục vụ hành chính công xã Gia Lộc"
# Header of issued documents (Nghị định 30/2020): parent body above issuing body.
parent_body = "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG"
issuing_body = "ỦY BAN NHÂN DÂN XÃ GIA LỘC"
abbreviation = "UBND"
place_name = "Gia Lộc"
chairman = { name = "Nguyễn Văn An", title = "CHỦ TỊCH" }
vice_chairman = { name = "Trần Thị Bình", title = "PHÓ CHỦ TỊCH" }

[ocr]
# Tesseract language: "vie" (default, fastest) or "Vietnamese" (script model, reads
# poor scans a little better, 10–40% slower).
language = "vie"
# Pages whose mean word confidence (0-100) is below this are flagged "cần quét lại".
confidence_threshold = 70
# Parallel OCR jobs; default is the number of CPU cores.
# jobs = 2
timeout_seconds = 600
# How Tesseract turns the page black and white: "sauvola" (local; reads uneven light,
# faded toner, seals much better, same speed) or "otsu" (Tesseract's own global default).
# thresholding = "sauvola"
# A second model for pages read below retry_below confidence; the better reading is
# kept. "Vietnamese" costs a second read of those pages (README: OCR settings).
# retry_language = ""
# retry_below = 90

[ingest]
# Name printed in the digitization stamp ("người số hóa").
operator = "Cán bộ số hóa"
# A file in the inbox is taken after it has not changed for this many seconds.
stable_seconds = 3
# Full scan of the inbox every N minutes, to catch events the OS missed.
rescan_minutes = 5
# true on a network share where file events do not arrive.
poll = false
# Extra file patterns to ignore, added to the built-in list.
ignore_patterns = []

[index]
# "tantivy" (default, fast) or "whoosh" (pure Python).
engine = "tantivy"

# [limits]: a file past one of these is quarantined at once with a reason, never
# retried. Uncomment the section to change them (these are the defaults).
# [limits]
# max_pixels_per_page = 150000000   # declared image size of one page
# max_decompressed_mb = 256         # page content streams of one PDF, inflated
# max_pages = 1000                  # longer files: split them (the reason says how)
# worker_memory_mb = 2048           # address-space limit of each OCR worker

# [workers]: where OCR runs. "local" (default): this machine's cores, nothing more to
# install. "celery": on `motcua worker` processes on other machines that mount this
# workspace (the shared store), fed through a Redis queue; this machine still makes
# every commit. Uncomment the section to use it (see README, "OCR on many machines").
# [workers]
# backend = "celery"
# broker_url = "redis://may-dieu-phoi:6379/0"
# in_flight = 16                    # files sent to the queue at once
# visibility_timeout = 3600         # seconds before a vanished worker's task is redone
# retry_seconds = 30                # wait before sending again when Redis is down

[web]
# A login session ends after this many minutes without a request...
idle_minutes = 30
# ...and this many hours after logging in, whatever happens.
absolute_hours = 12
# Failed logins for one account, or from one address, within lockout_minutes before
# further attempts are refused (until the oldest of them is lockout_minutes old).
max_failures = 5
lockout_minutes = 15
# Largest file the upload page accepts, in MB (a larger one is refused at once).
upload_max_mb = 200
"""


def _build(cls: type, data: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise UserError(
                f"Tệp cấu hình {CONFIG_NAME}: khóa không hợp lệ “{section}.{key}”.",
                f"unknown config key {section}.{key}",
            )
        if isinstance(value, dict) and key in ("chairman", "vice_chairman"):
            value = Signer(**value)
        if isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


# The sections read by the module that uses them (each says what its values mean), with
# their keys: a misspelt section or key is refused when motcua.toml is loaded, for every
# section alike, instead of being silently ignored where it is read.
OTHER_SECTIONS: dict[str, frozenset[str]] = {
    "web": frozenset({"idle_minutes", "absolute_hours", "max_failures", "lockout_minutes",
                      "upload_max_mb"}),
    "limits": frozenset({"max_pixels_per_page", "max_decompressed_mb", "max_pages",
                         "worker_memory_mb"}),
    "workers": frozenset({"backend", "broker_url", "in_flight", "visibility_timeout",
                          "retry_seconds"}),
    "warehouse": frozenset({"auto_reuse", "mst_check_digit", "operator", "timezone"}),
    "lifecycle": frozenset({"count_from", "deem_next_working_day", "return_time",
                            "return_place", "receiver", "apology_extension_days",
                            "apology_reason"}),
    "reports": frozenset({"recipients", "archive", "signature"}),
    "ratings": frozenset({"link_base", "link_days", "kiosk_seconds", "criteria"}),
    "templates": frozenset({"numbering", "paper"}),
}


def _check_other_section(name: str, value: Any) -> None:
    if name not in OTHER_SECTIONS:
        known = ", ".join(f"[{n}]" for n in ("agency", "ocr", "ingest", "index",
                                              *OTHER_SECTIONS))
        raise UserError(
            f"Tệp cấu hình {CONFIG_NAME}: mục không hợp lệ “[{name}]”; các mục được nhận: "
            f"{known}.", f"unknown config section {name}")
    if not isinstance(value, dict):
        raise UserError(f"Tệp cấu hình {CONFIG_NAME}: “{name}” phải là một mục “[{name}]”.",
                        f"config section {name} is not a table")
    for key in value:
        if key not in OTHER_SECTIONS[name]:
            raise UserError(
                f"Tệp cấu hình {CONFIG_NAME}: khóa không hợp lệ “{name}.{key}”; mục "
                f"[{name}] nhận: {', '.join(sorted(OTHER_SECTIONS[name]))}.",
                f"unknown config key {name}.{key}")


def parse_config(text: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"Tệp cấu hình {CONFIG_NAME} sai cú pháp: {exc}. Hãy sửa lại dòng được chỉ ra.",
            str(exc),
        ) from exc
    sections = {"agency": AgencyConfig, "ocr": OcrConfig, "ingest": IngestConfig,
                "index": IndexConfig}
    built: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in data.items():
        if name in sections:
            built[name] = _build(sections[name], value, name)
        else:
            _check_other_section(name, value)
            extra[name] = value
    return Config(**built, extra=extra)


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Config

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def tmp(self) -> Path:
        """Scratch space on the same filesystem as the store, so renames are atomic."""
        return self.root / "store" / "tmp"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def db_path(self) -> Path:
        return self.root / "motcua.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def relative(self, path: Path) -> str:
        """Path as stored in the database: relative to the workspace root."""
        return str(path.resolve().relative_to(self.root))

    def absolute(self, stored: str) -> Path:
        return self.root / stored


def _dirs(ws: Workspace) -> list[Path]:
    return [ws.inbox, ws.quarantine, ws.store, ws.tmp, ws.index_dir, ws.logs]


def load_workspace(root: Path) -> Workspace:
    root = root.resolve()
    config_path = root / CONFIG_NAME
    if not config_path.is_file():
        raise WorkspaceNotFound(
            f"Không tìm thấy kho làm việc tại {root} (thiếu tệp {CONFIG_NAME}). "
            f"Hãy chạy “motcua init {root}” hoặc chỉ rõ bằng --workspace / {ENV_VAR}.",
            f"no {CONFIG_NAME} in {root}",
        )
    ws = Workspace(root=root, config=parse_config(config_path.read_text(encoding="utf-8")))
    for d in _dirs(ws):
        d.mkdir(parents=True, exist_ok=True)
    return ws


def find_workspace(explicit: Path | None = None) -> Workspace:
    """`--workspace`, then MOTCUA_WORKSPACE, then the current folder."""
    if explicit is not None:
        return load_workspace(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return load_workspace(Path(env))
    return load_workspace(Path.cwd())


def init_workspace(root: Path) -> Workspace:
    """Create the folders and a commented motcua.toml; keep an existing one as it is."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / CONFIG_NAME
    if not config_path.exists():
        config_path.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
    ws = load_workspace(root)
    from motcua import db  # local import: db depends on nothing here, but keep init cheap

    with db.connect(ws.db_path):
        pass
    return ws
