"""The quarterly Báo cáo: Biểu 06 by field, digitization and reuse, apologies, the chart.

`quarter_numbers` (numbers.py) computes the figures; this module turns them into the CSV
the provincial system reads, a JSON for scripts, and a Báo cáo spec rendered by the
templates (DOCX + PDF/A with an empty signature field) with the on-time chart embedded.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from motcua import labels
from motcua.archive.settings import local_now
from motcua.errors import UserError
from motcua.reports.chart import CHART_TITLE, on_time_chart
from motcua.reports.numbers import (
    CSV_COLUMNS,
    RATING_CSV_COLUMNS,
    SATISFACTION_FORMULA,
    Bieu06Row,
    DigitizationRow,
    QuarterNumbers,
    RatingRow,
    indicator_lines,
)
from motcua.reports.periods import Period
from motcua.templates import KIND_INFO, Converter, find_template, render, render_docx, validate
from motcua.templates.rules import short_date
from motcua.templates.spec import SIGN_FORMS
from motcua.workspace import Workspace

DEFAULT_RECIPIENTS = ("Văn phòng Ủy ban nhân dân cấp trên", "Lãnh đạo Ủy ban nhân dân",
                      "Trung tâm Phục vụ hành chính công")


@dataclass(frozen=True)
class ReportSettings:
    """The `[reports]` section of motcua.toml."""

    recipients: tuple[str, ...] = DEFAULT_RECIPIENTS
    archive: str = "VT, TTPVHCC"
    signature: str = "TM"  # TM, KT or TM-KT (TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / …)


def report_settings(ws: Workspace) -> ReportSettings:
    raw = ws.config.section("reports")
    recipients = raw.get("recipients", list(DEFAULT_RECIPIENTS))
    if not isinstance(recipients, list) or not all(isinstance(r, str) and r.strip()
                                                   for r in recipients):
        raise UserError("motcua.toml: [reports] recipients phải là danh sách nơi nhận, ví dụ "
                        "[\"Văn phòng UBND tỉnh\", \"Lãnh đạo UBND xã\"].", "bad recipients")
    form = str(raw.get("signature", "TM"))
    if form not in SIGN_FORMS:
        raise UserError(f"motcua.toml: [reports] signature “{form}” không hợp lệ; dùng một "
                        f"trong: {', '.join(SIGN_FORMS)}.", f"bad signature {form!r}")
    return ReportSettings(tuple(r.strip() for r in recipients),
                          str(raw.get("archive", "VT, TTPVHCC")), form)


def range_vi(period: Period) -> str:
    """`từ ngày 15/6/2025 đến ngày 14/9/2025`, dates as the references write them."""
    return f"từ ngày {short_date(period.start)} đến ngày {short_date(period.end)}"


def open_period_warning(period: Period, today: date,
                        day: Callable[[date], str] = short_date) -> str | None:
    """The Vietnamese warning when the period has not ended yet (figures will change).
    `day` writes the dates: as the references do in the document, dd/mm/yyyy on screen."""
    if today > period.end:
        return None
    return (f"Kỳ báo cáo chưa kết thúc (đến hết ngày {day(period.end)}): số liệu tính "
            f"đến ngày {day(today)} và sẽ còn thay đổi.")

DEFINITIONS_VI = (
    "Kỳ báo cáo theo Nghị định số 09/2019/NĐ-CP: quý tính từ ngày 15 của tháng trước kỳ "
    "báo cáo đến ngày 14 của tháng cuối quý; năm tính từ ngày 15/12 năm trước đến ngày "
    "14/12; kỳ tự chọn tính từ ngày bắt đầu đến ngày kết thúc, kể cả hai ngày đó.",
    "Kỳ trước chuyển qua: hồ sơ tiếp nhận trước ngày đầu kỳ mà đến đầu kỳ chưa giải quyết "
    "xong. Số hồ sơ nhận giải quyết = kỳ trước chuyển qua + tiếp nhận mới trong kỳ (trực "
    "tuyến; trực tiếp và dịch vụ bưu chính).",
    "Đã giải quyết: hồ sơ có kết quả trong kỳ; trước hạn nếu ngày có kết quả trước ngày hẹn "
    "trả ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả, đúng hạn nếu đúng ngày hẹn trả, "
    "quá hạn nếu sau ngày hẹn trả.",
    "Đang giải quyết: hồ sơ chưa có kết quả tính đến hết ngày cuối kỳ; trong hạn nếu ngày "
    "hẹn trả từ ngày cuối kỳ trở về sau, quá hạn nếu ngày hẹn trả trước ngày cuối kỳ. Số "
    "nhận giải quyết = số đã giải quyết + số đang giải quyết.",
    "Ngày hẹn trả tính theo ngày làm việc (không tính thứ Bảy, Chủ nhật, ngày nghỉ lễ, Tết "
    "và ngày nghỉ hoán đổi; tính cả thứ Bảy làm bù), bắt đầu từ ngày làm việc tiếp theo "
    "ngày tiếp nhận; hồ sơ nhận vào ngày nghỉ được coi như nhận vào ngày làm việc kế tiếp.",
    "Hồ sơ chưa xác định được thời hạn giải quyết (thủ tục không có trong danh mục) không "
    "tính là quá hạn.",
    "Đánh giá của người dân, doanh nghiệp (Điều 31 Nghị định số 118/2025/NĐ-CP): tính trên "
    "các hồ sơ đã giải quyết trong kỳ, mỗi hồ sơ một lần đánh giá (tại màn hình đánh giá ở "
    "quầy hoặc qua đường dẫn in trên Giấy tiếp nhận hồ sơ), ghi nhận đến hết ngày cuối kỳ; "
    "hồ sơ chưa được đánh giá tính là chưa đánh giá, không tính là hài lòng. Tỷ lệ hài lòng "
    f"= {SATISFACTION_FORMULA}.",
)


def sentence_name(issuing_body: str, place: str) -> str:
    """`ỦY BAN NHÂN DÂN XÃ GIA LỘC` -> `Ủy ban nhân dân xã Gia Lộc` for running text."""
    text = issuing_body.lower()
    text = text[:1].upper() + text[1:]
    return text.replace(place.lower(), place) if place else text


def pct(value: float | None) -> str:
    """Vietnamese percent: 81,7%; a dash when there is nothing to divide."""
    return labels.vi_percent(value)


def write_csv(numbers: QuarterNumbers, path: Path) -> Path:
    """One row per field plus `Tổng cộng`, columns exactly CSV_COLUMNS (UTF-8 with BOM so
    spreadsheets read the diacritics)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(numbers.csv_rows())
    return path


def ratings_csv_path(csv_path: Path) -> Path:
    """Where the ratings CSV goes beside the Biểu 06 CSV (whose columns are fixed for the
    provincial system): `bao-cao.csv` -> `bao-cao-danh-gia.csv`."""
    return csv_path.with_name(csv_path.stem + "-danh-gia" + csv_path.suffix)


def write_ratings_csv(numbers: QuarterNumbers, path: Path) -> Path:
    """The ratings per field plus `Tổng cộng`, columns RATING_CSV_COLUMNS; the satisfied
    share as a number (percent), empty when nothing was resolved."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(RATING_CSV_COLUMNS)
        for row in numbers.rating_csv_rows():
            rate = row[-1]
            writer.writerow([*row[:-1], "" if rate is None else f"{rate:.1f}"])
    return path


def to_json(numbers: QuarterNumbers, today: date | None = None) -> str:
    """The figures for scripts; `period.open` and `warnings` say when the period has not
    ended on `today` (the centre's date)."""
    data = numbers.as_dict()
    data["definitions"] = list(DEFINITIONS_VI)
    warning = open_period_warning(numbers.period, today) if today is not None else None
    data["period"]["open"] = warning is not None
    data["warnings"] = [warning] if warning else []
    return json.dumps(data, ensure_ascii=False, indent=2)


def _received_table(rows: list[Bieu06Row]) -> dict[str, Any]:
    return {
        "columns": ["Lĩnh vực", "Tổng số nhận giải quyết", "Kỳ trước chuyển qua",
                    "Mới tiếp nhận trực tuyến", "Mới tiếp nhận trực tiếp, bưu chính"],
        "rows": [[r.field, str(r.received_total), str(r.carried_over), str(r.received_online),
                  str(r.received_direct_post)] for r in rows],
        "widths_mm": [56, 26, 26, 26, 26],
        "caption": "Bảng 1. Số hồ sơ nhận giải quyết theo lĩnh vực",
    }


def _result_table(rows: list[Bieu06Row]) -> dict[str, Any]:
    return {
        "columns": ["Lĩnh vực", "Đã giải quyết", "Trước hạn", "Đúng hạn", "Quá hạn",
                    "Đang giải quyết", "Trong hạn", "Quá hạn"],
        "rows": [[r.field, str(r.resolved_total), str(r.resolved_early),
                  str(r.resolved_on_time), str(r.resolved_late), str(r.pending_total),
                  str(r.pending_within), str(r.pending_overdue)] for r in rows],
        "widths_mm": [41, 17, 17, 17, 17, 17, 17, 17],
        "caption": "Bảng 2. Kết quả giải quyết và số hồ sơ đang giải quyết theo lĩnh vực",
    }


def _digitization_table(rows: list[DigitizationRow]) -> dict[str, Any]:
    return {
        "columns": ["Lĩnh vực", "Hồ sơ tiếp nhận", "Tỷ lệ hồ sơ số hóa",
                    "Hồ sơ giải quyết", "Tỷ lệ kết quả điện tử", "Tỷ lệ thành phần tái sử dụng"],
        "rows": [[r.field, str(r.received), pct(r.digitized_rate), str(r.resolved),
                  pct(r.e_result_rate), pct(r.reuse_rate)] for r in rows],
        "widths_mm": [45, 23, 23, 23, 23, 23],
        "caption": "Bảng 3. Số hóa hồ sơ, kết quả giải quyết và tái sử dụng dữ liệu",
    }


def _ratings_table(rows: list[RatingRow]) -> dict[str, Any]:
    return {
        "columns": ["Lĩnh vực", "Hồ sơ đã giải quyết", "Rất hài lòng", "Hài lòng",
                    "Không hài lòng", "Chưa đánh giá", "Tỷ lệ hài lòng"],
        "rows": [[r.field, str(r.resolved), str(r.very_satisfied), str(r.satisfied),
                  str(r.dissatisfied), str(r.unrated), pct(r.satisfied_rate)] for r in rows],
        "widths_mm": [44, 21, 19, 19, 19, 19, 19],
        "caption": "Bảng 4. Đánh giá của người dân, doanh nghiệp về việc giải quyết hồ sơ "
                   "theo lĩnh vực",
    }


def ratings_paragraph(r: RatingRow) -> str:
    """The Báo cáo's sentence on the ratings of the period (also on the leader's page)."""
    return (
        f"Trong số {r.resolved} hồ sơ đã giải quyết trong kỳ, {r.rated} hồ sơ được người "
        f"dân, doanh nghiệp đánh giá ({pct(r.rated_rate)}): rất hài lòng {r.very_satisfied}, "
        f"hài lòng {r.satisfied}, không hài lòng {r.dissatisfied}; {r.unrated} hồ sơ chưa "
        f"được đánh giá. Tỷ lệ hài lòng đạt {pct(r.satisfied_rate)} "
        f"({r.very_satisfied + r.satisfied}/{r.resolved})."
    )


@dataclass(frozen=True)
class QuarterlyReport:
    numbers: QuarterNumbers
    chart: Path
    docx: Path
    pdf: Path | None
    csv: Path | None
    ratings_csv: Path | None = None


def report_spec(ws: Workspace, numbers: QuarterNumbers, chart: Path, *,
                issue_date: date, recipients: list[str] | None = None,
                signature: str | None = None, today: date | None = None) -> dict[str, Any]:
    """The Báo cáo spec (templates issue schema, kind bao-cao). Recipients and the
    signature form come from the arguments, else from `[reports]` in motcua.toml."""
    p = numbers.period
    settings = report_settings(ws)
    warning = open_period_warning(p, today or local_now(ws).date())
    t, d = numbers.total, numbers.digitization_total
    rows = [*numbers.rows, t]
    body = sentence_name(ws.config.agency.issuing_body.upper(), ws.config.agency.place_name)
    label = p.label[0].lower() + p.label[1:]
    on_time = t.resolved_early + t.resolved_on_time
    new = t.received_online + t.received_direct_post
    overview = (
        f"Trong kỳ, tổng số hồ sơ nhận giải quyết là {t.received_total} hồ sơ, gồm "
        f"{t.carried_over} hồ sơ kỳ trước chuyển qua và {new} hồ sơ "
        f"mới tiếp nhận ({t.received_online} hồ sơ trực tuyến, {t.received_direct_post}"
        f" hồ sơ trực tiếp và qua dịch vụ bưu chính). Đã giải quyết {t.resolved_total} hồ sơ, "
        f"trong đó trước hạn {t.resolved_early}, đúng hạn {t.resolved_on_time}, quá hạn "
        f"{t.resolved_late}; tỷ lệ giải quyết trước hạn và đúng hạn đạt {pct(t.on_time_rate)} "
        f"({on_time}/{t.resolved_total}). Đến hết ngày {short_date(p.end)} còn {t.pending_total} "
        f"hồ sơ đang giải quyết, trong đó {t.pending_within} hồ sơ trong hạn và "
        f"{t.pending_overdue} hồ sơ quá hạn."
    )
    digi_items = [
        {"text": f"{name}: {pct(value)} ({num}/{den}). Cách tính: {formula}."}
        for key, name, value, num, den, formula in indicator_lines(
            t, d, numbers.ratings_total)
        if key not in ("on_time_rate", "satisfaction", "rated_dossiers")
    ]
    r = numbers.ratings_total
    apology = (
        f"Trong kỳ đã ban hành {numbers.apologies} văn bản xin lỗi (Mẫu 04) đối với hồ sơ "
        f"giải quyết quá hạn; số hồ sơ giải quyết quá hạn trong kỳ là {t.resolved_late}, "
        f"số hồ sơ đang giải quyết đã quá hạn là {t.pending_overdue}."
    )
    return {
        "date": issue_date,
        "summary": f"Kết quả giải quyết thủ tục hành chính và số hóa hồ sơ {label}",
        "preamble": [
            f"Thực hiện chế độ báo cáo định kỳ theo Nghị định số 09/2019/NĐ-CP ngày 24 tháng "
            f"01 năm 2019 của Chính phủ, {body} báo cáo kết quả tiếp nhận, giải quyết thủ tục "
            f"hành chính và số hóa hồ sơ {label} (kỳ báo cáo {range_vi(p)}) như sau:"
        ] + ([f"Lưu ý: {warning}"] if warning else []),
        "sections": [
            {"title": "KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH",
             "paragraphs": [overview],
             "blocks": [
                 {"table": _received_table(rows)},
                 {"table": _result_table(rows)},
                 {"image": {"path": str(chart), "width_mm": 155,
                            "caption": f"Biểu đồ. {CHART_TITLE}"}},
             ]},
            {"title": "SỐ HÓA HỒ SƠ, KẾT QUẢ GIẢI QUYẾT VÀ TÁI SỬ DỤNG DỮ LIỆU",
             "items": digi_items,
             "blocks": [{"table": _digitization_table([*numbers.digitization, d])}]},
            {"title": "THỰC HIỆN XIN LỖI ĐỐI VỚI HỒ SƠ QUÁ HẠN", "paragraphs": [apology]},
            {"title": "ĐÁNH GIÁ CỦA NGƯỜI DÂN, DOANH NGHIỆP VỀ VIỆC GIẢI QUYẾT HỒ SƠ",
             "paragraphs": [ratings_paragraph(r)],
             "items": [{"text": f"Tỷ lệ hài lòng của người dân, doanh nghiệp: "
                                f"{pct(r.satisfied_rate)} "
                                f"({r.very_satisfied + r.satisfied}/{r.resolved}). Cách "
                                f"tính: {SATISFACTION_FORMULA}."}],
             "blocks": [{"table": _ratings_table([*numbers.ratings, r])}]},
            {"title": "CÁCH TÍNH SỐ LIỆU",
             "items": [{"text": text} for text in DEFINITIONS_VI]},
        ],
        "closing": [f"Trên đây là báo cáo kết quả giải quyết thủ tục hành chính và số hóa hồ "
                    f"sơ {label} của {body}./."],
        "recipients": list(recipients) if recipients else list(settings.recipients),
        "archive": settings.archive,
        "signature": {"form": signature or settings.signature},
    }


def default_output(ws: Workspace, numbers: QuarterNumbers) -> Path:
    return ws.root / "reports" / f"bao-cao-{numbers.period.key}"


def render_quarterly(ws: Workspace, numbers: QuarterNumbers, out: Path, *,
                     issue_date: date | None = None, pdf: bool = True,
                     csv_path: Path | None = None, number: int | str | None = None,
                     converter: Converter | None = None,
                     recipients: list[str] | None = None, signature: str | None = None,
                     today: date | None = None) -> QuarterlyReport:
    """Write OUT-bieu-do.png, OUT.docx and (unless pdf=False) OUT.pdf; the CSV if asked.
    `issue_date` is the date printed on the report (default today); `today` the day the
    figures are taken (default: the centre's today), which decides the open-period
    warning."""
    base = out.with_suffix("") if out.suffix.lower() in (".docx", ".pdf") else out
    base.parent.mkdir(parents=True, exist_ok=True)
    chart = on_time_chart(list(numbers.rows), numbers.total,
                          base.with_name(base.name + "-bieu-do.png"))
    spec = validate("bao-cao", report_spec(ws, numbers, chart,
                                           issue_date=issue_date or local_now(ws).date(),
                                           recipients=recipients, signature=signature,
                                           today=today))
    written_csv = write_csv(numbers, csv_path) if csv_path else None
    rating_csv = write_ratings_csv(numbers, ratings_csv_path(csv_path)) if csv_path else None
    if pdf:
        result = render(ws, spec, base, number=number, converter=converter)
        return QuarterlyReport(numbers, chart, result.docx, result.pdf, written_csv,
                               rating_csv)
    docx = base.with_suffix(".docx")
    render_docx(spec, ws.config.agency, docx,
                   number=number if isinstance(number, int) else None,
                   template=find_template(ws, KIND_INFO["bao-cao"].template))
    return QuarterlyReport(numbers, chart, docx, None, written_csv, rating_csv)
