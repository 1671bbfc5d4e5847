"""Periodic reports (Nghị định 09/2019: Biểu 06 by field, digitization, apologies, the
on-time chart) and the service indicators of Quyết định 766.

Dossiers made without a due date get theirs (`sync_lifecycle`) here, once, before any
figure is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motcua import labels
from motcua.services import Context, Result
from motcua.services.access import Permission, require
from motcua.services.issued import parse_number


def _period(quarter: str | None = None, year: int | None = None, month: str | None = None,
            date_from: str | None = None, date_to: str | None = None,
            calendar_month: bool = False) -> Any:
    """Exactly one way of naming the period; days through the one date parser."""
    from motcua.reports.periods import choose_period, parse_month

    if month is not None and calendar_month:
        return parse_month(month, calendar=True)
    return choose_period(quarter=quarter, year=year, month=month, date_from=date_from,
                         date_to=date_to)


def _synced(ctx: Context) -> None:
    from motcua.counter.lifecycle import sync_lifecycle

    sync_lifecycle(ctx.conn, ctx.catalogue, ctx.calendar)


@dataclass(frozen=True)
class ReportFiles(Result):
    docx: str
    pdf: str | None
    chart: str
    csv: str | None
    ratings_csv: str | None = None  # beside the Biểu 06 CSV: the ratings per field


@dataclass(frozen=True)
class QuarterlyReport(Result):
    data: dict[str, Any]          # the figures and their definitions (what --json prints)
    period_label: str
    range_vi: str
    total: dict[str, Any]         # the Biểu 06 total row
    on_time_rate: str             # as Vietnamese writes a percentage
    apologies: int
    seconds: float
    definitions: tuple[str, ...]
    files: ReportFiles | None     # None when only the figures were asked for
    warnings: tuple[str, ...] = ()  # e.g. the period has not ended: figures will change

    def as_dict(self) -> dict[str, Any]:
        return dict(self.data)


def quarterly(ctx: Context, *, quarter: str | None = None, year: int | None = None,
              date_from: str | None = None, date_to: str | None = None,
              csv_path: Path | None = None, write: bool = True, out: Path | None = None,
              number: str | None = None, pdf: bool = True, issue_date: str | None = None,
              recipients: list[str] | None = None,
              signature: str | None = None) -> QuarterlyReport:
    """The period's figures; with `write`, the Báo cáo (DOCX, PDF/A, chart, CSV) dated
    `issue_date` (default today), to `recipients` and signed as `signature` (TM, KT,
    TM-KT; default from `[reports]`). A period not yet ended is flagged everywhere."""
    from motcua.archive.settings import local_now
    from motcua.reports.numbers import quarter_numbers
    from motcua.reports.quarterly import (
        DEFINITIONS_VI,
        default_output,
        open_period_warning,
        ratings_csv_path,
        render_quarterly,
        write_csv,
        write_ratings_csv,
    )

    require(ctx.actor.roles, Permission.REPORTS)
    period = _period(quarter=quarter, year=year, date_from=date_from, date_to=date_to)
    num = parse_number(number)
    issued_on = labels.parse_day(issue_date, "--date") if issue_date else None
    today = local_now(ctx.ws).date()
    _synced(ctx)
    numbers = quarter_numbers(ctx.conn, period)
    files = None
    if write:
        made = render_quarterly(ctx.ws, numbers, out or default_output(ctx.ws, numbers),
                                pdf=pdf, csv_path=csv_path, number=num, issue_date=issued_on,
                                recipients=recipients or None, signature=signature,
                                today=today)
        files = ReportFiles(str(made.docx), str(made.pdf) if made.pdf else None,
                            str(made.chart), str(made.csv) if made.csv else None,
                            str(made.ratings_csv) if made.ratings_csv else None)
    elif csv_path:
        write_csv(numbers, csv_path)
        write_ratings_csv(numbers, ratings_csv_path(csv_path))
    warning = open_period_warning(period, today, labels.vi_date)
    data = numbers.as_dict() | {"definitions": list(DEFINITIONS_VI),
                                "warnings": [warning] if warning else []}
    data["period"]["open"] = warning is not None
    return QuarterlyReport(data, period.label, period.range_vi, numbers.total.as_dict(),
                           labels.vi_percent(numbers.total.on_time_rate), numbers.apologies,
                           numbers.seconds, tuple(DEFINITIONS_VI), files,
                           (warning,) if warning else ())


@dataclass(frozen=True)
class IndicatorLine(Result):
    key: str
    name: str
    value: float | None
    value_text: str
    numerator: int
    denominator: int
    formula: str


@dataclass(frozen=True)
class IndicatorsReport(Result):
    data: dict[str, Any]
    period_label: str
    range_vi: str
    lines: tuple[IndicatorLine, ...]
    processing_time_formula: str
    procedures: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.data)


def indicators(ctx: Context, *, month: str | None = None, calendar_month: bool = False,
               quarter: str | None = None, date_from: str | None = None,
               date_to: str | None = None) -> IndicatorsReport:
    """The indicators the warehouse can compute, each with its formula."""
    from motcua.reports.numbers import PROCESSING_TIME_FORMULA, indicator_lines
    from motcua.reports.numbers import indicators as compute

    require(ctx.actor.roles, Permission.REPORTS)
    period = _period(quarter=quarter, month=month, date_from=date_from, date_to=date_to,
                     calendar_month=calendar_month)
    _synced(ctx)
    ind = compute(ctx.conn, period, ctx.calendar)
    lines = tuple(IndicatorLine(key, name, value, labels.vi_percent(value), num, den, formula)
                  for key, name, value, num, den, formula in indicator_lines(
                      ind.numbers.total, ind.numbers.digitization_total,
                      ind.numbers.ratings_total))
    procedures = tuple(p.as_dict() | {"average_text": labels.vi_decimal(
        p.average_working_days)} for p in ind.procedures)
    data = ind.as_dict() | {"processing_time_formula": PROCESSING_TIME_FORMULA}
    return IndicatorsReport(data, period.label, period.range_vi, lines,
                            PROCESSING_TIME_FORMULA, procedures)


def current_quarter(ctx: Context) -> str:
    """The reporting quarter (Nghị định 09/2019's days) that contains today, e.g.
    "2026Q4": the reports page opens on it."""
    from motcua.archive.settings import local_now
    from motcua.reports.periods import quarter_period

    today = local_now(ctx.ws).date()
    for year in (today.year, today.year + 1):
        for q in range(1, 5):
            period = quarter_period(year, q)
            if period.start <= today <= period.end:
                return f"{year}Q{q}"
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"
