"""`motcua status`: what the intake queue holds, read from the database only.

Everything here is a read of the `intake`, `documents` and `pages` tables (WAL lets it
run while the watcher writes), plus a look at the watcher's lock file to tell whether a
watcher holds the workspace.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from motcua.ingest.names import visible
from motcua.ingest.split import unfiled_parts
from motcua.ingest.workers import workers_of
from motcua.workspace import Workspace

LOCK_NAME = "motcua-watch.lock"
STATES = ("pending", "processing", "retry", "done", "duplicate", "quarantined", "refused",
          "vanished")
WAITING = ("pending", "processing", "retry")


def lock_path(ws: Workspace) -> Path:
    return ws.root / LOCK_NAME


def watcher_pid(ws: Workspace) -> int | None:
    """PID of the watcher holding the workspace lock, or None if no watcher runs."""
    path = lock_path(ws)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise
            text = path.read_text(encoding="ascii", errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _age_seconds(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    return max(0.0, (now - datetime.fromisoformat(stamp)).total_seconds())


def collect(ws: Workspace, conn: sqlite3.Connection, *, recent: int = 10) -> dict[str, Any]:
    """The queue summary as plain data (what `--json` prints)."""
    now = datetime.now(UTC)
    hour_ago = (now - timedelta(hours=1)).isoformat(timespec="seconds")
    counts = dict.fromkeys(STATES, 0)
    for state, n in conn.execute("SELECT state, COUNT(*) FROM intake GROUP BY state"):
        counts[state] = n

    last_hour: dict[str, int] = dict.fromkeys(("done", "duplicate", "quarantined", "refused"), 0)
    for state, n in conn.execute(
            "SELECT state, COUNT(*) FROM intake WHERE updated_at >= ? GROUP BY state",
            (hour_ago,)):
        if state in last_hour:
            last_hour[state] = n
    pages_last_hour = conn.execute(
        "SELECT COALESCE(SUM(d.page_count), 0) FROM intake i JOIN documents d"
        " ON d.id = i.document_id WHERE i.state = 'done' AND i.updated_at >= ?",
        (hour_ago,)).fetchone()[0]

    oldest_row = conn.execute(
        "SELECT * FROM intake WHERE state IN ('pending', 'processing', 'retry')"
        " ORDER BY created_at, id LIMIT 1").fetchone()
    oldest = None
    if oldest_row is not None:
        oldest = {
            "intake_id": oldest_row["id"],
            "path": visible(oldest_row["source_path"]),
            "state": oldest_row["state"],
            "since": oldest_row["created_at"],
            "age_seconds": _age_seconds(oldest_row["created_at"], now),
            "attempts": oldest_row["attempts"],
            "last_error": oldest_row["last_error"],
            "next_attempt_at": oldest_row["next_attempt_at"],
        }

    retries = [
        {"intake_id": r["id"], "path": visible(r["source_path"]), "attempts": r["attempts"],
         "next_attempt_at": r["next_attempt_at"], "last_error": r["last_error"],
         "message": r["reason_vi"]}
        for r in conn.execute(
            "SELECT * FROM intake WHERE state = 'retry' ORDER BY next_attempt_at LIMIT ?",
            (recent,))
    ]

    rescan_docs: list[dict[str, Any]] = []
    flagged_pages = 0
    for doc in conn.execute(
            "SELECT d.id, d.original_name, d.dossier_code, GROUP_CONCAT(p.page_no) AS pages,"
            " COUNT(*) AS n FROM pages p JOIN documents d ON d.id = p.document_id"
            " WHERE p.needs_rescan = 1 GROUP BY d.id ORDER BY d.id DESC"):
        flagged_pages += doc["n"]
        pages = sorted(int(p) for p in str(doc["pages"]).split(","))
        rescan_docs.append({"document_id": doc["id"], "original_name": doc["original_name"],
                            "dossier_code": doc["dossier_code"], "pages": pages})

    quarantines = [
        {"intake_id": r["id"], "name": r["original_name"], "at": r["updated_at"],
         "reason": r["reason_vi"], "detail": r["last_error"],
         "quarantine_path": r["quarantine_path"]}
        for r in conn.execute(
            "SELECT * FROM intake WHERE state = 'quarantined' ORDER BY updated_at DESC, id DESC"
            " LIMIT ?", (recent,))
    ]
    refused = [
        {"intake_id": r["id"], "path": visible(r["source_path"]), "at": r["updated_at"],
         "reason": r["reason_vi"]}
        for r in conn.execute(
            "SELECT * FROM intake WHERE state = 'refused' ORDER BY updated_at DESC, id DESC"
            " LIMIT ?", (recent,))
    ]

    parts_total, parts = unfiled_parts(conn, recent)
    pid = watcher_pid(ws)
    return {
        "workspace": str(ws.root),
        "inbox": str(ws.inbox),
        "generated_at": now.isoformat(timespec="seconds"),
        "watcher": {"running": pid is not None, "pid": pid},
        "queue": counts,
        "waiting": sum(counts[s] for s in WAITING),
        "last_hour": {
            "archived": last_hour["done"],
            "duplicates": last_hour["duplicate"],
            "quarantined": last_hour["quarantined"],
            "refused": last_hour["refused"],
            "pages": int(pages_last_hour),
            "files_per_hour": last_hour["done"] + last_hour["duplicate"],
        },
        "oldest_waiting": oldest,
        "retries": retries,
        "needs_rescan": {"documents": len(rescan_docs), "pages": flagged_pages,
                         "items": rescan_docs[:recent * 2]},
        "recent_quarantines": quarantines,
        "recent_refused": refused,
        "unfiled_parts": {"count": parts_total, "items": parts},
        "workers": workers_status(ws),
    }


def workers_status(ws: Workspace) -> dict[str, Any]:
    """Where OCR runs and, with Celery, whether Redis and any worker answer now: the
    reason files wait when they do."""
    cfg = workers_of(ws.config.extra)
    if cfg.backend != "celery":
        return {"backend": "local", "broker_ok": None, "workers": [], "message": ""}
    from motcua.ingest.cluster import health

    got = health(cfg)
    if not got.broker_ok:
        message = (f"Không kết nối được máy chủ hàng đợi Redis ({cfg.broker_url}): tệp chờ ở "
                   "trạng thái “thử lại” và được gửi đi khi Redis hoạt động trở lại; không tệp "
                   "nào bị mất hay bị cách ly.")
    elif not got.workers:
        message = ("Không có máy nhận dạng chữ (motcua worker) nào đang chạy: tệp chờ trong "
                   "hàng đợi cho đến khi có máy nhận. Hãy chạy “motcua worker” trên máy nhận "
                   "dạng chữ.")
    else:
        message = f"{len(got.workers)} máy nhận dạng chữ (motcua worker) đang chạy."
    return {"backend": "celery", "broker_url": cfg.broker_url, "broker_ok": got.broker_ok,
            "workers": list(got.workers), "message": message, "error": got.error}
