"""Rows of archived documents: what is stored where, page texts, identifiers, dossier.

A document moves stored -> archived -> indexed; each move is one transaction
committed only after the files it names are durably in the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from motcua import db
from motcua.archive.extract import Identifier


@dataclass(frozen=True)
class PageRecord:
    page_no: int
    text: str
    confidence: float | None
    ocr_done: bool
    needs_rescan: bool


def by_sha256(conn: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM documents WHERE sha256 = ?", (sha256,)
    ).fetchone()
    return row


def by_id(conn: sqlite3.Connection, document_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM documents WHERE id = ?", (document_id,)
    ).fetchone()
    return row


def ensure_dossier(conn: sqlite3.Connection, code: str) -> None:
    """A bare dossier row for `code` (imports of other systems' dossiers, tests). Intake
    never calls this: a code that the counter did not issue files nothing."""
    conn.execute(
        "INSERT INTO dossiers (code, created_at) VALUES (?, ?) ON CONFLICT(code) DO NOTHING",
        (code, db.now()),
    )


def insert_stored(
    conn: sqlite3.Connection,
    *,
    sha256: str,
    original_name: str,
    media_type: str,
    size: int,
    original_path: str,
) -> int:
    """Record an original that is durably in the store. Caller holds a transaction."""
    stamp = db.now()
    cur = conn.execute(
        "INSERT INTO documents (sha256, original_name, media_type, size, original_path, state,"
        " ingested_at, updated_at) VALUES (?, ?, ?, ?, ?, 'stored', ?, ?)",
        (sha256, original_name, media_type, size, original_path, stamp, stamp),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def mark_archived(
    conn: sqlite3.Connection,
    document_id: int,
    *,
    archival_path: str,
    archival_sha256: str,
    pages: Sequence[PageRecord],
    identifiers: Sequence[Identifier],
    dossier_code: str | None,
    dossier_source: str | None,
    ocr_seconds: float,
    unfiled_reason: str | None = None,
    unfiled_hint: str | None = None,
) -> None:
    """Record the archival PDF/A and its text. Caller holds a transaction.

    `dossier_code` must name an issued dossier (see `dossier_exists`); otherwise pass
    None and say why in `unfiled_reason` (a key of labels.UNFILED_REASONS)."""
    conn.execute(
        "UPDATE documents SET archival_path = ?, archival_sha256 = ?, page_count = ?,"
        " dossier_code = COALESCE(dossier_code, ?),"
        " dossier_source = COALESCE(dossier_source, ?),"
        " unfiled_reason = CASE WHEN COALESCE(dossier_code, ?) IS NULL THEN ? END,"
        " unfiled_hint = CASE WHEN COALESCE(dossier_code, ?) IS NULL THEN ? END,"
        " ocr_seconds = ?, state = 'archived', updated_at = ? WHERE id = ?",
        (archival_path, archival_sha256, len(pages), dossier_code,
         dossier_source if dossier_code else None, dossier_code, unfiled_reason,
         dossier_code, unfiled_hint, ocr_seconds, db.now(), document_id),
    )
    conn.execute("DELETE FROM pages WHERE document_id = ?", (document_id,))
    conn.executemany(
        "INSERT INTO pages (document_id, page_no, text, confidence, ocr_done, needs_rescan)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(document_id, p.page_no, p.text, p.confidence, int(p.ocr_done), int(p.needs_rescan))
         for p in pages],
    )
    conn.execute("DELETE FROM identifiers WHERE document_id = ?", (document_id,))
    conn.executemany(
        "INSERT INTO identifiers (document_id, kind, value, page_no) VALUES (?, ?, ?, ?)",
        [(document_id, i.kind, i.value, i.page_no) for i in identifiers],
    )


def mark_indexed(conn: sqlite3.Connection, document_id: int) -> None:
    conn.execute(
        "UPDATE documents SET state = 'indexed', updated_at = ? WHERE id = ?",
        (db.now(), document_id),
    )


def dossier_exists(conn: sqlite3.Connection, code: str) -> bool:
    return conn.execute("SELECT 1 FROM dossiers WHERE code = ?", (code,)).fetchone() is not None


def assign_dossier(conn: sqlite3.Connection, document_id: int, code: str, source: str) -> None:
    """File a document under an issued dossier (the caller checked `dossier_exists`)."""
    conn.execute(
        "UPDATE documents SET dossier_code = ?, dossier_source = ?, unfiled_reason = NULL,"
        " unfiled_hint = NULL, updated_at = ? WHERE id = ?",
        (code, source, db.now(), document_id),
    )


def pages_of(conn: sqlite3.Connection, document_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM pages WHERE document_id = ? ORDER BY page_no", (document_id,)
    ).fetchall()


def identifiers_of(conn: sqlite3.Connection, document_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM identifiers WHERE document_id = ? ORDER BY page_no, kind, value",
        (document_id,),
    ).fetchall()


def forget(conn: sqlite3.Connection, document_id: int) -> None:
    """Drop a document whose content turned out unusable (it went to quarantine)."""
    conn.execute("UPDATE intake SET document_id = NULL WHERE document_id = ?", (document_id,))
    conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
