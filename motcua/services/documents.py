"""Documents: search, view, assign to a dossier, stamp, metadata, results, reindex.

One view of a document (`view`) serves `motcua show --json` and the web's document page.
Stamps and the index follow every change that shows on them: an assignment or a
metadata change restamps (the QR prints the dossier code and the fields) and reindexes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import Any

from motcua import db, labels
from motcua.archive import audit, records
from motcua.archive.documents import EDITABLE, FIELD_LABELS, get_meta, resolve_document
from motcua.errors import MotcuaError, UserError
from motcua.ingest.names import visible
from motcua.ingest.split import part_of_document
from motcua.services import Context, Result
from motcua.services.access import Permission, require

log = logging.getLogger(__name__)


# ---- view ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile(Result):
    kind: str          # original | archival | stamped (labels.FILE_KINDS)
    label: str
    relpath: str
    path: str
    sha256: str | None
    present: bool      # a regular file inside the store (not its scratch folder)


@dataclass(frozen=True)
class PageView(Result):
    page: int
    confidence: float | None
    ocr_done: bool
    needs_rescan: bool


@dataclass(frozen=True)
class IdentifierView(Result):
    kind: str
    kind_label: str
    value: str
    page: int


@dataclass(frozen=True)
class DocumentView(Result):
    id: int
    original_name: str
    media_type: str
    size: int
    state: str
    state_label: str
    dossier_code: str | None
    dossier_source: str | None
    unfiled_reason: str  # Vietnamese: why it is in no dossier although one was named
    ingested_at: str
    ingested_at_local: str
    page_count: int | None
    original: dict[str, Any]
    archival: dict[str, Any]
    files: tuple[StoredFile, ...]
    pages: tuple[PageView, ...]
    rescan_pages: tuple[int, ...]
    identifiers: tuple[IdentifierView, ...]
    meta: dict[str, Any]
    owner_name: str | None
    stamp: dict[str, Any] | None
    intake: tuple[dict[str, Any], ...]
    reused_in: tuple[dict[str, Any], ...]
    confidence_threshold: float
    #: A part of a batch scan split at its cover sheets: the batch and the page range.
    batch: dict[str, Any] | None = None


def store_file(ctx: Context, stored: str | None) -> Path | None:
    """The absolute path of a file recorded in the database, if it is a regular file
    inside the store (not its scratch folder). Anything else is refused: a row pointing
    elsewhere (a tampered database, a symlink) never makes us serve or copy that file."""
    if not stored:
        return None
    store_dir = ctx.ws.store.resolve()
    tmp = ctx.ws.tmp.resolve()
    try:
        path = (ctx.ws.root / stored).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(store_dir) or path.is_relative_to(tmp) or not path.is_file():
        log.warning("refusing %r: outside the store or not a regular file", stored)
        return None
    return path


def _no_document(document_id: int) -> UserError:
    return UserError(f"Không có tài liệu số {document_id}.", f"no document {document_id}")


def view(ctx: Context, document_id: int, *, record_view: bool = True) -> DocumentView:
    """Everything about one document. Viewing is an audit entry (personal data,
    NĐ 13/2023) unless `record_view` is False (a listing that shows many)."""
    require(ctx.actor.roles, Permission.VIEW)
    conn = ctx.conn
    doc = records.by_id(conn, document_id)
    if doc is None:
        raise _no_document(document_id)
    pages = records.pages_of(conn, document_id)
    meta_row = conn.execute("SELECT o.name FROM document_meta m JOIN owners o"
                            " ON o.id = m.owner_id WHERE m.document_id = ?",
                            (document_id,)).fetchone()
    stamp = conn.execute("SELECT kind, stamped_path, stamped_sha256, operator, stamped_at"
                         " FROM stamps WHERE document_id = ?", (document_id,)).fetchone()
    intake = conn.execute("SELECT original_name, source_path, state, updated_at FROM intake"
                          " WHERE document_id = ? ORDER BY id", (document_id,)).fetchall()
    reused = conn.execute("SELECT dossier_code, status, mode, actor, created_at FROM reuses"
                          " WHERE document_id = ? ORDER BY id", (document_id,)).fetchall()
    files = []
    for kind, stored, digest in (
            ("original", doc["original_path"], doc["sha256"]),
            ("archival", doc["archival_path"], doc["archival_sha256"]),
            ("stamped", stamp["stamped_path"] if stamp else None,
             stamp["stamped_sha256"] if stamp else None)):
        if stored:
            files.append(StoredFile(kind, labels.FILE_KINDS[kind], stored,
                                    str(ctx.ws.absolute(stored)), digest,
                                    store_file(ctx, stored) is not None))
    zone = ctx.zone
    result = DocumentView(
        id=doc["id"], original_name=doc["original_name"], media_type=doc["media_type"],
        size=doc["size"], state=doc["state"],
        state_label=labels.label(labels.DOCUMENT_STATES, doc["state"]),
        dossier_code=doc["dossier_code"], dossier_source=doc["dossier_source"],
        unfiled_reason=labels.unfiled_reason(doc["unfiled_reason"], doc["unfiled_hint"]),
        ingested_at=doc["ingested_at"],
        ingested_at_local=labels.vi_datetime(doc["ingested_at"], zone),
        page_count=doc["page_count"],
        original={"path": str(ctx.ws.absolute(doc["original_path"])), "sha256": doc["sha256"]},
        archival={"path": str(ctx.ws.absolute(doc["archival_path"])) if doc["archival_path"]
                  else None, "sha256": doc["archival_sha256"]},
        files=tuple(files),
        pages=tuple(PageView(p["page_no"], p["confidence"], bool(p["ocr_done"]),
                             bool(p["needs_rescan"])) for p in pages),
        rescan_pages=tuple(p["page_no"] for p in pages if p["needs_rescan"]),
        identifiers=tuple(IdentifierView(i["kind"], labels.label(labels.IDENTIFIER_KINDS,
                                                                 i["kind"]),
                                         i["value"], i["page_no"])
                          for i in records.identifiers_of(conn, document_id)),
        meta=get_meta(conn, document_id).as_dict(),
        owner_name=meta_row[0] if meta_row else None,
        stamp=dict(stamp) | {"stamped_at_local": labels.vi_datetime(stamp["stamped_at"], zone)}
        if stamp else None,
        intake=tuple(dict(r) | {"state_label": labels.label(labels.INTAKE_STATES, r["state"]),
                                # a bidi override in a name must not reorder the page
                                "source_path": visible(r["source_path"] or ""),
                                "original_name": visible(r["original_name"] or "")}
                     for r in intake),
        reused_in=tuple(dict(r) | {"status_label": labels.label(labels.REUSE_STATUS,
                                                                r["status"])}
                        for r in reused),
        confidence_threshold=ctx.ws.config.ocr.confidence_threshold,
        batch=part_of_document(conn, document_id),
    )
    if record_view:
        audit.record(conn, "view", f"document:{document_id}", ctx.audit_name, {})
    return result


def page_texts(ctx: Context, document_id: int) -> dict[int, str]:
    """The recognised text of each page, by page number (the web page shows it under
    each page; `view` leaves it out so that `show --json` stays short)."""
    require(ctx.actor.roles, Permission.VIEW)
    return {row[0]: row[1] for row in ctx.conn.execute(
        "SELECT page_no, text FROM pages WHERE document_id = ? ORDER BY page_no",
        (document_id,))}


@dataclass(frozen=True)
class DocumentList(Result):
    target: str
    documents: tuple[DocumentView, ...]


def exists(ctx: Context, document_id: int) -> bool:
    require(ctx.actor.roles, Permission.VIEW)
    return records.by_id(ctx.conn, document_id) is not None


def show(ctx: Context, target: str) -> DocumentList:
    """A document by its number, or every document of a dossier by the dossier's code."""
    require(ctx.actor.roles, Permission.VIEW)
    target = target.strip()
    if target.isdigit():
        ids = [int(target)]
    else:
        ids = [row[0] for row in ctx.conn.execute(
            "SELECT id FROM documents WHERE dossier_code = ? ORDER BY id", (target,))]
        if not ids:
            raise UserError(f"Không có tài liệu nào thuộc hồ sơ “{target}”.",
                            "no documents for dossier")
    return DocumentList(target, tuple(view(ctx, i) for i in ids))


@dataclass(frozen=True)
class File(Result):
    """A stored file to hand over (download): where it is and what to call it."""

    document_id: int
    kind: str
    path: Path
    media_type: str
    filename: str


def file_of(ctx: Context, document_id: int, kind: str, *, record_view: bool = True) -> File:
    """One of a document's files (original, archival, stamped), confined to the store.
    Handing a file over is an audit entry unless `record_view` is False (a PDF viewer's
    further byte ranges of the same download)."""
    require(ctx.actor.roles, Permission.VIEW)
    if kind not in labels.FILE_KINDS:
        raise UserError("Không có loại tệp này.", f"bad file kind {kind!r}")
    doc = records.by_id(ctx.conn, document_id)
    if doc is None:
        raise _no_document(document_id)
    stem = Path(doc["original_name"]).stem or f"tai-lieu-{document_id}"
    if kind == "original":
        stored = doc["original_path"]
        media_type = doc["media_type"] if doc["media_type"] in labels.MEDIA_TYPES \
            else "application/octet-stream"
        filename = doc["original_name"]
    elif kind == "archival":
        stored, media_type, filename = doc["archival_path"], "application/pdf", \
            f"{stem} (PDF-A).pdf"
    else:
        row = ctx.conn.execute("SELECT stamped_path FROM stamps WHERE document_id = ?",
                               (document_id,)).fetchone()
        stored, media_type, filename = (row[0] if row else None), "application/pdf", \
            f"{stem} (bản số hóa).pdf"
    path = store_file(ctx, stored)
    if path is None:
        raise UserError(f"Không tìm thấy {labels.FILE_KINDS[kind]} của tài liệu "
                        f"{document_id} trong kho.", f"no {kind} file for {document_id}")
    if record_view:
        audit.record(ctx.conn, "download", f"document:{document_id}", ctx.audit_name,
                     {"file": kind})
    return File(document_id, kind, path, media_type, filename)


# ---- search ------------------------------------------------------------------------


def parse_filters(*, dossier: str | None = None, owner: str | None = None,
                  procedure: str | None = None, doc_type: str | None = None,
                  date_from: str | date | None = None, date_to: str | date | None = None
                  ) -> Any:
    """The search filters from what a person typed (CLI options or a web form): blanks
    are no filter, dates through the one parser."""
    from motcua.index import SearchFilters

    def day(value: str | date | None, label: str) -> date | None:
        if isinstance(value, date):
            return value
        return labels.parse_optional_day(value, label)

    def text(value: str | None) -> str | None:
        return value.strip() or None if value else None

    day_from, day_to = day(date_from, "ngày bắt đầu"), day(date_to, "ngày kết thúc")
    if day_from and day_to and day_from > day_to:
        raise UserError("Ngày bắt đầu đang sau ngày kết thúc; hãy đổi lại khoảng ngày.",
                        "date_from after date_to")
    return SearchFilters(dossier_code=text(dossier), owner_id=text(owner),
                         procedure_code=text(procedure), doc_type=text(doc_type),
                         date_from=day_from, date_to=day_to)


# The search itself is services.search.search (documents found by what staff type).


@dataclass(frozen=True)
class RecentDocument(Result):
    id: int
    original_name: str
    dossier_code: str | None
    page_count: int | None
    state: str
    state_label: str
    ingested_at: str
    ingested_at_local: str
    rescan_pages: int


def recent(ctx: Context, limit: int = 10) -> tuple[RecentDocument, ...]:
    """The documents archived last (the search page before anything is typed)."""
    require(ctx.actor.roles, Permission.VIEW)
    rows = ctx.conn.execute(
        "SELECT d.id, d.original_name, d.dossier_code, d.page_count, d.state, d.ingested_at,"
        " (SELECT COUNT(*) FROM pages p WHERE p.document_id = d.id AND p.needs_rescan = 1)"
        " AS rescan FROM documents d ORDER BY d.id DESC LIMIT ?", (limit,))
    return tuple(RecentDocument(
        r["id"], r["original_name"], r["dossier_code"], r["page_count"], r["state"],
        labels.label(labels.DOCUMENT_STATES, r["state"]), r["ingested_at"],
        labels.vi_datetime(r["ingested_at"], ctx.zone), r["rescan"]) for r in rows)


# ---- changes -------------------------------------------------------------------------


@dataclass(frozen=True)
class StampOutcome(Result):
    document_id: int
    kind: str | None
    stamped_path: str | None
    warning: str | None  # Vietnamese: why no stamp could be made (the document is safe)


def restamp(ctx: Context, document_id: int, *, strict: bool = True) -> StampOutcome:
    """(Re)make the digitization stamp, naming the acting officer as "Người số hóa".

    `strict=False` is the one policy for a stamp that follows another change (a result
    recorded, a dossier resolved): the change stands and the failure comes back as a
    warning, since `motcua stamp` can make the stamp later."""
    from motcua.archive.stamp import stamp_document

    try:
        rec = stamp_document(ctx.ws, ctx.conn, document_id, operator=ctx.operator,
                             actor=ctx.audit_name)
    except MotcuaError as exc:
        if strict:
            raise
        log.warning("stamp of document %d failed: %s", document_id, exc.detail or exc)
        return StampOutcome(document_id, None, None,
                            f"Chưa tạo được bản đóng dấu ({exc.message}).")
    return StampOutcome(document_id, rec.kind, str(rec.stamped_path), None)


def reindex_one(ctx: Context, document_id: int) -> bool:
    """Put one document's pages in the index now; False if the index was busy (the
    document stays 'archived' and `motcua reindex` picks it up)."""
    from motcua.archive.indexing import index_documents

    return index_documents(ctx.ws, ctx.conn, [document_id]) == 1


@dataclass(frozen=True)
class Assigned(Result):
    document_id: int
    dossier_code: str
    stamp: StampOutcome


def assign(ctx: Context, document_id: int, dossier_code: str, *, move: bool = False
           ) -> Assigned:
    """Put a document in a dossier: recorded, audited, restamped (the stamp and its QR
    print the dossier code) and reindexed (the dossier filter must find it).

    The dossier must exist (received, created or imported): a code never issued is
    refused rather than made up. A document already filed under another dossier moves
    only with `move` (the officer confirmed it)."""
    from motcua.archive.extract import is_dossier_code
    from motcua.archive.indexing import refresh_documents

    require(ctx.actor.roles, Permission.RECEIVE)
    dossier_code = dossier_code.strip()
    if not is_dossier_code(dossier_code):
        raise UserError(
            f"Mã hồ sơ “{dossier_code}” không đúng dạng <mã cơ quan>-YYMMDD-XXXX, "
            "ví dụ 000.00.07.H47-250716-0001.", "bad dossier code")
    conn = ctx.conn
    row = records.by_id(conn, document_id)
    if row is None:
        raise _no_document(document_id)
    if not records.dossier_exists(conn, dossier_code):
        raise UserError(
            f"Không có hồ sơ mã {dossier_code}: mã này chưa được cấp (chưa tiếp nhận, chưa "
            "nhập từ hệ thống một cửa). Kiểm tra lại mã, hoặc tiếp nhận hồ sơ trước.",
            f"assign to unknown dossier {dossier_code}")
    current = row["dossier_code"]
    details: dict[str, Any] = {"dossier_code": dossier_code}
    if current and current != dossier_code:
        if not move:
            raise UserError(
                f"Tài liệu #{document_id} đang thuộc hồ sơ {current}. Muốn chuyển sang hồ sơ "
                f"{dossier_code}, hãy xác nhận (dòng lệnh: thêm --move).",
                f"document {document_id} already in {current}")
        details["moved_from"] = current
    with db.transaction(conn):
        records.assign_dossier(conn, document_id, dossier_code, "manual")
        audit.record(conn, "assign", f"document:{document_id}", ctx.audit_name, details)
    stamped = restamp(ctx, document_id)
    refresh_documents(ctx.ws, conn, [document_id])
    return Assigned(document_id, dossier_code, stamped)


@dataclass(frozen=True)
class Stamped(Result):
    stamps: tuple[StampOutcome, ...]
    all_stamped: bool  # --missing found nothing left to stamp


def stamp(ctx: Context, refs: tuple[str, ...] | list[str] = (), *,
          missing: bool = False) -> Stamped:
    """(Re)stamp the documents named (id, result code, SHA-256 prefix or file), and with
    `missing` every archived document that has no stamp yet."""
    require(ctx.actor.roles, Permission.RECEIVE)
    ids = [resolve_document(ctx.conn, ref) for ref in refs]
    if missing:
        ids += [r[0] for r in ctx.conn.execute(
            "SELECT id FROM documents WHERE archival_path IS NOT NULL AND id NOT IN"
            " (SELECT document_id FROM stamps) ORDER BY id")]
    if not ids and not missing:
        raise UserError("Hãy nêu tài liệu cần đóng dấu, hoặc dùng --missing.",
                        "nothing to stamp")
    done = tuple(restamp(ctx, document_id) for document_id in dict.fromkeys(ids))
    return Stamped(done, missing and not ids)


@dataclass(frozen=True)
class Reindexed(Result):
    documents: int
    pages: int


def reindex(ctx: Context, progress: Callable[[int, int], None] | None = None) -> Reindexed:
    """Rebuild the search index from the database."""
    from motcua.archive.indexing import rebuild, type_names
    from motcua.index import open_engine

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    total = ctx.conn.execute(
        "SELECT COUNT(*) FROM documents WHERE state IN ('archived', 'indexed')").fetchone()[0]
    # rebuild=True: a damaged index cannot be opened to be cleared, so start afresh.
    engine = open_engine(ctx.ws.index_dir, ctx.ws.config.index.engine, rebuild=True)
    try:
        pages = rebuild(ctx.conn, engine, progress=progress, type_names=type_names(ctx.ws))
    finally:
        engine.close()
    clear_thumbnails(ctx)
    return Reindexed(total, pages)


def count_indexable(ctx: Context) -> int:
    """How many documents `reindex` goes through (for a progress bar)."""
    return int(ctx.conn.execute(
        "SELECT COUNT(*) FROM documents WHERE state IN ('archived', 'indexed')").fetchone()[0])


@dataclass(frozen=True)
class Metadata(Result):
    document_id: int
    meta: dict[str, Any]
    fields: tuple[tuple[str, str, Any], ...]  # (key, Vietnamese label, value) for display
    changed: bool
    stamp: StampOutcome | None


def metadata(ctx: Context, ref: str) -> Metadata:
    """A document's metadata (by id, result code, SHA-256 prefix or file)."""
    require(ctx.actor.roles, Permission.VIEW)
    document_id = resolve_document(ctx.conn, ref)
    return _metadata(ctx, document_id, False, None)


def set_meta(ctx: Context, ref: str, changes: dict[str, str | None]) -> Metadata:
    """Change some metadata fields (None leaves one as it is, "" clears it); each change
    is audited, and a stamped document is restamped (its QR carries the fields)."""
    from motcua.archive.documents import set_meta as write_meta
    from motcua.archive.indexing import refresh_documents
    from motcua.archive.stamp import get_stamp

    require(ctx.actor.roles, Permission.EDIT_METADATA)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise UserError(f"Không sửa được trường {', '.join(sorted(unknown))}.",
                        f"not editable: {sorted(unknown)}")
    document_id = resolve_document(ctx.conn, ref)
    wanted: dict[str, str | None] = {k: v for k, v in changes.items() if v is not None}
    if not wanted:
        return _metadata(ctx, document_id, False, None)
    write_meta(ctx.conn, document_id, ctx.audit_name, wanted,
               ctx.catalogue.document_types)
    stamped = restamp(ctx, document_id) if get_stamp(ctx.conn, document_id) else None
    refresh_documents(ctx.ws, ctx.conn, [document_id])  # found by its new fields at once
    return _metadata(ctx, document_id, True, stamped)


def _metadata(ctx: Context, document_id: int, changed: bool,
              stamped: StampOutcome | None) -> Metadata:
    meta = get_meta(ctx.conn, document_id)
    shown = tuple((key, label, getattr(meta, key)) for key, label in FIELD_LABELS.items())
    return Metadata(document_id, meta.as_dict(), shown, changed, stamped)


@dataclass(frozen=True)
class ResultAdded(Result):
    document_id: int
    result_code: str
    sha256: str
    new_file: bool
    stamp: StampOutcome | None
    indexed: bool


def add_result(ctx: Context, file: Path, dossier_code: str,
               meta: dict[str, str | None] | None = None, *,
               stamp: bool = True) -> ResultAdded:
    """Store a dossier's result byte for byte as `<dossier>-KQ<n>`, stamp a PDF
    "KẾT QUẢ ĐIỆN TỬ" (a failed stamp is a warning), index it."""
    from motcua.archive.documents import add_result as store_result

    require(ctx.actor.roles, Permission.RECEIVE)
    added = store_result(ctx.ws, ctx.conn, file, dossier_code, ctx.audit_name,
                         {k: v for k, v in (meta or {}).items() if v is not None},
                         ctx.catalogue.document_types)
    stamped = restamp(ctx, added.document_id, strict=False) \
        if stamp and file.suffix.lower() == ".pdf" else None
    indexed = reindex_one(ctx, added.document_id)
    return ResultAdded(added.document_id, added.result_code, added.sha256, added.new_file,
                       stamped, indexed)


# ---- page thumbnails and the document's history (the web's document page) ------------

THUMB_WIDTH = 220


def thumbs_dir(ctx: Context) -> Path:
    """Where page thumbnails are cached: `<workspace>/cache/thumbs/<sha256>/p<n>.png`.
    They are derived data: `reindex` clears them and pages render them again."""
    return ctx.ws.root / "cache" / "thumbs"


def thumbnail(ctx: Context, document_id: int, page: int) -> Path:
    """A PNG of one page (stamped copy, else the PDF/A, else an original PDF), rendered once by
    pdftoppm into the cache (temp name, then rename: a half-written PNG is never served)."""
    require(ctx.actor.roles, Permission.VIEW)
    doc = records.by_id(ctx.conn, document_id)
    if doc is None:
        raise _no_document(document_id)
    # A PDF not yet recognised has no page count: its first page can still be shown.
    if not 1 <= page <= (doc["page_count"] or 1):
        raise UserError(f"Tài liệu {document_id} không có trang {page}.",
                        f"no page {page} in {document_id}")
    stamp_row = ctx.conn.execute("SELECT stamped_path, stamped_sha256 FROM stamps"
                                 " WHERE document_id = ?", (document_id,)).fetchone()
    source, digest = None, None
    if stamp_row is not None:
        source, digest = store_file(ctx, stamp_row[0]), stamp_row[1]
    if source is None:
        source, digest = store_file(ctx, doc["archival_path"]), doc["archival_sha256"]
    if source is None and doc["media_type"] == "application/pdf":
        source, digest = store_file(ctx, doc["original_path"]), doc["sha256"]
    if source is None or not digest:
        raise UserError(f"Tài liệu {document_id} chưa có bản PDF để xem trước.",
                        f"no pdf for thumbnails of {document_id}")
    folder = thumbs_dir(ctx) / digest
    target = folder / f"p{page}.png"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f".p{page}-{os.getpid()}-{threading.get_ident()}"
    try:
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                        "-scale-to-x", str(THUMB_WIDTH), "-scale-to-y", "-1",
                        str(source), str(stem)], check=True, capture_output=True, timeout=60)
        os.replace(stem.with_suffix(".png"), target)
    except (OSError, subprocess.SubprocessError) as exc:
        log.error("thumbnail of %s page %d failed: %s", document_id, page, exc)
        raise MotcuaError("Không tạo được ảnh thu nhỏ của trang.",
                          f"pdftoppm failed for {document_id} p{page}: {exc}") from exc
    finally:
        stem.with_suffix(".png").unlink(missing_ok=True)
    return target


def clear_thumbnails(ctx: Context) -> None:
    """Drop every cached thumbnail (they are rendered again on the next view)."""
    folder = thumbs_dir(ctx)
    if folder.is_dir():
        shutil.rmtree(folder)


@dataclass(frozen=True)
class HistoryEntry(Result):
    at_local: str
    actor: str
    action: str
    action_label: str
    details: str


def history(ctx: Context, document_id: int, limit: int = 100) -> tuple[HistoryEntry, ...]:
    """The document's audit entries, newest first, in Vietnamese."""
    require(ctx.actor.roles, Permission.VIEW)
    rows = ctx.conn.execute(
        "SELECT at, actor, action, details FROM audit_log WHERE subject = ?"
        " ORDER BY seq DESC LIMIT ?", (f"document:{document_id}", limit)).fetchall()
    zone = ctx.zone
    out = []
    for r in rows:
        try:
            details = json.loads(r["details"]) if r["details"] else {}
        except ValueError:
            details = {}
        text = "; ".join(f"{FIELD_LABELS.get(k, k)}: {v}" for k, v in details.items()
                         if k != "client" and v not in (None, "", {}, []))
        out.append(HistoryEntry(labels.vi_datetime(r["at"], zone), r["actor"], r["action"],
                                labels.label(labels.AUDIT_ACTIONS, r["action"]), text[:500]))
    return tuple(out)


@dataclass(frozen=True)
class DocumentRow(Result):
    id: int
    original_name: str
    name: str | None
    number_symbol: str | None
    type_code: str | None
    owner_id: str | None
    owner_name: str | None
    dossier_code: str | None
    page_count: int | None
    ingested_at_local: str
    unfiled_reason: str  # Vietnamese, '' when filed or nothing was named


@dataclass(frozen=True)
class DocumentPage(Result):
    documents: tuple[DocumentRow, ...]
    has_more: bool


def find_documents(ctx: Context, *, unassigned: bool = False, dossier: str = "",
                   owner: str = "", type_code: str = "", date_from: str = "",
                   date_to: str = "", limit: int = 50, offset: int = 0) -> DocumentPage:
    """Documents for the list page, newest first: not yet filed, by dossier, owner ID or
    name, type, and the day they were archived (centre's zone)."""
    from datetime import datetime, timedelta

    require(ctx.actor.roles, Permission.VIEW)
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if unassigned:
        where.append("d.dossier_code IS NULL")
    if dossier:
        where.append("d.dossier_code = ?")
        args.append(dossier)
    if owner:
        where.append("(m.owner_id = ? OR o.name LIKE ?)")
        args += [owner.replace(" ", ""), f"%{owner}%"]
    if type_code:
        where.append("m.type_code = ?")
        args.append(type_code)
    zone = ctx.zone
    for value, op, label, shift in ((date_from, ">=", "ngày bắt đầu", 0),
                                    (date_to, "<", "ngày kết thúc", 1)):
        day = labels.parse_optional_day(value, label)
        if day is not None:
            moment = datetime.combine(day + timedelta(days=shift), datetime.min.time(),
                                      tzinfo=zone)
            where.append(f"d.ingested_at {op} ?")
            args.append(moment.astimezone(UTC).isoformat(timespec="seconds"))
    rows = ctx.conn.execute(
        "SELECT d.id, d.original_name, m.name, m.number_symbol, m.type_code, m.owner_id,"
        " o.name AS owner_name, d.dossier_code, d.page_count, d.ingested_at,"
        " d.unfiled_reason, d.unfiled_hint"
        " FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id"
        " LEFT JOIN owners o ON o.id = m.owner_id WHERE " + " AND ".join(where)
        + " ORDER BY d.id DESC LIMIT ? OFFSET ?", [*args, limit + 1, offset]).fetchall()
    found = tuple(DocumentRow(r["id"], r["original_name"], r["name"], r["number_symbol"],
                              r["type_code"], r["owner_id"], r["owner_name"],
                              r["dossier_code"], r["page_count"],
                              labels.vi_datetime(r["ingested_at"], zone),
                              labels.unfiled_reason(r["unfiled_reason"], r["unfiled_hint"]))
                  for r in rows[:limit])
    return DocumentPage(found, len(rows) > limit)


# ---- validity --------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidityView(Result):
    document_id: int
    result_code: str | None
    type_code: str | None
    on: date
    valid: bool
    valid_from: str | None
    valid_to: str | None
    reason: str  # Vietnamese


def validity(ctx: Context, *, document_id: int | None = None, result_code: str | None = None,
             on: date | None = None) -> ValidityView:
    """Whether a document (by number or electronic result code) is valid on a day (today
    on the centre's clock by default): archived, and within its validity dates."""
    from datetime import datetime

    from motcua.archive.documents import is_valid_on

    require(ctx.actor.roles, Permission.VIEW)
    if result_code is not None:
        found = ctx.conn.execute("SELECT document_id FROM document_meta WHERE result_code = ?",
                                 (result_code.strip(),)).fetchone()
        if found is None:
            raise UserError(f"Không có kết quả mã {result_code}.",
                            f"no result {result_code!r}")
        document_id = int(found[0])
    if document_id is None:
        raise ValueError("document_id or result_code is needed")
    doc = records.by_id(ctx.conn, document_id)
    if doc is None:
        raise _no_document(document_id)
    meta = get_meta(ctx.conn, document_id)
    day = on or datetime.now(ctx.zone).date()
    archived = doc["state"] in ("archived", "indexed")
    in_dates = is_valid_on(meta, day)
    if not archived:
        reason = "Tài liệu chưa được lưu trữ xong trong kho."
    elif not in_dates and meta.valid_from and meta.valid_from > day.isoformat():
        reason = f"Chưa đến ngày có hiệu lực ({labels.vi_date(meta.valid_from)})."
    elif not in_dates:
        reason = f"Đã hết hiệu lực từ sau ngày {labels.vi_date(meta.valid_to)}."
    elif meta.valid_to:
        reason = f"Còn hiệu lực đến hết ngày {labels.vi_date(meta.valid_to)}."
    else:
        reason = "Còn hiệu lực, không ghi thời hạn."
    return ValidityView(document_id, meta.result_code, meta.type_code, day,
                        archived and in_dates, meta.valid_from, meta.valid_to, reason)
