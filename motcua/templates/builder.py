"""Build the shipped DOCX templates with python-docx.

The templates are ordinary Word documents with docxtpl (Jinja) tags; staff may open
and edit them. Every component paragraph carries a named style ("MC Issuer",
"MC Basis", ...) that holds its formatting and lets the renderer and the layout check
find it. Run `python -m motcua.templates.builder` to rebuild motcua/templates/shipped/.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from motcua.templates import docxutil as X
from motcua.templates.rules import A4, A5, FONT_NAME, PageProfile, sized

SHIPPED_DIR = Path(__file__).parent / "shipped"

CENTER = WD_ALIGN_PARAGRAPH.CENTER
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY
LEFT = WD_ALIGN_PARAGRAPH.LEFT

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TASK_COLUMNS = ["TT", "Nội dung", "Cơ quan chủ trì", "Cơ quan phối hợp",
                "Thời gian hoàn thành", "Sản phẩm"]
# landscape A4 bound at its top edge: 297 - 20 - 20 = 257 mm of text width
TASK_WIDTHS_MM = [12.0, 90.0, 41.0, 41.0, 33.0, 40.0]

# name -> (size, bold, italic, align, first-line indent mm, space before, space after)
StyleDef = tuple[float, bool, bool, Any, float, float, float]
STYLES: dict[str, StyleDef] = {
    "MC Parent": (13, False, False, CENTER, 0, 0, 0),
    "MC Issuer": (13, True, False, CENTER, 0, 0, 0),
    "MC Rule": (1, False, False, CENTER, 0, 0, 0),
    "MC Number": (13, False, False, CENTER, 0, 6, 0),
    "MC Nation": (12, True, False, CENTER, 0, 0, 0),
    "MC Motto": (13, True, False, CENTER, 0, 0, 0),
    "MC Date": (13, False, True, CENTER, 0, 6, 0),
    "MC Type": (14, True, False, CENTER, 0, 18, 0),
    "MC Summary": (14, True, False, CENTER, 0, 0, 0),
    "MC Authority": (14, True, False, CENTER, 0, 12, 6),
    "MC Addressee": (14, False, False, CENTER, 0, 6, 6),
    "MC Basis": (14, False, True, JUSTIFY, 12.7, 0, 6),
    "MC Body": (14, False, False, JUSTIFY, 12.7, 0, 6),
    "MC Part": (14, True, False, JUSTIFY, 12.7, 6, 6),
    "MC Item": (14, False, False, JUSTIFY, 12.7, 0, 6),
    "MC Figure": (14, False, False, CENTER, 0, 6, 0),
    "MC Caption": (13, False, True, CENTER, 0, 0, 6),
    "MC Cell": (12, False, False, LEFT, 0, 2, 2),
    "MC Cell Head": (12, True, False, CENTER, 0, 2, 2),
    "MC Recipients Head": (12, True, True, LEFT, 0, 0, 0),
    "MC Recipient": (11, False, False, LEFT, 0, 0, 0),
    "MC Sign Authority": (13, True, False, CENTER, 0, 0, 0),
    "MC Sign Note": (13, False, True, CENTER, 0, 0, 0),
    "MC Spacer": (14, False, False, CENTER, 0, 0, 0),
    "MC Signer": (14, True, False, CENTER, 0, 0, 0),
    "MC Appendix": (14, True, False, CENTER, 0, 0, 0),
    "MC Appendix Title": (14, True, False, CENTER, 0, 0, 0),
    "MC Appendix Note": (14, False, True, CENTER, 0, 0, 12),
    "MC Page": (13, False, False, CENTER, 0, 0, 0),
    "MC Break": (1, False, False, LEFT, 0, 0, 0),
}


def _force_font(doc: Any) -> None:
    """Every style and the document defaults name the one font, no theme fonts."""
    styles = doc.styles.element
    for rfonts in styles.iter(qn("w:rFonts")):
        for attr in list(rfonts.attrib):
            del rfonts.attrib[attr]
        for a in ("ascii", "hAnsi", "cs", "eastAsia"):
            rfonts.set(qn(f"w:{a}"), FONT_NAME)
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    X.set_el(rpr, "w:rFonts", ascii=FONT_NAME, hAnsi=FONT_NAME, cs=FONT_NAME, eastAsia=FONT_NAME)
    X.set_el(rpr, "w:lang", val="vi-VN", eastAsia="vi-VN", bidi="ar-SA")


def _define_styles(doc: Any, profile: PageProfile) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.font.size = Pt(sized(14, profile))
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    for name, (size, bold, italic, align, indent, before, after) in STYLES.items():
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = normal
        st.quick_style = True
        st.font.name = FONT_NAME
        # rules and breaks are 1-pt carriers of a border or a section, never of text
        st.font.size = Pt(size if size < 5 else sized(size, profile))
        st.font.bold = bold
        st.font.italic = italic
        pf = st.paragraph_format
        pf.alignment = align
        pf.first_line_indent = Mm(indent)
        pf.space_before = Pt(before)
        pf.space_after = Pt(after)
        # single to 1.5 lines (Phụ lục I); the A5 forms take single to stay on their page
        body = name in ("MC Body", "MC Basis", "MC Item", "MC Part")
        pf.line_spacing = 1.15 if body and profile is A4 else 1.0
        if name in ("MC Part", "MC Type", "MC Summary", "MC Appendix", "MC Appendix Title",
                    "MC Appendix Note", "MC Recipients Head"):
            pf.keep_with_next = True  # headings stay with what follows them
        if name == "MC Break":
            pf.line_spacing = Pt(1)
        if name == "MC Rule":
            pf.line_spacing = Pt(2)
            pf.space_before = Pt(4 if profile is A4 else 3)
            pf.space_after = Pt(3 if profile is A4 else 2)
    _force_font(doc)


def _p(container: Any, style: str, text: str = "", *, bold: bool | None = None) -> Any:
    para = container.add_paragraph(style=style)
    if text:
        run = para.add_run(text)
        if bold is not None:
            run.bold = bold
    return para


def _first_p(cell: Any, style: str, text: str) -> Any:
    para = cell.paragraphs[0]
    para.style = cell.part.document.styles[style]
    para.add_run(text)
    return para


def _rule(container: Any) -> Any:
    para = _p(container, "MC Rule")
    X.rule_border(para)
    return para


def _page(section: Any, profile: PageProfile, landscape: bool = False) -> None:
    w, h = profile.width_mm, profile.height_mm
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(h), Mm(w)
        # A landscape page is bound by its top edge, turned to the spine with the portrait
        # pages' left edges: the binding (wide) margin goes to the top, the portrait top
        # and bottom margins to the sides.
        section.top_margin, section.bottom_margin = Mm(profile.left_mm), Mm(profile.right_mm)
        section.left_margin, section.right_margin = Mm(profile.top_mm), Mm(profile.bottom_mm)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(w), Mm(h)
        section.top_margin, section.bottom_margin = Mm(profile.top_mm), Mm(profile.bottom_mm)
        section.left_margin, section.right_margin = Mm(profile.left_mm), Mm(profile.right_mm)
    section.header_distance = Mm(min(10, profile.top_mm / 2))
    section.footer_distance = Mm(min(10, profile.bottom_mm / 2))
    # page numbers centred at the top, from page 2: the first page has an empty header
    section.different_first_page_header_footer = True


def _new(profile: PageProfile) -> Any:
    doc = Document()
    _define_styles(doc, profile)
    section = doc.sections[0]
    _page(section, profile)
    header = section.header
    header.is_linked_to_previous = False
    hp = header.paragraphs[0]
    hp.style = doc.styles["MC Page"]
    X.add_page_field(hp)
    section.first_page_header.is_linked_to_previous = False
    # drop the empty paragraph python-docx starts with
    body = doc.element.body
    for p in body.findall(qn("w:p")):
        body.remove(p)
    return doc


def _header(doc: Any, profile: PageProfile, *, number: bool = True,
            parent: bool = True, qr: bool = False) -> None:
    """Two borderless columns in two rows: the bodies and the national motto above,
    `Số: …` and the date line below, so those two always start on the same line
    whatever either column holds above them. The renderer fits widths and rules to the
    actual text. The A5 forms leave out the parent body: there is no room for it."""
    table = doc.add_table(rows=2, cols=2)
    left, right = table.rows[0].cells
    if parent:
        _first_p(left, "MC Parent", "{{ agency.parent_body }}")
        _p(left, "MC Issuer", "{{ agency.issuing_body }}")
    else:
        _first_p(left, "MC Issuer", "{{ agency.issuing_body }}")
    _rule(left)
    _first_p(right, "MC Nation", NATION)
    _p(right, "MC Motto", MOTTO)
    _rule(right)
    below_left, below_right = table.rows[1].cells
    if number:
        _first_p(below_left, "MC Number", "{{ number_line }}")
    elif qr:  # no number: the dossier code as a QR code at the top left (Thông tư 01/2023)
        _first_p(below_left, "MC Figure", "{{ qr }}")
    _first_p(below_right, "MC Date", "{{ date_line }}")
    tw = profile.text_width_mm
    X.table_layout(table, [tw * 0.42, tw * 0.58], borders=False)


def _title(doc: Any, type_text: str) -> None:
    _p(doc, "MC Type", type_text)
    _p(doc, "MC Summary", "{{ summary }}")
    _rule(doc)


def _loop(container: Any, expr: str, style: str, text: str) -> None:
    _p(container, "MC Body", "{%p " + expr + " %}")
    _p(container, style, text)
    _p(container, "MC Body", "{%p endfor %}")


def _blocks(doc: Any, var: str = "blocks") -> None:
    """The body: a list of typed blocks, each kind with its own styled paragraph."""
    _p(doc, "MC Body", "{%p for b in " + var + " %}")
    _p(doc, "MC Body", "{%p if b.k == 'part' %}")
    _p(doc, "MC Part", "{{ b.text }}")
    _p(doc, "MC Body", "{%p elif b.k == 'heading' %}")
    # a heading never ends a page: it goes with the first line of its content
    _p(doc, "MC Item", "{{ b.text }}", bold=True).paragraph_format.keep_with_next = True
    _p(doc, "MC Body", "{%p elif b.k == 'article' %}")
    art = _p(doc, "MC Item", "{{ b.label }}", bold=True)
    art.add_run(" {{ b.text }}").bold = False
    _p(doc, "MC Body", "{%p elif b.k == 'item' %}")
    _p(doc, "MC Item", "{{ b.text }}")
    _p(doc, "MC Body", "{%p elif b.k == 'table' %}")
    _p(doc, "MC Cell", "{{ b.marker }}")  # replaced by the table after rendering
    _p(doc, "MC Body", "{%p elif b.k == 'image' %}")
    _p(doc, "MC Figure", "{{ b.image }}")
    _p(doc, "MC Body", "{%p elif b.k == 'caption' %}")
    _p(doc, "MC Caption", "{{ b.text }}")
    _p(doc, "MC Body", "{%p elif b.k == 'center' %}")
    _p(doc, "MC Addressee", "{{ b.text }}")
    _p(doc, "MC Body", "{%p else %}")
    _p(doc, "MC Body", "{{ b.text }}")
    _p(doc, "MC Body", "{%p endif %}")
    _p(doc, "MC Body", "{%p endfor %}")


def _signature(doc: Any, profile: PageProfile) -> None:
    # the spacer holds on to the signature table; the renderer ties the last lines of
    # the body to the spacer, so the signature never starts a page alone
    _p(doc, "MC Spacer").paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    first.style = doc.styles["MC Recipients Head"]
    first.add_run("{%p if recipients %}")
    _p(left, "MC Recipients Head", "Nơi nhận:")
    _loop(left, "for r in recipients", "MC Recipient", "{{ r }}")
    _p(left, "MC Recipient", "{%p endif %}")
    _p(left, "MC Recipient")
    rp = right.paragraphs[0]
    rp.style = doc.styles["MC Sign Authority"]
    rp.add_run("{%p for a in sign.lines %}")
    _p(right, "MC Sign Authority", "{{ a }}")
    _p(right, "MC Sign Authority", "{%p endfor %}")
    _p(right, "MC Sign Note", "{%p if sign.note %}")
    _p(right, "MC Sign Note", "{{ sign.note }}")
    _p(right, "MC Sign Note", "{%p endif %}")
    for _ in range(4):
        _p(right, "MC Spacer")
    _p(right, "MC Signer", "{{ sign.name }}")
    tw = profile.text_width_mm
    X.table_layout(table, [tw * 0.45, tw * 0.55], borders=False, cell_margin_mm=0.5)
    X.keep_row_together(table.rows[0])
    # a Nơi nhận longer than a page: "Như danh sách kèm theo", the list on its own page
    _p(doc, "MC Body", "{%p if recipients_list %}")
    # on a new page in any case; the renderer makes it a section numbered on its own
    _p(doc, "MC Appendix", "DANH SÁCH NƠI NHẬN").paragraph_format.page_break_before = True
    _p(doc, "MC Appendix Note", "{{ recipients_list.note }}")
    _loop(doc, "for r in recipients_list.names", "MC Item", "{{ r }}")
    _p(doc, "MC Body", "{%p endif %}")


def _task_table(doc: Any, var: str) -> None:
    ncols = len(TASK_COLUMNS)
    table = doc.add_table(rows=1, cols=ncols)
    head = table.rows[0]
    for cell, label in zip(head.cells, TASK_COLUMNS, strict=True):
        _first_p(cell, "MC Cell Head", label)
    X.repeat_header(head)

    def tag_row(tag: str) -> None:
        table.add_row().cells[0].paragraphs[0].add_run("{%tr " + tag + " %}")

    tag_row("for g in " + var + ".groups")
    tag_row("if g.title")
    group = table.add_row()
    _first_p(group.cells[0], "MC Cell Head", "{{ g.roman }}")
    _first_p(group.cells[1], "MC Cell", "{{ g.title }}").runs[0].bold = True
    X.merge_row(group, 1, ncols - 1)
    X.keep_row_together(group)
    tag_row("endif")
    tag_row("for t in g.tasks")
    item = table.add_row()
    X.keep_row_together(item)
    for cell, key in zip(item.cells, ["no", "content", "lead", "partners", "deadline",
                                      "product"], strict=True):
        para = _first_p(cell, "MC Cell Head" if key == "no" else "MC Cell", "{{ t." + key + " }}")
        para.runs[0].bold = False
    tag_row("endfor")
    tag_row("endfor")
    X.table_layout(table, TASK_WIDTHS_MM, borders=True, cell_margin_mm=1.2)


def _new_section(doc: Any) -> Any:
    """A section break whose paragraph is 1 pt high, so it never spills onto a page."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    body = doc.element.body
    for p in reversed(body.findall(qn("w:p"))):
        ppr = p.find(qn("w:pPr"))
        if ppr is not None and ppr.find(qn("w:sectPr")) is not None:
            X.set_el(ppr, "w:pStyle", val=X.style_id("MC Break"))
            ppr.remove(ppr.find(qn("w:pStyle")))
            ppr.insert(0, X.set_el(ppr, "w:pStyle", val=X.style_id("MC Break")))
            break
    return section


def _appendix(doc: Any, profile: PageProfile, var: str, *, heading: bool = True) -> None:
    """A landscape section numbered on its own, with the task table."""
    section = _new_section(doc)
    _page(section, profile, landscape=True)
    X.section_restart_numbering(section)
    if heading:
        _p(doc, "MC Appendix", "PHỤ LỤC")
    _p(doc, "MC Appendix Title", "{{ " + var + ".title }}")
    _p(doc, "MC Appendix Note", "{{ " + var + ".note }}")
    _task_table(doc, var)


def build_ke_hoach() -> Any:
    doc = _new(A4)
    _header(doc, A4)
    _title(doc, "KẾ HOẠCH")
    _loop(doc, "for line in bases", "MC Basis", "{{ line }}")
    _blocks(doc)
    _signature(doc, A4)
    _appendix(doc, A4, "appendix")
    return doc


def build_quyet_dinh() -> Any:
    doc = _new(A4)
    _header(doc, A4)
    _title(doc, "QUYẾT ĐỊNH")
    _p(doc, "MC Authority", "{{ authority }}")
    _loop(doc, "for line in bases", "MC Basis", "{{ line }}")
    _p(doc, "MC Authority", "QUYẾT ĐỊNH:")
    _blocks(doc)
    _signature(doc, A4)
    return doc


def build_quyet_dinh_ke_hoach() -> Any:
    doc = build_quyet_dinh()
    # the attached plan: its own portrait section, numbered on its own
    section = _new_section(doc)
    _page(section, A4)
    X.section_restart_numbering(section)
    _p(doc, "MC Type", "KẾ HOẠCH")
    _p(doc, "MC Summary", "{{ plan.summary }}")
    _p(doc, "MC Appendix Note", "{{ plan.note }}")
    _rule(doc)
    _blocks(doc, "plan.blocks")
    _appendix(doc, A4, "plan.appendix", heading=False)
    return doc


def build_bao_cao() -> Any:
    doc = _new(A4)
    _header(doc, A4)
    _title(doc, "BÁO CÁO")
    _blocks(doc)
    _signature(doc, A4)
    return doc


def build_tiep_nhan() -> Any:
    """Form 01: receipt and appointment (A5). The dossier code is printed and given as a
    QR code beside the title; the renderer repeats the page for the second copy."""
    doc = _new(A5)
    _header(doc, A5, number=False, parent=False, qr=True)
    _p(doc, "MC Type", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    _p(doc, "MC Summary", "Mã hồ sơ: {{ dossier_code }}")
    _rule(doc)
    _p(doc, "MC Sign Note", "{{ copy_label }}")
    _blocks(doc)
    table = doc.add_table(rows=1, cols=2)
    for cell, (title_expr, name_expr) in zip(
        table.rows[0].cells,
        [("NGƯỜI NỘP HỒ SƠ", "{{ applicant_name }}"),
         ("NGƯỜI TIẾP NHẬN HỒ SƠ", "{{ sign.name }}")], strict=True):
        _first_p(cell, "MC Sign Authority", title_expr)
        _p(cell, "MC Sign Note", "(Ký và ghi rõ họ tên)")
        for _ in range(2):
            _p(cell, "MC Spacer")
        _p(cell, "MC Signer", name_expr)
    tw = A5.text_width_mm
    X.table_layout(table, [tw / 2, tw / 2], borders=False, cell_margin_mm=0.5)
    X.keep_row_together(table.rows[0])
    return doc


def build_form(title: str, *, number: bool, profile: PageProfile = A5,
               landscape: bool = False) -> Any:
    """A one-stop form (Thông tư 03/2025): header, title, the typed blocks (paragraphs,
    items, a data table), the signature block (none on a register)."""
    doc = _new(profile)
    if landscape:
        _page(doc.sections[0], profile, landscape=True)
    _header(doc, profile, number=number, parent=False)
    _title(doc, title)
    _blocks(doc)
    _signature(doc, profile)
    return doc


def build_xin_loi() -> Any:
    """Form 04: apology and new appointment for a late dossier (A5)."""
    doc = _new(A5)
    _header(doc, A5, parent=False)
    _p(doc, "MC Type", "VĂN BẢN XIN LỖI")
    _p(doc, "MC Summary", "Về việc chậm trả kết quả giải quyết hồ sơ")
    _rule(doc)
    _blocks(doc)
    _signature(doc, A5)
    return doc


BUILDERS: dict[str, Callable[[], Any]] = {
    "ke-hoach.docx": build_ke_hoach,
    "quyet-dinh.docx": build_quyet_dinh,
    "quyet-dinh-ke-hoach.docx": build_quyet_dinh_ke_hoach,
    "bao-cao.docx": build_bao_cao,
    "tiep-nhan.docx": build_tiep_nhan,
    "xin-loi.docx": build_xin_loi,
    "bo-sung.docx": lambda: build_form("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
                                       number=False),
    "tu-choi.docx": lambda: build_form("PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ",
                                       number=False),
    "dung-giai-quyet.docx": lambda: build_form("THÔNG BÁO", number=True),
    "kiem-soat.docx": lambda: build_form("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
                                         number=False),
    "so-theo-doi.docx": lambda: build_form("SỔ THEO DÕI HỒ SƠ", number=False, profile=A4,
                                           landscape=True),
}


def build_all(dest: Path = SHIPPED_DIR) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, build in BUILDERS.items():
        doc = build()
        doc.core_properties.author = "motcua"
        doc.core_properties.title = name.removesuffix(".docx")
        doc.core_properties.language = "vi-VN"
        path = dest / name
        doc.save(str(path))
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover - build script
    for p in build_all(Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED_DIR):
        print(p)
