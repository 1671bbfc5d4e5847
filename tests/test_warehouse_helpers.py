"""Helpers for the warehouse tests (no tests here): synthetic scans, PDF/A via OCRmyPDF,
and archived `documents` rows inserted directly, so OCR is not on the critical path."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import img2pdf
from PIL import Image, ImageDraw, ImageFont

from motcua import db
from motcua.archive import store
from motcua.workspace import Workspace

SERIF = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"
DPI = 200
MM = DPI / 25.4

LINES = [
    ("bold", "ỦY BAN NHÂN DÂN XÃ GIA LỘC"),
    ("regular", "Số: 07/GKS-UBND"),
    ("bold", "GIẤY KHAI SINH"),
    ("regular", "Họ và tên: Nguyễn Thị Hồng Nhung"),
    ("regular", "Ngày sinh: 05 tháng 01 năm 2020"),
    ("regular", "Nơi sinh: Trạm y tế xã Gia Lộc, thành phố Hải Phòng"),
    ("regular", "Số định danh cá nhân: 031320001234"),
    ("regular", "Họ và tên mẹ: Trần Thị Mai"),
    ("regular", "Họ và tên cha: Nguyễn Văn Hùng"),
]


def make_scan_png(path: Path, lines: list[tuple[str, str]] | None = None) -> Path:
    """An A4 page at 200 dpi, text set in Nghị định 30 margins (top 22 mm, left 32 mm)."""
    width, height = round(210 * MM), round(297 * MM)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    regular = ImageFont.truetype(SERIF, round(13 / 72 * DPI))
    bold = ImageFont.truetype(SERIF_BOLD, round(13 / 72 * DPI))
    y = 22 * MM
    for style, text in lines or LINES:
        draw.text((32 * MM, y), text, fill=0, font=bold if style == "bold" else regular)
        y += 11 * MM
    image.save(path, dpi=(DPI, DPI))
    return path


def make_pdfa(tmp: Path, name: str = "scan", lines: list[tuple[str, str]] | None = None,
              ocr: bool = True) -> Path:
    """A one-page scanned PDF/A-2b with an OCR text layer (or none with ocr=False)."""
    import ocrmypdf

    png = make_scan_png(tmp / f"{name}.png", lines)
    raw = tmp / f"{name}-raw.pdf"
    raw.write_bytes(img2pdf.convert(str(png)))
    out = tmp / f"{name}.pdf"
    ocrmypdf.ocr(raw, out, language=["vie"], output_type="pdfa-2",
                 tesseract_timeout=120 if ocr else 0,
                 progress_bar=False, optimize=0)
    return out


def insert_archived(ws: Workspace, conn: sqlite3.Connection, pdf: Path,
                    dossier_code: str | None = None, original_name: str | None = None,
                    text: str = "", archival: Path | None = None) -> int:
    """Put `pdf` in the store as original and (or `archival`) as archival copy; add its row."""
    data = pdf.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    orig_rel = store.original_relpath(sha, ".pdf")
    arch_rel = store.archival_relpath(sha)
    store.durable_copy(pdf, ws.root / orig_rel, ws.tmp, sha)
    arch_sha = store.durable_copy(archival or pdf, ws.root / arch_rel, ws.tmp, None)
    now = db.now()
    with db.transaction(conn):
        if dossier_code is not None:
            conn.execute("INSERT OR IGNORE INTO dossiers (code, created_at) VALUES (?, ?)",
                         (dossier_code, now))
        cur = conn.execute(
            "INSERT INTO documents (sha256, original_name, media_type, size, original_path,"
            " archival_path, archival_sha256, page_count, dossier_code, dossier_source, state,"
            " ingested_at, updated_at) VALUES (?, ?, 'application/pdf', ?, ?, ?, ?, 1, ?, ?,"
            " 'archived', ?, ?)",
            (sha, original_name or pdf.name, len(data), orig_rel, arch_rel, arch_sha,
             dossier_code, "manual" if dossier_code else None, now, now),
        )
        doc_id = int(cur.lastrowid or 0)
        conn.execute("INSERT INTO pages (document_id, page_no, text, confidence, ocr_done)"
                     " VALUES (?, 1, ?, NULL, 0)", (doc_id, text))
    return doc_id


def copy_variant(pdf: Path, dest: Path, salt: str) -> Path:
    """The same PDF with different bytes (a trailing comment), so it gets its own sha."""
    shutil.copyfile(pdf, dest)
    with dest.open("ab") as fh:
        fh.write(f"\n% {salt}\n".encode())
    return dest
