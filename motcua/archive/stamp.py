"""The digitization stamp: "BẢN SỐ HÓA" / "KẾT QUẢ ĐIỆN TỬ" in the top-left margin of page 1.

The stamp is a vector overlay drawn with reportlab (Liberation Serif, embedded as TrueType
subsets with their widths, no transparency) and placed on page 1 as one form XObject;
the page's own content (the scan image and its OCR text layer) is wrapped in q/Q and
left as it was. A QR code (segno, drawn as filled squares) encodes the fields in the
text format below; the same text goes into the XMP metadata (dc:description; see the
XMP section for why not a custom namespace). The copy is checked with
`pikepdf.pdfa.validate_written(..., "2b")` (through `motcua.ocr.pdfa_check`).

The stamped copy is an incremental update of the archival PDF/A (pikepdf cannot append
one; pyHanko's incremental writer does): its first bytes are the archival file, so a
signed result keeps its signature, and signature fields and signatures added later
each append their own incremental update after the stamp. The unstamped archival copy
is kept in the store as well.

QR text format (UTF-8, ECI), one `KEY=value` per line, first line the format tag:

    MOTCUA-STAMP/1
    LOAI=BẢN SỐ HÓA              kind: BẢN SỐ HÓA | KẾT QUẢ ĐIỆN TỬ
    MA=<dossier or result code>  the code printed in the stamp
    HS=<dossier code>
    TTHC=<procedure code>
    CSH=<owner ID: CCCD or MST>
    TEN=<document name>
    HT=<system name>
    TG=<time, ISO 8601 with offset>
    NSH=<operator, the person who digitized>
    HL=<valid to, YYYY-MM-DD>    results only, when known

Values never contain a newline (newlines are replaced by spaces); empty values are kept
as `KEY=`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pikepdf
import segno
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from motcua import SYSTEM_NAME, db
from motcua.archive import audit, store
from motcua.errors import TransientError, UserError
from motcua.ocr import pdfa_check
from motcua.workspace import Workspace

log = logging.getLogger(__name__)

KIND_SCAN = "BẢN SỐ HÓA"
KIND_RESULT = "KẾT QUẢ ĐIỆN TỬ"
QR_TAG = "MOTCUA-STAMP/1"

FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
FONT_REGULAR = "MotcuaSerif"
FONT_BOLD = "MotcuaSerif-Bold"

# Geometry of the stamp, from the top-left corner of the visible page (millimetres).
LEFT_MM = 8.0
TOP_MM = 2.5
QR_MM = 17.0
GAP_MM = 2.0
TEXT_PT = 6.5
TITLE_PT = 8.0
LINE_PT = 7.6
STAMP_XOBJECT = "MotcuaStamp"

_QR_KEYS = (
    ("LOAI", "kind"), ("MA", "code"), ("HS", "dossier_code"), ("TTHC", "procedure_code"),
    ("CSH", "owner_id"), ("TEN", "document_name"), ("HT", "system_name"), ("TG", "time"),
    ("NSH", "operator"),
)


@dataclass(frozen=True)
class StampFields:
    kind: str  # KIND_SCAN | KIND_RESULT
    operator: str
    time: str  # ISO 8601 with offset, seconds
    code: str  # dossier code (scan) or result code (result); "" if not assigned yet
    dossier_code: str
    procedure_code: str
    owner_id: str
    document_name: str
    system_name: str = SYSTEM_NAME
    valid_to: str = ""  # results only

    def qr_text(self) -> str:
        lines = [QR_TAG]
        values = asdict(self)
        for key, attr in _QR_KEYS:
            lines.append(f"{key}={_one_line(str(values[attr]))}")
        if self.kind == KIND_RESULT and self.valid_to:
            lines.append(f"HL={_one_line(self.valid_to)}")
        return "\n".join(lines)

    def display_time(self) -> str:
        return datetime.fromisoformat(self.time).strftime("%d/%m/%Y %H:%M")


def _one_line(value: str) -> str:
    return " ".join(value.split())


def parse_qr_text(text: str) -> StampFields:
    """Inverse of `StampFields.qr_text`."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0] != QR_TAG:
        raise ValueError(f"not a motcua stamp: {text[:40]!r}")
    values: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value
    kwargs = {attr: values.get(key, "") for key, attr in _QR_KEYS}
    return StampFields(valid_to=values.get("HL", ""), **kwargs)


# ---------------------------------------------------------------------------------------
# Drawing


def _register_fonts() -> None:
    if FONT_REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_REGULAR, str(FONT_DIR / "LiberationSerif-Regular.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "LiberationSerif-Bold.ttf")))


def stamp_lines(fields: StampFields) -> list[str]:
    """The text lines of the stamp, title first."""
    code_label = "Mã kết quả" if fields.kind == KIND_RESULT else "Mã hồ sơ"
    lines = [
        fields.kind,
        f"Người số hóa: {fields.operator}",
        f"Thời gian: {fields.display_time()}",
        f"{code_label}: {fields.code or 'chưa gán'}",
        f"Hệ thống: {fields.system_name}",
    ]
    if fields.kind == KIND_RESULT and fields.valid_to:
        lines.insert(4, f"Hiệu lực đến: {_vn_date(fields.valid_to)}")
    return lines


def _vn_date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def stamp_box_mm(fields: StampFields) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the stamp in mm from the visible page's top-left."""
    _register_fonts()
    lines = stamp_lines(fields)
    width = max(
        pdfmetrics.stringWidth(line, FONT_BOLD if i == 0 else FONT_REGULAR,
                               TITLE_PT if i == 0 else TEXT_PT)
        for i, line in enumerate(lines)
    ) / mm
    text_height = (TITLE_PT + LINE_PT * (len(lines) - 1) + 2) / mm
    return (LEFT_MM, TOP_MM, LEFT_MM + QR_MM + GAP_MM + width,
            TOP_MM + max(QR_MM, text_height))


def _draw_qr(c: canvas.Canvas, text: str, x: float, top: float, size: float) -> None:
    qr = segno.make_qr(text, error="l", encoding="utf-8", eci=True)
    border = 2  # quiet zone inside the white square; the margin around it is paper
    rows = list(qr.matrix_iter(scale=1, border=border))
    module = size / len(rows)
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, top - size, size, size, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for r, row in enumerate(rows):
        run_start = None
        for col, dark in enumerate([*row, 0]):
            if dark and run_start is None:
                run_start = col
            elif not dark and run_start is not None:
                y = top - (r + 1) * module
                path.rect(x + run_start * module, y, (col - run_start) * module, module)
                run_start = None
    c.drawPath(path, stroke=0, fill=1)


def overlay_pdf(fields: StampFields, width: float, height: float) -> bytes:
    """One page of `width` x `height` points with the stamp at its top-left."""
    _register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height), pageCompression=1, invariant=1,
                      initialFontName=FONT_REGULAR, initialFontSize=TEXT_PT)
    c.setTitle("motcua stamp")
    top = height - TOP_MM * mm
    _draw_qr(c, fields.qr_text(), LEFT_MM * mm, top, QR_MM * mm)
    x = (LEFT_MM + QR_MM + GAP_MM) * mm
    c.setFillColorRGB(0, 0, 0)
    y = top - TITLE_PT
    for i, line in enumerate(stamp_lines(fields)):
        c.setFont(FONT_BOLD if i == 0 else FONT_REGULAR, TITLE_PT if i == 0 else TEXT_PT)
        c.drawString(x, y, line)
        y -= LINE_PT if i else LINE_PT + 1
    c.showPage()
    c.save()
    return buf.getvalue()


def _placement(page: pikepdf.Page) -> tuple[tuple[float, ...], float, float]:
    """Matrix mapping the visible page (origin bottom-left, as displayed) to user space,
    and the visible width and height, honouring the crop box and /Rotate."""
    x0, y0, x1, y1 = (float(v) for v in page.cropbox)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    w, h = x1 - x0, y1 - y0
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    if rotate == 90:
        return (0, 1, -1, 0, x1, y0), h, w
    if rotate == 180:
        return (-1, 0, 0, -1, x1, y1), w, h
    if rotate == 270:
        return (0, -1, 1, 0, x0, y1), h, w
    return (1, 0, 0, 1, x0, y0), w, h


# ---------------------------------------------------------------------------------------
# XMP
#
# PDF/A-2b allows custom XMP properties only through an extension schema, which the
# validator we check with (pikepdf.pdfa, an allowlist) does not accept. So the fields go
# into predefined properties: dc:description holds the QR text itself (every field, in
# the same format) and dc:title the document name; the writer mirrors both into the
# DocInfo dictionary where it has those entries.


def read_xmp_fields(pdf_path: Path) -> StampFields:
    """The stamp fields recorded in a stamped file's XMP (dc:description)."""
    with pikepdf.open(pdf_path) as pdf:
        meta = pdf.open_metadata()
        return parse_qr_text(str(meta.get("dc:description", "")))


# ---------------------------------------------------------------------------------------
# The stamp itself


def stamp_pdf(source: Path, dest: Path, fields: StampFields) -> None:
    """Write a stamped copy of `source` (normally a PDF/A-2b) to `dest`.

    The stamp is an incremental update (pyHanko's incremental writer): `dest` starts
    with the bytes of `source` unchanged, so a signature already in the source stays
    intact, and later signatures append their own updates after it. Only if pyHanko
    cannot read the file does it fall back to a full save with pikepdf.

    The result is validated as PDF/A-2b; if it fails while the source passes, nothing
    is left at `dest` and TransientError is raised. A source that is not PDF/A-2b
    (a born-digital result) gives a stamped copy without that promise.
    """
    from pyhanko.pdf_utils.misc import PdfError as PyhankoError

    try:
        _stamp_incremental(source, dest, fields)
    except (PyhankoError, ValueError, KeyError) as exc:
        log.warning("incremental stamp of %s failed (%s); full save instead", source, exc)
        _stamp_full(source, dest, fields)
    report = pdfa_check.check_file(dest)
    if report.passed:
        return
    if pdfa_check.passes(source):
        dest.unlink(missing_ok=True)
        raise TransientError(
            "Không đóng được dấu số hóa mà vẫn giữ chuẩn PDF/A; tệp lưu trữ không bị "
            "thay đổi.",
            f"stamped copy of {source} fails PDF/A-2b: {report.summary()}",
        )
    log.info("source %s is not PDF/A-2b; its stamped copy is not either", source)


def _page_geometry(source: Path) -> tuple[tuple[float, ...], float, float]:
    with pikepdf.open(source) as pdf:
        return _placement(pdf.pages[0])


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)"')
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"')
PT_PER_MM = 72 / 25.4
#: Clearance kept between the stamp and the nearest word of the page, in mm.
CLEARANCE_MM = 1.0


def page_words_mm(source: Path) -> tuple[float, float, list[tuple[float, ...]]]:
    """Page 1's visible size and the boxes of its words (its text layer: the OCR of the
    scan, or a born-digital file's own text), in mm from the visible top-left."""
    proc = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(source), "-"],
                          capture_output=True, text=True, timeout=120)
    page = _PAGE.search(proc.stdout)
    if proc.returncode != 0 or page is None:
        log.warning("cannot read the words of %s: %s", source, proc.stderr.strip()[-200:])
        return 0.0, 0.0, []
    words = [tuple(float(v) / PT_PER_MM for v in m.groups()) for m in
             _WORD.finditer(proc.stdout)]
    return float(page.group(1)) / PT_PER_MM, float(page.group(2)) / PT_PER_MM, words


def stamp_offset_mm(fields: StampFields, source: Path) -> tuple[float, float]:
    """Where the stamp goes, as a shift (right, down) from its place in the top-left margin.

    The rules put it at the top left of page 1; a scan whose text reaches into that
    corner gets it in the first other corner where no word is within CLEARANCE_MM, so the
    stamp never covers what the document says."""
    left, top, right, bottom = stamp_box_mm(fields)
    width, height = right - left, bottom - top
    page_w, page_h, words = page_words_mm(source)
    if not words:
        return 0.0, 0.0
    corners = [(left, top), (page_w - LEFT_MM - width, top),
               (left, page_h - TOP_MM - height), (page_w - LEFT_MM - width,
                                                  page_h - TOP_MM - height)]
    for x, y in corners:
        box = (x - CLEARANCE_MM, y - CLEARANCE_MM, x + width + CLEARANCE_MM,
               y + height + CLEARANCE_MM)
        if not any(w[0] < box[2] and w[2] > box[0] and w[1] < box[3] and w[3] > box[1]
                   for w in words):
            return x - left, y - top
    log.warning("%s: text in every corner of page 1; the stamp stays top-left", source)
    return 0.0, 0.0


def _stamp_ops(matrix: tuple[float, ...], offset_mm: tuple[float, float], name: str) -> bytes:
    """Draw the stamp form on top of the page's own (q/Q-wrapped) content."""
    dx, dy = offset_mm[0] * mm, -offset_mm[1] * mm
    shift = f" 1 0 0 1 {dx:.3f} {dy:.3f} cm" if (dx, dy) != (0, 0) else ""
    return f"Q\nq {_cm(matrix)} cm{shift} {name} Do Q\n".encode("ascii")


def _cm(matrix: tuple[float, ...]) -> str:
    return " ".join(f"{v:.6f}".rstrip("0").rstrip(".") for v in matrix)


def _stamp_incremental(source: Path, dest: Path, fields: StampFields) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    matrix, vis_w, vis_h = _page_geometry(source)
    offset = stamp_offset_mm(fields, source)
    name = generic.pdf_name(f"/{STAMP_XOBJECT}")
    with source.open("rb") as fh:
        writer = IncrementalPdfFileWriter(fh, strict=False)
        overlay = PdfFileReader(io.BytesIO(overlay_pdf(fields, vis_w, vis_h)))
        form = writer.import_page_as_xobject(overlay, 0)
        # Wrap the page's own content in q/Q so its graphics state cannot move the stamp.
        before = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
        after = writer.add_object(generic.StreamObject(
            stream_data=_stamp_ops(matrix, offset, str(name))))
        writer.add_stream_to_page(0, before, prepend=True)
        writer.add_stream_to_page(0, after, resources=generic.DictionaryObject({
            generic.pdf_name("/XObject"): generic.DictionaryObject({name: form})}))
        # pyHanko keeps XMP and DocInfo consistent: dc:title / dc:description.
        writer.document_meta.title = fields.document_name
        writer.document_meta.subject = fields.qr_text()
        buf = io.BytesIO()
        writer.write(buf)
    dest.write_bytes(buf.getvalue())


def _stamp_full(source: Path, dest: Path, fields: StampFields) -> None:
    with pikepdf.open(source) as pdf:
        page = pdf.pages[0]
        matrix, vis_w, vis_h = _placement(page)
        with pikepdf.open(io.BytesIO(overlay_pdf(fields, vis_w, vis_h))) as overlay:
            form = pdf.copy_foreign(overlay.pages[0].as_form_xobject())
        name = page.add_resource(form, pikepdf.Name.XObject, name=pikepdf.Name(
            f"/{STAMP_XOBJECT}"))
        page.contents_add(b"q\n", prepend=True)
        page.contents_add(_stamp_ops(matrix, stamp_offset_mm(fields, source), str(name)))
        with pdf.open_metadata(set_pikepdf_as_editor=True, update_docinfo=True) as meta:
            meta["dc:description"] = fields.qr_text()
            meta["dc:title"] = fields.document_name
        pdf.save(dest)


# ---------------------------------------------------------------------------------------
# The warehouse side: fields from the database, stamp a document, record it


@dataclass(frozen=True)
class StampRecord:
    document_id: int
    kind: str
    stamped_path: str
    stamped_sha256: str
    fields: StampFields
    operator: str
    stamped_at: str


def stamped_relpath(original_sha256: str) -> str:
    return f"store/stamped/{original_sha256[:2]}/{original_sha256}.pdf"


def stamp_fields(conn: sqlite3.Connection, document_id: int, operator: str,
                 time: str) -> StampFields:
    """The fields a document's stamp carries, from its row, metadata and dossier; `time`
    is the stamp's, ISO 8601 in the centre's zone."""
    row = conn.execute(
        "SELECT d.id, d.original_name, d.dossier_code, m.role, m.owner_id, m.name,"
        " m.result_code, m.valid_to, s.procedure_code, s.owner_id AS dossier_owner"
        " FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id"
        " LEFT JOIN dossiers s ON s.code = d.dossier_code WHERE d.id = ?",
        (document_id,),
    ).fetchone()
    if row is None:
        raise UserError(f"Không có tài liệu số {document_id}.", f"no document {document_id}")
    is_result = row["role"] == "result"
    dossier = row["dossier_code"] or ""
    return StampFields(
        kind=KIND_RESULT if is_result else KIND_SCAN,
        operator=operator,
        time=time,
        code=(row["result_code"] or "") if is_result else dossier,
        dossier_code=dossier,
        procedure_code=row["procedure_code"] or "",
        owner_id=row["owner_id"] or row["dossier_owner"] or "",
        document_name=row["name"] or Path(row["original_name"]).stem,
        valid_to=(row["valid_to"] or "") if is_result else "",
    )


def _source_of(ws: Workspace, conn: sqlite3.Connection, document_id: int) -> tuple[Path, str]:
    row = conn.execute(
        "SELECT sha256, media_type, original_path, archival_path FROM documents WHERE id = ?",
        (document_id,),
    ).fetchone()
    if row is None:
        raise UserError(f"Không có tài liệu số {document_id}.", f"no document {document_id}")
    if row["archival_path"]:
        return ws.absolute(row["archival_path"]), row["sha256"]
    if row["media_type"] == "application/pdf":
        return ws.absolute(row["original_path"]), row["sha256"]
    raise UserError(
        f"Tài liệu số {document_id} chưa có bản PDF lưu trữ nên chưa đóng dấu số hóa được.",
        f"document {document_id} has no archival PDF",
    )


def stamp_document(ws: Workspace, conn: sqlite3.Connection, document_id: int,
                   operator: str | None = None, actor: str | None = None) -> StampRecord:
    """Stamp a document's archival PDF (or its PDF original, for a result kept byte for
    byte), store the copy at store/stamped/ab/<original sha>.pdf, record it in `stamps`
    and in the audit log. Re-stamping (after a metadata change) replaces the copy.

    The file is written and moved into the store first; the `stamps` row and the audit
    entry then go into the caller's open transaction if there is one, else into their
    own. `operator` (printed as "Người số hóa") defaults to `[warehouse] operator`, then
    `[ingest] operator`; `actor` is who the audit entry names (default: the operator).
    """
    from motcua.archive.settings import local_now, stamp_operator

    operator = operator or stamp_operator(ws)
    source, sha = _source_of(ws, conn, document_id)
    fields = stamp_fields(conn, document_id, operator,
                          local_now(ws).isoformat(timespec="seconds"))
    fd, tmp_name = tempfile.mkstemp(dir=store.process_tmp(ws.tmp), prefix=".stamp-",
                                    suffix=".pdf")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        stamp_pdf(source, tmp, fields)
        rel = stamped_relpath(sha)
        digest = store.durable_move_into_store(tmp, ws.root / rel)
    finally:
        tmp.unlink(missing_ok=True)
    stamped_at = db.now()
    fields_json = _fields_json(fields)
    with _joined_transaction(conn):
        conn.execute(
            "INSERT INTO stamps (document_id, kind, stamped_path, stamped_sha256, fields_json,"
            " operator, stamped_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(document_id) DO UPDATE SET kind = excluded.kind,"
            " stamped_path = excluded.stamped_path, stamped_sha256 = excluded.stamped_sha256,"
            " fields_json = excluded.fields_json, operator = excluded.operator,"
            " stamped_at = excluded.stamped_at",
            (document_id, fields.kind, rel, digest, fields_json, operator, stamped_at),
        )
        audit.record(conn, "stamp", f"document:{document_id}", actor or operator,
                     {"path": rel, "sha256": digest, "fields": asdict(fields)})
    return StampRecord(document_id, fields.kind, rel, digest, fields, operator, stamped_at)


@contextmanager
def _joined_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """The caller's transaction if one is open (the pipeline's), else our own."""
    if conn.in_transaction:
        yield
    else:
        with db.transaction(conn):
            yield


def _fields_json(fields: StampFields) -> str:
    return audit.canonical(asdict(fields))


def get_stamp(conn: sqlite3.Connection, document_id: int) -> StampRecord | None:
    row = conn.execute("SELECT * FROM stamps WHERE document_id = ?", (document_id,)).fetchone()
    if row is None:
        return None
    data: dict[str, Any] = json.loads(row["fields_json"])
    return StampRecord(row["document_id"], row["kind"], row["stamped_path"],
                       row["stamped_sha256"], StampFields(**data), row["operator"],
                       row["stamped_at"])
