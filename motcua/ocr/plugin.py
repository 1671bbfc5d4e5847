"""OCRmyPDF plugin: feed Tesseract the scanner's own JPEG, OCR once, keep what it said.

Loaded by name (``plugins=["motcua.ocr.plugin"]``) from :mod:`motcua.ocr.engine`.
Two hooks replace OCRmyPDF's defaults:

``rasterize_pdf_page``
    A scanned page is usually one JPEG drawn over the whole page. OCRmyPDF would
    render it with Ghostscript/pdfium and write a PNG (≈1.6 s of a 2.4 s page,
    measured in issue 2); Tesseract reads the JPEG as it is, so we hand it the
    embedded stream's bytes. Any other page falls through to the default.

``get_ocr_engine``
    One Tesseract run per page writing hOCR
    (:func:`read_pages`, which :mod:`motcua.ocr.engine` also calls directly for
    scanner PDFs with a run of several pages per process). From the
    hOCR we keep per-page mean word confidence, the skew angle and the
    orientation, which :mod:`motcua.ocr.engine` uses to straighten the page
    after OCRmyPDF has finished, without re-encoding the image. Orientation
    detection (OCRmyPDF's ``--rotate-pages``: a ``--psm 0`` pass on every
    page, ≈0.4-0.6 s against ≈1.3 s of OCR) runs only when a page reads
    badly, as a page on its side or upside down does (mean confidence ≈40
    against ≈90-96 upright); such a page is then read again with ``--psm 1``.

OCRmyPDF runs its page workers as threads (``use_threads=True``), so results
go to a process-global registry keyed by the run's output file.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import functools
import itertools
import logging
import math
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from ocrmypdf import hookimpl
from ocrmypdf._exec import tesseract as ocrmypdf_tesseract
from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOcrEngine
from ocrmypdf.hocrtransform.hocr_parser import HocrParser
from ocrmypdf.models.ocr_element import OcrElement

from motcua.workspace import usable_cores

log = logging.getLogger("motcua.ocr")

# OCRmyPDF asks `tesseract --version` four times and `--list-langs` once for every
# file (0.1–0.3 s of each file's fixed start-up on a busy machine, issue 15); the
# answers cannot change in a worker's life, so a warm worker asks once.
if not hasattr(ocrmypdf_tesseract.version, "cache_info"):
    ocrmypdf_tesseract.version = functools.cache(ocrmypdf_tesseract.version)
    ocrmypdf_tesseract.get_languages = functools.cache(ocrmypdf_tesseract.get_languages)


class OcrTimeout(Exception):
    """The file's OCR deadline passed while Tesseract was still running."""


class TesseractFailed(Exception):
    """Tesseract exited with an error or produced no output."""


@dataclass(frozen=True)
class PageOcr:
    """What one Tesseract run said about one page."""

    page_no: int  # 1-based
    text: str  # as Tesseract's plain-text renderer writes it (page_text), NFC, U+2044 → "/"
    confidence: float  # mean x_wconf over words, 0–100; 0 when no word was found
    words: int
    skew_deg: float  # counter-clockwise tilt of the text lines as seen on the page
    rotate: int  # clockwise /Rotate that shows the page upright (0, 90, 180, 270)


#: Tesseract's ``thresholding_method`` by name. Sauvola (local, adaptive) turns uneven
#: lighting, faded toner, bleed-through and seals into clean text where the default
#: global Otsu loses whole paragraphs to them: bare ``tesseract -l vie`` 1.97% CER on
#: issue 15's office scans and 7.32% on poor ones, 0.40% and 0.74% with Sauvola, at
#: the same speed.
THRESHOLDING = {"otsu": 0, "adaptive-otsu": 1, "sauvola": 2}


@dataclass
class RunState:
    deadline: float  # time.monotonic() value
    thresholding: str = "sauvola"
    #: A second model for pages the first reads with a mean confidence below
    #: ``retry_below`` ("" for none); the better-scoring reading is kept.
    retry_language: str = ""
    retry_below: float = 0.0
    pages: dict[int, PageOcr] = field(default_factory=dict)
    progress: Path | None = None  # one line appended per page read (engine.progress_path)
    #: Pages Tesseract has finished, before any follow-up (what a timeout reports).
    read: set[int] = field(default_factory=set)


_RUNS: dict[str, RunState] = {}
_RUNS_LOCK = threading.Lock()


def begin_run(key: str, deadline: float, thresholding: str = "sauvola",
              retry_language: str = "", retry_below: float = 0.0,
              progress: Path | None = None) -> None:
    with _RUNS_LOCK:
        _RUNS[key] = RunState(deadline, thresholding, retry_language, retry_below,
                              progress=progress)


def end_run(key: str) -> dict[int, PageOcr]:
    with _RUNS_LOCK:
        state = _RUNS.pop(key, None)
    return {} if state is None else dict(state.pages)


def _state_for(options: Any) -> RunState | None:
    with _RUNS_LOCK:
        return _RUNS.get(str(options.output_file))


def clean_text(text: str) -> str:
    # Tesseract sometimes reads "/" as FRACTION SLASH, which breaks searching
    # for document numbers like 118/2025/NĐ-CP.
    return unicodedata.normalize("NFC", text).replace("\u2044", "/")


# --- rasterize: pass the scanner's JPEG straight through -----------------------

_ALLOWED_OPS = {"q", "Q", "cm", "Do"}


def page_jpeg(input_file: Path, pageno: int) -> bytes | None:
    """The page's JPEG bytes if the page is exactly one JPEG drawn over the page."""
    with pikepdf.open(input_file) as pdf:
        found = scan_image(pdf.pages[pageno - 1])
        return None if found is None else bytes(found.read_raw_bytes())


def scan_image(page: pikepdf.Page) -> pikepdf.Stream | None:
    """The page's image if the page is exactly one 8-bit grey or RGB JPEG drawn over the
    whole page (a scanner's page), else None."""
    if int(page.obj.get("/Rotate", 0)) % 360:
        return None
    xobjects = page.resources.get("/XObject", pikepdf.Dictionary())
    if len(xobjects) != 1:
        return None
    ((name, image),) = xobjects.items()
    if image.get("/Subtype") != "/Image":
        return None
    filters = image.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        filters = filters[0] if len(filters) == 1 else None
    if filters != "/DCTDecode" or int(image.get("/BitsPerComponent", 0)) != 8:
        return None
    if image.get("/ColorSpace") not in ("/DeviceGray", "/DeviceRGB"):
        return None
    if any(k in image for k in ("/Decode", "/SMask", "/Mask", "/ImageMask")):
        return None
    matrix = None
    for instruction in pikepdf.parse_content_stream(page):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            return None  # an inline image: not a plain scan page
        operands, op = instruction.operands, str(instruction.operator)
        if op not in _ALLOWED_OPS:
            return None
        if op == "cm":
            matrix = [float(v) for v in operands]
        elif op == "Do" and operands[0] != name:
            return None
    if matrix is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    a, b, c, d, e, f = matrix
    covers = (
        abs(b) < 1e-6
        and abs(c) < 1e-6
        and abs(a - (x1 - x0)) < 1.0
        and abs(d - (y1 - y0)) < 1.0
        and abs(e - x0) < 1.0
        and abs(f - y0) < 1.0
    )
    return image if covers and isinstance(image, pikepdf.Stream) else None


def with_density(jpeg: bytes, dpi: int) -> bytes:
    """The same JPEG with its JFIF header saying ``dpi`` (no pixel is touched)."""
    density = bytes([1]) + dpi.to_bytes(2, "big") * 2
    if jpeg[2:4] == b"\xff\xe0" and jpeg[6:11] == b"JFIF\x00":
        return jpeg[:13] + density + jpeg[18:]
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01" + density + b"\x00\x00"
    return jpeg[:2] + app0 + jpeg[2:]


@hookimpl
def rasterize_pdf_page(
    input_file: Path,
    output_file: Path,
    raster_device: Any,
    raster_dpi: Any,
    pageno: int,
    page_dpi: Any,
    rotation: int | None,
    filter_vector: bool,
    stop_on_soft_error: bool,
    options: Any,
    use_cropbox: bool,
) -> Path | None:
    if rotation or filter_vector:
        return None
    try:
        jpeg = page_jpeg(Path(input_file), pageno)
    except (pikepdf.PdfError, ValueError, KeyError, TypeError) as exc:
        log.debug("page %d: JPEG pass-through not possible (%s)", pageno, exc)
        return None
    if jpeg is None:
        return None
    dpi = page_dpi if page_dpi is not None else raster_dpi
    # The file keeps OCRmyPDF's ".png" name: Pillow and Leptonica go by content.
    Path(output_file).write_bytes(with_density(jpeg, round(dpi.to_scalar())))
    log.debug("page %d: scanner JPEG handed to OCR as is (%d bytes)", pageno, len(jpeg))
    return Path(output_file)


# --- OCR engine: one Tesseract run, hOCR + text --------------------------------


def _vertical_turn(line: OcrElement) -> int:
    """270 or 90 for a line read running down or up the image, else 0.

    Without orientation detection Tesseract still reads a page turned a
    quarter (text running down the image), but says so only through a tall,
    thin line box (sometimes a steep baseline), never a textangle. The order
    of its words tells which way the text runs.
    """
    box = line.bbox
    words = [w for w in line.children if w.ocr_class == "ocrx_word" and w.bbox is not None]
    if box is None or box.height < 2 * box.width or len(words) < 2:
        return 0
    first, last = words[0].bbox, words[-1].bbox
    assert first is not None and last is not None
    return 270 if last.top > first.top else 90


def _page_stats(tree: OcrElement) -> tuple[float, int, float, int]:
    """Mean word confidence, word count, skew (degrees, CCW) and /Rotate.

    Marks lines Tesseract read running down or up the image with a textangle.
    """
    words = [w for w in tree.iter_by_class("ocrx_word") if (w.text or "").strip()]
    confs = [w.confidence for w in words if w.confidence is not None]
    # The parser stores x_wconf as 0–1. A page where Tesseract found no word at
    # all scores 0: it may be a blank back side, but it may as well be a scan
    # too faint or noisy to read, and only a person can tell which.
    mean = 100.0 * statistics.fmean(confs) if confs else 0.0

    angles: list[float] = []
    weights: list[float] = []
    turns: dict[int, int] = {}
    for line in tree.iter_by_class("ocr_line", "ocr_header", "ocr_caption", "ocr_textfloat"):
        angle = round(line.textangle or 0.0) % 360
        if angle == 0:
            angle = _vertical_turn(line)
            if angle:
                # Say it the way --psm 1 does, so the text layer is drawn along
                # the line rather than squeezed across it.
                line.textangle, line.baseline = float(angle), None
        turns[angle] = turns.get(angle, 0) + 1
        if angle or line.baseline is None or line.bbox is None:
            continue
        # hOCR's y axis points down: a line rising to the right has a negative slope.
        angles.append(-math.degrees(math.atan(line.baseline.slope)))
        weights.append(line.bbox.width)
    textangle = max(turns, key=lambda k: turns[k]) if turns else 0
    skew = 0.0
    if angles:
        # Weighted median: long lines measure the tilt best, and one mis-fitted
        # short line must not tilt the whole page.
        pairs = sorted(zip(angles, weights, strict=True))
        half, acc = sum(weights) / 2, 0.0
        for value, weight in pairs:
            acc += weight
            if acc >= half:
                skew = value
                break
    rotate = {0: 0, 90: 90, 180: 180, 270: 270}.get(textangle, 0)
    return mean, len(words), skew, rotate


def _normalise_words(tree: OcrElement) -> None:
    for word in tree.iter_by_class("ocrx_word"):
        if word.text and "\u2044" in word.text:
            word.text = word.text.replace("\u2044", "/")


#: A gap between two words of one line wider than this many line heights reads, to
#: pdftotext, as a column break.
WIDE_GAP_LINE_HEIGHTS = 1.5
_LINE_CLASSES = ("ocr_line", "ocr_header", "ocr_footer", "ocr_caption", "ocr_textfloat")


def bridge_wide_gaps(tree: OcrElement) -> int:
    """Stretch the invisible word before a wide gap to meet the next word; count them.

    Tesseract reads a two-column header whose columns share baselines row by row
    ("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI…"), and its plain text says so. Drawn word by
    word where the ink is, the text layer keeps the gap, and pdftotext's layout
    analysis takes it for a column break and reads the header column by column, so
    the archived text no longer says what Tesseract read (issue 15). With the gap
    covered by the preceding word's glyphs, the line is one run for pdftotext; only
    the invisible text's selection box for that word grows. Lines keep their place.
    """
    bridged = 0
    for line in tree.iter_by_class(*_LINE_CLASSES):
        if line.bbox is None or line.textangle:
            continue
        height = line.bbox.bottom - line.bbox.top
        words = [w for w in line.children
                 if w.ocr_class == "ocrx_word" and w.bbox is not None and (w.text or "").strip()]
        for word, following in itertools.pairwise(words):
            assert word.bbox is not None and following.bbox is not None
            gap = following.bbox.left - word.bbox.right
            if gap > WIDE_GAP_LINE_HEIGHTS * height:
                # Leave an ordinary word space (a third of the line height).
                word.bbox.right = following.bbox.left - height / 3
                bridged += 1
    return bridged


#: Upright text reads at a mean word confidence of ~90-96 even on poor scans,
#: a page on its side or upside down at ~40. Only a page below this pays for
#: orientation detection, so upright pages (nearly all) cost one plain run.
ORIENTATION_DOUBT = 60.0
#: Orientation detection needs some text to go on; fewer words is a blank page.
ORIENTATION_MIN_WORDS = 10


#: How often a Tesseract run waiting for a core looks again (a page takes ~2 s).
SLOT_POLL_SECONDS = 0.03


def _slot_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"motcua-ocr-slots-{os.getuid()}"


@contextlib.contextmanager
def cpu_slot(deadline: float) -> Iterator[None]:
    """Hold one of this machine's Tesseract slots, one a core, while a run goes on.

    The pipeline OCRs a file per core and lets each file read its pages on every core, so
    that no core idles while the last long file of a batch finishes; uncapped that is
    cores² Tesseract processes on ``cores`` cores, and their switching over shared caches
    cost ~5% CPU and more wall time than bare Tesseract, which runs one a core (issue 15).
    The slots are lock files (``flock``): shared by every process of the machine's user
    (pool workers, Celery workers, a second ``motcua`` command), released by the kernel
    when a process dies."""
    folder = _slot_folder()
    folder.mkdir(mode=0o700, exist_ok=True)
    count = usable_cores()
    # Start the search at a different slot per thread so waiters do not all knock at one.
    first = (os.getpid() + threading.get_ident()) % count
    while True:
        for k in range(count):
            fd = os.open(folder / f"slot-{(first + k) % count}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            try:
                yield
            finally:
                os.close(fd)  # releases the lock
            return
        if time.monotonic() >= deadline:
            raise OcrTimeout("deadline passed while waiting for a free core")
        time.sleep(SLOT_POLL_SECONDS)


def _tesseract(args: list[str], deadline: float, image: Path) -> subprocess.CompletedProcess[bytes]:
    with cpu_slot(deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OcrTimeout("deadline passed before Tesseract started")
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        try:
            return subprocess.run(
                ["tesseract", *args], env=env, capture_output=True, timeout=remaining,
                check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise OcrTimeout(f"tesseract ran past the deadline on {image.name}") from exc


_PAGE_LINE = re.compile(r"^Page \d+ : (.*)$")


def run_tesseract(
    image: Path, out_base: Path, languages: list[str], deadline: float, psm: int = 3,
    thresholding: str = "sauvola", on_page: Callable[[str], None] | None = None,
) -> None:
    """One recognition run writing ``out_base``.hocr (the page text is taken from it:
    :func:`page_text`; Tesseract's own text renderer walked the results a second time
    for the same words, ~2% of a page's CPU).

    ``image`` may be a list of image files, one a line: Tesseract reads them in turn,
    writing one hOCR, and names each page on stderr as it starts it, which ``on_page``
    hears. Runs in one of the machine's :func:`cpu_slot`."""
    with cpu_slot(deadline):
        _run_tesseract(image, out_base, languages, deadline, psm, thresholding, on_page)


def _run_tesseract(
    image: Path, out_base: Path, languages: list[str], deadline: float, psm: int,
    thresholding: str, on_page: Callable[[str], None] | None,
) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OcrTimeout("deadline passed before Tesseract started")
    lang = "+".join(languages)
    args = ["tesseract", str(image), str(out_base), "-l", lang, "--psm", str(psm),
            "-c", f"thresholding_method={THRESHOLDING[thresholding]}", "hocr"]
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    tail: collections.deque[str] = collections.deque(maxlen=20)
    proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timer = threading.Timer(remaining, proc.kill)
    timer.start()
    try:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            tail.append(line)
            match = _PAGE_LINE.match(line)
            if match and on_page is not None:
                on_page(match.group(1))
        returncode = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    if returncode != 0 and time.monotonic() >= deadline:
        raise OcrTimeout(f"tesseract ran past the deadline on {image.name}")
    if returncode != 0 or not out_base.with_suffix(".hocr").exists():
        stderr = "\n".join(tail).strip()
        raise TesseractFailed(f"tesseract exit {returncode}: {stderr[-500:]}")


def detect_rotation(image: Path, deadline: float) -> int:
    """Clockwise rotation Tesseract's orientation detection sees, or 0."""
    proc = _tesseract([str(image), "-", "--psm", "0"], deadline, image)
    match = re.search(rb"Rotate: (\d+)", proc.stdout)
    # A failure here ("too few characters") just means: no evidence of rotation.
    return int(match.group(1)) % 360 if proc.returncode == 0 and match else 0


def page_text(tree: OcrElement) -> str:
    """The page's text as Tesseract's text renderer writes it: words of a line parted by
    spaces, a line per line, a blank line after each paragraph."""
    paragraphs = []
    for paragraph in tree.iter_by_class("ocr_par"):
        lines = []
        for line in paragraph.children:
            words = [w.text for w in line.children if w.ocr_class == "ocrx_word" and w.text]
            lines.append(" ".join(words) + "\n")
        paragraphs.append("".join(lines))
    return "\n".join(paragraphs)


def _read(out_base: Path, page_no: int) -> tuple[OcrElement, PageOcr]:
    tree = HocrParser(out_base.with_suffix(".hocr")).parse()
    text = clean_text(page_text(tree))
    _normalise_words(tree)
    bridge_wide_gaps(tree)
    confidence, words, skew, rotate = _page_stats(tree)
    return tree, PageOcr(page_no, text, confidence, words, skew, rotate)


class MotcuaTesseract(TesseractOcrEngine):
    """Tesseract through OCRmyPDF's ``generate_ocr`` API, recording page facts."""

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(
        input_file: Path, options: Any, page_number: int = 0
    ) -> tuple[OcrElement, str]:
        state = _state_for(options) or RunState(deadline=time.monotonic() + 600.0)
        tree, page = read_page(Path(input_file), page_number + 1, list(options.languages), state)
        return tree, page.text


def read_page(image: Path, page_no: int, languages: list[str], state: RunState
              ) -> tuple[OcrElement, PageOcr]:
    """Read one page image (:func:`read_pages` of one)."""
    return read_pages([image], [page_no], languages, state)[0]


def read_pages(images: list[Path], page_numbers: list[int], languages: list[str],
               state: RunState) -> list[tuple[OcrElement, PageOcr]]:
    """Read page images in turn with one Tesseract process, then follow up doubtful pages
    (a second model, orientation detection) one by one; record each page in ``state``.

    One process for several pages loads the model once: Tesseract's start-up is
    ~0.2 CPU-s of a ~2 s page, which bare Tesseract pays per page (issue 15)."""
    first = images[0]
    base = first.with_name(f"{first.stem}_motcua_run")
    listing = base.with_suffix(".list")
    listing.write_text("".join(f"{image}\n" for image in images), encoding="utf-8")
    numbers = {str(image): n for image, n in zip(images, page_numbers, strict=True)}
    started: list[int] = []

    def page_read(page_no: int) -> None:
        with _RUNS_LOCK:
            state.read.add(page_no)
        if state.progress is not None:
            _note_page(state.progress, page_no)

    def page_started(path: str) -> None:
        # Tesseract names each page as it starts it: the one before is read.
        if started:
            page_read(started[-1])
        if path in numbers:
            started.append(numbers[path])

    run_tesseract(listing, base, languages, state.deadline, thresholding=state.thresholding,
                  on_page=page_started)
    if started:
        page_read(started[-1])
    hocr_pages = split_hocr(base.with_suffix(".hocr").read_text(encoding="utf-8"))
    if len(hocr_pages) != len(images):
        raise TesseractFailed(f"tesseract read {len(hocr_pages)} of {len(images)} pages")
    results = []
    for image, page_no, page_hocr in zip(images, page_numbers, hocr_pages, strict=True):
        page_base = image.with_name(f"{image.stem}_motcua")
        page_base.with_suffix(".hocr").write_text(page_hocr, encoding="utf-8")
        tree, page = _follow_up(image, *_read(page_base, page_no), languages, state)
        with _RUNS_LOCK:
            state.pages[page.page_no] = page
        log.debug(
            "page %d: %d words, confidence %.1f, skew %.2f°, rotate %d",
            page.page_no,
            page.words,
            page.confidence,
            page.skew_deg,
            page.rotate,
        )
        results.append((tree, page))
    return results


_PAGE_DIV = re.compile(r"(?=^ *<div class='ocr_page')", re.MULTILINE)
_HOCR_END = re.compile(r"\s*</body>\s*</html>\s*$")


def split_hocr(hocr: str) -> list[str]:
    """One hOCR document per page of Tesseract's multi-page hOCR."""
    head, *pages = _PAGE_DIV.split(hocr)
    if pages:
        pages[-1] = _HOCR_END.sub("\n", pages[-1])
    return [f"{head}{page.rstrip()}\n </body>\n</html>\n" for page in pages]


def _follow_up(image: Path, tree: OcrElement, page: PageOcr, languages: list[str],
               state: RunState) -> tuple[OcrElement, PageOcr]:
    deadline, thresholding = state.deadline, state.thresholding
    if state.retry_language and ORIENTATION_DOUBT <= page.confidence < state.retry_below:
        # A page read with doubt: the other model may read it better.
        other = image.with_name(f"{image.stem}_motcua_retry")
        run_tesseract(image, other, state.retry_language.split("+"), deadline,
                      thresholding=thresholding)
        tree2, page2 = _read(other, page.page_no)
        log.debug("page %d: %s confidence %.1f, %s %.1f", page.page_no, "+".join(languages),
                  page.confidence, state.retry_language, page2.confidence)
        if page2.confidence > page.confidence:
            tree, page = tree2, page2
    if page.confidence < ORIENTATION_DOUBT and page.words >= ORIENTATION_MIN_WORDS:
        turn = detect_rotation(image, deadline)
        log.debug(
            "page %d: low confidence %.1f, orientation says %d°",
            page.page_no,
            page.confidence,
            turn,
        )
        if turn:
            # --psm 1 recognises the page in its detected orientation and
            # reports it as textangle, which the renderer and _page_stats
            # turn into rotated text and /Rotate.
            turned = image.with_name(f"{image.stem}_motcua_osd")
            run_tesseract(image, turned, languages, deadline, psm=1,
                          thresholding=thresholding)
            tree2, page2 = _read(turned, page.page_no)
            if page2.confidence > page.confidence:
                tree, page = tree2, page2
    return tree, page


def _note_page(progress: Path, page_no: int) -> None:
    """Progress for whoever waits on this file (a line per page; appends of a few bytes
    are atomic). Best effort: progress is never worth failing a page for."""
    try:
        with progress.open("a", encoding="ascii") as fh:
            fh.write(f"{page_no}\n")
    except OSError as exc:
        log.debug("progress %s: %s", progress, exc)


@hookimpl
def get_ocr_engine(options: Any) -> MotcuaTesseract:
    return MotcuaTesseract()
