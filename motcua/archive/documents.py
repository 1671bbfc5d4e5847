"""Metadata of a digitized document (Thông tư 01/2023/TT-VPCP) and results.

Minimum metadata: document type code, owner ID, name, number and symbol, issue date,
issuing body, summary, validity from / to, validity scope. A result (kết quả giải quyết)
is a document with role "result" and the code `<dossier code>-KQ<n>`; it is kept byte for
byte (usually a signed PDF) and stamped "KẾT QUẢ ĐIỆN TỬ" on a separate copy.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from motcua import db, labels
from motcua.archive import audit, store
from motcua.archive.ids import result_code
from motcua.errors import UserError
from motcua.workspace import Workspace

EDITABLE = ("type_code", "owner_id", "name", "number_symbol", "issue_date", "issuing_body",
            "summary", "valid_from", "valid_to", "validity_scope")
DATE_FIELDS = ("issue_date", "valid_from", "valid_to")
FIELD_LABELS = {
    "type_code": "mã loại giấy tờ", "owner_id": "mã định danh chủ sở hữu",
    "name": "tên giấy tờ", "number_symbol": "số, ký hiệu", "issue_date": "ngày ban hành",
    "issuing_body": "cơ quan ban hành", "summary": "trích yếu",
    "valid_from": "hiệu lực từ ngày", "valid_to": "hiệu lực đến ngày",
    "validity_scope": "phạm vi hiệu lực",
}


@dataclass(frozen=True)
class DocumentMeta:
    document_id: int
    role: str = "component"  # "component" | "result"
    type_code: str | None = None
    owner_id: str | None = None
    name: str | None = None
    number_symbol: str | None = None
    issue_date: str | None = None  # YYYY-MM-DD
    issuing_body: str | None = None
    summary: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    validity_scope: str | None = None
    result_code: str | None = None
    result_no: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_META_COLUMNS = tuple(f.name for f in fields(DocumentMeta))


def parse_date(value: str, label: str = "ngày") -> str:
    """The one day parser (`labels.parse_day`), as the YYYY-MM-DD the columns hold."""
    return labels.parse_day(value, label).isoformat()


def resolve_document(conn: sqlite3.Connection, ref: str) -> int:
    """A document by its id, a result code, a unique prefix (≥ 8) of its SHA-256, or the
    path of a file whose bytes are archived (the scan a clerk still has at hand)."""
    ref = ref.strip()
    candidate = Path(ref)
    if not ref.isdigit() and candidate.is_file():
        from motcua.archive.store import sha256_file

        row = conn.execute("SELECT id FROM documents WHERE sha256 = ?",
                           (sha256_file(candidate),)).fetchone()
        if row:
            return int(row[0])
        raise UserError(f"Tệp “{ref}” chưa được số hóa (không có trong kho lưu trữ).",
                        f"file {ref!r} not archived")
    if ref.isdigit():
        row = conn.execute("SELECT id FROM documents WHERE id = ?", (int(ref),)).fetchone()
        if row:
            return int(row[0])
    row = conn.execute("SELECT document_id FROM document_meta WHERE result_code = ?",
                       (ref,)).fetchone()
    if row:
        return int(row[0])
    if re.fullmatch(r"[0-9a-fA-F]{8,64}", ref):
        rows = conn.execute("SELECT id FROM documents WHERE sha256 LIKE ?",
                            (ref.lower() + "%",)).fetchall()
        if len(rows) == 1:
            return int(rows[0][0])
    raise UserError(
        f"Không tìm thấy tài liệu “{ref}” (nhập số tài liệu, mã kết quả hoặc mã SHA-256).",
        f"no document {ref!r}",
    )


def get_meta(conn: sqlite3.Connection, document_id: int) -> DocumentMeta:
    row = conn.execute("SELECT * FROM document_meta WHERE document_id = ?",
                       (document_id,)).fetchone()
    if row is None:
        return DocumentMeta(document_id)
    return DocumentMeta(**{c: row[c] for c in _META_COLUMNS})


def set_meta(conn: sqlite3.Connection, document_id: int, actor: str,
             changes: dict[str, str | None], known_types: dict[str, str] | None = None
             ) -> DocumentMeta:
    """Update some metadata fields (None leaves a field as it is, "" clears it). Every
    change is recorded in the audit log with its old and new value."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    clean: dict[str, str | None] = {}
    for key, value in changes.items():
        if value is None:
            continue
        value = " ".join(value.split())
        if value == "":
            clean[key] = None
            continue
        if key in DATE_FIELDS:
            value = parse_date(value, FIELD_LABELS[key])
        if key == "type_code" and known_types is not None and value not in known_types:
            raise UserError(
                f"Mã loại giấy tờ “{value}” không có trong danh mục; các mã hợp lệ: "
                f"{', '.join(sorted(known_types))}.",
                f"unknown type code {value!r}",
            )
        clean[key] = value
    with db.transaction(conn):
        if conn.execute("SELECT 1 FROM documents WHERE id = ?", (document_id,)).fetchone() is None:
            raise UserError(f"Không có tài liệu số {document_id}.", f"no document {document_id}")
        if clean.get("owner_id"):
            owner = conn.execute("SELECT id FROM owners WHERE id = ?",
                                 (clean["owner_id"],)).fetchone()
            if owner is None:
                raise UserError(
                    f"Chưa có chủ sở hữu mã {clean['owner_id']}; thêm trước bằng "
                    "“motcua owner add”.",
                    f"no owner {clean['owner_id']}",
                )
        before = get_meta(conn, document_id)
        merged = before.as_dict() | clean
        vf, vt = merged.get("valid_from"), merged.get("valid_to")
        if vf and vt and vt < vf:
            raise UserError(
                f"Ngày hết hiệu lực ({vt}) trước ngày bắt đầu hiệu lực ({vf}).",
                "valid_to before valid_from",
            )
        _write_meta(conn, DocumentMeta(**merged))
        diff = {k: {"old": getattr(before, k), "new": v} for k, v in clean.items()
                if getattr(before, k) != v}
        if diff:
            audit.record(conn, "meta.update", f"document:{document_id}", actor, diff)
    return get_meta(conn, document_id)


def _write_meta(conn: sqlite3.Connection, meta: DocumentMeta) -> None:
    cols = [*_META_COLUMNS, "updated_at"]
    values = [*(getattr(meta, c) for c in _META_COLUMNS), db.now()]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "document_id")
    conn.execute(
        f"INSERT INTO document_meta ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        f" ON CONFLICT(document_id) DO UPDATE SET {updates}",
        values,
    )


def is_valid_on(meta: DocumentMeta, day: date) -> bool:
    iso = day.isoformat()
    return (meta.valid_from is None or meta.valid_from <= iso) and (
        meta.valid_to is None or meta.valid_to >= iso)


# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class AddedResult:
    document_id: int
    result_code: str
    sha256: str
    stored_path: str
    new_file: bool


def _pdf_pages_text(path: Path) -> list[str]:
    """Text per page of a born-digital PDF (pdftotext, form feeds between pages)."""
    try:
        out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                             capture_output=True, check=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    pages = out.decode("utf-8", "replace").split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return pages


@dataclass(frozen=True)
class _BornDigital:
    """A born-digital file durably in the store (or found there already)."""

    sha256: str
    relpath: str
    media_type: str
    page_texts: tuple[str, ...]
    page_count: int | None
    document_id: int | None  # the existing record of the same bytes, if any


def _store_born_digital(ws: Workspace, conn: sqlite3.Connection, file: Path) -> _BornDigital:
    """Copy a born-digital file (a signed result, an issued document) into the store byte
    for byte, with a PDF's text read by pdftotext (no OCR: the text is in the file)."""
    import pikepdf

    data_sha = hashlib.sha256(file.read_bytes()).hexdigest()
    existing = conn.execute("SELECT id FROM documents WHERE sha256 = ?", (data_sha,)).fetchone()
    media = "application/pdf" if file.suffix.lower() == ".pdf" else "application/octet-stream"
    rel = store.original_relpath(data_sha, file.suffix or ".bin")
    if existing is not None:
        return _BornDigital(data_sha, rel, media, (), None, int(existing["id"]))
    page_texts: list[str] = []
    page_count: int | None = None
    if media == "application/pdf":
        try:
            with pikepdf.open(file) as pdf:
                page_count = len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise UserError(
                f"Tệp {file.name} không phải PDF hợp lệ; hãy xuất lại tệp.", str(exc),
            ) from exc
        page_texts = _pdf_pages_text(file)
    store.durable_copy(file, ws.root / rel, store.process_tmp(ws.tmp), data_sha)
    return _BornDigital(data_sha, rel, media, tuple(page_texts), page_count, None)


def _insert_born_digital(conn: sqlite3.Connection, file: Path, born: _BornDigital,
                         dossier_code: str | None) -> int:
    """The document row ('archived': the file is its own archival form) and its pages."""
    now = db.now()
    cur = conn.execute(
        "INSERT INTO documents (sha256, original_name, media_type, size, original_path,"
        " page_count, dossier_code, dossier_source, state, ingested_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'archived', ?, ?)",
        (born.sha256, file.name, born.media_type, file.stat().st_size, born.relpath,
         born.page_count if born.page_count is not None else len(born.page_texts) or None,
         dossier_code, "manual" if dossier_code else None, now, now),
    )
    document_id = int(cur.lastrowid or 0)
    for no, text in enumerate(born.page_texts, start=1):
        conn.execute("INSERT INTO pages (document_id, page_no, text, confidence,"
                     " ocr_done) VALUES (?, ?, ?, NULL, 0)", (document_id, no, text))
    return document_id


def add_issued(ws: Workspace, conn: sqlite3.Connection, pdf: Path, actor: str, *,
               kind: str, meta: dict[str, str | None]) -> int:
    """Archive a document the centre issued (rendered from a template) byte for byte, so
    that staff find their own decisions and plans by search. Returns its document id;
    the same bytes archived again return the existing record."""
    born = _store_born_digital(ws, conn, pdf)
    if born.document_id is not None:
        return born.document_id
    with db.transaction(conn):
        document_id = _insert_born_digital(conn, pdf, born, None)
        conn.execute("INSERT INTO issued_documents (document_id, kind, issued_at)"
                     " VALUES (?, ?, ?)", (document_id, kind, db.now()))
        fields_given: dict[str, Any] = {k: (v or None) for k, v in meta.items()
                                        if k in EDITABLE}
        _write_meta(conn, DocumentMeta(document_id=document_id, **fields_given))
        audit.record(conn, "issued.add", f"document:{document_id}", actor,
                     {"kind": kind, "sha256": born.sha256, "file": pdf.name,
                      "number_symbol": meta.get("number_symbol")})
    return document_id


def add_result(ws: Workspace, conn: sqlite3.Connection, file: Path, dossier_code: str,
               actor: str, meta: dict[str, str | None] | None = None,
               known_types: dict[str, str] | None = None) -> AddedResult:
    """Store a result byte for byte and give it the next code `<dossier>-KQ<n>`.

    The original enters the store through `store.durable_copy`; a PDF's text (pdftotext,
    no OCR: a signed result is born digital) goes into `pages`, so it can be searched.
    The row is 'archived' with no separate archival copy: the result is its own archival
    form. The metadata owner defaults to the dossier's owner.
    """
    if not file.is_file():
        raise UserError(f"Không tìm thấy tệp kết quả {file}.", f"no file {file}")
    dossier = conn.execute("SELECT code, owner_id FROM dossiers WHERE code = ?",
                           (dossier_code,)).fetchone()
    if dossier is None:
        raise UserError(f"Không có hồ sơ mã {dossier_code}.", f"no dossier {dossier_code}")
    born = _store_born_digital(ws, conn, file)
    data_sha, rel, new_file = born.sha256, born.relpath, born.document_id is None
    with db.transaction(conn):
        if born.document_id is not None:
            document_id = born.document_id
            existing_dossier = conn.execute("SELECT dossier_code FROM documents WHERE id = ?",
                                            (document_id,)).fetchone()[0]
            if existing_dossier not in (None, dossier_code):
                raise UserError(
                    f"Tệp này đã được lưu trong hồ sơ {existing_dossier}.",
                    f"document {document_id} belongs to {existing_dossier}",
                )
            current = get_meta(conn, document_id)
            if current.role == "result" and current.result_code:
                return AddedResult(document_id, current.result_code, data_sha, rel, False)
            conn.execute("UPDATE documents SET dossier_code = ?, dossier_source = 'manual',"
                         " updated_at = ? WHERE id = ?", (dossier_code, db.now(), document_id))
        else:
            document_id = _insert_born_digital(conn, file, born, dossier_code)
        n = int(conn.execute("SELECT COALESCE(MAX(result_no), 0) FROM document_meta m"
                             " JOIN documents d ON d.id = m.document_id"
                             " WHERE d.dossier_code = ? AND m.role = 'result'",
                             (dossier_code,)).fetchone()[0]) + 1
        code = result_code(dossier_code, n)
        base = get_meta(conn, document_id)
        _write_meta(conn, DocumentMeta(**(base.as_dict() | {
            "role": "result", "result_code": code, "result_no": n,
            "owner_id": base.owner_id or dossier["owner_id"]})))
        audit.record(conn, "result.add", f"document:{document_id}", actor,
                     {"result_code": code, "dossier": dossier_code, "sha256": data_sha,
                      "file": file.name})
    if meta:
        set_meta(conn, document_id, actor, meta, known_types)
    return AddedResult(document_id, code, data_sha, rel, new_file)
