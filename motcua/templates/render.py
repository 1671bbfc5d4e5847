"""Spec + agency settings + DOCX template -> DOCX, PDF/A-2b, empty signature field.

Order of work (each step reads the previous one's file): docxtpl fills the template;
python-docx fits the header to its text and drops parts the spec does not use; the
DOCX is saved; LibreOffice exports PDF/A-2b; the signature field is appended as an
incremental update; an optional PAdES signature is the very last step.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import shutil
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment

from motcua import db
from motcua.errors import UserError
from motcua.templates import docxutil as X
from motcua.templates import numbering, rules, sign
from motcua.templates.office import Converter, shared_converter
from motcua.templates.spec import MAX_NUMBER, MAX_NUMBER_VI, Spec, nfc
from motcua.workspace import AgencyConfig, Workspace

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "shipped"


@dataclass(frozen=True)
class KindInfo:
    template: str
    type_code: str  # number symbol type ("" for a công văn)
    type_name: str  # document type as printed / for metadata
    profile: rules.PageProfile
    numbered: bool = True


KIND_INFO: dict[str, KindInfo] = {
    "quyet-dinh": KindInfo("quyet-dinh.docx", "QĐ", "Quyết định", rules.A4),
    "ke-hoach": KindInfo("ke-hoach.docx", "KH", "Kế hoạch", rules.A4),
    "quyet-dinh-ke-hoach": KindInfo("quyet-dinh-ke-hoach.docx", "QĐ", "Quyết định", rules.A4),
    "bao-cao": KindInfo("bao-cao.docx", "BC", "Báo cáo", rules.A4),
    "tiep-nhan": KindInfo("tiep-nhan.docx", "", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                          rules.A5, numbered=False),
    "bo-sung": KindInfo("bo-sung.docx", "", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
                        rules.A5, numbered=False),
    "tu-choi": KindInfo("tu-choi.docx", "", "Phiếu từ chối tiếp nhận, giải quyết hồ sơ",
                        rules.A5, numbered=False),
    "xin-loi": KindInfo("xin-loi.docx", "", "Văn bản xin lỗi", rules.A5),
    "dung-giai-quyet": KindInfo("dung-giai-quyet.docx", "TB", "Thông báo dừng giải quyết hồ sơ",
                                rules.A5),
    "kiem-soat": KindInfo("kiem-soat.docx", "", "Phiếu kiểm soát quá trình giải quyết hồ sơ",
                          rules.A5, numbered=False),
    "so-theo-doi": KindInfo("so-theo-doi.docx", "", "Sổ theo dõi hồ sơ", rules.A4,
                            numbered=False),
}
# More recipients than this would push Nơi nhận past the page: they go to a list of
# their own, attached after the signature ("Như danh sách kèm theo").
RECIPIENTS_ON_PAGE = {"A4": 12, "A5": 6}
RECIPIENTS_LIST_TITLE = "DANH SÁCH NƠI NHẬN"
FORM_NUMBERS = {"tiep-nhan": "01", "bo-sung": "02", "tu-choi": "03", "xin-loi": "04",
                "dung-giai-quyet": "05", "kiem-soat": "06", "so-theo-doi": "07"}


@dataclass(frozen=True)
class RenderResult:
    """What the archive needs to take the rendered document in like a scan."""

    kind: str
    docx: Path
    pdf: Path
    signed: bool
    type_name: str
    number: int | None
    number_symbol: str  # "07/KH-UBND", or "/KH-UBND" on a draft
    issue_date: dt.date
    issuing_body: str
    summary: str
    signer: str
    page_count: int
    field_page: int
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """Minimum metadata of a document (Thông tư 01/2023 terms), JSON-ready."""
        data = asdict(self)
        data["docx"], data["pdf"] = str(self.docx), str(self.pdf)
        data["issue_date"] = self.issue_date.isoformat()
        return data


# ---------------------------------------------------------------- templates


def template_dirs(ws: Workspace | None) -> list[Path]:
    dirs = [ws.root / "templates"] if ws is not None else []
    return [*dirs, SHIPPED_DIR]


def list_templates(ws: Workspace | None) -> list[tuple[str, Path, bool]]:
    """(name, path, overridden by the workspace) for every shipped template."""
    out = []
    for shipped in sorted(SHIPPED_DIR.glob("*.docx")):
        path = find_template(ws, shipped.name)
        out.append((shipped.name, path, path != shipped))
    return out


def find_template(ws: Workspace | None, name: str) -> Path:
    if not name.endswith(".docx"):
        name += ".docx"
    for d in template_dirs(ws):
        p = d / name
        if p.is_file():
            return p
    names = ", ".join(p.name for p in sorted(SHIPPED_DIR.glob("*.docx")))
    raise UserError(f"Không có mẫu “{name}”. Các mẫu có sẵn: {names}.", f"no template {name}")


def export_template(ws: Workspace | None, name: str, dest: Path) -> Path:
    """Copy the shipped template to `dest` (a file or a folder) for staff to edit."""
    if not name.endswith(".docx"):
        name += ".docx"
    src = SHIPPED_DIR / name
    if not src.is_file():
        find_template(ws, name)  # raises the Vietnamese error
    target = dest / name if dest.is_dir() else dest
    shutil.copyfile(src, target)
    return target


# ---------------------------------------------------------------- context


def _agency(ws_agency: AgencyConfig, override: dict[str, Any]) -> dict[str, str]:
    base = {"parent_body": ws_agency.parent_body, "issuing_body": ws_agency.issuing_body,
            "abbreviation": ws_agency.abbreviation, "place_name": ws_agency.place_name}
    for k, v in (override or {}).items():
        if v is not None:
            base[k] = v
    base = {k: unicodedata.normalize("NFC", v) for k, v in base.items()}
    base["parent_body"] = base["parent_body"].upper()
    base["issuing_body"] = base["issuing_body"].upper()
    return base


_LEVELS = r" (?:XÃ|PHƯỜNG|THỊ TRẤN|ĐẶC KHU|HUYỆN|QUẬN|THỊ XÃ|THÀNH PHỐ|TỈNH)\b"


def collective_name(issuing_body: str) -> str:
    """`ỦY BAN NHÂN DÂN XÃ GIA LỘC` -> `ỦY BAN NHÂN DÂN` (for `TM. …`)."""
    m = re.search(_LEVELS, issuing_body)
    return issuing_body[:m.start()] if m else issuing_body


def sentence_name(issuing_body: str, place: str) -> str:
    """`ỦY BAN NHÂN DÂN XÃ GIA LỘC` -> `Ủy ban nhân dân xã Gia Lộc` (inside running text)."""
    text = issuing_body.lower()
    text = text[:1].upper() + text[1:]
    return text.replace(place.lower(), place) if place else text


def _signature(spec_sig: dict[str, Any], agency: dict[str, str],
               ws_agency: AgencyConfig) -> dict[str, Any]:
    form = spec_sig.get("form") or "TM"
    authority = spec_sig.get("authority") or ""
    title = spec_sig.get("title") or ""
    name = spec_sig.get("name") or ""
    lines = list(spec_sig.get("lines") or [])
    if not lines:
        if form == "TM":
            lines = [f"TM. {(authority or collective_name(agency['issuing_body'])).upper()}",
                     (title or ws_agency.chairman.title).upper()]
            name = name or ws_agency.chairman.name
        elif form == "KT":
            lines = [f"KT. {(authority or ws_agency.chairman.title).upper()}",
                     (title or ws_agency.vice_chairman.title).upper()]
            name = name or ws_agency.vice_chairman.name
        elif form == "TM-KT":
            # a deputy signs for the head on behalf of the collective, as communes sign
            # their reports: TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH
            lines = [f"TM. {collective_name(agency['issuing_body']).upper()}",
                     f"KT. {(authority or ws_agency.chairman.title).upper()}",
                     (title or ws_agency.vice_chairman.title).upper()]
            name = name or ws_agency.vice_chairman.name
        elif form in ("TL", "TUQ", "Q"):
            if not authority or not title or not name:
                raise UserError(
                    f"Nội dung văn bản không hợp lệ: trường “signature” với hình thức {form}. "
                    "cần đủ “authority”, “title” và “name”.", f"signature {form} incomplete")
            lines = [f"{form}. {authority.upper()}", title.upper()]
        else:
            lines = [(title or ws_agency.chairman.title).upper()]
            name = name or ws_agency.chairman.name
    if not name:
        raise UserError("Nội dung văn bản không hợp lệ: trường “signature.name” (họ tên người "
                        "ký) là bắt buộc.", "signature name missing")
    clean: dict[str, Any] = nfc({"lines": lines, "name": name, "title": lines[-1]})
    return clean


def _section_blocks(sections: list[dict[str, Any]], tpl: DocxTemplate, profile:
                    rules.PageProfile, base_dir: Path | None = None,
                    tables: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Flatten sections into typed blocks; data tables are collected into `tables`."""
    blocks: list[dict[str, Any]] = []
    if tables is None:
        tables = []
    for si, sec in enumerate(sections):
        blocks.append({"k": "part", "text": f"{rules.roman(si + 1)}. {sec['title']}"})
        blocks += [{"k": "para", "text": t} for t in sec["paragraphs"]]
        for ii, item in enumerate(sec["items"]):
            label = f"{ii + 1}."
            if item["title"]:
                blocks.append({"k": "heading", "text": f"{label} {item['title']}"})
                if item["text"]:
                    blocks.append({"k": "para", "text": item["text"]})
            else:
                blocks.append({"k": "item", "text": f"{label} {item['text']}"})
            blocks += [{"k": "item", "text": f"{rules.point_letter(pi)}) {p}"}
                       for pi, p in enumerate(item["points"])]
            blocks += [{"k": "para", "text": f"- {b}"} for b in item["bullets"]]
            blocks += [{"k": "para", "text": t} for t in item["paragraphs"]]
        for bi, block in enumerate(sec["blocks"]):
            if block.get("paragraph"):
                blocks.append({"k": "para", "text": block["paragraph"]})
            elif block.get("table"):
                blocks.append({"k": "table",
                               "marker": TABLE_MARK.format(len(tables)), "spec": block["table"]})
                tables.append(block["table"])
                if block["table"]["caption"]:
                    blocks.append({"k": "caption", "text": block["table"]["caption"]})
            elif block.get("image"):
                img = block["image"]
                path = Path(img["path"])
                if not path.is_absolute() and base_dir is not None:
                    path = base_dir / path
                if not path.is_file():
                    raise UserError(
                        f"Nội dung văn bản không hợp lệ: trường “sections[{si}].blocks[{bi}]"
                        f".image.path” trỏ tới tệp không có: {path}.", f"no image {path}")
                width = min(float(img["width_mm"]), profile.text_width_mm)
                blocks.append({"k": "image", "image": InlineImage(tpl, str(path),
                                                                   width=Mm(width))})
                if img["caption"]:
                    blocks.append({"k": "caption", "text": img["caption"]})
    return blocks


TABLE_MARK = "@@motcua-table-{}@@"


def _insert_tables(doc: Any, tables: list[dict[str, Any]], profile: rules.PageProfile) -> None:
    """Replace each table marker paragraph by a real bordered table (python-docx)."""
    if not tables:
        return
    marks = {TABLE_MARK.format(i): t for i, t in enumerate(tables)}
    for para in list(doc.paragraphs):
        spec_t = marks.get(para.text.strip())
        if spec_t is None:
            continue
        t = _build_table(doc, spec_t, profile)
        para._p.addprevious(t._tbl)
        _drop(para)


def _build_table(doc: Any, table: dict[str, Any], profile: rules.PageProfile) -> Any:
    columns: list[str] = table["columns"]
    rows: list[list[str]] = table["rows"]
    t = doc.add_table(rows=1 + len(rows), cols=len(columns))
    for cell, label in zip(t.rows[0].cells, columns, strict=True):
        para = cell.paragraphs[0]
        para.style = doc.styles["MC Cell Head"]
        para.add_run(label)
    X.repeat_header(t.rows[0])  # the header row repeats at the top of every page
    for r, row in enumerate(rows, start=1):
        X.keep_row_together(t.rows[r])  # a data row never splits across two pages
        total = r == len(rows) and (row[0] or "").strip().lower().startswith("tổng")
        for c, value in enumerate(row):
            para = t.rows[r].cells[c].paragraphs[0]
            para.style = doc.styles["MC Cell"]
            if c > 0 and re.fullmatch(r"[\d.,%\s-]+", value or ""):
                para.alignment = 2  # right-align figures
            run = para.add_run(value)
            if total:
                run.bold = True
    widths = table.get("widths_mm") or []
    tw = profile.text_width_mm
    if table.get("fit") and widths:
        # a form's own table spans the text width of whatever paper the form is on
        sec = doc.sections[0]
        tw = (sec.page_width - sec.left_margin - sec.right_margin) / rules.MM
        widths = [w * tw / sum(widths) for w in widths]
    if len(widths) != len(columns):
        first = min(45.0, tw * 0.3)
        rest = (tw - first) / max(len(columns) - 1, 1)
        widths = [first] + [rest] * (len(columns) - 1) if len(columns) > 1 else [tw]
    X.table_layout(t, [float(w) for w in widths], borders=True, cell_margin_mm=1.0)
    return t


def _appendix_ctx(appendix: dict[str, Any] | None) -> dict[str, Any] | None:
    if not appendix:
        return None
    groups = []
    named = 0
    for g in appendix["groups"]:
        if g["title"]:
            named += 1
        groups.append({"roman": rules.roman(named) if g["title"] else "",
                       "title": g["title"].upper() if g["title"] else "",
                       "tasks": [{**t, "no": str(i + 1)} for i, t in enumerate(g["tasks"])]})
    return {"title": appendix["title"], "note": appendix["note"], "groups": groups}


def _paren(text: str) -> str:
    text = text.strip()
    return text if not text or text.startswith("(") else f"({text})"


def _unit(spec: Spec) -> str:
    """The drafting unit in the symbol of a document without a type code (UBND-TTPVHCC)."""
    return str(spec.data.get("unit") or "") if spec.kind == "xin-loi" else ""


def build_context(spec: Spec, agency_cfg: AgencyConfig, number: int | None,
                  tpl: DocxTemplate) -> dict[str, Any]:
    d = spec.data
    info = KIND_INFO[spec.kind]
    agency = _agency(agency_cfg, d.get("agency") or {})
    unit = _unit(spec)
    ctx: dict[str, Any] = {
        "agency": agency,
        "number_line": rules.number_line(number, info.type_code, agency["abbreviation"], unit),
        "date_line": rules.date_line(agency["place_name"], d["date"]),
        "summary": d.get("summary") or "",
        "recipients": [],
        "recipients_list": None,
        "bases": [],
        "blocks": [],
        "_tables": [],
    }
    number_text = (f"{rules.format_number(number).strip()}/"
                   f"{rules.symbol(info.type_code, agency['abbreviation'], unit)}")
    in_text = f"{'số ' + number_text if number else 'số      /' + number_text.lstrip('/')}"
    body_name = sentence_name(agency["issuing_body"], agency["place_name"])
    ctx["sign"] = _signature(d.get("signature") or {}, agency, agency_cfg)
    if spec.kind not in FORM_NUMBERS or d.get("recipients") or d.get("archive"):
        recipients = list(d.get("recipients") or [])
        limit = RECIPIENTS_ON_PAGE[info.profile.name]
        wanted = d.get("recipients_list") or "auto"
        if recipients and (wanted == "yes" or (wanted == "auto" and len(recipients) > limit)):
            ctx["recipients_list"] = {
                "note": f"(Kèm theo {info.type_name} {in_text} "
                        f"{rules.date_words(d['date'])} của {body_name})",
                "names": [f"{i + 1}. {r.strip().lstrip('-').strip().rstrip(';.')}."
                          for i, r in enumerate(recipients)]}
            recipients = ["Như danh sách kèm theo"]
        ctx["recipients"] = rules.fix_recipients(recipients, d.get("archive") or "VT")
    profile = info.profile
    base_dir = Path(spec.source).parent if spec.source else None
    if spec.kind in ("ke-hoach", "bao-cao"):
        ctx["bases"] = rules.fix_bases(d["bases"]) if d["bases"] else []
        blocks = [{"k": "para", "text": t} for t in d["preamble"]]
        blocks += _section_blocks(d["sections"], tpl, profile, base_dir,
                                  ctx["_tables"])
        blocks += [{"k": "para", "text": t} for t in d["closing"]]
        ctx["blocks"] = blocks
        if spec.kind == "ke-hoach":
            app = _appendix_ctx(d.get("appendix"))
            if app is not None:
                app["title"] = app["title"] or ctx["summary"]
                app["note"] = _paren(app["note"] or (
                    f"Kèm theo Kế hoạch {in_text} {rules.date_words(d['date'])} "
                    f"của {body_name}"))
            ctx["appendix"] = app
    elif spec.kind in ("quyet-dinh", "quyet-dinh-ke-hoach"):
        ctx["authority"] = (d["authority"] or agency["issuing_body"]).upper()
        bases = list(d["bases"]) + ([d["proposal"]] if d["proposal"] else [])
        ctx["bases"] = rules.fix_bases(bases)
        blocks = []
        for ai, art in enumerate(d["articles"]):
            blocks.append({"k": "article", "label": f"Điều {ai + 1}.", "text": art["text"]})
            blocks += [{"k": "item", "text": f"{i + 1}. {t}"} for i, t in enumerate(art["items"])]
            blocks += [{"k": "item", "text": f"{rules.point_letter(i)}) {t}"}
                       for i, t in enumerate(art["points"])]
        ctx["blocks"] = blocks
        if spec.kind == "quyet-dinh-ke-hoach":
            plan = d["plan"]
            pblocks = [{"k": "para", "text": t} for t in plan["preamble"]]
            pblocks += _section_blocks(plan["sections"], tpl, profile, base_dir,
                                   ctx["_tables"])
            pblocks += [{"k": "para", "text": t} for t in plan["closing"]]
            app = _appendix_ctx(plan.get("appendix"))
            if app is not None:
                app["note"] = _paren(app["note"])
            ctx["plan"] = {
                "summary": plan["summary"],
                "note": (f"(Ban hành kèm theo Quyết định {in_text} ngày "
                         f"{rules.short_date(d['date'])} của {body_name})"),
                "blocks": pblocks,
                "appendix": app,
            }
    elif spec.kind == "tiep-nhan":
        ctx.update(_receipt_context(d, agency, tpl))
    elif spec.kind == "xin-loi":
        ctx["blocks"] = _apology_blocks(d, agency)
    elif spec.kind in FORM_CONTEXTS:
        ctx.update(FORM_CONTEXTS[spec.kind](d, agency))
    return ctx


def _when(moment: dt.datetime) -> str:
    return f"{moment.hour:02d} giờ {moment.minute:02d} phút, {rules.date_words(moment.date())}"


def _received_line(i: int, doc: dict[str, Any]) -> str:
    return f"{i + 1}. {doc['name']} ({doc['form'].lower()}; số lượng: {doc['copies']:02d})."


def _applicant_blocks(a: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = []
    if a["id_number"]:
        blocks.append({"k": "para", "text": f"Số định danh cá nhân: {a['id_number']}."})
    contact = [f"Địa chỉ: {a['address']}" if a["address"] else "",
               f"số điện thoại: {a['phone']}" if a["phone"] else ""]
    line = "; ".join(c for c in contact if c)
    if line:
        blocks.append({"k": "para", "text": line[:1].upper() + line[1:] + "."})
    return blocks


def qr_png(text: str) -> io.BytesIO:
    """The QR code (TCVN 7322:2009 = ISO/IEC 18004) of `text` as a PNG stream."""
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=8, border=2)
    buf.seek(0)
    return buf


COPY_LABELS = ("Liên 1: lưu tại Bộ phận Một cửa", "Liên 2: giao người nộp hồ sơ")
QR_MM = 16.0


def _receipt_context(d: dict[str, Any], agency: dict[str, str],
                     tpl: DocxTemplate) -> dict[str, Any]:
    a = d["applicant"]
    body = sentence_name(agency["issuing_body"], agency["place_name"])
    blocks = [
        {"k": "para", "text": f"Bộ phận Một cửa {body} tiếp nhận hồ sơ của: {a['name']}."},
        *_applicant_blocks(a),
        {"k": "para", "text": f"Nội dung yêu cầu giải quyết: {d['request']}."},
        {"k": "heading", "text": "Thành phần hồ sơ đã nhận:"},
        *[{"k": "item", "text": _received_line(i, doc)} for i, doc in enumerate(d["documents"])],
    ]
    if d["missing"]:
        blocks.append({"k": "heading", "text": "Thành phần hồ sơ còn thiếu (người nộp bổ sung "
                                               "theo Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ):"})
        blocks += [{"k": "item", "text": f"{i + 1}. {name}."}
                   for i, name in enumerate(d["missing"])]
    blocks += [
        {"k": "para", "text": f"Số lượng hồ sơ: {d['sets']:02d} bộ; thời gian giải quyết hồ "
                              f"sơ theo quy định: {d['processing_days']:02d} ngày làm việc."},
        {"k": "para", "text": f"Thời gian nhận hồ sơ: {_when(d['received_at'])}."},
        {"k": "para", "text": f"Thời gian trả kết quả giải quyết hồ sơ: "
                              f"{_when(d['appointment_at'])}."},
        {"k": "para", "text": "Đăng ký nhận kết quả tại: "
                              f"{d['return_place'] or 'Bộ phận Một cửa ' + body}."},
        {"k": "para", "text": "Vào Sổ theo dõi hồ sơ, Quyển số: ……… Số thứ tự: ………"},
    ]
    if d.get("rating_link"):
        until = f", đến hết ngày {d['rating_until']}" if d.get("rating_until") else ""
        blocks.append({"k": "para", "text": (
            "Mời ông/bà đánh giá mức độ hài lòng về việc giải quyết hồ sơ tại địa chỉ "
            f"{d['rating_link']} (dùng một lần{until}), hoặc quét mã QR dưới đây; thông tin "
            "người đánh giá được giữ bí mật.")})
        blocks.append({"k": "image",
                       "image": InlineImage(tpl, qr_png(d["rating_link"]), width=Mm(QR_MM))})
    copies = int(d["copies"])
    labels = [COPY_LABELS[i] if i < len(COPY_LABELS) else f"Liên {i + 1}"
              for i in range(copies)] if copies > 1 else [""]
    return {"blocks": blocks, "dossier_code": d["dossier_code"], "applicant_name": a["name"],
            "qr": InlineImage(tpl, qr_png(d["dossier_code"]), width=Mm(QR_MM)),
            "copy_label": labels[0], "copy_labels": labels,
            "sign": {"lines": ["NGƯỜI TIẾP NHẬN HỒ SƠ"], "name": d["receiver"],
                     "title": "NGƯỜI TIẾP NHẬN HỒ SƠ"}}


def _officer(title: str, name: str) -> dict[str, Any]:
    return {"lines": [title], "name": name, "title": title, "note": "(Ký và ghi rõ họ tên)"}


def _supplement_context(d: dict[str, Any], agency: dict[str, str]) -> dict[str, Any]:
    """Form 02: what the applicant must add or complete, and why."""
    a = d["applicant"]
    body = sentence_name(agency["issuing_body"], agency["place_name"])
    blocks = [
        {"k": "para", "text": f"Bộ phận Một cửa {body} tiếp nhận hồ sơ của: {a['name']}."},
        *_applicant_blocks(a),
        {"k": "para", "text": f"Nội dung yêu cầu giải quyết: {d['request']}."},
        {"k": "para", "text": f"Thời gian nhận hồ sơ: {_when(d['received_at'])}."},
        {"k": "heading", "text": "Yêu cầu bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:"},
        *[{"k": "item", "text": f"{i + 1}. {r.rstrip('.;')}."}
          for i, r in enumerate(d["requirements"])],
    ]
    if d["reason"]:
        blocks.append({"k": "para", "text": f"Lý do: {d['reason'].rstrip('.')}."})
    contact = d["contact"] or f"Bộ phận Một cửa {body}"
    blocks.append({"k": "para", "text": (
        "Trong quá trình bổ sung, hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ "
        f"{contact} để được hướng dẫn.")})
    return {"blocks": blocks, "summary": f"Mã hồ sơ: {d['dossier_code']}",
            "sign": _officer("NGƯỜI HƯỚNG DẪN", d["officer"])}


def _refusal_context(d: dict[str, Any], agency: dict[str, str]) -> dict[str, Any]:
    """Form 03: the dossier is not taken in (or not resolved), and why."""
    a = d["applicant"]
    body = sentence_name(agency["issuing_body"], agency["place_name"])
    blocks = [
        {"k": "para", "text": f"Bộ phận Một cửa {body} tiếp nhận hồ sơ của: {a['name']}."},
        *_applicant_blocks(a),
        {"k": "para", "text": f"Nội dung yêu cầu giải quyết: {d['request']}."},
        {"k": "para", "text": f"Thời gian nhận hồ sơ: {_when(d['received_at'])}."},
        {"k": "para", "text": (
            f"Qua xem xét, {body} từ chối tiếp nhận, giải quyết hồ sơ này với lý do cụ thể "
            f"như sau: {d['reason'].rstrip('.')}.")},
        {"k": "para", "text": "Xin thông báo để ông/bà được biết và thực hiện./."},
    ]
    summary = f"Mã hồ sơ: {d['dossier_code']}" if d["dossier_code"] else ""
    return {"blocks": blocks, "summary": summary,
            "sign": _officer("NGƯỜI TIẾP NHẬN HỒ SƠ", d["officer"])}


def _stop_context(d: dict[str, Any], agency: dict[str, str]) -> dict[str, Any]:
    """Form 05: the centre stops processing the dossier, and why."""
    body = sentence_name(agency["issuing_body"], agency["place_name"])
    blocks = [
        {"k": "center", "text": f"Kính gửi: {d['addressee']}"},
        {"k": "para", "text": (
            f"Ngày {rules.short_date(d['received_on'])}, Bộ phận Một cửa {body} tiếp nhận hồ "
            f"sơ của {d['applicant_name']} đề nghị giải quyết thủ tục “{d['procedure']}”, mã "
            f"hồ sơ {d['dossier_code']}.")},
        {"k": "para", "text": (
            f"{body} thông báo dừng giải quyết hồ sơ nêu trên. Lý do: "
            f"{d['reason'].rstrip('.')}.")},
        {"k": "para", "text": f"Trân trọng thông báo để {d['applicant_name']} được biết./."},
    ]
    return {"blocks": blocks}


def _moment(moment: dt.datetime) -> str:
    return f"{moment:%H:%M} {rules.short_date(moment.date())}"


# widths (mm) of form 06's step table on A5 (118 mm of text) and of the register (257 mm)
STEP_COLUMNS = ["TT", "Bước xử lý", "Thời gian", "Người thực hiện", "Kết quả"]
STEP_WIDTHS_MM = [8.0, 38.0, 22.0, 28.0, 22.0]
REGISTER_COLUMNS = ["TT", "Mã hồ sơ", "Thủ tục hành chính", "Người nộp hồ sơ",
                    "Số bộ", "Nhận hồ sơ", "Hẹn trả", "Có kết quả", "Kết quả", "Ghi chú"]
REGISTER_WIDTHS_MM = [8.0, 48.0, 40.0, 40.0, 10.0, 21.0, 21.0, 21.0, 20.0, 28.0]


def _control_context(d: dict[str, Any], agency: dict[str, str]) -> dict[str, Any]:
    """Form 06: every step of the dossier with its time and officer."""
    a = d["applicant"]
    body = sentence_name(agency["issuing_body"], agency["place_name"])
    due = f"; hẹn trả kết quả ngày {rules.short_date(d['due'])}" if d["due"] else ""
    rows = [[str(i + 1), s["step"], _moment(s["at"]), s["officer"],
             " ".join(x for x in (s["result"], s["note"]) if x)]
            for i, s in enumerate(d["steps"])]
    table: dict[str, Any] = {"columns": STEP_COLUMNS, "rows": rows,
                             "widths_mm": STEP_WIDTHS_MM, "caption": "", "fit": True}
    blocks: list[dict[str, Any]] = [
        {"k": "para", "text": f"Người nộp hồ sơ: {a['name']}."},
        {"k": "para", "text": f"Thủ tục hành chính: {d['procedure']}."},
        {"k": "para", "text": f"Cơ quan, bộ phận giải quyết: {d['handled_by'] or body}."},
        {"k": "para", "text": f"Thời gian nhận hồ sơ: {_moment(d['received_at'])}{due}."},
        {"k": "table", "marker": TABLE_MARK.format(0), "spec": table},
    ]
    return {"blocks": blocks, "summary": f"Mã hồ sơ: {d['dossier_code']}",
            "_tables": [table],
            "sign": _officer("NGƯỜI LẬP PHIẾU", d["officer"])}


def _register_context(d: dict[str, Any], agency: dict[str, str]) -> dict[str, Any]:
    """Form 07: the dossiers received in a period, one row each."""
    rows = []
    for i, e in enumerate(d["entries"]):
        who = e["applicant"] + (f"\n{e['contact']}" if e["contact"] else "")
        rows.append([str(i + 1), e["dossier_code"], e["procedure"], who, f"{e['sets']:02d}",
                     _moment(e["received_at"]),
                     rules.short_date(e["due"]) if e["due"] else "",
                     rules.short_date(e["resolved_on"]) if e["resolved_on"] else "",
                     e["result"], e["note"]])
    table = {"columns": REGISTER_COLUMNS, "rows": rows, "widths_mm": REGISTER_WIDTHS_MM,
             "caption": "", "fit": True}
    blocks: list[dict[str, Any]] = [
        {"k": "para", "text": f"Số hồ sơ tiếp nhận trong kỳ: {len(rows)}."},
        {"k": "table", "marker": TABLE_MARK.format(0), "spec": table},
    ]
    summary = (f"Từ ngày {rules.short_date(d['period_from'])} đến ngày "
               f"{rules.short_date(d['period_to'])}")
    return {"blocks": blocks, "summary": summary, "_tables": [table],
            "sign": _officer("NGƯỜI LẬP SỔ", d["officer"])}


FORM_CONTEXTS = {
    "bo-sung": _supplement_context,
    "tu-choi": _refusal_context,
    "dung-giai-quyet": _stop_context,
    "kiem-soat": _control_context,
    "so-theo-doi": _register_context,
}


def _apology_blocks(d: dict[str, Any], agency: dict[str, str]) -> list[dict[str, Any]]:
    body = sentence_name(agency["issuing_body"], agency["place_name"])
    return [
        {"k": "center", "text": f"Kính gửi: {d['addressee']}"},
        {"k": "para", "text": (
            f"Ngày {rules.short_date(d['received_on'])}, Bộ phận Một cửa {body} tiếp nhận hồ sơ "
            f"của {d['applicant_name']} đề nghị giải quyết thủ tục “{d['procedure']}” "
            f"(lĩnh vực {d['field']}), mã hồ sơ {d['dossier_code']}. Thời hạn trả kết quả "
            f"ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả là ngày "
            f"{rules.short_date(d['original_due'])}.")},
        {"k": "para", "text": (
            f"Đến nay, hồ sơ chưa được giải quyết xong đúng hạn. Lý do: {d['reason']}")},
        {"k": "para", "text": (
            f"{body} chân thành xin lỗi {d['applicant_name']} vì sự chậm trễ này và "
            f"đề nghị được gia hạn thời gian giải quyết; kết quả được hẹn trả lại vào ngày "
            f"{rules.short_date(d['new_due'])}.")},
        {"k": "para", "text": f"Trân trọng cảm ơn sự thông cảm của {d['applicant_name']}./."},
    ]


# ---------------------------------------------------------------- post-processing


def _style(p: Any) -> str:
    """The paragraph's style as its name ("MC Rule"), read from the style id directly
    (python-docx's style lookup is slow); our style ids are the names without spaces."""
    ppr = p._p.pPr
    sid = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else ""
    return "MC " + sid[2:] if sid.startswith("MC") and " " not in sid else str(sid)


def _is(p: Any, *names: str) -> bool:
    sid = _style(p).replace(" ", "")
    return any(sid == n.replace(" ", "") for n in names)


def _body_paragraphs(doc: Any) -> list[Any]:
    return list(doc.paragraphs)


def _drop(p: Any) -> None:
    el = p._p
    el.getparent().remove(el)


def _drop_empty(doc: Any) -> None:
    """Optional one-line components left empty by the spec (parent body, notes)."""
    for p in [*doc.paragraphs, *[p for t in doc.tables[:1] for c in t._cells
                                 for p in c.paragraphs]]:
        if _is(p, "MC Parent", "MC Appendix Note", "MC Appendix Title",
                                 "MC Summary") and not p.text.strip():
            if p._p.find(qn("w:pPr")) is not None and \
                    p._p.find(qn("w:pPr")).find(qn("w:sectPr")) is not None:
                continue
            _drop(p)


def _sect_paragraphs(doc: Any) -> list[Any]:
    body = doc.element.body
    return [p for p in body.iterchildren(qn("w:p"))
            if p.find(qn("w:pPr")) is not None and p.find(qn("w:pPr")).find(qn("w:sectPr"))
            is not None]


def _remove_last_section(doc: Any) -> None:
    """Drop everything after the last section break; that break's settings win."""
    body = doc.element.body
    breaks = _sect_paragraphs(doc)
    if not breaks:
        return
    last_break = breaks[-1]
    sect = last_break.find(qn("w:pPr")).find(qn("w:sectPr"))
    for el in list(last_break.itersiblings()):
        if el.tag != qn("w:sectPr"):
            body.remove(el)
    final = body.find(qn("w:sectPr"))
    last_break.find(qn("w:pPr")).remove(sect)
    body.replace(final, sect)


def _merge_break(doc: Any, index: int) -> None:
    """Remove the section break `index`: its content joins the next section."""
    p = _sect_paragraphs(doc)[index]
    p.find(qn("w:pPr")).remove(p.find(qn("w:pPr")).find(qn("w:sectPr")))


def _size_of(p: Any) -> float:
    for r in p.runs:
        if r.font.size is not None:
            return float(r.font.size.pt)
    return float(p.style.font.size.pt)


def _width(p: Any) -> float:
    """Width of the paragraph's widest line (a header item may be broken in two)."""
    st = p.style.font
    return max(rules.text_width_mm(line, _size_of(p), bool(st.bold), bool(st.italic))
               for line in p.text.split("\n"))


def _wrap_at_level(p: Any) -> bool:
    """Break a long body name before its level (`ỦY BAN NHÂN DÂN` / `XÃ GIA LỘC`), as
    printed documents do when one line would run into the margin."""
    text = p.text
    if "\n" in text or not p.runs:
        return False
    m = re.search(_LEVELS, text)
    cut = m.start() if m and m.start() > 0 else -1
    if cut < 0:
        spaces = [i for i, c in enumerate(text) if c == " "]
        if not spaces:
            return False
        cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    runs = p.runs
    runs[0].text = text[:cut].rstrip() + "\n" + text[cut:].lstrip()
    for r in runs[1:]:
        r._r.getparent().remove(r._r)
    return True


def _fit_header(doc: Any, profile: rules.PageProfile) -> None:
    """Keep the header table inside the text area: shrink upper-case items down to the
    profile's minimum size, then break a body name before its level; split the width
    between the columns by what they hold. Then set the rules: a short one under the
    issuing body, one as long as the motto."""
    if not doc.tables:
        return
    table = doc.tables[0]
    left, right = table.rows[0].cells
    columns: tuple[list[Any], list[Any]] = ([left], [right])
    for row in table.rows[1:]:
        columns[0].append(row.cells[0])
        columns[1].append(row.cells[1])
    margin = 0.8

    def texts(col: list[Any]) -> list[Any]:
        return [p for c in col for p in c.paragraphs if p.text.strip() and not _is(p, "MC Rule")]

    def need(col: list[Any]) -> float:
        return max((_width(p) for p in texts(col)), default=0) + 2 * margin + 0.5

    first = doc.sections[0]
    tw = (first.page_width - first.left_margin - first.right_margin) / rules.MM
    for _ in range(40):
        ln, rn = need(columns[0]), need(columns[1])
        if ln + rn <= tw:
            break
        shrinkable = [p for col in columns for p in texts(col)
                      if _is(p, "MC Parent", "MC Issuer", "MC Nation")
                      and _size_of(p) > profile.min_header_size]
        if shrinkable:
            widest = max(shrinkable, key=_width)
            for r in widest.runs:
                r.font.size = Pt(_size_of(widest) - 0.5)
            continue
        names = sorted((p for p in texts(columns[0]) if _is(p, "MC Parent", "MC Issuer")),
                       key=_width, reverse=True)
        if not any(_wrap_at_level(p) for p in names):
            log.warning("header text does not fit inside the margins")
            break
    ln, rn = need(columns[0]), need(columns[1])
    lw = min(max(ln, tw * 0.38), tw - rn) if ln + rn <= tw else tw * ln / (ln + rn)
    rw = tw - lw
    X.table_layout(table, [lw, rw], borders=False, indent_mm=0, cell_margin_mm=margin)
    inner_l, inner_r = lw - 2 * margin, rw - 2 * margin
    issuer = next((p for p in left.paragraphs if _is(p, "MC Issuer")), None)
    for p in left.paragraphs:
        if _is(p, "MC Rule"):
            rule = max(min(_width(issuer) / 3 if issuer else 25.0, inner_l), 15.0)
            X.set_indents(p, (inner_l - rule) / 2, (inner_l - rule) / 2)
    motto = next((p for p in right.paragraphs if _is(p, "MC Motto")), None)
    for p in right.paragraphs:
        if _is(p, "MC Rule"):
            rule = min(_width(motto), inner_r) if motto else 40.0
            X.set_indents(p, (inner_r - rule) / 2, (inner_r - rule) / 2)
    body_rule = 30.0 if profile is rules.A4 else 22.0
    widths = [(s.page_width - s.left_margin - s.right_margin) / rules.MM for s in doc.sections]
    section = 0
    for el in doc.element.body.iterchildren(qn("w:p")):
        ppr = el.find(qn("w:pPr"))
        pstyle = ppr.find(qn("w:pStyle")) if ppr is not None else None
        if pstyle is not None and pstyle.get(qn("w:val")) == "MCRule":
            sect_w = widths[min(section, len(widths) - 1)]
            from docx.text.paragraph import Paragraph

            X.set_indents(Paragraph(el, doc), (sect_w - body_rule) / 2, (sect_w - body_rule) / 2)
        if ppr is not None and ppr.find(qn("w:sectPr")) is not None:
            section += 1


KEEP_BODY_LINES = 2  # body paragraphs that go to a new page with the signature block


def _is_signature_table(el: Any) -> bool:
    ids = {v.get(qn("w:val")) for v in el.iter(qn("w:pStyle"))}
    return "MCSigner" in ids and "MCSignAuthority" in ids


def _keep_signature_with_body(doc: Any) -> None:
    """Tie the last body paragraphs (or the last row of a closing table) to the
    signature block with keep-with-next, so a page break never leaves the signature and
    Nơi nhận alone on the last page."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for el in list(doc.element.body.iterchildren(qn("w:tbl"))):
        if not _is_signature_table(el):
            continue
        kept = 0
        prev = el.getprevious()
        while prev is not None and kept < KEEP_BODY_LINES:
            if prev.tag == qn("w:tbl"):  # a data table ends the body: its last row goes
                for cell in Table(prev, doc).rows[-1].cells:
                    for para in cell.paragraphs:
                        para.paragraph_format.keep_with_next = True
                break
            if prev.tag != qn("w:p"):
                break
            para = Paragraph(prev, doc)
            para.paragraph_format.keep_with_next = True
            if para.text.strip():
                kept += 1
            prev = prev.getprevious()


def _apply_profile(doc: Any, profile: rules.PageProfile) -> None:
    """Move a document built for one paper onto another (an A5 form that does not fit
    goes to A4): page size and margins of every section, the component sizes, and every
    table's columns scaled to the new text width."""
    from motcua.templates.builder import STYLES, _page

    first = doc.sections[0]
    old_tw = (first.page_width - first.left_margin - first.right_margin) / rules.MM
    short = min(first.page_width, first.page_height) / rules.MM
    if abs(short - profile.width_mm) < 1:
        return
    for sec in doc.sections:
        _page(sec, profile, landscape=sec.page_width > sec.page_height)
    for name, style_def in STYLES.items():
        size = style_def[0]
        if size >= 5:
            doc.styles[name].font.size = Pt(rules.sized(size, profile))
        if name in ("MC Body", "MC Basis", "MC Item", "MC Part"):  # as the builder sets it
            doc.styles[name].paragraph_format.line_spacing = 1.15 if profile is rules.A4 \
                else 1.0
    doc.styles["Normal"].font.size = Pt(rules.sized(14, profile))
    new_tw = (first.page_width - first.left_margin - first.right_margin) / rules.MM
    for table in doc.tables:
        widths = X.grid_widths_mm(table)
        X.table_layout(table, [w * new_tw / old_tw for w in widths],
                       borders=table._tbl.tblPr.find(qn("w:tblBorders")) is not None and any(
                           b.get(qn("w:val")) == "single"
                           for b in table._tbl.tblPr.find(qn("w:tblBorders"))),
                       cell_margin_mm=1.0)


def _repeat_copies(doc: Any, labels: list[str]) -> None:
    """Form 01 is made out in copies (one kept, one handed over): the page is repeated,
    each copy its own section (a new page, numbered on its own, so no copy carries a
    page number) with its own label."""
    import copy as _copy

    from docx.oxml import OxmlElement

    body = doc.element.body
    final = body.find(qn("w:sectPr"))
    page = [el for el in body if el is not final]
    for label in labels[1:]:
        brk = OxmlElement("w:p")
        ppr = OxmlElement("w:pPr")
        X.set_el(ppr, "w:pStyle", val=X.style_id("MC Break"))
        ppr.append(_copy.deepcopy(final))  # ends the copy before with the same page setup
        brk.append(ppr)
        final.addprevious(brk)
        for el in page:
            dup = _copy.deepcopy(el)
            for t in dup.iter(qn("w:t")):
                if t.text == labels[0]:
                    t.text = label
            final.addprevious(dup)
    for sect in body.iter(qn("w:sectPr")):
        pg = sect.find(qn("w:pgNumType"))
        if pg is None:
            pg = OxmlElement("w:pgNumType")
            anchor = sect.find(qn("w:pgMar"))
            if anchor is not None:
                anchor.addnext(pg)
            else:
                sect.append(pg)
        pg.set(qn("w:start"), "1")


def _recipients_list_section(doc: Any) -> None:
    """The attached list of recipients is an appendix: its own section (new page,
    numbered on its own from 1, no number on its first page), like the other
    appendices."""
    import copy as _copy

    from docx.oxml import OxmlElement

    body = doc.element.body
    head = next((p for p in body.iterchildren(qn("w:p"))
                 if _style(_Para(p)) == "MC Appendix"
                 and "".join(t.text or "" for t in p.iter(qn("w:t"))) == RECIPIENTS_LIST_TITLE),
                None)
    if head is None:
        return
    governing = None  # the section break that closes the part holding the list
    for el in head.itersiblings():
        ppr = el.find(qn("w:pPr")) if el.tag == qn("w:p") else None
        if ppr is not None and ppr.find(qn("w:sectPr")) is not None:
            governing = ppr.find(qn("w:sectPr"))
            break
    if governing is None:
        governing = body.find(qn("w:sectPr"))
    brk = OxmlElement("w:p")
    ppr = OxmlElement("w:pPr")
    X.set_el(ppr, "w:pStyle", val=X.style_id("MC Break"))
    ppr.append(_copy.deepcopy(governing))  # the body before keeps its own page setup
    brk.append(ppr)
    head.addprevious(brk)
    pg = governing.find(qn("w:pgNumType"))
    if pg is None:
        pg = OxmlElement("w:pgNumType")
        anchor = governing.find(qn("w:pgMar"))
        if anchor is not None:
            anchor.addnext(pg)
        else:
            governing.append(pg)
    pg.set(qn("w:start"), "1")
    head_ppr = head.find(qn("w:pPr"))
    if head_ppr is not None and head_ppr.find(qn("w:pageBreakBefore")) is not None:
        head_ppr.remove(head_ppr.find(qn("w:pageBreakBefore")))


class _Para:
    """Just enough of a paragraph for `_style` (reads the style id of a raw w:p)."""

    def __init__(self, p: Any) -> None:
        self._p = p


def _postprocess(doc: Any, spec: Spec, ctx: dict[str, Any],
                 profile: rules.PageProfile | None = None) -> None:
    info = KIND_INFO[spec.kind]
    profile = profile or info.profile
    _apply_profile(doc, profile)
    if spec.kind == "ke-hoach" and not ctx.get("appendix"):
        _remove_last_section(doc)
    if spec.kind == "quyet-dinh-ke-hoach":
        plan = ctx["plan"]
        if not plan["appendix"]:
            _remove_last_section(doc)
        elif not plan["blocks"]:
            # the plan is its task table (as reference 001): one landscape section
            _merge_break(doc, -1)
    _insert_tables(doc, ctx["_tables"], profile)
    _drop_empty(doc)
    _fit_header(doc, profile)
    _keep_signature_with_body(doc)
    if ctx.get("recipients_list"):
        _recipients_list_section(doc)
    if spec.kind == "tiep-nhan" and len(ctx["copy_labels"]) > 1:
        _repeat_copies(doc, ctx["copy_labels"])
    props = doc.core_properties
    props.title = core_text(ctx["summary"] or info.type_name)
    props.subject = core_text(info.type_name)
    props.author = core_text(ctx["agency"]["issuing_body"])
    props.language = "vi-VN"
    props.keywords = core_text(ctx["number_line"].removeprefix("Số: ").strip())


CORE_MAX = 255  # python-docx (and Word) cap every core property at 255 characters


def core_text(text: str) -> str:
    """A core property within its limit: cut at a word and marked with an ellipsis; the
    full text stays in the document itself."""
    if len(text) <= CORE_MAX:
        return text
    cut = text[:CORE_MAX - 1]
    if " " in cut[CORE_MAX // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


# ---------------------------------------------------------------- render


def paper_profile(ws: Workspace | None, spec: Spec) -> tuple[rules.PageProfile, bool]:
    """The paper of this document and whether it was chosen (the spec's `paper`, else
    `[templates.paper] <kind> = "A4"` in motcua.toml) rather than the kind's default."""
    chosen = spec.data.get("paper")
    if not chosen and ws is not None:
        papers = ws.config.section("templates").get("paper", {})
        chosen = papers.get(spec.kind) if isinstance(papers, dict) else None
        if chosen is not None and chosen not in rules.PROFILES:
            raise UserError(f"motcua.toml: [templates.paper] {spec.kind} = “{chosen}” không "
                            "hợp lệ; dùng “A5” hoặc “A4”.", f"bad paper {chosen!r}")
    if chosen:
        return rules.PROFILES[str(chosen)], True
    return KIND_INFO[spec.kind].profile, False


def render_docx(spec: Spec, agency: AgencyConfig, out_docx: Path, *, number: int | None,
                template: Path, profile: rules.PageProfile | None = None) -> dict[str, Any]:
    tpl = DocxTemplate(str(template))
    ctx = build_context(spec, agency, number, tpl)
    env = Environment(autoescape=True)
    tpl.render(ctx, jinja_env=env, autoescape=True)
    _postprocess(tpl.docx, spec, ctx, profile)
    out_docx.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_docx.with_name(out_docx.name + ".part")
    tpl.save(str(tmp))
    tmp.replace(out_docx)
    return ctx


def _page_count(pdf: Path) -> int:
    import pikepdf

    with pikepdf.open(pdf) as p:
        return len(p.pages)


def _register(ws: Workspace, spec: Spec, agency_cfg: AgencyConfig, number: int | str,
              document: str) -> tuple[numbering.TakenNumber, bool]:
    """Take ("auto") or record (an int) the document's number in the workspace register,
    keyed and symbolised exactly as the document prints it."""
    info = KIND_INFO[spec.kind]
    agency = _agency(agency_cfg, spec.data.get("agency") or {})
    scheme, year, unit = numbering.scheme_of(ws), int(spec.data["date"].year), _unit(spec)
    conn = db.connect(ws.db_path)
    try:
        if number == "auto":
            return numbering.take_number(
                conn, type_code=info.type_code, issuing_body=agency["issuing_body"],
                body_abbreviation=agency["abbreviation"], year=year, scheme=scheme,
                document=document, unit=unit), False
        assert isinstance(number, int)
        return numbering.record_number(
            conn, number, type_code=info.type_code, issuing_body=agency["issuing_body"],
            body_abbreviation=agency["abbreviation"], year=year, scheme=scheme,
            document=document, unit=unit)
    finally:
        conn.close()


def _release(ws: Workspace, taken: numbering.TakenNumber) -> None:
    conn = db.connect(ws.db_path)
    try:
        numbering.release_number(conn, taken)
    except Exception:  # the render error is the one to report
        log.exception("could not release number %s", taken.text)
    finally:
        conn.close()


def _record_document(ws: Workspace, taken: numbering.TakenNumber, document: str) -> None:
    conn = db.connect(ws.db_path)
    try:
        numbering.set_document(conn, taken, document)
    finally:
        conn.close()


def render(ws: Workspace | None, spec: Spec, out: Path, *, number: int | str | None = None,
           agency: AgencyConfig | None = None, converter: Converter | None = None,
           sign_p12: Path | None = None, sign_password: bytes | None = None,
           template: Path | None = None) -> RenderResult:
    """Render `spec` to OUT.docx and OUT.pdf (PDF/A-2b + empty signature field).

    number: an int, "auto" (taken from the workspace register), or None for a draft;
    by default the spec's own `number`.
    """
    info = KIND_INFO[spec.kind]
    if sign_p12 is not None:
        sign.check_p12(sign_p12, sign_password)  # fail before rendering anything
    agency_cfg = agency or (ws.config.agency if ws is not None else AgencyConfig())
    if number is None:
        number = spec.data.get("number")
    if not info.numbered:
        number = None  # a receipt carries a dossier code, not a number
    if number == "auto" and ws is None:
        raise UserError("Cần một kho làm việc để lấy số tự động (--number auto).",
                        "auto number without workspace")
    if (isinstance(number, str) and number != "auto") or isinstance(number, bool) or \
            (isinstance(number, int) and number < 1):
        raise UserError(f"Số văn bản “{number}” không hợp lệ: dùng số nguyên dương hoặc "
                        "“auto”.", f"bad number {number}")
    if isinstance(number, int) and number > MAX_NUMBER:
        raise UserError(f"Số văn bản {number} quá lớn: {MAX_NUMBER_VI}.",
                        f"number {number} above {MAX_NUMBER}")
    base = out.with_suffix("") if out.suffix.lower() in (".docx", ".pdf") else out
    out_docx, out_pdf = base.with_suffix(".docx"), base.with_suffix(".pdf")
    tpl_path = template or find_template(ws, info.template)
    taken: numbering.TakenNumber | None = None
    chosen = False  # a hand-chosen number recorded by this call (released on failure)
    if ws is not None and number is not None:
        taken, chosen = _register(ws, spec, agency_cfg, number, str(out_pdf.resolve()))
        number = taken.number
    assert number is None or isinstance(number, int)
    profile, chosen_paper = paper_profile(ws, spec)
    try:
        ctx = render_docx(spec, agency_cfg, out_docx, number=number, template=tpl_path,
                          profile=profile)
        conv = converter or shared_converter()
        conv.convert(out_docx, out_pdf)
        copies = len(ctx.get("copy_labels") or [""])
        if profile is rules.A5 and not chosen_paper and _page_count(out_pdf) > copies:
            # the form does not fit its A5 page: the same form on A4, not smaller type
            log.info("%s does not fit on A5 (%d pages), rendering on A4", spec.kind,
                     _page_count(out_pdf))
            profile = rules.A4
            ctx = render_docx(spec, agency_cfg, out_docx, number=number, template=tpl_path,
                              profile=profile)
            conv.convert(out_docx, out_pdf)
        sig = ctx["sign"]
        box = sign.locate_field(out_pdf, sig["title"], sig["name"])
        sign.add_signature_field(out_pdf, box)
        signed = False
        if sign_p12 is not None:
            sign.sign_pdf(out_pdf, out_pdf, sign_p12, sign_password,
                          location=ctx["agency"]["place_name"])
            signed = True
    except BaseException:
        if chosen and taken is not None and ws is not None:
            _release(ws, taken)
        raise
    if taken is not None and ws is not None:
        _record_document(ws, taken, str(out_pdf.resolve()))
    printed = ctx["number_line"].removeprefix("Số: ").strip()
    if taken is not None and printed != taken.text:  # the register and the page must agree
        log.error("register recorded %s but the document prints %s", taken.text, printed)
    agency_ctx = ctx["agency"]
    return RenderResult(
        kind=spec.kind, docx=out_docx, pdf=out_pdf, signed=signed, type_name=info.type_name,
        number=number if isinstance(number, int) else None,
        number_symbol=ctx["number_line"].removeprefix("Số: ").strip() if info.numbered else "",
        issue_date=spec.data["date"], issuing_body=agency_ctx["issuing_body"],
        summary=ctx["summary"], signer=sig["name"], page_count=_page_count(out_pdf),
        field_page=box.page,
        extra={"dossier_code": spec.data.get("dossier_code", ""),
               "template": str(tpl_path), "paper": profile.name,
               "form": FORM_NUMBERS.get(spec.kind, "")})
