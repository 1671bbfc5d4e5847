"""Export to and import from BagIt bags (the `bagit` package, SHA-256 manifests).

A bag holds, under data/:
    metadata.json                  owners, dossiers, documents (rows, metadata, pages,
                                   identifiers, stamp), reuses; format "motcua-export/1"
    files/<sha256>/original<ext>   the original, byte for byte
    files/<sha256>/archival.pdf    the archival PDF/A, if any
    files/<sha256>/stamped.pdf     the stamped copy, if any
Documents are cross-referenced by the SHA-256 of their original, never by row id.

Import validates the whole bag (every manifest checksum, the payload oxum) and every
file against metadata.json before it writes anything; a tampered bag is refused.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import bagit

from motcua import SYSTEM_NAME, __version__, db
from motcua.archive import audit, store
from motcua.errors import UserError
from motcua.workspace import Workspace

log = logging.getLogger(__name__)

FORMAT = "motcua-export/1"
FILE_ROLES = (("original", "original_path", "sha256"),
              ("archival", "archival_path", "archival_sha256"))
DOC_COLUMNS = ("sha256", "original_name", "media_type", "size", "original_path",
               "archival_path", "archival_sha256", "page_count", "dossier_code",
               "dossier_source", "state", "ocr_seconds", "ingested_at", "updated_at")
META_COLUMNS = ("role", "type_code", "owner_id", "name", "number_symbol", "issue_date",
                "issuing_body", "summary", "valid_from", "valid_to", "validity_scope",
                "result_code", "result_no", "updated_at")
REUSE_COLUMNS = ("dossier_code", "type_code", "status", "mode", "actor", "created_at",
                 "attached_at")
DOSSIER_COLUMNS = ("code", "created_at", "procedure_code", "procedure_name", "field",
                   "channel", "owner_id", "received_at")


@dataclass(frozen=True)
class ExportOutcome:
    path: Path
    owners: int
    dossiers: int
    documents: int
    files: int


@dataclass(frozen=True)
class ImportOutcome:
    owners: int
    dossiers: int
    documents: int  # new documents
    skipped_documents: int  # already in this workspace (same SHA-256)
    files: int
    indexed: int


# ---------------------------------------------------------------------------------------
# Export


def _select_ids(conn: sqlite3.Connection, owner: str | None, dossier: str | None
                ) -> tuple[set[int], set[str]]:
    """Document ids and dossier codes in scope."""
    if dossier is not None:
        if conn.execute("SELECT 1 FROM dossiers WHERE code = ?", (dossier,)).fetchone() is None:
            raise UserError(f"Không có hồ sơ mã {dossier}.", f"no dossier {dossier}")
        codes = {dossier}
        docs = {r[0] for r in conn.execute(
            "SELECT id FROM documents WHERE dossier_code = ?", (dossier,))}
    elif owner is not None:
        if conn.execute("SELECT 1 FROM owners WHERE id = ?", (owner,)).fetchone() is None:
            raise UserError(f"Chưa có chủ sở hữu mã {owner} trong kho.", f"no owner {owner}")
        codes = {r[0] for r in conn.execute("SELECT code FROM dossiers WHERE owner_id = ?",
                                            (owner,))}
        docs = {r[0] for r in conn.execute(
            "SELECT document_id FROM document_meta WHERE owner_id = ?", (owner,))}
        for code in codes:
            docs |= {r[0] for r in conn.execute(
                "SELECT id FROM documents WHERE dossier_code = ?", (code,))}
    else:
        codes = {r[0] for r in conn.execute("SELECT code FROM dossiers")}
        docs = {r[0] for r in conn.execute("SELECT id FROM documents")}
    for code in list(codes):
        docs |= {r[0] for r in conn.execute(
            "SELECT document_id FROM reuses WHERE dossier_code = ?", (code,))}
    # Home dossiers of every document (the foreign key needs them on import).
    for doc_id in docs:
        row = conn.execute("SELECT dossier_code FROM documents WHERE id = ?",
                           (doc_id,)).fetchone()
        if row and row[0]:
            codes.add(row[0])
    return docs, codes


def collect_metadata(ws: Workspace, conn: sqlite3.Connection, owner: str | None = None,
                     dossier: str | None = None) -> dict[str, Any]:
    doc_ids, codes = _select_ids(conn, owner, dossier)
    dossiers = [dict(r) for r in conn.execute(
        f"SELECT {', '.join(DOSSIER_COLUMNS)} FROM dossiers WHERE code IN "
        f"({', '.join('?' * len(codes))}) ORDER BY code", sorted(codes))] if codes else []
    documents: list[dict[str, Any]] = []
    owner_ids = {d["owner_id"] for d in dossiers if d["owner_id"]}
    sha_of: dict[int, str] = {}
    for doc_id in sorted(doc_ids):
        row = conn.execute(f"SELECT id, {', '.join(DOC_COLUMNS)} FROM documents WHERE id = ?",
                           (doc_id,)).fetchone()
        sha_of[doc_id] = row["sha256"]
        meta = conn.execute(f"SELECT {', '.join(META_COLUMNS)} FROM document_meta"
                            " WHERE document_id = ?", (doc_id,)).fetchone()
        if meta and meta["owner_id"]:
            owner_ids.add(meta["owner_id"])
        stamp = conn.execute("SELECT kind, stamped_path, stamped_sha256, fields_json,"
                             " operator, stamped_at FROM stamps WHERE document_id = ?",
                             (doc_id,)).fetchone()
        files: dict[str, dict[str, str]] = {}
        for role, path_col, sha_col in FILE_ROLES:
            if row[path_col] and row[sha_col]:
                ext = PurePosixPath(row[path_col]).suffix if role == "original" else ".pdf"
                files[role] = {"bag_path": f"data/files/{row['sha256']}/{role}{ext}",
                               "store_path": row[path_col], "sha256": row[sha_col]}
        if stamp:
            files["stamped"] = {"bag_path": f"data/files/{row['sha256']}/stamped.pdf",
                                "store_path": stamp["stamped_path"],
                                "sha256": stamp["stamped_sha256"]}
        documents.append({
            "id": doc_id,
            "row": {c: row[c] for c in DOC_COLUMNS},
            "meta": dict(meta) if meta else None,
            "pages": [dict(p) for p in conn.execute(
                "SELECT page_no, text, confidence, ocr_done, needs_rescan FROM pages"
                " WHERE document_id = ? ORDER BY page_no", (doc_id,))],
            "identifiers": [dict(i) for i in conn.execute(
                "SELECT kind, value, page_no FROM identifiers WHERE document_id = ?"
                " ORDER BY kind, value", (doc_id,))],
            "stamp": ({k: stamp[k] for k in ("kind", "fields_json", "operator", "stamped_at")}
                      if stamp else None),
            "files": files,
        })
    owners = [dict(r) for r in conn.execute(
        f"SELECT id, kind, name, created_at FROM owners WHERE id IN "
        f"({', '.join('?' * len(owner_ids))}) ORDER BY id", sorted(owner_ids))
    ] if owner_ids else []
    reuses = [
        {"document_sha256": sha_of[r["document_id"]], **{k: r[k] for k in REUSE_COLUMNS}}
        for r in conn.execute(f"SELECT document_id, {', '.join(REUSE_COLUMNS)} FROM reuses"
                              " ORDER BY id")
        if r["document_id"] in sha_of and r["dossier_code"] in codes
    ]
    return {
        "format": FORMAT,
        "system": SYSTEM_NAME,
        "version": __version__,
        "exported_at": db.now(),
        "agency": {"code": ws.config.agency.code, "name": ws.config.agency.name},
        "scope": {"owner": owner, "dossier": dossier, "all": owner is None and dossier is None},
        "owners": owners,
        "dossiers": dossiers,
        "documents": documents,
        "reuses": reuses,
    }


def export_bag(ws: Workspace, conn: sqlite3.Connection, out: Path, actor: str, *,
               owner: str | None = None, dossier: str | None = None) -> ExportOutcome:
    """Write a bag at `out` (which must not exist, or be an empty folder)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"Thư mục {out} đã có và không trống; hãy chọn thư mục khác.",
                        f"export target {out} exists")
    metadata = collect_metadata(ws, conn, owner, dossier)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        n_files = 0
        for doc in metadata["documents"]:
            for info in doc["files"].values():
                src = ws.absolute(info["store_path"])
                dest = staging / PurePosixPath(info["bag_path"]).relative_to("data")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                if store.sha256_file(dest) != info["sha256"]:
                    raise UserError(
                        f"Tệp {info['store_path']} trong kho không khớp mã kiểm tra đã ghi; "
                        "chạy “motcua verify” rồi xử lý trước khi xuất.",
                        f"checksum mismatch exporting {src}",
                    )
                n_files += 1
        (staging / "metadata.json").write_text(
            json.dumps(metadata, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
        scope = (f"hồ sơ {dossier}" if dossier else f"chủ sở hữu {owner}" if owner
                 else "toàn bộ kho")
        bagit.make_bag(str(staging), bag_info={
            "Source-Organization": ws.config.agency.name,
            "External-Description": f"Dữ liệu xuất từ {SYSTEM_NAME}: {scope}",
            "External-Identifier": dossier or owner or "all",
            "Bag-Group-Identifier": ws.config.agency.code,
        }, checksums=["sha256"])
        if out.exists():
            out.rmdir()
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    audit.record(conn, "export", f"dossier:{dossier}" if dossier else
                 f"owner:{owner}" if owner else "all", actor,
                 {"path": str(out), "documents": len(metadata["documents"]), "files": n_files})
    return ExportOutcome(out, len(metadata["owners"]), len(metadata["dossiers"]),
                         len(metadata["documents"]), n_files)


# ---------------------------------------------------------------------------------------
# Import


def _utc_times(dossier: dict[str, Any]) -> dict[str, Any]:
    """A bag written before times were stored in UTC carries received_at with the
    centre's offset: store the same instant in UTC, like every other *_at column."""
    from datetime import datetime

    from motcua import labels

    value = dossier.get("received_at")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return dossier
        if moment.tzinfo is not None:
            return dossier | {"received_at": labels.utc_iso(moment)}
    return dossier


def _refuse(bag_path: Path, why: str, detail: str) -> UserError:
    return UserError(
        f"Từ chối nhập gói dữ liệu {bag_path}: {why} Không có dữ liệu nào được nhập.",
        detail,
    )


def _safe_store_path(value: str) -> str:
    p = PurePosixPath(value)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] != "store" \
            or len(p.parts) < 3 or p.parts[1] not in ("originals", "archival", "stamped"):
        raise ValueError(f"unsafe store path {value!r}")
    return str(p)


def check_bag(bag_path: Path) -> dict[str, Any]:
    """Validate a bag completely and return its metadata; raise UserError if it is not
    a bag, is incomplete, or any checksum differs."""
    try:
        bag = bagit.Bag(str(bag_path))
    except bagit.BagError as exc:
        raise _refuse(bag_path, "đây không phải gói BagIt hợp lệ (thiếu bagit.txt hoặc "
                                "tệp khai báo).", str(exc)) from exc
    if "sha256" not in bag.algorithms:
        raise _refuse(bag_path, "gói không có danh sách mã kiểm tra SHA-256.",
                      f"algorithms {bag.algorithms}")
    try:
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        names = [str(getattr(d, "path", d)) for d in getattr(exc, "details", [])][:5]
        listed = f" Tệp bị ảnh hưởng: {', '.join(names)}." if names else ""
        raise _refuse(bag_path, "nội dung gói đã bị thay đổi hoặc thiếu tệp so với danh sách "
                                f"mã kiểm tra (gói bị can thiệp hoặc hỏng).{listed}",
                      str(exc)) from exc
    except bagit.BagError as exc:
        raise _refuse(bag_path, "gói không đọc được.", str(exc)) from exc
    root = Path(bag.path)
    try:
        metadata: dict[str, Any] = json.loads(
            (root / "data" / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _refuse(bag_path, "thiếu hoặc hỏng tệp metadata.json.", str(exc)) from exc
    if metadata.get("format") != FORMAT:
        raise _refuse(bag_path, f"định dạng “{metadata.get('format')}” không được hỗ trợ.",
                      "bad format")
    for doc in metadata["documents"]:
        for role, info in doc["files"].items():
            bag_file = root / PurePosixPath(info["bag_path"])
            try:
                _safe_store_path(info["store_path"])
            except ValueError as exc:
                raise _refuse(bag_path, "đường dẫn tệp trong metadata.json không hợp lệ.",
                              str(exc)) from exc
            if not bag_file.is_file() or store.sha256_file(bag_file) != info["sha256"]:
                raise _refuse(bag_path, f"tệp {info['bag_path']} ({role}) không khớp mã kiểm "
                                        "tra ghi trong metadata.json.",
                              f"checksum mismatch {info['bag_path']}")
    return metadata


def import_bag(ws: Workspace, conn: sqlite3.Connection, bag_path: Path, actor: str,
               index: bool = True) -> ImportOutcome:
    metadata = check_bag(bag_path)
    root = Path(bag_path)
    # Files first, each durably, then all rows in one transaction.
    n_files = 0
    for doc in metadata["documents"]:
        if conn.execute("SELECT 1 FROM documents WHERE sha256 = ?",
                        (doc["row"]["sha256"],)).fetchone():
            continue
        for info in doc["files"].values():
            store.durable_copy(root / PurePosixPath(info["bag_path"]),
                               ws.root / _safe_store_path(info["store_path"]),
                               store.process_tmp(ws.tmp), info["sha256"])
            n_files += 1
    new_owners = new_dossiers = new_docs = skipped = 0
    new_ids: list[int] = []
    with db.transaction(conn):
        for o in metadata["owners"]:
            cur = conn.execute("INSERT OR IGNORE INTO owners (id, kind, name, created_at)"
                               " VALUES (?, ?, ?, ?)",
                               (o["id"], o["kind"], o["name"], o["created_at"]))
            new_owners += max(cur.rowcount, 0)
        for d in metadata["dossiers"]:
            d = _utc_times(d)
            existing = conn.execute("SELECT procedure_code FROM dossiers WHERE code = ?",
                                    (d["code"],)).fetchone()
            if existing is None:
                conn.execute(f"INSERT INTO dossiers ({', '.join(DOSSIER_COLUMNS)}) VALUES"
                             f" ({', '.join('?' * len(DOSSIER_COLUMNS))})",
                             [d[c] for c in DOSSIER_COLUMNS])
                new_dossiers += 1
            elif existing[0] is None:
                cols = [c for c in DOSSIER_COLUMNS if c not in ("code", "created_at")]
                conn.execute(f"UPDATE dossiers SET {', '.join(f'{c} = ?' for c in cols)}"
                             " WHERE code = ?", [*(d[c] for c in cols), d["code"]])
        id_of: dict[str, int] = {}
        for doc in metadata["documents"]:
            row = doc["row"]
            found = conn.execute("SELECT id FROM documents WHERE sha256 = ?",
                                 (row["sha256"],)).fetchone()
            if found:
                id_of[row["sha256"]] = int(found[0])
                skipped += 1
                continue
            values = dict(row)
            if values["state"] == "indexed":
                values["state"] = "archived"  # indexed again below, in this workspace
            cur = conn.execute(f"INSERT INTO documents ({', '.join(DOC_COLUMNS)}) VALUES"
                               f" ({', '.join('?' * len(DOC_COLUMNS))})",
                               [values[c] for c in DOC_COLUMNS])
            doc_id = int(cur.lastrowid or 0)
            id_of[row["sha256"]] = doc_id
            new_ids.append(doc_id)
            new_docs += 1
            conn.executemany(
                "INSERT INTO pages (document_id, page_no, text, confidence, ocr_done,"
                " needs_rescan) VALUES (?, ?, ?, ?, ?, ?)",
                [(doc_id, p["page_no"], p["text"], p["confidence"], p["ocr_done"],
                  p["needs_rescan"]) for p in doc["pages"]])
            conn.executemany(
                "INSERT INTO identifiers (document_id, kind, value, page_no) VALUES (?, ?, ?, ?)",
                [(doc_id, i["kind"], i["value"], i["page_no"]) for i in doc["identifiers"]])
            if doc["meta"]:
                conn.execute(
                    f"INSERT INTO document_meta (document_id, {', '.join(META_COLUMNS)})"
                    f" VALUES (?, {', '.join('?' * len(META_COLUMNS))})",
                    [doc_id, *(doc["meta"][c] for c in META_COLUMNS)])
            if doc["stamp"] and "stamped" in doc["files"]:
                st, f = doc["stamp"], doc["files"]["stamped"]
                conn.execute(
                    "INSERT INTO stamps (document_id, kind, stamped_path, stamped_sha256,"
                    " fields_json, operator, stamped_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (doc_id, st["kind"], f["store_path"], f["sha256"], st["fields_json"],
                     st["operator"], st["stamped_at"]))
        for r in metadata["reuses"]:
            reused_id = id_of.get(r["document_sha256"])
            if reused_id is None:
                continue
            conn.execute(
                "INSERT OR IGNORE INTO reuses (document_id, dossier_code, type_code, status,"
                " mode, actor, created_at, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (reused_id, r["dossier_code"], r["type_code"], r["status"], r["mode"],
                 r["actor"], r["created_at"], r["attached_at"]))
        audit.record(conn, "import", "bag", actor,
                     {"path": str(bag_path), "documents": new_docs, "skipped": skipped,
                      "exported_at": metadata.get("exported_at"),
                      "agency": metadata.get("agency")})
    from motcua.archive.indexing import index_documents

    indexed = index_documents(ws, conn, new_ids) if index and new_ids else 0
    return ImportOutcome(new_owners, new_dossiers, new_docs, skipped, n_files, indexed)
