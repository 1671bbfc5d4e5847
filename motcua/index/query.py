"""Engine-independent query parsing, ranking constants and snippets."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from motcua.index.model import PageDoc, SearchFilters
from motcua.index.normalize import fold_diacritics, normalize_text, token_spans, tokens

# Score added for each query unit matched with its exact diacritics. BM25 of
# the folded match stays far below this, so pages sort first by how many
# units match exactly and only then by relevance.
EXACT_TIER = 1000.0

SNIPPET_TOKENS = 24


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


def build_snippet(text: str, units: list[Unit]) -> tuple[tuple[str, bool], ...]:
    """Segments of `text` around the densest cluster of matched query terms."""
    exact_terms = {t for u in units if u.has_marks for t in u.exact}
    words = {u.folded[0] for u in units if not u.is_phrase}
    spans = list(token_spans(text))
    if not spans:
        return ((_squash(text[:200]), False),) if text.strip() else ()
    lows = [m.group(0).lower() for m in spans]
    folded = [fold_diacritics(t) for t in lows]
    matched = [f in words for f in folded]
    # A phrase's words count only where the whole phrase occurs.
    for unit in units:
        n = len(unit.folded)
        if n > 1:
            head = unit.folded[0]
            for i, f in enumerate(folded):
                if f == head and tuple(folded[i : i + n]) == unit.folded:
                    matched[i : i + n] = [True] * n
    weight = [
        (2 if low in exact_terms else 1) if hit else 0
        for low, hit in zip(lows, matched, strict=True)
    ]
    keys = [f if hit else None for f, hit in zip(folded, matched, strict=True)]

    # Sliding window: distinct terms dominate, exact matches break ties.
    best_start, best_score = 0, -1
    counts: dict[str, int] = {}
    total = 0
    width = min(SNIPPET_TOKENS, len(spans))
    for i in range(len(spans)):
        k = keys[i]
        if k is not None:
            counts[k] = counts.get(k, 0) + 1
        total += weight[i]
        j = i - width
        if j >= 0:
            kj = keys[j]
            if kj is not None:
                counts[kj] -= 1
                if counts[kj] == 0:
                    del counts[kj]
            total -= weight[j]
        if i >= width - 1:
            score = len(counts) * 100 + total
            if score > best_score:
                best_start, best_score = i - width + 1, score
    # Start a little before the first match so the term has some context.
    first = next((i for i in range(best_start, best_start + width) if matched[i]), best_start)
    start = max(0, min(first - 4, len(spans) - width))
    end = start + width - 1

    segments: list[tuple[str, bool]] = []
    plain = "…" if spans[start].start() > 0 else ""
    cursor = spans[start].start()
    for i in range(start, end + 1):
        m = spans[i]
        if matched[i]:
            plain += text[cursor : m.start()]
            if plain:
                segments.append((_squash(plain), False))
            segments.append((m.group(0), True))
            plain = ""
        else:
            plain += text[cursor : m.end()]
        cursor = m.end()
    if spans[end].end() < len(text.rstrip()):
        plain += "…"
    if plain:
        segments.append((_squash(plain), False))
    return tuple(segments)


_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text)
