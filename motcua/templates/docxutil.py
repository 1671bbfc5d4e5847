"""Low-level WordprocessingML helpers shared by the template builder and the renderer.

python-docx covers paragraphs and runs; table grids, borders, cell widths, section
page numbering and paragraph rules need a little raw XML, gathered here.
"""

from __future__ import annotations

from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm

TWIPS_PER_MM = 1440 / 25.4


def twips(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


def set_el(parent: Any, tag: str, **attrs: str) -> Any:
    """Get or create child `tag` of `parent` and set its w: attributes."""
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def table_layout(table: Any, widths_mm: list[float], *, borders: bool, indent_mm: float = 0,
                 cell_margin_mm: float = 1.5) -> None:
    """Fixed layout with an explicit grid (LibreOffice ignores cell widths without it)."""
    tbl = table._tbl
    tbl_pr = tbl.tblPr
    total = sum(widths_mm)
    set_el(tbl_pr, "w:tblW", w=str(twips(total)), type="dxa")
    set_el(tbl_pr, "w:tblInd", w=str(twips(indent_mm)), type="dxa")
    set_el(tbl_pr, "w:tblLayout", type="fixed")
    old = tbl_pr.find(qn("w:tblBorders"))
    if old is not None:
        tbl_pr.remove(old)
    tbl_borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        b = OxmlElement(f"w:{side}")
        if borders:
            b.set(qn("w:val"), "single")
            b.set(qn("w:sz"), "4")
            b.set(qn("w:space"), "0")
            b.set(qn("w:color"), "000000")
        else:
            b.set(qn("w:val"), "nil")
        tbl_borders.append(b)
    tbl_pr.append(tbl_borders)
    old = tbl_pr.find(qn("w:tblCellMar"))
    if old is not None:
        tbl_pr.remove(old)
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), str(twips(cell_margin_mm)))
        m.set(qn("w:type"), "dxa")
        mar.append(m)
    tbl_pr.append(mar)
    grid = tbl.tblGrid
    for col in list(grid):
        grid.remove(col)
    for w in widths_mm:
        col = OxmlElement("w:gridCol")
        col.set(qn("w:w"), str(twips(w)))
        grid.append(col)
    for row in table.rows:
        cells = row._tr.findall(qn("w:tc"))
        i = 0
        for tc in cells:
            tc_pr = tc.get_or_add_tcPr()
            span_el = tc_pr.find(qn("w:gridSpan"))
            span = int(span_el.get(qn("w:val"))) if span_el is not None else 1
            w = sum(widths_mm[i:i + span])
            set_el(tc_pr, "w:tcW", w=str(twips(w)), type="dxa")
            i += span


def grid_widths_mm(table: Any) -> list[float]:
    cols = table._tbl.tblGrid.findall(qn("w:gridCol"))
    return [int(c.get(qn("w:w"))) / TWIPS_PER_MM for c in cols]


def repeat_header(row: Any) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    set_el(tr_pr, "w:tblHeader", val="true")
    set_el(tr_pr, "w:cantSplit", val="true")


def keep_row_together(row: Any) -> None:
    """The row (a signature block) moves to the next page whole rather than split."""
    set_el(row._tr.get_or_add_trPr(), "w:cantSplit", val="true")


def merge_row(row: Any, start: int, span: int) -> None:
    """Merge `span` cells of a row starting at `start` into one gridSpan cell."""
    tr = row._tr
    tcs = tr.findall(qn("w:tc"))
    first = tcs[start]
    for tc in tcs[start + 1:start + span]:
        tr.remove(tc)
    set_el(first.get_or_add_tcPr(), "w:gridSpan", val=str(span))


def rule_border(paragraph: Any, *, side: str = "top", size_eighths: int = 6) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    bdr = p_pr.find(qn("w:pBdr"))
    if bdr is None:
        bdr = OxmlElement("w:pBdr")
        # pBdr must precede spacing/ind/jc in CT_PPr order
        pstyle = p_pr.find(qn("w:pStyle"))
        if pstyle is None:
            p_pr.insert(0, bdr)
        else:
            pstyle.addnext(bdr)
    b = OxmlElement(f"w:{side}")
    b.set(qn("w:val"), "single")
    b.set(qn("w:sz"), str(size_eighths))
    b.set(qn("w:space"), "1")
    b.set(qn("w:color"), "000000")
    bdr.append(b)


def set_indents(paragraph: Any, left_mm: float, right_mm: float) -> None:
    fmt = paragraph.paragraph_format
    fmt.left_indent = Mm(max(left_mm, 0))
    fmt.right_indent = Mm(max(right_mm, 0))
    fmt.first_line_indent = Mm(0)


def add_page_field(paragraph: Any) -> None:
    """A PAGE field (its cached result is replaced by the page number on layout)."""
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), " PAGE ")
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "2"
    r.append(t)
    fld.append(r)
    paragraph._p.append(fld)


def section_restart_numbering(section: Any, start: int = 1) -> None:
    sect_pr = section._sectPr
    pg = sect_pr.find(qn("w:pgNumType"))
    if pg is None:
        pg = OxmlElement("w:pgNumType")
        # keep schema order: pgNumType comes after pgMar/paperSrc/pgBorders/lnNumType
        anchor = sect_pr.find(qn("w:pgMar"))
        if anchor is not None:
            anchor.addnext(pg)
        else:
            sect_pr.append(pg)
    pg.set(qn("w:start"), str(start))


def style_id(name: str) -> str:
    return name.replace(" ", "")


def set_pstyle(paragraph: Any, name: str) -> None:
    """Reference a style by id without looking it up (for subdocuments)."""
    p_pr = paragraph._p.get_or_add_pPr()
    set_el(p_pr, "w:pStyle", val=style_id(name))
    # pStyle must be the first child of pPr
    el = p_pr.find(qn("w:pStyle"))
    p_pr.remove(el)
    p_pr.insert(0, el)
