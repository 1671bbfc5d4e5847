"""Intake: scans in (once, or by watching the inbox), and the state of the queue.

The acting officer is who the audit log names for each ingest and whose name the stamp
prints as "Người số hóa"; for the watcher that is the account it runs under (a service
account, or the OS account).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from motcua import labels
from motcua.errors import MotcuaError
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
