"""Scanner PDFs without OCRmyPDF: read each page's JPEG, draw the words, save as PDF/A once.

Most of what reaches the archive is a scanner's PDF (or an image we wrapped with img2pdf):
every page one JPEG drawn over the whole page. For such a file OCRmyPDF's per-file work is
mostly not needed (page analysis, rendering the text layer through fpdf2 with font
subsetting, a PDF/A conversion written and validated, a metadata pass, a second
validation), and it cost a tenth of Tesseract's own time on multi-page files, more on short
ones (issue 15). Here the pages are read by the same Tesseract run as in
:mod:`motcua.ocr.plugin` (:func:`plugin.read_page`), the text layer is drawn from its hOCR
(gaps already bridged, so pdftotext keeps Tesseract's row order), skewed pages are
straightened in the content stream, and :func:`pikepdf.pdfa.save` declares PDF/A-2b,
writes the file and validates the bytes it wrote: one save, one validation.

The text is invisible (rendering mode 3) in a font with one blank glyph: every code maps
to it (``CIDToGIDMap``), ``ToUnicode`` says which character each code is, so the text is
searchable and copies out with its diacritics. Each word is drawn at the start of its
box, stretched (``Tz``) to the box's width, followed by a space, one ``BT`` block per line
along the line's baseline, as OCRmyPDF's renderer does.
"""

from __future__ import annotations

import functools
import io
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import pikepdf
from ocrmypdf.models.ocr_element import OcrElement

#: Advance width of the one glyph, in 1/1000 of the font size.
GLYPH_ADVANCE = 500
FONT_NAME = "MotcuaInvisible"
#: The font's resource name on each page.
FONT_KEY = "/FMotcuaOcr"
_LINE_CLASSES = ("ocr_line", "ocr_header", "ocr_footer", "ocr_caption", "ocr_textfloat")


@functools.cache
def font_program() -> bytes:
    """A TrueType font whose every glyph is blank and GLYPH_ADVANCE wide."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "blank"])
    builder.setupCharacterMap({0x20: "blank"})
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "blank": TTGlyphPen(None).glyph()})
    builder.setupHorizontalMetrics({".notdef": (GLYPH_ADVANCE, 0), "blank": (GLYPH_ADVANCE, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800,
                     usWinDescent=200)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def _to_unicode_cmap() -> bytes:
    # Codes are UTF-16 code units (BMP only, surrogates never written): each maps to
    # itself. A bfrange may only vary in its last byte, so one range per high byte.
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256)
              if not 0xD8 <= hi <= 0xDF]
    blocks = []
    for start in range(0, len(ranges), 100):
        chunk = ranges[start:start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def add_font(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    """The invisible-text font as an indirect object of ``pdf``."""
    program = font_program()
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor,
        FontName=pikepdf.Name("/" + FONT_NAME),
        Flags=4,  # symbolic: its glyphs are not the standard Latin set
        FontBBox=[0, -200, GLYPH_ADVANCE, 800],
        ItalicAngle=0,
        Ascent=800,
        Descent=-200,
        CapHeight=700,
        StemV=80,
        FontFile2=pdf.make_stream(program, Length1=len(program)),
    )
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType2,
        BaseFont=pikepdf.Name("/" + FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=GLYPH_ADVANCE,
        # Every code is drawn with glyph 1, the blank one.
        CIDToGIDMap=pdf.make_stream(b"\x00\x01" * 65536),
    )
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type0,
        BaseFont=pikepdf.Name("/" + FONT_NAME),
        Encoding=pikepdf.Name("/Identity-H"),
        DescendantFonts=[pdf.make_indirect(cid_font)],
        ToUnicode=pdf.make_stream(_to_unicode_cmap()),
    )
    return pdf.make_indirect(font)


@dataclass(frozen=True)
class Placement:
    """Where an image of ``width`` × ``height`` pixels is drawn on the page, in points."""

    x0: float
    y0: float
    width: float  # points
    height: float
    px_width: int
    px_height: int

    @property
    def sx(self) -> float:
        return self.width / self.px_width

    @property
    def sy(self) -> float:
        return self.height / self.px_height

    def point(self, x: float, y: float) -> tuple[float, float]:
        """Page coordinates of image pixel (x, y) (y counted down from the top)."""
        return self.x0 + x * self.sx, self.y0 + (self.px_height - y) * self.sy


def _encode(text: str) -> str:
    # BMP characters as UTF-16 code units; anything beyond (never Vietnamese) as U+FFFD.
    units = (ord(c) if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF else 0xFFFD
             for c in text)
    return "".join(f"{u:04X}" for u in units)


def _line_geometry(line: OcrElement, place: Placement
                   ) -> tuple[tuple[float, float], float, float, list[tuple[float, float]]] | None:
    """(origin on the page, direction in degrees, font size, words' (start, end) along it).

    Distances are in points along the baseline from the origin."""
    box = line.bbox
    assert box is not None
    words = [w for w in line.children if w.ocr_class == "ocrx_word" and w.bbox is not None]
    angle = round(line.textangle or 0.0) % 360
    spans: list[tuple[float, float]] = []
    if angle == 90:  # running up the image, tops of the letters to the left
        thickness = box.width * place.sx
        origin = place.point(box.right - 0.2 * box.width, box.bottom)
        for w in words:
            assert w.bbox is not None
            spans.append(((box.bottom - w.bbox.bottom) * place.sy,
                          (box.bottom - w.bbox.top) * place.sy))
        return origin, 90.0, 0.8 * thickness, spans
    if angle == 270:  # running down the image
        thickness = box.width * place.sx
        origin = place.point(box.left + 0.2 * box.width, box.top)
        for w in words:
            assert w.bbox is not None
            spans.append(((w.bbox.top - box.top) * place.sy, (w.bbox.bottom - box.top) * place.sy))
        return origin, -90.0, 0.8 * thickness, spans
    if angle == 180:  # upside down
        thickness = box.height * place.sy
        origin = place.point(box.right, box.top + 0.2 * box.height)
        for w in words:
            assert w.bbox is not None
            spans.append(((box.right - w.bbox.right) * place.sx,
                          (box.right - w.bbox.left) * place.sx))
        return origin, 180.0, 0.8 * thickness, spans
    if angle != 0:
        return None
    slope = line.baseline.slope if line.baseline is not None else 0.0
    intercept = line.baseline.intercept if line.baseline is not None else -0.2 * box.height
    if abs(slope) > 1.0:  # not a baseline Tesseract believed in
        slope, intercept = 0.0, -0.2 * box.height
    size = (box.height + intercept) * place.sy
    if size < 1.0:
        size = 0.8 * box.height * place.sy
    origin = place.point(box.left, box.bottom + intercept)
    # The image's y axis points down: a baseline falling to the right turns clockwise.
    direction = -math.degrees(math.atan(slope))
    stretch = place.sx / math.cos(math.atan(slope))
    for w in words:
        assert w.bbox is not None
        spans.append(((w.bbox.left - box.left) * stretch, (w.bbox.right - box.left) * stretch))
    return origin, direction, size, spans


def _lines(tree: OcrElement) -> Iterator[OcrElement]:
    yield from tree.iter_by_class(*_LINE_CLASSES)


def text_layer(tree: OcrElement, place: Placement) -> bytes:
    """Content stream drawing the page's words invisibly; empty if there are none."""
    ops: list[str] = []
    for line in _lines(tree):
        if line.bbox is None or line.bbox.width <= 0 or line.bbox.height <= 0:
            continue
        geometry = _line_geometry(line, place)
        if geometry is None:
            continue
        (x, y), direction, size, spans = geometry
        words = [w for w in line.children if w.ocr_class == "ocrx_word" and w.bbox is not None]
        drawn = [(unicodedata.normalize("NFC", (w.text or "").strip()), span)
                 for w, span in zip(words, spans, strict=True)]
        drawn = [(text, span) for text, span in drawn if text]
        if not drawn or size <= 0:
            continue
        r = math.radians(direction)
        cos, sin = math.cos(r), math.sin(r)
        ops.append(f"BT\n3 Tr\n{FONT_KEY} {size:.2f} Tf\n"
                   f"{cos:.6f} {sin:.6f} {-sin:.6f} {cos:.6f} {x:.2f} {y:.2f} Tm")
        at = 0.0
        for text, (start, end) in drawn:
            if abs(start - at) >= 0.005:
                ops.append(f"{start - at:.2f} 0 Td")
                at = start
            # The word fills its box; the space after it (same stretch) tells every
            # extractor where it ends, the next word's Td where the next one starts.
            natural = len(text) * size * GLYPH_ADVANCE / 1000
            scale = 100.0 * max(end - start, 0.1) / natural
            ops.append(f"{scale:.2f} Tz\n<{_encode(text + ' ')}> Tj")
        ops.append("ET")
    return ("\n".join(ops) + "\n").encode("ascii") if ops else b""
