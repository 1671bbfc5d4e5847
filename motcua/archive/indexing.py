"""Feeding the search index from the archive: each document with its page text and its
fields from the warehouse. The index is derived data: `rebuild` makes it again from the
database, and `refresh_documents` brings the entries of changed documents up to date in
the same operation that changed them (metadata, an owner link, an assignment, a reuse,
an owner's corrected name).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date

from motcua import db
from motcua.index import DocEntry, OwnerRef, SearchEngine
from motcua.workspace import Workspace

log = logging.getLogger(__name__)

INDEXABLE = ('archived', 'indexed')
_CHUNK = 500  # documents per batch of SQL reads (and per index commit in `rebuild`)


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


def doc_entries(conn: sqlite3.Connection, ids: Sequence[int],
                type_names: Mapping[str, str] | None = None) -> list[DocEntry]:
    """The index entries of these documents (missing ids are skipped), a few queries per
    batch rather than per document, so that `rebuild` reads 100,000 documents quickly."""
    out: list[DocEntry] = []
    for start in range(0, len(ids), _CHUNK):
        out.extend(_entries(conn, list(ids[start:start + _CHUNK]), type_names or {}))
    return out


def _entries(conn: sqlite3.Connection, ids: list[int],
             type_names: Mapping[str, str]) -> Iterator[DocEntry]:
    marks = _marks(ids)
    docs = conn.execute(
        "SELECT d.id, d.original_name, d.dossier_code, d.ingested_at, m.role, m.type_code,"
        " m.owner_id, m.name, m.number_symbol, m.issue_date, m.issuing_body, m.summary,"
        " m.valid_from, m.valid_to, m.validity_scope, m.result_code"
        " FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id"
        f" WHERE d.id IN ({marks}) ORDER BY d.id", ids).fetchall()
    if not docs:
        return
    pages: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for row in conn.execute(f"SELECT document_id, page_no, text FROM pages"
                            f" WHERE document_id IN ({marks}) ORDER BY document_id, page_no",
                            ids):
        pages[row[0]].append((row[1], row[2]))
    text_ids: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(f"SELECT document_id, value FROM identifiers"
                            f" WHERE document_id IN ({marks})"
                            " AND kind IN ('citizen_id', 'tax_code') ORDER BY value", ids):
        text_ids[row[0]].append(row[1])
    reused: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(f"SELECT document_id, dossier_code FROM reuses"
                            f" WHERE document_id IN ({marks}) AND status = 'attached'"
                            " ORDER BY id", ids):
        reused[row[0]].append(row[1])
    codes = {d["dossier_code"] for d in docs if d["dossier_code"]}
    codes |= {c for cs in reused.values() for c in cs}
    dossiers: dict[str, sqlite3.Row] = {}
    code_list = sorted(codes)
    if code_list:
        dossiers = {r["code"]: r for r in conn.execute(
            "SELECT code, procedure_code, procedure_name, field, owner_id FROM dossiers"
            f" WHERE code IN ({_marks(code_list)})", code_list)}
    owner_ids = {d["owner_id"] for d in docs if d["owner_id"]}
    owner_ids |= {r["owner_id"] for r in dossiers.values() if r["owner_id"]}
    owner_list = sorted(owner_ids)
    names: dict[str, str] = {}
    if owner_list:
        names = {r[0]: r[1] for r in conn.execute(
            f"SELECT id, name FROM owners WHERE id IN ({_marks(owner_list)})", owner_list)}
    for d in docs:
        doc_id = int(d["id"])
        linked = [c for c in (d["dossier_code"], *reused[doc_id]) if c]
        owners: list[str] = [d["owner_id"]] if d["owner_id"] else []
        for code in linked:
            row = dossiers.get(code)
            if row is not None and row["owner_id"] and row["owner_id"] not in owners:
                owners.append(row["owner_id"])
        procs = [dossiers[c] for c in linked if c in dossiers]
        yield DocEntry(
            document_id=doc_id,
            original_name=d["original_name"],
            date=date.fromisoformat(d["ingested_at"][:10]),
            pages=tuple(pages[doc_id]),
            dossier_code=d["dossier_code"],
            reused_in=tuple(dict.fromkeys(reused[doc_id])),
            owners=tuple(OwnerRef(o, names.get(o)) for o in owners),
            text_ids=tuple(text_ids[doc_id]),
            procedure_codes=_distinct(p["procedure_code"] for p in procs),
            procedure_names=_distinct(p["procedure_name"] for p in procs),
            fields=_distinct(p["field"] for p in procs),
            role=d["role"],
            type_code=d["type_code"],
            type_name=type_names.get(d["type_code"]) if d["type_code"] else None,
            name=d["name"],
            number_symbol=d["number_symbol"],
            issue_date=d["issue_date"],
            issuing_body=d["issuing_body"],
            summary=d["summary"],
            valid_from=d["valid_from"],
            valid_to=d["valid_to"],
            validity_scope=d["validity_scope"],
            result_code=d["result_code"],
        )


def _distinct(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def index_document(conn: sqlite3.Connection, engine: SearchEngine, document_id: int,
                   type_names: Mapping[str, str] | None = None) -> None:
    """Replace the document's entry in the index (idempotent) and commit the index."""
    entries = doc_entries(conn, [document_id], type_names)
    if entries:
        engine.replace_document(entries[0])
    else:
        engine.delete_document(document_id)
    engine.commit()


def type_names(ws: Workspace) -> dict[str, str]:
    from motcua.archive.catalogue import load_catalogue
    from motcua.errors import UserError

    try:
        return load_catalogue(ws).document_types
    except UserError as exc:  # a broken catalogue must not stop indexing
        log.warning("document type names not indexed: %s", exc.detail)
        return {}


def refresh_documents(ws: Workspace, conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Bring these documents' index entries up to date with the warehouse; call it in
    every operation that changes what a document is found by. Only documents already in
    the index are touched (one still in the pipeline is indexed when it gets there).

    The index is derived data: if it cannot be written (busy, damaged) the change in the
    database stands, a warning is logged and `motcua reindex` repairs the index.
    Returns the number of documents refreshed."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    indexed = [r[0] for r in conn.execute(
        f"SELECT id FROM documents WHERE id IN ({_marks(wanted)}) AND state = 'indexed'",
        wanted)]
    if not indexed:
        return 0
    try:
        from motcua.index import open_engine

        engine = open_engine(ws.index_dir, ws.config.index.engine)
    except Exception as exc:
        log.warning("index not refreshed for documents %s: %s", indexed, exc)
        return 0
    try:
        for entry in doc_entries(conn, indexed, type_names(ws)):
            engine.replace_document(entry)
        engine.commit()
    except Exception as exc:
        log.warning("index not refreshed for documents %s: %s", indexed, exc)
        return 0
    finally:
        engine.close()
    return len(indexed)


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
    names = type_names(ws)
    try:
        for doc_id in ids:
            index_document(conn, engine, doc_id, names)
            with db.transaction(conn):
                mark_indexed(conn, doc_id)
            done += 1
    except Exception as exc:
        log.warning("indexing imported documents stopped: %s", exc)
    finally:
        engine.close()
    return done


def documents_of_owner(conn: sqlite3.Connection, owner_id: str) -> list[int]:
    """Documents whose index entry names this owner: by metadata, by their own dossier or
    by a dossier they are reused in."""
    return [r[0] for r in conn.execute(
        "SELECT document_id FROM document_meta WHERE owner_id = ?"
        " UNION SELECT d.id FROM documents d JOIN dossiers s ON s.code = d.dossier_code"
        " WHERE s.owner_id = ?"
        " UNION SELECT r.document_id FROM reuses r JOIN dossiers s ON s.code = r.dossier_code"
        " WHERE s.owner_id = ? AND r.status = 'attached'",
        (owner_id, owner_id, owner_id))]


def documents_of_dossier(conn: sqlite3.Connection, code: str) -> list[int]:
    """Documents whose index entry carries this dossier's code, procedure or owner."""
    return [r[0] for r in conn.execute(
        "SELECT id FROM documents WHERE dossier_code = ?"
        " UNION SELECT document_id FROM reuses WHERE dossier_code = ? AND status = 'attached'",
        (code, code))]


def rebuild(
    conn: sqlite3.Connection,
    engine: SearchEngine,
    progress: Callable[[int, int], None] | None = None,
    batch: int = _CHUNK,
    type_names: Mapping[str, str] | None = None,
    commit_every: int = 20_000,
) -> int:
    """Clear the index and add every archived document again. Returns pages indexed.

    Commits every `commit_every` documents, not every batch: each tantivy commit waits
    for its merges, and a reindex interrupted half-way is simply run again."""
    ids = [row[0] for row in conn.execute(
        f"SELECT id FROM documents WHERE state IN {INDEXABLE} ORDER BY id")]
    engine.clear()
    pages = 0
    done = 0
    for start in range(0, len(ids), batch):
        for entry in doc_entries(conn, ids[start:start + batch], type_names):
            engine.replace_document(entry)
            pages += entry.page_count
        done = min(len(ids), start + batch)
        if done % commit_every < batch:
            engine.commit()
        if progress:
            progress(done, len(ids))
    engine.commit()
    engine.settle()
    return pages
