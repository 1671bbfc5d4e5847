"""The working-day calendar: due dates of dossiers in working days.

Non-working days are Saturdays and Sundays plus the public holidays of the `holidays`
package's Vietnam calendar (Tết, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh, and the days
the government moved, e.g. Friday 2 May 2025 off in exchange for Saturday 26 April 2025
worked: the package lists such Saturdays in `weekend_workdays`, and they count as
working days here too).

Staff correct the calendar with `<workspace>/holidays.toml`:

    # Extra days off (a provincial decision, a day the centre was closed)
    days_off = [{ date = "2026-01-02", name = "Nghỉ bù Tết Dương lịch" }]
    # Days worked although the calendar says they are off (a Saturday worked in exchange)
    working_days = [{ date = "2026-01-10", name = "Làm bù cho ngày 02/01/2026" }]

Due-date rule (configurable in motcua.toml, `[lifecycle]`):

* A dossier received on a non-working day (online, at a weekend) is deemed received on the
  next working day (`deem_next_working_day = true`).
* The legal processing time of N working days counts from the working day after the
  (deemed) receipt day (`count_from = "next"`); with `count_from = "same"` the receipt day
  itself is day 1. The due date is the N-th counted working day.
* N = 0 (same-day procedures): due on the (deemed) receipt day.

Days are days of the centre's wall clock: the calendar carries the centre's time zone
(`[warehouse] timezone`, default Asia/Ho_Chi_Minh), and a datetime is turned into a day
in that zone (the machine itself often runs in UTC). A naive datetime is already the
centre's local time.
"""

from __future__ import annotations

import bisect
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from motcua.archive.settings import centre_zone
from motcua.errors import UserError
from motcua.workspace import Workspace

HOLIDAYS_FILE = "holidays.toml"
COUNT_FROM = ("next", "same")
DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")

HOLIDAYS_TEMPLATE = """\
# Lịch ngày làm việc của Bộ phận Một cửa (working-day calendar corrections).
#
# Ngày nghỉ lễ, Tết lấy từ lịch Việt Nam của gói `holidays` (đã có Tết Nguyên đán,
# Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh và các ngày hoán đổi). Thêm ở đây:
#   days_off      ngày nghỉ thêm (không tính vào thời hạn giải quyết)
#   working_days  ngày vẫn làm việc dù lịch ghi là nghỉ (ví dụ thứ Bảy làm bù)
# Dates as YYYY-MM-DD.

days_off = [
    # { date = "2026-01-02", name = "Nghỉ bù Tết Dương lịch" },
]

working_days = [
    # { date = "2026-01-10", name = "Làm bù" },
]
"""


@dataclass(frozen=True)
class Rule:
    """How the due date follows from the receipt (see the module docstring)."""

    count_from: str = "next"
    deem_next_working_day: bool = True


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days. Pure data: build with `load_calendar` or directly."""

    extra_off: frozenset[date] = frozenset()
    extra_work: frozenset[date] = frozenset()
    rule: Rule = Rule()
    names: dict[date, str] = field(default_factory=dict, compare=False, hash=False)
    tz: tzinfo = DEFAULT_TZ  # the centre's time zone: datetimes become days in it
    _years: dict[int, tuple[frozenset[date], frozenset[date]]] = field(
        default_factory=dict, compare=False, hash=False, repr=False)

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(holidays, weekend working days) of the package's Vietnam calendar, cached."""
        cached = self._years.get(year)
        if cached is None:
            vn = holidays.country_holidays("VN", years=year)
            cached = (frozenset(vn.keys()), frozenset(d for d in vn.weekend_workdays
                                                      if d.year == year))
            self._years[year] = cached
        return cached

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_work:
            return True
        if day in self.extra_off:
            return False
        official_off, weekend_work = self._year(day.year)
        if day.weekday() >= 5:
            return day in weekend_work
        return day not in official_off

    def holiday_name(self, day: date) -> str | None:
        if day in self.names:
            return self.names[day]
        vn = holidays.country_holidays("VN", years=day.year, language="vi")
        name = vn.get(day)
        return str(name) if name else None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def deemed_receipt_day(self, day: date) -> date:
        if self.rule.deem_next_working_day and not self.is_working_day(day):
            return self.next_working_day(day)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n >= 1); `day` itself never counts."""
        if n < 0:
            raise ValueError("n must be >= 0")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def local(self, moment: datetime) -> datetime:
        """`moment` on the centre's wall clock (a naive datetime already is)."""
        return moment.replace(tzinfo=self.tz) if moment.tzinfo is None \
            else moment.astimezone(self.tz)

    def day_of(self, moment: date | datetime) -> date:
        """The centre's day of a moment (a date is returned as it is)."""
        return self.local(moment).date() if isinstance(moment, datetime) else moment

    def due_date(self, received: date | datetime, processing_days: int) -> date:
        """Due date for a dossier received on `received` with N working days."""
        day = self.day_of(received)
        start = self.deemed_receipt_day(day)
        if processing_days == 0:
            return start
        if self.rule.count_from == "same" and self.is_working_day(start):
            return self.add_working_days(start, processing_days - 1)
        return self.add_working_days(start, processing_days)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many counted days it took from a receipt on
        `start` to a result on `end` (0 if resolved the same day or earlier)."""
        if end <= start:
            return 0
        return self._index_of(end) - self._index_of(start)

    # A sorted list of working days makes range counts O(log n) (reports, indicators).
    @cached_property
    def _span(self) -> tuple[date, list[date]]:
        first = date(2000, 1, 1)
        days: list[date] = []
        d = first
        last = date(date.today().year + 3, 12, 31)
        while d <= last:
            if self.is_working_day(d):
                days.append(d)
            d += timedelta(days=1)
        return first, days

    def _index_of(self, day: date) -> int:
        """Number of working days on or before `day` since the span start."""
        first, days = self._span
        if day < first or day > days[-1]:
            # Outside the precomputed span: count directly (rare).
            count, d = 0, first
            step = timedelta(days=1)
            while d <= day:
                count += self.is_working_day(d)
                d += step
            return count
        return bisect.bisect_right(days, day)


def _parse_days(raw: Any, key: str, path: Path) -> dict[date, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise UserError(f"Tệp {path.name}: “{key}” phải là danh sách các ngày.",
                        f"{key} is not a list")
    out: dict[date, str] = {}
    for i, item in enumerate(raw, start=1):
        name = ""
        value: Any = item
        if isinstance(item, dict):
            value = item.get("date")
            name = str(item.get("name", ""))
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        else:
            try:
                day = date.fromisoformat(str(value).strip())
            except ValueError:
                raise UserError(
                    f"Tệp {path.name}: mục thứ {i} của “{key}” có ngày “{value}” không hợp "
                    "lệ; hãy viết dạng YYYY-MM-DD (ví dụ 2026-01-02).",
                    f"bad date {value!r} in {key}[{i}]",
                ) from None
        out[day] = name
    return out


def lifecycle_rule(ws: Workspace) -> Rule:
    raw = ws.config.section("lifecycle")
    count_from = str(raw.get("count_from", "next"))
    if count_from not in COUNT_FROM:
        raise UserError(
            f"motcua.toml: [lifecycle] count_from = “{count_from}” không hợp lệ; chỉ nhận "
            "“next” (tính từ ngày làm việc tiếp theo) hoặc “same” (tính cả ngày nhận).",
            f"bad count_from {count_from!r}",
        )
    return Rule(count_from=count_from,
                deem_next_working_day=bool(raw.get("deem_next_working_day", True)))


def parse_holidays_file(text: str, path: Path, rule: Rule = Rule(),
                        tz: tzinfo = DEFAULT_TZ) -> WorkCalendar:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"Tệp {path.name} sai cú pháp: {exc}.", str(exc)) from exc
    unknown = set(data) - {"days_off", "working_days"}
    if unknown:
        raise UserError(
            f"Tệp {path.name}: khóa không hợp lệ “{sorted(unknown)[0]}”; chỉ có "
            "“days_off” và “working_days”.", f"unknown keys {sorted(unknown)}")
    off = _parse_days(data.get("days_off"), "days_off", path)
    work = _parse_days(data.get("working_days"), "working_days", path)
    both = set(off) & set(work)
    if both:
        day = min(both)
        raise UserError(
            f"Tệp {path.name}: ngày {day:%d/%m/%Y} vừa là ngày nghỉ vừa là ngày làm việc.",
            f"{day} in both lists")
    return WorkCalendar(frozenset(off), frozenset(work), rule, {**off, **work}, tz)


def holidays_path(ws: Workspace) -> Path:
    return ws.root / HOLIDAYS_FILE


def load_calendar(ws: Workspace) -> WorkCalendar:
    """The workspace calendar, in the centre's time zone; writes a commented
    `holidays.toml` the first time."""
    path = holidays_path(ws)
    rule = lifecycle_rule(ws)
    tz = centre_zone(ws)
    if not path.exists():
        path.write_text(HOLIDAYS_TEMPLATE, encoding="utf-8")
    return parse_holidays_file(path.read_text(encoding="utf-8"), path, rule, tz)
