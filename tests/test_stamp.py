"""The digitization stamp on a real OCR'd PDF/A scan: PDF/A-2b structure, text layer
preserved, QR decodes to the recorded fields, stamp in the margin (PNG artefact)."""

from __future__ import annotations

import io
import json
import logging
import re
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pikepdf
import pikepdf.pdfa
import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image

from motcua import SYSTEM_NAME
from motcua.archive import audit
from motcua.archive.catalogue import load_catalogue
from motcua.archive.documents import add_result, set_meta
from motcua.archive.owners import add_owner
from motcua.archive.stamp import (
    KIND_RESULT,
    KIND_SCAN,
    StampFields,
    StampRecord,
    get_stamp,
    parse_qr_text,
    read_xmp_fields,
    stamp_box_mm,
    stamp_document,
    stamp_lines,
    stamp_pdf,
)
from motcua.counter.dossiers import new_dossier
from motcua.db import connect
from motcua.ocr import pdfa_check
from motcua.workspace import Workspace, init_workspace
from tests.test_warehouse_helpers import insert_archived, make_pdfa

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MM_PT = 72 / 25.4
CITIZEN = "031320001234"


@dataclass(frozen=True)
class Stamped:
    ws: Workspace
    conn: sqlite3.Connection
    doc_id: int
    record: StampRecord
    source: Path  # the archival PDF/A
    out: Path  # the stamped copy
    dossier: str
    tmp: Path


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> Stamped:
    tmp = tmp_path_factory.mktemp("stamp")
    ws = init_workspace(tmp / "ws")
    conn = connect(ws.db_path)
    scan = make_pdfa(tmp, "giay-khai-sinh")
    add_owner(conn, CITIZEN, "Nguyễn Thị Hồng Nhung", "test")
    made = new_dossier(ws, conn, load_catalogue(ws), procedure_code="1.001193",
                       owner_id=CITIZEN, channel="direct", actor="test")
    doc_id = insert_archived(ws, conn, scan, made.dossier.code, "giay-khai-sinh.pdf")
    set_meta(conn, doc_id, "test", {"type_code": "giay_khai_sinh", "owner_id": CITIZEN,
                                    "name": "Giấy khai sinh Nguyễn Thị Hồng Nhung",
                                    "number_symbol": "07/GKS-UBND"})
    record = stamp_document(ws, conn, doc_id, operator="Lê Thị Thu Hà")
    source = ws.root / conn.execute("SELECT archival_path FROM documents WHERE id = ?",
                                    (doc_id,)).fetchone()[0]
    return Stamped(ws, conn, doc_id, record, source, ws.root / record.stamped_path,
                   made.dossier.code, tmp)


def _pdftotext(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
                         capture_output=True, check=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def _words(path: Path) -> list[tuple[str, float, float, float, float]]:
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
                          capture_output=True, check=True, text=True).stdout
    return [(m.group(5), float(m.group(1)), float(m.group(2)), float(m.group(3)),
             float(m.group(4)))
            for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                                 r'yMax="([\d.]+)">([^<]*)</word>', html)]


def test_stamped_copy_is_pdfa_2b_by_structure(stamped: Stamped) -> None:
    out = stamped.out
    report = pikepdf.pdfa.validate_written(out, "2b")
    assert report.passed, report.summary()
    with pikepdf.open(out) as pdf:
        page = pdf.pages[0]
        forms = [x for name, x in page.resources.XObject.items()
                 if name.startswith("/MotcuaStamp")]
        assert len(forms) == 1
        form = forms[0]
        assert form.Subtype == pikepdf.Name.Form
        fonts = list(form.Resources.Font.values())
        assert fonts, "the stamp draws text with its own fonts"
        for font in fonts:
            desc = font.FontDescriptor
            assert "/FontFile2" in desc, "TrueType program embedded"
            assert len(font.Widths) == int(font.LastChar) - int(font.FirstChar) + 1
            assert all(float(w) > 0 for w in font.Widths)
            # Each width is the embedded program's own advance (PDF/A 6.2.11.5): a
            # viewer and a validator measure the same glyphs.
            program = TTFont(io.BytesIO(desc.FontFile2.read_bytes()))
            cmap = program["cmap"].tables[0].cmap
            upm = program["head"].unitsPerEm
            checked = 0
            for i, width in enumerate(font.Widths):
                glyph = cmap.get(int(font.FirstChar) + i)
                if glyph is not None:
                    advance = program["hmtx"][glyph][0] * 1000 / upm
                    assert abs(advance - float(width)) <= 1, (font.BaseFont, i, width)
                    checked += 1
            assert checked > 60  # the stamp's Vietnamese letters, digits and punctuation
            assert str(font.BaseFont).split("+", 1)[1].startswith("LiberationSerif")
        # No transparency anywhere in the overlay.
        assert "/Group" not in form
        for gs in form.Resources.get("/ExtGState", {}).values():
            assert "/SMask" not in gs and float(gs.get("/ca", 1)) == 1 and float(
                gs.get("/CA", 1)) == 1
        assert "/XObject" not in form.Resources or not any(
            "/SMask" in x for x in form.Resources.XObject.values())
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:description"] == stamped.record.fields.qr_text()
        assert meta["dc:title"] == stamped.record.fields.document_name
        # (PDF/A-2 no longer requires DocInfo to mirror XMP; where it does, it agrees.)
        for info_key, xmp_key in (("/Title", "dc:title"), ("/Subject", "dc:description")):
            if info_key in pdf.docinfo:
                assert str(pdf.docinfo[info_key]) == str(meta[xmp_key])
    # An incremental update: the archival file's bytes come first, unchanged.
    assert stamped.out.read_bytes().startswith(stamped.source.read_bytes())


def test_a_warning_from_another_thread_does_not_fail_a_valid_file(stamped: Stamped) -> None:
    """pikepdf's validator records every warning raised while it reads a content stream,
    including one from another thread (the last CI run failed a stamp on a ResourceWarning
    for a socket another test had leaked). Such a report is taken again: a valid file
    passes, and the retry is what made it pass."""

    class RetrySeen(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.seen = threading.Event()
            self.stop = threading.Event()
            self.emitter: threading.Thread | None = None

        def emit(self, record: logging.LogRecord) -> None:
            if "checking again" in record.getMessage():
                self.seen.set()
                self.stop.set()  # the stray warnings end before the second check starts
                if self.emitter is not None:
                    self.emitter.join()

    def stray_warnings(stop: threading.Event) -> None:
        # Only while the validator records (its catch_warnings swapped the filter list):
        # a warning at any other moment is not the race this test is about, and on a
        # loaded machine the check could otherwise pass ten times between two of them.
        outside = warnings.filters
        while not stop.is_set():
            if warnings.filters is not outside:
                warnings.warn("unclosed <socket.socket fd=17>", ResourceWarning, stacklevel=1)
            else:
                time.sleep(0)

    handler = RetrySeen()
    logger = logging.getLogger("motcua.ocr.pdfa_check")
    logger.addHandler(handler)
    old_level, old_interval = logger.level, sys.getswitchinterval()
    logger.setLevel(logging.INFO)
    sys.setswitchinterval(1e-6)  # let the emitter run while the check walks the page
    try:
        with warnings.catch_warnings():
            # Those raised outside the check; a few slip through while pikepdf swaps the
            # warning filters (the very race this test is about) and pytest lists them.
            warnings.simplefilter("ignore", ResourceWarning)
            for _ in range(50):
                handler.stop.clear()
                handler.emitter = threading.Thread(target=stray_warnings,
                                                   args=(handler.stop,))
                handler.emitter.start()
                report = pdfa_check.check_file(stamped.out)
                handler.stop.set()
                handler.emitter.join()
                assert report.passed, report.summary()
                if handler.seen.is_set():
                    break
    finally:
        sys.setswitchinterval(old_interval)
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert handler.seen.is_set(), "no stray warning reached the check in 50 tries"


def test_scan_image_and_text_layer_untouched(stamped: Stamped) -> None:
    source, out = stamped.source, stamped.out
    with pikepdf.open(source) as a, pikepdf.open(out) as b:
        def images(pdf: pikepdf.Pdf) -> list[bytes]:
            return [o.read_raw_bytes() for o in pdf.objects
                    if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"]
        assert images(a) == images(b) and images(a)
        assert len(a.pages) == len(b.pages)
    before, after = _pdftotext(source), _pdftotext(out)
    record = stamped.record
    stamp_text = stamp_lines(record.fields)
    assert "Nguyễn Thị Hồng Nhung" in " ".join(before)
    assert [line for line in after if line not in stamp_text] == before
    assert [line for line in after if line in stamp_text] == stamp_text


def test_qr_decodes_to_recorded_fields(stamped: Stamped) -> None:
    out, tmp, conn = stamped.out, stamped.tmp, stamped.conn
    subprocess.run(["pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-png", "-singlefile",
                    str(out), str(tmp / "qr")], check=True)
    image = Image.open(tmp / "qr.png").convert("L")
    _, _, right, bottom = stamp_box_mm(stamped.record.fields)
    px = 300 / 25.4
    crop = image.crop((0, 0, round((right + 5) * px), round((bottom + 5) * px)))
    results = zxingcpp.read_barcodes(crop)
    assert len(results) == 1
    decoded = parse_qr_text(results[0].text)
    row = conn.execute("SELECT fields_json FROM stamps WHERE document_id = ?",
                       (stamped.doc_id,)).fetchone()
    recorded = StampFields(**json.loads(row[0]))
    assert decoded == recorded
    assert decoded.kind == KIND_SCAN
    assert decoded.code == decoded.dossier_code == stamped.dossier
    assert decoded.procedure_code == "1.001193"
    assert decoded.owner_id == CITIZEN
    assert decoded.document_name == "Giấy khai sinh Nguyễn Thị Hồng Nhung"
    assert decoded.system_name == SYSTEM_NAME
    assert decoded.operator == "Lê Thị Thu Hà"
    assert read_xmp_fields(out) == recorded
    # The stamp is in the audit log with the same fields.
    entries = audit.entries(conn, f"document:{stamped.doc_id}")
    assert entries[-1].action == "stamp"
    assert entries[-1].details["fields"] == asdict(recorded)


def test_stamp_in_top_left_margin_and_covers_no_text(stamped: Stamped) -> None:
    source, out = stamped.source, stamped.out
    ARTIFACTS.mkdir(exist_ok=True)
    png_base = ARTIFACTS / "stamp-page1"
    subprocess.run(["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", "-singlefile",
                    str(out), str(png_base)], check=True)
    assert (ARTIFACTS / "stamp-page1.png").stat().st_size > 10_000
    page_words = _words(source)
    assert len(page_words) > 20
    # The stamp's own box, from its geometry and from where its words landed.
    left, top, right, bottom = (v * MM_PT for v in stamp_box_mm(
        stamped.record.fields))
    before = {(w, round(x0), round(y0)) for w, x0, y0, _, _ in page_words}
    stamp_words = [w for w in _words(out) if (w[0], round(w[1]), round(w[2])) not in before]
    assert stamp_words, "the stamp's text is extractable"
    for _, x0, y0, x1, y1 in stamp_words:
        assert left - 1 <= x0 and x1 <= right + 1 and top - 1 <= y0 and y1 <= bottom + 1
    # In the top margin (Nghị định 30: 20-25 mm) and left part of the page.
    assert bottom <= 20 * MM_PT and left >= 5 * MM_PT
    # No word of the page's text layer intersects the stamp.
    for word, x0, y0, x1, y1 in page_words:
        overlaps = x0 < right and x1 > left and y0 < bottom and y1 > top
        assert not overlaps, f"stamp covers {word!r}"
    # And on the scan itself the stamp's area is blank paper: it hides nothing.
    subprocess.run(["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", "-singlefile",
                    str(source), str(stamped.tmp / "unstamped")], check=True)
    image = Image.open(stamped.tmp / "unstamped.png").convert("L")
    scale = 100 / 72
    area = image.crop((round(left * scale), round(top * scale), round(right * scale),
                       round(bottom * scale)))
    extrema = area.getextrema()
    assert isinstance(extrema[0], int) and extrema[0] > 200


def test_restamp_after_metadata_change_and_result_stamp(stamped: Stamped,
                                                        tmp_path: Path) -> None:
    ws, conn = stamped.ws, stamped.conn
    doc_id = stamped.doc_id
    set_meta(conn, doc_id, "test", {"name": "Giấy khai sinh (bản sao)"})
    again = stamp_document(ws, conn, doc_id)
    assert again.fields.document_name == "Giấy khai sinh (bản sao)"
    assert get_stamp(conn, doc_id) == again
    # A born-digital result (not PDF/A) kept byte for byte, stamped on a copy.
    from reportlab.pdfgen import canvas

    pdf = tmp_path / "ket-qua.pdf"
    c = canvas.Canvas(str(pdf))
    c.drawString(100, 700, "GIAY CHUNG NHAN KET HON")
    c.save()
    added = add_result(ws, conn, pdf, str(stamped.dossier), "test",
                       {"valid_to": "31/12/2030", "name": "Giấy chứng nhận kết hôn"})
    assert added.result_code == f"{stamped.dossier}-KQ1"
    assert (ws.root / added.stored_path).read_bytes() == pdf.read_bytes()
    rec = stamp_document(ws, conn, added.document_id)
    assert rec.fields.kind == KIND_RESULT and rec.fields.code == added.result_code
    assert rec.fields.valid_to == "2030-12-31"
    assert "HL=2030-12-31" in rec.fields.qr_text()
    assert "KẾT QUẢ ĐIỆN TỬ" in "\n".join(_pdftotext(ws.root / rec.stamped_path))
    assert (ws.root / added.stored_path).read_bytes() == pdf.read_bytes()


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_stamp_follows_page_rotation(stamped: Stamped, tmp_path: Path, rotate: int) -> None:
    """A page shown rotated (/Rotate) gets the stamp at the top left as displayed."""
    rotated = tmp_path / "rotated.pdf"
    with pikepdf.open(stamped.source) as pdf:
        pdf.pages[0].obj.Rotate = rotate
        pdf.save(rotated)
    out = tmp_path / "out.pdf"
    stamp_pdf(rotated, out, stamped.record.fields)
    assert pikepdf.pdfa.validate_written(out, "2b").passed
    subprocess.run(["pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-png", "-singlefile",
                    str(out), str(tmp_path / "r")], check=True)
    image = Image.open(tmp_path / "r.png").convert("L")
    _, _, right, bottom = stamp_box_mm(stamped.record.fields)
    px = 300 / 25.4
    results = zxingcpp.read_barcodes(
        image.crop((0, 0, round((right + 5) * px), round((bottom + 5) * px))))
    assert [parse_qr_text(r.text) for r in results] == [stamped.record.fields]
    words = [w for w in _words(out) if w[0] == "BẢN"]
    assert words and words[0][1] < 100 and words[0][2] < 30  # top left, as displayed


def _self_signed_p12(tmp: Path) -> tuple[Path, bytes]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UBND xã Gia Lộc (thử)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    p12 = tmp / "signer.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"signer", key, cert, None, serialization.NoEncryption()))
    return p12, cert.public_bytes(serialization.Encoding.DER)


def test_signed_result_keeps_its_signature_after_stamping(stamped: Stamped,
                                                          tmp_path: Path) -> None:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from reportlab.pdfgen import canvas

    plain = tmp_path / "quyet-dinh.pdf"
    c = canvas.Canvas(str(plain))
    c.drawString(100, 700, "QUYET DINH (ban ky so)")
    c.save()
    p12, cert_der = _self_signed_p12(tmp_path)
    signer = signers.SimpleSigner.load_pkcs12(pfx_file=str(p12), passphrase=None)
    assert signer is not None
    signed = tmp_path / "quyet-dinh-signed.pdf"
    with plain.open("rb") as src, signed.open("wb") as dst:
        signers.sign_pdf(IncrementalPdfFileWriter(src),
                         signers.PdfSignatureMetadata(field_name="Signature1"),
                         signer=signer, output=dst)
    added = add_result(stamped.ws, stamped.conn, signed, stamped.dossier, "test")
    assert re.fullmatch(rf"{re.escape(stamped.dossier)}-KQ[12]", added.result_code)
    rec = stamp_document(stamped.ws, stamped.conn, added.document_id)
    out = stamped.ws.root / rec.stamped_path
    assert out.read_bytes().startswith(signed.read_bytes())
    assert (stamped.ws.root / added.stored_path).read_bytes() == signed.read_bytes()
    trust = asn1_x509.Certificate.load(cert_der)
    with out.open("rb") as fh:
        [sig] = PdfFileReader(fh).embedded_signatures
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[trust]))
    assert status.intact and status.valid
    assert "KẾT QUẢ ĐIỆN TỬ" in _pdftotext(out)


def test_stamp_moves_to_a_blank_corner_when_text_reaches_the_top_left(
        tmp_path: Path) -> None:
    """A real scan whose text starts in the top-left margin, ingested for real: the stamp
    goes where the paper is blank, and covers no word of the page."""
    from PIL import ImageDraw, ImageFont

    from motcua.ingest import ingest_paths

    ws = init_workspace(tmp_path / "ws")
    font = ImageFont.truetype(
        "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf", 50)
    page = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi
    draw = ImageDraw.Draw(page)
    # A heading printed right into the corner (3.5 mm from the top, 5 mm from the left).
    draw.text((60, 40), "ỦY BAN NHÂN DÂN XÃ GIA LỘC — Số: 12/GXN-UBND", font=font, fill=0)
    for i, line in enumerate(["GIẤY XÁC NHẬN CƯ TRÚ", "Họ và tên: Trần Văn Bình",
                              "Nơi thường trú: thôn Đông, xã Gia Lộc"]):
        draw.text((300, 600 + 120 * i), line, font=font, fill=0)
    scan = ws.inbox / "goc-trai-co-chu.jpg"
    page.save(scan, format="JPEG", quality=90, dpi=(300, 300))

    (outcome,) = ingest_paths(ws, [scan])
    assert outcome.state == "done" and outcome.document_id is not None
    conn = connect(ws.db_path)
    rec = get_stamp(conn, outcome.document_id)
    assert rec is not None
    archival = ws.root / conn.execute("SELECT archival_path FROM documents WHERE id = ?",
                                      (outcome.document_id,)).fetchone()[0]
    out = ws.root / rec.stamped_path
    page_words = _words(archival)
    assert any(w[2] < 10 * MM_PT and w[1] < 40 * MM_PT for w in page_words), \
        "the heading was read in the corner"
    before = {(w, round(x0), round(y0)) for w, x0, y0, _, _ in page_words}
    stamp_words = [w for w in _words(out) if (w[0], round(w[1]), round(w[2])) not in before]
    assert any("BẢN" in w[0] for w in stamp_words)
    left = min(w[1] for w in stamp_words)
    top = min(w[2] for w in stamp_words)
    right = max(w[3] for w in stamp_words)
    bottom = max(w[4] for w in stamp_words)
    for word, x0, y0, x1, y1 in page_words:
        assert not (x0 < right and x1 > left and y0 < bottom and y1 > top), \
            f"stamp covers {word!r}"
    assert left > 105 * MM_PT and bottom <= 25 * MM_PT  # the top-right corner was blank
    assert pikepdf.pdfa.validate_written(out, "2b").passed
    subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-png", "-singlefile",
                    str(out), str(ARTIFACTS / "stamp-moved-page1")], check=True)
