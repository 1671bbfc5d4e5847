"""Layout check of a rendered DOCX against Nghị định 30/2020 (Phụ lục I).

`layout_problems(docx)` lists what is wrong (English, for developers and tests);
`layout_check(docx)` raises AssertionError listing them. It reads the DOCX itself:
page size and margins of every section, the font everywhere, the size/bold/italic
of every component (found by its "MC …" paragraph style), the number line, the date
line, the "Căn cứ" and "Nơi nhận" punctuation, the header table grid, page numbers;
Times New Roman named everywhere, no run below 10 pt (running text 11 pt or more),
`Số: …` level with the date line (the same header row), the header table inside the
margins, the signature block kept with the body before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml.ns import qn

from motcua.templates import rules

BODY_STYLES = ("MC Body", "MC Basis", "MC Item", "MC Part")
HEADER_STYLES = ("MC Parent", "MC Issuer", "MC Number", "MC Nation", "MC Motto", "MC Date")
FONT_ATTRS = ("ascii", "hAnsi", "cs", "eastAsia")
THEME_ATTRS = ("asciiTheme", "hAnsiTheme", "cstheme", "eastAsiaTheme")


@dataclass(frozen=True)
class Found:
    style: str
    text: str
    size: float
    bold: bool
    italic: bool


def _style_chain(style: Any) -> Iterator[Any]:
    while style is not None:
        yield style
        style = style.base_style


def _default_size(doc: Any) -> float:
    rpr = doc.styles.element.find(qn("w:docDefaults"))
    sz = rpr.find(f".//{qn('w:sz')}") if rpr is not None else None
    return int(sz.get(qn("w:val"))) / 2 if sz is not None else 10.0


def _eff_font(run: Any, para: Any, attr: str) -> Any:
    value = getattr(run.font, attr)
    if value is not None:
        return value
    for st in _style_chain(para.style):
        value = getattr(st.font, attr)
        if value is not None:
            return value
    return None


def _eff_para(para: Any, attr: str) -> Any:
    value = getattr(para.paragraph_format, attr)
    if value is not None:
        return value
    for st in _style_chain(para.style):
        value = getattr(st.paragraph_format, attr)
        if value is not None:
            return value
    return None


def _all_paragraphs(doc: Any) -> Iterator[Any]:
    """Body paragraphs and table-cell paragraphs, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(parent: Any, element: Any) -> Iterator[Any]:
        for child in element.iterchildren():
            if child.tag == qn("w:p"):
                yield Paragraph(child, parent)
            elif child.tag == qn("w:tbl"):
                table = Table(child, parent)
                for row in table.rows:
                    for cell in row.cells:
                        yield from walk(cell, cell._tc)

    yield from walk(doc, doc.element.body)


def components(doc: Any) -> list[Found]:
    out: list[Found] = []
    default = _default_size(doc)
    for para in _all_paragraphs(doc):
        name = para.style.name if para.style is not None else ""
        if not name.startswith("MC ") or not para.text.strip():
            continue
        runs = [r for r in para.runs if r.text.strip()]
        if not runs:
            continue
        sizes = [(_eff_font(r, para, "size") or None) for r in runs]
        size = min((s.pt if s is not None else default) for s in sizes)
        bold = all(bool(_eff_font(r, para, "bold")) for r in runs)
        italic = all(bool(_eff_font(r, para, "italic")) for r in runs)
        out.append(Found(name, para.text, float(size), bold, italic))
    return out


def _mm(length: Any) -> float:
    return float(length) / rules.MM


def _check_sections(doc: Any, profile: rules.PageProfile, problems: list[str]) -> None:
    for i, sec in enumerate(doc.sections):
        w, h = _mm(sec.page_width), _mm(sec.page_height)
        landscape = w > h
        exp_w, exp_h = ((profile.height_mm, profile.width_mm) if landscape
                        else (profile.width_mm, profile.height_mm))
        if abs(w - exp_w) > 1 or abs(h - exp_h) > 1:
            problems.append(f"section {i}: page {w:.0f}x{h:.0f} mm, expected "
                            f"{exp_w:.0f}x{exp_h:.0f} ({profile.name})")
        all_landscape = all(_mm(x.page_width) > _mm(x.page_height) for x in doc.sections)
        if i == 0 and landscape and not all_landscape:
            # a register is landscape throughout; a document that mixes starts portrait
            problems.append("section 0 is landscape; the document must start portrait")
        sides = (("top", profile.top_range), ("bottom", profile.bottom_range),
                 ("left", profile.left_range), ("right", profile.right_range))
        if landscape:  # bound by its top edge: the binding margin is at the top
            sides = (("top", profile.left_range), ("bottom", profile.right_range),
                     ("left", profile.top_range), ("right", profile.bottom_range))
        for side, rng in sides:
            value = _mm(getattr(sec, f"{side}_margin"))
            if not rng[0] - 0.5 <= value <= rng[1] + 0.5:
                problems.append(f"section {i}: {side} margin {value:.1f} mm outside {rng}")
        if not sec.different_first_page_header_footer:
            problems.append(f"section {i}: no separate first page (page number from page 2)")
        header_xml = sec.header._element.xml if sec.header is not None else ""
        if "PAGE" not in header_xml:
            problems.append(f"section {i}: the page header has no PAGE field")
        if "PAGE" in sec.first_page_header._element.xml:
            problems.append(f"section {i}: a page number on its first page")
        for para in sec.header.paragraphs:
            if (para.text.strip() or "PAGE" in para._p.xml) and \
                    _eff_para(para, "alignment") != 1:
                problems.append(f"section {i}: page number not centred")
        if i > 0:
            pg = sec._sectPr.find(qn("w:pgNumType"))
            if pg is None or pg.get(qn("w:start")) != "1":
                problems.append(f"section {i}: an appendix/attached part not numbered on "
                                "its own (no restart at 1)")


def _check_fonts(doc: Any, problems: list[str]) -> None:
    parts = [("styles", doc.styles.element), ("document", doc.element)]
    for sec in doc.sections:
        parts.append(("header", sec.header._element))
    for label, root in parts:
        for rfonts in root.iter(qn("w:rFonts")):
            for attr in THEME_ATTRS:
                if rfonts.get(qn(f"w:{attr}")) is not None:
                    problems.append(f"{label}: theme font {attr} used")
            for attr in FONT_ATTRS:
                value = rfonts.get(qn(f"w:{attr}"))
                if value is not None and value != rules.FONT_NAME:
                    problems.append(f"{label}: font {value!r} ({attr}), expected "
                                    f"{rules.FONT_NAME!r}")
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rf = defaults.find(f".//{qn('w:rFonts')}") if defaults is not None else None
    if rf is None or rf.get(qn("w:ascii")) != rules.FONT_NAME:
        problems.append("document defaults do not name the document font")


def _check_small_runs(doc: Any, problems: list[str]) -> None:
    """Nothing with text is set below MIN_RUN_PT, on any paper."""
    default = _default_size(doc)
    for para in _all_paragraphs(doc):
        for run in para.runs:
            if not run.text.strip():
                continue
            size = _eff_font(run, para, "size")
            pt = float(size.pt) if size is not None else default
            if pt < rules.MIN_RUN_PT - 0.01:
                problems.append(f"run {run.text[:30]!r} at {pt} pt, below "
                                f"{rules.MIN_RUN_PT} pt")


def _check_components(doc: Any, profile: rules.PageProfile, problems: list[str]) -> None:
    found = components(doc)
    names = {f.style for f in found}
    for required in ("MC Issuer", "MC Nation", "MC Motto", "MC Date", "MC Type",
                     "MC Signer"):
        if required not in names:
            problems.append(f"component {required} missing")
    for f in found:
        look = rules.COMPONENTS.get(f.style)
        if look is None:
            continue
        lo, hi = rules.sized(look.sizes[0], profile), rules.sized(look.sizes[1], profile)
        if f.style in BODY_STYLES:  # running text stays readable on any paper
            lo = max(lo, rules.MIN_BODY_PT)
        if f.style in HEADER_STYLES:
            lo = min(lo, profile.min_header_size)
        if not lo - 0.01 <= f.size <= hi + 0.01:
            problems.append(f"{f.style} {f.text[:40]!r}: size {f.size} outside {lo}-{hi}")
        if look.bold is not None and f.bold != look.bold:
            problems.append(f"{f.style} {f.text[:40]!r}: bold={f.bold}, expected {look.bold}")
        if look.italic is not None and f.italic != look.italic:
            problems.append(f"{f.style} {f.text[:40]!r}: italic={f.italic}, expected "
                            f"{look.italic}")
        if look.upper and f.text != f.text.upper():
            problems.append(f"{f.style} {f.text[:40]!r}: must be upper case")
    for f in found:
        if f.style == "MC Number" and not rules.NUMBER_LINE_RE.match(f.text):
            problems.append(f"number line {f.text!r} does not follow `Số: 07/KH-UBND`")
        if f.style == "MC Date" and not rules.date_line_ok(f.text):
            problems.append(f"date line {f.text!r} breaks the date rule "
                            "(ngày 05 tháng 01 năm 2020, ngày 16 tháng 7 năm 2025)")
    bases = [f.text for f in found if f.style == "MC Basis"]
    for i, text in enumerate(bases):
        end = "." if i == len(bases) - 1 else ";"
        if not text.rstrip().endswith(end):
            problems.append(f"basis line {i} must end with {end!r}: {text[-40:]!r}")
    recipients = [f.text for f in found if f.style == "MC Recipient"]
    if recipients:
        for i, text in enumerate(recipients):
            end = "." if i == len(recipients) - 1 else ";"
            if not text.startswith("- ") or not text.endswith(end):
                problems.append(f"recipient {text!r} must read `- …{end}`")
        if not recipients[-1].startswith("- Lưu:"):
            problems.append("the last recipient must be `- Lưu: VT, ….`")
        if not any(f.style == "MC Recipients Head" and f.text.strip() == "Nơi nhận:"
                   for f in found):
            problems.append("`Nơi nhận:` heading missing")
    for para in _all_paragraphs(doc):
        name = para.style.name if para.style is not None else ""
        if name in ("MC Body", "MC Basis", "MC Item", "MC Part") and para.text.strip():
            if _eff_para(para, "alignment") != 3:
                problems.append(f"{name} {para.text[:30]!r}: not justified")
            indent = _eff_para(para, "first_line_indent")
            if indent is None or not 9.9 <= _mm(indent) <= 12.8:
                problems.append(f"{name} {para.text[:30]!r}: first-line indent not 1-1.27 cm")
            after = _eff_para(para, "space_after")
            if after is None or after.pt < 6 - 0.01:
                problems.append(f"{name} {para.text[:30]!r}: less than 6 pt after")


def _check_header_table(doc: Any, problems: list[str]) -> None:
    if not doc.tables:
        problems.append("no header table")
        return
    tbl = doc.tables[0]._tbl
    grid = tbl.tblGrid.findall(qn("w:gridCol"))
    if len(grid) != 2 or any(int(g.get(qn("w:w")) or 0) <= 0 for g in grid):
        problems.append("header table without a two-column grid")
    layout = tbl.tblPr.find(qn("w:tblLayout"))
    if layout is None or layout.get(qn("w:type")) != "fixed":
        problems.append("header table layout not fixed")
    borders = tbl.tblPr.find(qn("w:tblBorders"))
    if borders is None or any(b.get(qn("w:val")) not in ("nil", "none") for b in borders):
        problems.append("header table has visible borders")
    widths = [int(g.get(qn("w:w")) or 0) / (1440 / 25.4) for g in grid]
    ind = tbl.tblPr.find(qn("w:tblInd"))
    indent = int(ind.get(qn("w:w")) or 0) / (1440 / 25.4) if ind is not None else 0.0
    sec = doc.sections[0]
    text_w = _mm(sec.page_width - sec.left_margin - sec.right_margin)
    if indent < -0.1 or indent + sum(widths) > text_w + 0.1:
        problems.append(f"header table runs outside the margins (indent {indent:.1f} mm, "
                        f"width {sum(widths):.1f} mm, text area {text_w:.1f} mm)")
    mar = tbl.tblPr.find(qn("w:tblCellMar"))
    margin = 0.0
    if mar is not None and mar.find(qn("w:left")) is not None:
        margin = int(mar.find(qn("w:left")).get(qn("w:w"))) / (1440 / 25.4)
    rows = doc.tables[0].rows
    placed: dict[str, tuple[int, int]] = {}  # style -> (row, position in its cell)
    for r, row in enumerate(rows):
        for col, cell in enumerate(row.cells[:len(widths)]):
            paras = list(cell.paragraphs)
            filled = [p for p in paras if p.text.strip()]
            for i, para in enumerate(paras):
                name = para.style.name if para.style is not None else ""
                if name in ("MC Number", "MC Date") and para.text.strip():
                    placed[name] = (r, filled.index(para))
                if name in HEADER_STYLES and para.text.strip():
                    runs = [r_ for r_ in para.runs if r_.text.strip()]
                    size = min(float((_eff_font(r_, para, "size") or para.style.font.size).pt)
                               for r_ in runs)
                    bold = bool(_eff_font(runs[0], para, "bold"))
                    italic = bool(_eff_font(runs[0], para, "italic"))
                    for line in para.text.split("\n"):
                        need = rules.text_width_mm(line, size, bold, italic)
                        if need > widths[col] - 2 * margin:
                            problems.append(
                                f"header item {line!r} ({need:.0f} mm) does not fit its "
                                f"column ({widths[col] - 2 * margin:.0f} mm) on one line")
                if name in ("MC Issuer", "MC Motto"):
                    nxt = paras[i + 1] if i + 1 < len(paras) else None
                    has_rule = nxt is not None and nxt.style is not None and \
                        nxt.style.name == "MC Rule" and \
                        nxt._p.find(f".//{qn('w:top')}") is not None
                    if not has_rule:
                        problems.append(f"no rule under {name}")
    if "MC Number" in placed and placed["MC Number"] != placed.get("MC Date"):
        problems.append("`Số: …` and the date line are not level (not the first line of "
                        "the same header row)")


def _check_signature_kept(doc: Any, problems: list[str]) -> None:
    """The signature block is tied to the body before it (keep-with-next on the body's
    last lines), so a page break never leaves it alone on a page."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = doc.element.body
    for el in body.iterchildren(qn("w:tbl")):
        table = Table(el, doc)
        styles = {p.style.name for r in table.rows for c in r.cells for p in c.paragraphs
                  if p.style is not None}
        if "MC Signer" not in styles or "MC Sign Authority" not in styles:
            continue
        prev = el.getprevious()
        chain = 0
        while prev is not None and prev.tag in (qn("w:p"), qn("w:tbl")):
            if prev.tag == qn("w:tbl"):
                last = Table(prev, doc).rows[-1].cells
                if all(_eff_para(p, "keep_with_next") for c in last for p in c.paragraphs):
                    chain += 1
                break
            para = Paragraph(prev, doc)
            if not _eff_para(para, "keep_with_next"):
                break
            if para.text.strip():
                chain += 1
            prev = prev.getprevious()
        if chain == 0:
            problems.append("the signature block is not kept with the body before it "
                            "(no keep-with-next): it may stand alone on a page")


def profile_of(doc: Any) -> rules.PageProfile:
    sec = doc.sections[0]
    short = min(_mm(sec.page_width), _mm(sec.page_height))
    return rules.A5 if abs(short - rules.A5.width_mm) < 2 else rules.A4


def layout_problems(docx: Path, profile: rules.PageProfile | None = None) -> list[str]:
    doc = Document(str(docx))
    profile = profile or profile_of(doc)
    problems: list[str] = []
    _check_sections(doc, profile, problems)
    _check_fonts(doc, problems)
    _check_header_table(doc, problems)
    _check_components(doc, profile, problems)
    _check_small_runs(doc, problems)
    _check_signature_kept(doc, problems)
    return problems


def layout_check(docx: Path, profile: rules.PageProfile | None = None) -> None:
    """Raise AssertionError naming every layout rule the DOCX breaks."""
    problems = layout_problems(docx, profile)
    if problems:
        raise AssertionError(f"{docx.name}: layout problems:\n  " + "\n  ".join(problems))
