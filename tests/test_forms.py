"""The seven one-stop forms fed from a dossier's rows (issue 13): a real workspace, a
dossier received at the counter with two digitized components, the owner's address and
phone, forms 01, 02, 03, 05, 06 and 07 rendered once each through one warm LibreOffice,
checked on the DOCX and on the PDF, and kept as page images in test-artifacts/forms/."""

from __future__ import annotations

import itertools
import re
import sqlite3
import subprocess
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
import segno
from docx import Document
from PIL import Image
from reportlab.pdfgen import canvas

from motcua import db
from motcua.archive import audit
from motcua.archive.catalogue import Catalogue, load_catalogue
from motcua.archive.documents import set_meta
from motcua.archive.owners import add_owner, set_contact
from motcua.archive.settings import local_now
from motcua.counter import lifecycle as lc
from motcua.counter.workdays import load_calendar
from motcua.errors import UserError
from motcua.reports import forms
from motcua.templates import Converter, WarmOffice, layout_check, validate
from motcua.workspace import Workspace, init_workspace
from tests.test_warehouse_helpers import insert_archived

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "forms"
OWNER = "001190012345"
OFFICER = "Lê Thị Cúc"


def tiny_pdf(path: Path, text: str) -> Path:
    c = canvas.Canvas(str(path))
    c.drawString(72, 720, text)
    c.save()
    return path


def pdf_text(pdf: Path, *args: str) -> str:
    out = subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return " ".join(unicodedata.normalize("NFC", out).split())


def save_pngs(pdf: Path, name: str) -> list[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(ARTIFACTS / name)],
                   check=True)
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


@dataclass
class Env:
    ws: Workspace
    conn: sqlite3.Connection
    catalogue: Catalogue
    office: Converter
    code: str  # received, two components digitized, then resolved
    refused: str
    stopped: str
    tmp: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("forms")
    ws = init_workspace(tmp / "ws")
    conn = db.connect(ws.db_path)
    catalogue, calendar = load_catalogue(ws), load_calendar(ws)
    add_owner(conn, OWNER, "Nguyễn Thị Hoa", "Trần Văn Nhập (root)")
    set_contact(conn, OWNER, "Trần Văn Nhập (root)",
                address="Thôn Đông, xã Gia Lộc, thành phố Hải Phòng", phone="0912 345 678")
    now = local_now(ws).replace(tzinfo=None, microsecond=0) - timedelta(hours=2)
    got = lc.receive(ws, conn, catalogue, calendar, procedure_code="1.001193",  # khai sinh
                     owner_id=OWNER, channel="direct", actor=f"{OFFICER} (root)", at=now)
    code = got.record.code
    for type_code, name in (("to_khai_khai_sinh", "Tờ khai đăng ký khai sinh"),
                            ("giay_chung_sinh", "Giấy chứng sinh")):
        doc_id = insert_archived(ws, conn, tiny_pdf(tmp / f"{type_code}.pdf", name), code,
                                 text=name)
        set_meta(conn, doc_id, f"{OFFICER} (root)",
                 {"type_code": type_code, "owner_id": OWNER, "name": name})
    refused = lc.receive(ws, conn, catalogue, calendar, procedure_code="1.000894",
                         owner_id=OWNER, channel="direct", actor="Phạm Văn Bốn (root)",
                         at=now + timedelta(minutes=20)).record.code
    stopped = lc.receive(ws, conn, catalogue, calendar, procedure_code="1.000656",
                         owner_id=OWNER, channel="online", actor="Phạm Văn Bốn (root)",
                         at=now + timedelta(minutes=40)).record.code
    warm = WarmOffice()
    with warm:
        yield Env(ws, conn, catalogue, Converter(warm), code, refused, stopped, tmp)
    conn.close()


@pytest.fixture(scope="module")
def receipt(env: Env) -> forms.Rendered:
    return forms.print_receipt(env.ws, env.conn, env.catalogue, env.code, receiver=OFFICER,
                               converter=env.office)


@pytest.fixture(scope="module")
def supplement(env: Env, receipt: forms.Rendered) -> forms.Rendered:
    return forms.issue_supplement(env.ws, env.conn, env.catalogue, env.code,
                                  f"{OFFICER} (root)", converter=env.office)


@pytest.fixture(scope="module")
def control(env: Env, supplement: forms.Rendered) -> forms.Rendered:
    lc.resolve(env.ws, env.conn, env.code, tiny_pdf(env.tmp / "kq.pdf", "Giấy khai sinh"),
               "Đỗ Văn Dũng (root)")
    return forms.issue_control_sheet(env.ws, env.conn, env.code, officer=OFFICER,
                                     converter=env.office)


def _qr_matrix(png: bytes, size: int) -> list[list[bool]]:
    """Read a QR image module by module (segno draws scale 8, border 2)."""
    import io

    with Image.open(io.BytesIO(png)) as im:
        gray = im.convert("L")
        scale = gray.width // (size + 4)
        return [[gray.getpixel(((x + 2) * scale + scale // 2, (y + 2) * scale + scale // 2))
                 < 128 for x in range(size)] for y in range(size)]


def test_form01_received_components_contact_officer_qr_two_copies(
        env: Env, receipt: forms.Rendered) -> None:
    assert receipt.pdf is not None
    layout_check(receipt.docx)
    doc = Document(str(receipt.docx))
    body = [p.text for p in doc.paragraphs]
    # only what was received, with original/copy and count; the missing ones apart
    assert "1. Tờ khai đăng ký khai sinh (bản chính; số lượng: 01)." in body
    assert "2. Giấy chứng sinh (bản chính; số lượng: 01)." in body
    missing_at = next(i for i, t in enumerate(body) if t.startswith("Thành phần hồ sơ còn thiếu"))
    assert body[missing_at + 1:missing_at + 3] == [
        "1. Thẻ Căn cước / Căn cước công dân.", "2. Giấy chứng nhận kết hôn."]
    received_at = body.index("Thành phần hồ sơ đã nhận:")
    assert not any("Căn cước" in t for t in body[received_at:missing_at])
    assert "Địa chỉ: Thôn Đông, xã Gia Lộc, thành phố Hải Phòng; số điện thoại: 0912 345 678." \
        in body
    text = pdf_text(receipt.pdf)
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in text
    assert OFFICER in text and "Nguyễn Thị Hoa" in text
    # two copies, one page each, labelled
    with pikepdf.open(receipt.pdf) as pdf:
        pages = len(pdf.pages)
    assert pages == 2
    assert "Liên 1: lưu tại Bộ phận Một cửa" in pdf_text(receipt.pdf, "-f", "1", "-l", "1")
    assert "Liên 2: giao người nộp hồ sơ" in pdf_text(receipt.pdf, "-f", "2", "-l", "2")
    # each copy is a page 1 of its own: no page number on the second
    assert not pdf_text(receipt.pdf, "-f", "2", "-l", "2").split()[0].isdigit()
    for page in (1, 2):
        assert f"Mã hồ sơ: {env.code}" in pdf_text(receipt.pdf, "-f", str(page), "-l", str(page))
    # the QR code is the dossier code, module for module, and is drawn on both pages
    with zipfile.ZipFile(receipt.docx) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert len(media) == 1
        png = z.read(media[0])
    expected = segno.make(env.code, error="m", micro=False)
    size = len(expected.matrix)
    assert _qr_matrix(png, size) == [[bool(v) for v in row] for row in expected.matrix]
    listing = subprocess.run(["pdfimages", "-list", str(receipt.pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    assert sorted({int(line.split()[0]) for line in listing}) == [1, 2]
    assert len(save_pngs(receipt.pdf, "mau01-tiep-nhan")) == 2


def test_form01_officer_defaults_to_configured_operator(env: Env) -> None:
    """Without an acting officer the configured one signs; never a placeholder."""
    rec = lc.get_record(env.conn, env.code)
    data = forms.receipt_data(env.ws, env.conn, env.catalogue, rec)
    configured = lc.lifecycle_settings(env.ws).receiver
    assert configured and data["receiver"] == configured
    papers = [forms.ReceivedPaper("to_khai_khai_sinh", "Bản chính", 1),
              forms.ReceivedPaper("giay_chung_sinh", "Bản sao có chứng thực", 2),
              forms.ReceivedPaper("cccd", "Bản sao", 1)]
    data = forms.receipt_data(env.ws, env.conn, env.catalogue, rec, "  Hà  Văn Em ",
                              papers=papers)
    assert data["receiver"] == "Hà Văn Em"
    assert [(d["name"], d["form"], d["copies"]) for d in data["documents"]] == [
        ("Tờ khai đăng ký khai sinh", "Bản chính", 1),
        ("Giấy chứng sinh", "Bản sao có chứng thực", 2),
        ("Thẻ Căn cước / Căn cước công dân", "Bản sao", 1)]
    assert data["missing"] == ["Giấy chứng nhận kết hôn"]
    validate("tiep-nhan", data)


def test_form02_lists_what_is_missing(env: Env, supplement: forms.Rendered) -> None:
    assert supplement.pdf is not None
    layout_check(supplement.docx)
    text = pdf_text(supplement.pdf)
    for part in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", f"Mã hồ sơ: {env.code}",
                 "1. Bổ sung Thẻ Căn cước / Căn cước công dân.",
                 "2. Bổ sung Giấy chứng nhận kết hôn.", "Nguyễn Thị Hoa",
                 "NGƯỜI HƯỚNG DẪN", OFFICER, "Đăng ký khai sinh"):
        assert part in text, part
    with pikepdf.open(supplement.pdf) as pdf:
        assert len(pdf.pages) == 1
        assert round(float(pdf.pages[0].mediabox[2])) == 420  # A5
    # recorded under the dossier with the acting officer (form 06 lists it as a step)
    issued = [e for e in audit.entries(env.conn, f"dossier:{env.code}")
              if e.action == "form.issue"]
    assert [(e.details["form"], e.actor) for e in issued] == [("02", f"{OFFICER} (root)")]
    assert issued[0].details["requirements"] == [
        "Bổ sung Thẻ Căn cước / Căn cước công dân", "Bổ sung Giấy chứng nhận kết hôn"]
    save_pngs(supplement.pdf, "mau02-bo-sung")


@pytest.fixture(scope="module")
def refusal_and_stop(env: Env) -> tuple[forms.Rendered, forms.Rendered]:
    """Form 03 for the refused dossier and form 05 for the stopped one (the register of
    form 07 shows both, whatever order the tests run in)."""
    refused = forms.issue_refusal(env.ws, env.conn, env.refused, "Phạm Văn Bốn (root)",
                                  reason="một bên chưa đủ tuổi kết hôn theo luật định",
                                  officer="Phạm Văn Bốn", converter=env.office)
    stopped = forms.issue_stop_notice(env.ws, env.conn, env.stopped, "Phạm Văn Bốn (root)",
                                      reason="người nộp có đơn rút hồ sơ", number=3,
                                      converter=env.office)
    return refused, stopped


def test_form03_refusal_and_form05_stop(
        env: Env, refusal_and_stop: tuple[forms.Rendered, forms.Rendered]) -> None:
    refused, stopped = refusal_and_stop
    assert refused.pdf is not None and stopped.pdf is not None
    for done in (refused, stopped):
        layout_check(done.docx)
    text = pdf_text(refused.pdf)
    for part in ("PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ", env.refused, "Đăng ký kết hôn",
                 "từ chối tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau: một bên "
                 "chưa đủ tuổi kết hôn theo luật định.", "Phạm Văn Bốn"):
        assert part in text, part
    text = pdf_text(stopped.pdf)
    for part in ("THÔNG BÁO", "Về việc dừng giải quyết hồ sơ thủ tục hành chính",
                 "Số: 03/TB-UBND", "Kính gửi: Ông/Bà Nguyễn Thị Hoa", env.stopped,
                 "Đăng ký khai tử", "Lý do: người nộp có đơn rút hồ sơ.", "TM. ỦY BAN NHÂN DÂN"):
        assert part in text, part
    with pytest.raises(UserError, match="lý do"):
        forms.refusal_data(env.ws, env.conn, lc.get_record(env.conn, env.refused), reason=" ")
    save_pngs(refused.pdf, "mau03-tu-choi")
    save_pngs(stopped.pdf, "mau05-dung-giai-quyet")


def test_form06_lists_the_steps_with_times_and_officers(env: Env,
                                                        control: forms.Rendered) -> None:
    assert control.pdf is not None
    layout_check(control.docx)
    steps = forms.dossier_steps(env.ws, env.conn, env.code)
    assert [s.step for s in steps] == [
        "Tiếp nhận hồ sơ", "Số hóa thành phần hồ sơ", "Số hóa thành phần hồ sơ",
        "Yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02)", "Có kết quả giải quyết"]
    assert [s.officer for s in steps][:1] == [OFFICER]
    assert steps[-1].officer == "Đỗ Văn Dũng" and steps[-1].result in ("Trước hạn", "Đúng hạn")
    assert all(a.at <= b.at for a, b in itertools.pairwise(steps))
    table = Document(str(control.docx)).tables[1]
    assert [c.text for c in table.rows[0].cells] == ["TT", "Bước xử lý", "Thời gian",
                                                     "Người thực hiện", "Kết quả"]
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert [r[1] for r in rows] == [s.step for s in steps]
    received = steps[0].at
    assert rows[0][2] == f"{received:%H:%M} {received.day:02d}/" + (
        f"{received.month:02d}" if received.month < 3 else str(received.month)) + \
        f"/{received.year}"
    text = pdf_text(control.pdf)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text and "Đỗ Văn Dũng" in text
    save_pngs(control.pdf, "mau06-kiem-soat")


def test_form07_register_for_a_period(
        env: Env, control: forms.Rendered,
        refusal_and_stop: tuple[forms.Rendered, forms.Rendered]) -> None:
    """The register lists the received, refused and stopped dossiers; notes show what was
    issued for each."""
    today = local_now(env.ws).date()
    start, end = today - timedelta(days=31), today
    done = forms.issue_register(env.ws, env.conn, start, end, officer=OFFICER,
                                converter=env.office)
    assert done.pdf is not None
    layout_check(done.docx)
    with pikepdf.open(done.pdf) as pdf:
        box = pdf.pages[0].mediabox
        assert (round(float(box[2])), round(float(box[3]))) == (842, 595)  # A4 landscape
    table = Document(str(done.docx)).tables[1]
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert [r[1] for r in rows] == [env.code, env.refused, env.stopped]  # order received
    first = next(r for r in rows if r[1] == env.code)
    assert "Nguyễn Thị Hoa" in first[3] and "0912 345 678" in first[3]
    assert first[8] in ("Trước hạn", "Đúng hạn") and "Yêu cầu bổ sung (Mẫu 02)" in first[9]
    notes = {r[1]: r[9] for r in rows}
    assert notes[env.stopped] == "Dừng giải quyết (Mẫu 05)"
    text = pdf_text(done.pdf)
    assert "SỔ THEO DÕI HỒ SƠ" in text
    assert re.search(r"Từ ngày \d\d/\d{1,2}/\d{4} đến ngày \d\d/\d{1,2}/\d{4}", text)
    save_pngs(done.pdf, "mau07-so-theo-doi")


def test_a5_form_that_does_not_fit_goes_to_a4(env: Env) -> None:
    """A receipt listing many papers does not fit its A5 page: the same receipt on A4,
    type never below 10 pt; `[templates.paper]` forces a paper for a kind."""
    rec = lc.get_record(env.conn, env.code)
    data = forms.receipt_data(env.ws, env.conn, env.catalogue, rec, OFFICER)
    data["documents"] = [{"name": f"Giấy tờ kèm theo số {i}", "form": "Bản sao", "copies": 1}
                         for i in range(1, 15)]
    out = env.tmp / "dai" / "tiep-nhan"
    done = forms.render_form(env.ws, "tiep-nhan", data, out, converter=env.office)
    assert done.pdf is not None
    layout_check(done.docx)
    with pikepdf.open(done.pdf) as pdf:
        box = pdf.pages[0].mediabox
        assert (round(float(box[2])), round(float(box[3]))) == (595, 842)  # A4
    cfg = env.ws.config_path.read_text("utf-8")
    try:
        env.ws.config_path.write_text(cfg + '\n[templates.paper]\n"bo-sung" = "A4"\n', "utf-8")
        from motcua.workspace import load_workspace

        ws2 = load_workspace(env.ws.root)
        spec = validate("bo-sung", forms.supplement_data(
            ws2, env.conn, env.catalogue, rec, requirements=["Bổ sung bản chính"]))
        from motcua.templates.render import paper_profile

        assert paper_profile(ws2, spec)[0].name == "A4"
        env.ws.config_path.write_text(cfg + '\n[templates.paper]\n"bo-sung" = "A3"\n', "utf-8")
        with pytest.raises(UserError, match="A3"):
            paper_profile(load_workspace(env.ws.root), spec)
    finally:
        env.ws.config_path.write_text(cfg, "utf-8")


def test_stop_notice_refused_for_a_resolved_dossier(env: Env, control: forms.Rendered) -> None:
    with pytest.raises(UserError, match="đã có kết quả"):
        forms.stop_data(env.ws, lc.get_record(env.conn, env.code), reason="rút hồ sơ")


def test_owner_contact_is_validated(env: Env) -> None:
    with pytest.raises(UserError, match="Số điện thoại"):
        set_contact(env.conn, OWNER, "test", phone="gọi tôi")
    assert set_contact(env.conn, OWNER, "test") == {
        "address": "Thôn Đông, xã Gia Lộc, thành phố Hải Phòng", "phone": "0912 345 678"}
