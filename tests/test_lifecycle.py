"""Dossier lifecycle: working-day calendar, receive / resolve, overdue and apology letters
(form 04, once per dossier, also after a run that died), CSV import (bad rows, unreadable
lines, re-import over local work), the centre's time zone on a UTC machine. Real SQLite,
real templates, real processes; the CLI test renders form 01 and one form 04 through
LibreOffice (the other letters here are rendered as DOCX only)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pikepdf
import pytest
from click.testing import CliRunner
from docx import Document

from motcua import db
from motcua.archive.catalogue import load_catalogue
from motcua.archive.owners import add_owner
from motcua.archive.settings import local_now
from motcua.cli import main
from motcua.counter import lifecycle as lc
from motcua.counter.dossier_import import import_csv, load_mapping
from motcua.counter.dossiers import new_dossier
from motcua.counter.workdays import Rule, WorkCalendar, load_calendar, parse_holidays_file
from motcua.errors import TransientError, UserError
from motcua.reports.forms import issue_apology_letters
from motcua.reports.numbers import quarter_numbers
from motcua.reports.periods import explicit_period
from motcua.templates import layout_check
from motcua.workspace import Workspace, init_workspace
from tests import conftest
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parent.parent
OWNER = "001085012345"
OWNER2 = "036190000123"
ACTOR = "test"
VN = ZoneInfo("Asia/Ho_Chi_Minh")  # the default [warehouse] timezone


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


@pytest.fixture
def conn(ws: Workspace):  # type: ignore[no-untyped-def]
    c = db.connect(ws.db_path)
    add_owner(c, OWNER, "Nguyễn Văn An", ACTOR)
    add_owner(c, OWNER2, "Trần Thị Bình", ACTOR)
    yield c
    c.close()


def _dt(text: str) -> datetime:
    """A moment on the centre's wall clock (never the machine's time zone)."""
    return datetime.fromisoformat(text).replace(tzinfo=VN)


@pytest.fixture
def machine_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the process in UTC, as on the servers (the centre stays in Vietnam)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    assert datetime(2026, 2, 13, 6).astimezone().utcoffset() == timedelta(0)
    yield
    monkeypatch.undo()
    time.tzset()


def run_cli(ws: Workspace, *args: str, tz: str = "UTC") -> CliResult:
    """The real `motcua` command in its own process, with TZ set for it."""
    return conftest.run_cli(ws, *args, tz=tz, subprocess_=True, check=False)


def result_pdf(path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Title"] = path.stem  # distinct bytes per result
    pdf.save(path)
    return path


# --------------------------------------------------------------------------------------
# Working days, hand-checked against the calendar
#
# February 2026 (Tết Bính Ngọ: mùng 1 = Tuesday 17/02; the holidays package gives
# Mon 16 – Fri 20 off, with the weekends 14–15 and 21–22 a nine-day break):
#   Mo Tu We Th Fr Sa Su
#    9 10 11 12 13 14 15
#   16 17 18 19 20 21 22      16–20 Tết, 14–15 and 21–22 weekend
#   23 24 25 26 27 28  1
# April / May 2025: Wed 30/4 and Thu 1/5 off; Fri 2/5 off in exchange for Saturday 26/4,
# which was worked:
#   Fr 25/4  Sa 26/4 (worked)  Su 27  Mo 28  Tu 29  We 30 (off)  Th 1/5 (off)
#   Fr 2/5 (off, moved)  Sa 3  Su 4  Mo 5/5
# Quốc khánh 2025: Mon 1/9 and Tue 2/9 off; Sat 30/8, Sun 31/8.

HAND_CHECKED = [
    # (received, working days, due, why)
    ("2026-02-12", 3, "2026-02-24", "Thu before Tết: Fri 13, Mon 23, Tue 24"),
    ("2026-02-13", 3, "2026-02-25", "Fri before Tết: Mon 23, Tue 24, Wed 25"),
    ("2026-02-14", 1, "2026-02-24", "Sat (online): deemed Mon 23, day 1 Tue 24"),
    ("2026-02-18", 1, "2026-02-24", "Tết day (online): deemed Mon 23, day 1 Tue 24"),
    ("2026-02-10", 10, "2026-03-03", "11,12,13,23,24,25,26,27, Mon 2/3, Tue 3/3"),
    ("2026-02-14", 0, "2026-02-23", "same-day procedure received at the weekend"),
    ("2025-04-25", 3, "2025-04-29", "Sat 26/4 is worked: Sat 26, Mon 28, Tue 29"),
    ("2025-04-26", 1, "2025-04-28", "received on the worked Saturday: day 1 Mon 28"),
    ("2025-04-28", 3, "2025-05-06", "Tue 29, then 30/4, 1/5, 2/5 off: Mon 5, Tue 6"),
    ("2025-04-29", 1, "2025-05-05", "30/4, 1/5, moved 2/5, weekend: Mon 5/5"),
    ("2025-08-29", 1, "2025-09-03", "Fri before Quốc khánh 1–2/9: Wed 3/9"),
    ("2024-12-31", 1, "2025-01-02", "Tue 31/12, Wed 1/1 off: Thu 2/1"),
]


@pytest.mark.parametrize(("received", "days", "due", "why"), HAND_CHECKED)
def test_due_dates_hand_checked(received: str, days: int, due: str, why: str) -> None:
    cal = WorkCalendar()
    assert cal.due_date(date.fromisoformat(received), days) == date.fromisoformat(due), why
    # a datetime gives the same day whatever the hour
    assert cal.due_date(_dt(received + " 16:59"), days) == date.fromisoformat(due)


def test_calendar_days() -> None:
    cal = WorkCalendar()
    assert not cal.is_working_day(date(2026, 2, 17))  # mùng 1 Tết
    assert not cal.is_working_day(date(2025, 5, 2))  # moved day off
    assert cal.is_working_day(date(2025, 4, 26))  # Saturday worked in exchange
    assert not cal.is_working_day(date(2025, 4, 7))  # Giỗ Tổ Hùng Vương (10/3 âm lịch)
    assert not cal.is_working_day(date(2025, 9, 2))
    assert cal.is_working_day(date(2025, 9, 3))
    # working days (received, resolved]: 13, 23, 24, 25 February 2026
    assert cal.working_days_between(date(2026, 2, 12), date(2026, 2, 25)) == 4
    assert cal.working_days_between(date(2026, 2, 12), date(2026, 2, 12)) == 0


def test_same_day_rule_and_workspace_file(ws: Workspace) -> None:
    same = WorkCalendar(rule=Rule(count_from="same"))
    assert same.due_date(date(2026, 2, 12), 3) == date(2026, 2, 23)  # 12, 13, 23

    path = ws.root / "holidays.toml"
    cal = load_calendar(ws)  # writes the commented template the first time
    assert path.is_file() and "days_off" in path.read_text(encoding="utf-8")
    assert cal.due_date(date(2026, 2, 12), 3) == date(2026, 2, 24)
    path.write_text('days_off = [{ date = "2026-02-23", name = "Nghỉ thêm" }]\n'
                    'working_days = ["2026-02-21"]\n', encoding="utf-8")
    cal = load_calendar(ws)
    assert not cal.is_working_day(date(2026, 2, 23))
    assert cal.is_working_day(date(2026, 2, 21))
    assert cal.holiday_name(date(2026, 2, 23)) == "Nghỉ thêm"
    # day 1 Fri 13, day 2 Sat 21 (worked), day 3 Tue 24 (Mon 23 now off)
    assert cal.due_date(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert cal.due_date(date(2026, 2, 13), 1) == date(2026, 2, 21)

    with pytest.raises(UserError, match="YYYY-MM-DD"):
        parse_holidays_file('days_off = ["23/02/2026"]', path)
    with pytest.raises(UserError, match="vừa là ngày nghỉ vừa là ngày làm việc"):
        parse_holidays_file('days_off = ["2026-02-23"]\nworking_days = ["2026-02-23"]', path)

    (ws.root / "motcua.toml").write_text(
        (ws.root / "motcua.toml").read_text(encoding="utf-8")
        + '\n[lifecycle]\ncount_from = "same"\n', encoding="utf-8")
    from motcua.workspace import load_workspace

    cal2 = load_calendar(load_workspace(ws.root))
    assert cal2.rule.count_from == "same"


# --------------------------------------------------------------------------------------
# Receive, resolve, overdue


def test_receive_resolve_outcomes(ws: Workspace, conn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cat, cal = load_catalogue(ws), load_calendar(ws)
    got = lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=OWNER,
                     channel="direct", actor=ACTOR, at=_dt("2026-02-12 09:15"))
    rec = got.record
    assert rec.code == "000.00.07.H47-260212-0001"
    assert (rec.received_on, rec.processing_days, rec.due_date) == ("2026-02-12", 3,
                                                                    "2026-02-24")
    assert rec.status == "pending" and rec.outcome is None
    second = lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=OWNER2,
                        channel="online", actor=ACTOR, at=_dt("2026-02-12 10:00")).record
    assert second.code.endswith("-0002")
    third = lc.receive(ws, conn, cat, cal, procedure_code="1.001193", owner_id=OWNER2,
                       channel="post", actor=ACTOR, at=_dt("2026-02-13 08:00")).record
    assert third.due_date == "2026-02-23"

    early = lc.resolve(ws, conn, rec.code, result_pdf(tmp_path / "a.pdf"), ACTOR,
                       _dt("2026-02-23 15:00"))
    assert early.outcome == "early" and early.result_code == f"{rec.code}-KQ1"
    on_time = lc.resolve(ws, conn, second.code, result_pdf(tmp_path / "b.pdf"), ACTOR,
                         _dt("2026-02-24 16:00"))
    assert on_time.outcome == "on_time"
    late = lc.resolve(ws, conn, third.code, result_pdf(tmp_path / "c.pdf"), ACTOR,
                      _dt("2026-02-24 08:00"))
    assert late.outcome == "late"
    row = conn.execute("SELECT m.role FROM document_meta m WHERE m.result_code = ?",
                       (late.result_code,)).fetchone()
    assert row["role"] == "result"  # stored in the warehouse as a result
    with pytest.raises(UserError, match="đã được giải quyết"):
        lc.resolve(ws, conn, rec.code, result_pdf(tmp_path / "d.pdf"), ACTOR)
    fourth = lc.receive(ws, conn, cat, cal, procedure_code="1.001193", owner_id=OWNER,
                        channel="direct", actor=ACTOR, at=_dt("2026-03-02 08:00")).record
    with pytest.raises(UserError, match="trước thời điểm tiếp nhận"):
        lc.resolve(ws, conn, fourth.code, result_pdf(tmp_path / "e.pdf"), ACTOR,
                   _dt("2026-03-01 08:00"))
    actions = {r[0] for r in conn.execute("SELECT action FROM audit_log")}
    assert {"dossier.receive", "dossier.resolve"} <= actions


# --------------------------------------------------------------------------------------
# The centre's time zone on a machine that runs in UTC


def test_receipt_at_6am_vietnam_on_a_utc_machine(ws: Workspace, conn, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  machine_utc: None) -> None:
    """06:00 in Vietnam is 23:00 the day before in UTC: code, received_on and due date
    must follow the centre's day (Friday 13/02/2026), not the machine's (Thursday)."""
    cat, cal = load_catalogue(ws), load_calendar(ws)
    assert cal.tz == VN
    at = lc.parse_datetime("2026-02-13T06:00+07:00")
    assert at.astimezone(VN).date() == date(2026, 2, 13)
    rec = lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=OWNER,
                     channel="online", actor=ACTOR, at=at).record
    assert rec.code == "000.00.07.H47-260213-0001"
    assert (rec.received_on, rec.due_date) == ("2026-02-13", "2026-02-25")  # not the 24th
    assert rec.received_at == "2026-02-12T23:00:00+00:00"  # stored UTC
    # a time without offset is the centre's wall clock, whatever the machine's zone
    naive = lc.parse_datetime("13/02/2026 06:30")
    rec2 = lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=OWNER2,
                      channel="direct", actor=ACTOR, at=naive).record
    assert (rec2.code, rec2.received_at) == ("000.00.07.H47-260213-0002",
                                             "2026-02-12T23:30:00+00:00")
    # the same instant written in UTC lands on the same Vietnamese day
    rec3 = lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=OWNER,
                      channel="online", actor=ACTOR,
                      at=lc.parse_datetime("2026-02-12T23:45:00+00:00")).record
    assert (rec3.received_on, rec3.received_at) == ("2026-02-13", "2026-02-12T23:45:00+00:00")
    # resolved at 06:10 Vietnam time on the due date: on time, not a day early
    done = lc.resolve(ws, conn, rec.code, result_pdf(tmp_path / "kq.pdf"), ACTOR,
                      lc.parse_datetime("2026-02-25T06:10+07:00"))
    assert (done.record.resolved_on, done.outcome) == ("2026-02-25", "on_time")
    # dossiers without a due date yet (made by `dossier new`) get one from the same day
    made = new_dossier(ws, conn, cat, procedure_code="1.004873", owner_id=OWNER,
                       channel="online", actor=ACTOR,
                       received_at=datetime(2026, 2, 12, 23, 30, tzinfo=ZoneInfo("UTC")))
    assert lc.sync_lifecycle(conn, cat, cal) == 1
    synced = lc.get_record(conn, made.dossier.code)
    assert (synced.received_on, synced.due_date) == ("2026-02-13", "2026-02-25")
    # "now" is the centre's now
    assert local_now(ws).utcoffset() == timedelta(hours=7)


def test_cli_on_a_utc_machine(ws: Workspace) -> None:
    """The real command with TZ=UTC in its environment: receipt at 06:00 Vietnam time,
    and `overdue` without --on takes today in Vietnam."""
    assert run_cli(ws, "owner", "add", OWNER, "--name", "Nguyễn Văn An").returncode == 0
    res = run_cli(ws, "dossier", "receive", "-p", "1.004873", "-o", OWNER, "-c", "direct",
                  "--at", "2026-02-13 06:00", "--no-print", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["code"] == "000.00.07.H47-260213-0001"
    assert (data["received_on"], data["due_date"]) == ("2026-02-13", "2026-02-25")
    assert data["received_at"] == "2026-02-12T23:00:00+00:00"
    res = run_cli(ws, "dossier", "receive", "-p", "1.004873", "-o", OWNER, "-c", "online",
                  "--at", "2026-02-13T06:00+07:00", "--no-print")
    assert res.returncode == 0, res.stderr
    assert "13/02/2026 06:00" in res.stdout and "25/02/2026" in res.stdout
    # a zone 19 hours behind Vietnam: the machine's date differs most of the day
    for machine in ("UTC", "Etc/GMT+12"):
        before = datetime.now(VN).date().isoformat()
        res = run_cli(ws, "overdue", "--json", tz=machine)
        after = datetime.now(VN).date().isoformat()
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["on"] in (before, after), machine


def test_sync_gives_due_dates_to_warehouse_dossiers(ws: Workspace, conn) -> None:  # type: ignore[no-untyped-def]
    cat, cal = load_catalogue(ws), load_calendar(ws)
    made = new_dossier(ws, conn, cat, procedure_code="1.004227", owner_id=OWNER,
                       channel="direct", actor=ACTOR, received_at=_dt("2025-04-25 10:00"))
    assert lc.get_record(conn, made.dossier.code).due_date is None
    assert lc.sync_lifecycle(conn, cat, cal) == 1
    rec = lc.get_record(conn, made.dossier.code)
    # 10 working days from Fri 25/4/2025: Sat 26, Mon 28, Tue 29, Mon 5/5 … Fri 9/5 (8),
    # Mon 12 (9), Tue 13 (10)
    assert rec.due_date == "2025-05-13" and rec.processing_days == 10
    assert lc.sync_lifecycle(conn, cat, cal) == 0


def test_apology_letters_once_per_late_dossier(ws: Workspace, conn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cat, cal = load_catalogue(ws), load_calendar(ws)
    codes = []
    for at, owner in [("2026-02-12 09:00", OWNER), ("2026-02-13 09:00", OWNER2),
                      ("2026-02-13 10:00", OWNER), ("2026-03-02 09:00", OWNER2)]:
        codes.append(lc.receive(ws, conn, cat, cal, procedure_code="1.004873",
                                owner_id=owner, channel="direct", actor=ACTOR,
                                at=_dt(at)).record.code)
    # dues: 24/02, 25/02, 25/02, 05/03; the third is resolved (late) before the run
    lc.resolve(ws, conn, codes[2], result_pdf(tmp_path / "r.pdf"), ACTOR,
               _dt("2026-02-27 09:00"))
    today = date(2026, 3, 2)
    late = lc.overdue(conn, today)
    assert [r.code for r in late] == codes[:2]
    assert [r.days_late(today) for r in late] == [6, 5]

    made, skipped = issue_apology_letters(ws, conn, cal, today, ACTOR, pdf=False)
    assert [m.dossier_code for m in made] == codes[:2] and skipped == []
    # new appointment: 3 working days after Mon 2/3/2026 -> Thu 5/3/2026
    assert {m.new_due for m in made} == {"2026-03-05"}
    docx = ws.root / made[0].docx
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "Kính gửi: Ông/Bà Nguyễn Văn An" in text
    assert codes[0] in text and "05/3/2026" in text.replace("05/03/2026", "05/3/2026")
    assert "24/02/2026" in text or "24/2/2026" in text
    layout_check(docx)

    again, skipped = issue_apology_letters(ws, conn, cal, today, ACTOR, pdf=False)
    assert again == [] and skipped == codes[:2]
    # a week later the fourth is late too: only it gets a letter
    later, skipped = issue_apology_letters(ws, conn, cal, date(2026, 3, 9), ACTOR, pdf=False)
    assert [m.dossier_code for m in later] == [codes[3]] and skipped == codes[:2]
    rows = conn.execute("SELECT dossier_code, COUNT(*) FROM apologies GROUP BY 1").fetchall()
    assert {r[0]: r[1] for r in rows} == {codes[0]: 1, codes[1]: 1, codes[3]: 1}


def test_apology_two_runs_at_once(ws: Workspace, conn) -> None:  # type: ignore[no-untyped-def]
    cat, cal = load_catalogue(ws), load_calendar(ws)
    for i in range(4):
        lc.receive(ws, conn, cat, cal, procedure_code="2.000815", owner_id=OWNER,
                   channel="direct", actor=ACTOR, at=_dt(f"2026-01-0{5 + i} 09:00"))
    results: list[list[str]] = []

    def run() -> None:
        c = db.connect(ws.db_path)
        try:
            made, _ = issue_apology_letters(ws, c, cal, date(2026, 2, 2), ACTOR, pdf=False)
            results.append([m.dossier_code for m in made])
        finally:
            c.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    produced = sorted(c for r in results for c in r)
    assert len(produced) == 4 and len(set(produced)) == 4  # each letter exactly once
    assert conn.execute("SELECT COUNT(*) FROM apologies").fetchone()[0] == 4


CRASH_AFTER_RESERVE = """
import os, signal, sys
from datetime import date
from pathlib import Path
from motcua import db
from motcua.counter import lifecycle as lc
from motcua.workspace import load_workspace

ws = load_workspace(Path(sys.argv[1]))
conn = db.connect(ws.db_path)
with lc.apology_run(ws) as run:
    for rec in lc.overdue(conn, date(2026, 3, 2)):
        assert lc.reserve_apology(conn, rec, issued_on=date(2026, 3, 2),
                                  new_due=date(2026, 3, 5), reason="x", actor="crash",
                                  run=run) is not None
    print("reserved", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # dies before rendering and complete_apology
"""


def test_apology_reserved_by_a_run_that_died_is_rendered_later(ws: Workspace, conn) -> None:  # type: ignore[no-untyped-def]
    cat, cal = load_catalogue(ws), load_calendar(ws)
    codes = [lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=owner,
                        channel="direct", actor=ACTOR, at=_dt(at)).record.code
             for at, owner in [("2026-02-12 09:00", OWNER), ("2026-02-13 09:00", OWNER2)]]
    today = date(2026, 3, 2)
    # a real process reserves both letters, then is killed before writing them
    crash = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH_AFTER_RESERVE),
                            str(ws.root)], capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
    assert crash.returncode == -9 and "reserved" in crash.stdout, crash.stderr
    for code in codes:
        left = lc.get_apology(conn, code)
        assert left is not None and left.docx_path is None and not left.done
    # an unfinished reservation is not a letter in the report
    period = explicit_period(date(2026, 2, 1), date(2026, 3, 14))
    assert quarter_numbers(conn, period).apologies == 0

    # while a run holds the lock, a reservation without a file may be a letter being
    # rendered: it is not taken over, and a second run waits for the first
    with lc.apology_run(ws) as run:
        assert run.lock_path.is_file()
        rec = lc.get_record(conn, codes[0])
        assert lc.reserve_apology(conn, rec, issued_on=today, new_due=today, reason="x",
                                  actor=ACTOR) is None
        with pytest.raises(TransientError, match="tiến trình khác"):
            issue_apology_letters(ws, conn, cal, today, ACTOR, pdf=False, lock_wait=0.3)

    # the next run takes both over and renders them, once each
    made, skipped = issue_apology_letters(ws, conn, cal, today, ACTOR, pdf=False)
    assert [m.dossier_code for m in made] == codes and skipped == []
    for code in codes:
        done = lc.get_apology(conn, code)
        assert done is not None and done.done and (ws.root / done.docx_path).is_file()
        assert (done.issued_on, done.new_due) == ("2026-03-02", "2026-03-05")
        assert done.reason == lc.DEFAULT_APOLOGY_REASON  # the reclaiming run's reason
    text = "\n".join(p.text for p in Document(str(ws.root / made[0].docx)).paragraphs)
    assert codes[0] in text and "Kính gửi: Ông/Bà Nguyễn Văn An" in text
    reclaims = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'apology.reclaim'"
                            ).fetchone()[0]
    assert reclaims == 2
    assert quarter_numbers(conn, period).apologies == 2
    again, skipped = issue_apology_letters(ws, conn, cal, today, ACTOR, pdf=False)
    assert again == [] and skipped == codes
    assert conn.execute("SELECT COUNT(*) FROM apologies").fetchone()[0] == 2


# --------------------------------------------------------------------------------------
# CSV import

HEADER = ("Mã hồ sơ,Mã thủ tục,Tên thủ tục,Lĩnh vực,Hình thức nộp,Số giấy tờ chủ hồ sơ,"
          "Chủ hồ sơ,Ngày tiếp nhận,Ngày hẹn trả,Ngày có kết quả")
ROWS = [
    # line 2: good, due computed (Thu 12/2/2026, 3 days -> 24/02), resolved early
    "000.00.07.H47-260212-0001,1.004873,,,Trực tiếp,001085012345,Nguyễn Văn An,"
    "12/02/2026 09:15,,23/02/2026 15:00",
    # line 3: good, online, due given, pending; a new owner created from the row
    "000.00.07.H47-260213-0001,1.001193,,,Trực tuyến,036190000123,Trần Thị Bình,"
    "13/02/2026 08:00,23/02/2026,",
    # line 4: bad dossier code
    "H47-260213-9,1.001193,,,Trực tuyến,001085012345,Nguyễn Văn An,13/02/2026 08:00,,",
    # line 5: unknown channel
    "000.00.07.H47-260213-0002,1.001193,,,Fax,001085012345,Nguyễn Văn An,13/02/2026,,",
    # line 6: impossible date
    "000.00.07.H47-260213-0003,1.001193,,,Trực tiếp,001085012345,Nguyễn Văn An,32/13/2026,,",
    # line 7: resolved before received
    "000.00.07.H47-260213-0004,1.001193,,,Bưu chính,001085012345,Nguyễn Văn An,"
    "13/02/2026 10:00,,12/02/2026 10:00",
    # line 8: procedure unknown to the catalogue and no name/field/due in the file
    "000.00.07.H47-260213-0005,9.999999,,,Trực tiếp,001085012345,Nguyễn Văn An,13/02/2026,,",
    # line 9: bad citizen ID
    "000.00.07.H47-260213-0006,1.001193,,,Trực tiếp,12345,Nguyễn Văn An,13/02/2026,,",
    # line 10: good although not in the catalogue: the file names it, its field and due
    "000.00.07.H47-260213-0007,9.999999,Thủ tục của tỉnh,Văn hóa,Dịch vụ bưu chính công ích,"
    "001085012345,Nguyễn Văn An,13/02/2026 14:00,27/02/2026,",
    # line 11: same code as line 2
    "000.00.07.H47-260212-0001,1.004873,,,Trực tiếp,001085012345,Nguyễn Văn An,"
    "12/02/2026 09:15,,",
    # line 12: owner not in the warehouse and no name
    "000.00.07.H47-260213-0008,1.001193,,,Trực tiếp,001190000777,,13/02/2026,,",
    # line 13: wrong number of cells
    "000.00.07.H47-260213-0009,1.001193,Trực tiếp",
]


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_import_bad_rows_and_idempotent_reimport(ws: Workspace, tmp_path: Path) -> None:
    conn = db.connect(ws.db_path)
    add_owner(conn, OWNER, "Nguyễn Văn An", ACTOR)
    cat, cal = load_catalogue(ws), load_calendar(ws)
    mapping = load_mapping(ROOT / "examples" / "import-mapping.toml")
    csv_file = _csv(tmp_path / "export.csv", ROWS)
    rep = import_csv(conn, csv_file, mapping, cat, cal, ACTOR)
    assert sorted(rep.inserted) == ["000.00.07.H47-260212-0001", "000.00.07.H47-260213-0001",
                                    "000.00.07.H47-260213-0007"]
    bad = {b.line: b.reason for b in rep.bad}
    assert sorted(bad) == [4, 5, 6, 7, 8, 9, 11, 12, 13]
    assert "không đúng dạng" in bad[4]
    assert "Fax" in bad[5]
    assert "32/13/2026" in bad[6]
    assert "trước thời điểm" in bad[7]
    assert "9.999999" in bad[8]
    assert "12 chữ số" in bad[9]
    assert "trùng với dòng 2" in bad[11]
    assert "không ghi tên" in bad[12]
    assert "cột" in bad[13]
    r1 = lc.get_record(conn, "000.00.07.H47-260212-0001")
    assert (r1.due_date, r1.outcome, r1.channel) == ("2026-02-24", "early", "direct")
    r2 = lc.get_record(conn, "000.00.07.H47-260213-0001")
    assert (r2.due_date, r2.status, r2.owner_name) == ("2026-02-23", "pending",
                                                       "Trần Thị Bình")
    r3 = lc.get_record(conn, "000.00.07.H47-260213-0007")
    assert (r3.field, r3.channel, r3.processing_days) == ("Văn hóa", "post", None)

    def snapshot() -> list[tuple[object, ...]]:
        return [tuple(r) for r in conn.execute("SELECT * FROM dossiers ORDER BY code")]

    before = snapshot()
    again = import_csv(conn, csv_file, mapping, cat, cal, ACTOR)
    assert again.inserted == [] and again.updated == [] and len(again.unchanged) == 3
    assert [b.line for b in again.bad] == [b.line for b in rep.bad]
    assert snapshot() == before  # re-importing the same file changes nothing

    # a later export: line 3 now has its result
    rows = list(ROWS)
    rows[1] = rows[1].rstrip(",") + ",24/02/2026 09:00"
    later = import_csv(conn, _csv(tmp_path / "export2.csv", rows), mapping, cat, cal, ACTOR)
    assert later.updated == ["000.00.07.H47-260213-0001"]
    assert lc.get_record(conn, "000.00.07.H47-260213-0001").outcome == "late"
    conn.close()


def _row(code: str, proc: str, channel: str, owner: str, received: str, due: str = "",
         result: str = "", name: str = "Nguyễn Văn An") -> str:
    return f"{code},{proc},,,{channel},{owner},{name},{received},{due},{result}"


def test_reimport_keeps_local_work(ws: Workspace, conn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A later export of the provincial system never undoes what was done here: blank
    cells erase nothing, dossiers received here keep their values, results recorded here
    stay; the file only fills what is empty (and updates imported dossiers it states)."""
    cat, cal = load_catalogue(ws), load_calendar(ws)
    mapping = load_mapping(ROOT / "examples" / "import-mapping.toml")
    here = lc.receive(ws, conn, cat, cal, procedure_code="1.004873", owner_id=OWNER,
                      channel="direct", actor=ACTOR, at=_dt("2026-02-12 09:15")).record
    lc.resolve(ws, conn, here.code, result_pdf(tmp_path / "a.pdf"), ACTOR,
               _dt("2026-02-23 15:00"))
    pending = lc.receive(ws, conn, cat, cal, procedure_code="1.001193", owner_id=OWNER2,
                         channel="online", actor=ACTOR, at=_dt("2026-02-13 08:00")).record
    assert pending.due_date == "2026-02-23"
    imp = ["000.00.07.H47-260213-0007", "000.00.07.H47-260213-0008",
           "000.00.07.H47-260213-0009"]
    first = [
        _row(imp[0], "1.001193", "Trực tiếp", OWNER, "13/02/2026 09:00", "27/02/2026"),
        _row(imp[1], "1.001193", "Trực tiếp", OWNER, "13/02/2026 09:30", "27/02/2026"),
        _row(imp[2], "1.004873", "Trực tiếp", OWNER, "13/02/2026 10:00"),  # due: 25/02
    ]
    rep = import_csv(conn, _csv(tmp_path / "e1.csv", first), mapping, cat, cal, ACTOR)
    assert sorted(rep.inserted) == imp and rep.bad == []
    assert lc.get_record(conn, imp[2]).due_date == "2026-02-25"
    # an imported dossier resolved here
    lc.resolve(ws, conn, imp[0], result_pdf(tmp_path / "b.pdf"), ACTOR, _dt("2026-02-26 10:00"))

    def row_of(code: str) -> tuple[object, ...]:
        return tuple(conn.execute("SELECT * FROM dossiers WHERE code = ?", (code,)).fetchone())

    kept = {code: row_of(code) for code in (here.code, imp[0], imp[1])}
    second = [
        # received here and resolved here: the export has it pending, another channel
        # and another receipt time; blank name, field and due date
        _row(here.code, "1.004873", "Trực tuyến", OWNER, "12/02/2026 10:00"),
        # received here, pending here: the province has its result (and another due date)
        _row(pending.code, "1.001193", "Trực tuyến", OWNER2, "13/02/2026 08:00",
             "25/02/2026", "24/02/2026 09:00", "Trần Thị Bình"),
        # imported, resolved here: still pending in the export
        first[0],
        # imported with a due date; the new export leaves it blank
        _row(imp[1], "1.001193", "Trực tiếp", OWNER, "13/02/2026 09:30"),
        # imported; the export corrects the receipt time: the computed due date follows
        _row(imp[2], "1.004873", "Trực tiếp", OWNER, "16/02/2026 10:00"),
    ]
    later = import_csv(conn, _csv(tmp_path / "e2.csv", second), mapping, cat, cal, ACTOR)
    assert later.bad == [] and later.inserted == []
    assert sorted(later.updated) == sorted([pending.code, imp[2]])
    assert sorted(later.unchanged) == sorted([here.code, imp[0], imp[1]])
    assert {code: row_of(code) for code in kept} == kept  # nothing undone
    r = lc.get_record(conn, here.code)
    assert (r.channel, r.received_at, r.resolved_at, r.due_date, r.outcome) == (
        "direct", "2026-02-12T02:15:00+00:00", "2026-02-23T08:00:00+00:00", "2026-02-24",
        "early")
    assert (r.procedure_name, r.field) == ("Cấp Giấy xác nhận tình trạng hôn nhân", "Hộ tịch")
    p = lc.get_record(conn, pending.code)
    assert (p.channel, p.due_date, p.resolved_at, p.outcome) == (
        "online", "2026-02-23", "2026-02-24T02:00:00+00:00", "late")
    assert lc.get_record(conn, imp[0]).resolved_at == "2026-02-26T03:00:00+00:00"
    assert lc.get_record(conn, imp[1]).due_date == "2026-02-27"
    moved = lc.get_record(conn, imp[2])  # Mon 16/02 is Tết: deemed 23, +3 -> 26/02
    assert (moved.received_on, moved.due_date) == ("2026-02-16", "2026-02-26")
    # and importing the second file again changes nothing
    again = import_csv(conn, _csv(tmp_path / "e2.csv", second), mapping, cat, cal, ACTOR)
    assert again.updated == [] and len(again.unchanged) == 5
    # a result time the file gives is checked against the receipt recorded here
    fresh = lc.receive(ws, conn, cat, cal, procedure_code="1.001193", owner_id=OWNER,
                       channel="direct", actor=ACTOR, at=_dt("2026-02-13 10:00")).record
    clash = [_row(fresh.code, "1.001193", "Trực tiếp", OWNER, "11/02/2026 08:00", "",
                  "12/02/2026 10:00")]
    bad = import_csv(conn, _csv(tmp_path / "e3.csv", clash), mapping, cat, cal, ACTOR).bad
    assert [b.line for b in bad] == [2] and "đã ghi trong kho" in bad[0].reason
    assert lc.get_record(conn, fresh.code).resolved_at is None


def test_import_goes_on_after_unreadable_lines(ws: Workspace, tmp_path: Path) -> None:
    """Bytes invalid in the file's encoding and a malformed CSV record spoil only their
    own record: it is reported with its line number, the rows after it load."""
    conn = db.connect(ws.db_path)
    add_owner(conn, OWNER, "Nguyễn Văn An", ACTOR)
    cat, cal = load_catalogue(ws), load_calendar(ws)
    mapping = load_mapping(ROOT / "examples" / "import-mapping.toml")
    codes = [f"000.00.07.H47-260213-000{i}" for i in range(1, 7)]

    def line(code: str, name: str = "Nguyễn Văn An") -> bytes:
        return _row(code, "1.001193", "Trực tiếp", OWNER, "13/02/2026 08:00",
                    name=name).encode("utf-8")

    data = b"\n".join([
        HEADER.encode("utf-8"),                                   # 1
        line(codes[0]),                                           # 2 good
        line(codes[1], "Tr\xe1n Th\xff B\xecnh").replace(b"Tr\xc3\xa1n", b"Tr\xe1n"),
        line(codes[2]),                                           # 4 good
        line(codes[3], "x" * 200_000),                            # 5 cell over the limit
        line(codes[4], '"Nguyễn\nVăn An"'),                       # 6-7 good, multi-line
        line(codes[5]).replace(b"Nguy\xe1\xbb\x85n", b"Nguy\xe1\xbbn"),  # 8 cut char
        _row("000.00.07.H47-260213-0010", "1.001193", "Trực tiếp", OWNER,
             "13/02/2026 09:00").encode("utf-8"),                 # 9 good
    ]) + b"\n"
    (tmp_path / "export.csv").write_bytes(data)
    rep = import_csv(conn, tmp_path / "export.csv", mapping, cat, cal, ACTOR)
    assert sorted(rep.inserted) == sorted([codes[0], codes[2], codes[4],
                                           "000.00.07.H47-260213-0010"])
    bad = {b.line: b for b in rep.bad}
    assert sorted(bad) == [3, 5, 8], rep.bad
    assert "utf-8-sig" in bad[3].reason and "0xE1" in bad[3].reason
    assert bad[3].code == codes[1]
    assert "CSV" in bad[5].reason and "field limit" in bad[5].reason
    assert "utf-8-sig" in bad[8].reason and bad[8].code == codes[5]
    assert lc.get_record(conn, codes[4]).owner_name == "Nguyễn Văn An"
    # the same file again: the good rows are unchanged, the same lines are reported
    again = import_csv(conn, tmp_path / "export.csv", mapping, cat, cal, ACTOR)
    assert len(again.unchanged) == 4 and [b.line for b in again.bad] == [3, 5, 8]

    # UTF-16 (lines cannot be split as bytes): rows up to the bad bytes load, the line
    # is reported, and so is the end of the file that could not be read
    m16 = tmp_path / "mapping16.toml"
    m16.write_text((ROOT / "examples" / "import-mapping.toml").read_text(encoding="utf-8")
                   .replace('encoding = "utf-8-sig"', 'encoding = "utf-16"'), encoding="utf-8")
    text_ok = "\n".join([HEADER, _row("000.00.07.H47-260214-0001", "1.001193", "Trực tuyến",
                                      OWNER, "14/02/2026 08:00"), ""])
    broken = (text_ok.encode("utf-16") + "000.00.07.H47-260214-0002,".encode("utf-16-le")
              + b"\x00\xdc" + "\n".encode("utf-16-le"))
    (tmp_path / "export16.csv").write_bytes(broken)
    rep16 = import_csv(conn, tmp_path / "export16.csv", load_mapping(m16), cat, cal, ACTOR)
    assert rep16.inserted == ["000.00.07.H47-260214-0001"]
    assert [b.line for b in rep16.bad] == [3]
    assert "utf-16" in rep16.bad[0].reason and "phần còn lại" in rep16.bad[0].reason
    conn.close()


def test_cli_import_reports_lines(ws: Workspace, tmp_path: Path) -> None:
    conn = db.connect(ws.db_path)
    add_owner(conn, OWNER, "Nguyễn Văn An", ACTOR)
    conn.close()
    csv_file = _csv(tmp_path / "export.csv", ROWS[:3])
    args = ["-w", str(ws.root), "dossier", "import", str(csv_file), "--mapping",
            str(ROOT / "examples" / "import-mapping.toml")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "Thêm mới 2 hồ sơ" in res.output and "Dòng 4" in res.output
    res = CliRunner().invoke(main, [*args, "--json"])
    data = json.loads(res.output)
    assert data["inserted"] == 0 and data["unchanged"] == 2 and data["bad"][0]["line"] == 4


# --------------------------------------------------------------------------------------
# CLI: receive prints form 01 (the one LibreOffice render of this file)


def test_cli_receive_json_and_receipt(ws: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["-w", str(ws.root)]
    assert runner.invoke(main, [*base, "owner", "add", OWNER, "--name", "Nguyễn Văn An"]
                         ).exit_code == 0
    res = runner.invoke(main, [*base, "dossier", "receive", "--procedure", "1.004873",
                               "--owner", OWNER, "--channel", "direct",
                               "--at", "2026-02-13 09:15", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["code"] == "000.00.07.H47-260213-0001"
    assert data["due_date"] == "2026-02-25" and data["status"] == "pending"
    pdf = Path(data["receipt"]["pdf"])
    docx = Path(data["receipt"]["docx"])
    layout_check(docx)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          check=True, text=True).stdout
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert data["code"] in text
    assert "ngày 25 tháng 02 năm 2026" in " ".join(text.split())  # appointment
    with pikepdf.open(pdf) as p:  # signed-ready: the empty signature field is there
        fields = p.Root.AcroForm.Fields
        assert any(f.get("/FT") == "/Sig" for f in fields)

    res = runner.invoke(main, [*base, "dossier", "resolve", data["code"], "--result",
                               str(result_pdf(tmp_path / "kq.pdf")), "--at",
                               "2026-02-26 09:00", "--no-stamp", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["outcome"] == "late"
    res = runner.invoke(main, [*base, "overdue", "--on", "2026-03-02"])
    assert res.exit_code == 0 and "Không có hồ sơ quá hạn" in res.output

    res = runner.invoke(main, [*base, "dossier", "receive", "-p", "1.001193", "-o", OWNER,
                               "-c", "online", "--at", "2026-02-14 21:00", "--no-print",
                               "--json"])
    late_code = json.loads(res.output)["code"]
    assert json.loads(res.output)["due_date"] == "2026-02-24"  # Saturday, online
    shown = runner.invoke(main, [*base, "overdue", "--on", "2026-03-02"]).output
    assert "hẹn 24/02/2026  quá 6 ngày lịch" in shown  # calendar days, said so
    args = [*base, "overdue", "--on", "2026-03-02", "--letters", "--json"]
    first = json.loads(runner.invoke(main, args).output)
    assert [o["code"] for o in first["overdue"]] == [late_code]
    assert [x["dossier_code"] for x in first["letters"]] == [late_code]
    # form 04 as the signed-ready PDF/A too, with its title's diacritics intact
    letter_pdf = ws.root / first["letters"][0]["pdf"]
    letter = " ".join(subprocess.run(["pdftotext", "-layout", str(letter_pdf), "-"],
                                     capture_output=True, check=True, text=True).stdout.split())
    assert "VĂN BẢN XIN LỖI" in letter
    assert "Về việc chậm trả kết quả giải quyết hồ sơ" in letter
    assert late_code in letter.replace("- ", "-")  # the code may wrap after a hyphen
    with pikepdf.open(letter_pdf) as p:
        assert any(f.get("/FT") == "/Sig" for f in p.Root.AcroForm.Fields)
    layout_check(ws.root / first["letters"][0]["docx"])
    second = json.loads(runner.invoke(main, args).output)
    assert second["letters"] == [] and second["already_had"] == [late_code]
    assert second["overdue"][0]["apology"]["new_due"] == "2026-03-05"


# --------------------------------------------------------------------------------------
# End to end: the counter, the inbox and the results feed the quarterly report


def test_counter_to_quarterly_report_end_to_end(ws: Workspace, tmp_path: Path) -> None:
    """Dossiers received and resolved through the commands, a scan dropped into one
    dossier's folder, a letter for the late one: the quarterly table counts exactly what
    happened, as worked out by hand below (Q3 2025 = 15/6–14/9/2025)."""
    from motcua.ingest import ingest_paths
    from tests import scans

    runner = CliRunner()
    base = ["-w", str(ws.root)]

    def cli(*args: str) -> dict:  # type: ignore[type-arg]
        res = runner.invoke(main, [*base, *args])
        assert res.exit_code == 0, res.output
        return json.loads(res.output) if "--json" in args else {}

    cli("owner", "add", OWNER, "--name", "Nguyễn Văn An")

    def receive(proc: str, channel: str, at: str) -> dict:  # type: ignore[type-arg]
        return cli("dossier", "receive", "-p", proc, "-o", OWNER, "-c", channel, "--at", at,
                   "--no-print", "--json")

    def resolve(code: str, at: str, name: str) -> str:
        out = cli("dossier", "resolve", code, "--result", str(result_pdf(tmp_path / name)),
                  "--at", at, "--json")
        return str(out["outcome"])

    # Carried over: Đất đai (10 working days), received 10/6, due 24/6, resolved 20/6.
    e = receive("1.004227", "direct", "2025-06-10 09:00")
    assert e["due_date"] == "2025-06-24"
    # Hộ tịch (3 days): received Tue 1/7, due Fri 4/7, resolved 2/7: early.
    a = receive("1.004873", "direct", "2025-07-01 09:00")
    assert a["due_date"] == "2025-07-04"
    # Cư trú (7 days), online: received Mon 7/7, due Wed 16/7, resolved that day: on time.
    b = receive("1.004194", "online", "2025-07-07 08:00")
    assert b["due_date"] == "2025-07-16"
    # Đất đai by post: received Fri 1/8, due Fri 15/8, resolved 20/8: late.
    c = receive("1.004227", "post", "2025-08-01 10:00")
    assert c["due_date"] == "2025-08-15"
    # Hộ tịch: received Mon 8/9, due Thu 11/9, never resolved: overdue at 14/9.
    d = receive("1.004873", "direct", "2025-09-08 14:00")
    assert d["due_date"] == "2025-09-11"
    assert resolve(e["code"], "2025-06-20 10:00", "e.pdf") == "early"
    assert resolve(a["code"], "2025-07-02 10:00", "a.pdf") == "early"
    assert resolve(b["code"], "2025-07-16 15:00", "b.pdf") == "on_time"
    assert resolve(c["code"], "2025-08-20 09:00", "c.pdf") == "late"

    # A scan dropped into dossier A's folder: A has a digitized component.
    folder = ws.inbox / a["code"]
    folder.mkdir()
    scans.write_jpeg(scans.render_page("clean", seed=81, max_lines=4), folder / "don.jpg")
    assert [o.state for o in ingest_paths(ws, [ws.inbox])] == ["done"]

    letters = cli("overdue", "--on", "2025-09-12", "--letters", "--no-pdf", "--json")
    assert [x["dossier_code"] for x in letters["letters"]] == [d["code"]]

    report = cli("report", "quarterly", "--quarter", "2025Q3", "--json")
    rows = {r["field"]: r for r in report["bieu06"]}
    expected = {
        "Hộ tịch": dict(received_total=2, received_online=0, received_direct_post=2,
                        carried_over=0, resolved_total=1, resolved_early=1,
                        resolved_on_time=0, resolved_late=0, pending_total=1,
                        pending_within=0, pending_overdue=1),
        "Đăng ký, quản lý cư trú": dict(received_total=1, received_online=1,
                                        received_direct_post=0, carried_over=0,
                                        resolved_total=1, resolved_early=0,
                                        resolved_on_time=1, resolved_late=0,
                                        pending_total=0, pending_within=0,
                                        pending_overdue=0),
        "Đất đai": dict(received_total=2, received_online=0, received_direct_post=1,
                        carried_over=1, resolved_total=2, resolved_early=1,
                        resolved_on_time=0, resolved_late=1, pending_total=0,
                        pending_within=0, pending_overdue=0),
    }
    assert set(rows) == set(expected)
    for field, counts in expected.items():
        assert {k: rows[field][k] for k in counts} == counts, field
    total = report["total"]
    assert (total["received_total"], total["resolved_late"], total["pending_overdue"]) \
        == (5, 1, 1)
    assert report["apology_letters"] == 1
    dig = report["digitization_total"]
    # New dossiers A, B, C, D; only A holds a scan. All four resolved ones have an
    # electronic result (E, resolved in the period, counts there too).
    assert (dig["received"], dig["digitized"], dig["components_scanned"]) == (4, 1, 1)
    assert (dig["resolved"], dig["e_results"]) == (4, 4)

    # The Báo cáo itself, as staff print it: DOCX in the layout, PDF with the same figures.
    res = runner.invoke(main, [*base, "report", "quarterly", "--quarter", "2025Q3", "-o",
                               str(tmp_path / "bao-cao")])
    assert res.exit_code == 0, res.output
    layout_check(tmp_path / "bao-cao.docx")
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "bao-cao.pdf"), "-"],
                                   capture_output=True, text=True, check=True).stdout.split())
    assert "BÁO CÁO" in text and "quý III năm 2025" in text and "Đất đai" in text
    assert "đã ban hành 1 văn bản xin lỗi" in text
