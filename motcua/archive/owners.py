"""Owners of the warehouse: citizens (12-digit personal ID) and organisations (tax code)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from motcua import db, labels
from motcua.archive import audit
from motcua.archive.ids import classify_owner_id
from motcua.errors import UserError

KIND_LABELS = labels.OWNER_KINDS


@dataclass(frozen=True)
class Owner:
    id: str
    kind: str  # "citizen" | "organisation"
    name: str
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name,
                "created_at": self.created_at}


def _row(row: sqlite3.Row) -> Owner:
    return Owner(row["id"], row["kind"], row["name"], row["created_at"])


def add_owner(conn: sqlite3.Connection, raw_id: str, name: str, actor: str,
              check_digit: bool = True) -> Owner:
    """Validate the ID, then add the owner. Adding the same ID and name again is a no-op;
    the same ID with another name is refused."""
    oid = classify_owner_id(raw_id, check_digit)
    name = " ".join(name.split())
    if not name:
        raise UserError("Tên chủ sở hữu đang để trống.", "empty owner name")
    with db.transaction(conn):
        existing = conn.execute("SELECT * FROM owners WHERE id = ?", (oid.value,)).fetchone()
        if existing is not None:
            if existing["name"] != name:
                raise UserError(
                    f"Mã định danh {oid.value} đã thuộc về “{existing['name']}”, "
                    f"không thể ghi thêm cho “{name}”.",
                    f"owner {oid.value} exists with another name",
                )
            return _row(existing)
        created = db.now()
        conn.execute("INSERT INTO owners (id, kind, name, created_at) VALUES (?, ?, ?, ?)",
                     (oid.value, oid.kind, name, created))
        audit.record(conn, "owner.add", f"owner:{oid.value}", actor,
                     {"kind": oid.kind, "name": name})
    return Owner(oid.value, oid.kind, name, created)


def rename_owner(conn: sqlite3.Connection, owner_id: str, name: str, actor: str) -> Owner:
    """Correct an owner's name (a typing error at the counter); the old and new names go
    into the audit log. The caller refreshes the search index of the owner's documents."""
    name = " ".join(name.split())
    if not name:
        raise UserError("Tên chủ sở hữu đang để trống.", "empty owner name")
    with db.transaction(conn):
        owner = get_owner(conn, owner_id)
        if owner.name == name:
            return owner
        conn.execute("UPDATE owners SET name = ? WHERE id = ?", (name, owner.id))
        audit.record(conn, "owner.rename", f"owner:{owner.id}", actor,
                     {"old": owner.name, "new": name})
    return Owner(owner.id, owner.kind, name, owner.created_at)


def find_owner(conn: sqlite3.Connection, owner_id: str) -> Owner | None:
    row = conn.execute("SELECT * FROM owners WHERE id = ?",
                       (owner_id.strip().replace(" ", ""),)).fetchone()
    return _row(row) if row else None


def get_owner(conn: sqlite3.Connection, owner_id: str) -> Owner:
    owner = find_owner(conn, owner_id)
    if owner is None:
        raise UserError(
            f"Chưa có chủ sở hữu mã {owner_id} trong kho. Thêm bằng "
            f"“motcua owner add {owner_id} --name …”.",
            f"no owner {owner_id}",
        )
    return owner


def owner_record(conn: sqlite3.Connection, owner_id: str) -> dict[str, Any]:
    """Owner, their dossiers and their documents (for `owner show` and exports)."""
    owner = get_owner(conn, owner_id)
    dossiers = [dict(r) for r in conn.execute(
        "SELECT code, procedure_code, procedure_name, field, channel, received_at"
        " FROM dossiers WHERE owner_id = ? ORDER BY received_at, code", (owner.id,))]
    documents = [dict(r) for r in conn.execute(
        "SELECT d.id, d.original_name, d.dossier_code, m.role, m.type_code, m.name,"
        " m.number_symbol, m.issue_date, m.valid_from, m.valid_to, m.result_code"
        " FROM document_meta m JOIN documents d ON d.id = m.document_id"
        " WHERE m.owner_id = ? ORDER BY d.id", (owner.id,))]
    return {"owner": owner.as_dict(), "dossiers": dossiers, "documents": documents}


def set_contact(conn: sqlite3.Connection, owner_id: str, actor: str, *,
                address: str | None = None, phone: str | None = None) -> dict[str, str]:
    """Record the owner's address and/or phone (printed on the one-stop forms); None
    leaves a value as it is. Returns the contact now on record."""
    owner = get_owner(conn, owner_id)
    changes = {k: " ".join(v.split()) for k, v in (("address", address), ("phone", phone))
               if v is not None}
    if phone is not None and changes["phone"] and \
            not all(c.isdigit() or c in " +.-()" for c in changes["phone"]):
        raise UserError(f"Số điện thoại “{phone}” chỉ được gồm chữ số, dấu cách và + . - ( ).",
                        "bad phone")
    with db.transaction(conn):
        for column, value in changes.items():
            conn.execute(f"UPDATE owners SET {column} = ? WHERE id = ?", (value or None,
                                                                         owner.id))
        if changes:
            audit.record(conn, "owner.contact", f"owner:{owner.id}", actor, changes)
    row = conn.execute("SELECT address, phone FROM owners WHERE id = ?", (owner.id,)).fetchone()
    return {"address": row["address"] or "", "phone": row["phone"] or ""}
