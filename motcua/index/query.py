"""Engine-independent query understanding, ranking plan, stored fields and snippets.

A query becomes a `QueryPlan`: what must match (the words, in the page text or in the
document's fields, or the whole query as an ID / code / number / owner's name) and
score tiers added on top. Each engine only translates the plan into its own query
objects, so both rank by the same rules:

    key tiers   the query equals a result code, document number, dossier code or
                owner ID of the document (exact match on top)
    name tiers  the query is the full name of a linked owner: as typed, then with the
                other tone placement (hòa/hoà), then without diacritics
    per word    typed with diacritics and found with them (as typed, then the other
                tone placement); found in the document's fields; BM25 breaks ties
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from motcua.index.model import DocEntry, Hit, SearchFilters, Snippet
from motcua.index.normalize import (
    clean_text,
    code_key,
    fold_diacritics,
    name_keys,
    token_spans,
    tokens,
    tone_variants,
)

# Score tiers. BM25 of the folded words stays far below EXACT_TIER, and every tier is
# above the sum of those below it for queries of up to a dozen words.
VARIANT_TIER = 900.0  # a word matched with its other tone placement
EXACT_TIER = 1000.0  # a word matched with the diacritics typed
# A word found in the document's fields (name, type, owner ...): ranks an ID card above
# a form that mentions "căn cước", but never above a page with one more exact word.
META_TIER = 250.0
NAME_TIERS = (400_000.0, 300_000.0, 200_000.0)  # literal, tone placement, folded
KEY_TIERS: dict[str, float] = {
    "kq": 9_000_000.0,  # result code
    "so": 8_000_000.0,  # document number (số, ký hiệu)
    "hs": 7_000_000.0,  # the dossier it was digitized in
    "id": 6_000_000.0,  # a linked owner's ID
    "hsr": 5_000_000.0,  # a dossier it is reused in
    "idt": 4_000_000.0,  # an ID found in its text
}
# Filter keys (never scored).
FILTER_PREFIXES = ("pr", "ty")

# Index field names, the same in both engines.
TEXT_EXACT, TEXT_FOLDED, TEXT_PAIRS = "text", "text_f", "text_b"
META_EXACT, META_FOLDED, META_PAIRS = "meta", "meta_f", "meta_b"
# Phrases are matched on word pairs ("ho_so so_dien dien_tu", made from the folded
# text): a pair is far rarer than its words, so a phrase reads a few short position
# lists instead of the long ones of common words. The word fields keep no positions.
NAME_FIELDS = ("name_lit", "name_can", "name_fold")
KEY_FIELD = "key"

SNIPPET_CHARS = 200
SNIPPET_LEAD = 40  # context kept before the first matched term
MAX_TOKEN = 200  # longer tokens (OCR garbage) are not indexed

# The fields a hit reports as matched, in display order ("text" = the page text).
FIELDS = ("result_code", "number", "owner_name", "owner_id", "type", "name", "dossier",
          "procedure", "field", "issuer", "issue_date", "summary", "validity", "file",
          "text")


# -- what was typed -----------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A query word or phrase, as exact-field and folded-field tokens."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]
    variants: tuple[tuple[str, ...], ...] = ()  # other tone placements of `exact`

    @property
    def has_marks(self) -> bool:
        """Typed with diacritics, so an exact match should rank higher."""
        return self.exact != self.folded

    @property
    def is_phrase(self) -> bool:
        return len(self.exact) > 1


def _unit(words: tuple[str, ...]) -> Unit:
    folded = tuple(fold_diacritics(t) for t in words)
    # tone_variants gives at most one other spelling per word; mixed placements
    # across the words of a phrase are not tried.
    other = tuple((sorted(tone_variants(w) - {w}) or [w])[0] for w in words)
    return Unit(words, folded, (other,) if other != words else ())


_QUOTED = re.compile(r'"([^"]*)"?')


def parse_query(query: str) -> list[Unit]:
    """Split a query into units: quoted phrases and whitespace-separated words.

    A word that tokenises into several tokens (an ID such as 0101234567-001 or
    118/2025/NĐ-CP) is a phrase, so the whole code must match in order.
    """
    text = clean_text(query)
    chunks: list[str] = []
    pos = 0
    for m in _QUOTED.finditer(text):
        chunks.extend(text[pos : m.start()].split())
        chunks.append(m.group(1))
        pos = m.end()
    chunks.extend(text[pos:].split())
    units: list[Unit] = []
    for chunk in chunks:
        words = tuple(t for t in tokens(chunk) if len(t) <= MAX_TOKEN)
        if not words:
            continue
        unit = _unit(words)
        if unit not in units:
            units.append(unit)
    return units


# What a whole query can be, checked in this order.
_AGENCY = r"\d{3}\.\d{2}\.\d{2}\.[a-z]\d{2}"
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("citizen_id", re.compile(r"\d{12}")),
    ("tax_code", re.compile(r"\d{10}(?:-\d{3})?")),
    ("result_code", re.compile(rf"{_AGENCY}-\d{{6}}-\d{{4}}-kq\d+")),
    ("dossier_code", re.compile(rf"{_AGENCY}-\d{{6}}-\d{{4}}")),
    # 118/2025/NĐ-CP, 07/KH-UBND, 12/UBND-VX
    ("document_number", re.compile(r"\d+(?:/\d{4})?/[^\W\d_][^\W_]*(?:[-.][^\W_]+)*")),
)
_NUMBER_PREFIX = re.compile(r"^(?:số|so)\s*[:.]?\s*", re.IGNORECASE)
_NAME_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class QueryPlan:
    """What a query asks for; see the module docstring for the tiers."""

    text: str
    kind: str  # a KINDS name or "text" (a name or free text)
    units: tuple[Unit, ...]
    key: str | None  # code_key of the whole query, when it can be an ID or a code
    name: tuple[str, str, str] | None  # name_keys of the whole query, when it can be a name


def plan_query(query: str) -> QueryPlan:
    """Understand what was typed in the one search box."""
    text = " ".join(clean_text(query).split())
    units = tuple(parse_query(text))
    bare = _NUMBER_PREFIX.sub("", text.strip('"').strip()).lower()
    kind = "text"
    key: str | None = None
    name: tuple[str, str, str] | None = None
    if bare and " " not in bare:
        for candidate, pattern in KINDS:
            if pattern.fullmatch(bare):
                kind = candidate
                break
        if any(c.isdigit() for c in bare):
            key = code_key(bare) or None
    words = text.strip('"').split()
    if kind == "text" and 2 <= len(words) <= 6 and all(_NAME_WORD.fullmatch(w) for w in words):
        # Maybe a person's name: ranks a linked owner of that full name on top. The
        # kind stays "text" (the service says "name" when an owner's name matched).
        name = name_keys(text.strip('"'))
    return QueryPlan(text, kind, units, key, name)


# -- the ranking plan both engines translate -----------------------------------------


@dataclass(frozen=True)
class Match:
    """Term (one word) or phrase `words` in any of `fields`; with `in_order` False, all
    the words anywhere (no positions read: much cheaper for common words, and the only
    form the exact fields support: they keep no positions)."""

    fields: tuple[str, ...]
    words: tuple[str, ...]
    in_order: bool = True


@dataclass(frozen=True)
class Tier:
    """`score` when any of `matches` matches (a constant, not BM25)."""

    score: float
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class Ranking:
    """A document must match every Match of at least one alternative; each group adds
    the score of its best matching tier."""

    alternatives: tuple[tuple[Match, ...], ...]
    groups: tuple[tuple[Tier, ...], ...]


def pairs(words: Iterable[str]) -> tuple[str, ...]:
    """Consecutive folded words joined by "_" (never inside a token)."""
    return tuple(f"{a}_{b}" for a, b in itertools.pairwise(words))


def _folded_match(unit: Unit, meta_only: bool = False) -> Match:
    """The unit on the folded fields: a word as a term, a phrase as its word pairs in a
    row (a two-word phrase is a single pair: no positions read at all)."""
    if unit.is_phrase:
        return Match((META_PAIRS,) if meta_only else (TEXT_PAIRS, META_PAIRS),
                     pairs(unit.folded))
    return Match((META_FOLDED,) if meta_only else (TEXT_FOLDED, META_FOLDED), unit.folded)


def ranking(plan: QueryPlan) -> Ranking:
    words = tuple(_folded_match(u) for u in plan.units)
    alternatives: list[tuple[Match, ...]] = []
    if words:
        alternatives.append(words)
    groups: list[tuple[Tier, ...]] = []
    if plan.key:
        keys = tuple(Match((KEY_FIELD,), (f"{p}:{plan.key}",)) for p in KEY_TIERS)
        alternatives.extend((k,) for k in keys)
        groups.append(tuple(Tier(KEY_TIERS[p], (k,)) for p, k in zip(KEY_TIERS, keys,
                                                                      strict=True)))
    if plan.name:
        names = tuple(Match((f,), (k,)) for f, k in zip(NAME_FIELDS, plan.name, strict=True))
        alternatives.extend((n,) for n in names)
        groups.append(tuple(Tier(s, (n,)) for s, n in zip(NAME_TIERS, names, strict=True)))
    for unit in plan.units:
        groups.append((Tier(META_TIER, (_folded_match(unit, meta_only=True),)),))
        if unit.has_marks:
            # The folded phrase already matched in order; its words with their
            # diacritics anywhere in the document are enough to rank it, and checking
            # positions again would double the cost of a phrase query.
            exact = Tier(EXACT_TIER, (Match((TEXT_EXACT, META_EXACT), unit.exact, False),))
            if unit.variants:
                others = tuple(Match((TEXT_EXACT, META_EXACT), v, False)
                               for v in unit.variants)
                groups.append((exact, Tier(VARIANT_TIER, others)))
            else:
                groups.append((exact,))
    return Ranking(tuple(alternatives), tuple(groups))


def filter_keys(filters: SearchFilters) -> list[tuple[str, ...]]:
    """Each filter as the key terms of which a document must hold at least one."""
    out: list[tuple[str, ...]] = []
    for value, prefixes in (
        (filters.dossier_code, ("hs", "hsr")),
        (filters.owner_id, ("id", "idt")),
        (filters.procedure_code, ("pr",)),
        (filters.doc_type, ("ty",)),
    ):
        if value is not None and value.strip():
            key = code_key(value)
            out.append(tuple(f"{p}:{key}" for p in prefixes))
    return out


def day_number(day: datetime.date) -> int:
    """A date as YYYYMMDD, the integer both engines range-filter on."""
    return day.year * 10000 + day.month * 100 + day.day


def date_bounds(filters: SearchFilters) -> tuple[int, int] | None:
    if not (filters.date_from or filters.date_to):
        return None
    return (day_number(filters.date_from) if filters.date_from else 0,
            day_number(filters.date_to) if filters.date_to else 99991231)


# -- what is indexed for a document -----------------------------------------------------


def _vi_day(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        return datetime.date.fromisoformat(iso[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def entry_fields(entry: DocEntry) -> dict[str, list[str]]:
    """The document's searchable fields, keyed like FIELDS (without "text")."""
    def vals(*items: str | None) -> list[str]:
        return [clean_text(v) for v in items if v]

    return {
        "result_code": vals(entry.result_code),
        "number": vals(entry.number_symbol),
        "owner_name": vals(*(o.name for o in entry.owners)),
        "owner_id": vals(*(o.id for o in entry.owners)),
        "type": vals(entry.type_name, entry.type_code),
        "name": vals(entry.name),
        "dossier": vals(entry.dossier_code, *entry.reused_in),
        "procedure": vals(*entry.procedure_names, *entry.procedure_codes),
        "field": vals(*entry.fields),
        "issuer": vals(entry.issuing_body),
        "issue_date": vals(_vi_day(entry.issue_date)),
        "summary": vals(entry.summary),
        "validity": vals(_vi_day(entry.valid_from), _vi_day(entry.valid_to),
                         entry.validity_scope),
        "file": vals(entry.original_name),
    }


@dataclass(frozen=True)
class Indexed:
    """One document as both engines write it."""

    document_id: int
    text: str  # all pages, cleaned, one after another
    text_folded: str  # their words lower-cased and folded (the folded field's text)
    meta: str  # every field value, one per line
    text_pairs: str  # word pairs of the folded text, space-separated
    meta_pairs: str
    names: tuple[tuple[str, ...], ...]  # values of NAME_FIELDS
    keys: tuple[str, ...]
    day: int
    stored: bytes  # see _blob


def to_indexed(entry: DocEntry) -> Indexed:
    fields = entry_fields(entry)
    pages = [(no, clean_text(text)) for no, text in entry.pages]
    keys: list[str] = []

    def add(prefix: str, values: Iterable[str | None]) -> None:
        for v in values:
            k = code_key(v) if v else ""
            if k and f"{prefix}:{k}" not in keys:
                keys.append(f"{prefix}:{k}")

    add("kq", [entry.result_code])
    add("so", [entry.number_symbol])
    add("hs", [entry.dossier_code])
    add("id", [o.id for o in entry.owners])
    add("hsr", entry.reused_in)
    add("idt", entry.text_ids)
    add("pr", entry.procedure_codes)
    add("ty", [entry.type_code])
    name_sets: list[list[str]] = [[], [], []]
    for owner in entry.owners:
        if owner.name:
            for i, k in enumerate(name_keys(owner.name)):
                if k and k not in name_sets[i]:
                    name_sets[i].append(k)
    extra = {"role": entry.role, "type_code": entry.type_code, "type_name": entry.type_name,
             "owners": [[o.id, o.name] for o in entry.owners],
             "number_symbol": entry.number_symbol, "name": entry.name,
             "result_code": entry.result_code, "issue_date": entry.issue_date,
             "valid_to": entry.valid_to}
    # Fields folded and joined here (one fold for all), so a hit matches each with one
    # regex; values one per line.
    names = [k for k, v in fields.items() if v]
    folded = fold_diacritics(
        _SEP.join("\n".join(fields[k]) for k in names).lower()).split(_SEP)
    head = {"pn": [no for no, _ in pages], "f": dict(zip(names, folded, strict=True)),
            "x": extra, "n": entry.original_name, "d": entry.dossier_code}
    texts = [t for _, t in pages]
    # Every page at once: one string, pages split by _SEP (not a letter or digit, so
    # both engines tokenise it as a line break, and the blob keeps this very string).
    joined = _SEP.join(texts)
    twins, words = _fold_pages(texts, joined)
    meta_words = [w for w in _NOT_ASCII_WORD.split("\n".join(folded)) if w]
    return Indexed(
        document_id=entry.document_id,
        text=joined,
        text_folded=words.tobytes().decode("utf-8"),
        meta="\n".join(v for values in fields.values() for v in values),
        text_pairs=_pair_string(words),
        meta_pairs=" ".join(map("_".join, itertools.pairwise(meta_words))),
        names=tuple(tuple(s) for s in name_sets),
        keys=tuple(keys),
        day=day_number(entry.date),
        stored=(json.dumps(head, ensure_ascii=False).encode("utf-8") + _PART_B
                + joined.encode("utf-8") + _PART_B + twins),
    )


_NOT_ASCII_WORD = re.compile(r"[^a-z0-9]+")


def _fold_pages(texts: list[str], joined: str) -> tuple[bytes, np.ndarray]:
    """The pages' folded twins, _SEP-separated (an empty twin where folding moves
    offsets), and the folded words of every page as UTF-8 bytes in which only letters
    and digits belong to words (what `_pair_string` reads).

    Folds the whole document with one table look-up per character (see `_FOLD_TABLE`);
    a document with a character the table lacks is folded page by page as
    `folded_twin` does."""
    chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    if not len(chars) or int(chars.max()) < len(_FOLD_TABLE):
        folded = _FOLD_TABLE[chars]
        if folded.all():
            return folded.tobytes(), folded
    twins = [folded_twin(t) for t in texts]
    words = [tw.encode("ascii") if tw is not None
             else " ".join(fold_diacritics(t) for t in tokens(text)).encode("utf-8")
             for text, tw in zip(texts, twins, strict=True)]
    return (_SEP_B.join((tw or "").encode("ascii") for tw in twins),
            np.frombuffer(_SEP_B.join(words), dtype=np.uint8))


def _fold_table() -> np.ndarray:
    """Per character below U+2000: the one ASCII character `folded_twin` turns it into
    (lower case, marks dropped, đ → d), or 0 if it becomes anything else."""
    table = np.zeros(0x2000, dtype=np.uint8)
    for code in range(1, len(table)):
        low = chr(code).lower()
        if len(low) != 1:
            continue
        out = unicodedata.normalize("NFD", low.replace("đ", "d")).encode("ascii", "ignore")
        if len(out) == 1:
            table[code] = out[0]
    return table


_FOLD_TABLE = _fold_table()


# Bytes that belong to a word in `_fold_pages`' words: ASCII lower-case letters and
# digits (a twin is lower-case ASCII) and every non-ASCII byte (a folded word that kept
# a rare letter; such words are joined by spaces, never by non-ASCII punctuation).
_WORD_BYTE = np.zeros(256, dtype=np.int8)
_WORD_BYTE[[*range(ord("a"), ord("z") + 1), *range(ord("0"), ord("9") + 1),
            *range(128, 256)]] = 1
_GLUE = np.frombuffer(b"_ ", dtype=np.uint8)


def _pair_string(data: np.ndarray) -> str:
    """The word pairs of UTF-8 `data`, "a_b b_c c_d", built by array operations: in
    Python, one string per word and per pair made this the slowest part of indexing."""
    inside = np.zeros(len(data) + 2, dtype=np.int8)
    inside[1:-1] = _WORD_BYTE[data]
    edges = inside[1:] - inside[:-1]
    starts = np.flatnonzero(edges == 1)
    if len(starts) < 2:
        return ""
    lengths = np.flatnonzero(edges == -1) - starts
    # Each pair is four slices of `source`: word, "_", next word, " ".
    source = np.concatenate((data, _GLUE))
    n = len(starts) - 1
    seg_start = np.empty(4 * n, dtype=np.int64)
    seg_len = np.empty(4 * n, dtype=np.int64)
    seg_start[0::4], seg_len[0::4] = starts[:-1], lengths[:-1]
    seg_start[1::4], seg_len[1::4] = len(data), 1
    seg_start[2::4], seg_len[2::4] = starts[1:], lengths[1:]
    seg_start[3::4], seg_len[3::4] = len(data) + 1, 1
    seg_len[-1] = 0  # no space after the last pair
    ends = np.cumsum(seg_len)
    index = np.arange(int(ends[-1])) - np.repeat(ends - seg_len - seg_start, seg_len)
    return source[index].tobytes().decode("utf-8")


# Stored blob: small JSON head, then the pages, then their folded twins (JSON escaping of
# whole pages costs more than the rest of indexing a document). clean_text removes these
# separators from every text.
_PART, _SEP = "\x1d", "\x1e"
_PART_B, _SEP_B = _PART.encode(), _SEP.encode()


def _unblob(stored: bytes | str) -> tuple[dict[str, Any], list[tuple[int, bytes, str]]]:
    """Head, and per page its number, its text still UTF-8 (decoded only for the best
    page: decoding every page cost more than the rest of a hit) and its folded twin
    (ASCII, quick to decode)."""
    raw = stored.encode("utf-8") if isinstance(stored, str) else bytes(stored)
    head_json, texts, twins = raw.split(_PART.encode(), 2)
    head: dict[str, Any] = json.loads(head_json)
    numbers: list[int] = head.get("pn") or []
    if not numbers:
        return head, []
    return head, list(zip(numbers, texts.split(_SEP.encode()),
                          twins.decode("ascii").split(_SEP), strict=True))


# -- building hits ----------------------------------------------------------------------
#
# Each page is stored with its lower-cased, folded twin (same length, so offsets agree),
# made once at index time: a hit then finds the query's folded words with str.find and a
# literal regex, never folding a page per query (the slow part of building a hit).


def folded_twin(text: str) -> str | None:
    """`text` lower-cased and folded, if that keeps every character at its offset."""
    low = text.lower()
    if len(low) != len(text):
        return None
    # Decompose and keep ASCII: the result has the page's length only if everything
    # dropped was a mark (fold_diacritics' own check is slower, and this is per page).
    folded = unicodedata.normalize("NFD", low.replace("đ", "d")).encode(
        "ascii", "ignore").decode("ascii")
    return folded if len(folded) == len(text) else None


def _aligned(text: str, folded: str | None) -> tuple[str, str]:
    """(text, folded) with equal lengths: a page whose folding moves offsets (rare
    characters) is shown as its lower-case tokens."""
    if folded is not None and len(folded) == len(text):
        return text, folded
    text = " ".join(tokens(text))
    return text, fold_diacritics(text)


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]  # every unit over folded text, a named group each
    units: tuple[re.Pattern[str], ...]  # each unit alone over folded text
    exact_words: tuple[tuple[str, ...], ...]  # per unit: spellings typed, space-separated
    exact_bytes: tuple[tuple[bytes, ...], ...]  # the same, UTF-8, in their usual cases
    folded_words: tuple[str, ...]  # per unit: its folded words, space-separated
    is_phrase: tuple[bool, ...]


# No letter or digit just after a match; the one before is checked by _starts_word: a
# lookbehind in front would stop the regex engine from skipping to the first letter.
_E = r"(?![^\W_])"


def _starts_word(text: str, start: int) -> bool:
    return start == 0 or not text[start - 1].isalnum()


def _search(pattern: re.Pattern[str], text: str) -> bool:
    return any(_starts_word(text, m.start()) for m in pattern.finditer(text))


@lru_cache(maxsize=64)
def _matcher(units: tuple[Unit, ...]) -> _Matcher | None:
    """Regexes over folded text; a phrase allows any separators between its words."""
    if not units:
        return None
    bodies = [r"[\W_]+".join(re.escape(w) for w in u.folded) for u in units]
    order = sorted(range(len(units)), key=lambda i: -len(bodies[i]))
    # Longest first, so a phrase wins over its own words.
    alts = "|".join(f"(?P<u{i}>{bodies[i]})" for i in order)
    words = tuple(tuple(sorted({" ".join(w) for w in (u.exact, *u.variants)}))
                  if u.has_marks else () for u in units)
    cased = tuple(tuple(sorted({c.encode() for w in ws for c in (w, w.upper(), w.capitalize(),
                                                                 w.title())}))
                  for ws in words)
    return _Matcher(re.compile(f"(?:{alts}){_E}"),
                    tuple(re.compile(f"{b}{_E}") for b in bodies), words, cased,
                    tuple(" ".join(u.folded) for u in units),
                    tuple(u.is_phrase for u in units))


def _bounded(text: str, word: str) -> bool:
    """`word` occurs in `text` as a whole word (str.find: faster than a regex)."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        if (start == 0 or not text[start - 1].isalnum()) and (
                end == len(text) or not text[end].isalnum()):
            return True
        start = text.find(word, start + 1)
    return False


def _bounded_bytes(data: bytes, word: bytes) -> bool:
    """`word` occurs in UTF-8 `data` as a whole word."""
    start = data.find(word)
    while start >= 0:
        end = start + len(word)
        before = data[max(0, start - 4):start].decode("utf-8", "ignore")[-1:]
        after = data[end:end + 4].decode("utf-8", "ignore")[:1]
        if not before.isalnum() and not after.isalnum():
            return True
        start = data.find(word, start + 1)
    return False


def _page_rank(matcher: _Matcher, raw: bytes, folded: str) -> tuple[int, int]:
    """(units on the page, units on it with the diacritics typed); `raw` is the page's
    UTF-8 text, searched for the spellings typed in lower, upper and title case."""
    distinct = exact = 0
    for i, pattern in enumerate(matcher.units):
        if _bounded(folded, matcher.folded_words[i]) or (
                matcher.is_phrase[i] and _search(pattern, folded)):
            distinct += 1
            # A phrase typed with diacritics counts as exact when written with single
            # spaces, as OCR and PDF text almost always are.
            exact += any(_bounded_bytes(raw, w) for w in matcher.exact_bytes[i])
    return distinct, exact


_Found = tuple[int, int, int, bool]  # start, end, unit index, typed diacritics matched


def _find(matcher: _Matcher, low: str, folded: str) -> list[_Found]:
    """Every whole-word occurrence of every unit, in text order. Words are found with
    str.find (a regex alternation tries every unit at every offset: ten times slower);
    a phrase, whose words may be split by punctuation or a line break, by its regex."""
    found: list[_Found] = []
    for i, pattern in enumerate(matcher.units):
        words = matcher.exact_words[i]
        if matcher.is_phrase[i]:
            spans = [(m.start(), m.end()) for m in pattern.finditer(folded)]
        else:
            word = matcher.folded_words[i]
            spans = []
            at = folded.find(word)
            while at >= 0:
                spans.append((at, at + len(word)))
                at = folded.find(word, at + len(word))
        for start, end in spans:
            if not _starts_word(folded, start) or (
                    end < len(folded) and folded[end].isalnum()):
                continue
            is_exact = False
            if words:
                typed = low[start:end]
                is_exact = typed in words or " ".join(tokens(typed)) in words
            found.append((start, end, i, is_exact))
    found.sort()
    # A word inside a phrase also typed on its own: keep the phrase.
    kept: list[_Found] = []
    for f in found:
        if kept and f[0] < kept[-1][1]:
            if f[1] - f[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = f
            continue
        kept.append(f)
    return kept


def make_hit(plan: QueryPlan, document_id: int, score: float, stored: bytes | str) -> Hit:
    """A document hit from its stored blob: best page, matching pages, snippet, fields."""
    data, pages = _unblob(stored)
    units = plan.units
    matcher = _matcher(units)
    best = pages[0] if pages else None
    best_rank = (0, 0)
    matching = 0
    any_text = False
    if matcher is not None:
        for page in pages:
            folded = page[2]
            if len(folded) == 0 and page[1]:  # no twin: offsets move when folded
                folded = _aligned(page[1].decode("utf-8"), None)[1]
            rank = _page_rank(matcher, page[1], folded)
            if rank[0]:
                any_text = True
            if rank[0] == len(units):
                matching += 1
            if rank > best_rank:
                best, best_rank = page, rank
    matched: list[str] = []
    fields: dict[str, str] = data["f"]  # folded, lower case, values one per line
    # One look over all the fields first (any match at all, even inside a word): most
    # word queries match none of them.
    words_in_fields = matcher is not None and matcher.pattern.search(
        "\n".join(fields.values())) is not None
    for name in FIELDS:
        if name == "text":
            hit = any_text
        else:
            value = fields.get(name, "")
            hit = bool(value) and (
                (words_in_fields and _search(matcher.pattern, value))  # type: ignore[union-attr]
                or (plan.key is not None and plan.key in map(code_key, value.split("\n"))))
        if hit:
            matched.append(name)
    snippet: Snippet = ()
    if best is not None and best[1]:
        text, folded = _aligned(best[1].decode("utf-8"), best[2] or None)
        found = _find(matcher, text.lower(), folded) if matcher is not None else []
        snippet = _snippet(text, found)
    return Hit(
        document_id=document_id,
        score=score,
        original_name=str(data.get("n") or ""),
        dossier_code=data.get("d"),
        best_page=int(best[0]) if best is not None else 0,
        matching_pages=matching,
        page_count=len(pages),
        snippet=snippet,
        matched_fields=tuple(matched),
        fields=dict(data.get("x") or {}),
    )


def _snippet(text: str, found: list[_Found]) -> Snippet:
    # Window: most distinct units, then most exact matches.
    lo = 0
    best = -1
    for i, (start, _, _, _) in enumerate(found):
        units: set[int] = set()
        exact = 0
        for _, e, unit, is_exact in found[i:]:
            if e > start + SNIPPET_CHARS - SNIPPET_LEAD:
                break
            units.add(unit)
            exact += is_exact
        score = len(units) * 1000 + exact
        if score > best:
            best, lo = score, max(0, start - SNIPPET_LEAD)
    hi = min(len(text), lo + SNIPPET_CHARS)
    # Cut at spaces so that no word is split.
    if lo > 0:
        lo = _word_start(text, lo)
    if hi < len(text):
        hi = _word_end(text, hi)

    segments: list[tuple[str, bool]] = []
    plain = "…" if _NOT_BLANK.search(text, 0, lo) else ""
    cursor = lo
    for s, e, _, _ in found:
        if s < lo or e > hi:
            continue
        for t in token_spans(text[s:e]):  # each word of a phrase marked on its own
            plain += text[cursor:s + t.start()]
            if plain:
                segments.append((_squash(plain), False))
            segments.append((t.group(0), True))
            plain = ""
            cursor = s + t.end()
    plain += text[cursor:hi]
    if _NOT_BLANK.search(text, hi):
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
_NOT_BLANK = re.compile(r"\S")  # searched within bounds: no copy of a long remainder


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text)

