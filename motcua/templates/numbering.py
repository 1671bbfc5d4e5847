"""The number register (Nghị định 30/2020, Điều 15).

Numbers run per issuing body and per year from 01, in one series for all
administrative documents or one series per type (the head of the body's choice,
`[templates] numbering = "per_type" | "single"` in motcua.toml). Each number is taken
inside one BEGIN IMMEDIATE transaction and a UNIQUE constraint backs it up, so two
processes never get the same number.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Any

from motcua import db
from motcua.errors import UserError
from motcua.templates import rules
from motcua.workspace import Workspace

SCHEMES = ("per_type", "single")



@dataclass(frozen=True)
class TakenNumber:
    number: int
    year: int
    type_code: str
    symbol: str  # "KH-UBND"
    issuing_body: str
    document: str

    @property
    def text(self) -> str:
        """`07/KH-UBND`"""
        return f"{rules.format_number(self.number)}/{self.symbol}"


def scheme_of(ws: Workspace) -> str:
    section = ws.config.extra.get("templates", {})
    scheme = str(section.get("numbering", "per_type")) if isinstance(section, dict) else "per_type"
    if scheme not in SCHEMES:
        raise UserError(
            f"Tệp cấu hình: “templates.numbering” phải là “per_type” (mỗi loại văn bản một dãy "
            f"số) hoặc “single” (một dãy số chung), không phải “{scheme}”.",
            f"bad numbering scheme {scheme}")
    return scheme


def take_number(conn: sqlite3.Connection, *, type_code: str, issuing_body: str,
                body_abbreviation: str, year: int | None = None, scheme: str = "per_type",
                document: str = "", unit: str = "") -> TakenNumber:
    """Take the next number of the series and record it with its document."""
    if scheme not in SCHEMES:
        raise ValueError(scheme)
    year = year or dt.date.today().year
    series = (type_code or "CV") if scheme == "per_type" else "*"
    sym = rules.symbol(type_code, body_abbreviation, unit)
    with db.transaction(conn):
        row = conn.execute(
            "SELECT COALESCE(MAX(number), 0) FROM number_register "
            "WHERE issuing_body = ? AND year = ? AND series = ?",
            (issuing_body, year, series)).fetchone()
        number = int(row[0]) + 1
        conn.execute(
            "INSERT INTO number_register (issuing_body, year, series, number, type_code, symbol,"
            " document, taken_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (issuing_body, year, series, number, type_code, sym, document, db.now()))
    return TakenNumber(number, year, type_code, sym, issuing_body, document)


def take_for_workspace(ws: Workspace, type_code: str, *, year: int | None = None,
                       document: str = "", unit: str = "") -> TakenNumber:
    agency = ws.config.agency
    conn = db.connect(ws.db_path)
    try:
        return take_number(conn, type_code=type_code, issuing_body=agency.issuing_body,
                           body_abbreviation=agency.abbreviation, year=year,
                           scheme=scheme_of(ws), document=document, unit=unit)
    finally:
        conn.close()


def set_document(conn: sqlite3.Connection, taken: TakenNumber, document: str) -> None:
    """Record which document a number went to (after rendering)."""
    with db.transaction(conn):
        conn.execute(
            "UPDATE number_register SET document = ? WHERE issuing_body = ? AND year = ? "
            "AND number = ? AND symbol = ?",
            (document, taken.issuing_body, taken.year, taken.number, taken.symbol))


def list_numbers(conn: sqlite3.Connection, year: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM number_register"
    args: tuple[object, ...] = ()
    if year:
        sql += " WHERE year = ?"
        args = (year,)
    return [dict(r) for r in conn.execute(sql + " ORDER BY year, series, number", args)]
