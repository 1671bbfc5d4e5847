"""Vietnamese words for every code people see, one word per code.

Codes stay English in the database and in JSON; screens, CLI lines and documents show
these labels. The CLI and the web page must agree, so neither keeps labels of its own.
"""

from __future__ import annotations

# ---- accounts: roles ----
ROLES: dict[str, str] = {
    "tiep_nhan": "Tiếp nhận",
    "chuyen_vien": "Chuyên viên",
    "lanh_dao": "Lãnh đạo",
    "quan_tri": "Quản trị",
}
# ---- end accounts ----


def label(table: dict[str, str], code: str | None) -> str:
    """The Vietnamese word for `code`, or the code itself when it has none (never blank)."""
    if not code:
        return ""
    return table.get(code, code)


# ---- collation: Vietnamese alphabetical order ----
# a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y (f j w z kept for foreign
# words); the tone marks (none, huyền, hỏi, ngã, sắc, nặng) only break ties.
_VI_LETTERS = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_VI_RANK = {c: i for i, c in enumerate(_VI_LETTERS)}
_VI_SHAPES = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê",
              ("o", "\u0302"): "ô", ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
_VI_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vi_sort_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], str]:
    """Sort key of Vietnamese text for lists people read: letters in the Vietnamese
    alphabet (Đ right after D, Ơ after Ô), case ignored, tone marks as a tie-breaker.
    Code-point order would put every Đ after Y."""
    import unicodedata

    letters: list[list[str]] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if unicodedata.combining(ch) and letters:
            base = letters[-1][0]
            if (base, ch) in _VI_SHAPES:
                letters[-1][0] = _VI_SHAPES[(base, ch)]
            elif ch in _VI_TONES:
                tones[-1] = _VI_TONES[ch]
            continue
        letters.append([ch])
        tones.append(0)
    primary = tuple((1, _VI_RANK[c]) if c in _VI_RANK else (0, ord(c))
                    for c in (x[0] for x in letters))
    return primary, tuple(tones), text
# ---- end collation ----
