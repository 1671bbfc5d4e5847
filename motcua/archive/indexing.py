"""Feeding the search index from the archive. The index is derived data: it can always
be rebuilt from the database with `rebuild`."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import date

from motcua import db
from motcua.index import PageDoc, SearchEngine
from motcua.workspace import Workspace

log = logging.getLogger(__name__)


def page_docs(conn: sqlite3.Connection, document_id: int) -> list[PageDoc]:
    doc = conn.execute(
        "SELECT id, original_name, dossier_code, ingested_at FROM documents WHERE id = ?",
        (document_id,),
    ).fetchone()
    if doc is None:
        return []
    owners = tuple(
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT value FROM identifiers WHERE document_id = ?"
            " AND kind IN ('citizen_id', 'tax_code') ORDER BY value",
            (document_id,),
        )
    )
    when = date.fromisoformat(doc["ingested_at"][:10])
    return [
        PageDoc(
            document_id=document_id,
            page_no=row["page_no"],
            text=row["text"],
            original_name=doc["original_name"],
            date=when,
            dossier_code=doc["dossier_code"],
            owner_ids=owners,
        )
        for row in conn.execute(
            "SELECT page_no, text FROM pages WHERE document_id = ? ORDER BY page_no",
            (document_id,),
        )
    ]


def index_document(conn: sqlite3.Connection, engine: SearchEngine, document_id: int) -> None:
    """Replace the document's pages in the index (idempotent) and commit the index."""
    engine.replace_document(document_id, page_docs(conn, document_id))
    engine.commit()


def rebuild(
    conn: sqlite3.Connection,
    engine: SearchEngine,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 500,
) -> int:
    """Clear the index and add every archived document again. Returns pages indexed."""
    ids = [row[0] for row in conn.execute(
        "SELECT id FROM documents WHERE state IN ('archived', 'indexed') ORDER BY id")]
    engine.clear()
    pages = 0
    for n, document_id in enumerate(ids, start=1):
        docs = page_docs(conn, document_id)
        engine.replace_document(document_id, docs)
        pages += len(docs)
        if n % batch == 0:
            engine.commit()
        if progress:
            progress(n, len(ids))
    engine.commit()
    return pages


def index_documents(ws: Workspace, conn: sqlite3.Connection, ids: list[int]) -> int:
    """Index these documents now and mark them 'indexed' (imports, results, issued
    documents). If the index is busy they stay 'archived' and `motcua reindex` picks them
    up: the index is derived data, never a reason to fail the step that stored them."""
    try:
        from motcua.archive.records import mark_indexed
        from motcua.index import open_engine

        engine = open_engine(ws.index_dir, ws.config.index.engine)
    except Exception as exc:  # the index is derived data: never fail an import for it
        log.warning("imported documents not indexed: %s", exc)
        return 0
    done = 0
    try:
        for doc_id in ids:
            index_document(conn, engine, doc_id)
            with db.transaction(conn):
                mark_indexed(conn, doc_id)
            done += 1
    except Exception as exc:
        log.warning("indexing imported documents stopped: %s", exc)
    finally:
        close = getattr(engine, "close", None)
        if callable(close):
            close()
    return done
