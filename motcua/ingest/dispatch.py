"""The coordinator's side of OCR on other machines (`[workers] backend = "celery"`).

`RemoteOcr.submit` returns a `concurrent.futures.Future`, like the local process pool,
so the pipeline waits on both the same way. A thread polls the shared store for the
workers' result files and Redis for its health:

- a result appears: its PDF is checked against the SHA-256 the worker wrote, moved to
  the pipeline's tmp path and the future resolved (a mismatch is a transient failure;
  the next attempt does the OCR again);
- Redis cannot be reached (when sending, or while waiting): the file's future fails
  with `BrokerUnavailable`, a MachineFault: the file waits in 'retry' for
  `[workers] retry_seconds`, never counted against it, never quarantined;
- Redis came back as a new instance (its run id changed, the queue it held is gone):
  every waiting request is sent again; one that a worker finished meanwhile is found
  in the store at once.

No worker running is not a failure: the requests wait in Redis, and `motcua status`
says that no worker answers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from motcua.archive import store
from motcua.errors import MachineFault, TransientError
from motcua.ingest import cluster
from motcua.ingest.workers import WorkersConfig, workers_of
from motcua.ocr import OcrOutcome, OcrSettings
from motcua.workspace import Workspace

log = logging.getLogger("motcua.ingest")

POLL_SECONDS = 0.5
HEALTH_SECONDS = 3.0  # how often Redis is asked whether it is there (and the same one)
WORKERS_SECONDS = 15.0  # how often the workers are pinged while files wait
LONELY_SECONDS = 60.0  # waiting this long with no worker answering: say so in the log


class BrokerUnavailable(MachineFault):
    """Redis is out of reach: the machine's fault, retried after `retry_after` seconds."""

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(
            "Không kết nối được máy chủ hàng đợi (Redis) để gửi tệp tới máy nhận dạng chữ. "
            "Tệp vẫn an toàn trong kho và sẽ được gửi lại khi máy chủ hàng đợi hoạt động.",
            detail)
        self.retry_after = retry_after


@dataclass
class _Waiting:
    future: Future[OcrOutcome]
    output: Path
    request: dict[str, Any]
    sent_to: str  # the Redis run id it was queued on


def request_for(ws: Workspace, sha256: str, original: Path, media_type: str,
                settings: OcrSettings, name: str) -> dict[str, Any]:
    return {"key": cluster.settings_key(sha256, settings), "sha256": sha256,
            "original": ws.relative(original), "media_type": media_type,
            "settings": asdict(settings), "name": name}


class RemoteOcr:
    """OCR requests sent to Celery workers, results taken from the shared store."""

    def __init__(self, ws: Workspace, cfg: WorkersConfig) -> None:
        self.ws = ws
        self.cfg = cfg
        self._waiting: dict[str, list[_Waiting]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_id = ""
        self._lonely_since: float | None = None
        self._last_ping = 0.0

    def submit(self, sha256: str, original: Path, media_type: str, output: Path,
               settings: OcrSettings, name: str) -> Future[OcrOutcome]:
        future: Future[OcrOutcome] = Future()
        request = request_for(self.ws, sha256, original, media_type, settings, name)
        entry = _Waiting(future, output, request, "")
        wanted = cluster.wanted_path(self.ws.root, request["key"])
        wanted.parent.mkdir(parents=True, exist_ok=True)
        wanted.touch()
        if self._take(entry):  # done before (a coordinator restarted, a resend)
            return future
        try:
            run_id = cluster.broker_run_id(self.cfg)
            cluster.send(self.cfg, request)
        except Exception as exc:
            future.set_exception(self._unavailable(exc))
            return future
        entry.sent_to = self._run_id = run_id
        with self._lock:
            self._waiting.setdefault(request["key"], []).append(entry)
        self._ensure_thread()
        return future

    def sweep(self, conn: sqlite3.Connection) -> int:
        """Remove results nobody will take: those of documents already archived (kept
        until then, so that a copy of the task run again finds them) or forgotten."""
        folder = cluster.results_dir(self.ws.root)
        if not folder.is_dir():
            return 0
        waiting = {row[0] for row in conn.execute(
            "SELECT sha256 FROM documents WHERE state = 'stored'")}
        removed = 0
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith(".") and \
                    path.name.split("-", 1)[0] not in waiting:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("removed %d OCR results no document waits for", removed)
        return removed

    def shutdown(self, conn: sqlite3.Connection) -> None:
        """Stop polling and sweep the results taken. Requests still queued stay in
        Redis; a worker that does one leaves its result in the store, where the next run
        finds it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.sweep(conn)
        except (sqlite3.Error, OSError) as exc:  # the next run sweeps again
            log.warning("could not sweep OCR results: %s", exc)
        with self._lock:
            for entries in self._waiting.values():
                for entry in entries:
                    entry.future.cancel()
            self._waiting.clear()

    # ---- the polling thread ----

    def _unavailable(self, exc: BaseException) -> BrokerUnavailable:
        return BrokerUnavailable(f"Redis at {self.cfg.broker_url} unreachable: "
                                 f"{type(exc).__name__}: {exc}", self.cfg.retry_seconds)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._poll, name="motcua-remote-ocr",
                                            daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        last_health = time.monotonic()
        while not self._stop.wait(POLL_SECONDS):
            with self._lock:
                entries = [e for group in self._waiting.values() for e in group]
            for entry in entries:
                if self._take(entry):
                    self._forget(entry)
            if time.monotonic() - last_health >= HEALTH_SECONDS and entries:
                last_health = time.monotonic()
                self._check_broker()

    def _forget(self, entry: _Waiting) -> None:
        with self._lock:
            group = self._waiting.get(entry.request["key"], [])
            if entry in group:
                group.remove(entry)
            if not group:
                self._waiting.pop(entry.request["key"], None)

    def _check_broker(self) -> None:
        try:
            run_id = cluster.broker_run_id(self.cfg)
        except Exception as exc:
            fault = self._unavailable(exc)
            log.warning("%s; %d files wait for it", fault.detail, len(self._waiting))
            with self._lock:
                failed = [e for group in self._waiting.values() for e in group]
                self._waiting.clear()
            for entry in failed:
                entry.future.set_exception(fault)
            return
        with self._lock:
            lost = [e for group in self._waiting.values() for e in group
                    if e.sent_to != run_id]
        if lost:
            log.warning("Redis restarted (its queue is gone); sending %d requests again",
                        len(lost))
        for entry in lost:
            try:
                cluster.send(self.cfg, entry.request)
                entry.sent_to = run_id
            except Exception:
                return  # the next check fails them as unavailable
        if time.monotonic() - self._last_ping >= WORKERS_SECONDS:
            self._last_ping = time.monotonic()
            self._warn_if_lonely()

    def _warn_if_lonely(self) -> None:
        health = cluster.health(self.cfg, timeout=0.5)
        if health.workers:
            self._lonely_since = None
            return
        now = time.monotonic()
        if self._lonely_since is None:
            self._lonely_since = now
        elif now - self._lonely_since >= LONELY_SECONDS:
            log.warning("no motcua worker answers; %d files wait in the queue",
                        len(self._waiting), extra={"event": "no_worker"})
            self._lonely_since = now

    def _take(self, entry: _Waiting) -> bool:
        """Resolve the future from the worker's result, if there is one; True if so."""
        key = entry.request["key"]
        data = cluster.read_result(self.ws.root, key)
        if data is None or entry.future.done():
            return entry.future.done()
        pdf, report = cluster.result_paths(self.ws.root, key)
        if "error" in data:
            report.unlink(missing_ok=True)
            entry.future.set_exception(cluster.error_from(data))
            return True
        try:
            digest = store.sha256_file(pdf)
        except FileNotFoundError:
            digest = ""
        if digest != data["archival_sha256"]:
            # Torn or stale: do it again rather than archive what the worker did not write.
            report.unlink(missing_ok=True)
            pdf.unlink(missing_ok=True)
            entry.future.set_exception(TransientError(
                "Kết quả nhận dạng chữ nhận về bị hỏng (sai mã kiểm tra); sẽ làm lại.",
                f"{pdf}: sha256 {digest or 'missing'} != {data['archival_sha256']}"))
            return True
        # A second name for the same file: the result stays in place (a copy of the task
        # run again finds it) until the document is committed and `sweep` removes it.
        entry.output.parent.mkdir(parents=True, exist_ok=True)
        entry.output.unlink(missing_ok=True)
        os.link(pdf, entry.output)
        entry.future.set_result(cluster.outcome_from(data))
        try:
            cluster.withdraw(self.cfg, key)
        except Exception as exc:  # Redis gone: the copies, if any, find the result
            log.debug("could not withdraw %s: %s", key, exc)
        return True


def remote_ocr(ws: Workspace) -> RemoteOcr | None:
    """The remote OCR of this workspace, or None when OCR runs in the local pool."""
    cfg = workers_of(ws.config.extra)
    return RemoteOcr(ws, cfg) if cfg.backend == "celery" else None
