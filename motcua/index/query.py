"""Engine-independent query parsing, ranking constants and snippets."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache

from motcua.index.model import PageDoc, SearchFilters
from motcua.index.normalize import fold_diacritics, normalize_text, token_spans, tokens

# Score added for each query unit matched with its exact diacritics. BM25 of
# the folded match stays far below this, so pages sort first by how many
# units match exactly and only then by relevance.
EXACT_TIER = 1000.0

SNIPPET_CHARS = 200
SNIPPET_LEAD = 40  # context kept before the first matched term


@dataclass(frozen=True)
class Unit:
    """A query word or phrase, as exact-field and folded-field tokens."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]

    @property
    def has_marks(self) -> bool:
        """Typed with diacritics, so an exact match should rank higher."""
        return self.exact != self.folded

    @property
    def is_phrase(self) -> bool:
        return len(self.exact) > 1


_QUOTED = re.compile(r'"([^"]*)"?')


def parse_query(query: str) -> list[Unit]:
    """Split a query into units: quoted phrases and whitespace-separated words.

    A word that tokenises into several tokens (an ID such as 0101234567-001 or
    118/2025/NĐ-CP) is a phrase, so the whole code must match in order.
    """
    text = normalize_text(query)
    chunks: list[str] = []
    pos = 0
    for m in _QUOTED.finditer(text):
        chunks.extend(text[pos : m.start()].split())
        chunks.append(m.group(1))
        pos = m.end()
    chunks.extend(text[pos:].split())
    units: list[Unit] = []
    for chunk in chunks:
        exact = tuple(tokens(chunk))
        if not exact:
            continue
        unit = Unit(exact, tuple(fold_diacritics(t) for t in exact))
        if unit not in units:
            units.append(unit)
    return units


def clean_code(value: str | None) -> str | None:
    """How a code or ID is stored and filtered on: normalised, trimmed, None if blank."""
    if value is None:
        return None
    value = normalize_text(value).strip()
    return value or None


def day_number(day: datetime.date) -> int:
    """A date as YYYYMMDD, the integer both engines range-filter on."""
    return day.year * 10000 + day.month * 100 + day.day


def filter_terms(filters: SearchFilters) -> dict[str, str]:
    """The exact-value filters as {field name: value}."""
    terms = {
        "dossier": clean_code(filters.dossier_code),
        "owner": clean_code(filters.owner_id),
        "procedure": clean_code(filters.procedure_code),
        "doctype": clean_code(filters.doc_type),
    }
    return {k: v for k, v in terms.items() if v is not None}


def page_codes(page: PageDoc) -> dict[str, list[str]]:
    """The filterable values of a page, keyed like `filter_terms`."""
    owners = [c for c in (clean_code(o) for o in page.owner_ids) if c]
    values: dict[str, list[str]] = {"owner": owners}
    for name, value in (
        ("dossier", page.dossier_code),
        ("procedure", page.procedure_code),
        ("doctype", page.doc_type),
    ):
        code = clean_code(value)
        values[name] = [code] if code else []
    return values


@lru_cache(maxsize=64)
def _term_pattern(units: tuple[Unit, ...]) -> re.Pattern[str] | None:
    """One regex over folded text for all units; a phrase allows any separators."""
    alts = sorted(
        {r"[\W_]+".join(re.escape(w) for w in u.folded) for u in units},
        key=len,
        reverse=True,  # longest first, so a phrase wins over its own words
    )
    if not alts:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alts) + r")(?![^\W_])")


def build_snippet(text: str, units: list[Unit]) -> tuple[tuple[str, bool], ...]:
    """Segments of `text` around the densest cluster of matched query terms."""
    low = text.lower()
    folded = fold_diacritics(low)
    if not (len(low) == len(text) == len(folded)):
        # Rare text whose folding changes its length: match token by token.
        folded = " ".join(fold_diacritics(t) for t in tokens(text))
        text = low = " ".join(tokens(text))
    pattern = _term_pattern(tuple(units))
    exact_terms = {t for u in units if u.has_marks for t in u.exact}
    # (start, end, folded term, is exact) of every matched token.
    found: list[tuple[int, int, str, bool]] = []
    if pattern is not None:
        for m in pattern.finditer(folded):
            for t in token_spans(m.group(0)):
                s, e = m.start() + t.start(), m.start() + t.end()
                found.append((s, e, folded[s:e], low[s:e] in exact_terms))

    # Window: most distinct terms, then most exact matches.
    lo = 0
    best = -1
    for i, (start, _, _, _) in enumerate(found):
        terms: set[str] = set()
        exact = 0
        for _, e, term, is_exact in found[i:]:
            if e > start + SNIPPET_CHARS - SNIPPET_LEAD:
                break
            terms.add(term)
            exact += is_exact
        score = len(terms) * 1000 + exact
        if score > best:
            best, lo = score, max(0, start - SNIPPET_LEAD)
    hi = min(len(text), lo + SNIPPET_CHARS)
    # Cut at spaces so that no word is split.
    if lo > 0:
        lo = _word_start(text, lo)
    if hi < len(text):
        hi = _word_end(text, hi)

    segments: list[tuple[str, bool]] = []
    plain = "…" if text[:lo].strip() else ""
    cursor = lo
    for s, e, _, _ in found:
        if s < lo or e > hi:
            continue
        plain += text[cursor:s]
        if plain:
            segments.append((_squash(plain), False))
        segments.append((text[s:e], True))
        plain = ""
        cursor = e
    plain += text[cursor:hi]
    if text[hi:].strip():
        plain += "…"
    plain = _squash(plain)
    if plain.strip():
        segments.append((plain, False))
    if segments and not segments[0][1]:
        segments[0] = (segments[0][0].lstrip(), False)
    return tuple(segments)


def _word_start(text: str, pos: int) -> int:
    while pos > 0 and not text[pos - 1].isspace():
        pos -= 1
    return pos


def _word_end(text: str, pos: int) -> int:
    while pos < len(text) and not text[pos].isspace():
        pos += 1
    return pos


_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text)
