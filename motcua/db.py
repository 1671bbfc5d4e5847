"""The SQLite database: one file per workspace, the single source of truth.

Every state a file can be in is a row here. Schema changes are named
migrations, applied once each, in list order; a feature appends its own
(named `<feature>_NNNN`) to MIGRATIONS and never edits an applied one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

CORE_0001 = """
CREATE TABLE dossiers (
    code TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

-- One row per archived unique content (keyed by the SHA-256 of the original bytes).
-- state: stored (original in the store) -> archived (PDF/A in the store, text in pages)
--        -> indexed (in the search index).
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    original_path TEXT NOT NULL,
    archival_path TEXT,
    archival_sha256 TEXT,
    page_count INTEGER,
    dossier_code TEXT REFERENCES dossiers(code),
    dossier_source TEXT CHECK (dossier_source IN ('folder', 'text', 'manual', 'import')),
    state TEXT NOT NULL CHECK (state IN ('stored', 'archived', 'indexed')),
    ocr_seconds REAL,
    ingested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX documents_dossier ON documents(dossier_code);
CREATE INDEX documents_state ON documents(state);

CREATE TABLE pages (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page_no INTEGER NOT NULL,
    text TEXT NOT NULL,
    confidence REAL,
    ocr_done INTEGER NOT NULL,
    needs_rescan INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (document_id, page_no)
);

-- Candidate identifiers found in a document's text.
CREATE TABLE identifiers (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('citizen_id', 'tax_code', 'dossier_code')),
    value TEXT NOT NULL,
    page_no INTEGER NOT NULL,
    PRIMARY KEY (document_id, kind, value)
);
CREATE INDEX identifiers_value ON identifiers(value);

-- One row per file seen in the inbox (or given to `motcua ingest`): the intake queue.
-- pending -> processing -> done | duplicate | quarantined | refused | vanished;
-- retry (transient failure, back-off until next_attempt_at) -> processing ...
CREATE TABLE intake (
    id INTEGER PRIMARY KEY,
    source_path TEXT NOT NULL,
    original_name TEXT NOT NULL,
    dossier_hint TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'processing', 'retry', 'done', 'duplicate',
                                         'quarantined', 'refused', 'vanished')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    reason_vi TEXT,
    next_attempt_at TEXT,
    document_id INTEGER REFERENCES documents(id),
    quarantine_path TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX intake_state ON intake(state);
CREATE INDEX intake_source ON intake(source_path);
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("core_0001", CORE_0001),
]


def now() -> str:
    """UTC timestamp as ISO 8601 with seconds, the one format of every *_at column."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite3.Connection:
    """Open the workspace database, apply pending migrations, return the connection.

    WAL lets readers (status, search, the web page) run while the watcher writes;
    synchronous=FULL makes every commit durable across a power cut.
    """
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    pending = [(name, sql) for name, sql in MIGRATIONS if name not in applied]
    if not pending:
        return
    with transaction(conn):
        # Re-read inside the write lock: another process may have migrated meanwhile.
        applied = {row[0] for row in conn.execute("SELECT name FROM migrations")}
        for name, sql in pending:
            if name in applied:
                continue
            for statement in _split_sql(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, now()))


def _split_sql(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split on complete statements instead.
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT: take the write lock up front so two processes never
    interleave a read-then-write (number registers, per-day dossier sequences)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
