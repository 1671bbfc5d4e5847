"""The lifecycle of a dossier: received -> (pending) -> resolved early / on time / late.

Columns (migration `lifecycle_0001`) added to `dossiers`:

* `received_on`: local date of receipt (YYYY-MM-DD, the centre's wall clock: the
  `[warehouse] timezone`, default Asia/Ho_Chi_Minh, never the machine's time zone);
* `processing_days`: the procedure's legal processing time in working days, as it was
  when the dossier was received (a later catalogue edit does not move old due dates);
* `due_date`: the appointment date printed on the receipt (form 01), see `workdays`;
* `resolved_at` / `resolved_on`: when the result was recorded (time and local date).

Outcome of a resolved dossier, from dates (the appointment on the receipt is a day):
early ("trước hạn") if resolved before the due date, on time ("đúng hạn") on the due
date, late ("quá hạn") after it. A pending dossier is overdue once its due date has
passed. A dossier with no due date (unknown procedure) is never counted late.

Apology letters (form 04) are rows of `apologies`, one per dossier at most: a letter is
reserved in the table before it is rendered and completed with its file paths after, so
it is never produced twice, even by two processes at once. Runs that render letters hold
the workspace's apology lock (`apology_run`); a reservation still without a file when a
run holds the lock was left by a run that died, and is taken over and rendered.
A letter counts as issued once its file is recorded (`docx_path IS NOT NULL`). Rendering
is done by `motcua.reports.forms` (templates sit to the right of the archive and may not
be imported from here).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import sqlite3
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from motcua import db, labels
from motcua.archive import audit, settings
from motcua.archive.catalogue import Catalogue
from motcua.archive.documents import add_result
from motcua.archive.reuse import AutoReuseOutcome
from motcua.counter.dossiers import CHANNELS, new_dossier
from motcua.counter.workdays import WorkCalendar
from motcua.errors import TransientError, UserError
from motcua.workspace import Workspace

OUTCOME_VI = labels.OUTCOMES
STATUS_VI = labels.DOSSIER_STATUS
DEFAULT_APOLOGY_REASON = (
    "Hồ sơ cần thêm thời gian thẩm tra, xác minh nên chưa giải quyết xong đúng thời hạn "
    "đã hẹn."
)


@dataclass(frozen=True)
class LifecycleSettings:
    """The `[lifecycle]` section of motcua.toml (the due-date rule is in `workdays`)."""

    apology_extension_days: int = 3  # working days between the letter and the new date
    apology_reason: str = DEFAULT_APOLOGY_REASON
    return_time: str = "16:30"  # time of day printed with the appointment date
    return_place: str = "Bộ phận Một cửa"
    receiver: str = ""  # name printed on form 01; default: [ingest] operator


def lifecycle_settings(ws: Workspace) -> LifecycleSettings:
    raw = ws.config.section("lifecycle")
    days = raw.get("apology_extension_days", 3)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise UserError(
            "motcua.toml: [lifecycle] apology_extension_days phải là số ngày làm việc "
            f"(số nguyên từ 1), đang là “{days}”.", f"bad apology_extension_days {days!r}")
    ret = str(raw.get("return_time", "16:30"))
    if not re.fullmatch(r"\d{1,2}:\d{2}", ret):
        raise UserError(f"motcua.toml: [lifecycle] return_time “{ret}” phải có dạng 16:30.",
                        f"bad return_time {ret!r}")
    return LifecycleSettings(
        apology_extension_days=days,
        apology_reason=str(raw.get("apology_reason", DEFAULT_APOLOGY_REASON)),
        return_time=ret,
        return_place=str(raw.get("return_place", "Bộ phận Một cửa")),
        receiver=str(raw.get("receiver", "")) or ws.config.ingest.operator,
    )


# --------------------------------------------------------------------------------------
# Time


def local_today(ws: Workspace) -> date:
    """Today on the centre's wall clock."""
    return settings.local_now(ws).date()


def centre_time(ws: Workspace, moment: datetime) -> datetime:
    """`moment` in the centre's time zone; a naive datetime is the centre's local time."""
    zone = settings.centre_zone(ws)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def parse_datetime(text: str, label: str = "thời điểm", tz: tzinfo | None = None) -> datetime:
    """The one moment parser (`labels.parse_datetime`): a time without offset is the
    centre's wall clock, naive unless `tz` is given."""
    return labels.parse_datetime(text, label, tz)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def outcome_of(resolved_on: str | date, due_date: str | date | None) -> str:
    """early / on_time / late of a resolved dossier (dates compare as days)."""
    r = resolved_on if isinstance(resolved_on, str) else resolved_on.isoformat()
    if due_date is None:
        return "on_time"
    d = due_date if isinstance(due_date, str) else due_date.isoformat()
    if r < d:
        return "early"
    return "on_time" if r == d else "late"


# --------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class LifecycleRecord:
    code: str
    procedure_code: str | None
    procedure_name: str | None
    field: str | None
    channel: str | None
    owner_id: str | None
    owner_name: str | None
    received_at: str | None
    received_on: str | None
    processing_days: int | None
    due_date: str | None
    resolved_at: str | None
    resolved_on: str | None

    @property
    def status(self) -> str:
        return "resolved" if self.resolved_at else "pending"

    @property
    def outcome(self) -> str | None:
        return outcome_of(self.resolved_on, self.due_date) if self.resolved_on else None

    def overdue_on(self, day: date) -> bool:
        return self.resolved_at is None and self.due_date is not None \
            and self.due_date < day.isoformat()

    def days_late(self, day: date) -> int:
        due = _day(self.due_date)
        return (day - due).days if due and self.overdue_on(day) else 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status
        out["outcome"] = self.outcome
        return out


_SELECT = (
    "SELECT x.code, x.procedure_code, x.procedure_name, x.field, x.channel, x.owner_id,"
    " o.name AS owner_name, x.received_at, x.received_on, x.processing_days, x.due_date,"
    " x.resolved_at, x.resolved_on FROM dossiers x LEFT JOIN owners o ON o.id = x.owner_id"
)


def _record(row: sqlite3.Row) -> LifecycleRecord:
    return LifecycleRecord(*tuple(row))


def get_record(conn: sqlite3.Connection, code: str) -> LifecycleRecord:
    row = conn.execute(_SELECT + " WHERE x.code = ?", (code.strip(),)).fetchone()
    if row is None:
        raise UserError(f"Không có hồ sơ mã {code}.", f"no dossier {code}")
    return _record(row)


def sync_lifecycle(conn: sqlite3.Connection, catalogue: Catalogue,
                   calendar: WorkCalendar) -> int:
    """Give a due date to every dossier that has a receipt time and a known procedure but
    none yet (dossiers made by `motcua dossier new`, or a receipt interrupted between
    its two commits). Returns how many were completed."""
    rows = conn.execute(
        "SELECT code, procedure_code, received_at FROM dossiers"
        " WHERE due_date IS NULL AND received_at IS NOT NULL AND procedure_code IS NOT NULL"
    ).fetchall()
    known = {p.code: p for p in catalogue.procedures}
    done = 0
    if not rows:
        return 0
    with db.transaction(conn):
        for row in rows:
            proc = known.get(row["procedure_code"])
            if proc is None:
                continue
            received = calendar.local(datetime.fromisoformat(row["received_at"]))
            due = calendar.due_date(received, proc.processing_days)
            conn.execute("UPDATE dossiers SET received_on = ?, processing_days = ?,"
                         " due_date = ? WHERE code = ?",
                         (received.date().isoformat(), proc.processing_days, due.isoformat(),
                          row["code"]))
            done += 1
    return done


# --------------------------------------------------------------------------------------
# Receive and resolve


@dataclass(frozen=True)
class Received:
    record: LifecycleRecord
    reuse: AutoReuseOutcome


def receive(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue,
            calendar: WorkCalendar, *, procedure_code: str, owner_id: str, channel: str,
            actor: str, at: datetime | None = None, code: str | None = None,
            auto_reuse_mode: str = "attach") -> Received:
    """Register a dossier at the counter (or back-fill one received on paper with `at`):
    the warehouse gives the code and runs automatic reuse; the due date follows from the
    procedure's legal processing time in working days. Every date (the code's YYMMDD,
    `received_on`, the due date) is a day of the centre's time zone; a naive `at` is the
    centre's local time."""
    if channel not in CHANNELS:
        raise UserError(
            f"Kênh tiếp nhận “{channel}” không hợp lệ; chọn online (trực tuyến), "
            "direct (trực tiếp) hoặc post (bưu chính).", f"bad channel {channel!r}")
    procedure = catalogue.get(procedure_code)
    received = centre_time(ws, at) if at is not None else settings.local_now(ws)
    made = new_dossier(ws, conn, catalogue, procedure_code=procedure.code,
                       owner_id=owner_id.strip(), channel=channel, actor=actor,
                       auto_reuse_mode=auto_reuse_mode, code=code, received_at=received)
    due = calendar.due_date(received.date(), procedure.processing_days)
    with db.transaction(conn):
        conn.execute("UPDATE dossiers SET received_on = ?, processing_days = ?, due_date = ?"
                     " WHERE code = ?", (received.date().isoformat(), procedure.processing_days,
                                         due.isoformat(), made.dossier.code))
        audit.record(conn, "dossier.receive", f"dossier:{made.dossier.code}", actor,
                     {"received_at": received.isoformat(timespec="seconds"),
                      "processing_days": procedure.processing_days,
                      "due_date": due.isoformat()})
    return Received(get_record(conn, made.dossier.code), made.reuse)


@dataclass(frozen=True)
class Resolved:
    record: LifecycleRecord
    result_code: str
    document_id: int

    @property
    def outcome(self) -> str:
        return self.record.outcome or "on_time"


def resolve(ws: Workspace, conn: sqlite3.Connection, code: str, result_file: Path,
            actor: str, at: datetime | None = None) -> Resolved:
    """Store the result in the warehouse (`documents.add_result`) and record the
    resolution time; the outcome follows from the due date."""
    rec = get_record(conn, code)
    zone = settings.centre_zone(ws)
    if rec.resolved_at:
        raise UserError(
            f"Hồ sơ {rec.code} đã được giải quyết lúc {_vi_datetime(rec.resolved_at, zone)} "
            f"({OUTCOME_VI[rec.outcome or 'on_time']}). Thêm kết quả khác bằng "
            "“motcua result add”.", f"dossier {rec.code} already resolved")
    resolved = centre_time(ws, at) if at is not None else settings.local_now(ws)
    if rec.received_at and resolved < centre_time(ws, datetime.fromisoformat(rec.received_at)):
        raise UserError(
            f"Thời điểm giải quyết {resolved:%H:%M %d/%m/%Y} trước thời điểm tiếp nhận hồ sơ "
            f"({_vi_datetime(rec.received_at, zone)}).", "resolved before received")
    added = add_result(ws, conn, result_file, rec.code, actor)
    with db.transaction(conn):
        conn.execute("UPDATE dossiers SET resolved_at = ?, resolved_on = ? WHERE code = ?"
                     " AND resolved_at IS NULL",
                     (labels.utc_iso(resolved), resolved.date().isoformat(), rec.code))
        after = get_record(conn, rec.code)
        audit.record(conn, "dossier.resolve", f"dossier:{rec.code}", actor,
                     {"resolved_at": after.resolved_at, "due_date": after.due_date,
                      "outcome": after.outcome, "result_code": added.result_code})
    return Resolved(after, added.result_code, added.document_id)


def _vi_datetime(iso: str, zone: tzinfo) -> str:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return f"{moment:%H:%M ngày %d/%m/%Y}"


# --------------------------------------------------------------------------------------
# Overdue and apologies


def overdue(conn: sqlite3.Connection, today: date, limit: int | None = None
            ) -> list[LifecycleRecord]:
    """Pending dossiers whose due date is before `today`, oldest due date first (the
    first `limit` of them: the desk shows 50 of possibly thousands)."""
    rows = conn.execute(_SELECT + " WHERE x.resolved_at IS NULL AND x.due_date IS NOT NULL"
                        " AND x.cancelled_at IS NULL"
                        " AND x.due_date < ? ORDER BY x.due_date, x.code LIMIT ?",
                        (today.isoformat(), -1 if limit is None else limit)).fetchall()
    return [_record(r) for r in rows]


@dataclass(frozen=True)
class Apology:
    dossier_code: str
    original_due: str
    new_due: str
    reason: str
    issued_on: str
    docx_path: str | None
    pdf_path: str | None
    created_at: str

    @property
    def done(self) -> bool:
        """The letter was written (a reservation alone is not a letter)."""
        return self.docx_path is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"done": self.done}


def get_apology(conn: sqlite3.Connection, code: str) -> Apology | None:
    row = conn.execute("SELECT dossier_code, original_due, new_due, reason, issued_on,"
                       " docx_path, pdf_path, created_at FROM apologies WHERE dossier_code = ?",
                       (code,)).fetchone()
    return Apology(*row) if row else None


APOLOGY_LOCK = "motcua-apologies.lock"


@dataclass(frozen=True)
class ApologyRun:
    """Proof that this process holds the workspace's apology lock (see `apology_run`)."""

    lock_path: Path


@contextmanager
def apology_run(ws: Workspace, wait_seconds: float = 600.0) -> Iterator[ApologyRun]:
    """The exclusive right to render apology letters in this workspace: a flock on
    `<workspace>/motcua-apologies.lock`, which the kernel frees when the process dies.

    While it is held no other run is rendering, so a reservation without a file is one a
    crashed run left behind, and `reserve_apology(..., run=...)` may take it over. A second
    run waits for the first (up to `wait_seconds`), then finds its letters done."""
    path = ws.root / APOLOGY_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = _time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise
                if _time.monotonic() >= deadline:
                    raise TransientError(
                        "Một tiến trình khác đang tạo văn bản xin lỗi (Mẫu 04) trên kho này; "
                        "hãy thử lại sau ít phút.",
                        f"apology lock {path} still held after {wait_seconds:.0f} s") from exc
                _time.sleep(0.05)
        try:
            yield ApologyRun(path)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def reserve_apology(conn: sqlite3.Connection, rec: LifecycleRecord, *, issued_on: date,
                    new_due: date, reason: str, actor: str,
                    run: ApologyRun | None = None) -> Apology | None:
    """Claim the one letter of a late dossier. None if it already has one.

    With `run` (the apology lock is held), a reservation whose letter was never written
    (docx_path IS NULL: the run that made it died before `complete_apology`) is taken
    over with today's issue date and new appointment, and its letter is rendered again.
    Without `run` such a reservation counts as taken (another run may be rendering it)."""
    if rec.due_date is None:
        raise UserError(f"Hồ sơ {rec.code} chưa có ngày hẹn trả nên không thể xin lỗi "
                        "vì quá hạn.", "no due date")
    with db.transaction(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO apologies (dossier_code, original_due, new_due, reason,"
            " issued_on, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rec.code, rec.due_date, new_due.isoformat(), reason, issued_on.isoformat(), actor,
             db.now()))
        action = "apology.issue"
        if cur.rowcount == 0:
            if run is None:
                return None
            cur = conn.execute(
                "UPDATE apologies SET new_due = ?, reason = ?, issued_on = ?, actor = ?,"
                " created_at = ? WHERE dossier_code = ? AND docx_path IS NULL",
                (new_due.isoformat(), reason, issued_on.isoformat(), actor, db.now(),
                 rec.code))
            if cur.rowcount == 0:
                return None
            action = "apology.reclaim"
        audit.record(conn, action, f"dossier:{rec.code}", actor,
                     {"original_due": rec.due_date, "new_due": new_due.isoformat(),
                      "issued_on": issued_on.isoformat()})
    return get_apology(conn, rec.code)


def complete_apology(conn: sqlite3.Connection, code: str, docx: str | None,
                     pdf: str | None) -> Apology:
    with db.transaction(conn):
        conn.execute("UPDATE apologies SET docx_path = ?, pdf_path = ? WHERE dossier_code = ?",
                     (docx, pdf, code))
    found = get_apology(conn, code)
    assert found is not None
    return found


def cancel_apology(conn: sqlite3.Connection, code: str, actor: str, why: str) -> None:
    """Undo a reservation whose letter could not be rendered, so a later run retries."""
    with db.transaction(conn):
        conn.execute("DELETE FROM apologies WHERE dossier_code = ? AND docx_path IS NULL",
                     (code,))
        audit.record(conn, "apology.cancel", f"dossier:{code}", actor, {"why": why})


def appointment_datetime(due: date, settings: LifecycleSettings) -> datetime:
    hh, mm = (int(x) for x in settings.return_time.split(":"))
    return datetime.combine(due, time(hh, mm))
