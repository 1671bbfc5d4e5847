"""OCR on many machines: the Celery app, its one task, and the result files.

With `[workers] backend = "celery"` the coordinator (`motcua watch` / `ingest`) sends
each stored original's OCR to a Redis queue; `motcua worker` processes on any number
of machines take the tasks. What travels through Redis is only the request (the
original's path inside the workspace, its SHA-256, the OCR settings); the result
travels through the shared store, the same folder (an NFS mount) on every machine:

    store/tmp/ocr/<key>.pdf    the archival PDF/A, renamed into place after fsync
    store/tmp/ocr/<key>.json   what the OCR found (page texts, confidences, the PDF's
                               SHA-256) or why it failed; written last, so its presence
                               means the PDF beside it is complete
    store/tmp/ocr/<key>.wanted the coordinator's mark that it waits for this result; the
                               three are swept once the document is committed, and a
                               copy of the task run after that finds no mark and does
                               nothing

`<key>` is the original's SHA-256 and a digest of the settings, so a task done twice
(redelivered after its worker died, resent after Redis restarted) finds its result and
returns at once: results are idempotent by content hash. A worker never opens the
database; the coordinator alone commits, after checking the PDF against the SHA-256
the worker wrote.

Tasks are acknowledged late and rejected (requeued) when their worker process dies, so
a task whose worker is killed runs again; a worker machine that vanishes entirely gives
its task back after the broker's visibility timeout (`[workers] visibility_timeout`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from motcua.archive import store
from motcua.errors import BadInputFile, MotcuaError, TransientError, UserError
from motcua.ingest.workers import WorkersConfig, workers_of
from motcua.ocr import OcrOutcome, OcrSettings, PageText
from motcua.workspace import Workspace, usable_cores

log = logging.getLogger("motcua.cluster")

TASK_NAME = "motcua.ocr"
QUEUE = "motcua-ocr"
RESULTS_DIR = "ocr"  # under the store's tmp folder, shared by every machine
WORKER_SCRATCH = "workers"
KEY_RE = re.compile(r"[0-9a-f]{64}-[0-9a-f]{12}")


# ---- the Celery app ----

SETTINGS: dict[str, Any] = dict(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,  # results travel through the shared store
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=1,  # a long OCR task never holds others back
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,  # a worker waits for Redis for ever
    worker_send_task_events=False,
)

#: The worker's app (one per `motcua worker` process), holding the task.
app = Celery("motcua")
app.conf.update(SETTINGS)
#: The coordinator's clients, one per broker (tests run several in one process).
_clients: dict[tuple[str, int], Celery] = {}

#: The workspace a worker serves (set by `run_worker` before the pool forks).
_worker_root: Path | None = None
_worker_memory_mb = 0


def _broker_settings(cfg: WorkersConfig) -> dict[str, Any]:
    return {"broker_url": cfg.broker_url,
            "broker_transport_options": {"visibility_timeout": cfg.visibility_timeout},
            "broker_connection_timeout": 5.0}


def client(cfg: WorkersConfig) -> Celery:
    """The coordinator's Celery app for this broker (sends by task name)."""
    key = (cfg.broker_url, cfg.visibility_timeout)
    if key not in _clients:
        made = Celery("motcua-coordinator")
        made.conf.update(SETTINGS, **_broker_settings(cfg))
        _clients[key] = made
    return _clients[key]


def settings_key(sha256: str, settings: OcrSettings) -> str:
    """The result's name: the original's content and what shapes the OCR's output
    (not the page parallelism, which does not change it)."""
    shaping = dataclasses.asdict(settings)
    shaping.pop("jobs", None)
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()
    return f"{sha256}-{digest[:12]}"


def results_dir(root: Path) -> Path:
    return root / "store" / "tmp" / RESULTS_DIR


def _write_json_durably(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    store.fsync_dir(path.parent)


def result_paths(root: Path, key: str) -> tuple[Path, Path]:
    folder = results_dir(root)
    return folder / f"{key}.pdf", folder / f"{key}.json"


def wanted_path(root: Path, key: str) -> Path:
    """The coordinator's mark that it waits for `key` (until the document is committed):
    a copy of the task run later (redelivered, resent) does nothing without it."""
    return results_dir(root) / f"{key}.wanted"


def read_result(root: Path, key: str) -> dict[str, Any] | None:
    """The worker's report for `key`, if it has written one (else None)."""
    _, report = result_paths(root, key)
    try:
        data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # half-visible on a network share: look again shortly
    return data


def _reusable(root: Path, key: str) -> bool:
    """A finished result that the coordinator has not taken yet."""
    data = read_result(root, key)
    if data is None:
        return False
    if "error" in data:
        return True
    pdf, _ = result_paths(root, key)
    try:
        return store.sha256_file(pdf) == data.get("archival_sha256")
    except OSError:
        return False


def _pages_to_json(pages: tuple[PageText, ...]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(p) for p in pages]


def outcome_from(data: dict[str, Any]) -> OcrOutcome:
    """The OcrOutcome a worker reported (the coordinator's side)."""
    pages = tuple(PageText(**p) for p in data["pages"])
    return OcrOutcome(pages=pages, seconds=float(data["seconds"]),
                      changes=tuple(data.get("changes", ())),
                      peak_rss_kb=int(data.get("peak_rss_kb", 0)))


def error_from(data: dict[str, Any]) -> BaseException:
    """The exception a worker reported, as the local pool would have raised it."""
    kind, message, detail = data["error"], data.get("message", ""), data.get("detail", "")
    if kind == "bad_input":
        return BadInputFile(message, detail)
    if kind == "transient":
        return TransientError(message, detail)
    return RuntimeError(detail or message)


@app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)
def ocr_task(request: dict[str, Any]) -> str:
    """One original → archival PDF/A + page texts, written to the shared store."""
    from motcua.ingest.pipeline import _ocr_in_worker  # the local pool's own worker body

    root = _worker_root
    if root is None:  # pragma: no cover - a worker always sets it
        raise RuntimeError("motcua worker started without a workspace")
    key, original = request["key"], root / request["original"]
    # Redis is reachable from the network: a request names only a stored original and
    # a result name of our own making, never another path on this machine.
    if not KEY_RE.fullmatch(key) or not original.resolve().is_relative_to(
            (root / "store" / "originals").resolve()):
        log.error("refused a request outside the store: %r", request)
        return ""
    if _reusable(root, key):
        log.info("result %s already there; nothing to do", key)
        return key
    if not wanted_path(root, key).exists():
        log.info("result %s no longer wanted (its document is archived); skipped", key)
        return key
    pdf, report = result_paths(root, key)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    _sweep_dead_scratch(root)
    scratch = _scratch(root)
    scratch.mkdir(parents=True, exist_ok=True)
    produced = scratch / f"{key}.pdf"
    settings = OcrSettings(**{**request["settings"], "jobs": 1})
    data: dict[str, Any]
    try:
        if store.sha256_file(original) != request["sha256"]:
            raise TransientError(
                "Máy nhận dạng chữ chưa thấy đủ bản gốc trong kho chung; sẽ thử lại.",
                f"checksum of {original} on {socket.gethostname()} differs from "
                f"{request['sha256']} (shared store not in sync?)")
        result = _ocr_in_worker(str(original), request["media_type"], str(produced),
                                settings, request.get("name", ""))
        if _reusable(root, key):  # another copy finished first: keep its result
            return key
        digest = store.durable_move_into_store(produced, pdf)
        data = {"key": key, "archival_sha256": digest, "pages": _pages_to_json(result.pages),
                "seconds": result.seconds, "changes": list(result.changes),
                "peak_rss_kb": result.peak_rss_kb, "worker": socket.gethostname()}
    except BadInputFile as exc:
        data = {"key": key, "error": "bad_input", "message": exc.message, "detail": exc.detail}
    except (TransientError, OSError) as exc:
        message = exc.message if isinstance(exc, MotcuaError) else \
            "Lỗi tạm thời trên máy nhận dạng chữ; sẽ thử lại."
        detail = exc.detail if isinstance(exc, MotcuaError) else f"{type(exc).__name__}: {exc}"
        data = {"key": key, "error": "transient", "message": message, "detail": detail}
    except Exception as exc:
        log.exception("OCR of %s failed", key)
        data = {"key": key, "error": "unexpected", "message": str(exc),
                "detail": f"{type(exc).__name__}: {exc}"}
    finally:
        produced.unlink(missing_ok=True)
    if not wanted_path(root, key).exists():  # committed from another copy meanwhile
        if "error" not in data:
            pdf.unlink(missing_ok=True)
        log.info("result %s no longer wanted; discarded", key)
        return key
    _write_json_durably(report, data)
    return key


def _scratch(root: Path) -> Path:
    return root / "store" / "tmp" / WORKER_SCRATCH / f"{socket.gethostname()}-{os.getpid()}"


def _sweep_dead_scratch(root: Path) -> None:
    """Scratch left by pool processes of this machine that were killed mid-task."""
    folder = root / "store" / "tmp" / WORKER_SCRATCH
    host = socket.gethostname()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        name, _, pid = entry.name.rpartition("-")
        if name != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass


@worker_process_shutdown.connect
def _leave_pool_process(**_: Any) -> None:
    if _worker_root is not None:
        shutil.rmtree(_scratch(_worker_root), ignore_errors=True)


@worker_process_init.connect
def _init_pool_process(**_: Any) -> None:
    """Each pool process of `motcua worker` gets what a local OCR worker gets: one
    Tesseract thread, death with its parent, the address-space limit."""
    from motcua.ingest.pipeline import _init_worker

    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _init_worker(os.getppid(), _worker_memory_mb, keep_logging=True)
    for sig, handler in kept.items():  # Celery's own shutdown stays in charge
        signal.signal(sig, handler)


def task_id(key: str) -> str:
    """One id per result: every copy of a request (resent after a coordinator or Redis
    restart) is withdrawn at once when the result has been taken."""
    return f"ocr-{key}"


def send(cfg: WorkersConfig, request: dict[str, Any]) -> None:
    """Queue one OCR request; raises kombu's OperationalError when Redis is out of reach."""
    client(cfg).send_task(TASK_NAME, args=[request], queue=QUEUE, retry=False,
                          task_id=task_id(request["key"]))


def withdraw(cfg: WorkersConfig, key: str) -> None:
    """Tell the workers to drop copies of this request still queued (best effort: one
    that runs anyway finds its result in the store and returns)."""
    client(cfg).control.revoke(task_id(key))


def broker_run_id(cfg: WorkersConfig) -> str:
    """Redis's run id: it changes when Redis restarts (and, without persistence, forgets
    its queue). Raises when Redis cannot be reached."""
    with client(cfg).connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, interval_start=0, timeout=5)
        redis = conn.default_channel.client
        return str(redis.info("server")["run_id"])


@dataclass(frozen=True)
class ClusterHealth:
    broker_ok: bool
    workers: tuple[str, ...]
    error: str = ""


def health(cfg: WorkersConfig, timeout: float = 1.0) -> ClusterHealth:
    """Whether Redis answers and which `motcua worker` processes answer a ping."""
    try:
        broker_run_id(cfg)
        replies = client(cfg).control.ping(timeout=timeout) or []
    except Exception as exc:
        return ClusterHealth(False, (), f"{type(exc).__name__}: {exc}")
    names = sorted(name for reply in replies for name in reply)
    return ClusterHealth(True, tuple(names))


def run_worker(ws: Workspace, concurrency: int | None = None, *, loglevel: str = "INFO") -> None:
    """Start a Celery worker for `ws` in this process (until SIGTERM / Ctrl+C)."""
    global _worker_root, _worker_memory_mb
    from motcua.ingest.limits import limits_of

    cfg = workers_of(ws.config.extra)
    if not cfg.broker_url:
        raise UserError(
            "Chưa khai báo máy chủ hàng đợi: hãy đặt [workers] broker_url (và backend = "
            "\"celery\") trong motcua.toml của kho dùng chung.", "no [workers] broker_url")
    app.conf.update(_broker_settings(cfg))
    _worker_root = ws.root
    _worker_memory_mb = limits_of(ws.config.extra).worker_memory_mb
    results_dir(ws.root).mkdir(parents=True, exist_ok=True)
    n = concurrency or usable_cores()
    name = f"motcua-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(argv=["worker", f"--concurrency={n}", "--pool=prefork",
                          f"--hostname={name}", f"--loglevel={loglevel}", f"--queues={QUEUE}",
                          "--without-gossip", "--without-mingle"])
