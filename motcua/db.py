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
    claimed_by INTEGER,
    document_id INTEGER REFERENCES documents(id),
    quarantine_path TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX intake_state ON intake(state);
CREATE INDEX intake_source ON intake(source_path);
"""

WAREHOUSE_0001 = """
-- The e-data warehouse (issue 4): owners, dossier details, document metadata, results,
-- reuse, stamped copies, fixity runs and the hash-chained audit log.
CREATE TABLE owners (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('citizen', 'organisation')),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

ALTER TABLE dossiers ADD COLUMN procedure_code TEXT;
ALTER TABLE dossiers ADD COLUMN procedure_name TEXT;
ALTER TABLE dossiers ADD COLUMN field TEXT;
ALTER TABLE dossiers ADD COLUMN channel TEXT;
ALTER TABLE dossiers ADD COLUMN owner_id TEXT REFERENCES owners(id);
ALTER TABLE dossiers ADD COLUMN received_at TEXT;
CREATE INDEX dossiers_owner ON dossiers(owner_id);

-- Minimum metadata of a digitized document (Thông tư 01/2023) and, for a result,
-- its electronic result code <dossier code>-KQ<n>.
CREATE TABLE document_meta (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'component' CHECK (role IN ('component', 'result')),
    type_code TEXT,
    owner_id TEXT REFERENCES owners(id),
    name TEXT,
    number_symbol TEXT,
    issue_date TEXT,
    issuing_body TEXT,
    summary TEXT,
    valid_from TEXT,
    valid_to TEXT,
    validity_scope TEXT,
    result_code TEXT UNIQUE,
    result_no INTEGER,
    updated_at TEXT NOT NULL
);
CREATE INDEX document_meta_owner ON document_meta(owner_id, type_code);

-- A document of the warehouse linked into a (later) dossier without a new scan.
-- status: proposed (automatic reuse in "propose" mode) -> attached.
CREATE TABLE reuses (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    dossier_code TEXT NOT NULL REFERENCES dossiers(code),
    type_code TEXT,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'attached')),
    mode TEXT NOT NULL CHECK (mode IN ('manual', 'auto')),
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attached_at TEXT,
    UNIQUE (document_id, dossier_code)
);
CREATE INDEX reuses_dossier ON reuses(dossier_code);

-- The stamped copy of a document's PDF ("BẢN SỐ HÓA" / "KẾT QUẢ ĐIỆN TỬ").
CREATE TABLE stamps (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    stamped_path TEXT NOT NULL,
    stamped_sha256 TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    operator TEXT NOT NULL,
    stamped_at TEXT NOT NULL
);

CREATE TABLE fixity_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    sample_percent REAL NOT NULL,
    files_checked INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0,
    corrupt INTEGER NOT NULL DEFAULT 0,
    orphaned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE fixity_problems (
    run_id INTEGER NOT NULL REFERENCES fixity_runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('missing', 'corrupt', 'orphaned')),
    path TEXT NOT NULL,
    document_id INTEGER,
    expected_sha256 TEXT,
    actual_sha256 TEXT
);

-- Append-only: each entry's hash = sha256(previous hash + canonical JSON of the entry).
-- audit_head keeps the last hash so that removing the last entries is detected too.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    actor TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
"""

# Number register of issued documents (issue 5): one row per number taken.
TEMPLATES_0001 = """
CREATE TABLE number_register (
    id INTEGER PRIMARY KEY,
    issuing_body TEXT NOT NULL,
    year INTEGER NOT NULL,
    series TEXT NOT NULL,
    number INTEGER NOT NULL,
    type_code TEXT NOT NULL,
    symbol TEXT NOT NULL,
    document TEXT NOT NULL DEFAULT '',
    taken_at TEXT NOT NULL,
    UNIQUE (issuing_body, year, series, number)
);
CREATE INDEX number_register_year ON number_register(issuing_body, year);
"""

# Dossier lifecycle (issue 6): due and resolution dates, apology letters (form 04).
# Dates are local (the centre's wall clock) YYYY-MM-DD so reports compare plain strings.
LIFECYCLE_0001 = """
ALTER TABLE dossiers ADD COLUMN received_on TEXT;
ALTER TABLE dossiers ADD COLUMN processing_days INTEGER;
ALTER TABLE dossiers ADD COLUMN due_date TEXT;
ALTER TABLE dossiers ADD COLUMN resolved_at TEXT;
ALTER TABLE dossiers ADD COLUMN resolved_on TEXT;
UPDATE dossiers SET received_on = substr(received_at, 1, 10) WHERE received_at IS NOT NULL;
CREATE INDEX dossiers_received_on ON dossiers(received_on);
CREATE INDEX dossiers_pending_due ON dossiers(due_date) WHERE resolved_at IS NULL;

-- One apology letter (form 04) per late dossier, never produced twice.
CREATE TABLE apologies (
    dossier_code TEXT PRIMARY KEY REFERENCES dossiers(code),
    original_due TEXT NOT NULL,
    new_due TEXT NOT NULL,
    reason TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    docx_path TEXT,
    pdf_path TEXT,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX apologies_issued ON apologies(issued_on);
"""

# Documents the centre issued from its templates, archived so that staff can search them.
TEMPLATES_0002 = """
CREATE TABLE issued_documents (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id),
    kind TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
"""

# Who holds a 'processing' row: boot id and start time of `claimed_by`, so that a new
# process that got a dead one's PID after a reboot does not look like its owner.
INGEST_0002 = """
ALTER TABLE intake ADD COLUMN claim_token TEXT;
"""
# dossiers.received_at / resolved_at held the centre's local time with its offset; like
# every *_at column they now hold UTC (the local day stays in received_on / resolved_on).
# SQLite's strftime reads the offset and gives UTC; a value it cannot read is left as is.
DOSSIER_TIMES_UTC_0001 = """
UPDATE dossiers SET received_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', received_at)
 WHERE (received_at GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR received_at GLOB '*Z')
   AND strftime('%Y-%m-%dT%H:%M:%S+00:00', received_at) IS NOT NULL;
UPDATE dossiers SET resolved_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', resolved_at)
 WHERE (resolved_at GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR resolved_at GLOB '*Z')
   AND strftime('%Y-%m-%dT%H:%M:%S+00:00', resolved_at) IS NOT NULL;
"""

# Staff accounts (issue 10): users and their roles, the web's server-side sessions (only
# the SHA-256 of the cookie token is kept), login attempts for throttling. Accounts are
# disabled, never deleted, so the audit log's names keep pointing at a row.
ACCOUNTS_0001 = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    password_hash TEXT,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    last_login_at TEXT
);
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('tiep_nhan', 'chuyen_vien', 'lanh_dao', 'quan_tri')),
    PRIMARY KEY (user_id, role)
);
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    client TEXT
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL,
    client TEXT NOT NULL,
    at TEXT NOT NULL,
    ok INTEGER NOT NULL CHECK (ok IN (0, 1))
);
CREATE INDEX login_attempts_login ON login_attempts(login, at);
CREATE INDEX login_attempts_client ON login_attempts(client, at);
-- The web skips a repeated view of one file by one officer within minutes (a PDF
-- viewer's byte ranges): looked up by subject.
CREATE INDEX audit_log_subject ON audit_log(subject, seq);
"""

# Hostile input (issue 9): a file name that is not UTF-8 keeps its bytes beside the
# escaped text, so the row still leads back to the file; the OCR worker's peak memory
# (its own ru_maxrss, KiB) and the wall time of each file, for the operator and the tests.
INTAKE_HOSTILE_0001 = """
ALTER TABLE intake ADD COLUMN source_bytes BLOB;
ALTER TABLE intake ADD COLUMN worker_peak_kb INTEGER;
ALTER TABLE intake ADD COLUMN seconds REAL;
"""

# The applicant's address and phone, printed on the one-stop forms (form 01 and after).
OWNERS_CONTACT_0001 = """
ALTER TABLE owners ADD COLUMN address TEXT;
ALTER TABLE owners ADD COLUMN phone TEXT;
"""


API_TOKENS_0001 = """
-- Tokens of other systems calling /api/v1 (issue 16). Only the SHA-256 of a token is
-- kept; `prefix` (its first characters) lets an administrator tell tokens apart.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    allow_ips TEXT NOT NULL DEFAULT '',
    rate_per_minute INTEGER NOT NULL CHECK (rate_per_minute > 0),
    expires_at TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    last_used_at TEXT
);
"""

# Notes officers write on a dossier (the counter's dossier page): who, when, what.
DOSSIER_NOTES_0001 = """
CREATE TABLE dossier_notes (
    id INTEGER PRIMARY KEY,
    dossier_code TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX dossier_notes_code ON dossier_notes (dossier_code, id);
"""

# A dossier cancelled at the counter (with the reason): no longer pending nor overdue.
DOSSIER_CANCEL_0001 = """
ALTER TABLE dossiers ADD COLUMN cancelled_at TEXT;
ALTER TABLE dossiers ADD COLUMN cancel_reason TEXT;
"""

# Why an archived document is in no dossier although something named one: a folder or a
# text naming a dossier code never issued, a folder whose name is no dossier code. The
# counter sees the reason (labels.UNFILED_REASONS) and files the document by hand.
UNFILED_REASON_0001 = """
ALTER TABLE documents ADD COLUMN unfiled_reason TEXT;
ALTER TABLE documents ADD COLUMN unfiled_hint TEXT;
"""

# Citizens rate the handling of a dossier (issue 17, Điều 31 NĐ 118/2025): at the counter's
# kiosk (a device paired by a quản trị, holding a token whose SHA-256 only is kept) or
# through a one-use link printed on form 01. One rating per dossier; nothing about the
# citizen is stored with it. `rating_prompts` is what a kiosk shows now: the dossier
# just handled by the officer whose counter it faces (`counter_kiosks`).
RATINGS_0001 = """
CREATE TABLE rating_devices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    paired_at TEXT,
    revoked_at TEXT,
    last_seen_at TEXT
);
CREATE TABLE counter_kiosks (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    device_id INTEGER NOT NULL REFERENCES rating_devices(id),
    chosen_at TEXT NOT NULL
);
CREATE TABLE rating_prompts (
    device_id INTEGER PRIMARY KEY REFERENCES rating_devices(id),
    dossier_code TEXT NOT NULL REFERENCES dossiers(code),
    event TEXT NOT NULL CHECK (event IN ('receive', 'return')),
    shown_at TEXT NOT NULL,
    until TEXT NOT NULL
);
CREATE TABLE rating_links (
    dossier_code TEXT PRIMARY KEY REFERENCES dossiers(code),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    dossier_code TEXT NOT NULL UNIQUE REFERENCES dossiers(code),
    level TEXT NOT NULL CHECK (level IN ('very_satisfied', 'satisfied', 'dissatisfied')),
    criteria TEXT NOT NULL DEFAULT '{}',
    comment TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL CHECK (channel IN ('kiosk', 'link')),
    rated_at TEXT NOT NULL,
    rated_on TEXT NOT NULL,
    received_by TEXT,
    returned_by TEXT
);
CREATE INDEX ratings_rated_on ON ratings(rated_on);
"""

BATCH_SPLIT_0001 = """
-- A scanned file whose pages held QR separators (cover sheets, form 01 receipts): its
-- original is kept byte for byte in the store; each part between separators is archived
-- as a document of its own (see motcua/ingest/split.py).
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    original_path TEXT NOT NULL,
    size INTEGER NOT NULL,
    page_count INTEGER NOT NULL,
    intake_id INTEGER REFERENCES intake(id),
    qr_seconds REAL,
    split_at TEXT NOT NULL
);

-- Pages first_page..last_page (1-based, inclusive) of a batch, queued as their own
-- intake row. cover_page: the separator page left out of the part (NULL for the pages
-- before the first one). dossier_code only when the QR named a dossier that exists;
-- otherwise reason (a key of labels.UNFILED_REASONS, copied to the part's document)
-- says why the part is not filed.
CREATE TABLE batch_parts (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    part_no INTEGER NOT NULL,
    first_page INTEGER NOT NULL,
    last_page INTEGER NOT NULL,
    cover_page INTEGER,
    qr_text TEXT,
    dossier_code TEXT REFERENCES dossiers(code),
    reason TEXT CHECK (reason IN ('qr_before_first_cover', 'qr_unknown_code', 'qr_unreadable',
                                  'qr_ambiguous')),
    sha256 TEXT NOT NULL,
    original_path TEXT NOT NULL,
    intake_id INTEGER NOT NULL REFERENCES intake(id),
    PRIMARY KEY (batch_id, part_no),
    CHECK ((dossier_code IS NULL) != (reason IS NULL))
);
CREATE INDEX batch_parts_intake ON batch_parts(intake_id);
"""

INDEX_PENDING_0001 = """
-- Documents whose search-index entry is out of date (a metadata change, an owner link, a
-- reuse ...): searches read their current entries from the database until the next index
-- commit folds them in (motcua/archive/indexing.py). seq grows with every change, so a
-- commit forgets only the changes it read; a document changed again stays pending.
CREATE TABLE index_pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL UNIQUE REFERENCES documents(id) ON DELETE CASCADE,
    queued_at TEXT NOT NULL
);
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("core_0001", CORE_0001),
    ("warehouse_0001", WAREHOUSE_0001),
    ("templates_0001", TEMPLATES_0001),
    ("lifecycle_0001", LIFECYCLE_0001),
    ("templates_0002", TEMPLATES_0002),
    ("ingest_0002", INGEST_0002),
    ("dossier_times_utc_0001", DOSSIER_TIMES_UTC_0001),
    ("accounts_0001", ACCOUNTS_0001),
    ("intake_hostile_0001", INTAKE_HOSTILE_0001),
    ("owners_contact_0001", OWNERS_CONTACT_0001),
    ("api_tokens_0001", API_TOKENS_0001),
    ("dossier_notes_0001", DOSSIER_NOTES_0001),
    ("dossier_cancel_0001", DOSSIER_CANCEL_0001),
    ("unfiled_reason_0001", UNFILED_REASON_0001),
    ("ratings_0001", RATINGS_0001),
    ("batch_split_0001", BATCH_SPLIT_0001),
    ("index_pending_0001", INDEX_PENDING_0001),
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


def schema_sql(conn: sqlite3.Connection) -> str:
    """The schema as SQL, tables first, then indexes and triggers, each by name: what
    `docs/schema.sql` holds, so the schema is readable without replaying migrations."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 0"
        " WHEN 'index' THEN 1 WHEN 'trigger' THEN 2 ELSE 3 END, tbl_name, name").fetchall()
    head = ["-- The motcua database schema, generated from a fresh database by",
            "-- scripts/write_schema.py; do not edit by hand (tests/test_layers.py checks it).",
            "-- Migrations applied: " + ", ".join(name for name, _sql in MIGRATIONS), ""]
    return "\n".join(head + [f"{row['sql'].strip()};\n" for row in rows])
