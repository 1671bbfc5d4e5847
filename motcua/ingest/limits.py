"""Limits on what one file may cost, checked before any work is done on it.

A 270 KB PDF may declare a 2-gigapixel image, a 475 KB page may inflate to 400 MiB,
a PNG may hold a 900-megapixel canvas in a few kilobytes: one such file must not take
the machine (and every file after it) down. Each is measured from the file's own
declarations (image sizes, page count) and by inflating its streams into nothing,
chunk by chunk, never by decoding the whole. Past a limit the file is refused with a
reason; the OCR worker also runs under an address-space limit (RLIMIT_AS), so that
what slips through is stopped by the kernel, not by the machine running out.

Settings, in motcua.toml:

    [limits]
    max_pixels_per_page = 150000000   # an A3 page at 600 dpi is 70 million
    max_decompressed_mb = 256         # page contents of one PDF, inflated
    max_pages = 1000                  # longer files: split them
    worker_memory_mb = 2048           # address space of one OCR worker process
"""

from __future__ import annotations

import logging
import warnings
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pikepdf
from PIL import Image

from motcua.errors import BadInputFile, UserError
from motcua.ingest.names import visible

log = logging.getLogger("motcua.ingest")

SECTION = "limits"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_pixels_per_page: int = 150_000_000
    #: Page content streams (and forms) of one PDF, inflated. Images are bounded by their
    #: declared pixels instead: a decoder stops at the declared size.
    max_decompressed_mb: int = 256
    max_pages: int = 1000
    worker_memory_mb: int = 2048


def limits_of(extra: dict[str, Any]) -> Limits:
    """The [limits] section of motcua.toml (absent keys keep their defaults)."""
    data = extra.get(SECTION, {})
    known = {f.name for f in fields(Limits)}
    if not isinstance(data, dict) or not set(data) <= known or not all(
            isinstance(v, int) and v > 0 for v in data.values()):
        raise UserError(
            "Mục [limits] trong motcua.toml không hợp lệ: chỉ nhận các khóa "
            f"{', '.join(sorted(known))} với giá trị là số nguyên dương.",
            f"bad [limits] section: {data!r}",
        )
    return Limits(**data)


def _too_big(name: str, what_vi: str, detail: str) -> BadInputFile:
    return BadInputFile(
        f"Tệp “{visible(name)}” vượt giới hạn xử lý: {what_vi}. Tệp quét thông thường không "
        "lớn như vậy; hãy quét lại ở độ phân giải 200–300 dpi, hoặc tách tệp thành nhiều "
        "phần nhỏ hơn rồi đặt lại vào thư mục nhận. Nếu tệp thật sự cần lớn như vậy, cán "
        "bộ kỹ thuật có thể nâng giới hạn trong mục [limits] của motcua.toml.",
        detail,
    )


def too_many_pages(name: str, pages: int, limit: int) -> BadInputFile:
    return BadInputFile(
        f"Tệp “{visible(name)}” có {pages} trang, nhiều hơn giới hạn {limit} trang cho một "
        f"tệp. Hãy tách tệp thành các phần không quá {limit} trang (ví dụ bằng “qpdf "
        "--split-pages=200”) rồi đặt từng phần vào thư mục nhận.",
        f"{pages} pages > max_pages {limit}",
    )


def check_image(path: Path, limits: Limits) -> None:
    """Refuse an image whose declared size or frame count is past the limits (header only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # we judge the size ourselves, with our limit
        try:
            with Image.open(path) as img:
                frames = getattr(img, "n_frames", 1)
                if frames > limits.max_pages:
                    raise too_many_pages(path.name, frames, limits.max_pages)
                for index in range(frames):
                    img.seek(index)
                    width, height = img.size
                    if width * height > limits.max_pixels_per_page:
                        raise _too_big(
                            path.name, f"ảnh {width} × {height} điểm ảnh (giới hạn "
                            f"{limits.max_pixels_per_page // 1_000_000} triệu điểm ảnh mỗi trang)",
                            f"frame {index}: {width}x{height} px > max_pixels_per_page "
                            f"{limits.max_pixels_per_page}")
        except (OSError, SyntaxError, ValueError):
            return  # not readable at all: the format check says why
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _inflated_size(raw: bytes, budget: int) -> int:
    """How many bytes a Flate stream inflates to, stopping once past `budget`."""
    inflater = zlib.decompressobj()
    total = 0
    data = raw
    try:
        while data and total <= budget:
            total += len(inflater.decompress(data, 4 * MIB))
            data = inflater.unconsumed_tail
    except zlib.error:
        return total  # a broken stream: qpdf and OCRmyPDF judge it
    return total


def _filters(stream: pikepdf.Stream) -> list[str]:
    filt = stream.get("/Filter")
    if filt is None:
        return []
    if isinstance(filt, pikepdf.Array):
        return [str(f) for f in filt]
    return [str(filt)]


def check_pdf(path: Path, pdf: pikepdf.Pdf, limits: Limits) -> None:
    """Refuse a PDF past the page, pixel or inflated-size limits, before any work."""
    pages = len(pdf.pages)
    if pages > limits.max_pages:
        raise too_many_pages(path.name, pages, limits.max_pages)
    budget = limits.max_decompressed_mb * MIB
    total = 0
    seen: set[tuple[int, int]] = set()
    for number, page in enumerate(pdf.pages, 1):
        streams: list[pikepdf.Stream] = []
        contents = page.obj.get("/Contents")
        if isinstance(contents, pikepdf.Stream):
            streams.append(contents)
        elif isinstance(contents, pikepdf.Array):
            streams += [c for c in contents if isinstance(c, pikepdf.Stream)]
        todo = [page.obj.get("/Resources")]
        depth = 0
        while todo and depth < 8:  # forms inside forms; a loop is cut by `seen`
            depth += 1
            nxt = []
            for resources in todo:
                xobjects = resources.get("/XObject") if isinstance(
                    resources, pikepdf.Dictionary) else None
                if not isinstance(xobjects, pikepdf.Dictionary):
                    continue
                for xobj in xobjects.values():
                    if not isinstance(xobj, pikepdf.Stream):
                        continue
                    if xobj.is_indirect:
                        if xobj.objgen in seen:
                            continue
                        seen.add(xobj.objgen)
                    if xobj.get("/Subtype") == "/Image":
                        width, height = int(xobj.get("/Width", 0)), int(xobj.get("/Height", 0))
                        if width * height > limits.max_pixels_per_page:
                            raise _too_big(
                                path.name, f"trang {number} chứa ảnh {width} × {height} điểm "
                                f"ảnh (giới hạn {limits.max_pixels_per_page // 1_000_000} triệu)",
                                f"page {number} image {width}x{height} px > "
                                f"max_pixels_per_page {limits.max_pixels_per_page}")
                        continue
                    streams.append(xobj)
                    nxt.append(xobj.get("/Resources"))
            todo = nxt
        for stream in streams:
            filters = _filters(stream)
            if filters[:1] != ["/FlateDecode"]:
                continue  # JPEG and friends: their size is the declared one, checked above
            key = stream.objgen if stream.is_indirect else None
            if key is not None and stream.get("/Subtype") != "/Form":
                if key in seen:
                    continue  # a content stream shared by several pages counts once
                seen.add(key)
            total += _inflated_size(stream.read_raw_bytes(), budget - total)
            if total > budget:
                raise _too_big(
                    path.name, f"nội dung giải nén vượt {limits.max_decompressed_mb} MB",
                    f"inflated streams > max_decompressed_mb {limits.max_decompressed_mb} "
                    f"(at page {number})")
