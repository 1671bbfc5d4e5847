"""A hostile corpus, generated on the spot: odd names, lying formats, broken and
malicious PDFs, resource bombs, born-digital PDFs with unembedded fonts, races,
permissions and duplicates (issue 9).

Each `Kind` writes its input(s) into a folder and says which final intake states are
acceptable for each of them; the tests (tests/test_hostile_corpus.py) and the benches
(bench/hostile.py, bench/crash.py) run the same corpus.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import subprocess
import threading
import time
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import Image

from tests.intake_kit import tiny_pdf, tiny_scan

DONE = frozenset({"done"})
QUAR = frozenset({"quarantined"})
REFUSED = frozenset({"refused"})
SETTLED = frozenset({"done", "quarantined"})  # either is right; never "retry"

#: Files per kind: relative path (str, may contain surrogate escapes) -> acceptable states.
Expect = dict[str, frozenset[str]]


@dataclass(frozen=True)
class Kind:
    name: str
    group: str  # names | encodings | structure | active | bombs | fonts | races | permissions
    #            | duplicates
    make: Callable[[Path], Expect]
    #: Runs in a thread while the pipeline works (a slow writer, a file swapped mid-OCR).
    during: Callable[[Path], None] | None = None
    modes: frozenset[str] = field(default_factory=lambda: frozenset({"ingest", "watch"}))
    #: The text of a born-digital PDF must survive archiving word for word.
    text_intact: bool = False
    #: The bytes the input ends with, when `during` changes them.
    final: Callable[[], bytes] | None = None


# ---- building blocks -----------------------------------------------------------------


def _seed(name: str) -> int:
    return 500_000 + zlib.crc32(name.encode("utf-8", "surrogateescape")) % 400_000


def _scan(name: str) -> bytes:
    return tiny_scan(_seed(name))


def _write(folder: Path, rel: str, data: bytes) -> str:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return rel


def _one(rel: str, data: bytes, states: frozenset[str]) -> Callable[[Path], Expect]:
    def make(folder: Path) -> Expect:
        return {_write(folder, rel, data): states}
    return make


def _pdf_bytes(pdf: pikepdf.Pdf) -> bytes:
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _scan_pdf(name: str) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(tiny_pdf([_seed(name)])))


def _text_page(pdf: pikepdf.Pdf, text: str, font: str = "Helvetica",
               box: tuple[float, float, float, float] = (0, 0, 595, 842)) -> None:
    f = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                           BaseFont=pikepdf.Name("/" + font),
                           Encoding=pikepdf.Name.WinAnsiEncoding)
    content = f"BT /F1 16 Tf 60 700 Td ({text}) Tj ET".encode("latin-1")
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=list(box),
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=f)),
        Contents=pdf.make_stream(content))
    pdf.pages.append(pikepdf.Page(page))


# ---- names ---------------------------------------------------------------------------

LONG_VI = "Đơn đề nghị đăng ký khai sinh cho con của ông Nguyễn Văn Hưởng và bà Trần Thị " \
          "Thanh Xuân tại xã Gia Lộc tỉnh Hải Dương năm hai nghìn không trăm hai mươi lăm"
assert len(LONG_VI.encode()) > 180


def _long(suffix: str) -> str:
    name = LONG_VI + suffix
    while len(name.encode()) < 250:
        name = "x" + name
    return name


NON_UTF8 = os.fsdecode(b"h\xf4 s\xe1 c\xf4ng d\xe2n.jpg")  # Latin-1 bytes, not UTF-8
NON_UTF8_BAD = os.fsdecode(b"b\xe1o c\xe1o h\xf3ng.pdf")


def _nfc_nfd(folder: Path) -> Expect:
    nfc = unicodedata.normalize("NFC", "Hồ sơ đất đai.jpg")
    nfd = unicodedata.normalize("NFD", "Hồ sơ đất đai.jpg")
    return {_write(folder, nfc, _scan("nfc")): DONE, _write(folder, nfd, _scan("nfd")): DONE}


# ---- encodings -----------------------------------------------------------------------


def _image(mode: str, fmt: str, **save: object) -> bytes:
    base = Image.open(io.BytesIO(_scan(mode + fmt))).convert("RGB")
    img = base.convert(mode) if mode not in ("I;16", "RGBA") else base
    if mode == "I;16":
        img = base.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    if mode == "RGBA":
        img = base.convert("RGBA")
        img.putalpha(200)
    buf = io.BytesIO()
    img.save(buf, format=fmt, dpi=(300, 300), **save)
    return buf.getvalue()


def _multi_tiff() -> bytes:
    frames = [Image.open(io.BytesIO(_scan(f"tiff{i}"))).convert("L") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:],
                   compression="tiff_deflate", dpi=(300, 300))
    return buf.getvalue()


def _jpeg_lying_header() -> bytes:
    """A real little JPEG whose frame header (SOF) claims 60000 x 60000 pixels."""
    data = bytearray(_scan("lying"))
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")


def _png_bomb() -> bytes:
    """A few KB of PNG declaring a 30000 x 30000 white image (900 megapixels)."""
    width = height = 30000
    row = b"\x00" + b"\xff" * width
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(
            ">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + \
        chunk(b"IEND", b"")


# ---- structure -----------------------------------------------------------------------


def _zero_pages() -> bytes:
    pdf = pikepdf.new()
    return _pdf_bytes(pdf)


def _page_loop() -> bytes:
    pdf = _scan_pdf("loop")
    pdf.Root.Pages.Kids.append(pdf.Root.Pages)  # the tree contains itself
    pdf.Root.Pages.Count = 2
    buf = io.BytesIO()
    pdf.save(buf, fix_metadata_version=False)
    return buf.getvalue()


def _zero_mediabox() -> bytes:
    pdf = _scan_pdf("zerobox")
    pdf.pages[0].obj.MediaBox = [0, 0, 0, 0]
    return _pdf_bytes(pdf)


def _encrypted(user: str, owner: str) -> bytes:
    pdf = _scan_pdf("enc" + user + owner)
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(user=user, owner=owner))
    return buf.getvalue()


def _incremental() -> bytes:
    first = tiny_pdf([_seed("incr")])
    # An incremental update that changes the document information: valid PDF.
    size = int(first.rsplit(b"/Size ", 1)[1].split(maxsplit=1)[0].strip(b">/ \n"))
    startxref = int(first.rsplit(b"startxref", 1)[1].split()[0])
    obj = f"{size} 0 obj\n<< /Title (Cap nhat) >>\nendobj\n".encode()
    offset = len(first)
    xref = f"xref\n{size} 1\n{offset:010d} 00000 n \n".encode()
    root = first.split(b"/Root ", 1)[1].split(b"R", 1)[0].decode().strip()
    trailer = (f"trailer\n<< /Size {size + 1} /Root {root} R /Info {size} 0 R "
               f"/Prev {startxref} >>\nstartxref\n{offset + len(obj)}\n%%EOF\n").encode()
    return first + obj + xref + trailer


def _bad_xref_offsets() -> bytes:
    data = tiny_pdf([_seed("xref")])
    head = data.rsplit(b"startxref", 1)[0]
    return head + b"startxref\n999999\n%%EOF\n"


# ---- active content ------------------------------------------------------------------


def _javascript() -> bytes:
    pdf = _scan_pdf("js")
    js = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x');"))
    pdf.Root.OpenAction = pdf.make_indirect(js)
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(
        Names=[pikepdf.String("a"), pdf.make_indirect(js)]))
    return _pdf_bytes(pdf)


def _embedded_file() -> bytes:
    pdf = _scan_pdf("attach")
    pdf.attachments["virus.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00" * 64,
                                                            mime_type="application/octet-stream")
    return _pdf_bytes(pdf)


def _xfa() -> bytes:
    pdf = _scan_pdf("xfa")
    xfa = pdf.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'></xdp:xdp>")
    pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=[], XFA=xfa,
                                                             NeedsRendering=True))
    return _pdf_bytes(pdf)


def _launch_action() -> bytes:
    pdf = _scan_pdf("launch")
    action = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))
    annot = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                               Rect=[0, 0, 100, 100], A=action, Border=[0, 0, 0])
    pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(annot)]))
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=action)
    return _pdf_bytes(pdf)


# ---- bombs ---------------------------------------------------------------------------


def _pdf_huge_image() -> bytes:
    """A small PDF whose one image declares 47000 x 47000 pixels (2.2 gigapixels)."""
    pdf = pikepdf.new()
    side = 47000
    comp = zlib.compressobj(9)
    row = b"\xff" * side
    # Only a few rows of real data: the declared size is what a renderer allocates.
    data = comp.compress(row * 64) + comp.flush()
    image = pdf.make_stream(data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                            Width=side, Height=side, ColorSpace=pikepdf.Name.DeviceGray,
                            BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
        Contents=pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q"))
    pdf.pages.append(pikepdf.Page(page))
    return _pdf_bytes(pdf)


def _pdf_inflate_bomb() -> bytes:
    """A page whose content stream inflates to 400 MiB of spaces."""
    pdf = _scan_pdf("inflate")
    comp = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    body = b"".join(comp.compress(chunk) for _ in range(400)) + comp.flush()
    bomb = pdf.make_stream(b"")
    bomb.write(body, filter=pikepdf.Name.FlateDecode)
    page = pdf.pages[0]
    page.obj.Contents = pikepdf.Array([page.obj.Contents, bomb])
    return _pdf_bytes(pdf)


def _many_pages(n: int) -> bytes:
    pdf = pikepdf.new()
    for i in range(n):
        _text_page(pdf, f"Trang {i + 1}")
    return _pdf_bytes(pdf)


# ---- fonts: born-digital PDFs from several generators --------------------------------


def _reportlab() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 14)
    c.drawString(72, 760, "Application for birth registration No. 123/2025")
    c.setFont("Times-Roman", 12)
    c.drawString(72, 730, "Commune People's Committee of Gia Loc, 16/07/2025")
    c.setFont("Courier-Bold", 12)
    c.drawString(72, 700, "Dossier 000.00.07.H47-250716-0001")
    c.showPage()
    c.save()
    return buf.getvalue()


def _fpdf2() -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(text="Certificate of residence written with a core font")
    doc.ln(10)
    doc.set_font("times", "I", 12)
    doc.cell(text="Issued on 01/02/2025 by the commune office")
    return bytes(doc.output())


def _raw_pikepdf() -> bytes:
    pdf = pikepdf.new()
    font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                              BaseFont=pikepdf.Name("/Times-Roman"))  # no /Encoding: Standard
    content = b"BT /F1 18 Tf 72 720 Td (Raw PDF written by hand in Times-Roman) Tj ET"
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=pdf.make_stream(content))))
    return _pdf_bytes(pdf)


def _ghostscript_ps() -> bytes:
    ps = (b"%!PS\n/Helvetica findfont 16 scalefont setfont 72 720 moveto "
          b"(PostScript printed to PDF by Ghostscript, Helvetica) show\n"
          b"/Courier findfont 12 scalefont setfont 72 690 moveto (Courier line 42) show "
          b"showpage\n")
    proc = subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
         "-dEmbedAllFonts=false", "-sOutputFile=-", "-"],
        input=ps, capture_output=True, check=True, timeout=60)
    return proc.stdout


def _mixed_text_and_scan() -> bytes:
    """Page 1 born-digital (unembedded Helvetica), page 2 a scan."""
    pdf = pikepdf.new()
    _text_page(pdf, "Cover letter typed in Helvetica, page one")
    scan = _scan_pdf("mixed")
    pdf.pages.extend(scan.pages)
    return _pdf_bytes(pdf)


# ---- races ---------------------------------------------------------------------------


@functools.cache
def _slow_writer_data() -> bytes:
    # Once: img2pdf stamps the time into every PDF it writes.
    return tiny_pdf([_seed("slow1"), _seed("slow2")])


def _slow_writer_make(folder: Path) -> Expect:
    data = _slow_writer_data()
    (folder / "dang-ghi.pdf").write_bytes(data[: len(data) // 3])
    return {"dang-ghi.pdf": DONE}


def _slow_writer_during(folder: Path) -> None:
    data = _slow_writer_data()
    time.sleep(2.0)
    with (folder / "dang-ghi.pdf").open("ab") as fh:
        fh.write(data[len(data) // 3: 2 * len(data) // 3])
    time.sleep(2.0)
    with (folder / "dang-ghi.pdf").open("ab") as fh:
        fh.write(data[2 * len(data) // 3:])


# ---- permissions, links, special files -----------------------------------------------


def _symlink_file(folder: Path) -> Expect:
    outside = folder.parent / "outside-target.jpg"
    outside.write_bytes(_scan("symlink"))
    (folder / "lien-ket.jpg").symlink_to(outside)
    return {"lien-ket.jpg": REFUSED}


def _symlink_dir(folder: Path) -> Expect:
    outside = folder.parent / "outside-dir"
    outside.mkdir(exist_ok=True)
    (outside / "ben-trong.jpg").write_bytes(_scan("symdir"))
    (folder / "thu-muc-lien-ket").symlink_to(outside)
    return {"thu-muc-lien-ket": REFUSED}


def _unreadable(folder: Path) -> Expect:
    """Mode 000: the service's account may not read it (root too, run without the
    override; see intake_kit.permission_prefix)."""
    rel = _write(folder, "khong-doc-duoc.jpg", _scan("unreadable"))
    (folder / rel).chmod(0)
    return {rel: REFUSED}


def _fifo(folder: Path) -> Expect:
    os.mkfifo(folder / "ong-dan.pdf")
    return {"ong-dan.pdf": REFUSED}


# ---- duplicates ----------------------------------------------------------------------


def _same_bytes_two_names(folder: Path) -> Expect:
    data = _scan("twins")
    _write(folder, "ban-1.jpg", data)
    _write(folder, "ban-2.jpg", data)
    return {"ban-1.jpg": frozenset({"done", "duplicate"}),
            "ban-2.jpg": frozenset({"done", "duplicate"})}


def _hard_link(folder: Path) -> Expect:
    _write(folder, "goc.jpg", _scan("hardlink"))
    os.link(folder / "goc.jpg", folder / "lien-ket-cung.jpg")
    return {"goc.jpg": frozenset({"done", "duplicate"}),
            "lien-ket-cung.jpg": frozenset({"done", "duplicate"})}


def _same_bytes_in_folders(folder: Path) -> Expect:
    data = tiny_pdf([_seed("folders")])
    a = _write(folder, "000.00.07.H47-250716-0003/to-khai.pdf", data)
    b = _write(folder, "ban-sao/to-khai.pdf", data)
    return {a: frozenset({"done", "duplicate"}), b: frozenset({"done", "duplicate"})}


# ---- the corpus ----------------------------------------------------------------------


def kinds() -> list[Kind]:
    """Every kind, in a fixed order. Generating takes a few seconds."""
    k: list[Kind] = []

    def add(name: str, group: str, make: Callable[[Path], Expect], **kw: object) -> None:
        k.append(Kind(name, group, make, **kw))  # type: ignore[arg-type]

    # names
    add("long-name", "names", _one(_long(".jpg"), _scan("long"), DONE))
    add("long-name-bad", "names", _one(_long(".pdf"), b"%PDF-1.4\n garbage \n%%EOF\n", QUAR))
    add("non-utf8-name", "names", _one(NON_UTF8, _scan("latin1"), DONE))
    add("non-utf8-name-bad", "names", _one(NON_UTF8_BAD, b"not a pdf", QUAR))
    add("rtl-override", "names", _one("hoa-don\u202egpj.exe.jpg", _scan("rtl"), DONE))
    add("control-chars", "names", _one("dong\nmoi\ttab\x1b[31m.jpg", _scan("ctrl"), DONE))
    add("nfc-nfd-twins", "names", _nfc_nfd)
    add("emoji-and-spaces", "names", _one("  🐉 hồ sơ  .jpg", _scan("emoji"), DONE))
    add("leading-dash", "names", _one("-rf --help.jpg", _scan("dash"), DONE))
    add("long-folder", "names", _one("thư mục " * 20 + "/" + _long(".jpg")[-200:],
                                     _scan("longdir"), DONE))
    # encodings
    add("jpeg-cmyk", "encodings", _one("cmyk.jpg", _image("CMYK", "JPEG", quality=90), SETTLED))
    add("tiff-16bit", "encodings", _one("16bit.tif", _image("I;16", "TIFF"), SETTLED))
    add("png-16bit", "encodings", _one("16bit.png", _image("I;16", "PNG"), SETTLED))
    add("tiff-cmyk", "encodings", _one("cmyk.tif", _image("CMYK", "TIFF"), SETTLED))
    add("tiff-multipage", "encodings", _one("nhieu-trang.tif", _multi_tiff(), DONE))
    add("png-alpha", "encodings", _one("trong-suot.png", _image("RGBA", "PNG"), DONE))
    add("jpeg-lying-header", "encodings", _one("noi-doi.jpg", _jpeg_lying_header(), QUAR))
    add("jpeg-truncated", "encodings", _one("cut.jpg", _scan("cut")[:1500], QUAR))
    add("gif-as-png", "encodings", _one("anh.png", _image("P", "GIF"), QUAR))
    add("webp-as-jpg", "encodings", _one("anh-webp.jpg", _image("RGB", "WEBP"), QUAR))
    add("zero-bytes", "encodings", _one("rong.pdf", b"", QUAR))
    add("html-as-pdf", "encodings", _one("trang.pdf", b"<html><body>hi</body></html>", QUAR))
    add("zip-as-pdf", "encodings", _one("nen.pdf", b"PK\x03\x04" + os.urandom(200), QUAR))
    add("unsupported-ext", "encodings", _one("van-ban.docx", b"PK\x03\x04" + b"0" * 99, QUAR))
    # structure
    add("pdf-garbage", "structure", _one("hong.pdf", b"%PDF-1.4\n" + os.urandom(3000) +
                                         b"\n%%EOF\n", QUAR))
    add("pdf-truncated", "structure", _one("cut.pdf", tiny_pdf([_seed("tr")])[:900], QUAR))
    add("pdf-zero-pages", "structure", _one("khong-trang.pdf", _zero_pages(), QUAR))
    add("pdf-page-loop", "structure", _one("vong-lap.pdf", _page_loop(), SETTLED))
    add("pdf-zero-mediabox", "structure", _one("hop-0.pdf", _zero_mediabox(), SETTLED))
    add("pdf-user-password", "structure", _one("mat-khau.pdf", _encrypted("mk", "mk"), QUAR))
    add("pdf-owner-password", "structure", _one("chu-so-huu.pdf", _encrypted("", "chu"), DONE))
    add("pdf-incremental", "structure", _one("cap-nhat.pdf", _incremental(), DONE))
    add("pdf-bad-xref", "structure", _one("xref-sai.pdf", _bad_xref_offsets(), SETTLED))
    # active content
    add("pdf-javascript", "active", _one("javascript.pdf", _javascript(), DONE))
    add("pdf-embedded-file", "active", _one("dinh-kem.pdf", _embedded_file(), DONE))
    add("pdf-xfa", "active", _one("xfa.pdf", _xfa(), DONE))
    add("pdf-launch-action", "active", _one("launch.pdf", _launch_action(), DONE))
    # bombs
    add("pdf-2-gigapixel", "bombs", _one("anh-khong-lo.pdf", _pdf_huge_image(), QUAR))
    add("pdf-inflate-400mib", "bombs", _one("phinh.pdf", _pdf_inflate_bomb(), QUAR))
    add("png-900-megapixel", "bombs", _one("bom.png", _png_bomb(), QUAR))
    add("pdf-too-many-pages", "bombs", _one("qua-nhieu-trang.pdf", _many_pages(60), QUAR))
    # fonts
    add("font-reportlab", "fonts", _one("reportlab.pdf", _reportlab(), DONE), text_intact=True)
    add("font-fpdf2", "fonts", _one("fpdf2.pdf", _fpdf2(), DONE), text_intact=True)
    add("font-raw-pikepdf", "fonts", _one("raw.pdf", _raw_pikepdf(), DONE), text_intact=True)
    add("font-ghostscript", "fonts", _one("ghostscript.pdf", _ghostscript_ps(), DONE),
        text_intact=True)
    add("font-mixed-scan", "fonts", _one("hon-hop.pdf", _mixed_text_and_scan(), DONE))
    # races
    add("slow-writer", "races", _slow_writer_make, during=_slow_writer_during,
        final=_slow_writer_data)
    # permissions, links, special files
    add("symlink-file", "permissions", _symlink_file)
    add("symlink-folder", "permissions", _symlink_dir)
    add("fifo", "permissions", _fifo)
    add("unreadable", "permissions", _unreadable)
    # duplicates
    add("same-bytes-two-names", "duplicates", _same_bytes_two_names)
    add("hard-link", "duplicates", _hard_link)
    add("same-bytes-two-folders", "duplicates", _same_bytes_in_folders)
    return k


#: Limits the corpus is run under (motcua.toml [limits]), small enough for the bombs
#: above to be caught quickly and large enough for every ordinary input.
TEST_LIMITS = """
[limits]
max_pages = 50
worker_memory_mb = 1536
"""


def start_during(kinds_: list[Kind], folder: Path) -> list[threading.Thread]:
    threads = [threading.Thread(target=k.during, args=(folder,), daemon=True)
               for k in kinds_ if k.during is not None]
    for t in threads:
        t.start()
    return threads
