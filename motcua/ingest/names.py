"""File names as they come from scanners, old Windows shares and ZIPs: any bytes.

A Linux file name is bytes; Python hands it over as a str where bytes that are not
UTF-8 become lone surrogates (surrogateescape). Such a str cannot be written to
SQLite, to a UTF-8 reason file or to a terminal, and a name may carry control or
bidirectional-override characters that make "hoa-don\\u202egpj.exe" look like
"hoa-donexe.jpg". So every name is kept three ways:

* the path itself (a str with surrogates): what the file system needs;
* `raw_bytes`: those bytes, stored in the database when they are not UTF-8, so the
  row still leads back to the file;
* `visible`: a printable, unambiguous text with every such byte or character shown
  as an escape (`\\xf4`, `\\u202e`); what people see and what the database keeps as
  text.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path

#: Bidirectional controls: they reorder what follows on screen (a "gpj.exe" reads
#: "exe.jpg"); never shown raw.
_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}

#: Longest file name (bytes) most Linux file systems take.
NAME_MAX = 255


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def visible(text: str | os.PathLike[str]) -> str:
    """`text` in NFC with non-UTF-8 bytes, control and bidi characters escaped."""
    raw = os.fspath(text)
    if raw.isprintable():
        return unicodedata.normalize("NFC", raw)
    return "".join(_escape_char(ch) for ch in unicodedata.normalize("NFC", raw))


def is_clean(path: str | os.PathLike[str]) -> bool:
    """Can this path go to SQLite and back as text unchanged?"""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raw_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The path's bytes when they are not UTF-8 (to be stored beside the text), else None."""
    return None if is_clean(path) else os.fsencode(path)


def db_text(path: str | os.PathLike[str]) -> str:
    """A text form of `path` that SQLite accepts: the path itself when it is UTF-8."""
    raw = os.fspath(path)
    return raw if is_clean(raw) else os.fsencode(raw).decode("utf-8", "backslashreplace")


def from_row(text: str, raw: bytes | None) -> Path:
    """The path a database row names (its raw bytes win when they were stored)."""
    return Path(os.fsdecode(raw)) if raw else Path(text)


def fit_name(name: str, extra: str = "", limit: int = NAME_MAX) -> str:
    """`name` shortened, if needed, so that `name + extra` fits in `limit` bytes.

    The stem is cut at a character boundary and a short hash of the whole name is
    added, so two long names that share their beginning stay two names.
    """
    encoded = os.fsencode(name + extra)
    if len(encoded) <= limit:
        return name
    stem, suffix = Path(name).stem, Path(name).suffix
    if len(os.fsencode(suffix)) > 16:  # "a.<200 bytes>" is no extension worth keeping
        stem, suffix = name, ""
    tag = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:10]
    budget = limit - len(os.fsencode(tag + suffix + extra))
    cut = os.fsencode(stem)[:max(1, budget)]
    # Drop a partly cut UTF-8 sequence at the end (bytes that are already escapes stay).
    short = cut.decode("utf-8", "ignore") if is_clean(stem) else os.fsdecode(cut)
    return f"{short}{tag}{suffix}"


def safe_text(text: str) -> str:
    """`text` with non-UTF-8 bytes escaped and everything else (new lines too) kept:
    for messages and details that may quote a file name."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
