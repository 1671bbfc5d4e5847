"""The per-file pipeline, driven by rows of the `intake` table.

    register  -> intake row 'pending' (a file is never queued twice)
    claim     -> 'processing', owned by this process
    validate  -> bad content goes to quarantine ('quarantined')
    hash      -> same bytes already archived: 'duplicate'
    split     -> a PDF whose pages hold QR separators (cover sheets, form 01): the batch
                 kept in the store, each part queued as an intake row of its own
                 (motcua.ingest.split); the batch's row is 'done'
    store     -> original durably in the store, documents row 'stored'
    ocr       -> (worker process) archival PDF/A in tmp
    archive   -> PDF/A durably in the store, text and identifiers, documents 'archived',
                 an 'ingest' entry in the audit log
    stamp     -> the stamped copy ("BẢN SỐ HÓA", QR) durably in the store, a `stamps` row
    index     -> search index committed, documents 'indexed', intake 'done'
    release   -> the inbox copy is removed only now

Each arrow is one committed transaction after the files it names are durable, so a
process killed anywhere resumes from the last committed state: a row left
'processing' by a dead process is reclaimed, a stored original is adopted, and no
document is archived twice. OCR runs in a pool of worker processes so that both
cores stay busy across files, not only across pages of one file; with
`[workers] backend = "celery"` it runs on `motcua worker` machines instead
(`ingest/dispatch.py`), and this process still makes every commit.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import resource
import select
import shutil
import signal
import sqlite3
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from motcua import db, labels
from motcua.archive import audit, records, store
from motcua.archive.extract import find_identifiers, is_dossier_code
from motcua.archive.indexing import index_document
from motcua.archive.stamp import get_stamp, stamp_document
from motcua.errors import (
    BadInputFile,
    MachineFault,
    MotcuaError,
    TransientError,
    disk_full,
)
from motcua.index import SearchEngine, open_engine
from motcua.ingest import names, split
from motcua.ingest.detect import MEDIA_EXTENSION, media_type_of
from motcua.ingest.limits import Limits, limits_of
from motcua.ingest.logs import worker_logging
from motcua.ingest.quarantine import quarantine_file
from motcua.ingest.workers import workers_of
from motcua.ocr import (
    OcrOutcome,
    OcrSettings,
    check_language,
    check_thresholding,
    make_archival,
    read_progress,
)
from motcua.workspace import Workspace

if TYPE_CHECKING:
    from motcua.ingest.dispatch import RemoteOcr

log = logging.getLogger("motcua.ingest")

CRASH_ENV = "MOTCUA_TEST_CRASH_AT"
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 600.0
#: Files of at least this many pages report each page read while they are OCR'd.
LONG_FILE_PAGES = 5

# Names a scanner, an OS or an office suite leaves behind: never documents.
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
IGNORED_DIRS = {"@eadir", "__macosx"}
IGNORED_SUFFIXES = (".part", ".crdownload", ".tmp", ".reason.txt")


@dataclass(frozen=True)
class Outcome:
    """What happened to one intake row, for the person who dropped the file."""

    intake_id: int
    source: str
    state: str  # done | duplicate | quarantined | refused | vanished | retry | processing
    document_id: int | None
    message: str  # Vietnamese
    #: The file's path as the file system knows it (`source` is its printable form,
    #: with non-UTF-8 bytes and control characters escaped).
    path: str = ""


ProgressFn = Callable[[Outcome], None]


def is_ignored(path: Path) -> bool:
    """Names that are never documents, in the file's name or in any folder above it
    (`.Trashes/`, `.snapshot/`, `@eaDir/`); give paths relative to the inbox."""
    name = path.name.lower()
    parts = [part.lower() for part in path.parts if part not in ("/", ".", "..")]
    return (
        any(part.startswith((".", "~$")) or part in IGNORED_DIRS for part in parts)
        or name in IGNORED_NAMES
        or name.endswith(IGNORED_SUFFIXES)
    )


def dossier_hint(path: Path) -> str | None:
    """A file in a folder named after a dossier code belongs to that dossier."""
    name = unicodedata.normalize("NFC", path.parent.name).strip()
    return name if is_dossier_code(name) else None


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, in a stable order, skipping names that are never
    documents inside folders. A path named on its own is always yielded, so that it gets
    a record: a hidden file, a symlinked folder (refused on record, never followed)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path):
                kept = []
                for d in sorted(dirs):
                    if is_ignored(Path(d)):
                        continue
                    if os.path.islink(os.path.join(root, d)):
                        yield Path(root) / d  # refused on record, never walked into
                    else:
                        kept.append(d)
                dirs[:] = kept
                for name in sorted(files):
                    if not is_ignored(Path(name)):
                        yield Path(root) / name
        else:
            yield path


def normalise_argument(path: Path) -> Path:
    """A path typed on the command line, absolute, with `..` resolved when that does not
    pass through a symlink (then it is kept as typed and refused with that reason)."""
    lexical = Path(os.path.abspath(path))
    if ".." not in path.parts:
        return lexical
    try:
        same = lexical.resolve() == path.resolve()
    except OSError:
        same = False
    return lexical if same else path.absolute()


def register(conn: sqlite3.Connection, path: Path) -> int:
    """Queue `path` unless it is already queued; return its intake row id."""
    absolute = path.absolute()
    source, raw = names.db_text(absolute), names.raw_bytes(absolute)
    row = conn.execute(
        "SELECT id FROM intake WHERE source_path = ? AND source_bytes IS ?"
        " AND state IN ('pending', 'processing', 'retry')",
        (source, raw),
    ).fetchone()
    if row is not None:
        return int(row[0])
    size: int | None = None
    mtime: int | None = None
    try:
        st = path.lstat()
        size, mtime = st.st_size, st.st_mtime_ns
    except FileNotFoundError:
        pass
    stamp = db.now()
    cur = conn.execute(
        "INSERT INTO intake (source_path, source_bytes, original_name, dossier_hint, size,"
        " mtime_ns, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        (source, raw, names.visible(path.name), dossier_hint(path), size, mtime, stamp, stamp),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


#: How long `ingest` waits at most for a PDF or image whose last bytes are missing
#: (the watcher's default grace): a scanner that pauses between pages is not cut off.
INCOMPLETE_GRACE_SECONDS = 120.0


def ingest_paths(
    ws: Workspace, paths: Iterable[Path], *, progress: ProgressFn | None = None,
    actor: str | None = None, operator: str | None = None,
    incomplete_grace: float = INCOMPLETE_GRACE_SECONDS,
) -> list[Outcome]:
    """Take the given files and folders once each, through the whole pipeline.

    Files still being written are waited for first, as the watcher does. A database
    that stays locked or cannot be written stops the batch with a MachineFault that
    says so; nothing is lost (files not yet taken stay where they are).
    """
    files = list(expand(normalise_argument(p) for p in paths))
    wait_for_writers(files, ws.config.ingest.stable_seconds, incomplete_grace)
    try:
        conn = db.connect(ws.db_path)
    except sqlite3.Error as exc:
        raise database_fault(exc, ws.db_path) from exc
    try:
        ids = [register(conn, p) for p in files]
        return Pipeline(ws, conn, actor=actor, operator=operator).run(ids, progress=progress)
    except sqlite3.Error as exc:
        raise database_fault(exc, ws.db_path) from exc
    finally:
        conn.close()


def wait_for_writers(files: list[Path], stable_seconds: float, grace: float,
                     poll: float = 0.25) -> None:
    """Return once every file that was written to lately has been quiet for
    `stable_seconds` and looks complete (or has been quiet for `grace`)."""
    from motcua.ingest.watch import looks_complete  # the watcher's own test of "written"

    def sig(path: Path) -> tuple[int, int] | None:
        try:
            st = path.lstat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    watched: dict[Path, tuple[tuple[int, int] | None, float]] = {}
    started = time.monotonic()
    wall = time.time()
    for path in files:
        try:
            st = path.lstat()
        except OSError:
            continue
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        recent = wall - st.st_mtime < stable_seconds
        if recent or not looks_complete(path):
            # Quiet since its last write, as far as we know.
            watched[path] = ((st.st_size, st.st_mtime_ns),
                             started - max(0.0, wall - st.st_mtime))
    logged = False
    while watched:
        now = time.monotonic()
        for path, (last, quiet_since) in list(watched.items()):
            current = sig(path)
            if current != last:
                watched[path] = (current, now)
                continue
            quiet = now - quiet_since
            if current is None or (quiet >= stable_seconds and (
                    quiet >= grace or looks_complete(path))):
                del watched[path]
        if watched and not logged:
            log.info("waiting for %d file(s) still being written", len(watched))
            logged = True
        if watched:
            time.sleep(poll)


def database_fault(exc: sqlite3.Error, path: Path) -> MachineFault:
    """The Vietnamese message for a database that is locked too long or not writable."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        what = ("đang bị một tiến trình khác giữ khóa quá lâu. Hãy chờ tiến trình đó xong "
                "(xem “motcua status”) rồi chạy lại")
    elif "readonly" in text or "read-only" in text or "unable to open" in text:
        what = ("không ghi được (chỉ đọc hoặc không có quyền). Hãy kiểm tra quyền ghi của "
                "tệp và thư mục kho làm việc")
    elif "disk" in text or "full" in text:
        what = "không ghi được vì ổ đĩa đầy. Hãy giải phóng dung lượng"
    else:
        what = "gặp lỗi. Hãy báo cho cán bộ kỹ thuật"
    return MachineFault(
        f"Cơ sở dữ liệu {path} {what}. Không tệp nào bị mất: các tệp chưa xử lý vẫn nằm "
        "nguyên chỗ cũ và sẽ được nhận ở lần chạy sau.",
        f"sqlite: {type(exc).__name__}: {exc}",
    )


def store_fault(exc: OSError, path: Path) -> MachineFault:
    return disk_full(exc, f"in {path}") or MachineFault(
        f"Không ghi được vào kho lưu trữ {path} ({exc.strerror or exc}). Hãy kiểm tra quyền "
        "ghi và ổ đĩa (có thể đang ở chế độ chỉ đọc). Không tệp nào bị mất: các tệp vẫn nằm "
        "nguyên trong thư mục nhận và sẽ được xử lý khi kho ghi được trở lại.",
        f"store not writable: {type(exc).__name__}: {exc}",
    )


def due_ids(conn: sqlite3.Connection) -> list[int]:
    """Intake rows ready to run: pending ones and retries whose back-off has passed."""
    return [row[0] for row in conn.execute(
        "SELECT id FROM intake WHERE state = 'pending'"
        " OR (state = 'retry' AND next_attempt_at <= ?) ORDER BY id", (db.now(),))]


def process_pending(ws: Workspace, *, progress: ProgressFn | None = None) -> list[Outcome]:
    """Run every pending row and every retry that is due."""
    conn = db.connect(ws.db_path)
    try:
        return Pipeline(ws, conn).run(due_ids(conn), progress=progress)
    finally:
        conn.close()


def _crash_point(name: str) -> None:
    """Tests kill the process for real (SIGKILL) at a named step to prove recovery.

    Timing a kill from outside cannot hit the gap between a rename and its commit
    reliably; this can. Inert unless the environment variable names this step.
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_token(pid: int) -> str | None:
    """Who `pid` is: the boot and the process's start time. After a power cut the new
    watcher may well get the PID the dead one had (systemd starts things in the same
    order at every boot); the token tells them apart. None where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    # Fields after the command name in parentheses; the start time is field 22 of stat.
    return f"{boot}/{stat.rsplit(')', 1)[1].split()[19]}"


def _claim_alive(pid: int | None, token: str | None) -> bool:
    if pid is None or not _pid_alive(pid):
        return False
    return token is None or process_token(pid) in (None, token)


def recover(ws: Workspace, conn: sqlite3.Connection) -> int:
    """Reclaim work of processes that died: stale 'processing' rows and tmp dirs."""
    reclaimed = 0
    for row in conn.execute(
        "SELECT id, claimed_by, claim_token FROM intake WHERE state = 'processing'"
    ).fetchall():
        if not _claim_alive(row["claimed_by"], row["claim_token"]):
            conn.execute(
                "UPDATE intake SET state = 'pending', claimed_by = NULL, updated_at = ?"
                " WHERE id = ? AND state = 'processing'",
                (db.now(), row["id"]),
            )
            reclaimed += 1
    # Rows waiting for a file that is no longer there (moved out of the inbox while no
    # process ran) are settled now, not left pending for ever.
    for row in conn.execute(
            "SELECT id, source_path, source_bytes FROM intake WHERE state IN ('pending', 'retry')"
            " AND document_id IS NULL").fetchall():
        if not os.path.lexists(names.from_row(row["source_path"], row["source_bytes"])):
            conn.execute(
                "UPDATE intake SET state = 'vanished', claimed_by = NULL, updated_at = ?,"
                " reason_vi = ? WHERE id = ? AND state IN ('pending', 'retry')",
                (db.now(), VANISHED_VI, row["id"]))
    if ws.tmp.exists():
        for entry in ws.tmp.iterdir():
            if entry.is_dir() and entry.name.isdigit() and not _pid_alive(int(entry.name)):
                shutil.rmtree(entry, ignore_errors=True)
    if reclaimed:
        log.warning("reclaimed %d intake rows left by a dead process", reclaimed)
    return reclaimed


VANISHED_VI = "Tệp đã bị xóa hoặc di chuyển khỏi chỗ cũ trước khi được xử lý."

def _pool_context() -> multiprocessing.context.BaseContext:
    """Where OCR workers come from: a fork server, a small process started once (by
    fork and exec, so it holds no thread and no lock) from which every worker is forked.

    Forking the intake process itself is unsafe: it runs threads (the watcher's
    observer, `serve`'s, a test's), and a lock one of them held at the moment of the
    fork stays locked in the child forever. One OCR worker hung that way inside
    fontTools while rendering its text layer. The fork server imports this module once,
    so a new worker still starts with OCRmyPDF already loaded."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _init_worker(parent_pid: int, memory_mb: int = 0,
                 environment: dict[str, str] | None = None,
                 log_file: str | None = None, log_level: int = logging.INFO, *,
                 keep_logging: bool = False) -> None:
    """Runs first in every OCR worker process. The fork server started it with the
    environment and logging of the moment it was started: take the intake process's
    current ones (what a fork would have given)."""
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    # Ctrl+C in a terminal reaches the whole process group: the parent decides when to
    # stop (finishing in-flight files), so workers and their Tesseract children ignore
    # it, and SIGTERM too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Tesseract's OpenMP threads would fight the pool for the same cores.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if not keep_logging:  # a Celery pool process keeps Celery's own
        worker_logging(log_file, log_level)
    _die_with(parent_pid)
    # Image sizes were judged against [limits] before the file reached a worker; what
    # is left to stop is real memory use, which the address-space limit below does.
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    if memory_mb > 0:
        # The worker's own address-space limit (inherited by Tesseract and Ghostscript):
        # a file that slips past the declared-size checks fails with MemoryError here,
        # deterministically, instead of taking the machine's memory.
        limit = memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _die_with(parent_pid: int) -> None:
    """End this worker when the intake process ends, however it ends (SIGKILL too).

    A worker never sees EOF on its task queue when the intake process is killed, and
    the fork server stays alive as long as any worker does (each holds its "alive"
    pipe), so neither notices: without this a worker would linger forever, holding the
    intake's stdout open. A thread blocks on a pidfd of the intake process (the kernel
    says when it exits) and kills the worker then."""
    try:
        pidfd: int | None = os.pidfd_open(parent_pid)
    except ProcessLookupError:
        os._exit(1)  # already gone
    except OSError:
        pidfd = None  # a kernel without pidfd_open: look once a second instead

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:
            while _pid_alive(parent_pid):
                time.sleep(1)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="motcua-parent-watch", daemon=True).start()


def _log_target() -> tuple[str | None, int]:
    """The workspace log file this process writes to, and motcua's level."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename, logging.getLogger("motcua").level
    return None, logging.getLogger("motcua").level


def peak_rss_kb() -> int:
    """This process's peak resident memory, or its children's (Tesseract), whichever is
    higher, by the kernel's own accounting (KiB on Linux)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _ocr_in_worker(
    source: str, media_type: str, output: str, settings: OcrSettings, name: str = ""
) -> OcrOutcome:
    started = time.monotonic()
    outcome = "failed"
    try:
        result = make_archival(Path(source), media_type, Path(output), settings)
        outcome = "ok"
        return dataclasses.replace(result, peak_rss_kb=peak_rss_kb())
    except MemoryError as exc:
        raise BadInputFile(
            f"Tệp “{name}” cần nhiều bộ nhớ hơn giới hạn {settings.memory_mb} MB của một "
            "tiến trình nhận dạng chữ. Hãy quét lại ở độ phân giải 200–300 dpi hoặc tách tệp "
            "thành nhiều phần nhỏ hơn rồi đặt lại vào thư mục nhận.",
            f"MemoryError in OCR worker (RLIMIT_AS {settings.memory_mb} MiB): {exc}",
        ) from None
    finally:
        log.info("OCR worker done with %s: %s, peak %d KiB", name, outcome, peak_rss_kb(),
                 extra={"event": "worker_peak", "path": name, "outcome": outcome,
                        "peak_rss_kb": peak_rss_kb(),
                        "seconds": round(time.monotonic() - started, 2)})


@dataclass
class _Job:
    intake_id: int
    source: Path
    document_id: int
    sha256: str
    media_type: str
    dossier_hint: str | None
    tmp_output: Path


class Pipeline:
    def __init__(self, ws: Workspace, conn: sqlite3.Connection, *, actor: str | None = None,
                 operator: str | None = None) -> None:
        """`actor` is who the audit log names for each ingest, `operator` the name printed
        as "Người số hóa" on the stamp (defaults: the configured operator)."""
        self.ws = ws
        self.conn = conn
        self.actor = actor or ws.config.ingest.operator
        self.operator = operator
        self.jobs = max(1, ws.config.ocr.jobs)
        self._pages_shown: dict[int, int] = {}  # intake id -> pages read, last reported
        self._remote: RemoteOcr | None = None
        workers = workers_of(ws.config.extra)
        if workers.backend == "celery":
            from motcua.ingest.dispatch import RemoteOcr

            self._remote = RemoteOcr(ws, workers)
            # Files in flight: as many as the queue should hold for the workers.
            self.jobs = workers.in_flight
        self.tmp = ws.tmp / str(os.getpid())
        self.token = process_token(os.getpid())
        self._engine: SearchEngine | None = None
        self._pool: ProcessPoolExecutor | None = None
        self.limits: Limits = limits_of(ws.config.extra)
        # Same bytes under two names in one run: the second waits, claimed by us, until
        # the first is settled, then is a duplicate of it (never OCR'd twice at once).
        self._busy_sha: set[str] = set()
        self._deferred: dict[str, list[int]] = {}
        self._held: set[int] = set()
        # Intake rows of the parts of a batch just split (or found split after a crash),
        # run next in this same run.
        self._spawned: list[int] = []

    # ---- driving ----

    def run(
        self,
        intake_ids: list[int],
        *,
        progress: ProgressFn | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        more: Callable[[], list[int]] | None = None,
    ) -> list[Outcome]:
        """Process the rows; on `should_stop`, take no new file but finish those in flight.
        Rows not taken stay 'pending' for the next run. `more` (the watcher's) is asked
        for new due rows whenever the queue runs dry, so the pool stays busy across
        files that arrive while others are being OCR'd."""
        check_language(self.ws.config.ocr.language)
        if self.ws.config.ocr.retry_language:
            check_language(self.ws.config.ocr.retry_language)
        check_thresholding(self.ws.config.ocr.thresholding)
        self._check_store_writable()
        recover(self.ws, self.conn)
        if self._remote is not None:
            self._remote.sweep(self.conn)
        intake_ids = list(intake_ids)
        queue = deque(self._largest_first(intake_ids))
        in_flight: dict[Future[OcrOutcome], _Job] = {}
        outcomes: dict[int, Outcome] = {}

        def done(outcome: Outcome) -> None:
            outcomes[outcome.intake_id] = outcome
            if progress:
                progress(outcome)

        try:
            while True:
                if more is not None and not queue and len(in_flight) <= self.jobs \
                        and not should_stop():
                    # Due rows are never in flight here: those are 'processing'.
                    fresh = self._largest_first(more())
                    intake_ids.extend(fresh)
                    queue.extend(fresh)
                if not ((queue and not should_stop()) or in_flight):
                    break
                if should_stop() and self._remote is not None:
                    # Files at the workers are not waited for: their rows are reclaimed
                    # at the next start, which finds the results in the store.
                    break
                # One file more than there are workers waits in the pool's queue, so a
                # worker starts on it the moment it finishes, while this process stores,
                # stamps and indexes the finished file.
                while queue and len(in_flight) <= self.jobs and not should_stop():
                    intake_id = queue.popleft()
                    step = self._prepare(intake_id)
                    if self._spawned:
                        fresh, self._spawned = self._spawned, []
                        intake_ids.extend(fresh)
                        queue.extendleft(reversed(fresh))
                    if isinstance(step, Outcome):
                        done(step)
                    elif step is not None:
                        in_flight[self._submit(step, self.jobs)] = step
                if in_flight:
                    finished, _ = wait(in_flight, return_when=FIRST_COMPLETED,
                                       timeout=None if more is None and progress is None
                                       else 1.0)
                    if progress is not None:
                        self._report_pages(in_flight.values(), progress)
                    for future in finished:
                        job = in_flight.pop(future)
                        done(self._finish(job, future))
                        self._busy_sha.discard(job.sha256)
                        # Same bytes under another name: settled now, as a duplicate.
                        queue.extendleft(reversed(self._deferred.pop(job.sha256, [])))
        finally:
            if self._held:
                # Stopped before the held twins were looked at again: back to the queue.
                marks = ",".join("?" * len(self._held))
                self.conn.execute(
                    f"UPDATE intake SET state = 'pending', claimed_by = NULL WHERE id IN"
                    f" ({marks}) AND state = 'processing'", list(self._held))
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            if self._remote is not None:
                self._remote.shutdown(self.conn)
            if self._engine is not None:
                self._engine.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return [outcomes[i] for i in dict.fromkeys(intake_ids) if i in outcomes]

    def _report_pages(self, jobs: Iterable[_Job], progress: ProgressFn) -> None:
        """A line per page read for long files in flight (state 'processing': not an
        outcome, the file is still on its way)."""
        for job in jobs:
            got = read_progress(job.tmp_output)
            if got is None or got[1] < LONG_FILE_PAGES or got[0] == 0:
                continue
            if self._pages_shown.get(job.intake_id) == got[0]:
                continue
            self._pages_shown[job.intake_id] = got[0]
            progress(Outcome(job.intake_id, names.visible(job.source), "processing",
                             job.document_id,
                             f"Đang nhận dạng chữ: trang {got[0]}/{got[1]}.", str(job.source)))

    def _check_store_writable(self) -> None:
        """Fail the run at once, with a message, when the store cannot be written (a
        read-only mount, wrong owner), instead of sending every file to retry."""
        probe = self.tmp / ".probe"
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
            for sub in ("originals", "archival"):
                folder = self.ws.store / sub
                folder.mkdir(exist_ok=True)
                if not os.access(folder, os.W_OK):
                    raise PermissionError(13, "not writable", str(folder))
        except OSError as exc:
            raise store_fault(exc, self.ws.store) from exc

    def _largest_first(self, intake_ids: list[int]) -> list[int]:
        """Big files first, so that no long file is left running alone on one core at the
        end of a batch while the others idle (longest-processing-time-first)."""
        if len(intake_ids) < 2:
            return intake_ids
        marks = ",".join("?" * len(intake_ids))
        sizes = dict(self.conn.execute(
            f"SELECT id, COALESCE(size, 0) FROM intake WHERE id IN ({marks})", intake_ids))
        return sorted(intake_ids, key=lambda i: -sizes.get(i, 0))

    def _submit(self, job: _Job, pages_jobs: int) -> Future[OcrOutcome]:
        if self._remote is not None:
            return self._remote.submit(
                job.sha256, self._original(job), job.media_type, job.tmp_output,
                self._ocr_settings(pages_jobs), names.visible(job.source.name))
        if self._pool is not None and getattr(self._pool, "_broken", False):
            # A worker died (killed, out of memory): its files were set to retry; a new
            # pool serves the next ones.
            log.warning("OCR worker pool broken; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=_pool_context(), initializer=_init_worker,
                initargs=(os.getpid(), self.limits.worker_memory_mb, dict(os.environ),
                          *_log_target()))
        return self._pool.submit(
            _ocr_in_worker, str(self._original(job)), job.media_type, str(job.tmp_output),
            self._ocr_settings(pages_jobs), names.visible(job.source.name))

    def _ocr_settings(self, pages_jobs: int) -> OcrSettings:
        cfg = self.ws.config.ocr
        return OcrSettings(
            language=cfg.language,
            jobs=max(1, pages_jobs),
            confidence_threshold=cfg.confidence_threshold,
            timeout_seconds=cfg.timeout_seconds,
            memory_mb=self.limits.worker_memory_mb,
            thresholding=cfg.thresholding,
            retry_language=cfg.retry_language,
            retry_below=cfg.retry_below,
        )

    def _original(self, job: _Job) -> Path:
        return self.ws.absolute(
            store.original_relpath(job.sha256, MEDIA_EXTENSION[job.media_type]))

    @property
    def engine(self) -> SearchEngine:
        if self._engine is None:
            self._engine = open_engine(self.ws.index_dir, self.ws.config.index.engine)
        return self._engine

    # ---- steps ----

    def _row(self, intake_id: int) -> sqlite3.Row:
        row: sqlite3.Row = self.conn.execute(
            "SELECT * FROM intake WHERE id = ?", (intake_id,)).fetchone()
        return row

    def _claim(self, intake_id: int) -> bool:
        cur = self.conn.execute(
            "UPDATE intake SET state = 'processing', claimed_by = ?, claim_token = ?,"
            " attempts = attempts + 1, updated_at = ? WHERE id = ? AND state IN"
            " ('pending', 'retry')",
            (os.getpid(), self.token, db.now(), intake_id),
        )
        return cur.rowcount == 1

    def _set_state(self, intake_id: int, state: str, message: str, **columns: object) -> Outcome:
        assignments = ", ".join(f"{k} = ?" for k in columns)
        sql = "UPDATE intake SET state = ?, claimed_by = NULL, updated_at = ?"
        if assignments:
            sql += ", " + assignments
        self.conn.execute(sql + " WHERE id = ?",
                          (state, db.now(), *columns.values(), intake_id))
        row = self._row(intake_id)
        return self._outcome(row, state, message)

    def _outcome(self, row: sqlite3.Row, state: str, message: str) -> Outcome:
        path = names.from_row(row["source_path"], row["source_bytes"])
        return Outcome(row["id"], names.visible(path), state, row["document_id"],
                       names.safe_text(message), str(path))

    def _in_inbox(self, path: Path) -> bool:
        return path.absolute().is_relative_to(self.ws.inbox.absolute())

    def _prepare(self, intake_id: int) -> _Job | Outcome | None:
        """Claim, validate, hash, dedupe and store the original. Runs in this process."""
        if intake_id in self._held:
            self._held.discard(intake_id)  # a twin we held back: still claimed by us
        elif not self._claim(intake_id):
            row = self._row(intake_id)
            if row is None:
                return None
            # Already handled, or another process holds it: report, do not touch.
            return self._outcome(row, row["state"], "Tệp đang được xử lý hoặc đã xử lý trước đó.")
        row = self._row(intake_id)
        source = names.from_row(row["source_path"], row["source_bytes"])
        try:
            if row["document_id"] is not None:
                return self._resume(row, source)
            return self._take(row, source)
        except BadInputFile as exc:
            return self._quarantine(intake_id, source, exc)
        except PermissionError as exc:
            # Reading the user's file was refused (the store's own errors arrive as
            # MotcuaErrors): no retry will change that until someone grants access.
            return self._set_state(
                intake_id, "refused",
                f"Không đọc được tệp “{names.visible(source.name)}”: tài khoản chạy motcua "
                "không có quyền đọc. Hãy cấp quyền đọc (hoặc chép lại tệp) rồi đặt lại vào "
                "thư mục nhận.",
                reason_vi="không có quyền đọc tệp",
                last_error=names.safe_text(f"{type(exc).__name__}: {exc}"))
        except (TransientError, OSError, sqlite3.OperationalError) as exc:
            return self._retry(intake_id, exc)
        except Exception as exc:
            # A library choking on a strange file: the same file will choke it again, so
            # it is settled now (quarantined with its reason), and the run goes on.
            log.exception("unexpected failure preparing intake %d", intake_id)
            return self._quarantine(intake_id, source, _deterministic(source, exc))

    def _take(self, row: sqlite3.Row, source: Path) -> _Job | Outcome | None:
        intake_id = row["id"]
        if ".." in source.parts:
            return self._set_state(
                intake_id, "refused",
                f"Đường dẫn “{names.visible(source)}” đi qua “..” sau một liên kết tượng trưng "
                "(symlink) nên không rõ tệp thật nằm ở đâu. Hãy ghi đường dẫn trực tiếp tới "
                "tệp, không dùng “..”.",
                reason_vi="đường dẫn có “..” qua liên kết tượng trưng",
                last_error="path has a '..' part that passes through a symlink")
        if not os.path.lexists(source):
            return self._set_state(intake_id, "vanished", VANISHED_VI, reason_vi=VANISHED_VI)
        if source.is_symlink() or not source.is_file():
            return self._set_state(
                intake_id, "refused",
                "Không nhận liên kết tượng trưng (symlink) hay tệp đặc biệt; hãy chép tệp thật "
                "vào thư mục nhận.",
                reason_vi="symlink hoặc không phải tệp thường",
                last_error="not a regular file (symlink, fifo, device or directory)",
            )
        if self._in_inbox(source) and not source.parent.resolve().is_relative_to(
                self.ws.inbox.resolve()):
            return self._set_state(
                intake_id, "refused",
                "Tệp nằm trong một thư mục liên kết (symlink) nên không được nhận; hãy chép "
                "tệp thật vào thư mục nhận.",
                reason_vi="nằm trong thư mục liên kết tượng trưng",
                last_error="reached through a symlinked folder",
            )
        st = source.stat()
        if row["size"] is not None and (st.st_size, st.st_mtime_ns) != (row["size"],
                                                                          row["mtime_ns"]):
            # Written to again since it was queued: the writer is not done. Look again
            # after the stability delay (not counted as an attempt); it is taken once
            # size and mtime stay as recorded.
            log.info("%s changed since it was queued; waiting for it to settle",
                     names.visible(source))
            when = datetime.now(UTC) + timedelta(seconds=self.ws.config.ingest.stable_seconds)
            return self._set_state(
                intake_id, "retry", "Tệp vẫn đang được ghi; sẽ nhận khi ghi xong.",
                size=st.st_size, mtime_ns=st.st_mtime_ns, attempts=row["attempts"] - 1,
                next_attempt_at=when.isoformat(timespec="seconds"))
        sha256 = store.sha256_file(source)
        self.conn.execute(
            "UPDATE intake SET sha256 = ?, size = ?, mtime_ns = ? WHERE id = ?",
            (sha256, st.st_size, st.st_mtime_ns, intake_id),
        )
        if sha256 in self._busy_sha:
            # The same bytes under another name are being archived by this run: wait for
            # that one to settle, then this one is its duplicate (or, if it failed, is
            # judged on its own).
            self._deferred.setdefault(sha256, []).append(intake_id)
            self._held.add(intake_id)
            return None
        batch = split.batch_by_sha256(self.conn, sha256)
        if batch is not None:
            return self._already_split(row, source, batch)
        existing = records.by_sha256(self.conn, sha256)
        if existing is not None and existing["state"] == "indexed":
            return self._duplicate(row, source, existing)
        if existing is not None and self._held_elsewhere(existing["id"], intake_id):
            raise TransientError("Tệp trùng đang được xử lý ở nơi khác; sẽ thử lại.",
                                 f"document {existing['id']} is being processed by another "
                                 "process")
        media_type = media_type_of(source, self.limits)
        if existing is not None:
            # Same bytes are mid-way (an earlier attempt died): continue that document.
            with db.transaction(self.conn):
                self.conn.execute("UPDATE intake SET document_id = ? WHERE id = ?",
                                  (existing["id"], intake_id))
            return self._resume(self._row(intake_id), source)
        if media_type == "application/pdf" and split.part_of_intake(self.conn, intake_id) is None:
            outcome = self._split(self._row(intake_id), source, sha256, st.st_size)
            if outcome is not None:
                return outcome
        relpath = store.original_relpath(sha256, MEDIA_EXTENSION[media_type])
        store.durable_copy(source, self.ws.absolute(relpath), self.tmp, sha256)
        _crash_point("original-renamed")
        try:
            with db.transaction(self.conn):
                document_id = records.insert_stored(
                    self.conn, sha256=sha256, original_name=row["original_name"],
                    media_type=media_type, size=st.st_size, original_path=relpath)
                self.conn.execute("UPDATE intake SET document_id = ? WHERE id = ?",
                                  (document_id, intake_id))
        except sqlite3.IntegrityError as exc:
            # Another process stored the same bytes a moment ago.
            raise TransientError("Tệp trùng đang được xử lý ở nơi khác; sẽ thử lại.",
                                 f"concurrent insert of {sha256}: {exc}") from exc
        log.info("stored original %s as document %d", names.visible(source), document_id)
        _crash_point("stored")
        return self._job(intake_id, source, document_id, sha256, media_type, row["dossier_hint"])

    def _split(self, row: sqlite3.Row, source: Path, sha256: str, size: int) -> Outcome | None:
        """The split step: a PDF with QR separators is kept whole in the store and its
        parts are queued; None when it has none (it goes on as any file)."""
        scan = split.read_separators(source)
        if scan is None:
            return None
        plan = split.plan_parts(scan, lambda code: records.dossier_exists(self.conn, code))
        if not plan:
            return None
        relpath = store.original_relpath(sha256, ".pdf")
        batch = self.ws.absolute(relpath)
        store.durable_copy(source, batch, self.tmp, sha256)
        parts = split.write_parts(self.ws, batch, row["original_name"], plan, self.tmp)
        _crash_point("parts-written")
        with db.transaction(self.conn):
            children = split.record_split(
                self.conn, self.ws, intake_row=row, sha256=sha256, relpath=relpath,
                size=size, scan=scan, parts=parts, register=register, actor=self.actor)
            outcome = self._set_state(row["id"], "done",
                                      split.split_message(parts, row["original_name"]))
        log.info("split %s into %d parts at pages %s (QR %.2fs)", names.visible(source),
                 len(parts), [s.page for s in scan.separators], scan.seconds)
        _crash_point("split")
        self._release(source, self._row(row["id"]))
        self._spawned.extend(children)
        return outcome

    def _already_split(self, row: sqlite3.Row, source: Path, batch: sqlite3.Row) -> Outcome:
        """Bytes of a batch split before: the same file seen again after a crash (its
        parts still waiting are run now), or another copy of it (a duplicate)."""
        first = self._row(batch["intake_id"]) if batch["intake_id"] is not None else None
        same_file = first is not None and first["source_path"] == row["source_path"]
        if same_file:
            outcome = self._set_state(row["id"], "done", "Tệp đã được tách và lưu trữ trước đó.")
        else:
            outcome = self._set_state(
                row["id"], "duplicate",
                f"Trùng với tệp quét “{batch['original_name']}” đã tách theo tờ bìa trước đó; "
                "không lưu lần thứ hai.")
        self._release(source, row)
        self._spawned.extend(split.waiting_parts(self.conn, batch["id"]))
        return outcome

    def _held_elsewhere(self, document_id: int, intake_id: int) -> bool:
        for other in self.conn.execute(
                "SELECT claimed_by, claim_token FROM intake WHERE document_id = ? AND id != ?"
                " AND state = 'processing'", (document_id, intake_id)):
            if other["claimed_by"] != os.getpid() and _claim_alive(other["claimed_by"],
                                                                   other["claim_token"]):
                return True
        return False

    def _job(self, intake_id: int, source: Path, document_id: int, sha256: str,
             media_type: str, hint: str | None) -> _Job:
        self._busy_sha.add(sha256)
        return _Job(intake_id, source, document_id, sha256, media_type, hint,
                    self.tmp / f"{sha256}.pdf")

    def _resume(self, row: sqlite3.Row, source: Path) -> _Job | Outcome:
        doc = records.by_id(self.conn, row["document_id"])
        if doc is None:
            raise TransientError("Bản ghi tài liệu bị mất; sẽ xử lý lại.",
                                 f"intake {row['id']} points at missing document")
        job = self._job(row["id"], source, doc["id"], doc["sha256"], doc["media_type"],
                        row["dossier_hint"])
        if doc["state"] == "stored":
            return job
        try:
            return self._index_and_release(job)
        finally:
            self._busy_sha.discard(job.sha256)

    def _duplicate(self, row: sqlite3.Row, source: Path, existing: sqlite3.Row) -> Outcome:
        intake_id = row["id"]
        # The same file seen again after a crash between commit and removing it is not a
        # duplicate of someone else's scan: it is simply done.
        same_file = self.conn.execute(
            "SELECT 1 FROM intake WHERE source_path = ? AND sha256 = ? AND state = 'done'"
            " AND id != ?", (row["source_path"], existing["sha256"], intake_id)).fetchone()
        state = "done" if same_file else "duplicate"
        message = (
            "Tệp đã được lưu trữ trước đó." if same_file else
            f"Trùng với tài liệu số {existing['id']} đã lưu trữ (“{existing['original_name']}”); "
            "không lưu lần thứ hai."
        )
        outcome = self._set_state(intake_id, state, message, document_id=existing["id"])
        self._release(source, row)
        return outcome

    def _finish(self, job: _Job, future: Future[OcrOutcome]) -> Outcome:
        try:
            result = future.result()
            self._store_archival(job, result)
            self.conn.execute("UPDATE intake SET worker_peak_kb = ?, seconds = ? WHERE id = ?",
                              (result.peak_rss_kb or None, round(result.seconds, 2),
                               job.intake_id))
            return self._index_and_release(job)
        except BadInputFile as exc:
            # The OCR found the content unusable: the user's file goes to quarantine.
            self._drop_unarchived(job.document_id)
            return self._quarantine(job.intake_id, job.source, exc)
        except BrokenProcessPool as exc:
            # A worker was killed (out of memory, by hand): the machine's fault, retried
            # (and counted, so that a file that kills every worker ends in quarantine).
            return self._retry(job.intake_id, TransientError(
                "Tiến trình nhận dạng chữ bị dừng đột ngột; sẽ thử lại.",
                f"OCR worker died: {exc}"))
        except (TransientError, OSError, sqlite3.OperationalError) as exc:
            return self._retry(job.intake_id, exc)
        except Exception as exc:
            # Deterministic: the same file would fail the same way again.
            log.exception("unexpected failure on intake %d", job.intake_id)
            self._drop_unarchived(job.document_id)
            return self._quarantine(job.intake_id, job.source, _deterministic(job.source, exc))

    def _drop_unarchived(self, document_id: int) -> None:
        """Our copy of a file that will not be archived leaves the store, so that no
        half-archived document remains; the user's file is what goes to quarantine."""
        doc = records.by_id(self.conn, document_id)
        if doc is None or doc["state"] != "stored":
            return
        with db.transaction(self.conn):
            records.forget(self.conn, document_id)
        self.ws.absolute(doc["original_path"]).unlink(missing_ok=True)

    def _store_archival(self, job: _Job, result: OcrOutcome) -> None:
        relpath = store.archival_relpath(job.sha256)
        digest = store.durable_move_into_store(job.tmp_output, self.ws.absolute(relpath))
        _crash_point("archival-renamed")
        pages = [
            records.PageRecord(p.page_no, unicodedata.normalize("NFC", p.text), p.confidence,
                               p.ocr_done, p.needs_rescan)
            for p in result.pages
        ]
        identifiers = find_identifiers([p.text for p in pages])
        in_text = [i.value for i in identifiers if i.kind == "dossier_code"]
        part = split.part_of_intake(self.conn, job.intake_id)
        with db.transaction(self.conn):
            dossier, source_kind, reason, hint = self._filing(job, in_text)
            records.mark_archived(
                self.conn, job.document_id, archival_path=relpath, archival_sha256=digest,
                pages=pages, identifiers=identifiers, dossier_code=dossier,
                dossier_source=source_kind, ocr_seconds=result.seconds,
                unfiled_reason=reason, unfiled_hint=hint)
            doc = records.by_id(self.conn, job.document_id)
            assert doc is not None
            audit.record(self.conn, "ingest", f"document:{job.document_id}",
                         self.actor, {
                             "original_name": doc["original_name"], "sha256": job.sha256,
                             "archival_sha256": digest, "pages": len(pages),
                             "dossier_code": dossier, "source": names.visible(job.source),
                             **({"batch": {"id": part["batch_id"], "pages": [
                                 part["first_page"], part["last_page"]]}} if part else {}),
                             **({"archival_changes": list(result.changes)}
                                if result.changes else {})})
        log.info("archived document %d (%d pages, %.1fs OCR)", job.document_id, len(pages),
                 result.seconds)
        _crash_point("archived")

    def _filing(self, job: _Job, codes_in_text: list[str]
                ) -> tuple[str | None, str | None, str | None, str | None]:
        """(dossier, how it was found, why none, what was read) for an archived file.

        Only a dossier the counter issued is ever named: the inbox folder's code first,
        then the first issued code printed in the document. Otherwise the document is
        archived in no dossier, with the reason the desk shows."""
        part = split.part_of_intake(self.conn, job.intake_id)
        if part is not None:
            # A part of a batch scan: filed by its cover's QR or not at all, never by a
            # guess from its text.
            code = part["dossier_code"]
            if code and records.dossier_exists(self.conn, code):
                return code, None, None, None
            if code:  # issued when the batch was split, gone since (merged away)
                return None, None, "qr_unknown_code", code
            return None, None, part["reason"], split.reason_hint(part)
        folder = job.dossier_hint
        if folder and records.dossier_exists(self.conn, folder):
            return folder, "folder", None, None
        for code in codes_in_text:
            if records.dossier_exists(self.conn, code):
                return code, "text", None, None
        if folder:
            return None, None, "folder_unknown_code", folder
        parent = job.source.parent
        if self._in_inbox(job.source) and parent.absolute() != self.ws.inbox.absolute():
            return None, None, "folder_not_a_code", names.visible(parent.name)
        if codes_in_text:
            return None, None, "text_unknown_code", codes_in_text[0]
        return None, None, None, None

    def _stamp(self, job: _Job) -> None:
        """The digitization stamp on the archival copy, unless it has one already.

        A stamp that cannot be made never holds back the archive: the scan and its
        PDF/A are safe, the document is indexed, and `motcua stamp` can make it later.
        """
        if get_stamp(self.conn, job.document_id) is not None:
            return
        try:
            stamp_document(self.ws, self.conn, job.document_id, operator=self.operator,
                           actor=self.actor)
        except Exception as exc:
            log.error("document %d: stamp failed (%s: %s); it stays unstamped",
                      job.document_id, type(exc).__name__, exc)
            return
        _crash_point("stamped")

    def _index_and_release(self, job: _Job) -> Outcome:
        self._stamp(job)
        try:
            index_document(self.conn, self.engine, job.document_id)
        except MotcuaError:
            raise
        except Exception as exc:
            raise TransientError("Chưa ghi được vào chỉ mục tìm kiếm; sẽ thử lại.",
                                 f"{type(exc).__name__}: {exc}") from exc
        _crash_point("index-committed")
        with db.transaction(self.conn):
            records.mark_indexed(self.conn, job.document_id)
            doc = records.by_id(self.conn, job.document_id)
            assert doc is not None
            flagged = self.conn.execute(
                "SELECT COUNT(*) FROM pages WHERE document_id = ? AND needs_rescan = 1",
                (job.document_id,)).fetchone()[0]
            message = f"Đã lưu trữ: {doc['page_count']} trang"
            if doc["dossier_code"]:
                message += f", hồ sơ {doc['dossier_code']}"
            part = split.part_of_intake(self.conn, job.intake_id)
            if part is not None:
                message += (f" (trang {split.page_span(part['first_page'], part['last_page'])}"
                            f" của “{part['batch_name']}”)")
            if not doc["dossier_code"] and doc["unfiled_reason"]:
                message += ". " + labels.unfiled_reason(doc["unfiled_reason"],
                                                         doc["unfiled_hint"]).rstrip(".")
            if flagged:
                message += f"; {flagged} trang chất lượng thấp, cần quét lại"
            outcome = self._set_state(job.intake_id, "done", message + ".")
        _crash_point("done")
        self._release(job.source, self._row(job.intake_id))
        return outcome

    def _release(self, source: Path, row: sqlite3.Row) -> None:
        """Remove the inbox copy now that the archive holds it, unless it changed meanwhile."""
        if not self._in_inbox(source):
            return
        try:
            st = source.lstat()
        except FileNotFoundError:
            return
        recorded = (row["size"], row["mtime_ns"])
        if row["size"] is not None and (st.st_size, st.st_mtime_ns) != recorded:
            log.warning("%s changed while it was processed; leaving it for another pass",
                        names.visible(source))
            return
        # Same size and time is not the same file: `rsync -t` or a scanner rewriting a
        # page keeps both. Only the bytes we archived may leave the inbox.
        if row["sha256"] is not None and store.sha256_file(source) != row["sha256"]:
            log.warning("%s was replaced by other bytes of the same size and time while it"
                        " was processed; leaving it for another pass", names.visible(source))
            return
        source.unlink()
        store.fsync_dir(source.parent)

    def _quarantine(self, intake_id: int, source: Path, exc: BadInputFile) -> Outcome:
        log.warning("quarantine %s: %s", names.visible(source), names.safe_text(exc.detail))
        if not source.exists():
            return self._set_state(intake_id, "quarantined", exc.message,
                                   reason_vi=names.safe_text(exc.message),
                                   last_error=names.safe_text(exc.detail))
        moved = self._in_inbox(source)
        placed = quarantine_file(source, self.ws.quarantine, exc.message, exc.detail,
                                 move=moved)
        where = names.visible(placed)
        # A file named outside the inbox is copied, never taken from its owner: say so.
        said = (f"Tệp đã được chuyển vào {where}." if moved else
                f"Bản sao của tệp được đặt trong {where}; tệp gốc vẫn ở chỗ cũ.")
        return self._set_state(
            intake_id, "quarantined",
            f"{exc.message} {said}",
            reason_vi=names.safe_text(exc.message), last_error=names.safe_text(exc.detail),
            quarantine_path=where)

    def _retry(self, intake_id: int, exc: BaseException) -> Outcome:
        row = self._row(intake_id)
        if isinstance(exc, OSError):
            exc = disk_full(exc, f"on intake {intake_id}") or exc
        message = getattr(exc, "message", None) or "Lỗi tạm thời khi xử lý tệp; sẽ thử lại."
        detail = getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}"
        # The machine's fault (a full disk) is retried until mended, never given up on.
        if not isinstance(exc, MachineFault) and row["attempts"] >= MAX_ATTEMPTS:
            source = names.from_row(row["source_path"], row["source_bytes"])
            give_up = BadInputFile(
                f"Đã thử xử lý {row['attempts']} lần nhưng không thành công ({message}). "
                "Hãy kiểm tra tệp hoặc báo cho cán bộ kỹ thuật.", detail)
            if row["document_id"] is not None:
                self._drop_unarchived(row["document_id"])
            return self._quarantine(intake_id, source, give_up)
        # A fault that knows when it will be mended (Redis back) says how long to wait.
        delay = getattr(exc, "retry_after", None) or \
            min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2 ** (row["attempts"] - 1))
        when = (datetime.now(UTC) + timedelta(seconds=delay)).isoformat(timespec="seconds")
        log.warning("intake %d: transient failure (%s); retry in %.0fs", intake_id, detail, delay)
        return self._set_state(intake_id, "retry", message, last_error=names.safe_text(detail),
                               next_attempt_at=when)


def _deterministic(source: Path, exc: BaseException) -> BadInputFile:
    """An unexpected failure on one file's content, as a reason that says what to do."""
    return BadInputFile(
        f"Không số hóa được tệp “{names.visible(source.name)}”: công cụ xử lý gặp lỗi với "
        "nội dung của tệp này (thử lại cũng sẽ lỗi như vậy). Hãy mở tệp kiểm tra, xuất lại "
        "hoặc in ra rồi quét lại, sau đó đặt lại vào thư mục nhận; nếu vẫn lỗi, báo cho cán bộ "
        "kỹ thuật kèm tệp lý do này.",
        names.safe_text(f"{type(exc).__name__}: {exc}"),
    )


def wait_until_stable(path: Path, seconds: float, poll: float = 0.5) -> bool:
    """True once size and mtime have not changed for `seconds`; False if the file vanished."""
    try:
        last = path.stat()
    except FileNotFoundError:
        return False
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < seconds:
        time.sleep(poll)
        try:
            now = path.stat()
        except FileNotFoundError:
            return False
        if (now.st_size, now.st_mtime_ns) != (last.st_size, last.st_mtime_ns):
            last, quiet_since = now, time.monotonic()
    return True
