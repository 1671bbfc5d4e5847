"""`motcua watch`: the inbox as a service that runs for months.

Two threads share the work, and only the database connects them:

* the intake thread turns file events (watchdog's native observer, or polling on a
  network share) and full scans (at start-up and every `rescan_minutes`) into
  *candidates*, and queues a candidate as an `intake` row once it is stable: no event
  and no change of type, inode, size or mtime for `stable_seconds`, confirmed by a
  fresh `lstat`, and — for a PDF or an image whose last bytes are still missing — not
  before `incomplete_grace` seconds of silence, so a scanner that pauses between pages
  is never cut off mid-file;
* the main thread runs the pipeline on every due row (pending, or a retry whose
  back-off has passed), with OCR in the pipeline's bounded pool of worker processes.

SIGTERM or SIGINT sets a flag: no new file is registered or claimed, files in flight
finish, the process exits 0. A SIGKILL at any moment is safe because every step of the
pipeline is a committed row after durable files; the next start reclaims what the
dead process held. A lock file keeps a second watcher off the same workspace.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import signal
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from types import FrameType

from watchdog.events import (
    FileClosedNoWriteEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from motcua import db
from motcua.archive.indexing import flush_pending, pending_count
from motcua.errors import MachineFault, UserError
from motcua.ingest.names import visible
from motcua.ingest.pipeline import (
    Outcome,
    Pipeline,
    database_fault,
    due_ids,
    is_ignored,
    recover,
    register,
)
from motcua.ingest.status import lock_path
from motcua.ocr import check_language
from motcua.workspace import Workspace

log = logging.getLogger("motcua.watch")

DEFAULT_INCOMPLETE_GRACE = 120.0
#: A machine fault (store not writable, database locked) is looked at again after this.
MACHINE_FAULT_PAUSE = 60.0
FLUSH_RETRY_S = 60.0  # after the index could not take the pending documents
ACTIVE_STATES = ("pending", "processing", "retry")

# (file type and permission bits, inode, size, mtime_ns): any change means "still being
# written" -- or, for a file refused as unreadable, that someone granted access: it is
# looked at again (chmod changes no size or time).
Signature = tuple[int, int, int, int]


def signature(st: os.stat_result) -> Signature:
    return (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns)


def looks_complete(path: Path) -> bool:
    """Do the file's last bytes say it was written to the end?

    Cheap and only for the formats that say so: a PDF ends with %%EOF, a JPEG with the
    EOI marker, a PNG with its IEND chunk. Anything else (TIFF, unknown content) counts
    as complete; the pipeline judges the content. An empty file is not complete yet:
    some scanners create the file first and write it later.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if not head:
                return False
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 2048))
            tail = fh.read()
    except OSError:
        return True  # unreadable: let the pipeline record why
    if head.startswith(b"%PDF-"):
        return b"%%EOF" in tail
    if head.startswith(b"\xff\xd8\xff"):
        return b"\xff\xd9" in tail[-1024:]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return b"IEND" in tail[-64:]
    return True


@dataclass
class _Candidate:
    sig: Signature
    changed_at: float  # monotonic time of the last event or change seen
    waiting_logged: bool = False


class _EventCollector(FileSystemEventHandler):
    """Collects paths that events touched; the intake thread decides when they are stable."""

    def __init__(self, wake: threading.Event) -> None:
        self.lock = threading.Lock()
        self.files: set[str] = set()
        self.dirs: set[str] = set()
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        # Our own reads (hashing, copying into the store) open and close files too.
        if isinstance(event, (FileOpenedEvent, FileClosedNoWriteEvent)):
            return
        with self.lock:
            if not event.is_directory:
                for path in (event.src_path, event.dest_path):
                    if path:
                        self.files.add(os.fsdecode(path))
            elif event.event_type in ("created", "moved"):
                # A folder copied or moved in (a dossier): its files may have arrived
                # before the watch on it did, so it is scanned. A folder's "modified"
                # event only repeats what its files' own events say.
                self.dirs.add(os.fsdecode(event.dest_path or event.src_path))
            else:
                return
        self.wake.set()

    def drain(self) -> tuple[set[str], set[str]]:
        with self.lock:
            files, dirs = self.files, self.dirs
            self.files, self.dirs = set(), set()
        return files, dirs

    def pending(self) -> bool:
        with self.lock:
            return bool(self.files or self.dirs)


def _parent_inside(path: Path, inbox_real: Path) -> bool:
    try:
        return path.parent.resolve().is_relative_to(inbox_real)
    except OSError:
        return False


def check_layout(ws: Workspace) -> None:
    """The quarantine, the store, the index and the logs must not be inside the inbox:
    what the service writes there would come back to it as new files."""
    inbox = ws.inbox.resolve()
    for name, path in (("quarantine", ws.quarantine), ("store", ws.store),
                       ("index", ws.index_dir), ("logs", ws.logs), ("database", ws.db_path)):
        if path.resolve().is_relative_to(inbox):
            raise UserError(
                f"Thư mục {name} ({path}) không được nằm trong thư mục nhận {inbox}: "
                "tệp đã xử lý sẽ bị nhận lại. Hãy đổi cấu hình.",
                f"{name} ({path}) is inside the inbox ({inbox})",
            )


class _WorkspaceLock:
    """An exclusive flock on `<workspace>/motcua-watch.lock` holding the watcher's PID."""

    def __init__(self, ws: Workspace) -> None:
        self.path = lock_path(ws)
        self.fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = self.path.read_text(encoding="ascii", errors="replace").strip()
            raise UserError(
                f"Đã có một tiến trình theo dõi khác đang chạy trên kho này (PID {holder}). "
                "Hãy dừng tiến trình đó trước, hoặc xem “motcua status”.",
                f"workspace lock {self.path} held by pid {holder}",
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


class Watcher:
    def __init__(
        self,
        ws: Workspace,
        *,
        poll: bool | None = None,
        stable_seconds: float | None = None,
        rescan_minutes: float | None = None,
        incomplete_grace: float = DEFAULT_INCOMPLETE_GRACE,
        until_idle: bool = False,
        progress: Callable[[Outcome], None] | None = None,
        actor: str | None = None,
        operator: str | None = None,
    ) -> None:
        cfg = ws.config.ingest
        self.ws = ws
        self.actor, self.operator = actor, operator  # for the pipeline's audit and stamp
        self.inbox = ws.inbox.absolute()
        self.inbox_real = ws.inbox.resolve()
        self.poll = cfg.poll if poll is None else poll
        self.stable_seconds = cfg.stable_seconds if stable_seconds is None else stable_seconds
        self.rescan_seconds = 60 * (cfg.rescan_minutes if rescan_minutes is None
                                    else rescan_minutes)
        self.incomplete_grace = max(incomplete_grace, self.stable_seconds)
        self.until_idle = until_idle
        self.patterns = tuple(cfg.ignore_patterns)
        self.progress = progress
        self.stopping = threading.Event()
        self.wake_intake = threading.Event()
        self.wake_main = threading.Event()
        self.candidates: dict[str, _Candidate] = {}
        # Paths with a row the main thread has not reported on yet (shared, under lock),
        # and files left in the inbox on purpose (a refused symlink) by signature.
        self.lock = threading.Lock()
        self.busy: set[str] = set()
        self.settled: dict[str, Signature] = {}
        self.intake_idle = threading.Event()
        self._next_flush = 0.0  # monotonic time of the next try at flushing the index
        self.intake_error: BaseException | None = None
        self.observer: BaseObserver | None = None
        self.collector = _EventCollector(self.wake_intake)

    # ---- what is a candidate ----

    def ignored(self, path: Path) -> bool:
        relative = path.relative_to(self.inbox) if path.is_relative_to(self.inbox) else path
        if is_ignored(relative):
            return True
        return any(fnmatch(part, pattern) for part in relative.parts
                   for pattern in self.patterns)

    def stop(self, *_: object) -> None:
        if not self.stopping.is_set():
            log.info("stop requested: finishing files in progress, taking no new ones",
                     extra={"event": "stop"})
        self.stopping.set()
        self.wake_intake.set()
        self.wake_main.set()

    def _in_inbox(self, path_str: str) -> Path | None:
        """The path as seen through the workspace's inbox, or None if outside it. An inbox
        that is a symlink (to a mount point) gets events under its real path."""
        path = Path(path_str).absolute()
        if path.is_relative_to(self.inbox):
            return path
        if path.is_relative_to(self.inbox_real):
            return self.inbox / path.relative_to(self.inbox_real)
        return None

    def _nominate(self, path_str: str, now: float, *, event: bool) -> None:
        path = self._in_inbox(path_str)
        if path is None or self.ignored(path):
            return
        if not _parent_inside(path, self.inbox_real):
            # Reached through a symlinked folder: the link itself is refused on record
            # when it is seen; what lies behind it is not ours to take (or to delete).
            return
        key = str(path)
        try:
            st = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            self.candidates.pop(key, None)
            return
        except OSError as exc:
            log.warning("cannot stat %s: %s", visible(path), exc)
            return
        if stat.S_ISDIR(st.st_mode):
            if event:
                self._scan_dir(path, now)
            return
        sig = signature(st)
        with self.lock:
            if self.settled.get(key) == sig:
                self.candidates.pop(key, None)
                return
        known = self.candidates.get(key)
        if known is None:
            self.candidates[key] = _Candidate(sig, now)
        elif event or known.sig != sig:
            known.sig, known.changed_at = sig, now

    def _scan_dir(self, top: Path, now: float) -> None:
        def report(exc: OSError) -> None:
            log.warning("cannot read %s: %s", exc.filename, exc.strerror,
                        extra={"event": "scan_error"})

        for root, dirs, files in os.walk(top, onerror=report):
            kept = []
            for d in dirs:
                full = Path(root) / d
                if self.ignored(full):
                    continue
                if full.is_symlink():
                    # Never followed: registered so that the pipeline refuses it on record.
                    files.append(d)
                else:
                    kept.append(d)
            dirs[:] = kept
            for name in files:
                self._nominate(os.path.join(root, name), now, event=False)

    def scan(self, now: float) -> None:
        if self.inbox.is_dir():
            self._scan_dir(self.inbox, now)

    def _ripe(self, conn: sqlite3.Connection, now: float) -> int:
        """Queue candidates that have been quiet long enough; return how many."""
        queued = 0
        for key, cand in list(self.candidates.items()):
            if self.stopping.is_set():
                break
            quiet = now - cand.changed_at
            if quiet < self.stable_seconds:
                continue
            path = Path(key)
            try:
                st = path.lstat()
            except (FileNotFoundError, NotADirectoryError):
                del self.candidates[key]
                continue
            sig = signature(st)
            if sig != cand.sig:
                cand.sig, cand.changed_at = sig, now
                continue
            with self.lock:
                if key in self.busy:
                    continue  # decided once the pipeline reports on the current row
                if self.settled.get(key) == sig:
                    del self.candidates[key]
                    continue
                self.settled.pop(key, None)
            if stat.S_ISREG(st.st_mode) and quiet < self.incomplete_grace \
                    and not looks_complete(path):
                if not cand.waiting_logged:
                    log.info("%s looks incomplete; waiting for its writer", path,
                             extra={"event": "incomplete", "path": key})
                    cand.waiting_logged = True
                continue
            del self.candidates[key]
            # Symlinks and special files are registered too: the pipeline refuses them
            # with a recorded reason instead of following them.
            intake_id = register(conn, path)
            with self.lock:
                self.busy.add(key)
            log.info("queued %s", path, extra={"event": "queued", "intake_id": intake_id,
                                               "path": key, "size": st.st_size})
            queued += 1
        if queued:
            self.wake_main.set()
        return queued

    # ---- the intake thread ----

    def _start_observer(self) -> None:
        if self.observer is not None:
            try:
                self.observer.stop()
                self.observer.join(timeout=5)
            except Exception:
                log.debug("stopping the old observer failed", exc_info=True)
            self.observer = None
        if not self.inbox.is_dir():
            return
        interval = max(0.5, min(2.0, self.stable_seconds / 2))
        # Polling with lstat: a symlinked folder is seen as a link (and refused on record),
        # never walked into, as watchdog's default PollingObserver (os.stat) would.
        observer: BaseObserver = (
            PollingObserverVFS(os.lstat, os.scandir, polling_interval=interval)
            if self.poll else Observer())
        # The real path: an inbox that is a symlink to a mount point is watched where it
        # points (events map back through `_in_inbox`); links inside are not followed.
        self.inbox_real = self.ws.inbox.resolve()
        observer.schedule(self.collector, str(self.inbox_real), recursive=True)
        observer.start()
        self.observer = observer

    def _observer_healthy(self) -> bool:
        # An emitter thread ends when its folder disappears (an unmounted share) and
        # does not come back by itself; the observer thread would keep running idle.
        observer = self.observer
        return (observer is not None and observer.is_alive() and bool(observer.emitters)
                and all(emitter.is_alive() for emitter in observer.emitters))

    def _intake_loop(self) -> None:
        conn = db.connect(self.ws.db_path)
        last_scan = -float("inf")
        last_idle_scan = -float("inf")
        inbox_missing = False
        try:
            while not self.stopping.is_set():
                self.wake_intake.clear()
                now = time.monotonic()
                try:
                    if not self._observer_healthy():
                        if self.inbox.is_dir():
                            if self.observer is not None:
                                log.warning("file observer stopped (inbox gone and back?);"
                                            " restarting it and rescanning",
                                            extra={"event": "observer_restart"})
                            self._start_observer()
                            last_scan = -float("inf")  # events were missed meanwhile
                        elif not inbox_missing:
                            log.error("inbox %s is missing (network share unmounted?);"
                                      " waiting for it", self.inbox,
                                      extra={"event": "inbox_missing"})
                        inbox_missing = not self.inbox.is_dir()
                    if now - last_scan >= self.rescan_seconds:
                        self.scan(now)
                        last_scan = now
                    files, dirs = self.collector.drain()
                    for d in dirs:
                        self._nominate(d, now, event=True)
                    for f in files:
                        self._nominate(f, now, event=True)
                    self._ripe(conn, now)
                    if self.until_idle:
                        if self.candidates or self.collector.pending():
                            self.intake_idle.clear()
                        elif now - last_idle_scan >= 1.0:
                            # Confirm with a fresh scan that the inbox holds nothing new.
                            self.scan(now)
                            last_idle_scan = now
                            if not self.candidates:
                                self.intake_idle.set()
                                self.wake_main.set()
                except Exception:
                    log.exception("intake cycle failed; continuing",
                                  extra={"event": "intake_error"})
                    self.stopping.wait(2.0)
                self.wake_intake.wait(0.25)
        except BaseException as exc:  # pragma: no cover - reported to the main thread
            self.intake_error = exc
            self.stop()
            raise
        finally:
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(timeout=5)
            conn.close()

    # ---- the main thread ----

    def _on_outcome(self, conn: sqlite3.Connection, outcome: Outcome) -> None:
        key = outcome.path or outcome.source
        # INFO whatever the state: the console already shows every outcome to people,
        # and the file keeps the state as a field for whoever reads the log.
        log.info("%s %s: %s", outcome.state, outcome.source, outcome.message,
                extra={"event": "outcome", "intake_id": outcome.intake_id,
                       "state": outcome.state, "path": outcome.source,
                       "document_id": outcome.document_id})
        settled: Signature | None = None
        if outcome.state not in ACTIVE_STATES:
            # A file the pipeline left in the inbox on purpose (refused, or archived but not
            # removable) is not taken again until it changes.
            try:
                st = Path(key).lstat()
            except OSError:
                st = None
            row = conn.execute("SELECT size, mtime_ns FROM intake WHERE id = ?",
                               (outcome.intake_id,)).fetchone()
            if st is not None and row is not None and \
                    (st.st_size, st.st_mtime_ns) == (row["size"], row["mtime_ns"]):
                settled = signature(st)
        with self.lock:
            self.busy.discard(key)
            if settled is not None:
                self.settled[key] = settled
        self.wake_intake.set()
        if self.progress is not None:
            try:
                self.progress(outcome)
            except OSError as exc:  # stdout closed (a detached terminal): keep working
                log.warning("cannot report progress: %s", exc)

    def _active_rows(self, conn: sqlite3.Connection) -> int:
        return int(conn.execute(
            "SELECT COUNT(*) FROM intake WHERE state IN ('pending', 'processing', 'retry')"
        ).fetchone()[0])

    def _release_own_rows(self, conn: sqlite3.Connection) -> None:
        """After a failed pipeline run, rows this process claimed go back to the queue."""
        cur = conn.execute(
            "UPDATE intake SET state = 'pending', claimed_by = NULL, updated_at = ?"
            " WHERE state = 'processing' AND claimed_by = ?", (db.now(), os.getpid()))
        if cur.rowcount:
            log.warning("returned %d claimed rows to the queue", cur.rowcount)

    def run(self) -> int:
        """Watch until stopped (or, with `until_idle`, until nothing is left); return 0."""
        check_layout(self.ws)
        check_language(self.ws.config.ocr.language)
        lock = _WorkspaceLock(self.ws)
        lock.acquire()
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        conn = db.connect(self.ws.db_path)
        intake = threading.Thread(target=self._intake_loop, name="motcua-intake", daemon=True)
        log.info("watching %s (%s, stable after %.1fs, rescan every %.0fs)", self.inbox,
                 "polling" if self.poll else "native events", self.stable_seconds,
                 self.rescan_seconds, extra={"event": "start", "poll": self.poll})
        try:
            recover(self.ws, conn)
            intake.start()
            progress = lambda outcome: self._on_outcome(conn, outcome)  # noqa: E731
            while not self.stopping.is_set():
                self.wake_main.clear()
                ready = due_ids(conn)
                if ready:
                    try:
                        Pipeline(self.ws, conn, actor=self.actor,
                                 operator=self.operator).run(
                            ready, progress=progress, should_stop=self.stopping.is_set,
                            more=lambda: due_ids(conn))
                    except (MachineFault, sqlite3.OperationalError) as exc:
                        # The machine, not a file: say so once a minute, without a
                        # traceback, and try again; nothing is taken meanwhile.
                        fault = exc if isinstance(exc, MachineFault) else \
                            database_fault(exc, self.ws.db_path)
                        if self.until_idle:
                            # A one-off run ends, with the message and a non-zero exit,
                            # rather than wait for someone to mend the machine.
                            with contextlib.suppress(sqlite3.Error):
                                self._release_own_rows(conn)
                            raise fault from exc
                        log.error("%s (%s); retrying in %.0fs", fault.message, fault.detail,
                                  MACHINE_FAULT_PAUSE, extra={"event": "machine_fault"})
                        with contextlib.suppress(sqlite3.Error):
                            self._release_own_rows(conn)
                        self.stopping.wait(MACHINE_FAULT_PAUSE)
                    except Exception:
                        log.exception("pipeline run failed; retrying shortly",
                                      extra={"event": "pipeline_error"})
                        self._release_own_rows(conn)
                        self.stopping.wait(5.0)
                    continue
                self._flush_index(conn)
                if self.until_idle and self.intake_idle.is_set() and \
                        self._active_rows(conn) == 0:
                    log.info("inbox idle; exiting", extra={"event": "idle"})
                    break
                self.wake_main.wait(1.0)
        finally:
            self.stop()
            if intake.is_alive():
                intake.join(timeout=10)
            conn.close()
            for sig, handler_before in previous.items():
                signal.signal(sig, handler_before)
            lock.release()
        log.info("watcher stopped", extra={"event": "stopped"})
        return 0

    def _flush_index(self, conn: sqlite3.Connection) -> None:
        """Idle: fold the documents changed at the counter into the index (until then
        searches read them from the database). An index that cannot be written now (a
        reindex holds it) is tried again a minute later, not every second."""
        now = time.monotonic()
        if now < self._next_flush:
            return
        with contextlib.suppress(sqlite3.Error):
            if pending_count(conn) and not flush_pending(self.ws, conn):
                self._next_flush = now + FLUSH_RETRY_S

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name, extra={"event": "signal"})
        self.stop()
