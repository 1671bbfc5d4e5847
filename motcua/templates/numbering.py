"""The number register (Nghị định 30/2020, Điều 15).

Numbers run per issuing body and per year from 01, in one series for all
administrative documents or one series per type (the head of the body's choice,
`[templates] numbering = "per_type" | "single"` in motcua.toml). Each number is taken
inside one BEGIN IMMEDIATE transaction and a UNIQUE constraint backs it up, so two
processes never get the same number.

Every caller (`motcua number take`, `motcua render --number auto|N`) goes through
`take_number` / `record_number`, which derive the series key the same way
(`body_key`, `series_of`): the issuing body in upper case, the type code in upper case,
"CV" for a kind without a type code (công văn, văn bản xin lỗi). The symbol recorded
is the one the document prints (`rules.symbol`), unit included.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Any

from motcua import db
from motcua.errors import UserError
from motcua.templates import rules
from motcua.workspace import Workspace

SCHEMES = ("per_type", "single")
UNTYPED_SERIES = "CV"  # documents without a type code (công văn) share one series
SINGLE_SERIES = "*"


@dataclass(frozen=True)
class TakenNumber:
    number: int
    year: int
    type_code: str
    symbol: str  # "KH-UBND"
    issuing_body: str  # the register key: body_key(issuing body)
    document: str

    @property
    def text(self) -> str:
        """`07/KH-UBND`"""
        return f"{rules.format_number(self.number)}/{self.symbol}"


def scheme_of(ws: Workspace) -> str:
    scheme = str(ws.config.section("templates").get("numbering", "per_type"))
    if scheme not in SCHEMES:
        raise UserError(
            f"Tệp cấu hình: “templates.numbering” phải là “per_type” (mỗi loại văn bản một dãy "
            f"số) hoặc “single” (một dãy số chung), không phải “{scheme}”.",
            f"bad numbering scheme {scheme}")
    return scheme


def body_key(issuing_body: str) -> str:
    """The issuing body as the register keys it: NFC, single spaces, upper case, so
    `Ủy ban nhân dân xã Gia Lộc` and `ỦY BAN NHÂN DÂN XÃ GIA LỘC` are one series."""
    return " ".join(unicodedata.normalize("NFC", issuing_body).split()).upper()


def type_key(type_code: str) -> str:
    """`kh` -> `KH`; "" (and "CV") for a document without a type code."""
    code = unicodedata.normalize("NFC", type_code).strip().upper()
    return "" if code == UNTYPED_SERIES else code


def series_of(type_code: str, scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(scheme)
    return (type_key(type_code) or UNTYPED_SERIES) if scheme == "per_type" else SINGLE_SERIES


def _stored_names(conn: sqlite3.Connection, key: str, year: int) -> list[str]:
    """The issuing-body spellings stored for `key` this year: the key itself, plus any
    older row written before the key was normalised (SQLite's upper() is ASCII-only,
    so the comparison is done here)."""
    names = {key}
    for (name,) in conn.execute(
            "SELECT DISTINCT issuing_body FROM number_register WHERE year = ?", (year,)):
        if body_key(str(name)) == key:
            names.add(str(name))
    return sorted(names)


def _in(names: list[str]) -> str:
    return "(" + ", ".join("?" * len(names)) + ")"


def take_number(conn: sqlite3.Connection, *, type_code: str, issuing_body: str,
                body_abbreviation: str, year: int | None = None, scheme: str = "per_type",
                document: str = "", unit: str = "") -> TakenNumber:
    """Take the next number of the series and record it with its document."""
    year = year or dt.date.today().year
    code = type_key(type_code)
    series = series_of(code, scheme)
    key = body_key(issuing_body)
    sym = rules.symbol(code, body_abbreviation, unit)
    with db.transaction(conn):
        names = _stored_names(conn, key, year)
        row = conn.execute(
            "SELECT COALESCE(MAX(number), 0) FROM number_register "
            f"WHERE issuing_body IN {_in(names)} AND year = ? AND series = ?",
            (*names, year, series)).fetchone()
        number = int(row[0]) + 1
        conn.execute(
            "INSERT INTO number_register (issuing_body, year, series, number, type_code, symbol,"
            " document, taken_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, year, series, number, code, sym, document, db.now()))
    return TakenNumber(number, year, code, sym, key, document)


def record_number(conn: sqlite3.Connection, number: int, *, type_code: str, issuing_body: str,
                  body_abbreviation: str, year: int, scheme: str = "per_type",
                  document: str = "", unit: str = "") -> tuple[TakenNumber, bool]:
    """Record a number chosen by hand (`--number 7`, `number: 7` in a spec).

    Returns (the number, whether a row was added). Refuses a number its series already
    gave to another document this year; the same document rendered again with the same
    number and symbol keeps its row.
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(number)
    code = type_key(type_code)
    series = series_of(code, scheme)
    key = body_key(issuing_body)
    sym = rules.symbol(code, body_abbreviation, unit)
    taken = TakenNumber(number, year, code, sym, key, document)
    with db.transaction(conn):
        names = _stored_names(conn, key, year)
        row = conn.execute(
            "SELECT symbol, document, taken_at FROM number_register "
            f"WHERE issuing_body IN {_in(names)} AND year = ? AND series = ? AND number = ?",
            (*names, year, series, number)).fetchone()
        if row is not None:
            if row["symbol"] == sym and document and row["document"] == document:
                return taken, False
            holder = f"văn bản “{row['document']}”" if row["document"] else "một văn bản khác"
            raise UserError(
                f"Số {rules.format_number(number)}/{row['symbol']} năm {year} đã được cấp cho "
                f"{holder} (ngày {str(row['taken_at'])[:10]}); một số không được cấp hai lần. "
                f"Hãy chọn số khác hoặc dùng --number auto để lấy số tiếp theo.",
                f"number {number} of series {series!r} ({key}, {year}) already taken "
                f"as {row['symbol']} by {row['document']!r}")
        conn.execute(
            "INSERT INTO number_register (issuing_body, year, series, number, type_code, symbol,"
            " document, taken_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, year, series, number, code, sym, document, db.now()))
    return taken, True


def release_number(conn: sqlite3.Connection, taken: TakenNumber) -> None:
    """Drop a hand-chosen number whose document could not be produced (only
    `record_number`'s own row; numbers taken in sequence stay taken)."""
    with db.transaction(conn):
        conn.execute(
            "DELETE FROM number_register WHERE issuing_body = ? AND year = ? AND number = ? "
            "AND symbol = ? AND document = ?",
            (taken.issuing_body, taken.year, taken.number, taken.symbol, taken.document))


def take_for_workspace(ws: Workspace, type_code: str, *, year: int | None = None,
                       document: str = "", unit: str = "") -> TakenNumber:
    from motcua.archive.settings import local_now

    agency = ws.config.agency
    # The year of the centre's calendar: at 01:00 on 1 January in Hà Nội it is still the
    # old year in UTC.
    year = year or local_now(ws).year
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
