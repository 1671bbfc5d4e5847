"""OCR machines: `motcua worker` serves a workspace's Celery queue.

A worker machine mounts the coordinator's workspace (the shared store and its
motcua.toml) and never opens the database: it reads originals and writes OCR results
through the store, and the coordinator commits them. So this service takes the
workspace, not a Context (which holds a database connection), and checks no role: a
worker acts for no officer and changes no record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from motcua.services import Result
from motcua.workspace import Workspace, usable_cores


@dataclass(frozen=True)
class WorkerSettings(Result):
    broker_url: str
    concurrency: int
    workspace: str


def run_worker(ws: Workspace, *, concurrency: int | None = None, verbose: bool = False,
               started: Callable[[WorkerSettings], None] | None = None) -> WorkerSettings:
    """Take OCR tasks from the queue until SIGTERM / Ctrl+C (then finish the ones in hand).
    `concurrency` defaults to the cores this process may use."""
    from motcua.ingest.cluster import run_worker as start
    from motcua.ingest.workers import workers_of

    cfg = workers_of(ws.config.extra)
    settings = WorkerSettings(cfg.broker_url, concurrency or usable_cores(), str(ws.root))
    if started is not None:
        started(settings)
    # One line per task in the journal; -v adds the libraries' chatter (OCRmyPDF…).
    start(ws, settings.concurrency, loglevel="DEBUG" if verbose else "INFO")
    return settings
