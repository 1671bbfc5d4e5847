"""The one date parser and formatter, and the label tables (pure functions)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from motcua import labels
from motcua.errors import ExitCode, MotcuaError, TransientError, UserError

pytestmark = pytest.mark.quick

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize("text", ["2025-07-16", "16/07/2025", "16/7/2025", "16-07-2025",
                                  "16.7.2025", " 2025-7-16 "])
def test_both_ways_of_writing_a_day_are_read(text: str) -> None:
    assert labels.parse_day(text) == date(2025, 7, 16)


def test_a_day_that_does_not_exist_says_so() -> None:
    with pytest.raises(labels.BadDate) as err:
        labels.parse_day("31/02/2025", "ngày bắt đầu")
    assert err.value.message == "Ngày bắt đầu “31/02/2025”: ngày không tồn tại."
    with pytest.raises(labels.BadDate, match="không tồn tại"):
        labels.parse_day("2025-13-01")


@pytest.mark.parametrize("text", ["", "hôm qua", "2025/07/16", "16/07/25", "16072025"])
def test_unreadable_days_are_refused_with_both_forms_named(text: str) -> None:
    with pytest.raises(labels.BadDate) as err:
        labels.parse_day(text)
    assert "DD/MM/YYYY" in err.value.message and "YYYY-MM-DD" in err.value.message
    assert err.value.exit_code == ExitCode.USER_ERROR


def test_optional_day_takes_blank_as_none() -> None:
    assert labels.parse_optional_day(None) is None
    assert labels.parse_optional_day("  ") is None
    assert labels.parse_optional_day("01/01/2026") == date(2026, 1, 1)


def test_moments_without_offset_are_the_centre_wall_clock() -> None:
    naive = labels.parse_datetime("16/07/2025 08:30")
    assert naive == datetime(2025, 7, 16, 8, 30) and naive.tzinfo is None
    placed = labels.parse_datetime("2025-07-16 08:30", tz=HCM)
    assert placed == datetime(2025, 7, 16, 8, 30, tzinfo=HCM)
    assert labels.parse_datetime("16/07/2025", tz=HCM) == datetime(2025, 7, 16, tzinfo=HCM)
    assert labels.parse_datetime("16/07/2025T08:30:15") == datetime(2025, 7, 16, 8, 30, 15)


def test_moments_with_offset_keep_their_instant() -> None:
    moment = labels.parse_datetime("2025-07-16T01:30:00+00:00", tz=HCM)
    assert moment == datetime(2025, 7, 16, 8, 30, tzinfo=HCM)
    assert moment.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("text", ["16/07/2025 25:00", "30/02/2025 08:00"])
def test_moments_that_do_not_exist_say_so(text: str) -> None:
    with pytest.raises(labels.BadDate, match="không tồn tại"):
        labels.parse_datetime(text)


def test_garbage_moment_is_refused() -> None:
    with pytest.raises(labels.BadDate, match="không phải thời điểm hợp lệ"):
        labels.parse_datetime("16/07/2025 sáng")


def test_stored_utc_is_shown_in_the_centre_zone() -> None:
    assert labels.vi_datetime("2025-07-16T01:30:00+00:00", HCM) == "16/07/2025 08:30"
    # naive stored values are UTC, as db.now() writes them
    assert labels.vi_datetime("2025-07-16T20:00:00", HCM) == "17/07/2025 03:00"
    assert labels.vi_datetime(None, HCM) == ""
    assert labels.vi_datetime("2025-07-16T01:30:05+00:00", HCM, seconds=True) \
        == "16/07/2025 08:30:05"
    assert labels.vi_date("2025-07-16") == "16/07/2025"
    assert labels.vi_date(date(2025, 1, 2)) == "02/01/2025"
    assert labels.vi_date(None) == ""


def test_utc_iso_is_what_the_database_stores() -> None:
    moment = datetime(2025, 7, 16, 8, 30, tzinfo=HCM)
    assert labels.utc_iso(moment) == "2025-07-16T01:30:00+00:00"
    assert labels.utc_iso(moment.astimezone(timezone(timedelta(hours=-5)))) \
        == "2025-07-16T01:30:00+00:00"
    assert labels.utc_iso(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00+00:00"
    with pytest.raises(ValueError):
        labels.utc_iso(datetime(2025, 1, 1))


def test_every_label_is_vietnamese_and_codes_fall_through() -> None:
    tables = [labels.INTAKE_STATES, labels.DOCUMENT_STATES, labels.CHANNELS,
              labels.OWNER_KINDS, labels.IDENTIFIER_KINDS, labels.AUDIT_ACTIONS,
              labels.OUTCOMES, labels.DOSSIER_STATUS, labels.ROLES]
    for table in tables:
        for code, word in table.items():
            assert word and word != code
    assert labels.label(labels.CHANNELS, "online") == "trực tuyến"
    assert labels.label(labels.CHANNELS, "fax") == "fax"
    assert labels.label(labels.CHANNELS, None) == ""


def test_the_database_state_lists_all_have_labels() -> None:
    from motcua.db import MIGRATIONS

    schema = "\n".join(sql for _name, sql in MIGRATIONS)
    for code in labels.INTAKE_STATES:
        assert f"'{code}'" in schema
    for code in labels.DOCUMENT_STATES:
        assert f"'{code}'" in schema


def test_every_error_carries_its_exit_code() -> None:
    assert MotcuaError("x").exit_code == ExitCode.USER_ERROR
    assert UserError("x").exit_code == ExitCode.USER_ERROR
    assert TransientError("x").exit_code == ExitCode.TRY_AGAIN
    from motcua.services.access import AccessDenied

    assert AccessDenied("x").exit_code == ExitCode.ACCESS_DENIED
    assert len({int(c) for c in ExitCode}) == len(ExitCode)  # one meaning per number


def test_specs_read_dates_through_the_one_parser() -> None:
    from motcua.templates.spec import validate

    base = {"date": "16/07/2025", "dossier_code": "000.00.07.H47-250716-0001",
            "applicant": {"name": "Nguyễn Văn An", "id_number": "001085012345"},
            "request": "Cấp giấy", "documents": [{"name": "Tờ khai", "form": "Bản chính",
                                                  "copies": 1}],
            "sets": 1, "processing_days": 3, "received_at": "16.7.2025 08:30",
            "appointment_at": "08:30, 21/07/2025", "return_place": "Bộ phận Một cửa",
            "receiver": "Nguyễn Thị Lan"}
    spec = validate("tiep-nhan", base)
    assert spec.data["date"] == date(2025, 7, 16)
    assert spec.data["received_at"] == datetime(2025, 7, 16, 8, 30)
    assert spec.data["appointment_at"] == datetime(2025, 7, 21, 8, 30)
    with pytest.raises(UserError, match="là ngày không tồn tại: “31/02/2025”"):
        validate("tiep-nhan", base | {"date": "31/02/2025"})
    with pytest.raises(UserError, match=r"là ngày \(hoặc giờ\) không tồn tại"):
        validate("tiep-nhan", base | {"received_at": "16/07/2025 24:10"})
    with pytest.raises(UserError, match="phải là ngày dạng"):
        validate("tiep-nhan", base | {"date": "hôm qua"})


def test_every_audit_action_written_has_a_label() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "motcua"
    written: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'audit\.record\(\s*[\w.]+,\s*"([\w.]+)"', text))
        written |= set(re.findall(r'\baction = "([\w.]+)"', text))
        written |= set(re.findall(r'"(reuse\.(?:attach|propose))"', text))
    assert {"ingest", "assign", "user_add", "apology.reclaim"} <= written
    assert sorted(written - set(labels.AUDIT_ACTIONS)) == []


def _schema_checks() -> list[tuple[str, set[str]]]:
    """Every `column TEXT … CHECK (column IN (…))` of the checked-in schema."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "schema.sql").read_text(
        encoding="utf-8")
    return [(m.group(1), set(re.findall(r"'(\w+)'", m.group(2))))
            for m in re.finditer(r"CHECK \((\w+) IN \(([^)]*)\)\)", text)]


@pytest.mark.quick
@pytest.mark.parametrize(("column", "table"), [
    ("state", labels.INTAKE_STATES), ("state", labels.DOCUMENT_STATES),
    ("dossier_source", labels.DOSSIER_SOURCES), ("kind", labels.IDENTIFIER_KINDS),
    ("kind", labels.FIXITY_PROBLEMS), ("kind", labels.OWNER_KINDS),
    ("role", labels.DOCUMENT_ROLES), ("role", labels.ROLES),
    ("status", labels.REUSE_STATUS), ("level", labels.RATING_LEVELS),
    ("channel", labels.RATING_CHANNELS), ("event", labels.RATING_EVENTS),
])
def test_every_state_the_schema_allows_has_its_one_label(
        column: str, table: dict[str, str]) -> None:
    """The database and the labels name the same states: a state added to a CHECK list
    without its Vietnamese word (or the reverse) fails here."""
    assert (column, set(table)) in _schema_checks()


@pytest.mark.quick
def test_every_batch_part_reason_has_its_sentence() -> None:
    reasons = [values for column, values in _schema_checks() if column == "reason"]
    assert reasons and all(values <= set(labels.UNFILED_REASONS) for values in reasons)
