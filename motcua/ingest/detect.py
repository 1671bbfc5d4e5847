"""Is this file something we can archive? Sniff its bytes, not its name.

Every refusal is a BadInputFile whose Vietnamese message tells the clerk what is
wrong and what to do; the English detail goes to the log and the reason file.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pikepdf
from PIL import Image, UnidentifiedImageError

from motcua.errors import BadInputFile
from motcua.ingest.limits import Limits, check_image, check_pdf
from motcua.ingest.names import visible

log = logging.getLogger("motcua.ingest")

EXTENSIONS: dict[str, str] = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}

MEDIA_EXTENSION: dict[str, str] = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
}

_NAMES_VI = {
    "application/pdf": "PDF",
    "image/jpeg": "ảnh JPEG",
    "image/png": "ảnh PNG",
    "image/tiff": "ảnh TIFF",
}

RESCAN_ADVICE = "Hãy quét lại hoặc xuất lại tệp từ máy quét rồi đặt vào thư mục nhận."


def sniff(head: bytes) -> str | None:
    """Media type from the first bytes of a file, or None if it is none we accept."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    return None


def media_type_of(path: Path, limits: Limits | None = None) -> str:
    """Validate `path` and return its media type; raise BadInputFile if it cannot be archived."""
    limits = limits or Limits()
    name = visible(path.name)
    size = path.stat().st_size
    if size == 0:
        raise BadInputFile(
            f"Tệp “{name}” rỗng (0 byte): máy quét hoặc việc sao chép đã không ghi được nội "
            f"dung. {RESCAN_ADVICE}",
            "zero-byte file",
        )
    expected = EXTENSIONS.get(path.suffix.lower())
    if expected is None:
        raise BadInputFile(
            f"Tệp “{name}” có định dạng không được hỗ trợ. Chỉ nhận PDF, JPEG, PNG hoặc "
            "TIFF; hãy chuyển tệp sang một trong các định dạng đó.",
            f"unsupported extension {path.suffix!r}",
        )
    with path.open("rb") as fh:
        head = fh.read(16)
    actual = sniff(head)
    if actual != expected:
        found = _NAMES_VI.get(actual or "", "không phải PDF hay ảnh")
        raise BadInputFile(
            f"Tệp “{name}” mang đuôi {visible(path.suffix)} nhưng nội dung lại là {found}. "
            "Hãy kiểm tra lại tệp (có thể bị đổi tên nhầm) và xuất lại đúng định dạng.",
            f"extension says {expected}, content sniffed as {actual} (head {head[:8]!r})",
        )
    if actual == "application/pdf":
        _check_pdf(path, size, limits)
    else:
        check_image(path, limits)
        _check_image(path, limits)
    return actual


def _check_pdf(path: Path, size: int, limits: Limits) -> None:
    name = visible(path.name)
    # A PDF's last bytes hold %%EOF; qpdf would silently "repair" a truncated file and
    # we would archive half a dossier, so a missing trailer is refused first.
    with path.open("rb") as fh:
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise BadInputFile(
            f"Tệp PDF “{name}” bị cắt cụt (thiếu phần kết thúc %%EOF): tệp chưa được ghi "
            f"hết hoặc bị hỏng khi sao chép. {RESCAN_ADVICE}",
            "PDF has no %%EOF in its last 2048 bytes (truncated)",
        )
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted and not _opens_without_password(pdf):
                raise BadInputFile(
                    f"Tệp PDF “{name}” được bảo vệ bằng mật khẩu hoặc mã hóa nên không thể "
                    "số hóa. Hãy xuất lại tệp không đặt mật khẩu.",
                    "PDF is encrypted",
                )
            if len(pdf.pages) == 0:
                raise BadInputFile(
                    f"Tệp PDF “{name}” không có trang nào. {RESCAN_ADVICE}",
                    "PDF has zero pages",
                )
            for page in pdf.pages:
                page.obj.get("/Contents")  # touch every page object: catches broken xrefs
            check_pdf(path, pdf, limits)
    except pikepdf.PasswordError as exc:
        raise BadInputFile(
            f"Tệp PDF “{name}” được bảo vệ bằng mật khẩu nên không thể mở. "
            "Hãy xuất lại tệp không đặt mật khẩu.",
            f"pikepdf.PasswordError: {exc}",
        ) from exc
    except (pikepdf.PdfError, RecursionError) as exc:
        raise BadInputFile(
            f"Tệp PDF “{name}” bị hỏng, không đọc được. {RESCAN_ADVICE}",
            f"{type(exc).__name__}: {exc}",
        ) from exc


def _opens_without_password(pdf: pikepdf.Pdf) -> bool:
    # Only an owner password (printing or copying "restricted"): the file opened without
    # any password, so it can be read, and archived without the restriction; the
    # original in the store keeps it.
    try:
        return pdf.encryption.user_password == b""
    except (AttributeError, ValueError):
        return False


def _check_image(path: Path, limits: Limits) -> None:
    name = visible(path.name)
    saved = Image.MAX_IMAGE_PIXELS
    # The size was judged against our own limit already (check_image); Pillow's bomb
    # guard follows it, so that a large page within the limit is not called "damaged".
    Image.MAX_IMAGE_PIXELS = max(limits.max_pixels_per_page, saved or 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.verify()
            # verify() does not decode pixel data; a truncated JPEG only fails on load().
            with Image.open(path) as img:
                for frame in range(getattr(img, "n_frames", 1)):
                    img.seek(frame)
                    img.load()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadInputFile(
            f"Ảnh “{name}” bị hỏng hoặc không đầy đủ, không đọc được. {RESCAN_ADVICE}",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    finally:
        Image.MAX_IMAGE_PIXELS = saved
