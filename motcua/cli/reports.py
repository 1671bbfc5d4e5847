"""Periodic reports and indicators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from motcua import labels
from motcua.cli._base import Context, group, json_option, print_json, with_context


@group()
def report() -> None:
    """Báo cáo định kỳ (Nghị định 09/2019) và chỉ số phục vụ (Quyết định 766)."""


@report.command("quarterly")
@click.option("--quarter", "-q", default=None, help="Quý, ví dụ 2025Q3 (15/6–14/9/2025).")
@click.option("--year", type=int, default=None, help="Năm báo cáo (15/12 năm trước–14/12).")
@click.option("--from", "date_from", default=None,
              help="Kỳ tự chọn: từ ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--to", "date_to", default=None,
              help="Kỳ tự chọn: đến ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Ghi số liệu Biểu 06 ra tệp CSV.")
@click.option("--json", "as_json", is_flag=True, help="In số liệu dạng JSON (không tạo văn bản).")
@click.option("--output", "-o", "out", type=click.Path(path_type=Path), default=None,
              help="Tên tệp báo cáo (không đuôi); mặc định reports/bao-cao-<kỳ>.")
@click.option("--number", default=None, help="Số văn bản, hoặc “auto” lấy từ sổ đăng ký.")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX, không tạo PDF/A.")
@click.option("--date", "issue_date", default=None,
              help="Ngày ban hành ghi trên báo cáo (DD/MM/YYYY hoặc YYYY-MM-DD); mặc định "
                   "hôm nay.")
@click.option("--recipient", "recipients", multiple=True, metavar="NƠI NHẬN",
              help="Nơi nhận (lặp lại cho mỗi nơi); mặc định [reports] recipients trong "
                   "motcua.toml.")
@click.option("--sign-as", "signature", type=click.Choice(["TM", "KT", "TM-KT"]),
              default=None, help="Thẩm quyền ký: TM, KT hoặc TM-KT (TM. ỦY BAN NHÂN DÂN / "
                                 "KT. CHỦ TỊCH); mặc định [reports] signature.")
@with_context
def report_quarterly(sc: Context, quarter: str | None, year: int | None,
                     date_from: str | None, date_to: str | None, csv_path: Path | None,
                     as_json: bool, out: Path | None, number: str | None,
                     no_pdf: bool, issue_date: str | None, recipients: tuple[str, ...],
                     signature: str | None) -> None:
    """Báo cáo kết quả giải quyết TTHC (Biểu 06 theo lĩnh vực), số hóa, xin lỗi, biểu đồ."""
    from motcua.services import reports

    rep = reports.quarterly(sc, quarter=quarter, year=year, date_from=date_from,
                            date_to=date_to, csv_path=csv_path, write=not as_json, out=out,
                            number=number, pdf=not no_pdf, issue_date=issue_date,
                            recipients=list(recipients), signature=signature)
    for warning in rep.warnings:  # on stderr, so that --json stays readable
        click.secho(f"Cảnh báo: {warning}", fg="yellow", err=True)
    if as_json:
        click.echo(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2))
        return
    t = rep.total
    click.echo(f"Báo cáo {rep.period_label} ({rep.range_vi}):")
    click.echo(f"  Nhận giải quyết {t['received_total']} (kỳ trước chuyển qua "
               f"{t['carried_over']}, trực tuyến {t['received_online']}, trực tiếp và bưu "
               f"chính {t['received_direct_post']})")
    click.echo(f"  Đã giải quyết {t['resolved_total']} (trước hạn {t['resolved_early']}, đúng "
               f"hạn {t['resolved_on_time']}, quá hạn {t['resolved_late']}); tỷ lệ đúng hạn "
               f"{rep.on_time_rate}")
    click.echo(f"  Đang giải quyết {t['pending_total']} (trong hạn {t['pending_within']}, "
               f"quá hạn {t['pending_overdue']}); văn bản xin lỗi trong kỳ: {rep.apologies}")
    r = rep.data["ratings_total"]
    click.echo(f"  Đánh giá của người dân: rất hài lòng {r['very_satisfied']}, hài lòng "
               f"{r['satisfied']}, không hài lòng {r['dissatisfied']}, chưa đánh giá "
               f"{r['unrated']}; tỷ lệ hài lòng {labels.vi_percent(r['satisfied_rate'])}")
    click.echo(f"  Số liệu tính trong {labels.vi_decimal(rep.seconds, 2)} giây.")
    click.echo("Cách tính:")
    for line in rep.definitions[1:4]:
        click.echo(f"  - {line}")
    files = rep.files
    assert files is not None
    click.echo(f"Văn bản: {files.pdf or files.docx}"
               + ("" if files.pdf is None else " (sẵn sàng ký số)"))
    click.echo(f"  DOCX: {files.docx}")
    click.echo(f"  Biểu đồ: {files.chart}")
    if files.csv:
        click.echo(f"  CSV: {files.csv}")
    if files.ratings_csv:
        click.echo(f"  CSV đánh giá: {files.ratings_csv}")


@report.command("indicators")
@click.option("--month", default=None, help="Tháng, ví dụ 2025-09 (kỳ 15/8–14/9/2025).")
@click.option("--calendar-month", is_flag=True,
              help="Tính theo tháng dương lịch (ngày 1 đến cuối tháng) thay vì kỳ 15–14.")
@click.option("--quarter", "-q", default=None, help="Hoặc một quý, ví dụ 2025Q3.")
@click.option("--from", "date_from", default=None,
              help="Kỳ tự chọn: từ ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--to", "date_to", default=None,
              help="Kỳ tự chọn: đến ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@json_option
@with_context
def report_indicators(sc: Context, month: str | None, calendar_month: bool,
                      quarter: str | None, date_from: str | None, date_to: str | None,
                      as_json: bool) -> None:
    """Chỉ số phục vụ người dân (Quyết định 766) mà Kho dữ liệu tính được, kèm công thức."""
    from motcua.services import reports

    rep = reports.indicators(sc, month=month, calendar_month=calendar_month, quarter=quarter,
                             date_from=date_from, date_to=date_to)
    if as_json:
        print_json(rep)
        return
    click.echo(f"Chỉ số {rep.period_label} ({rep.range_vi}):")
    for line in rep.lines:
        click.echo(f"  {line.name}: {line.value_text} ({line.numerator}/{line.denominator})")
        click.echo(f"      = {line.formula}")
    click.echo("  Thời gian giải quyết trung bình theo thủ tục (ngày làm việc):")
    click.echo(f"      = {rep.processing_time_formula}")
    if not rep.procedures:
        click.echo("      (không có hồ sơ giải quyết trong kỳ)")
    for p in rep.procedures:
        legal = f"quy định {p['legal_days']} ngày" if p["legal_days"] is not None \
            else "chưa rõ hạn"
        click.echo(f"    {p['procedure_code']}  {p['procedure_name']}: {p['average_text']} "
                   f"ngày ({legal}; {p['resolved']} hồ sơ, {p['on_time']} đúng hạn)")


COMMANDS: list[Any] = [report]
