"""Periodic reports and indicators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from motcua.cli._base import (
    Context,
    group,
    json_option,
    print_json,
    with_context,
)


@group()
def report() -> None:
    """Báo cáo định kỳ (Nghị định 09/2019) và chỉ số phục vụ (Quyết định 766)."""


@report.command("quarterly")
@click.option("--quarter", "-q", default=None, help="Quý, ví dụ 2025Q3 (15/6–14/9/2025).")
@click.option("--year", type=int, default=None, help="Năm báo cáo (15/12 năm trước–14/12).")
@click.option("--from", "date_from", default=None, help="Kỳ tự chọn: từ ngày (YYYY-MM-DD).")
@click.option("--to", "date_to", default=None, help="Kỳ tự chọn: đến ngày (YYYY-MM-DD).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Ghi số liệu Biểu 06 ra tệp CSV.")
@click.option("--json", "as_json", is_flag=True, help="In số liệu dạng JSON (không tạo văn bản).")
@click.option("--output", "-o", "out", type=click.Path(path_type=Path), default=None,
              help="Tên tệp báo cáo (không đuôi); mặc định reports/bao-cao-<kỳ>.")
@click.option("--number", default=None, help="Số văn bản, hoặc “auto” lấy từ sổ đăng ký.")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX, không tạo PDF/A.")
@with_context
def report_quarterly(sc: Context, quarter: str | None, year: int | None,
                     date_from: str | None, date_to: str | None, csv_path: Path | None,
                     as_json: bool, out: Path | None, number: str | None,
                     no_pdf: bool) -> None:
    """Báo cáo kết quả giải quyết TTHC (Biểu 06 theo lĩnh vực), số hóa, xin lỗi, biểu đồ."""
    from motcua.archive import lifecycle as lc
    from motcua.reports.numbers import quarter_numbers
    from motcua.reports.periods import choose_period
    from motcua.reports.quarterly import (
        DEFINITIONS_VI,
        default_output,
        pct,
        render_quarterly,
        to_json,
        write_csv,
    )

    ws = sc.ws
    period = choose_period(quarter=quarter, year=year, date_from=date_from, date_to=date_to)
    catalogue, calendar = sc.catalogue, sc.calendar
    conn = sc.conn
    lc.sync_lifecycle(conn, catalogue, calendar)
    numbers = quarter_numbers(conn, period)
    if as_json:
        if csv_path:
            write_csv(numbers, csv_path)
        click.echo(to_json(numbers))
        return
    num: int | str | None = None
    if number is not None:
        num = "auto" if number == "auto" else int(number) if number.isdigit() else number
    made = render_quarterly(ws, numbers, out or default_output(ws, numbers), pdf=not no_pdf,
                            csv_path=csv_path, number=num)
    t = numbers.total
    click.echo(f"Báo cáo {period.label} ({period.range_vi}):")
    click.echo(f"  Nhận giải quyết {t.received_total} (kỳ trước chuyển qua {t.carried_over}, "
               f"trực tuyến {t.received_online}, trực tiếp và bưu chính "
               f"{t.received_direct_post})")
    click.echo(f"  Đã giải quyết {t.resolved_total} (trước hạn {t.resolved_early}, đúng hạn "
               f"{t.resolved_on_time}, quá hạn {t.resolved_late}); tỷ lệ đúng hạn "
               f"{pct(t.on_time_rate)}")
    click.echo(f"  Đang giải quyết {t.pending_total} (trong hạn {t.pending_within}, quá hạn "
               f"{t.pending_overdue}); văn bản xin lỗi trong kỳ: {numbers.apologies}")
    click.echo(f"  Số liệu tính trong {numbers.seconds:.2f} giây.")
    click.echo("Cách tính:")
    for line in DEFINITIONS_VI[1:4]:
        click.echo(f"  - {line}")
    click.echo(f"Văn bản: {made.pdf or made.docx}" + ("" if made.pdf is None
                                                       else " (sẵn sàng ký số)"))
    click.echo(f"  DOCX: {made.docx}")
    click.echo(f"  Biểu đồ: {made.chart}")
    if made.csv:
        click.echo(f"  CSV: {made.csv}")


@report.command("indicators")
@click.option("--month", default=None, help="Tháng, ví dụ 2025-09 (kỳ 15/8–14/9/2025).")
@click.option("--calendar-month", is_flag=True,
              help="Tính theo tháng dương lịch (ngày 1 đến cuối tháng) thay vì kỳ 15–14.")
@click.option("--quarter", "-q", default=None, help="Hoặc một quý, ví dụ 2025Q3.")
@click.option("--from", "date_from", default=None, help="Kỳ tự chọn: từ ngày.")
@click.option("--to", "date_to", default=None, help="Kỳ tự chọn: đến ngày.")
@json_option
@with_context
def report_indicators(sc: Context, month: str | None, calendar_month: bool,
                      quarter: str | None, date_from: str | None, date_to: str | None,
                      as_json: bool) -> None:
    """Chỉ số phục vụ người dân (Quyết định 766) mà Kho dữ liệu tính được, kèm công thức."""
    from motcua.archive import lifecycle as lc
    from motcua.reports.numbers import PROCESSING_TIME_FORMULA, indicator_lines, indicators
    from motcua.reports.periods import choose_period, parse_month
    from motcua.reports.quarterly import pct

    if month is not None and calendar_month:
        period = parse_month(month, calendar=True)
    else:
        period = choose_period(quarter=quarter, month=month, date_from=date_from,
                               date_to=date_to)
    catalogue, calendar = sc.catalogue, sc.calendar
    conn = sc.conn
    lc.sync_lifecycle(conn, catalogue, calendar)
    ind = indicators(conn, period, calendar)
    if as_json:
        data = ind.as_dict()
        data["processing_time_formula"] = PROCESSING_TIME_FORMULA
        print_json(data)
        return
    click.echo(f"Chỉ số {period.label} ({period.range_vi}):")
    for _key, name, value, num, den, formula in indicator_lines(
            ind.numbers.total, ind.numbers.digitization_total):
        click.echo(f"  {name}: {pct(value)} ({num}/{den})")
        click.echo(f"      = {formula}")
    click.echo("  Thời gian giải quyết trung bình theo thủ tục (ngày làm việc):")
    click.echo(f"      = {PROCESSING_TIME_FORMULA}")
    if not ind.procedures:
        click.echo("      (không có hồ sơ giải quyết trong kỳ)")
    for p in ind.procedures:
        legal = f"quy định {p.legal_days} ngày" if p.legal_days is not None else "chưa rõ hạn"
        avg = f"{p.average_working_days:.1f}".replace(".", ",")
        click.echo(f"    {p.procedure_code}  {p.procedure_name}: {avg} ngày "
                   f"({legal}; {p.resolved} hồ sơ, {p.on_time} đúng hạn)")


COMMANDS: list[Any] = [report]
