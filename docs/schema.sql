-- The motcua database schema, generated from a fresh database by
-- scripts/write_schema.py; do not edit by hand (tests/test_layers.py checks it).
-- Migrations applied: core_0001, warehouse_0001, templates_0001, lifecycle_0001, templates_0002, ingest_0002, dossier_times_utc_0001, accounts_0001, intake_hostile_0001, owners_contact_0001, api_tokens_0001, dossier_notes_0001, dossier_cancel_0001, unfiled_reason_0001, ratings_0001, batch_split_0001, index_pending_0001

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

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);

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

CREATE TABLE counter_kiosks (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    device_id INTEGER NOT NULL REFERENCES rating_devices(id),
    chosen_at TEXT NOT NULL
);

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
, unfiled_reason TEXT, unfiled_hint TEXT);

CREATE TABLE dossier_notes (
    id INTEGER PRIMARY KEY,
    dossier_code TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE dossiers (
    code TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
, procedure_code TEXT, procedure_name TEXT, field TEXT, channel TEXT, owner_id TEXT REFERENCES owners(id), received_at TEXT, received_on TEXT, processing_days INTEGER, due_date TEXT, resolved_at TEXT, resolved_on TEXT, cancelled_at TEXT, cancel_reason TEXT);

CREATE TABLE fixity_problems (
    run_id INTEGER NOT NULL REFERENCES fixity_runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('missing', 'corrupt', 'orphaned')),
    path TEXT NOT NULL,
    document_id INTEGER,
    expected_sha256 TEXT,
    actual_sha256 TEXT
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

CREATE TABLE identifiers (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('citizen_id', 'tax_code', 'dossier_code')),
    value TEXT NOT NULL,
    page_no INTEGER NOT NULL,
    PRIMARY KEY (document_id, kind, value)
);

CREATE TABLE index_pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL UNIQUE REFERENCES documents(id) ON DELETE CASCADE,
    queued_at TEXT NOT NULL
);

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
, claim_token TEXT, source_bytes BLOB, worker_peak_kb INTEGER, seconds REAL);

CREATE TABLE issued_documents (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id),
    kind TEXT NOT NULL,
    issued_at TEXT NOT NULL
);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL,
    client TEXT NOT NULL,
    at TEXT NOT NULL,
    ok INTEGER NOT NULL CHECK (ok IN (0, 1))
);

CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);

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

CREATE TABLE owners (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('citizen', 'organisation')),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
, address TEXT, phone TEXT);

CREATE TABLE pages (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page_no INTEGER NOT NULL,
    text TEXT NOT NULL,
    confidence REAL,
    ocr_done INTEGER NOT NULL,
    needs_rescan INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (document_id, page_no)
);

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

CREATE TABLE rating_links (
    dossier_code TEXT PRIMARY KEY REFERENCES dossiers(code),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE rating_prompts (
    device_id INTEGER PRIMARY KEY REFERENCES rating_devices(id),
    dossier_code TEXT NOT NULL REFERENCES dossiers(code),
    event TEXT NOT NULL CHECK (event IN ('receive', 'return')),
    shown_at TEXT NOT NULL,
    until TEXT NOT NULL
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

CREATE TABLE stamps (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    stamped_path TEXT NOT NULL,
    stamped_sha256 TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    operator TEXT NOT NULL,
    stamped_at TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('tiep_nhan', 'chuyen_vien', 'lanh_dao', 'quan_tri')),
    PRIMARY KEY (user_id, role)
);

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

CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    client TEXT
);

CREATE INDEX apologies_issued ON apologies(issued_on);

CREATE INDEX audit_log_subject ON audit_log(subject, seq);

CREATE INDEX batch_parts_intake ON batch_parts(intake_id);

CREATE INDEX document_meta_owner ON document_meta(owner_id, type_code);

CREATE INDEX documents_dossier ON documents(dossier_code);

CREATE INDEX documents_state ON documents(state);

CREATE INDEX dossier_notes_code ON dossier_notes (dossier_code, id);

CREATE INDEX dossiers_owner ON dossiers(owner_id);

CREATE INDEX dossiers_pending_due ON dossiers(due_date) WHERE resolved_at IS NULL;

CREATE INDEX dossiers_received_on ON dossiers(received_on);

CREATE INDEX identifiers_value ON identifiers(value);

CREATE INDEX intake_source ON intake(source_path);

CREATE INDEX intake_state ON intake(state);

CREATE INDEX login_attempts_client ON login_attempts(client, at);

CREATE INDEX login_attempts_login ON login_attempts(login, at);

CREATE INDEX number_register_year ON number_register(issuing_body, year);

CREATE INDEX ratings_rated_on ON ratings(rated_on);

CREATE INDEX reuses_dossier ON reuses(dossier_code);

CREATE INDEX web_sessions_user ON web_sessions(user_id);

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
