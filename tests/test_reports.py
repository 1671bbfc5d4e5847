"""Reports: periods (Nghị định 09/2019), the Biểu 06 table, digitization and reuse figures,
apologies, indicators — every number recounted here with plain Python loops over the
generated records — and the rendered Báo cáo (layout check, chart on a PDF page, looked
at as PNG in test-artifacts/). The report PDF is rendered once."""

from __future__ import annotations

import csv
import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from motcua import db
from motcua.archive.catalogue import load_catalogue
from motcua.cli import main
from motcua.counter.workdays import WorkCalendar, load_calendar
from motcua.errors import UserError
from motcua.reports.numbers import CSV_COLUMNS, NO_FIELD, indicators, quarter_numbers
from motcua.reports.periods import (
    choose_period,
    explicit_period,
    month_period,
    parse_month,
    parse_quarter,
    quarter_period,
    year_period,
)
from motcua.reports.quarterly import render_quarterly
from motcua.templates import layout_check
from motcua.workspace import Workspace, init_workspace
from tests.dossier_gen import Generated, generate, load

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


# --------------------------------------------------------------------------------------
# Periods


def test_periods() -> None:
    q1 = parse_quarter("2025Q1")
    assert (q1.start, q1.end) == (date(2024, 12, 15), date(2025, 3, 14))  # from 15/12 before
    assert (quarter_period(2025, 2).start, quarter_period(2025, 2).end) == (
        date(2025, 3, 15), date(2025, 6, 14))
    q3 = parse_quarter("2025q3")
    assert (q3.start, q3.end, q3.label) == (date(2025, 6, 15), date(2025, 9, 14),
                                            "Quý III năm 2025")
    q4 = parse_quarter("Q4/2025")
    assert (q4.start, q4.end) == (date(2025, 9, 15), date(2025, 12, 14))
    y = year_period(2025)
    assert (y.start, y.end) == (date(2024, 12, 15), date(2025, 12, 14))
    assert (q1.start, q4.end) == (y.start, y.end)  # the four quarters tile the year
    for q in (1, 2, 3):
        assert quarter_period(2025, q).end + timedelta(days=1) == \
            quarter_period(2025, q + 1).start
    m = parse_month("2025-01")
    assert (m.start, m.end) == (date(2024, 12, 15), date(2025, 1, 14))
    assert (month_period(2025, 9).start, month_period(2025, 9).end) == (
        date(2025, 8, 15), date(2025, 9, 14))
    cal = parse_month("2025-09", calendar=True)
    assert (cal.start, cal.end) == (date(2025, 9, 1), date(2025, 9, 30))
    plan = choose_period(date_from="2025-07-01", date_to="14/12/2025")
    assert (plan.start, plan.end) == (date(2025, 7, 1), date(2025, 12, 14))
    for bad in ("2025Q5", "Q3", "2025-3"):
        with pytest.raises(UserError):
            parse_quarter(bad)
    with pytest.raises(UserError, match="đúng một kỳ"):
        choose_period(quarter="2025Q3", year=2025)
    with pytest.raises(UserError, match="cả --from và --to"):
        choose_period(date_from="2025-07-01")
    with pytest.raises(UserError, match="trước ngày bắt đầu"):
        explicit_period(date(2025, 7, 2), date(2025, 7, 1))


# --------------------------------------------------------------------------------------
# A generated year of dossiers, and the plain recount


@dataclass
class Data:
    ws: Workspace
    gen: Generated
    cal: WorkCalendar


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    ws = init_workspace(tmp_path_factory.mktemp("reports") / "ws")
    cat, cal = load_catalogue(ws), load_calendar(ws)
    gen = generate(list(cat.procedures), cal, n=4000, start=date(2024, 11, 1),
                   end=date(2026, 1, 31), seed=11)
    conn = db.connect(ws.db_path)
    load(conn, gen)
    conn.close()
    return Data(ws, gen, cal)


COUNT_KEYS = CSV_COLUMNS[1:]


def recount_table(gen: Generated, start: date, end: date) -> dict[str, dict[str, int]]:
    """Biểu 06 by field, counted one dossier at a time."""
    s, e = start.isoformat(), end.isoformat()
    table: dict[str, Counter[str]] = {}
    for d in gen.dossiers:
        received, resolved, due = d["received_on"], d["resolved_on"], d["due_date"]
        if received > e:
            continue  # not yet received
        if resolved is not None and resolved < s:
            continue  # finished before the period
        row = table.setdefault(d["field"] or NO_FIELD, Counter())
        if received < s:
            row["carried_over"] += 1
        elif d["channel"] == "online":
            row["received_online"] += 1
        else:
            row["received_direct_post"] += 1
        if resolved is not None and resolved <= e:
            row["resolved_total"] += 1
            if due is None or resolved == due:
                row["resolved_on_time"] += 1
            elif resolved < due:
                row["resolved_early"] += 1
            else:
                row["resolved_late"] += 1
        else:
            row["pending_total"] += 1
            if due is None or due >= e:
                row["pending_within"] += 1
            else:
                row["pending_overdue"] += 1
    out: dict[str, dict[str, int]] = {}
    for fld, row in table.items():
        row["received_total"] = (row["carried_over"] + row["received_online"]
                                 + row["received_direct_post"])
        out[fld] = {k: row[k] for k in COUNT_KEYS}
    out["Tổng cộng"] = {k: sum(r[k] for r in out.values()) for k in COUNT_KEYS}
    return out


def recount_digitization(gen: Generated, start: date, end: date) -> dict[str, int]:
    s, e = start.isoformat(), end.isoformat()
    received = [d for d in gen.dossiers if s <= d["received_on"] <= e]
    resolved = [d for d in gen.dossiers if d["resolved_on"] and s <= d["resolved_on"] <= e]
    own: Counter[str] = Counter()
    results: set[str] = set()
    for doc in gen.documents:
        if doc["role"] == "component":
            own[doc["dossier_code"]] += 1
        else:
            results.add(doc["dossier_code"])
    reused: Counter[str] = Counter()
    for r in gen.reuses:
        if r["status"] == "attached":
            reused[r["dossier_code"]] += 1
    out = Counter()
    for d in received:
        out["received"] += 1
        if own[d["code"]] or reused[d["code"]]:
            out["digitized"] += 1
        out["components_scanned"] += own[d["code"]]
        out["components_reused"] += reused[d["code"]]
        if reused[d["code"]]:
            out["with_reuse"] += 1
    for d in resolved:
        out["resolved"] += 1
        if d["code"] in results:
            out["e_results"] += 1
    # a letter is issued once written; an unfinished reservation is not one
    apologies = sum(1 for a in gen.apologies
                    if s <= a["issued_on"] <= e and a["docx_path"] is not None)
    return {**out, "apologies": apologies}


PERIODS = [
    ("2025Q1", parse_quarter("2025Q1")),
    ("2025Q2", parse_quarter("2025Q2")),
    ("2025Q3", parse_quarter("2025Q3")),
    ("2025Q4", parse_quarter("2025Q4")),
    ("2025", year_period(2025)),
    ("plan", explicit_period(date(2025, 7, 1), date(2025, 12, 14))),
    ("2025-09", month_period(2025, 9)),
]


def test_generated_data_covers_the_cases(data: Data) -> None:
    """The data really has what the recount must get right."""
    p = parse_quarter("2025Q3")
    s, e = p.start.isoformat(), p.end.isoformat()
    ds = data.gen.dossiers
    assert any(not data.cal.is_working_day(date.fromisoformat(d["received_on"]))
               and data.cal.holiday_name(date.fromisoformat(d["received_on"])) for d in ds)
    assert sum(date.fromisoformat(d["received_on"]).weekday() >= 5 for d in ds) > 100
    assert {d["channel"] for d in ds} == {"online", "direct", "post"}
    assert len({d["field"] for d in ds}) >= 5 and None in {d["field"] for d in ds}
    assert any(d["due_date"] is None for d in ds)
    assert any(d["received_on"] < s and d["resolved_on"] and s <= d["resolved_on"] <= e
               for d in ds)  # carried over, resolved in the period
    assert any(s <= d["received_on"] <= e and d["resolved_on"] and d["resolved_on"] > e
               for d in ds)  # received in the period, resolved after it: pending at E
    assert any(d["received_on"] < s and d["resolved_on"] is None for d in ds)
    table = recount_table(data.gen, p.start, p.end)["Tổng cộng"]
    for key in COUNT_KEYS:
        assert table[key] > 0, key
    # apology reservations left unfinished by a run that died: not letters
    assert any(a["docx_path"] is None and s <= a["issued_on"] <= e for a in data.gen.apologies)
    # a dossier received in December 2024 across the Q1 boundary
    assert any("2024-12-01" <= d["received_on"] < "2024-12-15" and d["resolved_on"]
               and d["resolved_on"] >= "2024-12-15" for d in ds)


@pytest.mark.parametrize(("name", "period"), PERIODS, ids=[n for n, _ in PERIODS])
def test_quarterly_numbers_equal_recount(data: Data, name: str, period: Any) -> None:
    conn = db.connect(data.ws.db_path)
    numbers = quarter_numbers(conn, period)
    conn.close()
    expected = recount_table(data.gen, period.start, period.end)
    got = {r.field: {k: getattr(r, k) for k in COUNT_KEYS}
           for r in (*numbers.rows, numbers.total)}
    assert got == expected
    t = numbers.total
    assert t.received_total == t.resolved_total + t.pending_total
    assert t.resolved_total == t.resolved_early + t.resolved_on_time + t.resolved_late
    assert t.pending_total == t.pending_within + t.pending_overdue
    assert [r[0] for r in numbers.csv_rows()][-1] == "Tổng cộng"
    digi = recount_digitization(data.gen, period.start, period.end)
    dt_ = numbers.digitization_total
    for key in ("received", "digitized", "components_scanned", "components_reused",
                "with_reuse", "resolved", "e_results"):
        assert getattr(dt_, key) == digi.get(key, 0), key
    assert numbers.apologies == digi["apologies"]


def test_q1_starts_mid_december(data: Data) -> None:
    """A dossier received on 14/12/2024 is carried over into Q1 2025; one received on
    15/12/2024 is new in Q1 2025 and absent from Q4 2024."""
    conn = db.connect(data.ws.db_path)
    codes = ("000.00.07.H47-241214-9001", "000.00.07.H47-241215-9001")
    conn.execute("INSERT INTO dossiers (code, created_at, field, channel, owner_id,"
                 " received_at, received_on, due_date) VALUES"
                 " (?, 'x', 'Biên giới kỳ', 'direct', NULL, '2024-12-14T09:00:00+07:00',"
                 " '2024-12-14', '2024-12-17'),"
                 " (?, 'x', 'Biên giới kỳ', 'online', NULL, '2024-12-15T09:00:00+07:00',"
                 " '2024-12-15', '2024-12-17')", codes)
    try:
        q1 = {r.field: r for r in quarter_numbers(conn, parse_quarter("2025Q1")).rows}
        row = q1["Biên giới kỳ"]
        assert (row.carried_over, row.received_online, row.pending_overdue) == (1, 1, 2)
        q4 = {r.field: r for r in quarter_numbers(conn, quarter_period(2024, 4)).rows}
        assert (q4["Biên giới kỳ"].received_direct_post, q4["Biên giới kỳ"].received_total,
                q4["Biên giới kỳ"].pending_within) == (1, 1, 1)
    finally:
        conn.execute("DELETE FROM dossiers WHERE code IN (?, ?)", codes)
        conn.close()


def _working_days_plain(cal: WorkCalendar, start: date, end: date) -> int:
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        n += cal.is_working_day(d)
    return n


def test_indicators_equal_recount(data: Data) -> None:
    period = month_period(2025, 9)
    conn = db.connect(data.ws.db_path)
    ind = indicators(conn, period, data.cal)
    conn.close()
    s, e = period.start.isoformat(), period.end.isoformat()
    resolved = [d for d in data.gen.dossiers if d["resolved_on"] and s <= d["resolved_on"] <= e]
    good = sum(1 for d in resolved if d["due_date"] is None or d["resolved_on"] <= d["due_date"])
    assert ind.on_time_rate == pytest.approx(100 * good / len(resolved))
    per_proc: dict[str, list[int]] = {}
    for d in resolved:
        start = data.cal.deemed_receipt_day(date.fromisoformat(d["received_on"]))
        per_proc.setdefault(d["procedure_code"], []).append(
            _working_days_plain(data.cal, start, date.fromisoformat(d["resolved_on"])))
    got = {p.procedure_code: p for p in ind.procedures}
    assert set(got) == set(per_proc)
    for code, days in per_proc.items():
        assert got[code].resolved == len(days)
        assert got[code].average_working_days == pytest.approx(sum(days) / len(days))
    out = ind.as_dict()
    keys = [i["key"] for i in out["indicators"]]
    assert keys == ["on_time_rate", "digitized_dossiers", "e_results", "reuse_components",
                    "reuse_dossiers", "satisfaction", "rated_dossiers"]
    assert all("× 100%" in i["formula"] for i in out["indicators"])


# --------------------------------------------------------------------------------------
# CLI: CSV / JSON / indicators


def test_cli_csv_json_indicators(data: Data, tmp_path: Path) -> None:
    runner = CliRunner()
    csv_path = tmp_path / "bieu06.csv"
    res = runner.invoke(main, ["-w", str(data.ws.root), "report", "quarterly", "--quarter",
                               "2025Q3", "--json", "--csv", str(csv_path)])
    assert res.exit_code == 0, res.output
    js = json.loads(res.output)
    assert js["period"]["start"] == "2025-06-15" and js["period"]["end"] == "2025-09-14"
    assert js["definitions"] and js["total"]["field"] == "Tổng cộng"
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS == (
        "field", "received_total", "received_online", "received_direct_post", "carried_over",
        "resolved_total", "resolved_early", "resolved_on_time", "resolved_late",
        "pending_total", "pending_within", "pending_overdue")
    assert rows[-1][0] == "Tổng cộng"
    expected = recount_table(data.gen, date(2025, 6, 15), date(2025, 9, 14))
    assert len(rows) == 1 + len(expected)
    for row in rows[1:]:
        assert [int(v) for v in row[1:]] == [expected[row[0]][k] for k in COUNT_KEYS]
    assert [r.get("field") for r in js["bieu06"]] == [r[0] for r in rows[1:-1]]

    res = runner.invoke(main, ["-w", str(data.ws.root), "report", "indicators",
                               "--month", "2025-09"])
    assert res.exit_code == 0, res.output
    assert "15/08/2025" in res.output and "14/09/2025" in res.output
    for name in ("Tỷ lệ hồ sơ giải quyết đúng hạn", "Tỷ lệ kết quả giải quyết điện tử",
                 "Tỷ lệ thành phần hồ sơ được tái sử dụng", "Thời gian giải quyết trung bình"):
        assert name in res.output
    assert res.output.count("× 100%") == 7  # with the satisfaction and rated shares
    res = runner.invoke(main, ["-w", str(data.ws.root), "report", "quarterly"])
    assert res.exit_code == 1 and "đúng một kỳ" in res.output


# --------------------------------------------------------------------------------------
# The rendered Báo cáo (one LibreOffice render)


def test_rendered_report_layout_and_chart(data: Data) -> None:
    conn = db.connect(data.ws.db_path)
    numbers = quarter_numbers(conn, parse_quarter("2025Q3"))
    conn.close()
    out = data.ws.root / "reports" / "bao-cao-2025Q3"
    rep = render_quarterly(data.ws, numbers, out, issue_date=date(2025, 9, 20),
                           csv_path=out.with_name("bao-cao-2025Q3.csv"), today=date(2025, 9, 20))
    assert rep.pdf is not None and rep.csv is not None
    assert rep.ratings_csv == out.with_name("bao-cao-2025Q3-danh-gia.csv")
    layout_check(rep.docx)
    text = subprocess.run(["pdftotext", "-layout", str(rep.pdf), "-"], capture_output=True,
                          check=True, text=True).stdout
    flat = " ".join(text.split())
    for heading in ("BÁO CÁO", "I. KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH",
                    "II. SỐ HÓA HỒ SƠ, KẾT QUẢ GIẢI QUYẾT VÀ TÁI SỬ DỤNG DỮ LIỆU",
                    "III. THỰC HIỆN XIN LỖI ĐỐI VỚI HỒ SƠ QUÁ HẠN",
                    "IV. ĐÁNH GIÁ CỦA NGƯỜI DÂN, DOANH NGHIỆP VỀ VIỆC GIẢI QUYẾT HỒ SƠ",
                    "Bảng 4", "Tỷ lệ hài lòng", "V. CÁCH TÍNH SỐ LIỆU",
                    "Kỳ trước chuyển qua", "Tổng cộng", "Nơi nhận",
                    "từ ngày 15/6/2025 đến ngày 14/9/2025"):
        assert heading in flat, heading
    assert f"Trong kỳ đã ban hành {numbers.apologies} văn bản xin lỗi" in flat
    assert str(numbers.total.received_total) in flat

    # the chart is an image on a page of the PDF, at the PNG's pixel size
    from PIL import Image

    with Image.open(rep.chart) as im:
        chart_size = im.size
    # pdfimages lists the images each page draws (resources may be shared across pages)
    listing = subprocess.run(["pdfimages", "-list", str(rep.pdf)], capture_output=True,
                             check=True, text=True).stdout.splitlines()[2:]
    drawn = [(int(c[0]), int(c[3]), int(c[4])) for c in (line.split() for line in listing)
             if c[2] == "image"]
    pages = [page for page, w, h in drawn if (w, h) == chart_size]
    assert len(pages) == 1, drawn
    chart_page = pages[0]
    assert chart_page is not None, "chart image not found in the PDF"
    page_text = subprocess.run(["pdftotext", "-f", str(chart_page), "-l", str(chart_page),
                                str(rep.pdf), "-"], capture_output=True, check=True,
                               text=True).stdout
    assert "Biểu đồ. Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn" in " ".join(
        page_text.split())
    ARTIFACTS.mkdir(exist_ok=True)
    base = ARTIFACTS / "report-chart-page"
    subprocess.run(["pdftoppm", "-f", str(chart_page), "-l", str(chart_page), "-r", "110",
                    "-png", "-singlefile", str(rep.pdf), str(base)], check=True)
    assert (ARTIFACTS / "report-chart-page.png").stat().st_size > 20_000
    (ARTIFACTS / "report-chart.png").write_bytes(rep.chart.read_bytes())


# --------------------------------------------------------------------------------------
# Issue 13: issue date, recipients, open period, TM. + KT., Vietnamese order, the chart


def test_fields_in_vietnamese_alphabetical_order(data: Data) -> None:
    from motcua.labels import vi_sort_key

    assert sorted(["Hộ tịch", "Đất đai", "Dân tộc", "Xây dựng", "Chứng thực"],
                  key=vi_sort_key) == ["Chứng thực", "Dân tộc", "Đất đai", "Hộ tịch",
                                       "Xây dựng"]
    conn = db.connect(data.ws.db_path)
    numbers = quarter_numbers(conn, parse_quarter("2025Q3"))
    conn.close()
    fields = [r.field for r in numbers.rows if r.field != NO_FIELD]
    assert "Đất đai" in fields and len(fields) >= 3
    assert fields == sorted(fields, key=vi_sort_key)
    assert fields.index("Đất đai") < fields.index("Hộ tịch")  # code points put Đ after Y
    assert [d.field for d in numbers.digitization if d.field != NO_FIELD] == \
        sorted((d.field for d in numbers.digitization if d.field != NO_FIELD), key=vi_sort_key)


def test_chart_title_and_axis_agree_and_axis_starts_at_zero(data: Data, tmp_path: Path) -> None:
    import re

    from motcua.reports.chart import CHART_TITLE, on_time_chart

    conn = db.connect(data.ws.db_path)
    numbers = quarter_numbers(conn, parse_quarter("2025Q3"))
    conn.close()
    svg = on_time_chart(list(numbers.rows), numbers.total, tmp_path / "c.svg").read_text("utf-8")
    texts = [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>",
                                                                  svg)]
    measure = "Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn"
    assert CHART_TITLE in texts and CHART_TITLE.startswith(measure)
    axis = next(t for t in texts if t.startswith(measure) and t != CHART_TITLE)
    assert "(%)" in axis
    ticks = [t for t in texts if re.fullmatch(r"\d+%", t)]
    assert ticks[0] == "0%" and ticks[-1] == "100%"


def test_open_period_issue_date_recipients_tm_kt(data: Data, tmp_path: Path) -> None:
    """A report for a period that has not ended, issued on a chosen date, with the
    recipients of the workspace settings (a list longer than a page: attached), signed
    TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH. One LibreOffice render."""
    from motcua.reports.quarterly import open_period_warning, report_settings, to_json
    from motcua.templates.sign import text_lines
    from motcua.workspace import load_workspace

    names = [f"Phòng chuyên môn số {i} thuộc Ủy ban nhân dân tỉnh" for i in range(1, 16)]
    cfg = data.ws.config_path.read_text("utf-8")
    extra = "\n[reports]\nsignature = \"TM-KT\"\nrecipients = [" + ", ".join(
        f'"{n}"' for n in names) + "]\n"
    try:
        data.ws.config_path.write_text(cfg + extra, "utf-8")
        ws = load_workspace(data.ws.root)
        assert report_settings(ws).signature == "TM-KT"
        conn = db.connect(ws.db_path)
        numbers = quarter_numbers(conn, parse_quarter("2025Q4"))
        conn.close()
        today = date(2025, 12, 1)
        rep = render_quarterly(ws, numbers, tmp_path / "bc-q4", issue_date=date(2025, 12, 2),
                               today=today)
    finally:
        data.ws.config_path.write_text(cfg, "utf-8")
    assert rep.pdf is not None
    layout_check(rep.docx)
    pages = subprocess.run(["pdftotext", str(rep.pdf), "-"], capture_output=True, check=True,
                           text=True).stdout.split("\f")
    flat_all = " ".join(" ".join(pages).split())
    assert "Lưu ý: Kỳ báo cáo chưa kết thúc (đến hết ngày 14/12/2025): số liệu tính đến " \
           "ngày 01/12/2025 và sẽ còn thay đổi." in flat_all
    assert "ngày 02 tháng 12 năm 2025" in flat_all  # the issue date on the date line
    assert "- Như danh sách kèm theo;" in flat_all
    assert "TM. ỦY BAN NHÂN DÂN KT. CHỦ TỊCH PHÓ CHỦ TỊCH" in flat_all
    vice = ws.config.agency.vice_chairman.name
    lines, _ = text_lines(rep.pdf)
    signer = [ln for ln in lines if ln.text == vice][-1]
    listing = next(i for i, p in enumerate(pages) if "DANH SÁCH NƠI NHẬN" in p) + 1
    assert listing > signer.page  # the list follows the signature on its own page
    listed = " ".join(" ".join(pages[listing - 1:]).split())
    # an appendix of its own: a new section numbered from 1, no number on its first page
    assert not listed.split()[0].isdigit()
    from docx import Document

    sections = Document(str(rep.docx)).sections
    assert len(sections) == 2 and sections[1].different_first_page_header_footer
    for i, name in enumerate(names, start=1):
        assert f"{i}. {name}." in listed
    # the signature page also carries the end of the body
    above = [ln for ln in lines if ln.page == signer.page and ln.y1 < signer.y0 - 120
             and "Nơi nhận" not in ln.text and not ln.text.isdigit()]
    assert above
    js = json.loads(to_json(numbers, today))
    assert js["period"]["open"] is True and js["warnings"] == [
        open_period_warning(numbers.period, today)]
    assert json.loads(to_json(numbers, date(2025, 12, 15)))["warnings"] == []
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(rep.pdf),
                    str(ARTIFACTS / "report-open-period")], check=True)
