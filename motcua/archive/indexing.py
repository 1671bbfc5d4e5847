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
from motcua.index import NO_FILTERS, DocEntry, Hit, OwnerRef, SearchEngine, SearchFilters
from motcua.index.memory_engine import Analysed, MemoryEngine, TermStats, analyse
from motcua.index.query import plan_query
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


# The catalogue's type names by (file, its size and time): parsing the TOML cost more
# than the rest of one document's refresh.
_TYPE_NAMES: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


def type_names(ws: Workspace) -> dict[str, str]:
    from motcua.archive.catalogue import catalogue_path, load_catalogue
    from motcua.errors import UserError

    path = catalogue_path(ws)
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _TYPE_NAMES.get(str(path))
        if cached and cached[0] == stamp:
            return dict(cached[1])
    except OSError:
        stamp = None
    try:
        names = load_catalogue(ws).document_types
    except UserError as exc:  # a broken catalogue must not stop indexing
        log.warning("document type names not indexed: %s", exc.detail)
        return {}
    if stamp is not None:
        _TYPE_NAMES[str(path)] = (stamp, dict(names))
    return names


# Changed documents wait in index_pending until this many are pending, or the watcher is
# idle, or a reindex: one index commit costs several fsyncs (tens of ms on a quiet disk,
# hundreds on a busy one), a pending row one SQLite write.
PENDING_FLUSH_AT = 16


def refresh_documents(ws: Workspace, conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Bring these documents' index entries up to date with the warehouse; call it in
    every operation that changes what a document is found by. Only documents already in
    the index are touched (one still in the pipeline is indexed when it gets there).

    The documents are recorded as pending: `search` finds them by their current fields at
    once, and an index commit folds them in later (`flush_pending`), here when
    PENDING_FLUSH_AT are waiting. The index is derived data: if it cannot be written
    (busy, damaged) the change in the database stands and the documents stay pending.
    Returns the number of documents refreshed."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    indexed = [r[0] for r in conn.execute(
        f"SELECT id FROM documents WHERE id IN ({_marks(wanted)}) AND state = 'indexed'",
        wanted)]
    if not indexed:
        return 0
    queued = db.now()
    rows = [(d, queued) for d in indexed]
    # A new row (and seq) per change: a flush that read the older entry forgets only that.
    sql = "INSERT OR REPLACE INTO index_pending (document_id, queued_at) VALUES (?, ?)"
    if conn.in_transaction:
        # Inside the caller's transaction: recorded with its change; the commit of the
        # index waits for a later change, the watcher or reindex.
        conn.executemany(sql, rows)
        return len(indexed)
    with db.transaction(conn):
        conn.executemany(sql, rows)
    if pending_count(conn) >= PENDING_FLUSH_AT:
        flush_pending(ws, conn)
    return len(indexed)


def pending_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM index_pending").fetchone()[0])


def flush_pending(ws: Workspace, conn: sqlite3.Connection) -> int:
    """Write the pending documents' entries into the index in one commit and forget
    them; returns how many. Nothing is lost if the index cannot be written: they stay
    pending (a warning is logged) and searches keep reading them from the database."""
    rows = conn.execute("SELECT seq, document_id FROM index_pending ORDER BY seq").fetchall()
    if not rows:
        return 0
    ids = [r[1] for r in rows]
    try:
        from motcua.index import open_engine

        engine = open_engine(ws.index_dir, ws.config.index.engine)
    except Exception as exc:
        log.warning("pending documents not written to the index: %s", exc)
        return 0
    try:
        entries = doc_entries(conn, ids, type_names(ws))
        for entry in entries:
            engine.replace_document(entry)
        for gone in set(ids) - {e.document_id for e in entries}:
            engine.delete_document(gone)
        engine.commit()
    except Exception as exc:
        log.warning("pending documents not written to the index: %s", exc)
        return 0
    finally:
        engine.close()
    with db.transaction(conn):
        conn.executemany("DELETE FROM index_pending WHERE seq = ?", [(r[0],) for r in rows])
    log.info("index: %d pending documents committed", len(rows),
             extra={"event": "index_flush", "documents": len(rows)})
    return len(rows)


def search(ws: Workspace, conn: sqlite3.Connection, engine: SearchEngine, query: str,
           filters: SearchFilters = NO_FILTERS, limit: int = 20,
           offset: int = 0) -> list[Hit]:
    """`engine.search` with the pending documents as they are now: the engine leaves out
    their out-of-date entries, their current ones are ranked in memory (against the
    index's term statistics, so that scores compare) and merged in by score."""
    rows = conn.execute("SELECT seq, document_id FROM index_pending").fetchall()
    if not rows:
        return engine.search(query, filters, limit=limit, offset=offset)
    offset = max(0, offset)
    wanted = offset + limit
    pending = {int(r[1]): int(r[0]) for r in rows}
    kept = engine.search(query, filters, limit=wanted, offset=0, exclude=pending.keys())
    fresh = MemoryEngine(TermStats(engine.count(), engine.doc_freq))
    for doc in _analysed(ws, conn, pending):
        fresh.add(doc)
    fresh.commit()
    plan = plan_query(query)
    # A pending document's hit is built only if it makes the page. Sorted by score alone
    # (stable): equal scores keep the engine's order, the pending ones after.
    merged = sorted([(h.score, h) for h in kept]
                    + [(score, d) for score, d in fresh.ranked(plan, filters, wanted)],
                    key=lambda sh: -sh[0])[offset:wanted]
    return [h if isinstance(h, Hit) else fresh.hit(plan, h, score) for score, h in merged]


# Analysed entries of pending documents by (index, document, seq): a seq is one state of
# the document, so a long-lived process (the web page) analyses each change once.
_ANALYSED: dict[tuple[str, int, int], Analysed] = {}
_ANALYSED_MAX = 4 * PENDING_FLUSH_AT


def _analysed(ws: Workspace, conn: sqlite3.Connection,
              pending: Mapping[int, int]) -> list[Analysed]:
    where = str(ws.index_dir)
    out = []
    missing = []
    for doc_id, seq in pending.items():
        doc = _ANALYSED.get((where, doc_id, seq))
        if doc is None:
            missing.append(doc_id)
        else:
            out.append(doc)
    if missing:
        for entry in doc_entries(conn, missing, type_names(ws)):
            doc = analyse(entry)
            if len(_ANALYSED) >= _ANALYSED_MAX:
                _ANALYSED.pop(next(iter(_ANALYSED)))
            _ANALYSED[(where, entry.document_id, pending[entry.document_id])] = doc
            out.append(doc)
    return out


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
    # Pending changes made before the rebuild read the documents are in it.
    covered = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM index_pending").fetchone()[0]
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
    with db.transaction(conn):
        conn.execute("DELETE FROM index_pending WHERE seq <= ?", (covered,))
    return pages
