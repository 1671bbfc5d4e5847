"""OCRmyPDF + Tesseract behind a thin wrapper: input → archival PDF/A + page texts."""

from motcua.ocr.engine import (
    OcrOutcome,
    OcrSettings,
    PageText,
    check_language,
    check_thresholding,
    make_archival,
    read_progress,
)

__all__ = [
    "OcrOutcome",
    "OcrSettings",
    "PageText",
    "check_language",
    "check_thresholding",
    "make_archival",
    "read_progress",
]
