"""Reporting periods per Nghị định 09/2019/NĐ-CP Điều 12.

* month M of year Y: 15th of the previous month to the 14th of M;
* quarter: 15th of the month before the quarter to the 14th of its last month
  (Q1 15/12 of the previous year–14/3, Q2 15/3–14/6, Q3 15/6–14/9, Q4 15/9–14/12);
* year Y: 15/12 of Y-1 to 14/12 of Y;
* any explicit range (a plan may set its own, e.g. 1/7–14/12).

A period is a pair of local dates, both inclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from motcua import labels
from motcua.errors import UserError


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    label: str  # Vietnamese, e.g. "Quý III năm 2025"
    key: str = ""  # machine label, e.g. "2025Q3"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise UserError(
                f"Kỳ báo cáo không hợp lệ: ngày kết thúc {self.end:%d/%m/%Y} trước ngày bắt "
                f"đầu {self.start:%d/%m/%Y}.", "period end before start")

    @property
    def range_vi(self) -> str:
        return f"từ ngày {self.start:%d/%m/%Y} đến ngày {self.end:%d/%m/%Y}"

    def previous_day(self) -> date:
        return self.start - timedelta(days=1)


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _prev_month_15(year: int, month: int) -> date:
    return date(year - 1, 12, 15) if month == 1 else date(year, month - 1, 15)


def month_period(year: int, month: int) -> Period:
    if not 1 <= month <= 12:
        raise UserError(f"Tháng {month} không hợp lệ (1–12).", f"bad month {month}")
    return Period(_prev_month_15(year, month), date(year, month, 14),
                  f"Tháng {month} năm {year}", f"{year}-{month:02d}")


def calendar_month(year: int, month: int) -> Period:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(date(year, month, 1), nxt - timedelta(days=1),
                  f"Tháng {month} năm {year} (tháng dương lịch)", f"{year}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    if not 1 <= quarter <= 4:
        raise UserError(f"Quý {quarter} không hợp lệ (1–4).", f"bad quarter {quarter}")
    first_month = 3 * quarter - 2
    last_month = 3 * quarter
    return Period(_prev_month_15(year, first_month), date(year, last_month, 14),
                  f"Quý {ROMAN[quarter]} năm {year}", f"{year}Q{quarter}")


def year_period(year: int) -> Period:
    return Period(date(year - 1, 12, 15), date(year, 12, 14), f"Năm {year}", str(year))


def explicit_period(start: date, end: date) -> Period:
    return Period(start, end, f"Từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}",
                  f"{start.isoformat()}_{end.isoformat()}")


_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]([1-4])\s*$")
_QUARTER_ALT = re.compile(r"^\s*[Qq]([1-4])\s*[-/ ]?\s*(\d{4})\s*$")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_MONTH_ALT = re.compile(r"^\s*(\d{1,2})/(\d{4})\s*$")


def parse_quarter(text: str) -> Period:
    m = _QUARTER.match(text)
    if m:
        return quarter_period(int(m[1]), int(m[2]))
    m = _QUARTER_ALT.match(text)
    if m:
        return quarter_period(int(m[2]), int(m[1]))
    raise UserError(f"Quý “{text}” không đúng dạng; hãy viết ví dụ 2025Q3.",
                    f"bad quarter {text!r}")


def parse_month(text: str, calendar: bool = False) -> Period:
    m = _MONTH.match(text) or None
    if m:
        year, month = int(m[1]), int(m[2])
    else:
        m = _MONTH_ALT.match(text)
        if not m:
            raise UserError(f"Tháng “{text}” không đúng dạng; hãy viết ví dụ 2025-09.",
                            f"bad month {text!r}")
        year, month = int(m[2]), int(m[1])
    if not 1 <= month <= 12:
        raise UserError(f"Tháng “{text}” không hợp lệ (1–12).", f"bad month {text!r}")
    return calendar_month(year, month) if calendar else month_period(year, month)


def parse_day(text: str, label: str) -> date:
    """The one day parser (`labels.parse_day`)."""
    return labels.parse_day(text, label)


def choose_period(quarter: str | None = None, year: int | None = None,
                  month: str | None = None, date_from: str | None = None,
                  date_to: str | None = None) -> Period:
    """Exactly one way of naming the period: quarter, year, month or --from/--to."""
    given = [quarter is not None, year is not None, month is not None,
             date_from is not None or date_to is not None]
    if sum(given) != 1:
        raise UserError("Hãy chọn đúng một kỳ báo cáo: --quarter, --year, --month hoặc "
                        "--from cùng --to.", "need exactly one period option")
    if quarter is not None:
        return parse_quarter(quarter)
    if year is not None:
        return year_period(year)
    if month is not None:
        return parse_month(month)
    if date_from is None or date_to is None:
        raise UserError("Kỳ báo cáo tự chọn cần cả --from và --to.", "need both from and to")
    return explicit_period(parse_day(date_from, "Ngày bắt đầu"), parse_day(date_to,
                                                                             "Ngày kết thúc"))
