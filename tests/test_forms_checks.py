"""Errors and checks of the issued documents (issue 13): a long trích yếu renders, dates
the calendar lacks are refused as such, contradictory form dates and absurd numbers are
refused, decomposed (NFD) text reaches the documents composed (NFC), usage errors speak
Vietnamese. One LibreOffice render for the whole module."""

from __future__ import annotations

import copy
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document

from motcua.errors import UserError
from motcua.templates import Converter, RenderResult, WarmOffice, load_spec, render, validate
from motcua.templates.render import CORE_MAX, core_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# A realistic trích yếu of 261 characters (a plan naming its legal basis in full).
LONG_SUMMARY = (
    "Triển khai thực hiện Nghị định số 118/2025/NĐ-CP ngày 09/6/2025 của Chính phủ về thực "
    "hiện thủ tục hành chính theo cơ chế một cửa, một cửa liên thông tại Bộ phận Một cửa và "
    "Cổng Dịch vụ công quốc gia trên địa bàn xã Gia Lộc trong năm 2025 và các năm 2026 - 2030"
)


def example(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{kind}.yaml").read_text("utf-8"))
    return data


def nfd(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFD", value)
    if isinstance(value, list):
        return [nfd(v) for v in value]
    if isinstance(value, dict):
        return {k: nfd(v) for k, v in value.items()}
    return value


def combining(text: str) -> int:
    return sum(1 for c in text if unicodedata.combining(c))


@pytest.fixture(scope="module")
def long_nfd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RenderResult]:
    """The Báo cáo example typed on a decomposing keyboard, with a 264-char summary."""
    data = copy.deepcopy(example("bao-cao"))
    data["summary"] = LONG_SUMMARY
    spec_path = tmp_path_factory.mktemp("spec") / "bao-cao.yaml"
    # the chart path is relative to the example's folder
    data["sections"][0]["blocks"][-1]["image"]["path"] = str(EXAMPLES / "bieu-do.png")
    spec_path.write_text(yaml.safe_dump(nfd(data), allow_unicode=True), encoding="utf-8")
    assert combining(spec_path.read_text("utf-8")) > 250
    warm = WarmOffice()
    with warm:
        yield render(None, load_spec("bao-cao", spec_path), spec_path.with_name("bc"),
                     converter=Converter(warm))


def test_long_summary_renders_and_core_title_is_capped(long_nfd: RenderResult) -> None:
    assert len(LONG_SUMMARY) > 255
    doc = Document(str(long_nfd.docx))
    summary = next(p.text for p in doc.paragraphs if p.style.name == "MC Summary")
    assert summary == LONG_SUMMARY  # the document carries it whole
    title = doc.core_properties.title
    assert len(title) <= CORE_MAX and title.endswith("…")
    assert LONG_SUMMARY.startswith(title[:-1])
    text = " ".join(subprocess.run(["pdftotext", str(long_nfd.pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert LONG_SUMMARY in text
    assert core_text("ngắn") == "ngắn"


def test_nfd_input_is_composed_in_docx_and_pdf(long_nfd: RenderResult) -> None:
    import zipfile

    with zipfile.ZipFile(long_nfd.docx) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert combining(xml) == 0
    raw = subprocess.run(["pdftotext", "-raw", str(long_nfd.pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert combining(raw) == 0, "decomposed letters reached the PDF"
    assert "Ủy ban nhân dân" in raw or "ỦY BAN NHÂN DÂN" in raw


@pytest.mark.parametrize(("kind", "key", "value"), [
    ("ke-hoach", "date", "29/02/2025"),
    ("ke-hoach", "date", "2025-04-31"),
    ("quyet-dinh", "date", "31/04/2025"),
    ("tiep-nhan", "received_at", "2025-02-29 08:00"),
    ("tiep-nhan", "appointment_at", "31/06/2025 08:30"),
])
def test_non_existent_dates_are_named_as_such(kind: str, key: str, value: str) -> None:
    data = example(kind)
    data[key] = value
    with pytest.raises(UserError) as err:
        validate(kind, data, "spec.yaml")
    assert "không tồn tại" in err.value.message and f"“{key}”" in err.value.message
    assert "phải là ngày dạng" not in err.value.message  # not a "wrong format" complaint


def test_wrong_format_is_still_a_format_error() -> None:
    data = example("ke-hoach")
    data["date"] = "hôm nay"
    with pytest.raises(UserError, match="phải là ngày dạng"):
        validate("ke-hoach", data)


def test_leap_day_of_a_leap_year_is_fine() -> None:
    data = example("ke-hoach")
    data["date"] = "29/02/2028"
    assert str(validate("ke-hoach", data).data["date"]) == "2028-02-29"


def test_form01_appointment_before_receipt_is_refused() -> None:
    data = example("tiep-nhan")
    data["appointment_at"] = "2025-07-16 07:00"  # received 08:30 that day
    with pytest.raises(UserError) as err:
        validate("tiep-nhan", data)
    assert "“appointment_at”" in err.value.message
    assert "phải sau thời gian nhận hồ sơ" in err.value.message
    assert "16/07/2025" in err.value.message


@pytest.mark.parametrize("new_due", ["2025-07-18", "2025-07-10"])
def test_form04_new_date_must_follow_the_original(new_due: str) -> None:
    data = example("xin-loi")
    assert str(data["original_due"]) == "2025-07-18"
    data["new_due"] = new_due
    with pytest.raises(UserError) as err:
        validate("xin-loi", data)
    assert "“new_due”" in err.value.message and "phải sau ngày hẹn trả ban đầu" in \
        err.value.message


@pytest.mark.parametrize(("kind", "mutate", "path", "bound"), [
    ("ke-hoach", lambda d: d.update(number=100000), "number", "9999"),
    ("tiep-nhan", lambda d: d.update(processing_days=1000), "processing_days", "250"),
    ("tiep-nhan", lambda d: d.update(sets=500), "sets", "99"),
    ("tiep-nhan", lambda d: d["documents"][0].update(copies=1000), "documents[0].copies", "99"),
])
def test_numbers_beyond_a_year_are_refused_with_the_bound(kind: str, mutate: Any, path: str,
                                                          bound: str) -> None:
    data = copy.deepcopy(example(kind))
    mutate(data)
    with pytest.raises(UserError) as err:
        validate(kind, data)
    message = err.value.message
    assert f"“{path}”" in message
    assert f"tối đa {bound}" in message or f"không quá {bound}" in message


def test_render_refuses_a_huge_number_before_rendering(tmp_path: Path) -> None:
    spec = load_spec("quyet-dinh", EXAMPLES / "quyet-dinh.yaml")
    with pytest.raises(UserError, match="không quá 9999"):
        render(None, spec, tmp_path / "qd", number=12345)
    assert not (tmp_path / "qd.docx").exists()


def test_usage_errors_are_vietnamese(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        validate("giay-moi", {})
    assert "Loại văn bản “giay-moi” không có" in err.value.message
    assert "tiep-nhan" in err.value.message
    with pytest.raises(UserError) as err:
        load_spec("ke-hoach", tmp_path / "khong-co.yaml")
    assert err.value.message.startswith("Không có tệp nội dung")
    assert "No such file" not in err.value.message
    with pytest.raises(UserError, match="là một thư mục"):
        load_spec("ke-hoach", tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("summary: Kế hoạch".encode("utf-16"))
    with pytest.raises(UserError, match="không phải văn bản UTF-8"):
        load_spec("ke-hoach", latin1)


def test_layout_check_wants_body_11pt_and_nothing_below_10pt_on_a5(tmp_path: Path) -> None:
    """The A5 forms as built pass; a body run at 10 pt or a recipient at 9 pt does not."""
    from docx.shared import Pt

    from motcua.templates import layout_problems, render_docx
    from motcua.templates.render import find_template
    from motcua.workspace import AgencyConfig

    spec = load_spec("xin-loi", EXAMPLES / "xin-loi.yaml")
    out = tmp_path / "xin-loi.docx"
    render_docx(spec, AgencyConfig(), out, number=3, template=find_template(None, "xin-loi"))
    assert layout_problems(out) == []
    doc = Document(str(out))
    body = next(p for p in doc.paragraphs if p.style.name == "MC Body" and p.text.strip())
    for run in body.runs:
        run.font.size = Pt(10)
    recipient = next(p for t in doc.tables for r in t.rows for c in r.cells
                     for p in c.paragraphs if p.style.name == "MC Recipient" and p.text.strip())
    recipient.runs[0].font.size = Pt(9)
    doc.save(str(out))
    problems = "\n".join(layout_problems(out))
    assert "MC Body" in problems and "size 10.0 outside 11.0-11" in problems
    assert "at 9.0 pt, below 10.0 pt" in problems
