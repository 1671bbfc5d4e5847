"""Layout rules of Nghị định 30/2020/NĐ-CP (Phụ lục I) as data and small pure functions.

Everything the template builder, the renderer and the layout check agree on lives
here: page profiles, the font, the size/bold/italic of each component (keyed by the
paragraph style that marks it in a template), the number line and the date line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# The DOCX names Times New Roman (what Nghị định 30/2020 asks for and what Word on the
# clerks' Windows machines has). Where it is absent (this server), fontconfig and
# LibreOffice's replacement table substitute Liberation Serif, whose advance widths are
# identical, so lines break in the same places; the PDF embeds that twin. Widths for
# fitting the header are measured with the twin's files.
FONT_NAME = "Times New Roman"
PDF_FONT_FAMILY = "LiberationSerif"  # the metric-compatible twin embedded in the PDF
FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
FONT_FILES = {
    (False, False): "LiberationSerif-Regular.ttf",
    (True, False): "LiberationSerif-Bold.ttf",
    (False, True): "LiberationSerif-Italic.ttf",
    (True, True): "LiberationSerif-BoldItalic.ttf",
}

MM = 36000  # EMU per millimetre


@dataclass(frozen=True)
class PageProfile:
    """Paper and margins (millimetres) of one kind of document, with allowed ranges."""

    name: str
    width_mm: float
    height_mm: float
    top_mm: float
    bottom_mm: float
    left_mm: float
    right_mm: float
    top_range: tuple[float, float]
    bottom_range: tuple[float, float]
    left_range: tuple[float, float]
    right_range: tuple[float, float]
    min_header_size: float  # smallest size the header may shrink to so each item fits a line

    @property
    def text_width_mm(self) -> float:
        return self.width_mm - self.left_mm - self.right_mm


# A4 per Phụ lục I: top/bottom 20-25, left 30-35, right 15-20 mm.
A4 = PageProfile("A4", 210, 297, 20, 20, 30, 15, (20, 25), (20, 25), (30, 35), (15, 20), 12)
# The one-stop forms are A5 (Thông tư 03/2025/TT-VPCP); the decree gives no A5 margins,
# so they are scaled down and checked against their own (configurable) ranges.
A5 = PageProfile("A5", 148, 210, 15, 15, 20, 10, (10, 20), (10, 20), (15, 25), (8, 15), 10)

PROFILES = {"A4": A4, "A5": A5}


@dataclass(frozen=True)
class Look:
    """Expected formatting of one component: size range (pt), bold, italic, upper case."""

    sizes: tuple[float, float]
    bold: bool | None = None
    italic: bool | None = None
    upper: bool = False


# Component styles (paragraph style names used as markers in every template) -> look.
# Sizes are those of an A4 document; A5 forms scale them down (FORM_SIZE_DELTA).
COMPONENTS: dict[str, Look] = {
    "MC Parent": Look((12, 13), bold=False, italic=False, upper=True),
    "MC Issuer": Look((12, 13), bold=True, italic=False, upper=True),
    "MC Number": Look((13, 13), bold=False, italic=False),
    "MC Nation": Look((12, 13), bold=True, italic=False, upper=True),
    "MC Motto": Look((13, 14), bold=True, italic=False),
    "MC Date": Look((13, 14), bold=False, italic=True),
    "MC Type": Look((13, 14), bold=True, italic=False, upper=True),
    "MC Summary": Look((13, 14), bold=True, italic=False),
    "MC Authority": Look((13, 14), bold=True, italic=False, upper=True),
    "MC Basis": Look((13, 14), bold=False, italic=True),
    "MC Body": Look((13, 14), italic=False),
    "MC Part": Look((13, 14), bold=True, italic=False),
    "MC Item": Look((13, 14), italic=False),
    "MC Recipients Head": Look((12, 12), bold=True, italic=True),
    "MC Recipient": Look((11, 11), bold=False, italic=False),
    "MC Sign Authority": Look((13, 14), bold=True, italic=False, upper=True),
    "MC Signer": Look((13, 14), bold=True, italic=False),
    "MC Appendix": Look((13, 14), bold=True, italic=False, upper=True),
    "MC Appendix Title": Look((13, 14), bold=True, italic=False),
    "MC Appendix Note": Look((13, 14), bold=False, italic=True),
}
FORM_SIZE_DELTA = 3.0  # A5 forms (A4 scaled by 0.7): every size is this much smaller
MIN_RUN_PT = 10.0  # nothing on any paper is set smaller than this
MIN_BODY_PT = 11.0  # running text (body, bases, items) on any paper


def sized(a4_size: float, profile: PageProfile) -> float:
    """The size of a component on `profile`: A4 as the decree gives it; A5 forms a step
    smaller but never below MIN_RUN_PT (body text stays at 11 pt)."""
    if profile.name == "A4":
        return a4_size
    return max(a4_size - FORM_SIZE_DELTA, MIN_RUN_PT)

TYPE_ABBREVIATIONS = {
    "QĐ": "QUYẾT ĐỊNH",
    "KH": "KẾ HOẠCH",
    "BC": "BÁO CÁO",
    "TB": "THÔNG BÁO",
    "TTr": "TỜ TRÌNH",
    "CTr": "CHƯƠNG TRÌNH",
    "HD": "HƯỚNG DẪN",
    "BB": "BIÊN BẢN",
    "GM": "GIẤY MỜI",
}

DRAFT_GAP = " " * 6  # what stands in for the number on a draft: "Số:      /KH-UBND"


def format_number(number: int | None) -> str:
    """07 below 10; the blank gap of a draft when there is no number yet."""
    if number is None:
        return DRAFT_GAP
    return f"{number:02d}"


def symbol(type_code: str, body_abbreviation: str, unit: str = "") -> str:
    """`KH-UBND`; a công văn has no type code: `UBND-VX`."""
    if type_code:
        return f"{type_code}-{body_abbreviation}"
    return f"{body_abbreviation}-{unit}" if unit else body_abbreviation


def number_line(number: int | None, type_code: str, body_abbreviation: str,
                unit: str = "") -> str:
    return f"Số: {format_number(number)}/{symbol(type_code, body_abbreviation, unit)}"


NUMBER_LINE_RE = re.compile(r"^Số: (?:(?P<n>\d{2,})| {3,})/(?P<sym>[A-Za-zĐđ]+(?:-[A-Za-zĐđ]+)*)$")


def date_words(day: dt.date) -> str:
    """`ngày 05 tháng 01 năm 2020`: days below 10 and months 1-2 get a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def date_line(place: str, day: dt.date) -> str:
    return f"{place}, {date_words(day)}"


DATE_LINE_RE = re.compile(
    r"^(?P<place>[^,]+), ngày (?P<d>\d{2}) tháng (?P<m>\d{1,2}) năm (?P<y>\d{4})$")


def date_line_ok(text: str) -> bool:
    """The date-line rule: a valid date, day two digits, month 01/02 padded, 3-12 not."""
    m = DATE_LINE_RE.match(text)
    if not m:
        return False
    day, month, year = int(m["d"]), int(m["m"]), int(m["y"])
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    expected_month = f"{month:02d}" if month < 3 else str(month)
    return m["m"] == expected_month


def short_date(day: dt.date) -> str:
    """A date inside running text as the references write it: `09/6/2025`, `07/01/2025`
    (day two digits; months 1 and 2 padded as on the date line, the others not)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d}/{month}/{day.year}"


ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
         (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def roman(n: int) -> str:
    out = []
    for value, letters in ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


# Points are lettered in Vietnamese alphabetical order (no f, j, w, z; đ after d).
POINT_LETTERS = ["a", "b", "c", "d", "đ", "e", "g", "h", "i", "k", "l", "m", "n", "o", "p",
                 "q", "r", "s", "t", "u", "v", "x", "y"]


def point_letter(i: int) -> str:
    return POINT_LETTERS[i] if i < len(POINT_LETTERS) else f"{POINT_LETTERS[-1]}{i}"


def fix_bases(lines: list[str]) -> list[str]:
    """"Căn cứ …" lines end with `;`, the last with `.`."""
    cleaned = [line.strip().rstrip(";.,").rstrip() for line in lines]
    return [line + ("." if i == len(cleaned) - 1 else ";") for i, line in enumerate(cleaned)]


def fix_recipients(recipients: list[str], archive: str) -> list[str]:
    """`- …;` for each recipient, the last `- Lưu: VT, <unit>.`"""
    out = [f"- {r.strip().lstrip('-').strip().rstrip(';.')};" for r in recipients]
    archive = archive.strip().rstrip(".")
    if not archive.startswith("Lưu"):
        archive = f"Lưu: {archive}"
    out.append(f"- {archive}.")
    return out


@cache
def _ttfont(bold: bool, italic: bool) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"motcua-serif-{int(bold)}{int(italic)}"
    pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / FONT_FILES[(bold, italic)])))
    return name


def text_width_mm(text: str, size: float, bold: bool = False, italic: bool = False) -> float:
    """Width of `text` set in the document font, from the font's own metrics."""
    from reportlab.pdfbase import pdfmetrics

    points = float(pdfmetrics.stringWidth(text, _ttfont(bold, italic), size))
    return points / 72 * 25.4
