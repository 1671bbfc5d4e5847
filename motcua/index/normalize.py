"""Vietnamese text normalisation shared by indexing, querying and highlighting.

Both engines index the same token streams produced here, so what matches
depends only on this module and never on an engine's own analyser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Tesseract writes U+2044 for "/" in numbers like 118/2025/NĐ-CP; the other
# slash look-alikes come from PDFs. Eth is a common OCR misreading of đ:
# Vietnamese never uses it. Replaced one by one: str.translate is slow on
# non-ASCII text and these are rare.
_REPLACE = (
    ("\u2044", "/"),
    ("\u2215", "/"),
    ("\uff0f", "/"),
    ("\u00f0", "đ"),
    ("\u00d0", "Đ"),
    # Separators of the stored blob (query.to_indexed): never part of a text.
    ("\x1d", " "),
    ("\x1e", " "),
)

_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _with_tone(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


def _tone_table(bases: str) -> dict[str, tuple[str, str]]:
    """Map every toned form of the given vowels to (base, tone)."""
    table: dict[str, tuple[str, str]] = {}
    for base in bases:
        for tone in _TONES:
            table[_with_tone(base, tone)] = (base, tone)
    return table


_TONED = _tone_table("aeoyuAEOYU")
_O = "".join(c for c, (b, _) in _TONED.items() if b in "oO")
_AE = "".join(c for c, (b, _) in _TONED.items() if b in "aAeE")
_U = "".join(c for c, (b, _) in _TONED.items() if b in "uU")
_Y = "".join(c for c, (b, _) in _TONED.items() if b in "yY")

# oa / oe / uy carry the tone on either vowel depending on the writer's habit
# (hòa/hoà, khỏe/khoẻ, thủy/thuỷ), and NFC keeps both. "qu" is a consonant, so
# "quý" is not a uy cluster (checked in _place_tone: a lookbehind here costs a
# third more time). Group 2 is the letter after the cluster, if any.
_CLUSTER = re.compile(rf"([{_O}][{_AE}]|[{_U}][{_Y}])([^\W\d_]?)")

_VOWELS = frozenset(
    unicodedata.normalize("NFC", c) for c in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
) | frozenset(
    c
    for c in (chr(i) for i in range(0x00C0, 0x1EFA))
    if unicodedata.decomposition(c) and unicodedata.normalize("NFD", c)[0] in "aeiouyAEIOUY"
)


def _place_tone(match: re.Match[str]) -> str:
    pair = match.group(1)
    first, second = pair[0], pair[1]
    after = match.group(2)
    b1, t1 = _TONED[first]
    b2, t2 = _TONED[second]
    start = match.start()
    if (
        bool(t1) == bool(t2)
        or after in _VOWELS
        or (b1 in "uU" and start > 0 and match.string[start - 1] in "qQ")
    ):
        # No tone, two tones (not Vietnamese), a triphthong (ngoài, khuỷu)
        # or "qu" + y (quý): the tone placement is not in dispute.
        return match.group(0)
    tone = t1 or t2
    # Old style puts the tone on the first vowel of an open syllable (hòa);
    # with a final consonant both styles put it on the second (hoàng).
    if after:
        return b1 + _with_tone(b2, tone) + after
    return _with_tone(b1, tone) + b2


def clean_text(text: str) -> str:
    """NFC and slash look-alikes to "/", nothing else: what the index stores and tokenises.

    Tone placement is left as written (both engines index the literal word); a query
    word matches its other placement through `tone_variants`, which is cheaper than
    rewriting every page at index time.
    """
    if text.isascii() and "\x1d" not in text and "\x1e" not in text:
        return text  # IDs, codes, most file names: nothing to compose or replace
    if not unicodedata.is_normalized("NFC", text):  # a quick check; OCR text mostly is
        text = unicodedata.normalize("NFC", text)
    for old, new in _REPLACE:
        if old in text:
            text = text.replace(old, new)
    return text


def normalize_text(text: str) -> str:
    """NFC, slash look-alikes to "/", one tone placement for oa/oe/uy; keeps case."""
    return _CLUSTER.sub(_place_tone, clean_text(text))


def _move_tone(match: re.Match[str]) -> str:
    """The cluster with its tone mark on the other vowel (hòa <-> hoà)."""
    first, second = match.group(1)[0], match.group(1)[1]
    b1, t1 = _TONED[first]
    b2, t2 = _TONED[second]
    if bool(t1) == bool(t2):
        return match.group(0)
    tone = t1 or t2
    if t1:
        return b1 + _with_tone(b2, tone) + match.group(2)
    return _with_tone(b1, tone) + b2 + match.group(2)


def tone_variants(word: str) -> frozenset[str]:
    """Every spelling of `word` that differs only in where an oa/oe/uy tone sits and
    means the same (same `normalize_text`); `word` itself included."""
    word = clean_text(word)
    moved = _CLUSTER.sub(_move_tone, word)
    spellings = {word}
    if moved != word and normalize_text(moved) == normalize_text(word):
        spellings.add(moved)
    canonical = normalize_text(word)
    spellings.add(canonical)
    return frozenset(spellings)


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    for i in range(0x00C0, 0x2000):
        ch = chr(i)
        decomposed = unicodedata.normalize("NFD", ch)
        if len(decomposed) > 1 and decomposed[0].isascii():
            base = decomposed[0]
            if all(unicodedata.combining(c) for c in decomposed[1:]):
                table[i] = base
    return table


_FOLD = _fold_table()
_COMBINING = re.compile(r"[\u0300-\u036f]")
# The five tones and three vowel marks of Vietnamese.
_VIET_MARKS = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b")


def fold_diacritics(text: str) -> str:
    """Drop Vietnamese (and other Latin) diacritics, đ → d; keeps case."""
    if text.isascii():
        return text
    # Fast path, for Vietnamese text: decompose and drop every non-ASCII
    # character, valid only if all that was dropped were Vietnamese marks.
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_only = decomposed.encode("ascii", "ignore")
    if len(ascii_only) + sum(decomposed.count(m) for m in _VIET_MARKS) == len(decomposed):
        return ascii_only.decode("ascii")
    folded = unicodedata.normalize("NFC", text).translate(_FOLD)
    if folded.isascii():
        return folded
    # Marks that NFC could not compose onto their letter.
    return _COMBINING.sub("", folded)


# Letters and digits; "_" and every punctuation mark separate tokens, so codes
# like 000.00.07.H47-250716-0001 become a run of tokens matched as a phrase.
_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Exact-field tokens of already normalised text: lower-cased alphanumeric runs."""
    return _TOKEN.findall(text.lower())


def token_spans(text: str) -> Iterator[re.Match[str]]:
    """Token matches with their offsets in `text` (normalised, original case)."""
    return _TOKEN.finditer(text)


_LEADING_ZEROS = re.compile(r"(?<![^\W_])0+(?=\d)")


def code_key(value: str) -> str:
    """How an ID, code or document number is compared: folded, lower-case tokens joined by
    "-", leading zeros dropped, so "07/KH-UBND", "7/kh-ubnd" and "07 / KH - UBND" agree."""
    low = fold_diacritics(clean_text(value)).lower()
    return "-".join(tokens(_LEADING_ZEROS.sub("", low)))


def name_keys(name: str) -> tuple[str, str, str]:
    """A person's name as three keys: as written (NFC), with one tone placement, folded.
    Tokens joined by "_", lower case; equal keys mean the same name at that strictness."""
    literal = "_".join(tokens(clean_text(name)))
    canonical = "_".join(tokens(normalize_text(name)))
    return literal, canonical, fold_diacritics(canonical)
