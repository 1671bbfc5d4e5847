"""Cover sheets for batch scanning: one A4 page per dossier, its code as a large QR code
(the same code, made the same way, as the QR of form 01, so a receipt separates too) and
in text, with the owner, the procedure and the day it was received.

The clerk puts each sheet on top of its dossier's papers and feeds the whole stack to the
scanner; the split step (`motcua.ingest.split`) files the pages after each sheet under
its dossier and leaves the sheet itself out of the archived document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from motcua.templates.render import qr_png

FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
FONT = "MotcuaCoverSerif"
FONT_BOLD = "MotcuaCoverSerif-Bold"
#: The QR's side: large enough to read from a poor 200 dpi scan at a reduced scale.
QR_SIDE_MM = 70.0


@dataclass(frozen=True)
class Cover:
    code: str
    owner: str  # name and ID number, as printed
    procedure: str
    received: str  # dd/mm/yyyy
    issuing_body: str


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "LiberationSerif-Regular.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "LiberationSerif-Bold.ttf")))


def _centred(c: canvas.Canvas, text: str, y: float, font: str, size: float) -> None:
    c.setFont(font, size)
    c.drawCentredString(A4[0] / 2, y, text)


def write_covers(covers: list[Cover], out: Path) -> Path:
    """One page per cover, in the order given, as a PDF at `out`."""
    _fonts()
    c = canvas.Canvas(str(out), pagesize=A4, invariant=True)
    c.setTitle("Tờ bìa hồ sơ")
    c.setAuthor("motcua")
    width, height = A4
    left, text_width = 25 * mm, width - 50 * mm
    for cover in covers:
        y = height - 25 * mm
        _centred(c, cover.issuing_body, y, FONT_BOLD, 13)
        y -= 9 * mm
        _centred(c, "BỘ PHẬN MỘT CỬA", y, FONT, 12)
        y -= 20 * mm
        _centred(c, "TỜ BÌA HỒ SƠ", y, FONT_BOLD, 24)
        y -= 8 * mm
        _centred(c, "(đặt ngay trước các trang của hồ sơ khi quét cả chồng)", y, FONT, 11)
        side = QR_SIDE_MM * mm
        y -= 8 * mm + side
        c.drawImage(ImageReader(qr_png(cover.code)), (width - side) / 2, y, side, side)
        y -= 14 * mm
        _centred(c, cover.code, y, FONT_BOLD, 22)
        y -= 18 * mm
        for label, value in (("Chủ hồ sơ", cover.owner), ("Thủ tục", cover.procedure),
                             ("Ngày tiếp nhận", cover.received)):
            lines = simpleSplit(f"{label}: {value}", FONT, 13, text_width)
            c.setFont(FONT, 13)
            for line in lines:
                c.drawString(left, y, line)
                y -= 7 * mm
            y -= 2 * mm
        c.setFont(FONT, 10)
        for i, line in enumerate(simpleSplit(
                "Tờ bìa này chỉ dùng để tách hồ sơ khi quét; nó được giữ trong tệp quét gốc "
                "nhưng không nằm trong tài liệu số hóa của hồ sơ. Mỗi tờ bìa chỉ dùng cho "
                "đúng hồ sơ có mã in trên đó.", FONT, 10, text_width)):
            c.drawString(left, 20 * mm + (2 - i) * 5 * mm, line)
        c.showPage()
    c.save()
    return out
