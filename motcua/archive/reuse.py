"""Reuse (tái sử dụng): link a document already in the warehouse into a later dossier.

A document is reusable for an owner when its metadata names that owner and a type, it is
archived, and it is valid on the day (valid_from <= day <= valid_to, open ends allowed).
Every reuse is a row of `reuses` (who, when, which document, which dossier, manual or
automatic) and an audit entry; the reports count the attached ones.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from motcua import db
from motcua.archive import audit
from motcua.archive.catalogue import Procedure
from motcua.errors import UserError


@dataclass(frozen=True)
class Candidate:
    document_id: int
    type_code: str
    owner_id: str
    name: str | None
    number_symbol: str | None
    issue_date: str | None
    valid_from: str | None
    valid_to: str | None
    dossier_code: str | None  # the dossier it was digitized in
    result_code: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Reuse:
    document_id: int
    dossier_code: str
    type_code: str | None
    status: str  # "proposed" | "attached"
    mode: str  # "manual" | "auto"
    actor: str


@dataclass(frozen=True)
class AutoReuseOutcome:
    mode: str  # "attach" | "propose" | "off"
    attached: tuple[Candidate, ...]
    proposed: tuple[Candidate, ...]
    missing: tuple[str, ...]  # required type codes the dossier still lacks


_CANDIDATE_SQL = (
    "SELECT d.id, m.type_code, m.owner_id, m.name, m.number_symbol, m.issue_date,"
    " m.valid_from, m.valid_to, d.dossier_code, m.result_code"
    " FROM document_meta m JOIN documents d ON d.id = m.document_id"
    " WHERE m.owner_id = ? AND m.type_code IS NOT NULL"
    " AND d.state IN ('archived', 'indexed')"
    " AND (m.valid_from IS NULL OR m.valid_from <= ?)"
    " AND (m.valid_to IS NULL OR m.valid_to >= ?)"
)


def find_valid(conn: sqlite3.Connection, owner_id: str, type_code: str | None = None,
               on: date | None = None) -> list[Candidate]:
    """The owner's documents valid on `on` (today by default), newest first per type."""
    day = (on or date.today()).isoformat()
    sql, args = _CANDIDATE_SQL, [owner_id, day, day]
    if type_code:
        sql += " AND m.type_code = ?"
        args.append(type_code)
    sql += " ORDER BY m.type_code, COALESCE(m.issue_date, '') DESC, d.id DESC"
    return [Candidate(*row) for row in conn.execute(sql, args)]


def _dossier(conn: sqlite3.Connection, code: str) -> sqlite3.Row:
    row = conn.execute("SELECT code, owner_id, procedure_code FROM dossiers WHERE code = ?",
                       (code,)).fetchone()
    if row is None:
        raise UserError(f"Không có hồ sơ mã {code}.", f"no dossier {code}")
    return row


def _link(conn: sqlite3.Connection, cand: Candidate, dossier_code: str, actor: str,
          mode: str, status: str) -> Reuse:
    now = db.now()
    existing = conn.execute("SELECT status FROM reuses WHERE document_id = ? AND dossier_code = ?",
                            (cand.document_id, dossier_code)).fetchone()
    if existing is not None and existing["status"] == "attached":
        return Reuse(cand.document_id, dossier_code, cand.type_code, "attached", mode, actor)
    if existing is not None and status == "proposed":
        return Reuse(cand.document_id, dossier_code, cand.type_code, "proposed", mode, actor)
    if existing is None:
        conn.execute(
            "INSERT INTO reuses (document_id, dossier_code, type_code, status, mode, actor,"
            " created_at, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (cand.document_id, dossier_code, cand.type_code, status, mode, actor, now,
             now if status == "attached" else None),
        )
    else:
        conn.execute("UPDATE reuses SET status = 'attached', attached_at = ?, actor = ?,"
                     " mode = ? WHERE document_id = ? AND dossier_code = ?",
                     (now, actor, mode, cand.document_id, dossier_code))
    audit.record(conn, "reuse.attach" if status == "attached" else "reuse.propose",
                 f"document:{cand.document_id}", actor,
                 {"dossier": dossier_code, "type_code": cand.type_code, "mode": mode})
    return Reuse(cand.document_id, dossier_code, cand.type_code, status, mode, actor)


def attach(conn: sqlite3.Connection, document_id: int, dossier_code: str, actor: str,
           on: date | None = None) -> Reuse:
    """Link a valid document of the dossier's owner into the dossier (`reuse attach`)."""
    with db.transaction(conn):
        dossier = _dossier(conn, dossier_code)
        meta = conn.execute(
            "SELECT m.owner_id, m.type_code, d.dossier_code FROM documents d"
            " LEFT JOIN document_meta m ON m.document_id = d.id WHERE d.id = ?",
            (document_id,)).fetchone()
        if meta is None:
            raise UserError(f"Không có tài liệu số {document_id}.", f"no document {document_id}")
        if meta["dossier_code"] == dossier_code:
            raise UserError(f"Tài liệu số {document_id} vốn đã thuộc hồ sơ {dossier_code}.",
                            "document already in dossier")
        if not meta["owner_id"] or not meta["type_code"]:
            raise UserError(
                f"Tài liệu số {document_id} chưa có chủ sở hữu hoặc loại giấy tờ; hãy bổ sung "
                "bằng “motcua doc meta” trước khi tái sử dụng.",
                "document without owner/type",
            )
        if dossier["owner_id"] and meta["owner_id"] != dossier["owner_id"]:
            raise UserError(
                f"Tài liệu số {document_id} thuộc chủ sở hữu {meta['owner_id']}, còn hồ sơ "
                f"{dossier_code} của {dossier['owner_id']}; không thể tái sử dụng.",
                "owner mismatch",
            )
        valid = [c for c in find_valid(conn, meta["owner_id"], meta["type_code"], on)
                 if c.document_id == document_id]
        if not valid:
            raise UserError(
                f"Tài liệu số {document_id} đã hết hiệu lực hoặc chưa đến ngày có hiệu lực "
                "nên không thể tái sử dụng.",
                "document not valid today",
            )
        return _link(conn, valid[0], dossier_code, actor, "manual", "attached")


def present_types(conn: sqlite3.Connection, dossier_code: str) -> set[str]:
    """Document types the dossier holds: its own scans (with metadata) and attached reuses."""
    own = {r[0] for r in conn.execute(
        "SELECT m.type_code FROM documents d JOIN document_meta m ON m.document_id = d.id"
        " WHERE d.dossier_code = ? AND m.type_code IS NOT NULL", (dossier_code,))}
    reused = {r[0] for r in conn.execute(
        "SELECT m.type_code FROM reuses r JOIN document_meta m ON m.document_id = r.document_id"
        " WHERE r.dossier_code = ? AND r.status = 'attached' AND m.type_code IS NOT NULL",
        (dossier_code,))}
    return own | reused


def missing_types(conn: sqlite3.Connection, dossier_code: str, procedure: Procedure
                  ) -> tuple[str, ...]:
    have = present_types(conn, dossier_code)
    return tuple(t for t in procedure.requires if t not in have)


def auto_reuse(conn: sqlite3.Connection, dossier_code: str, owner_id: str,
               procedure: Procedure, mode: str, actor: str, on: date | None = None
               ) -> AutoReuseOutcome:
    """On dossier creation: for each reusable type the procedure requires and the dossier
    lacks, take the owner's newest valid document and attach it (mode "attach") or
    propose it (mode "propose"). Runs in the caller's transaction if one is open."""
    attached: list[Candidate] = []
    proposed: list[Candidate] = []
    if mode != "off":
        have = present_types(conn, dossier_code)
        for type_code in procedure.reusable:
            if type_code in have:
                continue
            found = find_valid(conn, owner_id, type_code, on)
            if not found:
                continue
            cand = found[0]
            status = "attached" if mode == "attach" else "proposed"
            _link(conn, cand, dossier_code, actor, "auto", status)
            (attached if status == "attached" else proposed).append(cand)
    return AutoReuseOutcome(mode, tuple(attached), tuple(proposed),
                            missing_types(conn, dossier_code, procedure))


def reuses_of(conn: sqlite3.Connection, dossier_code: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT r.document_id, r.type_code, r.status, r.mode, r.actor, r.created_at,"
        " r.attached_at, m.name, m.valid_to FROM reuses r"
        " LEFT JOIN document_meta m ON m.document_id = r.document_id"
        " WHERE r.dossier_code = ? ORDER BY r.id", (dossier_code,))]
