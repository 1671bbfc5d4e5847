"""Import dossier records exported by the provincial one-stop system (CSV).

A mapping file (TOML, see examples/import-mapping.toml) names the CSV columns that hold
each of motcua's fields, the channel values, and the date formats. Each row is checked
on its own: a bad row is reported with its line number and the reason and skipped, the
good rows load. Re-importing the same file changes nothing: a row whose dossier already
exists with the same values is "unchanged"; with other values (e.g. a later export that
now has the resolution time) the dossier is updated.

Imported dossiers are historical records: no automatic reuse is run for them.
"""

from __future__ import annotations

import csv
import sqlite3
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from motcua import db
from motcua.archive import audit
from motcua.archive.catalogue import Catalogue
from motcua.archive.dossiers import CHANNELS
from motcua.archive.ids import classify_owner_id, validate_dossier_code
from motcua.archive.workdays import WorkCalendar
from motcua.errors import UserError

FIELDS: dict[str, tuple[bool, str]] = {
    # motcua field: (required column, Vietnamese label)
    "code": (True, "mã hồ sơ"),
    "procedure_code": (True, "mã thủ tục"),
    "procedure_name": (False, "tên thủ tục"),
    "field": (False, "lĩnh vực"),
    "channel": (True, "hình thức nộp"),
    "owner_id": (True, "số định danh / mã số thuế của chủ hồ sơ"),
    "owner_name": (False, "tên chủ hồ sơ"),
    "received_at": (True, "thời điểm tiếp nhận"),
    "due_date": (False, "ngày hẹn trả"),
    "resolved_at": (False, "thời điểm có kết quả"),
}
DEFAULT_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S",
                   "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]  # motcua field -> CSV header
    channels: dict[str, str]  # normalised CSV value -> online|direct|post
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    formats: tuple[str, ...] = DEFAULT_FORMATS


def _merr(path: Path, what: str) -> UserError:
    return UserError(f"Tệp ánh xạ {path.name}: {what}", f"bad mapping {path}: {what}")


def load_mapping(path: Path) -> Mapping:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Không đọc được tệp ánh xạ {path}: {exc.strerror}.", str(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise _merr(path, f"sai cú pháp ({exc}).") from exc
    cols = data.get("columns")
    if not isinstance(cols, dict):
        raise _merr(path, "thiếu mục [columns] (tên cột CSV cho từng trường).")
    unknown = sorted(set(cols) - set(FIELDS))
    if unknown:
        raise _merr(path, f"trường “{unknown[0]}” trong [columns] không có; các trường: "
                          f"{', '.join(FIELDS)}.")
    for key, (required, label) in FIELDS.items():
        if required and not cols.get(key):
            raise _merr(path, f"[columns] thiếu “{key}” ({label}).")
    channels: dict[str, str] = {k: k for k in CHANNELS}
    for raw, value in (data.get("channels") or {}).items():
        if value not in CHANNELS:
            raise _merr(path, f"[channels] “{raw}” = “{value}”: giá trị phải là "
                              "online, direct hoặc post.")
        channels[_norm(str(raw))] = str(value)
    opts = data.get("csv") or {}
    formats = tuple(opts.get("datetime_formats") or DEFAULT_FORMATS)
    return Mapping({k: str(v) for k, v in cols.items() if v}, channels,
                   str(opts.get("encoding", "utf-8-sig")), str(opts.get("delimiter", ",")),
                   formats)


@dataclass(frozen=True)
class BadRow:
    line: int
    code: str
    reason: str  # Vietnamese

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "reason": self.reason}


@dataclass
class ImportReport:
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"inserted": len(self.inserted), "updated": len(self.updated),
                "unchanged": len(self.unchanged), "bad": [b.as_dict() for b in self.bad]}


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parse_dt(text: str, formats: tuple[str, ...], label: str) -> datetime:
    value = text.strip()
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).astimezone()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).astimezone()
    except ValueError:
        raise _Bad(f"{label} “{text}” không đúng định dạng ngày giờ "
                   f"(ví dụ {datetime(2025, 7, 16, 8, 30):%d/%m/%Y %H:%M}).") from None


_ROW_COLUMNS = ("procedure_code", "procedure_name", "field", "channel", "owner_id",
                "received_at", "received_on", "processing_days", "due_date", "resolved_at",
                "resolved_on")


def _row_values(raw: dict[str, str], mapping: Mapping, catalogue: Catalogue,
                calendar: WorkCalendar) -> tuple[str, dict[str, Any], str | None]:
    """Validate one CSV row; return (code, dossier column values, owner name)."""

    def get(key: str) -> str:
        col = mapping.columns.get(key)
        return (raw.get(col) or "").strip() if col else ""

    for key, (required, label) in FIELDS.items():
        if required and not get(key):
            raise _Bad(f"thiếu {label} (cột “{mapping.columns[key]}”).")
    try:
        code = validate_dossier_code(get("code"))
    except UserError as exc:
        raise _Bad(exc.message) from None
    known = {p.code: p for p in catalogue.procedures}
    proc = known.get(get("procedure_code"))
    name = get("procedure_name") or (proc.name if proc else "")
    fld = get("field") or (proc.field if proc else "")
    if proc is None and not (name and fld and get("due_date")):
        raise _Bad(f"thủ tục mã “{get('procedure_code')}” không có trong danh mục "
                   "procedures.toml; cần thêm thủ tục vào danh mục, hoặc tệp CSV phải có "
                   "tên thủ tục, lĩnh vực và ngày hẹn trả.")
    channel = mapping.channels.get(_norm(get("channel")))
    if channel is None:
        raise _Bad(f"hình thức nộp “{get('channel')}” không nhận ra; thêm vào mục "
                   "[channels] của tệp ánh xạ (online, direct hoặc post).")
    try:
        owner = classify_owner_id(get("owner_id"))
    except UserError as exc:
        raise _Bad(exc.message) from None
    received = _parse_dt(get("received_at"), mapping.formats, "thời điểm tiếp nhận")
    days = proc.processing_days if proc else None
    if get("due_date"):
        due = _parse_dt(get("due_date"), mapping.formats, "ngày hẹn trả").date()
        if due < received.date():
            raise _Bad(f"ngày hẹn trả {due:%d/%m/%Y} trước ngày tiếp nhận "
                       f"{received:%d/%m/%Y}.")
    else:
        assert days is not None
        due = calendar.due_date(received, days)
    resolved: datetime | None = None
    if get("resolved_at"):
        resolved = _parse_dt(get("resolved_at"), mapping.formats, "thời điểm có kết quả")
        if resolved < received:
            raise _Bad(f"thời điểm có kết quả {resolved:%d/%m/%Y %H:%M} trước thời điểm "
                       f"tiếp nhận {received:%d/%m/%Y %H:%M}.")
    values: dict[str, Any] = {
        "procedure_code": get("procedure_code"), "procedure_name": name, "field": fld,
        "channel": channel, "owner_id": owner.value,
        "received_at": received.isoformat(timespec="seconds"),
        "received_on": received.date().isoformat(), "processing_days": days,
        "due_date": due.isoformat(),
        "resolved_at": resolved.isoformat(timespec="seconds") if resolved else None,
        "resolved_on": resolved.date().isoformat() if resolved else None,
    }
    return code, values, get("owner_name") or None


def _ensure_owner(conn: sqlite3.Connection, owner_id: str, name: str | None,
                  actor: str) -> None:
    if conn.execute("SELECT 1 FROM owners WHERE id = ?", (owner_id,)).fetchone():
        return  # keep the warehouse's name: exports spell names inconsistently
    if not name:
        raise _Bad(f"chủ hồ sơ {owner_id} chưa có trong kho và dòng này không ghi tên "
                   "chủ hồ sơ.")
    kind = classify_owner_id(owner_id).kind
    conn.execute("INSERT INTO owners (id, kind, name, created_at) VALUES (?, ?, ?, ?)",
                 (owner_id, kind, " ".join(name.split()), db.now()))
    audit.record(conn, "owner.add", f"owner:{owner_id}", actor,
                 {"kind": kind, "name": name, "source": "import"})


def import_csv(conn: sqlite3.Connection, csv_path: Path, mapping: Mapping,
               catalogue: Catalogue, calendar: WorkCalendar, actor: str) -> ImportReport:
    """Load the file in one transaction, each row in its own savepoint."""
    report = ImportReport()
    try:
        handle = csv_path.open(encoding=mapping.encoding, newline="")
    except OSError as exc:
        raise UserError(f"Không đọc được tệp {csv_path}: {exc.strerror}.", str(exc)) from exc
    with handle:
        reader = csv.reader(handle, delimiter=mapping.delimiter)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise UserError(f"Tệp {csv_path.name} trống.", "empty csv") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"Tệp {csv_path.name} không đọc được với bảng mã "
                            f"{mapping.encoding}; sửa “encoding” trong tệp ánh xạ.",
                            str(exc)) from exc
        missing = [c for c in mapping.columns.values() if c not in header]
        if missing:
            raise UserError(
                f"Tệp {csv_path.name} không có cột “{missing[0]}” mà tệp ánh xạ yêu cầu. "
                f"Các cột có trong tệp: {', '.join(header)}.", f"missing column {missing[0]}")
        seen: dict[str, int] = {}
        with db.transaction(conn):
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except (csv.Error, UnicodeDecodeError) as exc:
                    report.bad.append(BadRow(reader.line_num, "", f"dòng không đọc được ({exc})."))
                    break
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                raw = dict(zip(header, cells, strict=False))
                code_hint = (raw.get(mapping.columns["code"]) or "").strip()
                if len(cells) != len(header):
                    report.bad.append(BadRow(line, code_hint,
                                             f"có {len(cells)} ô nhưng tiêu đề có "
                                             f"{len(header)} cột."))
                    continue
                conn.execute("SAVEPOINT import_row")
                try:
                    code, values, owner_name = _row_values(raw, mapping, catalogue, calendar)
                    if code in seen:
                        raise _Bad(f"mã hồ sơ {code} trùng với dòng {seen[code]}.")
                    seen[code] = line
                    _ensure_owner(conn, values["owner_id"], owner_name, actor)
                    _store(conn, code, values, actor, report)
                except _Bad as bad:
                    conn.execute("ROLLBACK TO import_row")
                    report.bad.append(BadRow(line, code_hint, bad.reason))
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK TO import_row")
                    report.bad.append(BadRow(line, code_hint, f"lỗi cơ sở dữ liệu ({exc})."))
                finally:
                    conn.execute("RELEASE import_row")
            audit.record(conn, "dossier.import", f"file:{csv_path.name}", actor,
                         report.as_dict() | {"bad": len(report.bad)})
    return report


def _store(conn: sqlite3.Connection, code: str, values: dict[str, Any], actor: str,
           report: ImportReport) -> None:
    existing = conn.execute(f"SELECT {', '.join(_ROW_COLUMNS)} FROM dossiers WHERE code = ?",
                            (code,)).fetchone()
    if existing is None:
        cols = ["code", "created_at", *_ROW_COLUMNS]
        conn.execute(f"INSERT INTO dossiers ({', '.join(cols)}) VALUES "
                     f"({', '.join('?' * len(cols))})",
                     (code, db.now(), *(values[c] for c in _ROW_COLUMNS)))
        audit.record(conn, "dossier.import", f"dossier:{code}", actor, {"action": "insert"})
        report.inserted.append(code)
        return
    old = {c: existing[c] for c in _ROW_COLUMNS}
    if old == values:
        report.unchanged.append(code)
        return
    changed = {c: {"old": old[c], "new": values[c]} for c in _ROW_COLUMNS
               if old[c] != values[c]}
    conn.execute(f"UPDATE dossiers SET {', '.join(f'{c} = ?' for c in _ROW_COLUMNS)}"
                 " WHERE code = ?", (*(values[c] for c in _ROW_COLUMNS), code))
    audit.record(conn, "dossier.import", f"dossier:{code}", actor,
                 {"action": "update", "changed": changed})
    report.updated.append(code)
