"""QR codes on a page image, read by zxing-cpp: the one wrapper of that tool.

The split of batch scans (:mod:`motcua.ingest.split`) asks this module what QR codes a
page shows. zxing-cpp finds codes in any orientation (a sheet fed upside down) and
tolerates a few degrees of skew; a symbol it locates but cannot decode cleanly (a
checksum or format error: a blot, a fold, a faded print) is reported with no text, so
that the caller can tell "no code" from "a code nobody can read" and never guesses.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from dataclasses import dataclass

import zxingcpp
from PIL import Image

log = logging.getLogger("motcua.ingest")

QR_ONLY = zxingcpp.barcode_formats_from_str("QRCode")


@dataclass(frozen=True)
class QrCode:
    text: str | None  # NFC, stripped; None when the symbol did not decode cleanly
    side: float  # the symbol's width as a share of the image's shorter side (0–1)


def read_qr(image: Image.Image) -> tuple[QrCode, ...]:
    """Every QR code zxing-cpp finds on `image` (any mode; grey is fastest).

    A failure of the library itself on an odd image is logged and reads as "no code":
    the page is then archived as it is, never split on a guess.
    """
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    try:
        found = zxingcpp.read_barcodes(
            image, formats=QR_ONLY, try_rotate=True,
            try_downscale=True, try_invert=False, return_errors=True)
    except Exception as exc:  # the library's own failure on this image
        log.warning("zxing-cpp could not read a page image (%s: %s)", type(exc).__name__, exc)
        return ()
    shorter = float(min(image.size)) or 1.0
    codes = []
    for barcode in found:
        pos = barcode.position
        width = max(math.hypot(pos.top_right.x - pos.top_left.x,
                               pos.top_right.y - pos.top_left.y),
                    math.hypot(pos.bottom_left.x - pos.top_left.x,
                               pos.bottom_left.y - pos.top_left.y))
        text = unicodedata.normalize("NFC", barcode.text).strip() if barcode.valid else None
        codes.append(QrCode(text, min(1.0, width / shorter)))
    return tuple(codes)
