"""Batch scans split at QR separators (cover sheets from `motcua coversheet`, form 01).

A clerk feeds a stack of dossiers through the scanner as one PDF, each dossier led by a
sheet whose QR code holds its dossier code. The pipeline's split step, after hashing and
before anything else is stored, reads the QR codes of every page (`barcodes.read_qr`, on
the page's own image decoded at a reduced scale) and, when it finds separators:

* keeps the batch file byte for byte in the store (a `batches` row);
* writes each run of pages after a separator, up to the next one, as a PDF of its own
  (the pages copied as they are, nothing re-encoded) into the store, and queues it as an
  intake row of its own (a `batch_parts` row records its page range), so each part goes
  through OCR, stamp and index like any scan and becomes one document;
* leaves the separator page out of the parts (it stays in the batch's original).

A part is filed under the dossier its QR names only when that dossier is in the
register; an unknown code, an unreadable or ambiguous QR, and the pages before the first
separator are archived not filed, with the reason (`labels.UNFILED_REASONS`) shown by
`motcua status` and on the desk. Nothing is guessed, and no dossier is made up.

Durability: the part files are in the store before the one transaction that records the
batch, its parts and their intake rows (crash point "parts-written" before it, "split"
after it); a rerun finds the batch by its hash and queues what is still waiting, so no
part is queued twice. The bytes of a part are the same on every run (a deterministic
PDF), so a file written before a crash is adopted, not duplicated.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
from PIL import Image

from motcua import db, labels
from motcua.archive import audit, store
from motcua.archive.extract import is_dossier_code
from motcua.ingest.barcodes import QrCode, read_qr
from motcua.ingest.names import visible
from motcua.workspace import Workspace

log = logging.getLogger("motcua.ingest")

#: Pages are decoded at the coarsest scale (1/2, 1/4, 1/8 of the scan, which a JPEG
#: decoder gives almost for free) that keeps at least this resolution: form 01's 16 mm
#: QR still has about 2.5 pixels per module there, a cover's 70 mm one over 10.
TARGET_DPI = 100
#: A QR located but not decoded counts as a separator only when it is this large (a share
#: of the page's shorter side): a cover sheet's. A small unreadable code may be anything
#: on a citizen's paper (an ID card's, a bank's) and splitting there would be a guess.
LARGE_QR_SIDE = 0.2


@dataclass(frozen=True)
class Separator:
    page: int  # 1-based
    qr_text: str | None  # what the QR says (several codes: joined by " | ")
    code: str | None  # the one dossier code it names; None: unreadable or ambiguous


@dataclass(frozen=True)
class Scan:
    page_count: int
    separators: tuple[Separator, ...]
    seconds: float  # reading the QR codes, decoding included


@dataclass(frozen=True)
class PartPlan:
    part_no: int  # 1-based, in page order
    first_page: int
    last_page: int
    cover_page: int | None
    qr_text: str | None
    dossier_code: str | None  # a dossier that exists
    reason: str | None  # a key of labels.UNFILED_REASONS (qr_*) when not filed


@dataclass(frozen=True)
class WrittenPart:
    plan: PartPlan
    sha256: str
    relpath: str
    name: str  # the name people see: the batch's, with the page range


# ---- reading -------------------------------------------------------------------------


def _largest_image(page: pikepdf.Page) -> pikepdf.Object | None:
    best, best_area = None, 0
    for raw in page.get_images().values():
        area = int(raw.get("/Width", 0)) * int(raw.get("/Height", 0))
        if area > best_area:
            best, best_area = raw, area
    return best


def _scale(page: pikepdf.Page, width_px: int, height_px: int) -> int:
    box = page.mediabox
    points = max(abs(float(box[2]) - float(box[0])), abs(float(box[3]) - float(box[1])))
    dpi = max(width_px, height_px) / (points / 72.0) if points > 0 else 300.0
    scale = 1
    while scale < 8 and dpi / (scale * 2) >= TARGET_DPI:
        scale *= 2
    return scale


def page_image(page: pikepdf.Page) -> Image.Image | None:
    """The page's scanned image (its largest), grey, at a reduced scale; None when the
    page shows no image (born-digital text)."""
    raw = _largest_image(page)
    if raw is None:
        return None
    width, height = int(raw.get("/Width", 0)), int(raw.get("/Height", 0))
    scale = _scale(page, width, height)
    filters = raw.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
    if names == ["/DCTDecode"]:
        # A scanner's JPEG: the decoder scales down while decoding (IDCT scaling).
        jpeg = Image.open(io.BytesIO(raw.read_raw_bytes()))
        jpeg.draft("L", (max(1, width // scale), max(1, height // scale)))
        return jpeg.convert("L")
    image = pikepdf.PdfImage(raw).as_pil_image()  # type: ignore[arg-type]
    image = image.convert("L")
    return image.reduce(scale) if scale > 1 else image


def separator_of(page_no: int, codes: tuple[QrCode, ...]) -> Separator | None:
    """Whether a page with these QR codes is a separator, and of which dossier."""
    named = sorted({c.text for c in codes if c.text and is_dossier_code(c.text)})
    if len(named) == 1:
        return Separator(page_no, named[0], named[0])
    if len(named) > 1:  # two dossiers on one sheet: which one is not guessed
        return Separator(page_no, " | ".join(named), None)
    if any(c.text is None and c.side >= LARGE_QR_SIDE for c in codes):
        return Separator(page_no, None, None)
    return None


def _pages(pdf: pikepdf.Pdf) -> Iterator[tuple[int, Image.Image | None]]:
    for number, page in enumerate(pdf.pages, start=1):
        try:
            yield number, page_image(page)
        except Exception as exc:  # an image the decoders cannot read: no QR from it
            log.warning("page %d: image not readable for QR codes (%s: %s)", number,
                        type(exc).__name__, exc)
            yield number, None


def read_separators(path: Path) -> Scan | None:
    """The separators of a PDF, or None when it has none or cannot be read here (then
    the file is archived whole, exactly as a file without QR codes; the OCR step judges
    a broken file as it always has)."""
    started = time.perf_counter()
    separators: list[Separator] = []
    try:
        with pikepdf.open(path) as pdf:
            page_count = len(pdf.pages)
            if page_count < 2:
                return None
            for number, image in _pages(pdf):
                if image is None:
                    continue
                found = separator_of(number, read_qr(image))
                if found is not None:
                    separators.append(found)
    except Exception as exc:  # encrypted, damaged: not ours to decide here
        log.info("%s: not read for QR separators (%s: %s)", visible(path.name),
                 type(exc).__name__, exc)
        return None
    seconds = time.perf_counter() - started
    if not separators:
        return None
    return Scan(page_count, tuple(separators), seconds)


def plan_parts(scan: Scan, known: Callable[[str], bool]) -> list[PartPlan]:
    """The parts of a batch: the pages before the first separator (if any), then the pages
    after each separator up to the next. A separator with no page after it makes no part.
    Empty when no separator leads any page (a lone receipt at the end of a scan): the
    file is then archived whole."""
    seps = scan.separators
    spans: list[tuple[int, int, Separator | None]] = []
    if seps[0].page > 1:
        spans.append((1, seps[0].page - 1, None))
    for i, sep in enumerate(seps):
        end = seps[i + 1].page - 1 if i + 1 < len(seps) else scan.page_count
        if sep.page + 1 <= end:
            spans.append((sep.page + 1, end, sep))
    if all(lead is None for _first, _last, lead in spans):
        return []
    parts = []
    for number, (first, last, lead) in enumerate(spans, start=1):
        code: str | None = None
        if lead is None:
            reason: str | None = "qr_before_first_cover"
        elif lead.code is None:
            reason = "qr_ambiguous" if lead.qr_text else "qr_unreadable"
        elif known(lead.code):
            code, reason = lead.code, None
        else:
            reason = "qr_unknown_code"
        parts.append(PartPlan(number, first, last, lead.page if lead else None,
                              lead.qr_text if lead else None, code, reason))
    return parts


# ---- writing -------------------------------------------------------------------------


def part_name(batch_name: str, plan: PartPlan) -> str:
    stem = batch_name[:-4] if batch_name.lower().endswith(".pdf") else batch_name
    pages = (f"trang-{plan.first_page}" if plan.first_page == plan.last_page
             else f"trang-{plan.first_page}-{plan.last_page}")
    return f"{stem}_{pages}.pdf"


def write_parts(ws: Workspace, batch: Path, batch_name: str, plan: list[PartPlan],
                tmp: Path) -> list[WrittenPart]:
    """Each part as a PDF of the batch's own pages, durably in the store under its hash.
    The same batch gives the same bytes on every run, so a rerun after a crash adopts
    what the first run wrote."""
    tmp.mkdir(parents=True, exist_ok=True)
    written = []
    with pikepdf.open(batch) as src:
        for part in plan:
            out = pikepdf.new()
            try:
                out.pages.extend(src.pages[part.first_page - 1:part.last_page])
                produced = tmp / f"part-{part.part_no}.pdf"
                out.save(produced, deterministic_id=True)
            finally:
                out.close()
            sha256 = store.sha256_file(produced)
            relpath = store.original_relpath(sha256, ".pdf")
            store.durable_move_into_store(produced, ws.absolute(relpath))
            written.append(WrittenPart(part, sha256, relpath, part_name(batch_name, part)))
    return written


def record_split(conn: sqlite3.Connection, ws: Workspace, *, intake_row: sqlite3.Row,
                 sha256: str, relpath: str, size: int, scan: Scan, parts: list[WrittenPart],
                 register: Callable[[sqlite3.Connection, Path], int], actor: str) -> list[int]:
    """The batch, its parts and their intake rows, in the caller's transaction; returns
    the parts' intake ids (to be run next)."""
    cur = conn.execute(
        "INSERT INTO batches (sha256, original_name, original_path, size, page_count,"
        " intake_id, qr_seconds, split_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (sha256, intake_row["original_name"], relpath, size, scan.page_count,
         intake_row["id"], round(scan.seconds, 3), db.now()))
    batch_id = int(cur.lastrowid or 0)
    children: list[int] = []
    for part in parts:
        child = register(conn, ws.absolute(part.relpath))
        conn.execute("UPDATE intake SET original_name = ? WHERE id = ?", (part.name, child))
        p = part.plan
        conn.execute(
            "INSERT INTO batch_parts (batch_id, part_no, first_page, last_page, cover_page,"
            " qr_text, dossier_code, reason, sha256, original_path, intake_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (batch_id, p.part_no, p.first_page, p.last_page, p.cover_page, p.qr_text,
             p.dossier_code, p.reason, part.sha256, part.relpath, child))
        if child not in children:
            children.append(child)
    audit.record(conn, "split", f"batch:{batch_id}", actor, {
        "original_name": intake_row["original_name"], "sha256": sha256,
        "pages": scan.page_count, "separators": [s.page for s in scan.separators],
        "parts": [{"pages": [p.plan.first_page, p.plan.last_page],
                   "dossier_code": p.plan.dossier_code, "reason": p.plan.reason,
                   "sha256": p.sha256} for p in parts]})
    return children


def split_message(parts: list[WrittenPart], batch_name: str) -> str:
    """What the clerk reads about the batch file (Vietnamese)."""
    filed = [p.plan for p in parts if p.plan.dossier_code]
    unfiled = [p.plan for p in parts if p.plan.reason]
    text = f"Đã tách thành {len(parts)} phần theo mã QR trên tờ bìa"
    if filed:
        text += "; " + ", ".join(
            f"trang {page_span(p.first_page, p.last_page)} vào hồ sơ {p.dossier_code}"
            for p in filed)
    if unfiled:
        text += "; chưa gắn hồ sơ: " + ", ".join(
            f"trang {page_span(p.first_page, p.last_page)} "
            f"({reason_text(p.reason, p.qr_text, batch_name)})"
            for p in unfiled)
    return text + "."


def reason_text(reason: str | None, qr_text: str | None, batch_name: str) -> str:
    """Why a part is not filed, as the sentence people read (without its final stop)."""
    hint = batch_name if reason == "qr_before_first_cover" else qr_text
    return labels.unfiled_reason(reason, hint).rstrip(".")


def reason_hint(part: sqlite3.Row) -> str | None:
    """What `labels.unfiled_reason` quotes for a part: the code read, or the batch's name."""
    if part["reason"] == "qr_before_first_cover":
        return str(part["batch_name"])
    text: str | None = part["qr_text"]
    return text


def page_span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


# ---- reading back --------------------------------------------------------------------


def batch_by_sha256(conn: sqlite3.Connection, sha256: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM batches WHERE sha256 = ?", (sha256,)).fetchone()
    return row


def part_of_intake(conn: sqlite3.Connection, intake_id: int) -> sqlite3.Row | None:
    """The batch part an intake row carries, or None for a file dropped by a person."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT p.*, b.original_name AS batch_name FROM batch_parts p"
        " JOIN batches b ON b.id = p.batch_id WHERE p.intake_id = ?"
        " ORDER BY p.batch_id, p.part_no LIMIT 1", (intake_id,)).fetchone()
    return row


def part_of_document(conn: sqlite3.Connection, document_id: int) -> dict[str, Any] | None:
    """Where a document came from when it is a part of a batch scan: the batch's name,
    the page range, the cover page, and why it is not filed (if it is not)."""
    row = conn.execute(
        "SELECT p.*, b.original_name AS batch_name, b.page_count AS batch_pages"
        " FROM batch_parts p JOIN batches b ON b.id = p.batch_id"
        " JOIN intake i ON i.id = p.intake_id WHERE i.document_id = ?"
        " ORDER BY p.batch_id, p.part_no LIMIT 1", (document_id,)).fetchone()
    if row is None:
        return None
    return {"batch_id": row["batch_id"], "batch_name": visible(row["batch_name"]),
            "batch_pages": row["batch_pages"], "first_page": row["first_page"],
            "last_page": row["last_page"], "pages": page_span(row["first_page"], row["last_page"]),
            "cover_page": row["cover_page"],
            "qr_text": visible(row["qr_text"]) if row["qr_text"] else None,
            "reason": row["reason"],
            "reason_label": reason_text(row["reason"], row["qr_text"], row["batch_name"])}


def waiting_parts(conn: sqlite3.Connection, batch_id: int) -> list[int]:
    """Intake rows of a batch's parts still to run (after a crash before they ran)."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT i.id FROM batch_parts p JOIN intake i ON i.id = p.intake_id"
        " WHERE p.batch_id = ? AND i.state IN ('pending', 'retry') ORDER BY i.id",
        (batch_id,))]


def unfiled_parts(conn: sqlite3.Connection, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """Parts of batch scans archived (or on their way) without a dossier, each with its
    reason, newest batch first; and how many there are in all. A part filed by hand
    since (`motcua assign`) is no longer listed."""
    where = (" FROM batch_parts p JOIN batches b ON b.id = p.batch_id"
             " JOIN intake i ON i.id = p.intake_id"
             " LEFT JOIN documents d ON d.id = i.document_id"
             " WHERE p.reason IS NOT NULL AND d.dossier_code IS NULL")
    total = int(conn.execute("SELECT COUNT(*)" + where).fetchone()[0])
    rows = conn.execute(
        "SELECT p.batch_id, p.part_no, p.first_page, p.last_page, p.cover_page, p.qr_text,"
        " p.reason, b.original_name AS batch_name, b.split_at, i.document_id,"
        " i.state AS intake_state" + where + " ORDER BY p.batch_id DESC, p.part_no LIMIT ?",
        (limit,)).fetchall()
    return total, [
        {"batch_id": r["batch_id"], "batch_name": visible(r["batch_name"]),
         "part_no": r["part_no"], "first_page": r["first_page"], "last_page": r["last_page"],
         "pages": page_span(r["first_page"], r["last_page"]), "cover_page": r["cover_page"],
         "qr_text": visible(r["qr_text"]) if r["qr_text"] else None,
         "reason": r["reason"],
         "reason_label": reason_text(r["reason"], r["qr_text"], r["batch_name"]),
         "document_id": r["document_id"], "intake_state": r["intake_state"],
         "split_at": r["split_at"]}
        for r in rows]
