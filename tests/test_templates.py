"""Templates (issue 5): rules, specs, rendering with a real LibreOffice, PDF/A, signature
field, PAdES signature, the number register under concurrency, the layout check.

One warm LibreOffice serves the whole module (session fixture); the reference
documents are rendered once and shared.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from click.testing import CliRunner
from docx import Document

from motcua import db
from motcua.errors import UserError
from motcua.templates import (
    Converter,
    RenderResult,
    WarmOffice,
    layout_check,
    layout_problems,
    load_spec,
    render,
    rules,
    take_number,
    validate,
)
from motcua.templates.render import export_template, find_template, render_docx
from motcua.templates.sign import text_lines
from motcua.workspace import AgencyConfig, init_workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ARTIFACTS = ROOT / "test-artifacts" / "templates"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def office() -> Iterator[Converter]:
    """The warm LibreOffice, required: without python3-uno the tests fail rather than
    quietly running a cold soffice per document (the cold path has its own test)."""
    warm = WarmOffice()
    assert warm.available, ("no interpreter can `import uno`: install python3-uno "
                            "(scripts/setup.sh); the bridge runs under /usr/bin/python3")
    with warm:
        yield Converter(warm)
        assert warm.conversions > 0, "the warm LibreOffice converted nothing"


@pytest.fixture(scope="session")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rendered")


def _render(kind: str, out_dir: Path, office: Converter, **kw: Any) -> RenderResult:
    spec = load_spec(kind, EXAMPLES / f"{kind}.yaml")
    return render(None, spec, out_dir / kind, converter=office, **kw)


@pytest.fixture(scope="session")
def ref000(out_dir: Path, office: Converter) -> RenderResult:
    return _render("ke-hoach", out_dir, office)


@pytest.fixture(scope="session")
def ref001(out_dir: Path, office: Converter) -> RenderResult:
    return _render("quyet-dinh-ke-hoach", out_dir, office)


@pytest.fixture(scope="session")
def decision(out_dir: Path, office: Converter) -> RenderResult:
    return _render("quyet-dinh", out_dir, office)


def pdf_text(pdf: Path, *args: str) -> str:
    out = subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return unicodedata.normalize("NFC", out)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def save_png(pdf: Path, page: int, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = ARTIFACTS / name
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", "-f", str(page), "-l",
                    str(page), str(pdf), str(prefix)], check=True)
    return prefix.with_suffix(".png")


# ---------------------------------------------------------------- PDF/A by structure


def _fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    seen: dict[tuple[int, int], pikepdf.Dictionary] = {}

    def walk_resources(res: Any) -> None:
        if res is None:
            return
        for font in (res.get("/Font") or {}).values():
            seen[font.objgen] = font
        for xobj in (res.get("/XObject") or {}).values():
            if xobj.get("/Subtype") == "/Form":
                walk_resources(xobj.get("/Resources"))

    for page in pdf.pages:
        walk_resources(page.obj.get("/Resources"))
        for annot in page.obj.get("/Annots") or []:
            ap = annot.get("/AP")
            if ap is not None and isinstance(ap.get("/N"), pikepdf.Stream):
                walk_resources(ap.N.get("/Resources"))
    return list(seen.values())


def assert_pdfa2b(path: Path) -> None:
    with pikepdf.open(path) as pdf:
        intents = pdf.Root.get("/OutputIntents")
        assert intents is not None and len(intents) >= 1, "no OutputIntent"
        assert intents[0].get("/S") == "/GTS_PDFA1"
        assert intents[0].get("/DestOutputProfile") is not None
        meta = pdf.open_metadata()
        assert str(meta.get("pdfaid:part")) == "2", meta.get("pdfaid:part")
        assert str(meta.get("pdfaid:conformance")).upper() == "B"
        fonts = _fonts(pdf)
        assert fonts, "no fonts"
        families = set()
        for font in fonts:
            base = str(font.get("/BaseFont"))
            desc = font.get("/FontDescriptor")
            if font.get("/Subtype") == "/Type0":
                desc = font.DescendantFonts[0].get("/FontDescriptor")
            assert desc is not None, f"{base}: no descriptor"
            assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), \
                f"{base} not embedded"
            families.add(base.split("+")[-1].lstrip("/").split("-")[0])
        assert families == {"LiberationSerif"}, families
        assert not pdf.Root.get("/Names", {}).get("/JavaScript")


# ---------------------------------------------------------------- rules


def test_number_and_date_rules() -> None:
    assert rules.number_line(7, "KH", "UBND") == "Số: 07/KH-UBND"
    assert rules.number_line(11, "QĐ", "UBND") == "Số: 11/QĐ-UBND"
    assert rules.number_line(None, "KH", "UBND") == "Số:       /KH-UBND"
    assert rules.number_line(12, "", "UBND", "VX") == "Số: 12/UBND-VX"
    assert rules.date_words(dt.date(2020, 1, 5)) == "ngày 05 tháng 01 năm 2020"
    assert rules.date_words(dt.date(2025, 7, 16)) == "ngày 16 tháng 7 năm 2025"
    assert rules.date_words(dt.date(2025, 2, 3)) == "ngày 03 tháng 02 năm 2025"
    assert rules.date_words(dt.date(2025, 12, 9)) == "ngày 09 tháng 12 năm 2025"
    assert rules.date_line_ok("Gia Lộc, ngày 16 tháng 7 năm 2025")
    assert not rules.date_line_ok("Gia Lộc, ngày 16 tháng 07 năm 2025")
    assert not rules.date_line_ok("Gia Lộc, ngày 5 tháng 01 năm 2020")
    assert not rules.date_line_ok("Gia Lộc, ngày 05 tháng 1 năm 2020")
    assert rules.fix_bases(["Căn cứ A;", "Căn cứ B", "Theo đề nghị của C;"]) == \
        ["Căn cứ A;", "Căn cứ B;", "Theo đề nghị của C."]
    assert rules.fix_recipients(["Như Điều 3", "- Chủ tịch;"], "VT, HCC") == \
        ["- Như Điều 3;", "- Chủ tịch;", "- Lưu: VT, HCC."]
    assert [rules.roman(i) for i in (1, 4, 9, 10, 14)] == ["I", "IV", "IX", "X", "XIV"]
    assert [rules.point_letter(i) for i in range(7)] == ["a", "b", "c", "d", "đ", "e", "g"]


# ---------------------------------------------------------------- specs


def _example(kind: str) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{kind}.yaml").read_text("utf-8"))
    return data


@pytest.mark.parametrize("kind", ["quyet-dinh", "ke-hoach", "quyet-dinh-ke-hoach", "bao-cao",
                                  "tiep-nhan", "xin-loi"])
def test_every_example_spec_is_valid(kind: str) -> None:
    spec = load_spec(kind, EXAMPLES / f"{kind}.yaml")
    assert spec.kind == kind


@pytest.mark.parametrize(("kind", "mutate", "field_path"), [
    ("ke-hoach", lambda d: d.pop("summary"), "summary"),
    ("ke-hoach", lambda d: d.update(date="16/13/2025"), "date"),
    ("ke-hoach", lambda d: d.update(sumary="x"), "sumary"),
    ("ke-hoach", lambda d: d["sections"][1]["items"][2].pop("text"), "sections[1].items[2]"),
    ("ke-hoach", lambda d: d["appendix"]["groups"][0]["tasks"][1].pop("lead"),
     "appendix.groups[0].tasks[1].lead"),
    ("ke-hoach", lambda d: d.update(number="bảy"), "number"),
    ("quyet-dinh", lambda d: d.update(articles="Điều một"), "articles"),
    ("quyet-dinh", lambda d: d["signature"].update(form="KY"), "signature.form"),
    ("bao-cao", lambda d: d["sections"][0]["blocks"][0]["table"]["rows"][1].pop(),
     "sections[0].blocks[0].table.rows[1]"),
    ("tiep-nhan", lambda d: d["applicant"].pop("name"), "applicant.name"),
    ("tiep-nhan", lambda d: d.update(received_at="hôm qua"), "received_at"),
    ("xin-loi", lambda d: d.pop("new_due"), "new_due"),
])
def test_bad_spec_names_the_field(kind: str, mutate: Any, field_path: str) -> None:
    data = copy.deepcopy(_example(kind))
    mutate(data)
    with pytest.raises(UserError) as err:
        validate(kind, data, "spec.yaml")
    message = err.value.message
    assert f"“{field_path}”" in message, message
    assert "không" in message or "phải" in message or "thiếu" in message or "cần" in message
    if field_path == "sumary":
        assert "“summary”" in message  # suggests the right name


def test_yaml_syntax_error_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("summary: [unclosed\n", encoding="utf-8")
    with pytest.raises(UserError, match="sai cú pháp"):
        load_spec("ke-hoach", bad)


# ---------------------------------------------------------------- reference 000: plan + appendix


def test_reference_000_plan_with_appendix(ref000: RenderResult) -> None:
    layout_check(ref000.docx)
    doc = Document(str(ref000.docx))
    assert len(doc.sections) == 2
    assert doc.sections[1].page_width > doc.sections[1].page_height  # landscape appendix
    task_table = doc.tables[-1]
    assert [c.text for c in task_table.rows[0].cells] == [
        "TT", "Nội dung", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời gian hoàn thành",
        "Sản phẩm"]
    first_col = [r.cells[0].text for r in task_table.rows[1:]]
    assert first_col == ["I", "1", "2", "II", "1", "2", "3"]
    assert task_table.rows[1].cells[1].text == "XÂY DỰNG, BAN HÀNH VĂN BẢN"

    text = flat(pdf_text(ref000.pdf))
    for heading in [
        "ỦY BAN NHÂN DÂN XÃ GIA LỘC", "Số: 07/KH-UBND", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc", "Gia Lộc, ngày 16 tháng 7 năm 2025", "KẾ HOẠCH",
        "Triển khai thực hiện Nghị định số 118/2025/NĐ-CP", "I. MỤC ĐÍCH, YÊU CẦU",
        "1. Mục đích", "2. Yêu cầu", "a) Triển khai thực hiện đầy đủ", "đ) ",
        "II. NỘI DUNG THỰC HIỆN", "III. KINH PHÍ THỰC HIỆN", "IV. TỔ CHỨC THỰC HIỆN",
        "Nơi nhận:", "- Lưu: VT, HCC.", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Phạm Văn Thung",
        "PHỤ LỤC", "(Kèm theo Kế hoạch số 07/KH-UBND ngày 16 tháng 7 năm 2025 của Ủy ban "
        "nhân dân xã Gia Lộc)", "THÀNH LẬP, SẮP XẾP, KIỆN TOÀN TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
    ]:
        if heading == "đ) ":
            continue  # the plan has at most four points per item
        assert heading in text, heading
    assert_pdfa2b(ref000.pdf)
    with pikepdf.open(ref000.pdf) as pdf:
        last = pdf.pages[-1].mediabox
        assert float(last[2]) > float(last[3])  # the appendix page is landscape
        first = pdf.pages[0].mediabox
        assert (round(float(first[2])), round(float(first[3]))) == (595, 842)  # A4
    _assert_page_numbers(ref000.pdf, numbered={2}, unnumbered={1, ref000.page_count})
    assert_header_one_line_each(ref000.pdf, [
        "ỦY BAN NHÂN DÂN XÃ GIA LỘC", "Số: 07/KH-UBND", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc", "Gia Lộc, ngày 16 tháng 7 năm 2025"])
    save_png(ref000.pdf, 1, "ref000-page1")
    save_png(ref000.pdf, ref000.page_count, "ref000-appendix")


def assert_header_one_line_each(pdf: Path, items: list[str]) -> None:
    """Each header item sits on one baseline of page 1: its words, found in reading
    order, all share the same top coordinate."""
    xml = pdf_text(pdf, "-bbox", "-f", "1", "-l", "1")
    words = [(float(m[1]), m[2]) for m in re.finditer(
        r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">(.*?)</word>', xml)]
    for item in items:
        want = item.split()
        tops = None
        for i in range(len(words)):
            if [w for _, w in words[i:i + len(want)]] == want:
                tops = [y for y, _ in words[i:i + len(want)]]
                break
            # the two columns may interleave in reading order: match item words alone
        if tops is None:
            cand = [(y, w) for y, w in words if w in want]
            firsts = [y for y, w in cand if w == want[0]]
            for y0 in firsts:
                same = [w for y, w in cand if abs(y - y0) < 2]
                if all(w in same for w in want):
                    tops = [y0]
                    break
        assert tops is not None, f"{item!r} is not on one line of page 1"
        assert max(tops) - min(tops) < 2, f"{item!r} wraps onto two lines"


def _assert_page_numbers(pdf: Path, numbered: set[int], unnumbered: set[int]) -> None:
    """A page number is a bare number centred in the top margin."""
    lines, sizes = text_lines(pdf)
    for page in numbered | unnumbered:
        width, _ = sizes[page]
        top = [ln for ln in lines if ln.page == page and ln.y1 < 20 / 25.4 * 72]
        numbers = [ln for ln in top if re.fullmatch(r"\d+", ln.text)]
        if page in numbered:
            assert numbers, f"page {page}: no page number at the top"
            centre = (numbers[0].x0 + numbers[0].x1) / 2
            pt = 72 / 25.4  # centred over the text area (left margin 30 mm, right 15 mm)
            text_centre = (30 * pt + width - 15 * pt) / 2
            assert abs(centre - text_centre) < 5, f"page {page}: number not centred"
        else:
            assert not numbers, f"page {page}: unexpected page number {numbers}"


# ---------------------------------------------------------------- reference 001: decision + plan


def test_reference_001_decision_issuing_plan(ref001: RenderResult) -> None:
    layout_check(ref001.docx)
    doc = Document(str(ref001.docx))
    bases = [p.text for p in doc.paragraphs if p.style.name == "MC Basis"]
    assert len(bases) == 5
    assert all(b.startswith(("Căn cứ", "Theo đề nghị")) for b in bases)
    assert all(b.endswith(";") for b in bases[:-1]) and bases[-1].endswith(".")
    articles = [p for p in doc.paragraphs if p.text.startswith("Điều ")]
    assert [p.runs[0].text for p in articles] == ["Điều 1.", "Điều 2.", "Điều 3."]
    assert all(p.runs[0].bold for p in articles)
    text = flat(pdf_text(ref001.pdf))
    for heading in [
        "ỦY BAN NHÂN DÂN XÃ ĐA LỘC", "Số: 11/QĐ-UBND", "Đa Lộc, ngày 07 tháng 01 năm 2025",
        "QUYẾT ĐỊNH", "Về việc ban hành Kế hoạch Kiểm soát thủ tục hành chính",
        "Căn cứ Luật Tổ chức chính quyền địa phương", "Theo đề nghị của Công chức Văn phòng",
        "QUYẾT ĐỊNH:", "Điều 1.", "Điều 2.", "Điều 3.", "Nơi nhận:", "- Như Điều 3;",
        "TM. ỦY BAN NHÂN DÂN", "Nguyễn Văn Giã", "KẾ HOẠCH",
        "(Ban hành kèm theo Quyết định số 11/QĐ-UBND ngày 07/01/2025 của Ủy ban nhân dân xã "
        "Đa Lộc)", "CÔNG BỐ, CÔNG KHAI TTHC", "CHẾ ĐỘ THÔNG TIN, BÁO CÁO",
    ]:
        assert heading in text, heading
    assert_pdfa2b(ref001.pdf)
    with pikepdf.open(ref001.pdf) as pdf:
        last = pdf.pages[-1].mediabox
        assert float(last[2]) > float(last[3])  # the plan's task table on landscape pages
    plan_page = next(i for i in range(1, ref001.page_count + 1)
                     if "(Ban hành kèm theo" in pdf_text(ref001.pdf, "-f", str(i), "-l", str(i)))
    assert plan_page > 1
    # the attached plan is numbered on its own: its first page carries no number
    _assert_page_numbers(ref001.pdf, numbered=set(), unnumbered={1, plan_page})
    save_png(ref001.pdf, 1, "ref001-page1")
    save_png(ref001.pdf, plan_page, "ref001-plan")


# ---------------------------------------------------------------- signature field and signature


def _sig_field(pdf: pikepdf.Pdf) -> tuple[int, list[float]]:
    fields = pdf.Root.AcroForm.Fields
    sigs = [f for f in fields if f.get("/FT") == "/Sig"]
    assert len(sigs) == 1
    widget = sigs[0]
    page_index = next(i for i, p in enumerate(pdf.pages) if p.obj.objgen == widget.P.objgen)
    assert int(widget.F) & 4, "PDF/A needs the print flag on the widget"
    assert isinstance(widget.AP.N, pikepdf.Stream), "PDF/A needs an appearance stream"
    return page_index + 1, [float(v) for v in widget.Rect]


def test_signature_field_between_title_and_name(decision: RenderResult) -> None:
    layout_check(decision.docx)
    data = decision.pdf.read_bytes()
    assert data.count(b"%%EOF") >= 2  # the field is an incremental update
    with pikepdf.open(decision.pdf) as pdf:
        page, rect = _sig_field(pdf)
        assert page == len(pdf.pages) == decision.field_page  # on the last page
        page_h = float(pdf.pages[page - 1].mediabox[3])
    lines, _ = text_lines(decision.pdf)
    on_page = [ln for ln in lines if ln.page == page]
    title = next(ln for ln in on_page if ln.text == "PHÓ CHỦ TỊCH")
    name = next(ln for ln in on_page if ln.text == "Trần Thị Bình")
    top, bottom = page_h - rect[3], page_h - rect[1]  # to top-down coordinates
    assert title.y1 <= top and bottom <= name.y0
    assert bottom - top > 30  # room for a signature and seal
    centre = (rect[0] + rect[2]) / 2
    assert abs(centre - (name.x0 + name.x1) / 2) < 5
    assert_pdfa2b(decision.pdf)


def _make_p12(tmp: Path, password: bytes) -> tuple[Path, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Trần Thị Bình (thử nghiệm)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    p12 = tmp / "test.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"test", key, cert, None, serialization.BestAvailableEncryption(password)))
    return p12, cert.public_bytes(serialization.Encoding.DER)


def test_signed_pdf_validates(tmp_path: Path, office: Converter) -> None:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    p12, cert_der = _make_p12(tmp_path, b"mat-khau")
    spec = load_spec("xin-loi", EXAMPLES / "xin-loi.yaml")
    result = render(None, spec, tmp_path / "xin-loi", converter=office, sign_p12=p12,
                    sign_password=b"mat-khau")
    assert result.signed
    with result.pdf.open("rb") as fh:
        reader = PdfFileReader(fh)
        assert len(reader.embedded_signatures) == 1
        sig = reader.embedded_signatures[0]
        assert sig.field_name == "ChuKyNguoiKy"
        root = asn1_x509.Certificate.load(cert_der)
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root]))
        assert status.intact and status.valid, status.pretty_print_details()
        assert status.trusted
        assert status.coverage.name == "ENTIRE_FILE"
    assert_pdfa2b(result.pdf)  # no Courier or other font came in with the signature
    with pytest.raises(UserError):
        render(None, spec, tmp_path / "wrong", converter=office, sign_p12=p12,
               sign_password=b"sai")
    assert not (tmp_path / "wrong.pdf").exists()  # checked before anything is rendered


# ---------------------------------------------------------------- other kinds


def test_forms_are_a5(out_dir: Path, office: Converter) -> None:
    for kind in ("tiep-nhan", "xin-loi"):
        result = _render(kind, out_dir, office)
        layout_check(result.docx)
        assert_pdfa2b(result.pdf)
        with pikepdf.open(result.pdf) as pdf:
            box = pdf.pages[0].mediabox
            assert (round(float(box[2])), round(float(box[3]))) == (420, 595)
            # form 01 is made out in two copies, one page each
            assert len(pdf.pages) == (2 if kind == "tiep-nhan" else 1)
            assert _sig_field(pdf)[0] == len(pdf.pages)
        save_png(result.pdf, 1, f"{kind}-page1")
    text = flat(pdf_text(out_dir / "tiep-nhan.pdf"))
    for part in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Mã hồ sơ: 000.00.07.H47-250716-0001",
                 "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ", "Lê Thị Cúc",
                 "08 giờ 30 phút, ngày 17 tháng 7 năm 2025"):
        assert part in text, part
    assert "Số: " not in text  # the receipt carries a dossier code, not a number
    text = flat(pdf_text(out_dir / "xin-loi.pdf"))
    for part in ("VĂN BẢN XIN LỖI", "Kính gửi: Bà Nguyễn Thị Hoa", "/UBND-TTPVHCC",
                 "25/7/2025", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"):
        assert part in text, part


def test_report_takes_sections_table_and_image(out_dir: Path, office: Converter) -> None:
    result = _render("bao-cao", out_dir, office)
    layout_check(result.docx)
    doc = Document(str(result.docx))
    data = [t for t in doc.tables if t.rows[0].cells[0].text == "Lĩnh vực"]
    assert len(data) == 1
    assert [c.text for c in data[0].rows[-1].cells] == ["Tổng cộng", "412", "268", "398",
                                                        "393", "5"]
    assert any(r.reltype.endswith("/image") for r in doc.part.rels.values())
    text = flat(pdf_text(result.pdf))
    for part in ("BÁO CÁO", "I. KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
                 "Bảng 1. Kết quả giải quyết theo lĩnh vực",
                 "Hình 1. Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn",
                 "II. NHIỆM VỤ QUÝ IV NĂM 2025", "KT. CHỦ TỊCH", "/BC-UBND"):
        assert part in text, part
    with pikepdf.open(result.pdf) as pdf:
        images = [x for p in pdf.pages for x in (p.Resources.get("/XObject") or {}).values()
                  if x.get("/Subtype") == "/Image"]
        assert images, "the chart is not in the PDF"
    assert_pdfa2b(result.pdf)
    assert result.metadata()["number_symbol"] == "/BC-UBND"
    save_png(result.pdf, 1, "bao-cao-page1")


def test_layout_check_catches_mistakes(ref000: RenderResult, tmp_path: Path) -> None:
    doc = Document(str(ref000.docx))
    header = [p for row in doc.tables[0].rows for c in row.cells for p in c.paragraphs]
    for p in header:
        if p.style.name == "MC Date":
            p.runs[0].text = "Gia Lộc, ngày 16 tháng 07 năm 2025"
            for r in p.runs[1:]:
                r.text = ""
    for p in header:
        if p.style.name == "MC Number":
            for r in p.runs:
                r.text = ""
            p.runs[0].text = "Số: 7/KH-UBND"
            # moved up under the issuing body: no longer level with the date line
            doc.tables[0].rows[0].cells[0]._tc.append(p._p)
    # the header pulled 12 mm into the left margin
    from docx.oxml.ns import qn

    doc.tables[0]._tbl.tblPr.find(qn("w:tblInd")).set(qn("w:w"), str(-680))
    # a recipient set in 8 pt
    from docx.shared import Pt

    small = next(p for t in doc.tables for row in t.rows for c in row.cells
                 for p in c.paragraphs if p.style.name == "MC Recipient" and p.text.strip())
    small.runs[0].font.size = Pt(8)
    body = next(p for p in doc.paragraphs if p.style.name == "MC Part")
    body.runs[0].font.bold = False
    body.runs[0].font.name = "DejaVu Serif"
    doc.sections[0].left_margin = 20 * rules.MM
    motto_rule = next(p for p in doc.tables[0].rows[0].cells[1].paragraphs
                      if p.style.name == "MC Rule")
    motto_rule._p.getparent().remove(motto_rule._p)
    for para in doc.paragraphs:  # nothing holds the signature to the body any more
        para.paragraph_format.keep_with_next = False
    bad = tmp_path / "bad.docx"
    doc.save(str(bad))
    problems = "\n".join(layout_problems(bad))
    assert "date line" in problems
    assert "number line" in problems
    assert "MC Part" in problems and "bold" in problems
    assert "DejaVu Serif" in problems
    assert "left margin" in problems
    assert "no rule under MC Motto" in problems
    assert "not level" in problems
    assert "header table runs outside the margins" in problems
    assert "at 8.0 pt, below 10.0 pt" in problems
    assert "signature block is not kept with the body" in problems
    with pytest.raises(AssertionError):
        layout_check(bad)


# ---------------------------------------------------------------- templates and workspace


def test_workspace_template_overrides_shipped(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    (ws.root / "templates").mkdir()
    exported = export_template(ws, "quyet-dinh", ws.root / "templates")
    doc = Document(str(exported))
    marker = next(p for p in doc.paragraphs if p.text == "QUYẾT ĐỊNH:")
    marker.runs[0].text = "QUYẾT ĐỊNH (MẪU RIÊNG CỦA XÃ):"
    doc.save(str(exported))
    path = find_template(ws, "quyet-dinh.docx")
    assert path == exported
    spec = load_spec("quyet-dinh", EXAMPLES / "quyet-dinh.yaml")
    out = tmp_path / "qd.docx"
    render_docx(spec, ws.config.agency, out, number=3, template=path)
    texts = [p.text for p in Document(str(out)).paragraphs]
    assert "QUYẾT ĐỊNH (MẪU RIÊNG CỦA XÃ):" in texts

    from motcua.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["-w", str(ws.root), "templates", "list"])
    assert res.exit_code == 0, res.output
    assert "quyet-dinh.docx" in res.output and "mẫu riêng" in res.output
    res = runner.invoke(main, ["-w", str(ws.root), "templates", "export", "ke-hoach", "-o",
                               str(tmp_path)])
    assert res.exit_code == 0 and (tmp_path / "ke-hoach.docx").is_file()
    res = runner.invoke(main, ["-w", str(ws.root), "templates", "export", "khong-co"])
    assert res.exit_code == 1 and "Không có mẫu" in res.output


def test_draft_has_blank_number_and_agency_comes_from_workspace(
        tmp_path: Path, office: Converter) -> None:
    ws = init_workspace(tmp_path / "ws")
    data = copy.deepcopy(_example("quyet-dinh"))
    data["date"] = dt.date(2026, 2, 3)
    spec = validate("quyet-dinh", data)
    result = render(ws, spec, tmp_path / "draft", converter=office)
    assert result.number is None and result.number_symbol == "/QĐ-UBND"
    texts = [p.text for t in Document(str(result.docx)).tables[:1]
             for row in t.rows for c in row.cells for p in c.paragraphs]
    assert "Số:       /QĐ-UBND" in texts
    assert "Gia Lộc, ngày 03 tháng 02 năm 2026" in texts
    # parent body from motcua.toml; too long for one line inside the margins, it is
    # broken before its level, as printed documents do
    assert "ỦY BAN NHÂN DÂN\nTHÀNH PHỐ HẢI PHÒNG" in texts
    layout_check(result.docx)
    assert_header_one_line_each(result.pdf, [
        "ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG", "ỦY BAN NHÂN DÂN XÃ GIA LỘC",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Gia Lộc, ngày 03 tháng 02 năm 2026"])
    save_png(result.pdf, 1, "draft-long-header-page1")
    auto = render(ws, spec, tmp_path / "auto", converter=office, number="auto")
    again = render(ws, spec, tmp_path / "auto2", converter=office, number="auto")
    assert (auto.number, again.number) == (1, 2)
    assert auto.number_symbol == "01/QĐ-UBND"


# ---------------------------------------------------------------- number register


TAKER = """
import sys
from pathlib import Path
from motcua import db
from motcua.templates.numbering import take_number
conn = db.connect(Path(sys.argv[1]))
got = []
for _ in range(int(sys.argv[2])):
    got.append(take_number(conn, type_code="KH", issuing_body="UBND XÃ GIA LỘC",
                           body_abbreviation="UBND", year=2025, document=sys.argv[3]).number)
print(" ".join(map(str, got)))
"""


def test_two_processes_never_get_the_same_number(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    per_process = 40
    procs = [subprocess.Popen([sys.executable, "-c", TAKER, str(ws.db_path), str(per_process),
                               f"p{i}"], stdout=subprocess.PIPE, text=True)
             for i in range(3)]
    numbers: list[int] = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        numbers += [int(n) for n in out.split()]
    assert sorted(numbers) == list(range(1, 3 * per_process + 1))
    from motcua import db

    conn = db.connect(ws.db_path)
    rows = conn.execute("SELECT COUNT(*), COUNT(DISTINCT number) FROM number_register").fetchone()
    assert tuple(rows) == (3 * per_process, 3 * per_process)
    docs = {r[0] for r in conn.execute("SELECT document FROM number_register")}
    assert docs == {"p0", "p1", "p2"}  # every number is recorded with its document
    conn.close()


def test_numbering_schemes_and_new_year(tmp_path: Path) -> None:
    from motcua import db

    ws = init_workspace(tmp_path / "ws")
    conn = db.connect(ws.db_path)
    body = dict(issuing_body="UBND XÃ GIA LỘC", body_abbreviation="UBND")
    assert take_number(conn, type_code="KH", year=2025, **body).text == "01/KH-UBND"
    assert take_number(conn, type_code="QĐ", year=2025, **body).text == "01/QĐ-UBND"
    assert take_number(conn, type_code="KH", year=2025, **body).text == "02/KH-UBND"
    assert take_number(conn, type_code="KH", year=2026, **body).number == 1  # restarts
    single = dict(body, issuing_body="UBND XÃ ĐA LỘC", scheme="single")
    assert take_number(conn, type_code="KH", year=2025, **single).number == 1
    assert take_number(conn, type_code="QĐ", year=2025, **single).number == 2
    conn.close()
    # the scheme is read from motcua.toml
    cfg = ws.config_path.read_text(encoding="utf-8") + '\n[templates]\nnumbering = "single"\n'
    ws.config_path.write_text(cfg, encoding="utf-8")
    from motcua.cli import main

    runner = CliRunner()
    out = [runner.invoke(main, ["-w", str(ws.root), "number", "take", "--type", t,
                                "--year", "2030"]).output.strip() for t in ("KH", "QĐ", "BC")]
    assert out == ["Số: 01/KH-UBND", "Số: 02/QĐ-UBND", "Số: 03/BC-UBND"]
    listed = runner.invoke(main, ["-w", str(ws.root), "number", "list"]).output.splitlines()
    assert listed[0].split()[:3] == ["Năm", "Số,", "ký"]
    assert [line.split()[1] for line in listed if line.startswith("2030")] == [
        "01/KH-UBND", "02/QĐ-UBND", "03/BC-UBND"]
    none = runner.invoke(main, ["-w", str(ws.root), "number", "list", "--year", "1999"])
    assert none.output.strip() == "Chưa cấp số nào trong năm 1999."
    bad = cfg.replace('numbering = "single"', 'numbering = "moi-loai"')
    ws.config_path.write_text(bad, encoding="utf-8")
    res = runner.invoke(main, ["-w", str(ws.root), "number", "take", "--type", "KH"])
    assert res.exit_code == 1 and "templates.numbering" in res.output


def test_cli_render_with_auto_number(tmp_path: Path) -> None:
    """The command as staff run it (starts its own LibreOffice)."""
    ws = init_workspace(tmp_path / "ws")
    out = tmp_path / "kh"
    proc = subprocess.run(
        [sys.executable, "-m", "motcua", "-w", str(ws.root), "render", "ke-hoach",
         str(EXAMPLES / "ke-hoach.yaml"), "-o", str(out), "--number", "auto", "--json"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import json

    draft = subprocess.run(
        [sys.executable, "-m", "motcua", "-w", str(ws.root), "render", "quyet-dinh",
         str(EXAMPLES / "quyet-dinh.yaml"), "-o", str(tmp_path / "du-thao")],
        capture_output=True, text=True, timeout=300)
    assert draft.stdout.splitlines()[0] == "Đã soạn dự thảo quyết định (chưa có số)"
    meta = json.loads(proc.stdout)
    assert meta["number_symbol"] == "01/KH-UBND" and meta["issue_date"] == "2025-07-16"
    assert Path(meta["pdf"]).is_file() and Path(meta["docx"]).is_file()
    # The issued plan is archived byte for byte and found by search, without diacritics.
    conn = db.connect(ws.db_path)
    doc = conn.execute("SELECT * FROM documents WHERE id = ?", (meta["document_id"],)).fetchone()
    assert ws.absolute(doc["original_path"]).read_bytes() == Path(meta["pdf"]).read_bytes()
    assert doc["state"] == "indexed"
    archived_meta = conn.execute("SELECT * FROM document_meta WHERE document_id = ?",
                                 (doc["id"],)).fetchone()
    assert archived_meta["number_symbol"] == "01/KH-UBND"
    assert archived_meta["issue_date"] == "2025-07-16" and archived_meta["type_code"] == "KH"
    assert conn.execute("SELECT kind FROM issued_documents WHERE document_id = ?",
                        (doc["id"],)).fetchone()[0] == "ke-hoach"
    found = subprocess.run(
        [sys.executable, "-m", "motcua", "-w", str(ws.root), "search", "muc dich yeu cau",
         "--json"], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert meta["document_id"] in {h["document_id"]
                                   for h in json.loads(found.stdout)["documents"]}
    proc = subprocess.run(
        [sys.executable, "-m", "motcua", "-w", str(ws.root), "render", "ke-hoach",
         str(EXAMPLES / "quyet-dinh.yaml"), "-o", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "“bases”" not in proc.stdout
    assert "không có trong mẫu" in proc.stderr


def test_agency_override_and_no_fallback_default() -> None:
    # signature forms from the workspace signers
    spec = validate("quyet-dinh", {**_example("quyet-dinh"),
                                   "signature": {"form": "TL", "authority": "Chủ tịch",
                                                 "title": "Chánh Văn phòng",
                                                 "name": "Hoàng Văn Em"}})
    from motcua.templates.render import _signature

    sig = _signature(spec.data["signature"], {"issuing_body": "ỦY BAN NHÂN DÂN XÃ GIA LỘC"},
                     AgencyConfig())
    assert sig["lines"] == ["TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"]
    tm = _signature({"form": "TM"}, {"issuing_body": "ỦY BAN NHÂN DÂN XÃ GIA LỘC"},
                    AgencyConfig())
    assert tm == {"lines": ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"], "name": "Nguyễn Văn An",
                  "title": "CHỦ TỊCH"}
    with pytest.raises(UserError, match="signature"):
        _signature({"form": "TUQ"}, {"issuing_body": "X"}, AgencyConfig())


def test_cold_conversion_fallback_gives_pdfa(ref000: RenderResult, tmp_path: Path) -> None:
    """Without python3-uno each document gets its own cold LibreOffice: same PDF/A."""
    from motcua.templates import cold_convert

    out = tmp_path / "cold.pdf"
    cold_convert(ref000.docx, out)
    assert_pdfa2b(out)
    assert "PHỤ LỤC" in pdf_text(out)


def test_shipped_templates_match_the_builder(tmp_path: Path) -> None:
    """The DOCX files in motcua/templates/shipped/ are what builder.py builds."""
    import zipfile

    from motcua.templates.builder import SHIPPED_DIR, build_all

    for built in build_all(tmp_path):
        shipped = SHIPPED_DIR / built.name
        assert shipped.is_file(), built.name
        for part in ("word/document.xml", "word/styles.xml", "word/header1.xml"):
            with zipfile.ZipFile(built) as a, zipfile.ZipFile(shipped) as b:
                names = set(a.namelist())
                if part in names:
                    assert a.read(part) == b.read(part), \
                        f"{built.name}:{part} is stale: run python -m motcua.templates.builder"


# ---------------------------------------------------------------- warm LibreOffice


def test_warm_office_does_the_conversions(office: Converter, tmp_path: Path) -> None:
    """The fixture's converter is the warm one, and it is the one that converts."""
    warm = office.warm
    assert warm is not None and warm.available and warm.python is not None
    before, starts = warm.conversions, warm.starts
    result = _render("xin-loi", tmp_path, office)
    assert warm.conversions == before + 1
    assert warm.starts == starts  # the same soffice, not a restart
    assert_pdfa2b(result.pdf)


def test_bridge_needs_the_system_python(tmp_path: Path) -> None:
    """Debian's uno module loads in /usr/bin/python3, not in the venv's (pyenv) Python:
    a bridge started under the latter fails with a clear error and leaves no soffice."""
    from motcua.errors import TransientError
    from motcua.templates.office import uno_python

    assert uno_python() is not None
    venv_has_uno = subprocess.run([sys.executable, "-c", "import uno"],
                                  capture_output=True).returncode == 0
    if venv_has_uno:
        pytest.skip("this interpreter can import uno itself")
    office = WarmOffice(python=sys.executable, start_timeout=60)
    with pytest.raises(TransientError) as err:
        office.start()
    assert "uno" in err.value.detail, err.value.detail
    assert office._soffice is None and office._bridge is None  # closed again


# ---------------------------------------------------------------- register and render agree


def _register(ws: Any) -> list[dict[str, Any]]:
    from motcua import db
    from motcua.templates.numbering import list_numbers

    conn = db.connect(ws.db_path)
    try:
        return list_numbers(conn)
    finally:
        conn.close()


def _cli(ws: Any, *args: str) -> Any:
    from motcua.cli import main

    return CliRunner().invoke(main, ["-w", str(ws.root), *args])


def test_number_take_and_render_auto_share_one_series(tmp_path: Path,
                                                       office: Converter) -> None:
    """`number take` and `render --number auto` count in the same series even when the
    workspace spells the issuing body in sentence case (the header prints it upper)."""
    from motcua.workspace import load_workspace

    ws = init_workspace(tmp_path / "ws")
    cfg = ws.config_path.read_text(encoding="utf-8")
    sentence = cfg.replace('issuing_body = "ỦY BAN NHÂN DÂN XÃ GIA LỘC"',
                           'issuing_body = "Ủy ban nhân dân xã  Gia Lộc"')
    assert sentence != cfg
    ws.config_path.write_text(sentence, encoding="utf-8")
    ws = load_workspace(ws.root)
    res = _cli(ws, "number", "take", "--type", "QĐ", "--year", "2025", "--document", "tay")
    assert res.exit_code == 0 and res.output.strip() == "Số: 01/QĐ-UBND", res.output
    spec = load_spec("quyet-dinh", EXAMPLES / "quyet-dinh.yaml")
    result = render(ws, spec, tmp_path / "qd-auto", converter=office, number="auto")
    assert result.number == 2 and result.number_symbol == "02/QĐ-UBND"
    res = _cli(ws, "number", "take", "--type", "qđ", "--year", "2025")
    assert res.output.strip() == "Số: 03/QĐ-UBND", res.output
    rows = _register(ws)
    assert [(r["number"], r["symbol"]) for r in rows] == [
        (1, "QĐ-UBND"), (2, "QĐ-UBND"), (3, "QĐ-UBND")]
    assert {r["issuing_body"] for r in rows} == {"ỦY BAN NHÂN DÂN XÃ GIA LỘC"}
    # after a successful render the register names the file actually written
    assert rows[1]["document"] == str(result.pdf.resolve()) and result.pdf.is_file()
    assert rows[0]["document"] == "tay"


def test_register_continues_a_series_written_in_another_case(tmp_path: Path) -> None:
    """Rows recorded before the key was normalised still count (no number twice)."""
    from motcua import db

    ws = init_workspace(tmp_path / "ws")
    conn = db.connect(ws.db_path)
    conn.execute("INSERT INTO number_register (issuing_body, year, series, number, type_code,"
                 " symbol, document, taken_at) VALUES ('Ủy ban nhân dân xã Gia Lộc', 2025, 'KH',"
                 " 4, 'KH', 'KH-UBND', 'cu', '2025-01-02T00:00:00+00:00')")
    taken = take_number(conn, type_code="KH", issuing_body="ỦY BAN NHÂN DÂN XÃ GIA LỘC",
                        body_abbreviation="UBND", year=2025)
    assert taken.text == "05/KH-UBND"
    from motcua.templates.numbering import record_number

    with pytest.raises(UserError, match="04/KH-UBND năm 2025 đã được cấp"):
        record_number(conn, 4, type_code="KH", issuing_body="ỦY BAN NHÂN DÂN XÃ GIA LỘC",
                      body_abbreviation="UBND", year=2025, document="moi")
    conn.close()


def test_explicit_number_is_recorded_once(tmp_path: Path, office: Converter) -> None:
    """`--number 7` / `number: 7` goes into the register; the same number for another
    document is refused in Vietnamese; `auto` continues after it."""
    ws = init_workspace(tmp_path / "ws")
    spec = load_spec("ke-hoach", EXAMPLES / "ke-hoach.yaml")  # the spec says number: 7
    assert spec.data["number"] == 7
    first = render(ws, spec, tmp_path / "kh-07.docx", converter=office)
    assert first.number_symbol == "07/KH-UBND"
    rows = _register(ws)
    assert [(r["number"], r["symbol"], r["series"], r["year"]) for r in rows] == [
        (7, "KH-UBND", "KH", 2025)]
    assert rows[0]["document"] == str(first.pdf.resolve())
    # rendering the same document again (a corrected draft) keeps its one row
    again = render(ws, spec, tmp_path / "kh-07", converter=office)
    assert again.number == 7 and len(_register(ws)) == 1
    # another document with the same number is refused before anything is written
    with pytest.raises(UserError) as err:
        render(ws, spec, tmp_path / "khac", converter=office, number=7)
    assert "Số 07/KH-UBND năm 2025 đã được cấp" in err.value.message
    assert str(first.pdf.resolve()) in err.value.message
    assert not (tmp_path / "khac.docx").exists() and not (tmp_path / "khac.pdf").exists()
    res = _cli(ws, "render", "ke-hoach", str(EXAMPLES / "ke-hoach.yaml"), "-o",
               str(tmp_path / "khac-cli"), "--number", "7")
    assert res.exit_code == 1 and "đã được cấp" in res.output, res.output
    # another year is another series; auto continues after the hand-chosen number
    res = _cli(ws, "number", "take", "--type", "KH", "--year", "2025")
    assert res.output.strip() == "Số: 08/KH-UBND", res.output
    # a number whose document could not be produced is given back
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a docx")
    with pytest.raises(Exception):  # noqa: B017 - whatever the broken template raises
        render(ws, spec, tmp_path / "kh-09", converter=office, number=9, template=broken)
    assert [r["number"] for r in _register(ws)] == [7, 8]


def test_untyped_kind_records_the_printed_symbol(tmp_path: Path, office: Converter) -> None:
    """Form 04 has no type code: the register records `UBND-TTPVHCC`, as printed, in the
    công văn series that `number take --type CV` also counts."""
    ws = init_workspace(tmp_path / "ws")
    spec = load_spec("xin-loi", EXAMPLES / "xin-loi.yaml")
    result = render(ws, spec, tmp_path / "xin-loi", converter=office, number="auto")
    assert result.number_symbol == "01/UBND-TTPVHCC"
    assert "Số: 01/UBND-TTPVHCC" in flat(pdf_text(result.pdf))
    rows = _register(ws)
    assert [(r["number"], r["symbol"], r["type_code"], r["series"]) for r in rows] == [
        (1, "UBND-TTPVHCC", "", "CV")]
    res = _cli(ws, "number", "take", "--type", "CV", "--unit", "TTPVHCC", "--year", "2025")
    assert res.output.strip() == "Số: 02/UBND-TTPVHCC", res.output


# ---------------------------------------------------------------- tables across pages


def _row_flags(table: Any) -> list[tuple[bool, bool]]:
    from docx.oxml.ns import qn

    out = []
    for row in table.rows:
        tr_pr = row._tr.trPr
        tags = {child.tag for child in tr_pr} if tr_pr is not None else set()
        out.append((qn("w:tblHeader") in tags, qn("w:cantSplit") in tags))
    return out


def test_long_table_rows_stay_whole_and_header_repeats(tmp_path: Path,
                                                       office: Converter) -> None:
    """A data table longer than a page: every row is cantSplit, the header row is
    tblHeader, and in the PDF no row is cut by a page break and each page of the table
    starts with the header."""
    data = copy.deepcopy(_example("bao-cao"))
    long_text = ("Nội dung chi tiết của lĩnh vực, gồm nhiều dòng để một hàng của bảng cao "
                 "hơn một dòng chữ và có thể bị cắt ngang khi sang trang mới. ") * 2
    rows = [[f"Dòng{i:02d}đầu", f"{long_text}Dòng{i:02d}cuối", str(i), str(i), str(i), str(i)]
            for i in range(1, 31)]
    table = data["sections"][0]["blocks"][0]["table"]
    table.update(columns=["Lĩnh vực", "Diễn giải", "Tiếp nhận", "Đã giải quyết", "Đúng hạn",
                          "Quá hạn"], widths_mm=[28, 77, 15, 15, 15, 15], rows=rows)
    data["sections"][0]["blocks"] = [data["sections"][0]["blocks"][0]]  # no image
    spec = validate("bao-cao", data, str(EXAMPLES / "bao-cao.yaml"))
    result = render(None, spec, tmp_path / "bang-dai", converter=office)
    doc = Document(str(result.docx))
    tbl = next(t for t in doc.tables if t.rows[0].cells[0].text == "Lĩnh vực")
    flags = _row_flags(tbl)
    assert flags[0] == (True, True)
    assert all(cant for _, cant in flags[1:]) and not any(head for head, _ in flags[1:])
    assert result.page_count >= 3
    pages = [flat(pdf_text(result.pdf, "-f", str(n), "-l", str(n)))
             for n in range(1, result.page_count + 1)]
    for i in range(1, 31):
        start = next(n for n, text in enumerate(pages) if f"Dòng{i:02d}đầu" in text)
        end = next(n for n, text in enumerate(pages) if f"Dòng{i:02d}cuối" in text)
        assert start == end, f"row {i} split across pages {start + 1} and {end + 1}"
    table_pages = [n for n, text in enumerate(pages) if re.search(r"Dòng\d\dđầu", text)]
    assert len(table_pages) >= 2
    for n in table_pages:
        head = pages[n].find("Diễn giải")
        first_row = re.search(r"Dòng\d\dđầu", pages[n])
        assert first_row is not None and 0 <= head < first_row.start(), \
            f"page {n + 1}: the header row is not repeated above the rows"
    save_png(result.pdf, table_pages[1] + 1, "long-table-page2")


def test_plan_task_table_rows_stay_whole(ref000: RenderResult) -> None:
    task_table = Document(str(ref000.docx)).tables[-1]
    flags = _row_flags(task_table)
    assert flags[0] == (True, True)
    assert all(cant for _, cant in flags[1:]) and not any(head for head, _ in flags[1:])


@pytest.mark.parametrize(("form", "authority", "title", "name"), [
    ("TUQ", "Chủ tịch", "Chánh Văn phòng", "Hoàng Văn Em"),
    ("Q", "Chủ tịch", "Phó Chủ tịch", "Đỗ Thị Giang"),
])
def test_delegated_signature_forms_from_a_json_spec(
        form: str, authority: str, title: str, name: str, tmp_path: Path,
        office: Converter) -> None:
    """TUQ. (thừa ủy quyền) and Q. (quyền): the authority line, the signer's title, the
    field between title and name; the content given as JSON, as scripts would."""
    import json

    data = _example("quyet-dinh")
    data["signature"] = {"form": form, "authority": authority, "title": title, "name": name}
    spec_path = tmp_path / "quyet-dinh.json"
    spec_path.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    result = render(None, load_spec("quyet-dinh", spec_path), tmp_path / "qd",
                    converter=office)
    layout_check(result.docx)
    text = flat(pdf_text(result.pdf))
    assert f"{form}. {authority.upper()} {title.upper()}" in text and name in text
    with pikepdf.open(result.pdf) as pdf:
        page, rect = _sig_field(pdf)
        page_h = float(pdf.pages[page - 1].mediabox[3])
    lines, _ = text_lines(result.pdf)
    on_page = [ln for ln in lines if ln.page == page]
    title_line = next(ln for ln in on_page if ln.text == title.upper())
    name_line = next(ln for ln in on_page if ln.text == name)
    assert title_line.y1 <= page_h - rect[3] and page_h - rect[1] <= name_line.y0
    # A broken JSON file is a clear user error too.
    spec_path.write_text("{\"title\": ", encoding="utf-8")
    with pytest.raises(UserError):
        load_spec("quyet-dinh", spec_path)
