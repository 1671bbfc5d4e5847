"""`motcua watch`: the inbox as a service.

File events (watchdog, or polling on a network share) and a full scan at start-up
and every few minutes only nominate candidates; a candidate is queued once it is
stable (no change for `stable_seconds`, confirmed by a fresh stat). The queue itself
is the `intake` table, so nothing acknowledged lives only in memory.
"""

from __future__ import annotations

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

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from motcua import db
from motcua.errors import UserError
from motcua.ingest.pipeline import Outcome, Pipeline, due_ids, is_ignored, register
from motcua.workspace import Workspace

log = logging.getLogger("motcua.watch")


@dataclass
class _Candidate:
    size: int
    mtime_ns: int
    changed_at: float  # monotonic time of the last change we saw


class _Nominator(FileSystemEventHandler):
    """Collects paths that events touched; the main loop decides when they are stable."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.touched: set[str] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        with self.lock:
            for attr in ("src_path", "dest_path"):
                path = getattr(event, attr, "")
                if path:
                    self.touched.add(os.fsdecode(path))

    def drain(self) -> set[str]:
        with self.lock:
            touched, self.touched = self.touched, set()
        return touched


def check_layout(ws: Workspace) -> None:
    inbox = ws.inbox.resolve()
    for name, path in (("quarantine", ws.quarantine), ("store", ws.store),
                       ("index", ws.index_dir)):
        if path.resolve().is_relative_to(inbox):
            raise UserError(
                f"Thư mục {name} ({path}) không được nằm trong thư mục nhận {inbox}: "
                "tệp đã xử lý sẽ bị nhận lại. Hãy đổi cấu hình.",
                f"{name} dir inside inbox",
            )


class Watcher:
    def __init__(
        self,
        ws: Workspace,
        *,
        poll: bool | None = None,
        stable_seconds: float | None = None,
        rescan_minutes: float | None = None,
        progress: Callable[[Outcome], None] | None = None,
    ) -> None:
        cfg = ws.config.ingest
        self.ws = ws
        self.poll = cfg.poll if poll is None else poll
        self.stable_seconds = cfg.stable_seconds if stable_seconds is None else stable_seconds
        self.rescan_seconds = 60 * (cfg.rescan_minutes if rescan_minutes is None
                                    else rescan_minutes)
        self.patterns = tuple(cfg.ignore_patterns)
        self.progress = progress
        self.candidates: dict[str, _Candidate] = {}
        self.stopping = threading.Event()

    def ignored(self, path: Path) -> bool:
        if is_ignored(path.relative_to(self.ws.inbox) if path.is_relative_to(self.ws.inbox)
                      else path):
            return True
        return any(fnmatch(path.name, pattern) for pattern in self.patterns)

    def stop(self, *_: object) -> None:
        if not self.stopping.is_set():
            log.info("stop requested: finishing files in progress, taking no new ones")
        self.stopping.set()

    def _nominate(self, path_str: str, now: float) -> None:
        path = Path(path_str)
        if self.ignored(path):
            return
        try:
            st = path.lstat()
        except FileNotFoundError:
            self.candidates.pop(path_str, None)
            return
        if stat.S_ISDIR(st.st_mode):
            return
        known = self.candidates.get(path_str)
        if known is None or (known.size, known.mtime_ns) != (st.st_size, st.st_mtime_ns):
            self.candidates[path_str] = _Candidate(st.st_size, st.st_mtime_ns, now)

    def _scan(self, now: float) -> None:
        for root, dirs, files in os.walk(self.ws.inbox):
            dirs[:] = [d for d in dirs if not self.ignored(Path(root) / d)]
            for name in files:
                self._nominate(os.path.join(root, name), now)

    def _ripe(self, conn: sqlite3.Connection, now: float) -> int:
        """Queue candidates that have been quiet long enough; return how many."""
        queued = 0
        for path_str, cand in list(self.candidates.items()):
            if now - cand.changed_at < self.stable_seconds:
                continue
            path = Path(path_str)
            try:
                st = path.lstat()
            except FileNotFoundError:
                del self.candidates[path_str]
                continue
            if (st.st_size, st.st_mtime_ns) != (cand.size, cand.mtime_ns):
                self.candidates[path_str] = _Candidate(st.st_size, st.st_mtime_ns, now)
                continue
            del self.candidates[path_str]
            # Symlinks and special files are registered too: the pipeline refuses them
            # with a recorded reason instead of following them.
            register(conn, path)
            queued += 1
        return queued

    def run(self) -> None:
        check_layout(self.ws)
        handler = _Nominator()
        observer = PollingObserver(timeout=1.0) if self.poll else Observer()
        observer.schedule(handler, str(self.ws.inbox), recursive=True)
        observer.start()
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        conn = db.connect(self.ws.db_path)
        log.info("watching %s (%s)", self.ws.inbox, "polling" if self.poll else "native events")
        try:
            last_scan = -float("inf")
            while not self.stopping.is_set():
                now = time.monotonic()
                if now - last_scan >= self.rescan_seconds:
                    self._scan(now)
                    last_scan = now
                for path_str in handler.drain():
                    self._nominate(path_str, now)
                self._ripe(conn, now)
                ready = due_ids(conn)
                if ready:
                    Pipeline(self.ws, conn).run(
                        ready, progress=self.progress, should_stop=self.stopping.is_set)
                else:
                    self.stopping.wait(0.25)
        finally:
            observer.stop()
            observer.join(timeout=5)
            conn.close()
            for sig, handler_before in previous.items():
                signal.signal(sig, handler_before)
        log.info("watcher stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()
