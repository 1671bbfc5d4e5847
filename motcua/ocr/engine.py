"""Any accepted input → archival PDF/A-2b with a text layer, plus per-page text.

A scanner's PDF (every page one JPEG drawn over the page; images are wrapped so)
is read by :mod:`motcua.ocr.plugin`'s Tesseract runs and gets its text layer from
:mod:`motcua.ocr.textlayer`, without OCRmyPDF (issue 15: its fixed per-file work
cost more than the time goal allowed). Any other file is OCRmyPDF's (PDF/A,
grafting the text layer, skipping pages that already carry text), with the same
plugin reading the pages. Either way, skewed pages are then straightened by a
rotation in the page's content stream (the JPEG is not decoded or re-encoded),
because pdftotext reads the text layer of a skewed page out of order (CER 10%
office / 35% poor, issue 2).
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import img2pdf
import pikepdf
import pikepdf.pdfa
from ocrmypdf.models.ocr_element import OcrElement
from PIL import Image, UnidentifiedImageError

from motcua.errors import BadInputFile, TransientError, UserError, disk_full
from motcua.ocr import pdfa_check, plugin, textlayer
from motcua.ocr.plugin import OcrTimeout, PageOcr, TesseractFailed, clean_text

log = logging.getLogger("motcua.ocr")

# One Tesseract thread per page: parallelism comes from pages and files, and
# OpenMP threads on top of that only fight over the same two cores.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff")
MEDIA_TYPES = ("application/pdf", *IMAGE_TYPES)
#: Assumed when an image does not say its resolution: what scanners default to.
DEFAULT_IMAGE_DPI = 300
#: Skew below this is left alone: it cannot mix up lines (0.05° over an A4
#: line moves its end by 0.15 mm).
MIN_DESKEW_DEG = 0.05
#: Beyond this a "skew" is more likely a misread line than a tilted page.
MAX_DESKEW_DEG = 10.0
#: Pages one Tesseract process reads at most: few enough that the runs of a long file
#: spread over the cores as they come free, enough that loading the model (~0.08 CPU-s)
#: is a small part of a run (~1.8 CPU-s a page).
RUN_PAGES = 4

ENCRYPTED_VI = (
    "Tệp PDF được đặt mật khẩu nên không thể số hóa. Hãy gỡ mật khẩu hoặc quét lại bản giấy."
)


@dataclass(frozen=True)
class OcrSettings:
    language: str = "vie"
    jobs: int = 1  # parallel pages within this one file
    confidence_threshold: float = 70.0  # below this a page is flagged needs_rescan
    timeout_seconds: float = 600.0
    memory_mb: int = 0  # the worker's address-space limit, quoted in messages (0: none)
    #: How Tesseract makes the page black and white: "sauvola" (local; default since
    #: issue 15) or "otsu" (Tesseract's own default, global). See plugin.THRESHOLDING.
    thresholding: str = "sauvola"
    #: A second model ("Vietnamese", Debian's script model) for pages the first reads
    #: with a mean word confidence below ``retry_below``; the better reading is kept.
    #: Empty: one model only (the default; README "OCR settings" gives the trade).
    retry_language: str = ""
    retry_below: float = 90.0


@dataclass(frozen=True)
class PageText:
    page_no: int  # 1-based
    text: str  # NFC, in reading order
    confidence: float | None  # mean hOCR x_wconf 0–100; None if not OCR'd
    ocr_done: bool
    needs_rescan: bool


@dataclass(frozen=True)
class OcrOutcome:
    pages: tuple[PageText, ...]
    seconds: float
    #: What was taken out of the archival copy (JavaScript, attachments, an XFA form,
    #: substituted fonts); the original in the store keeps all of it.
    changes: tuple[str, ...] = ()
    peak_rss_kb: int = 0  # the worker's peak memory, filled in by the worker


@functools.cache
def installed_languages() -> frozenset[str]:
    """The language models this machine's Tesseract has (asked once per process).

    Read from `tesseract --list-langs` itself: pytesseract's parser drops models whose
    name is capitalised, such as Debian's script model `Vietnamese`."""
    try:
        proc = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(
            "Chưa cài Tesseract (công cụ nhận dạng chữ). Hãy chạy scripts/setup.sh.",
            f"tesseract --list-langs failed: {exc}",
        ) from exc
    lines = proc.stdout.splitlines()[1:]  # the first line names the tessdata folder
    return frozenset(line.strip() for line in lines if line.strip())


def check_language(language: str) -> None:
    """Fail before any file is touched if a configured OCR model is missing, rather than
    sending every scan of the day to retry and then to quarantine."""
    missing = [lang for lang in language.split("+") if lang not in installed_languages()]
    if missing:
        raise UserError(
            f"Tesseract chưa có mô hình ngôn ngữ {', '.join(missing)} ([ocr] language = "
            f"“{language}” trong motcua.toml). Hãy cài gói tesseract-ocr-vie (chạy "
            "scripts/setup.sh) hoặc sửa cấu hình.",
            f"tesseract lacks language(s) {missing}; has {sorted(installed_languages())}",
        )


def check_thresholding(name: str) -> None:
    """Fail at start-up, not on every file, if ``[ocr] thresholding`` names no method."""
    if name not in plugin.THRESHOLDING:
        raise UserError(
            f"Cấu hình [ocr] thresholding = “{name}” không hợp lệ; hãy dùng một trong: "
            f"{', '.join(plugin.THRESHOLDING)}.",
            f"unknown thresholding {name!r}",
        )


def make_archival(
    source: Path, media_type: str, output_pdf: Path, settings: OcrSettings
) -> OcrOutcome:
    """Write ``output_pdf`` (PDF/A-2b, text layer) from ``source``; return page texts.

    ``source`` is only read. Raises :class:`BadInputFile` when the content is
    the problem and :class:`TransientError` when a tool failed, timed out or
    the disk is full.
    """
    started = time.monotonic()
    check_thresholding(settings.thresholding)
    if media_type not in MEDIA_TYPES:
        raise BadInputFile(
            "Loại tệp này không được hỗ trợ để số hóa. "
            "Hãy quét lại thành PDF, JPEG, PNG hoặc TIFF.",
            f"unsupported media type {media_type!r}",
        )
    output_pdf = Path(output_pdf)
    work = Path(tempfile.mkdtemp(prefix="motcua-ocr-", dir=output_pdf.parent))
    done = False
    changes: list[str] = []
    try:
        if media_type == "application/pdf":
            input_pdf = _sanitise_pdf(Path(source), work / "sanitised.pdf", changes)
        else:
            input_pdf = _image_to_pdf(Path(source), media_type, work / "images.pdf", changes)
        ocr_pdf = work / "ocr.pdf"
        deadline = started + settings.timeout_seconds
        progress = progress_path(output_pdf)
        _start_progress(progress, input_pdf)
        direct = _run_direct(input_pdf, output_pdf, work, settings, deadline, progress)
        if direct is not None:
            page_count, pages_ocr = direct
        else:
            pages_ocr = _run_ocrmypdf(input_pdf, ocr_pdf, settings, deadline, progress)
            page_count = _finish(ocr_pdf, output_pdf, pages_ocr)
        pages = _page_texts(output_pdf, page_count, pages_ocr, settings)
        done = True
    except OSError as exc:
        raise _os_error(exc) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
        progress_path(output_pdf).unlink(missing_ok=True)
        if not done:
            # No half-made archival file for the caller to mistake for a result.
            output_pdf.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    log.info(
        "%s: %d pages, %d OCR'd, %.1f s",
        Path(source).name,
        len(pages),
        sum(p.ocr_done for p in pages),
        seconds,
    )
    return OcrOutcome(pages=tuple(pages), seconds=seconds, changes=tuple(changes))


# --- progress -------------------------------------------------------------------
#
# While a file is OCR'd, `<output>.progress` beside the output says how far it got: the
# page count on the first line, then the number of each page read. Whoever waits on the
# file (the pipeline, on this machine or through the shared store) reads it; nothing
# else depends on it, and it is gone when make_archival returns.


def progress_path(output_pdf: Path) -> Path:
    return output_pdf.with_name(output_pdf.name + ".progress")


def _start_progress(progress: Path, input_pdf: Path) -> None:
    try:
        with pikepdf.open(input_pdf) as pdf:
            total = len(pdf.pages)
        progress.write_text(f"{total}\n", encoding="ascii")
    except (OSError, pikepdf.PdfError) as exc:
        log.debug("progress %s: %s", progress, exc)


def read_progress(output_pdf: Path) -> tuple[int, int] | None:
    """(pages read, pages in all) of a file being OCR'd to `output_pdf`, or None."""
    try:
        lines = progress_path(output_pdf).read_text(encoding="ascii").split()
        return len(set(lines[1:])), int(lines[0])
    except (OSError, ValueError, IndexError):
        return None


# --- images → PDF ---------------------------------------------------------------


#: Image modes a PDF/A page can show as they are (img2pdf embeds them unchanged).
_PDF_MODES = ("1", "L", "RGB", "P", "LA", "RGBA", "PA")


def _image_to_pdf(source: Path, media_type: str, out: Path, changes: list[str]) -> Path:
    """Wrap the image(s) in a PDF without recompression (img2pdf), one page per frame.

    16-bit and CMYK images are the exception: PDF/A with an sRGB output intent cannot
    show CMYK, and img2pdf takes no 16-bit samples, so those frames are converted to
    8-bit grey or RGB, losslessly compressed (PNG); the original stays in the store.
    """
    try:
        with Image.open(source) as im:
            dpi = im.info.get("dpi")
            mode = im.mode
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputFile(
            "Không đọc được ảnh quét: tệp bị hỏng hoặc không phải ảnh. Hãy quét lại tài liệu.",
            f"image unreadable: {exc}",
        ) from exc
    if media_type == "image/jpeg" and not _jpeg_complete(source):
        raise BadInputFile(
            "Ảnh JPEG bị cắt cụt (tệp chưa được ghi hết). Hãy quét hoặc sao chép lại tệp.",
            "JPEG has no end-of-image marker: truncated",
        )
    layout = img2pdf.default_layout_fun
    if not dpi or not (100 <= float(dpi[0]) <= 2400):
        # No resolution, or a camera's nominal 72 dpi: img2pdf would make an A4
        # scan a metre wide. Scanners default to 300.
        layout = img2pdf.get_fixed_dpi_layout_fun((DEFAULT_IMAGE_DPI, DEFAULT_IMAGE_DPI))
    if mode not in _PDF_MODES:
        changes.append(f"image mode {mode} converted to 8-bit for PDF/A")
        out.write_bytes(_convert_frames(source, layout))
        return out
    try:
        data = img2pdf.convert(str(source), layout_fun=layout)
    except img2pdf.AlphaChannelError:
        data = _flatten_alpha(source, layout)
    except (
        img2pdf.ImageOpenError,
        UnidentifiedImageError,
        ValueError,
        SyntaxError,
        OSError,
    ) as exc:
        # OSError here is Pillow decoding a broken frame ("image file is
        # truncated"), not the disk: the output is written below.
        raise BadInputFile(
            "Không đọc được ảnh quét: tệp bị hỏng hoặc không đúng định dạng. "
            "Hãy quét lại tài liệu.",
            f"img2pdf failed: {exc}",
        ) from exc
    out.write_bytes(data)
    return out


def _jpeg_complete(source: Path) -> bool:
    # A scanner writes the end-of-image marker last; some tools pad after it.
    with source.open("rb") as f:
        f.seek(max(0, source.stat().st_size - 4096))
        tail = f.read().rstrip(b"\x00\r\n ")
    return tail.endswith(b"\xff\xd9")


def _convert_frames(source: Path, layout: Any) -> bytes:
    frames: list[bytes] = []
    try:
        with Image.open(source) as im:
            dpi = im.info.get("dpi", (DEFAULT_IMAGE_DPI, DEFAULT_IMAGE_DPI))
            for index in range(getattr(im, "n_frames", 1)):
                im.seek(index)
                if im.mode.startswith("I;16") or im.mode in ("I", "F"):
                    # Scale the sample range down to 8 bits, keeping the contrast.
                    wide = im.convert("I")
                    extrema = wide.getextrema()
                    low, high = int(extrema[0]), int(extrema[1])  # type: ignore[arg-type]
                    scale = 255 / max(1, high - low)
                    frame = wide.point(lambda v, lo=low, k=scale: (v - lo) * k).convert("L")
                else:
                    frame = im.convert("RGB")
                buf = io.BytesIO()
                frame.save(buf, format="PNG", dpi=dpi, compress_level=1)
                frames.append(buf.getvalue())
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadInputFile(
            "Không đọc được ảnh quét: tệp bị hỏng hoặc không đúng định dạng. "
            "Hãy quét lại tài liệu.",
            f"converting {source.name}: {exc}",
        ) from exc
    return bytes(img2pdf.convert(frames, layout_fun=layout))


def _flatten_alpha(source: Path, layout: Any) -> bytes:
    # PDF/A-2 allows transparency only as a soft mask; a scan has no use for
    # it, so composite on white, losslessly (PNG), once.
    frames: list[bytes] = []
    with Image.open(source) as im:
        dpi = im.info.get("dpi", (DEFAULT_IMAGE_DPI, DEFAULT_IMAGE_DPI))
        for index in range(getattr(im, "n_frames", 1)):
            im.seek(index)
            rgba = im.convert("RGBA")
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            buf = io.BytesIO()
            flat.save(buf, format="PNG", dpi=dpi, compress_level=1)
            frames.append(buf.getvalue())
    return bytes(img2pdf.convert(frames, layout_fun=layout))


# --- PDFs: drop what the PDF/A writer cannot vouch for --------------------------------

_UNRECOGNISED = re.compile(r"unrecognized key\(s\) (.+?) are not checked")
_OBJ = re.compile(r"^obj (\d+) (\d+)\b")


def _sanitise_pdf(source: Path, out: Path, changes: list[str]) -> Path:
    """``source``, or a copy the PDF/A writer can vouch for.

    What is taken out never matters to an archival copy, and each removal is listed in
    ``changes`` (the original in the store keeps everything):

    * an owner password (a file that opens without one): the restriction goes;
    * active content: JavaScript, launch and submit actions, automatic actions,
      embedded files, an XFA form; PDF/A forbids them, and they are what a malicious
      PDF carries;
    * fonts only listed, never used (reportlab always lists Helvetica);
    * keys the internal PDF/A backend cannot check and only matter on screen (the
      page transition /Trans reportlab writes on every page).

    Fonts that are used but not embedded (the standard 14: Helvetica, Times, Courier,
    as generators and e-forms write them) are then embedded by Ghostscript, which
    substitutes its metric-compatible URW fonts: same widths, same text.
    """
    try:
        with pikepdf.open(source) as pdf:
            if len(pdf.pages) == 0:
                raise BadInputFile(
                    "Tệp PDF không có trang nào. Hãy kiểm tra tệp gốc và quét lại.", "zero pages"
                )
            removed: list[str] = []
            if pdf.is_encrypted:
                removed.append("owner-password restrictions")
            removed += _remove_active_content(pdf)
            removed += _fix_page_boxes(pdf)
            removed += _drop_unused_fonts(pdf)
            report = pdfa_check.check(pdf)
            for finding in report.findings:
                keys, where = _UNRECOGNISED.search(finding.message), _OBJ.match(finding.where)
                if finding.kind != "unsupported" or keys is None or where is None:
                    continue
                obj = pdf.get_object(int(where.group(1)), int(where.group(2)))
                for key in re.findall(r"/[^\s,]+", keys.group(1)):
                    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and key in obj:
                        del obj[key]
                        removed.append(f"{finding.where} {key}")
            unembedded = _unembedded_fonts(pdf)
            if not removed and not unembedded:
                return source
            if removed:
                log.info("%s: removed for PDF/A: %s", source.name, "; ".join(removed[:10]))
                changes.extend(removed)
            pdf.save(out, encryption=False)
    except pikepdf.PasswordError as exc:
        raise BadInputFile(
            ENCRYPTED_VI,
            f"encrypted PDF: {exc}",
        ) from exc
    except (pikepdf.PdfError, RecursionError) as exc:
        raise BadInputFile(
            "Tệp PDF bị hỏng hoặc không đầy đủ. Hãy kiểm tra tệp gốc và quét lại.",
            f"pikepdf: {exc}",
        ) from exc
    if unembedded:
        embedded = out.with_name("fonts-embedded.pdf")
        _embed_fonts(out, embedded)
        changes.append("fonts embedded (metric-compatible substitutes): "
                       + ", ".join(sorted(unembedded)))
        return embedded
    return out


#: Actions that run something, reach out or change the file: never in an archival copy.
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/ResetForm",
                   "/Rendition", "/Sound", "/Movie", "/RichMediaExecute", "/GoToE", "/Hide",
                   "/SetOCGState", "/Trans", "/GoTo3DView"}
#: Annotations that carry files, media or scripts.
_ACTIVE_ANNOTS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}


def _remove_active_content(pdf: pikepdf.Pdf) -> list[str]:
    removed: list[str] = []
    root = pdf.Root
    for key in ("/OpenAction", "/AA"):
        if key in root:
            target = root[key]
            # An OpenAction that is a plain destination (an array) only opens a page.
            if key == "/OpenAction" and isinstance(target, pikepdf.Array):
                continue
            del root[key]
            removed.append(f"document {key}")
    if "/AF" in root:  # associated files (PDF 2.0 attachments)
        del root["/AF"]
        removed.append("document /AF")
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                del names[key]
                removed.append(f"document /Names {key}")
    if "/AcroForm" in root:
        # A form (XFA or not) becomes what it shows: the fields' appearances are drawn
        # into the pages, so a filled-in value stays visible and searchable.
        form = root.AcroForm
        for key in ("/XFA", "/NeedsRendering"):
            if isinstance(form, pikepdf.Dictionary) and key in form:
                removed.append(f"form {key}")
        pdf.flatten_annotations(mode="all")
        if "/AcroForm" in root:
            del root["/AcroForm"]
        removed.append("interactive form flattened")
    for number, page in enumerate(pdf.pages, 1):
        for key in ("/AA", "/AF"):
            if key in page.obj:
                del page.obj[key]
                removed.append(f"page {number} {key}")
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        kept = pikepdf.Array()
        for annot in annots:
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            if annot.get("/Subtype") in _ACTIVE_ANNOTS:
                removed.append(f"page {number} {annot.get('/Subtype')} annotation")
                continue
            if "/AA" in annot:
                del annot["/AA"]
                removed.append(f"page {number} annotation /AA")
            action = annot.get("/A")
            if isinstance(action, pikepdf.Dictionary) and action.get("/S") in _ACTIVE_ACTIONS:
                del annot["/A"]
                removed.append(f"page {number} annotation action {action.get('/S')}")
            kept.append(annot)
        if len(kept) != len(annots):
            page.obj.Annots = kept
    return removed


def _fix_page_boxes(pdf: pikepdf.Pdf) -> list[str]:
    """A page whose MediaBox has no area (0 0 0 0) shows nothing; give it the size of
    the image it holds at its resolution, else A4, so that it can be OCR'd and viewed."""
    fixed: list[str] = []
    for number, page in enumerate(pdf.pages, 1):
        try:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        except (ValueError, TypeError):
            x0 = y0 = x1 = y1 = 0.0
        if abs(x1 - x0) >= 1 and abs(y1 - y0) >= 1:
            continue
        width, height = 595.0, 842.0
        for image in page.images.values():
            w, h = int(image.get("/Width", 0)), int(image.get("/Height", 0))
            if w and h:
                width, height = w * 72 / DEFAULT_IMAGE_DPI, h * 72 / DEFAULT_IMAGE_DPI
                break
        page.obj.MediaBox = [0, 0, width, height]
        for key in ("/CropBox", "/TrimBox", "/BleedBox", "/ArtBox"):
            if key in page.obj:
                del page.obj[key]
        fixed.append(f"page {number} empty MediaBox set to {width:.0f}x{height:.0f} pt")
    return fixed


def _unembedded_fonts(pdf: pikepdf.Pdf) -> set[str]:
    """Names of the fonts in the file that carry no font program."""
    found: set[str] = set()
    for obj in _page_fonts(pdf):
        subtype = obj.get("/Subtype")
        if subtype == "/Type3":
            continue  # glyphs drawn by content streams: nothing to embed
        font: pikepdf.Object = obj
        if subtype == "/Type0":
            descendants = obj.get("/DescendantFonts")
            if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
                continue
            font = descendants[0]
        descriptor = font.get("/FontDescriptor")
        if not isinstance(descriptor, pikepdf.Dictionary) or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            found.add(str(obj.get("/BaseFont", "?")).lstrip("/"))
    return found


def _page_fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The fonts the pages' resources name, forms and annotation appearances included."""
    fonts: list[pikepdf.Dictionary] = []
    seen: set[tuple[int, int]] = set()
    todo: list[Any] = []
    for page in pdf.pages:
        todo.append(page.obj.get("/Resources"))
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            appearance = annot.get("/AP") if isinstance(annot, pikepdf.Dictionary) else None
            if isinstance(appearance, pikepdf.Dictionary):
                todo += [v for v in appearance.values() if isinstance(v, pikepdf.Stream)]
    while todo:
        item = todo.pop()
        if isinstance(item, pikepdf.Stream):
            if item.is_indirect:
                if item.objgen in seen:
                    continue
                seen.add(item.objgen)
            item = item.get("/Resources")
        if not isinstance(item, pikepdf.Dictionary):
            continue
        font_dict = item.get("/Font")
        if isinstance(font_dict, pikepdf.Dictionary):
            fonts += [f for f in font_dict.values() if isinstance(f, pikepdf.Dictionary)]
        xobjects = item.get("/XObject")
        if isinstance(xobjects, pikepdf.Dictionary):
            todo += [x for x in xobjects.values()
                     if isinstance(x, pikepdf.Stream) and x.get("/Subtype") == "/Form"]
    return fonts


#: Ghostscript rewrites the file only to embed fonts: images pass through as they are
#: (no downsampling, no JPEG re-encoding, no colour conversion), pages keep their turn.
_GS_EMBED = [
    "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
    "-dEmbedAllFonts=true", "-dSubsetFonts=true", "-dAutoRotatePages=/None",
    "-dPassThroughJPEGImages=true", "-dPassThroughJPXImages=true",
    "-dAutoFilterColorImages=false", "-dAutoFilterGrayImages=false",
    "-dColorImageFilter=/FlateEncode", "-dGrayImageFilter=/FlateEncode",
    "-dDownsampleColorImages=false", "-dDownsampleGrayImages=false",
    "-dDownsampleMonoImages=false", "-sColorConversionStrategy=LeaveColorUnchanged",
]


def _embed_fonts(source: Path, out: Path) -> None:
    try:
        # Ghostscript never embeds the standard 14 fonts unless told their list is empty.
        proc = subprocess.run([*_GS_EMBED, f"-sOutputFile={out}", "-c",
                               "<< /NeverEmbed [ ] >> setdistillerparams", "-f", str(source)],
                              capture_output=True, timeout=300)
    except subprocess.TimeoutExpired as exc:
        raise BadInputFile(
            "Không nhúng được phông chữ cho tệp PDF này trong thời gian cho phép. Hãy xuất "
            "lại tệp với tùy chọn nhúng phông chữ (embed fonts) hoặc in ra rồi quét lại.",
            f"ghostscript font embedding timed out: {exc}",
        ) from exc
    if proc.returncode != 0 or not out.exists():
        raise BadInputFile(
            "Tệp PDF dùng phông chữ không được nhúng và không thay thế được. Hãy xuất lại tệp "
            "với tùy chọn nhúng phông chữ (embed fonts) hoặc in ra rồi quét lại.",
            f"ghostscript exit {proc.returncode}: "
            f"{proc.stderr.decode('utf-8', 'replace')[-300:]}",
        )


def _fonts_showing_text(page: pikepdf.Page) -> set[str]:
    # A font only selected (reportlab's "BT /F1 12 Tf ET" on every page) never
    # needs its glyphs; only a text-showing operator makes it used.
    used: set[str] = set()
    current: str | None = None
    stack: list[str | None] = []
    for instruction in pikepdf.parse_content_stream(page):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue  # inline image
        operands, op = instruction.operands, str(instruction.operator)
        if op == "Tf" and operands:
            current = str(operands[0])
        elif op in ("Tj", "TJ", "'", '"') and current is not None:
            used.add(current)
        elif op == "q":
            stack.append(current)
        elif op == "Q" and stack:
            current = stack.pop()
    return used


def _fonts_selected(page: pikepdf.Page) -> set[str]:
    return {
        str(instruction.operands[0])
        for instruction in pikepdf.parse_content_stream(page, "Tf")
        if isinstance(instruction, pikepdf.ContentStreamInstruction) and instruction.operands
    }


def _drop_unused_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """Remove page font resources no text is shown with (reportlab always lists Helvetica).

    An unembedded font makes PDF/A impossible without Ghostscript, but one that
    is only listed, never used, costs nothing to drop. Pages with form
    XObjects that inherit the page's resources are left alone.
    """
    removed: list[str] = []
    for number, page in enumerate(pdf.pages, 1):
        fonts = page.resources.get("/Font")
        if not isinstance(fonts, pikepdf.Dictionary) or len(fonts) == 0:
            continue
        xobjects = page.resources.get("/XObject", pikepdf.Dictionary())
        if any(x.get("/Subtype") == "/Form" and "/Resources" not in x for x in xobjects.values()):
            continue
        used = _fonts_showing_text(page)
        unused = {str(k) for k in fonts} - used
        # Pages sharing one resource dictionary (reportlab's multi-page files): a
        # font dropped on an earlier page is still selected by this page's operators.
        dangling = _fonts_selected(page) - used - {str(k) for k in fonts}
        if not unused and not dangling:
            continue
        for name in unused:
            del fonts[name]
            removed.append(f"page {number} unused font {name}")
        unused |= dangling
        # The selecting operators go too: a Tf naming a missing resource is
        # itself a PDF/A violation.
        kept = [
            instruction
            for instruction in pikepdf.parse_content_stream(page)
            if not (
                isinstance(instruction, pikepdf.ContentStreamInstruction)
                and str(instruction.operator) == "Tf"
                and instruction.operands
                and str(instruction.operands[0]) in unused
            )
        ]
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(kept))
    return removed


# --- scanner PDFs: our own text layer ----------------------------------------------


def _run_direct(
    input_pdf: Path, output_pdf: Path, work: Path, settings: OcrSettings, deadline: float,
    progress: Path | None,
) -> tuple[int, dict[int, PageOcr]] | None:
    """OCR a file whose every page is one scanner JPEG without OCRmyPDF (see
    :mod:`motcua.ocr.textlayer`); write ``output_pdf`` and return (pages, what was read).

    None if the file is not of that kind, or (never seen) if the result would not pass
    as PDF/A-2b: then OCRmyPDF does the file."""
    state = plugin.RunState(deadline, settings.thresholding, settings.retry_language,
                            settings.retry_below, progress=progress)
    try:
        with pikepdf.open(input_pdf) as pdf:
            images = [plugin.scan_image(page) for page in pdf.pages]
            if not images or any(image is None for image in images):
                return None
            places = _placements(pdf, images)
            if places is None:
                return None
            files: list[Path] = []
            for number, (image, place) in enumerate(zip(images, places, strict=True), 1):
                assert image is not None
                # As OCRmyPDF would: the resolution the image is drawn at.
                dpi = min(65535, max(1, round(place.px_width * 72 / place.width)))
                files.append(work / f"page-{number:05d}.jpg")
                files[-1].write_bytes(plugin.with_density(bytes(image.read_raw_bytes()), dpi))
            trees = _read_pages(files, settings, state)
            font: pikepdf.Dictionary | None = None
            for page, tree, place in zip(pdf.pages, trees, places, strict=True):
                layer = textlayer.text_layer(tree, place)
                if not layer:
                    continue
                font = font if font is not None else textlayer.add_font(pdf)
                resources = page.obj.Resources
                if "/Font" not in resources:
                    resources.Font = pikepdf.Dictionary()
                resources.Font[textlayer.FONT_KEY] = font
                # The scan's own drawing in q/Q, so the text is placed in page space.
                page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
                page.contents_add(pikepdf.Stream(pdf, b"\nQ\n" + layer))
            _straighten(pdf, state.pages)
            count = len(pdf.pages)
            # Declares PDF/A-2b (output intent, XMP), writes, and validates the bytes
            # written; a file that fails is not written.
            pikepdf.pdfa.save(pdf, output_pdf, "2b")
    except OcrTimeout as exc:
        raise _too_long(input_pdf, settings, len(state.read), str(exc)) from exc
    except TesseractFailed as exc:
        raise _tesseract_failed(exc) from exc
    except pikepdf.pdfa.PdfaError as exc:
        log.warning("%s: own text layer not PDF/A-2b (%s); OCRmyPDF does the file",
                    input_pdf.name, exc)
        return None
    except pikepdf.PdfError as exc:
        raise BadInputFile(
            "Tệp PDF bị hỏng hoặc không đầy đủ. Hãy kiểm tra tệp gốc và quét lại.",
            f"pikepdf: {exc}",
        ) from exc
    return count, dict(state.pages)


def _placements(pdf: pikepdf.Pdf, images: list[pikepdf.Stream | None]
                ) -> list[textlayer.Placement] | None:
    """Where each page's image lies, or None if a page's box or image size is unusable
    (OCRmyPDF then judges the file)."""
    places = []
    for page, image in zip(pdf.pages, images, strict=True):
        try:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            width, height = int(image.Width), int(image.Height)  # type: ignore[union-attr]
        except (AttributeError, KeyError, TypeError, ValueError):
            return None
        if x1 - x0 < 1 or y1 - y0 < 1 or width < 1 or height < 1:
            return None
        places.append(textlayer.Placement(x0, y0, x1 - x0, y1 - y0, width, height))
    return places


def _read_pages(files: list[Path], settings: OcrSettings, state: plugin.RunState
                ) -> list[OcrElement]:
    """hOCR trees of the page images, in order.

    Up to ``jobs`` Tesseract processes at a time, each reading a run of consecutive pages
    (at most RUN_PAGES): a process per page would load the model every page (~0.08 CPU-s
    of a ~1.8 s page). Each run waits for a free core (:func:`plugin.cpu_slot`), so files
    in flight together share the cores run by run rather than crowd them; short runs let
    a long file's pages go to whichever core comes free first. Fewer processes than
    ``jobs`` leave a core idle at the end of a run of files (tried: two pages at least per
    process cut CPU time but cost wall time on the bench)."""
    languages = settings.language.split("+")
    count = max(1, min(settings.jobs, len(files)))
    runs = max(count, math.ceil(len(files) / RUN_PAGES))
    numbered = list(enumerate(files, 1))
    # Consecutive runs of pages, as even as can be.
    cuts = [round(k * len(files) / runs) for k in range(runs + 1)]
    batches = [numbered[a:b] for a, b in itertools.pairwise(cuts)]
    with ThreadPoolExecutor(count, thread_name_prefix="motcua-ocr") as pool:
        futures = [pool.submit(plugin.read_pages, [f for _, f in batch], [n for n, _ in batch],
                               languages, state) for batch in batches]
        try:
            return [tree for future in futures for tree, _ in future.result()]
        except BaseException:
            # Runs not started are dropped; those running end at the deadline at most.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


# --- OCRmyPDF --------------------------------------------------------------------


def _run_ocrmypdf(
    input_pdf: Path, ocr_pdf: Path, settings: OcrSettings, deadline: float,
    progress: Path | None = None,
) -> dict[int, PageOcr]:
    import ocrmypdf
    from ocrmypdf import exceptions as ox

    key = str(ocr_pdf)
    plugin.begin_run(key, deadline, settings.thresholding, settings.retry_language,
                     settings.retry_below, progress)
    pages: dict[int, PageOcr] = {}
    try:
        ocrmypdf.ocr(
            input_pdf,
            ocr_pdf,
            language=settings.language.split("+"),
            output_type="pdfa-2",
            # Debian's Ghostscript 10.0.0 makes OCRmyPDF refuse skip mode with
            # the Ghostscript backend, and that backend fails on slightly
            # malformed scanner PDFs; the internal one also never re-encodes.
            pdfa_backend="internal",
            mode="skip",  # pages that already carry text are not OCR'd again
            jobs=max(1, settings.jobs),
            use_threads=True,  # no child processes: we may run in a pool worker
            optimize=0,  # would only recompress images we keep as they are
            fast_web_view=1e9,  # never linearize: one more full rewrite for nothing
            invalidate_digital_signatures=True,  # the signed original stays in the store
            progress_bar=False,
            plugins=["motcua.ocr.plugin"],
        )
    except OcrTimeout as exc:
        # The same file takes as long next time: settle it now, with how to split it.
        pages = plugin.end_run(key)
        raise _too_long(input_pdf, settings, len(pages), str(exc)) from exc
    except TesseractFailed as exc:
        raise _tesseract_failed(exc) from exc
    except ox.EncryptedPdfError as exc:
        raise BadInputFile(
            ENCRYPTED_VI,
            f"encrypted PDF: {exc}",
        ) from exc
    except (ox.InputFileError, ox.UnsupportedImageFormatError, ox.DpiError) as exc:
        raise BadInputFile(
            "Tệp bị hỏng hoặc không đọc được nội dung. Hãy kiểm tra tệp gốc và quét lại.",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    except ox.MissingDependencyError as exc:
        raise TransientError(
            "Thiếu công cụ xử lý PDF trên máy này. Hãy chạy scripts/setup.sh; tệp sẽ được xử "
            "lý lại.", f"{type(exc).__name__}: {exc}",
        ) from exc
    except (ox.SubprocessOutputError, ox.ExitCodeException) as exc:
        # The same file fails the same way next time: settle it now, saying what to do.
        raise BadInputFile(
            "Không tạo được bản lưu trữ PDF/A cho tệp này: nội dung tệp có cấu trúc mà công cụ "
            "chuyển đổi không xử lý được. Hãy xuất lại tệp từ phần mềm gốc (hoặc in ra rồi "
            "quét lại) và đặt lại vào thư mục nhận.",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    except pikepdf.PdfError as exc:
        raise BadInputFile(
            "Tệp PDF bị hỏng hoặc không đầy đủ. Hãy kiểm tra tệp gốc và quét lại.",
            f"pikepdf: {exc}",
        ) from exc
    finally:
        pages = plugin.end_run(key) or pages
    return pages


def _tesseract_failed(exc: TesseractFailed) -> TransientError | BadInputFile:
    if "signal" in str(exc).lower() or "-9" in str(exc):
        return TransientError(
            "Công cụ nhận dạng chữ (Tesseract) bị dừng đột ngột. Hệ thống sẽ thử lại sau.",
            str(exc),
        )
    return BadInputFile(
        "Công cụ nhận dạng chữ (Tesseract) không đọc được các trang của tệp này. Hãy quét "
        "lại tài liệu (200–300 dpi, ảnh rõ) rồi đặt lại vào thư mục nhận.", str(exc)
    )


def _too_long(input_pdf: Path, settings: OcrSettings, done: int, detail: str) -> BadInputFile:
    try:
        with pikepdf.open(input_pdf) as pdf:
            total = len(pdf.pages)
    except pikepdf.PdfError:
        total = 0
    # Parts that leave a margin: what was read in the time allowed, less a fifth.
    part = max(1, int(done * 0.8)) if done else max(1, total // 4 or 1)
    return BadInputFile(
        f"Tệp có {total} trang, không nhận dạng chữ xong trong {settings.timeout_seconds:.0f} "
        f"giây cho phép (đã đọc {done} trang). Hãy tách tệp thành các phần khoảng {part} "
        f"trang (ví dụ “qpdf --split-pages={part} tep.pdf phan-%d.pdf”) rồi đặt từng phần vào "
        "thư mục nhận; hoặc nhờ cán bộ kỹ thuật tăng [ocr] timeout_seconds trong motcua.toml.",
        f"OCR timeout after {done}/{total} pages: {detail}",
    )


# --- straighten, then read back ----------------------------------------------------


def _rotation_about(cx: float, cy: float, degrees: float) -> tuple[float, ...]:
    r = math.radians(degrees)
    a, b = math.cos(r), math.sin(r)
    return (a, b, -b, a, cx - (a * cx - b * cy), cy - (b * cx + a * cy))


def _straighten(pdf: pikepdf.Pdf, pages_ocr: dict[int, PageOcr]) -> bool:
    """Turn OCR'd pages upright (/Rotate) and level (a rotation in the content stream,
    the image neither decoded nor re-encoded); say whether any page changed."""
    changed = False
    for page_no, info in pages_ocr.items():
        page = pdf.pages[page_no - 1]
        if info.rotate:
            page.obj.Rotate = (int(page.obj.get("/Rotate", 0)) + info.rotate) % 360
            changed = True
        if MIN_DESKEW_DEG <= abs(info.skew_deg) <= MAX_DESKEW_DEG:
            # Turning the whole content (image and text layer together)
            # keeps them aligned and makes the text lines horizontal, so
            # extraction reads them in order. Rotations commute, so this is
            # right whatever /Rotate the page has.
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            m = _rotation_about((x0 + x1) / 2, (y0 + y1) / 2, -info.skew_deg)
            cm = " ".join(f"{v:.6f}" for v in m)
            page.contents_add(pikepdf.Stream(pdf, f"q {cm} cm\n".encode()), prepend=True)
            page.contents_add(pikepdf.Stream(pdf, b"\nQ\n"))
            changed = True
    return changed


def _finish(ocr_pdf: Path, output_pdf: Path, pages_ocr: dict[int, PageOcr]) -> int:
    """Deskew and orient OCRmyPDF's pages in place of the content stream; write output_pdf."""
    with pikepdf.open(ocr_pdf) as pdf:
        count = len(pdf.pages)
        if count == 0:
            raise BadInputFile("Tệp PDF không có trang nào. Hãy quét lại tài liệu.", "zero pages")
        changed = _straighten(pdf, pages_ocr)
        if changed:
            pdf.save(output_pdf)
    if changed and not _still_pdfa(output_pdf):
        # Never trade PDF/A for straightness: keep OCRmyPDF's own output.
        log.warning("%s: straightened file failed PDF/A check; keeping it unturned", ocr_pdf)
        changed = False
    if not changed:
        shutil.copyfile(ocr_pdf, output_pdf)
    return count


def _still_pdfa(path: Path) -> bool:
    with pikepdf.open(path) as pdf:
        return pdfa_check.check(pdf).passed


def _pdftotext_pages(pdf: Path, count: int) -> list[str]:
    proc = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=120
    )
    if proc.returncode != 0:
        raise TransientError(
            "Không đọc được chữ từ bản lưu trữ PDF. Hệ thống sẽ thử lại sau.",
            f"pdftotext exit {proc.returncode}: {proc.stderr.decode('utf-8', 'replace')[-300:]}",
        )
    texts = proc.stdout.decode("utf-8", "replace").split("\f")
    return [clean_text(t) for t in (texts + [""] * count)[:count]]


def _page_texts(
    output_pdf: Path, count: int, pages_ocr: dict[int, PageOcr], settings: OcrSettings
) -> list[PageText]:
    extracted = _pdftotext_pages(output_pdf, count) if len(pages_ocr) < count else []
    result: list[PageText] = []
    for page_no in range(1, count + 1):
        info = pages_ocr.get(page_no)
        if info is None:
            result.append(PageText(page_no, extracted[page_no - 1].strip(), None, False, False))
            continue
        needs_rescan = info.confidence < settings.confidence_threshold
        result.append(PageText(page_no, info.text.strip(), info.confidence, True, needs_rescan))
    return result


def _os_error(exc: OSError) -> TransientError:
    full = disk_full(exc, "during OCR")
    if full is not None:
        return full
    return TransientError(
        "Lỗi đọc/ghi tệp khi số hóa. Hệ thống sẽ thử lại sau.", f"{type(exc).__name__}: {exc}"
    )
