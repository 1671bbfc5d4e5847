"""Intake: scans in (once, or by watching the inbox), and the state of the queue.

The acting officer is who the audit log names for each ingest and whose name the stamp
prints as "Người số hóa"; for the watcher that is the account it runs under (a service
account, or the OS account).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from motcua import labels
from motcua.archive import records
from motcua.errors import MotcuaError, UserError
from motcua.ingest.names import visible
from motcua.services import Context, Result
from motcua.services.access import Permission, require
from motcua.workspace import Workspace

log = logging.getLogger(__name__)


def log_to_workspace(ws: Workspace, *, verbose: bool = False) -> Path:
    """Technical log lines (English) go to `<workspace>/logs/motcua.log`."""
    from motcua.ingest.logs import setup_logging

    return setup_logging(ws, verbose=verbose)


@dataclass(frozen=True)
class FileOutcome(Result):
    intake_id: int
    source: str
    state: str
    state_label: str
    document_id: int | None
    message: str


@dataclass(frozen=True)
class IngestResult(Result):
    outcomes: tuple[FileOutcome, ...]

    @property
    def all_archived(self) -> bool:
        """No file was quarantined, refused or left for a retry."""
        return not any(o.state in ("quarantined", "refused", "retry") for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.state] = counts.get(o.state, 0) + 1
        return counts


def _outcome(o: Any) -> FileOutcome:
    return FileOutcome(o.intake_id, o.source, o.state,
                       labels.label(labels.INTAKE_STATES, o.state), o.document_id, o.message)


def count_files(paths: list[Path]) -> int:
    """How many files `ingest` will take from these files and folders."""
    from motcua.ingest import expand

    return sum(1 for _ in expand(paths))


def ingest(ctx: Context, paths: list[Path],
           progress: Callable[[FileOutcome], None] | None = None,
           incomplete_grace: float | None = None) -> IngestResult:
    """Take these files and folders once each through the whole pipeline; files still
    being written are waited for up to `incomplete_grace` seconds, as the watcher does."""
    from motcua.ingest import ingest_paths
    from motcua.ingest.pipeline import INCOMPLETE_GRACE_SECONDS

    require(ctx.actor.roles, Permission.INTAKE)
    report = (lambda o: progress(_outcome(o))) if progress else None
    grace = INCOMPLETE_GRACE_SECONDS if incomplete_grace is None else incomplete_grace
    outcomes = ingest_paths(ctx.ws, paths, progress=report, actor=ctx.audit_name,
                            operator=ctx.operator, incomplete_grace=grace)
    return IngestResult(tuple(_outcome(o) for o in outcomes))


@dataclass(frozen=True)
class WatchSettings(Result):
    inbox: str
    poll: bool
    log_file: str


def watch(ctx: Context, *, poll: bool | None = None, stable_seconds: float | None = None,
          rescan_minutes: float | None = None, incomplete_grace: float | None = None,
          until_idle: bool = False, progress: Callable[[FileOutcome], None] | None = None,
          started: Callable[[WatchSettings], None] | None = None, verbose: bool = False
          ) -> None:
    """Watch the inbox and archive every file put there until stopped (SIGTERM, Ctrl+C)
    or, with `until_idle`, until nothing is left to do. `started` is told the settings
    once the watcher holds the workspace."""
    from motcua.ingest.watch import DEFAULT_INCOMPLETE_GRACE, Watcher

    require(ctx.actor.roles, Permission.INTAKE)
    log_file = log_to_workspace(ctx.ws, verbose=verbose)
    watcher = Watcher(
        ctx.ws, poll=poll, stable_seconds=stable_seconds, rescan_minutes=rescan_minutes,
        incomplete_grace=DEFAULT_INCOMPLETE_GRACE if incomplete_grace is None
        else incomplete_grace, until_idle=until_idle,
        progress=(lambda o: progress(_outcome(o))) if progress else None,
        actor=ctx.audit_name, operator=ctx.operator)
    if started is not None:
        started(WatchSettings(str(ctx.ws.inbox), watcher.poll, str(log_file)))
    watcher.run()


@dataclass(frozen=True)
class IntakeStatus(Result):
    """The queue as `motcua status` and the web's status page show it. `summary` is the
    queue summary (`status --json` prints it as is); the rest are the web page's lists."""

    summary: dict[str, Any]
    counts: dict[str, int]
    waiting: tuple[dict[str, Any], ...]
    archived_last_hour: int
    quarantined: tuple[dict[str, Any], ...]
    rescan: tuple[dict[str, Any], ...]
    documents: int
    pages: int
    index_pages: int | None
    index_error: str
    quarantine_dir: str

    def as_dict(self) -> dict[str, Any]:
        return self.summary


def status(ctx: Context, *, recent: int = 10, details: bool = False) -> IntakeStatus:
    """The intake queue: counts by state, the last hour, the oldest waiting file, pages
    to rescan, recent quarantines; with `details`, the web page's longer lists and the
    size of the search index."""
    from motcua.index import open_engine
    from motcua.ingest.status import collect

    require(ctx.actor.roles, Permission.VIEW)
    conn = ctx.conn
    summary = collect(ctx.ws, conn, recent=recent)
    counts = {state: 0 for state in labels.INTAKE_STATES} | dict(summary["queue"])
    if not details:
        return IntakeStatus(summary, counts, (), summary["last_hour"]["archived"], (), (),
                            0, 0, None, "", ctx.ws.relative(ctx.ws.quarantine) + "/")
    zone = ctx.zone
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    waiting = tuple(dict(r) | {"state_label": labels.label(labels.INTAKE_STATES, r["state"]),
                               # a bidi override in a name must not reorder the page
                               "source_path": visible(r["source_path"] or ""),
                               "original_name": visible(r["original_name"] or ""),
                               "created_at_local": labels.vi_datetime(r["created_at"], zone),
                               "next_attempt_at_local": labels.vi_datetime(
                                   r["next_attempt_at"], zone)}
                    for r in conn.execute(
        "SELECT original_name, source_path, state, attempts, last_error, next_attempt_at,"
        " created_at FROM intake WHERE state IN ('pending', 'processing', 'retry')"
        " ORDER BY created_at, id LIMIT 20"))
    last_hour = conn.execute("SELECT COUNT(*) FROM intake WHERE state = 'done'"
                             " AND updated_at >= ?", (hour_ago,)).fetchone()[0]
    quarantined = tuple(
        dict(r) | {"state_label": labels.label(labels.INTAKE_STATES, r["state"]),
                   "updated_at_local": labels.vi_datetime(r["updated_at"], zone),
                   "file_name": Path(r["quarantine_path"]).name if r["quarantine_path"]
                   else r["original_name"]}
        for r in conn.execute(
            "SELECT original_name, state, reason_vi, last_error, quarantine_path, updated_at"
            " FROM intake WHERE state IN ('quarantined', 'refused')"
            " ORDER BY updated_at DESC, id DESC LIMIT 20"))
    rescan = tuple(dict(r) for r in conn.execute(
        "SELECT d.id, d.original_name, d.dossier_code, p.page_no, p.confidence"
        " FROM pages p JOIN documents d ON d.id = p.document_id"
        " WHERE p.needs_rescan = 1 ORDER BY d.id DESC, p.page_no LIMIT 200"))
    documents, pages = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(page_count), 0) FROM documents").fetchone()
    index_pages: int | None = None
    index_error = ""
    try:
        engine = open_engine(ctx.ws.index_dir, ctx.ws.config.index.engine)
        try:
            index_pages = engine.count()
        finally:
            engine.close()
    except MotcuaError as exc:
        log.warning("index not readable for status: %s", exc.detail)
        index_error = exc.message
    return IntakeStatus(summary, counts, waiting, last_hour, quarantined, rescan, documents,
                        int(pages), index_pages, index_error,
                        ctx.ws.relative(ctx.ws.quarantine) + "/")


# ---- upload from the web page: the same inbox, written durably -------------------------

#: Uploads are written under a name the watcher ignores (it starts with a dot), then
#: renamed into place: the watcher only ever sees a whole file.
UPLOAD_TEMP_PREFIX = ".upload-"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class Uploaded(Result):
    name: str                 # the file's name in the inbox
    path: str                 # relative to the workspace
    dossier_code: str | None
    size: int
    sha256: str


def upload_name(filename: str) -> str:
    """The base name a browser sent, cleaned for the inbox; a name the watcher would skip
    (hidden, system files) or no name is refused."""
    from motcua.ingest.pipeline import is_ignored

    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE_NAME.sub("_", name).strip()
    if not name or name in (".", "..") or is_ignored(Path(name)):
        raise UserError(f"Tên tệp “{name or filename}” không nhận được; hãy đổi tên tệp "
                        "(không bắt đầu bằng dấu chấm) rồi tải lên lại.",
                        f"upload name refused: {filename!r}")
    return name


def receive_upload(ctx: Context, source: BinaryIO, filename: str, dossier_code: str | None,
                   *, max_bytes: int) -> Uploaded:
    """Put an uploaded file into the inbox (into `inbox/<dossier code>/` when given) the
    durable way - temp name the watcher ignores, fsync, checksum verified, no-clobber
    rename, folder fsync - so that the watcher takes it like a file copied there."""
    from motcua.archive.store import fsync_dir

    require(ctx.actor.roles, Permission.INTAKE)
    name = upload_name(filename)
    code = (dossier_code or "").strip() or None
    if code is not None and not records.dossier_exists(ctx.conn, code):
        raise UserError(f"Không có hồ sơ “{code}”.", f"upload to unknown dossier {code!r}")
    folder = ctx.ws.inbox / code if code else ctx.ws.inbox
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{UPLOAD_TEMP_PREFIX}{secrets.token_hex(8)}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("xb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UserError(f"Tệp “{name}” rỗng (0 byte); không có gì để lưu.",
                            f"empty upload {name!r}")
        check = hashlib.sha256()
        with tmp.open("rb") as back:
            while chunk := back.read(1 << 20):
                check.update(chunk)
        if check.hexdigest() != digest.hexdigest():
            raise MotcuaError("Tệp tải lên bị ghi sai trên đĩa; hãy tải lên lại.",
                              f"checksum mismatch writing {tmp}")
        dest = _link_free(tmp, folder, name)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(folder)
    log.info("upload %s (%d bytes, sha256 %s) by %s into %s", name, size,
             digest.hexdigest(), ctx.audit_name, dest)
    return Uploaded(dest.name, ctx.ws.relative(dest), code, size, digest.hexdigest())


class UploadTooLarge(UserError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"Tệp lớn hơn giới hạn {max_bytes // (1024 * 1024)} MB cho mỗi lần "
                         "tải lên; hãy tách tệp hoặc chép vào thư mục inbox.",
                         f"upload over {max_bytes} bytes")


def _link_free(tmp: Path, folder: Path, name: str) -> Path:
    """Hard-link `tmp` under `name` (or `name (n)`) in `folder` without replacing any
    file already there: a link either appears whole or not at all."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(0, 1000):
        dest = folder / (name if n == 0 else f"{stem} ({n}){suffix}")
        try:
            os.link(tmp, dest)
        except FileExistsError:
            continue
        return dest
    raise UserError(f"Thư mục đã có quá nhiều tệp tên “{name}”.", f"no free name for {name}")


@dataclass(frozen=True)
class UploadState(Result):
    path: str              # relative to the workspace, as `receive_upload` returned it
    name: str
    state: str             # waiting | processing | done | duplicate | quarantined | ...
    state_label: str
    document_id: int | None
    page_count: int | None
    reason: str


def upload_states(ctx: Context, paths: list[str]) -> tuple[UploadState, ...]:
    """Where each uploaded file is in the pipeline, from its intake row (none yet: it is
    waiting for the watcher)."""
    from motcua.ingest import names

    require(ctx.actor.roles, Permission.INTAKE)
    inbox = ctx.ws.inbox.resolve()
    states = []
    for rel in paths[:50]:
        absolute = (ctx.ws.root / rel).absolute()
        if not absolute.resolve().is_relative_to(inbox):
            continue
        row = ctx.conn.execute(
            "SELECT i.state, i.document_id, i.reason_vi, d.page_count, d.sha256 FROM intake i"
            " LEFT JOIN documents d ON d.id = i.document_id"
            " WHERE i.source_path = ? ORDER BY i.id DESC LIMIT 1",
            (names.db_text(absolute),)).fetchone()
        state = row["state"] if row else "waiting"
        label = labels.label(labels.INTAKE_STATES, state) if row else "đang chờ xử lý"
        if state == "processing":
            label = "đang nhận dạng chữ" + _pages_read(ctx, row["sha256"])
        states.append(UploadState(rel, absolute.name, state, label,
                                  row["document_id"] if row else None,
                                  row["page_count"] if row else None,
                                  (row["reason_vi"] or "") if row else ""))
    return tuple(states)


def _pages_read(ctx: Context, sha256: str | None) -> str:
    """", trang n/m" while the pipeline (any process on this workspace) OCRs the file."""
    from motcua.ocr import read_progress

    if not sha256:
        return ""
    for output in ctx.ws.tmp.glob(f"*/{sha256}.pdf.progress"):
        got = read_progress(output.with_name(f"{sha256}.pdf"))
        if got and got[0]:
            return f": trang {got[0]}/{got[1]}"
    return ""


def watcher_running(ctx: Context) -> bool:
    from motcua.ingest.status import watcher_pid

    return watcher_pid(ctx.ws) is not None


# ---- quarantine: retry after a fix, or dismiss ---------------------------------------


@dataclass(frozen=True)
class QuarantinedFile(Result):
    intake_id: int
    original_name: str
    file_name: str
    state: str
    reason: str
    detail: str
    updated_at_local: str
    present: bool


def quarantine_list(ctx: Context, limit: int = 200) -> tuple[QuarantinedFile, ...]:
    """Files set aside (quarantined or refused) not yet retried or dismissed."""
    require(ctx.actor.roles, Permission.INTAKE)
    rows = ctx.conn.execute(
        "SELECT id, original_name, state, reason_vi, last_error, quarantine_path, updated_at"
        " FROM intake WHERE state IN ('quarantined', 'refused') AND id NOT IN"
        " (SELECT CAST(substr(subject, 8) AS INTEGER) FROM audit_log"
        "  WHERE action IN ('quarantine_retry', 'quarantine_dismiss'))"
        " ORDER BY updated_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
    zone = ctx.zone
    out = []
    for r in rows:
        path = _quarantined_path(ctx, r["quarantine_path"])
        out.append(QuarantinedFile(
            r["id"], r["original_name"], path.name if path else r["original_name"],
            r["state"], r["reason_vi"] or labels.label(labels.INTAKE_STATES, r["state"]),
            r["last_error"] or "", labels.vi_datetime(r["updated_at"], zone),
            path is not None and path.is_file()))
    return tuple(out)


def _quarantined_path(ctx: Context, stored: str | None) -> Path | None:
    """The quarantined file a row names, only if it lies inside the quarantine folder."""
    if not stored:
        return None
    path = (ctx.ws.root / stored).absolute()
    try:
        if not path.resolve().is_relative_to(ctx.ws.quarantine.resolve()):
            return None
    except OSError:
        return None
    return path


@dataclass(frozen=True)
class QuarantineDecision(Result):
    intake_id: int
    action: str           # retry | dismiss
    inbox_path: str | None


def _quarantined_row(ctx: Context, intake_id: int) -> Any:
    row = ctx.conn.execute(
        "SELECT id, original_name, dossier_hint, quarantine_path FROM intake"
        " WHERE id = ? AND state IN ('quarantined', 'refused')", (intake_id,)).fetchone()
    done = ctx.conn.execute(
        "SELECT 1 FROM audit_log WHERE subject = ? AND action IN"
        " ('quarantine_retry', 'quarantine_dismiss')", (f"intake:{intake_id}",)).fetchone()
    if row is None or done is not None:
        raise UserError("Không có tệp cách ly này (có thể đã được xử lý).",
                        f"no open quarantine row {intake_id}")
    return row


def quarantine_retry(ctx: Context, intake_id: int) -> QuarantineDecision:
    """Put a quarantined file back into the inbox (its dossier folder if it had one), by
    the same durable write as an upload; the reason file stays in the quarantine."""
    from motcua.archive import audit

    require(ctx.actor.roles, Permission.INTAKE)
    row = _quarantined_row(ctx, intake_id)
    path = _quarantined_path(ctx, row["quarantine_path"])
    if path is None or not path.is_file():
        raise UserError("Tệp cách ly không còn trong thư mục cách ly; không thử lại được.",
                        f"quarantined file missing for intake {intake_id}")
    hint = row["dossier_hint"]
    code = hint if hint and records.dossier_exists(ctx.conn, hint) else None
    with path.open("rb") as fh:
        placed = receive_upload(ctx, fh, row["original_name"], code,
                                max_bytes=path.stat().st_size + 1)
    # The copy in the inbox is whole and synced: only now is the quarantined one removed.
    path.unlink()
    fsync_dir_of(path)
    audit.record(ctx.conn, "quarantine_retry", f"intake:{intake_id}", ctx.audit_name,
                 {"file": row["original_name"], "inbox": placed.path})
    ctx.conn.commit()
    return QuarantineDecision(intake_id, "retry", placed.path)


def fsync_dir_of(path: Path) -> None:
    from motcua.archive.store import fsync_dir

    fsync_dir(path.parent)


def quarantine_dismiss(ctx: Context, intake_id: int, note: str = "") -> QuarantineDecision:
    """Close a quarantined file without archiving it: the file stays in the quarantine
    folder, the decision is an audit entry."""
    from motcua.archive import audit

    require(ctx.actor.roles, Permission.INTAKE)
    row = _quarantined_row(ctx, intake_id)
    audit.record(ctx.conn, "quarantine_dismiss", f"intake:{intake_id}", ctx.audit_name,
                 {"file": row["original_name"], "note": note[:500]})
    ctx.conn.commit()
    return QuarantineDecision(intake_id, "dismiss", None)
