"""Layout of every shipped example as a clerk would check it before signing (issue 13),
measured on the PDF: text positions from `pdftotext -bbox`, character sizes and fonts
from the PDF itself. Every example is rendered once (one warm LibreOffice) and every
page is kept as a PNG under test-artifacts/examples/ to be looked at."""

from __future__ import annotations

import html
import re
import subprocess
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from docx import Document

from motcua.templates import (
    Converter,
    RenderResult,
    WarmOffice,
    layout_check,
    load_spec,
    render,
    validate,
)
from motcua.templates.render import KIND_INFO
from motcua.templates.sign import text_lines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ARTIFACTS = ROOT / "test-artifacts" / "examples"
PT = 72 / 25.4  # points per millimetre
KINDS = list(KIND_INFO)
NUMBERED = [k for k in KINDS if KIND_INFO[k].numbered]
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', re.S)
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def page_words(pdf: Path, page: int) -> tuple[list[Word], float, float]:
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf),
                          "-"], capture_output=True, text=True, check=True).stdout
    m = _PAGE.search(out)
    assert m is not None
    words = [Word(unicodedata.normalize("NFC", html.unescape(w[4])), float(w[0]), float(w[1]),
                  float(w[2]), float(w[3])) for w in _WORD.findall(m[3])]
    return words, float(m[1]), float(m[2])


@pytest.fixture(scope="module")
def office() -> Iterator[Converter]:
    with WarmOffice() as warm:
        yield Converter(warm)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory,
             office: Converter) -> dict[str, RenderResult]:
    out = tmp_path_factory.mktemp("examples")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    results: dict[str, RenderResult] = {}
    for kind in KINDS:
        res = render(None, load_spec(kind, EXAMPLES / f"{kind}.yaml"), out / kind,
                     converter=office)
        subprocess.run(["pdftoppm", "-r", "70", "-png", str(res.pdf),
                        str(ARTIFACTS / kind)], check=True)
        results[kind] = res
    return results


def _margins(res: RenderResult, landscape: bool) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) in points, as the document sets them."""
    sec = Document(str(res.docx)).sections[-1 if landscape else 0]
    return tuple(float(v) / 12700 for v in (sec.left_margin, sec.right_margin,  # type: ignore
                                            sec.top_margin, sec.bottom_margin))


@pytest.mark.parametrize("kind", KINDS)
def test_every_example_passes_the_layout_check_and_is_imaged(
        rendered: dict[str, RenderResult], kind: str) -> None:
    res = rendered[kind]
    layout_check(res.docx)
    pngs = [p for p in ARTIFACTS.glob(f"{kind}-*.png")
            if re.fullmatch(rf"{re.escape(kind)}-\d+\.png", p.name)]
    assert len(pngs) == res.page_count and all(p.stat().st_size > 5_000 for p in pngs)


@pytest.mark.parametrize("kind", KINDS)
def test_docx_names_times_new_roman_and_pdf_embeds_its_twin_with_every_letter(
        rendered: dict[str, RenderResult], kind: str) -> None:
    res = rendered[kind]
    with zipfile.ZipFile(res.docx) as z:
        xml = z.read("word/styles.xml").decode() + z.read("word/document.xml").decode()
    named = {value for attrs in re.findall(r"<w:rFonts ([^>]*)/>", xml)
             for value in re.findall(r'w:(?:ascii|hAnsi|cs|eastAsia)="([^"]+)"', attrs)}
    assert named == {"Times New Roman"}
    families = set()
    with pikepdf.open(res.pdf) as pdf:
        for page in pdf.pages:
            for font in (page.Resources.get("/Font") or {}).values():
                desc = font.get("/FontDescriptor")
                assert desc is not None and "/FontFile2" in desc, font.get("/BaseFont")
                families.add(str(font.BaseFont).split("+")[-1].split("-")[0])
    assert families == {"LiberationSerif"}  # the metric twin, no fallback font
    docx_text = " ".join(p.text for p in Document(str(res.docx)).paragraphs)
    for table in Document(str(res.docx)).tables:
        docx_text += " ".join(c.text for r in table.rows for c in r.cells)
    pdf_chars = set(unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", str(res.pdf), "-"], capture_output=True, text=True, check=True).stdout))
    letters = {c for c in docx_text if ord(c) > 127 and c.isalpha()}
    assert letters and letters <= pdf_chars, letters - pdf_chars


@pytest.mark.parametrize("kind", KINDS)
def test_no_character_below_10_pt_in_the_pdf(rendered: dict[str, RenderResult],
                                             kind: str) -> None:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTContainer

    sizes: list[float] = []

    def walk(obj: object) -> None:
        if isinstance(obj, LTChar):
            if obj.get_text().strip():
                sizes.append(obj.size)
        elif isinstance(obj, LTContainer):
            for child in obj:
                walk(child)

    for page in extract_pages(str(rendered[kind].pdf)):
        walk(page)
    assert sizes and min(sizes) >= 9.9, min(sizes)


@pytest.mark.parametrize("kind", NUMBERED)
def test_number_line_is_level_with_the_date_line(rendered: dict[str, RenderResult],
                                                 kind: str) -> None:
    words, _, _ = page_words(rendered[kind].pdf, 1)
    so = next(w for w in words if w.text == "Số:")
    ngay = next(w for w in words if w.text == "ngày" and w.x0 > so.x1)
    place = max((w for w in words if w.x1 < ngay.x0 and abs(w.y0 - ngay.y0) < 3),
                key=lambda w: w.x0)  # the place name just before "ngày"
    assert abs(so.y0 - place.y0) < 1.0 and abs(so.y1 - place.y1) < 1.0, (so, place)


@pytest.mark.parametrize("kind", KINDS)
def test_header_stays_inside_the_margins(rendered: dict[str, RenderResult], kind: str) -> None:
    res = rendered[kind]
    words, width, _ = page_words(res.pdf, 1)
    left, right, _, _ = _margins(res, landscape=False)
    motto = next(w for w in words if w.text == "Hạnh")
    header = [w for w in words if w.y1 <= motto.y1 + 30]  # bodies, motto, Số and date
    assert len(header) > 8
    for w in header:
        assert w.x0 >= left - 0.5, f"{w.text!r} starts {left - w.x0:.1f} pt into the margin"
        assert w.x1 <= width - right + 0.5, f"{w.text!r} ends in the right margin"


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "so-theo-doi"])
def test_signature_block_never_alone_on_its_page(rendered: dict[str, RenderResult],
                                                 kind: str) -> None:
    """The page with the signer's name also holds body text above the signature block
    (not just the page number)."""
    res = rendered[kind]
    doc = Document(str(res.docx))
    signer = next(p.text for t in doc.tables for r in t.rows for c in r.cells
                  for p in c.paragraphs if p.style.name == "MC Signer" and p.text.strip())
    lines, _ = text_lines(res.pdf)
    name = [ln for ln in lines if ln.text == signer][-1]
    centre = (name.x0 + name.x1) / 2
    titles = [ln for ln in lines if ln.page == name.page and name.y0 - 150 < ln.y1 < name.y0
              and abs((ln.x0 + ln.x1) / 2 - centre) < 60 and ln.text.isupper()]
    assert titles, f"{kind}: no signature title above {signer!r}"
    top_of_block = min(ln.y0 for ln in titles)
    above = [ln for ln in lines if ln.page == name.page and ln.y1 < top_of_block
             and not re.fullmatch(r"\d+", ln.text) and "Nơi nhận" not in ln.text]
    assert above, f"{kind}: page {name.page} holds only the signature block"


def test_landscape_appendix_binds_at_the_top(rendered: dict[str, RenderResult]) -> None:
    """The appendix's landscape page turns its top edge to the spine: 30 mm there, 15 mm
    at the bottom, the portrait top/bottom margins on the sides."""
    res = rendered["ke-hoach"]
    lines, sizes = text_lines(res.pdf, res.page_count, res.page_count)
    width, height = sizes[res.page_count]
    assert width > height
    left, right, top, bottom = _margins(res, landscape=True)
    assert (round(top / PT), round(bottom / PT), round(left / PT), round(right / PT)) == \
        (30, 15, 20, 20)
    body = [ln for ln in lines if not re.fullmatch(r"\d+", ln.text)]
    assert min(ln.y0 for ln in body) >= top - 0.5
    assert max(ln.y1 for ln in body) <= height - bottom + 0.5
    assert min(ln.x0 for ln in body) >= left - 0.5
    assert max(ln.x1 for ln in body) <= width - right + 0.5


def test_dates_in_running_text_follow_the_references(
        rendered: dict[str, RenderResult]) -> None:
    def text(kind: str) -> str:
        return " ".join(subprocess.run(["pdftotext", str(rendered[kind].pdf), "-"],
                                       capture_output=True, text=True,
                                       check=True).stdout.split())

    apology = text("xin-loi")
    assert "Ngày 08/7/2025" in apology and "ngày 18/7/2025" in apology
    assert "25/7/2025" in apology and "/07/2025" not in apology
    plan = text("quyet-dinh-ke-hoach")
    assert "ngày 07/01/2025 của Ủy ban nhân dân xã Đa Lộc" in plan  # months 1-2 padded


def _signature_has_body(pdf: Path, signer: str) -> tuple[int, bool]:
    lines, _ = text_lines(pdf)
    name = [ln for ln in lines if ln.text == signer][-1]
    on_page = [ln for ln in lines if ln.page == name.page]
    body = [ln for ln in on_page if re.match(r"\d+\. Nội dung số \d+\.", ln.text)]
    return name.page, bool(body) or name.page == 1


def test_signature_never_alone_when_the_body_ends_at_the_page_foot(
        office: Converter, tmp_path: Path) -> None:
    """A Báo cáo grown one line at a time across the page foot: at every length the
    signature block shares its page with the end of the body (the last lines move with
    it), from one page to two."""
    import yaml

    data = yaml.safe_load((EXAMPLES / "bao-cao.yaml").read_text("utf-8"))
    data["sections"] = [{"title": "KẾT QUẢ", "items": []}]
    data["recipients"] = ["Văn phòng UBND thành phố", "Chủ tịch, các PCT UBND xã"]
    pages: list[int] = []
    for n in range(6, 40):
        data["sections"][0]["items"] = [{"text": f"Nội dung số {i}."} for i in range(1, n)]
        res = render(None, validate("bao-cao", data), tmp_path / f"bc-{n}", converter=office)
        page, ok = _signature_has_body(res.pdf, "Trần Thị Bình")
        assert ok, f"{n - 1} items: the signature stands alone on page {page}"
        pages.append(res.page_count)
        if pages[-4:] == [2, 2, 2, 2]:
            break
    assert pages[0] == 1 and pages[-1] == 2, pages  # the sweep crossed the page foot


@pytest.mark.parametrize("kind", KINDS)
def test_every_example_is_pdfa_2b_with_a_signature_field(rendered: dict[str, RenderResult],
                                                         kind: str) -> None:
    res = rendered[kind]
    with pikepdf.open(res.pdf) as pdf:
        intents = pdf.Root.get("/OutputIntents")
        assert intents is not None and intents[0].get("/S") == "/GTS_PDFA1"
        meta = pdf.open_metadata()
        assert str(meta.get("pdfaid:part")) == "2"
        assert str(meta.get("pdfaid:conformance")).upper() == "B"
        sigs = [f for f in pdf.Root.AcroForm.Fields if f.get("/FT") == "/Sig"]
        assert len(sigs) == 1
        page = next(i for i, p in enumerate(pdf.pages, start=1)
                    if p.obj.objgen == sigs[0].P.objgen)
    assert page == res.field_page
