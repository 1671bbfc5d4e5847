"""Dossiers (hồ sơ): code, procedure, field, channel, owner, received date.

`new_dossier` gives the code (`<agency code>-YYMMDD-XXXX`, per-day sequence) or takes a
given one, then runs automatic reuse for the procedure. Later issues add due and
resolved dates.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from motcua import db, labels
from motcua.archive import audit
from motcua.archive.catalogue import Catalogue
from motcua.archive.ids import next_dossier_code, validate_dossier_code
from motcua.archive.reuse import AutoReuseOutcome, auto_reuse, missing_types, reuses_of
from motcua.archive.settings import centre_zone, local_now
from motcua.errors import UserError
from motcua.workspace import Workspace

CHANNELS = labels.CHANNELS


@dataclass(frozen=True)
class Dossier:
    code: str
    procedure_code: str | None
    procedure_name: str | None
    field: str | None
    channel: str | None
    owner_id: str | None
    received_at: str | None
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class NewDossier:
    dossier: Dossier
    reuse: AutoReuseOutcome


_COLS = "code, procedure_code, procedure_name, field, channel, owner_id, received_at, created_at"


def _row(row: sqlite3.Row) -> Dossier:
    return Dossier(*(row[c.strip()] for c in _COLS.split(",")))


def new_dossier(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue, *,
                procedure_code: str, owner_id: str, channel: str, actor: str,
                auto_reuse_mode: str = "attach", code: str | None = None,
                received_at: datetime | None = None) -> NewDossier:
    if channel not in CHANNELS:
        raise UserError(
            f"Kênh tiếp nhận “{channel}” không hợp lệ; chọn online (trực tuyến), "
            "direct (trực tiếp) hoặc post (bưu chính).",
            f"bad channel {channel!r}",
        )
    procedure = catalogue.get(procedure_code)
    received = received_at or local_now(ws)
    if received.tzinfo is None:
        received = received.replace(tzinfo=centre_zone(ws))
    with db.transaction(conn):
        owner = conn.execute("SELECT id FROM owners WHERE id = ?", (owner_id,)).fetchone()
        if owner is None:
            raise UserError(
                f"Chưa có chủ sở hữu mã {owner_id}; thêm trước bằng "
                f"“motcua owner add {owner_id} --name …”.",
                f"no owner {owner_id}",
            )
        if code is None:
            code = next_dossier_code(conn, ws.config.agency.code, received.date())
        else:
            code = validate_dossier_code(code)
        existing = conn.execute("SELECT * FROM dossiers WHERE code = ?", (code,)).fetchone()
        values = (procedure.code, procedure.name, procedure.field, channel, owner_id,
                  labels.utc_iso(received))
        if existing is None:
            conn.execute(
                "INSERT INTO dossiers (code, created_at, procedure_code, procedure_name, field,"
                " channel, owner_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (code, db.now(), *values),
            )
        elif existing["procedure_code"] is None:
            # Created by the pipeline from a folder name or a code in the text: complete it.
            conn.execute(
                "UPDATE dossiers SET procedure_code = ?, procedure_name = ?, field = ?,"
                " channel = ?, owner_id = ?, received_at = ? WHERE code = ?", (*values, code))
        else:
            raise UserError(f"Hồ sơ mã {code} đã có.", f"dossier {code} exists")
        audit.record(conn, "dossier.new", f"dossier:{code}", actor,
                     {"procedure": procedure.code, "owner": owner_id, "channel": channel})
        outcome = auto_reuse(conn, code, owner_id, procedure, auto_reuse_mode, actor,
                             received.date())
    return NewDossier(get_dossier(conn, code), outcome)


def get_dossier(conn: sqlite3.Connection, code: str) -> Dossier:
    row = conn.execute(f"SELECT {_COLS} FROM dossiers WHERE code = ?", (code,)).fetchone()
    if row is None:
        raise UserError(f"Không có hồ sơ mã {code}.", f"no dossier {code}")
    return _row(row)


def list_dossiers(conn: sqlite3.Connection, owner_id: str | None = None,
                  procedure_code: str | None = None, day: date | None = None
                  ) -> list[Dossier]:
    sql, args = f"SELECT {_COLS} FROM dossiers WHERE 1 = 1", []
    if owner_id:
        sql += " AND owner_id = ?"
        args.append(owner_id)
    if procedure_code:
        sql += " AND procedure_code = ?"
        args.append(procedure_code)
    if day:
        sql += " AND substr(received_at, 1, 10) = ?"
        args.append(day.isoformat())
    sql += " ORDER BY COALESCE(received_at, created_at), code"
    return [_row(r) for r in conn.execute(sql, args)]


def dossier_record(conn: sqlite3.Connection, catalogue: Catalogue, code: str
                   ) -> dict[str, Any]:
    dossier = get_dossier(conn, code)
    documents = [dict(r) for r in conn.execute(
        "SELECT d.id, d.original_name, d.state, d.page_count, m.role, m.type_code, m.name,"
        " m.valid_to, m.result_code FROM documents d"
        " LEFT JOIN document_meta m ON m.document_id = d.id WHERE d.dossier_code = ?"
        " ORDER BY d.id", (code,))]
    missing: list[str] = []
    if dossier.procedure_code:
        try:
            missing = list(missing_types(conn, code, catalogue.get(dossier.procedure_code)))
        except UserError:
            missing = []
    return {"dossier": dossier.as_dict(), "documents": documents,
            "reused": reuses_of(conn, code), "missing_types": missing}
