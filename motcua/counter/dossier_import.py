"""Import dossier records exported by the provincial one-stop system (CSV).

A mapping file (TOML, see examples/import-mapping.toml) names the CSV columns that hold
each of motcua's fields, the channel values, and the date formats. Each row is checked
on its own: a bad row is reported with its line number and the reason and skipped, the
good rows load. A line that cannot be read at all (bytes invalid in the mapping's
encoding, a malformed CSV record) is reported the same way and the rows after it still
load. Times without an offset are the centre's wall clock (the calendar's time zone,
`[warehouse] timezone`), never the machine's.

Re-importing the same file changes nothing: a row whose dossier already exists with the
same values is "unchanged"; with other values (e.g. a later export that now has the
resolution time) the dossier is updated, by these rules, so that an import never undoes
work done here:

* a blank cell never erases a stored value, and the values motcua derives for blank
  cells (name and field from the catalogue, the due date from the calendar) only fill
  empty columns, or follow a changed procedure / receipt time of an imported dossier;
* a dossier registered here (`dossier receive` / `dossier new`) keeps every value it
  has; the file only fills its empty columns (e.g. the result time);
* a dossier resolved here (`dossier resolve`) keeps its resolution time.

Imported dossiers are historical records: no automatic reuse is run for them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sqlite3
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from motcua import db, labels
from motcua.archive import audit
from motcua.archive.catalogue import Catalogue
from motcua.archive.ids import classify_owner_id, validate_dossier_code
from motcua.counter.dossiers import CHANNELS
from motcua.counter.workdays import WorkCalendar
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


def _parse_dt(text: str, formats: tuple[str, ...], label: str, tz: tzinfo) -> datetime:
    """A time of the file in the centre's zone `tz` (a time without offset is in it)."""
    value = text.strip()
    parsed: datetime | None = None
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"{label} “{text}” không đúng định dạng ngày giờ "
                       f"(ví dụ {datetime(2025, 7, 16, 8, 30):%d/%m/%Y %H:%M}).") from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


_ROW_COLUMNS = ("procedure_code", "procedure_name", "field", "channel", "owner_id",
                "received_at", "received_on", "processing_days", "due_date", "resolved_at",
                "resolved_on")
# Columns that move together; the first names the group. A group is "given" when the
# file states it, "derived" when motcua computed it for blank cells.
_GROUPS: tuple[tuple[str, ...], ...] = (
    ("procedure_code",), ("procedure_name",), ("field",), ("channel",), ("owner_id",),
    ("received_at", "received_on"), ("due_date", "processing_days"),
    ("resolved_at", "resolved_on"))
_ALWAYS_GIVEN = frozenset({"procedure_code", "channel", "owner_id", "received_at"})
_DERIVED = frozenset({"procedure_name", "field", "due_date"})  # computed for blank cells
_BASIS = ("procedure_code", "received_at")  # what the derived values follow from


def _row_values(raw: dict[str, str], mapping: Mapping, catalogue: Catalogue,
                calendar: WorkCalendar
                ) -> tuple[str, dict[str, Any], frozenset[str], str | None]:
    """Validate one CSV row; return (code, dossier column values, the groups the file
    states (not blank), owner name)."""

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
    tz = calendar.tz
    received = _parse_dt(get("received_at"), mapping.formats, "thời điểm tiếp nhận", tz)
    days = proc.processing_days if proc else None
    if get("due_date"):
        due = _parse_dt(get("due_date"), mapping.formats, "ngày hẹn trả", tz).date()
        if due < received.date():
            raise _Bad(f"ngày hẹn trả {due:%d/%m/%Y} trước ngày tiếp nhận "
                       f"{received:%d/%m/%Y}.")
    else:
        assert days is not None
        due = calendar.due_date(received, days)
    resolved: datetime | None = None
    if get("resolved_at"):
        resolved = _parse_dt(get("resolved_at"), mapping.formats, "thời điểm có kết quả", tz)
        if resolved < received:
            raise _Bad(f"thời điểm có kết quả {resolved:%d/%m/%Y %H:%M} trước thời điểm "
                       f"tiếp nhận {received:%d/%m/%Y %H:%M}.")
    values: dict[str, Any] = {
        "procedure_code": get("procedure_code"), "procedure_name": name, "field": fld,
        "channel": channel, "owner_id": owner.value,
        "received_at": labels.utc_iso(received),
        "received_on": received.date().isoformat(), "processing_days": days,
        "due_date": due.isoformat(),
        "resolved_at": labels.utc_iso(resolved) if resolved else None,
        "resolved_on": resolved.date().isoformat() if resolved else None,
    }
    given = set(_ALWAYS_GIVEN)
    given.update(k for k in ("procedure_name", "field", "due_date", "resolved_at") if get(k))
    return code, values, frozenset(given), get("owner_name") or None


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


@dataclass(frozen=True)
class _LocalWork:
    """Dossiers registered here and dossiers resolved here (from the audit log)."""

    registered: frozenset[str]
    resolved: frozenset[str]


def _local_work(conn: sqlite3.Connection) -> _LocalWork:
    found: dict[str, set[str]] = {"registered": set(), "resolved": set()}
    for row in conn.execute(
            "SELECT action, subject FROM audit_log WHERE action IN"
            " ('dossier.new', 'dossier.receive', 'dossier.resolve')"
            " AND subject LIKE 'dossier:%'"):
        key = "resolved" if row[0] == "dossier.resolve" else "registered"
        found[key].add(row[1].removeprefix("dossier:"))
    return _LocalWork(frozenset(found["registered"]), frozenset(found["resolved"]))


# --------------------------------------------------------------------------------------
# Reading the file: each physical line decoded on its own


_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")  # split after a CR that is not part of CRLF


def _ascii_compatible(encoding: str) -> bool:
    """Whether CR, LF and the usual delimiters are single ASCII bytes in `encoding`
    (UTF-8, cp1258, latin-1, …; not UTF-16/32), so lines can be split as bytes."""
    return "\r\n,;\t\"".encode(encoding).endswith(b'\r\n,;\t"')


def _decode_reason(exc: UnicodeDecodeError, encoding: str, in_file: bool = False) -> str:
    byte = exc.object[exc.start:exc.start + 1].hex().upper()
    where = f"byte thứ {exc.start + 1} của tệp" if in_file \
        else f"vị trí {exc.start + 1} trong dòng"
    return (f"dòng có byte 0x{byte} ({where}) không đọc được với bảng mã "
            f"{encoding}; sửa dòng này trong tệp, hoặc sửa “encoding” trong tệp ánh xạ "
            "nếu cả tệp dùng bảng mã khác.")


def _lines(handle: IO[bytes], encoding: str, bad: dict[int, str]) -> Iterator[str]:
    """The file's lines for `csv.reader` (universal newlines, endings kept).

    In an ASCII-compatible encoding each line is decoded on its own: bad bytes spoil only
    their line, which is decoded with replacement characters and noted in `bad` (line
    number -> reason). Otherwise the file is decoded whole and stops at the first bad
    byte, noted in `bad` on the line after the last one read."""
    if not _ascii_compatible(encoding):
        data = handle.read()
        try:
            yield from io.StringIO(data.decode(encoding), newline="")
        except UnicodeDecodeError as exc:
            # universal newlines, as a text file opened with newline="" reads them
            lines = list(io.StringIO(data[:exc.start].decode(encoding), newline=""))
            if lines and not lines[-1].endswith(("\n", "\r")):
                lines.pop()  # the line the bad byte is in
            bad[len(lines) + 1] = (_decode_reason(exc, encoding, True).removesuffix(".")
                                   + "; phần còn lại của tệp không đọc được.")
            yield from lines
        return
    number = 0
    for chunk in handle:  # split at LF; a lone CR also ends a line
        for raw in _LONE_CR.split(chunk):
            if not raw:
                continue
            number += 1
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                bad[number] = _decode_reason(exc, encoding)
                line = raw.decode(encoding, errors="replace")
            yield line


def import_csv(conn: sqlite3.Connection, csv_path: Path, mapping: Mapping,
               catalogue: Catalogue, calendar: WorkCalendar, actor: str) -> ImportReport:
    """Load the file in one transaction, each row in its own savepoint."""
    report = ImportReport()
    try:
        codecs.lookup(mapping.encoding)
        _ascii_compatible(mapping.encoding)  # a text encoding ("rot13" is not)
    except LookupError:
        raise UserError(f"Bảng mã “{mapping.encoding}” trong tệp ánh xạ không có; dùng ví dụ "
                        "“utf-8-sig” hoặc “cp1258”.",
                        f"unknown encoding {mapping.encoding!r}") from None
    try:
        handle = csv_path.open("rb")
    except OSError as exc:
        raise UserError(f"Không đọc được tệp {csv_path}: {exc.strerror}.", str(exc)) from exc
    bad_lines: dict[int, str] = {}
    with handle:
        reader = csv.reader(_lines(handle, mapping.encoding, bad_lines),
                            delimiter=mapping.delimiter)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise UserError(f"Tệp {csv_path.name} trống.", "empty csv") from None
        except (csv.Error, OSError) as exc:
            raise UserError(f"Dòng tiêu đề của tệp {csv_path.name} không đọc được ({exc}).",
                            str(exc)) from exc
        if any(n <= reader.line_num for n in bad_lines):
            raise UserError(f"Tệp {csv_path.name} không đọc được với bảng mã "
                            f"{mapping.encoding}; sửa “encoding” trong tệp ánh xạ.",
                            f"header not {mapping.encoding}")
        missing = [c for c in mapping.columns.values() if c not in header]
        if missing:
            raise UserError(
                f"Tệp {csv_path.name} không có cột “{missing[0]}” mà tệp ánh xạ yêu cầu. "
                f"Các cột có trong tệp: {', '.join(header)}.", f"missing column {missing[0]}")
        seen: dict[str, int] = {}
        local = _local_work(conn)
        with db.transaction(conn):
            last = reader.line_num  # physical lines read so far
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    # the reader drops the broken record and goes on with the next line
                    report.bad.append(BadRow(reader.line_num, "",
                                             f"dòng không đọc được theo định dạng CSV ({exc})."))
                    last = reader.line_num
                    continue
                line, last = last + 1, reader.line_num  # the record spans line..last
                spoilt = [n for n in range(line, last + 1) if n in bad_lines]
                if not spoilt and not any(c.strip() for c in cells):
                    continue
                raw = dict(zip(header, cells, strict=False))
                code_hint = (raw.get(mapping.columns["code"]) or "").strip()
                if spoilt:
                    report.bad.append(BadRow(spoilt[0], "" if "\ufffd" in code_hint
                                             else code_hint, bad_lines[spoilt[0]]))
                    continue
                if len(cells) != len(header):
                    report.bad.append(BadRow(line, code_hint,
                                             f"có {len(cells)} ô nhưng tiêu đề có "
                                             f"{len(header)} cột."))
                    continue
                conn.execute("SAVEPOINT import_row")
                try:
                    code, values, given, owner_name = _row_values(raw, mapping, catalogue,
                                                                  calendar)
                    if code in seen:
                        raise _Bad(f"mã hồ sơ {code} trùng với dòng {seen[code]}.")
                    seen[code] = line
                    _ensure_owner(conn, values["owner_id"], owner_name, actor)
                    _store(conn, code, values, given, local, calendar.tz, actor, report)
                except _Bad as bad:
                    conn.execute("ROLLBACK TO import_row")
                    report.bad.append(BadRow(line, code_hint, bad.reason))
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK TO import_row")
                    report.bad.append(BadRow(line, code_hint, f"lỗi cơ sở dữ liệu ({exc})."))
                finally:
                    conn.execute("RELEASE import_row")
            # a read error after the last record (the rest of the file was unreadable)
            report.bad.extend(BadRow(n, "", bad_lines[n]) for n in sorted(bad_lines)
                              if n > last)
            audit.record(conn, "dossier.import", f"file:{csv_path.name}", actor,
                         report.as_dict() | {"bad": len(report.bad)})
    return report


def _merge(old: dict[str, Any], values: dict[str, Any], given: frozenset[str],
           registered: bool, resolved_here: bool) -> dict[str, Any]:
    """The dossier's columns after this row (see the module docstring)."""
    new = dict(old)
    basis_changed = any(old[c] != values[c] for c in _BASIS)
    for group in _GROUPS:
        head = group[0]
        if old[head] is None or old[head] == "":
            take = True  # fill an empty column
        elif registered or (resolved_here and head == "resolved_at"):
            take = False  # work done here wins
        elif head in given:
            take = True  # the file states it
        else:
            # blank in the file: a derived value follows a changed basis; nothing erases
            take = head in _DERIVED and basis_changed
        if take and values[head] is not None:
            new.update({c: values[c] for c in group})
    return new


def _store(conn: sqlite3.Connection, code: str, values: dict[str, Any], given: frozenset[str],
           local: _LocalWork, tz: tzinfo, actor: str, report: ImportReport) -> None:
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
    new = _merge(old, values, given, code in local.registered, code in local.resolved)
    if new == old:
        report.unchanged.append(code)
        return
    if new["resolved_at"] and new["received_at"]:
        resolved, received = _moment(new["resolved_at"], tz), _moment(new["received_at"], tz)
        if resolved < received:
            raise _Bad(f"thời điểm có kết quả {resolved:%d/%m/%Y %H:%M} trước thời điểm "
                       f"tiếp nhận {received:%d/%m/%Y %H:%M} đã ghi trong kho.")
    changed = {c: {"old": old[c], "new": new[c]} for c in _ROW_COLUMNS if old[c] != new[c]}
    conn.execute(f"UPDATE dossiers SET {', '.join(f'{c} = ?' for c in _ROW_COLUMNS)}"
                 " WHERE code = ?", (*(new[c] for c in _ROW_COLUMNS), code))
    audit.record(conn, "dossier.import", f"dossier:{code}", actor,
                 {"action": "update", "changed": changed})
    report.updated.append(code)


def _moment(iso: str, tz: tzinfo) -> datetime:
    """A stored time (UTC) on the centre's wall clock (a naive one already is)."""
    moment = datetime.fromisoformat(iso)
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
