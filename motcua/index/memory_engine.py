"""A third engine, in memory: the ranking plan evaluated in Python over a few entries.

It serves the documents changed since the index on disk was last committed (see
`archive.indexing`, "pending"): a metadata change, an owner link or a reuse records the
document as pending instead of paying a disk engine's commit (several fsyncs, tens to
hundreds of milliseconds on a busy disk), and each search evaluates the same
`query.ranking` plan over the pending documents' current entries and merges them with
the disk engine's hits. It holds a handful of documents, so a linear scan is the fast
way; it is not meant for an archive.

Scores follow the disk engines: the same constant tiers, plus BM25 (k1 1.2, b 0.75) of
the folded words. Term statistics come from `stats` (the disk index, so that a pending
document's BM25 compares with the others') or, without it, from the entries held.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from motcua.index.model import NO_FILTERS, DocEntry, Hit, SearchFilters
from motcua.index.normalize import fold_diacritics, tokens
from motcua.index.query import (
    KEY_FIELD,
    MAX_TOKEN,
    META_EXACT,
    META_FOLDED,
    META_PAIRS,
    NAME_FIELDS,
    TEXT_EXACT,
    TEXT_FOLDED,
    TEXT_PAIRS,
    Indexed,
    Match,
    QueryPlan,
    Ranking,
    date_bounds,
    filter_keys,
    make_hit,
    plan_query,
    ranking,
    to_indexed,
)

K1, B = 1.2, 0.75

# (field, term) -> documents holding it, in the index the scores must agree with.
DocFreq = Callable[[str, str], int]


@dataclass(frozen=True)
class TermStats:
    """Statistics of the index a pending document is ranked against."""

    num_docs: int
    doc_freq: DocFreq


@dataclass(frozen=True)
class Analysed:
    """An entry as this engine searches it (made once: a long-lived process, the web
    page, keeps those of unchanged pending documents between searches)."""

    indexed: Indexed
    # field -> token -> count (positions for the pair fields)
    counts: dict[str, Counter[str]]
    pairs: dict[str, list[str]]
    lengths: dict[str, int]


def _short(words: Iterable[str], limit: int = MAX_TOKEN) -> list[str]:
    # As the disk engines' remove-long filters: tokens of `limit` bytes or more dropped.
    return [w for w in words if len(w.encode("utf-8")) < limit]


def analyse(entry: DocEntry) -> Analysed:
    return _analyse(to_indexed(entry))


def _analyse(ix: Indexed) -> Analysed:
    text_exact = _short(tokens(ix.text))
    meta_exact = _short(tokens(ix.meta))
    fields: dict[str, list[str]] = {
        TEXT_EXACT: text_exact,
        TEXT_FOLDED: _short(fold_diacritics(t) for t in tokens(ix.text_folded)),
        META_EXACT: meta_exact,
        META_FOLDED: [fold_diacritics(t) for t in meta_exact],
        KEY_FIELD: list(ix.keys),
    }
    for name, values in zip(NAME_FIELDS, ix.names, strict=True):
        fields[name] = list(values)
    pairs = {TEXT_PAIRS: _short(ix.text_pairs.split(), 2 * MAX_TOKEN + 1),
             META_PAIRS: _short(ix.meta_pairs.split(), 2 * MAX_TOKEN + 1)}
    counts = {name: Counter(words) for name, words in {**fields, **pairs}.items()}
    lengths = {name: len(words) for name, words in {**fields, **pairs}.items()}
    return Analysed(ix, counts, pairs, lengths)


class MemoryEngine:
    """SearchEngine over entries held in memory (nothing is written anywhere)."""

    def __init__(self, stats: TermStats | None = None) -> None:
        self._stats = stats
        self._docs: dict[int, Analysed] = {}
        self._staged: dict[int, Analysed | None] = {}
        self._clear = False

    # -- writing: staged until commit, as the disk engines ----------------------------

    def replace_document(self, entry: DocEntry) -> None:
        self.add(analyse(entry))

    def add(self, doc: Analysed) -> None:
        """`replace_document` with the entry already analysed."""
        self._staged[doc.indexed.document_id] = doc

    def delete_document(self, document_id: int) -> None:
        self._staged[document_id] = None

    def clear(self) -> None:
        self._staged.clear()
        self._clear = True

    def commit(self) -> None:
        if self._clear:
            self._docs.clear()
            self._clear = False
        for doc_id, doc in self._staged.items():
            if doc is None:
                self._docs.pop(doc_id, None)
            else:
                self._docs[doc_id] = doc
        self._staged.clear()

    def settle(self) -> None:
        return None

    def close(self) -> None:
        self._staged.clear()
        self._clear = False

    def count(self) -> int:
        return len(self._docs)

    def doc_freq(self, field: str, term: str) -> int:
        return sum(1 for d in self._docs.values() if d.counts[field][term])

    # -- reading ---------------------------------------------------------------------

    def search(
        self, query: str, filters: SearchFilters = NO_FILTERS, limit: int = 20, offset: int = 0,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        plan = plan_query(query)
        return [self.hit(plan, doc_id, score)
                for score, doc_id in self.ranked(plan, filters, limit, offset, exclude)]

    def ranked(self, plan: QueryPlan, filters: SearchFilters = NO_FILTERS, limit: int = 20,
               offset: int = 0, exclude: Collection[int] = ()) -> list[tuple[float, int]]:
        """(score, document id), best first: a hit is built (`hit`) only for those kept."""
        rank = ranking(plan)
        if (not rank.alternatives and filters.is_empty()) or limit <= 0:
            return []
        scorer = _Scorer(self._stats or TermStats(len(self._docs), self.doc_freq),
                         self._docs.values())
        keys = filter_keys(filters)
        bounds = date_bounds(filters)
        scored: list[tuple[float, int]] = []
        for doc_id, doc in self._docs.items():
            if doc_id in exclude:
                continue
            if any(not any(doc.counts[KEY_FIELD][k] for k in options) for options in keys):
                continue
            if bounds and not bounds[0] <= doc.indexed.day <= bounds[1]:
                continue
            score = scorer.score(rank, doc)
            if score is not None:
                scored.append((score, doc_id))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return scored[max(0, offset):max(0, offset) + limit]

    def hit(self, plan: QueryPlan, document_id: int, score: float) -> Hit:
        return make_hit(plan, document_id, score, self._docs[document_id].indexed.stored)


class _Scorer:
    """The plan's score of one document (None: it does not match), as the disk engines
    compute it: a boolean query sums its matching clauses, a tier is a constant, a group
    of tiers counts its best one."""

    def __init__(self, stats: TermStats, docs: Iterable[Analysed]) -> None:
        self.stats = stats
        held = list(docs)
        self.avg: dict[str, float] = {}
        if held:
            for field in held[0].lengths:
                self.avg[field] = max(1.0, sum(d.lengths[field] for d in held) / len(held))
        self._idf: dict[tuple[str, str], float] = {}

    def idf(self, field: str, term: str) -> float:
        key = (field, term)
        if key not in self._idf:
            n = max(1, self.stats.num_docs)
            df = min(n, max(1, self.stats.doc_freq(field, term)))
            self._idf[key] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return self._idf[key]

    def bm25(self, field: str, terms: tuple[str, ...], tf: int, doc: Analysed) -> float:
        norm = doc.lengths.get(field, 0) / self.avg.get(field, 1.0)
        weight = sum(self.idf(field, t) for t in terms)
        return weight * tf * (K1 + 1) / (tf + K1 * (1 - B + B * norm))

    def match(self, m: Match, doc: Analysed) -> float | None:
        total: float | None = None
        for field in m.fields:
            counts = doc.counts[field]
            if len(m.words) == 1 or not m.in_order:
                if not all(counts[w] for w in m.words):
                    continue
                score = sum(self.bm25(field, (w,), counts[w], doc) for w in m.words)
            else:
                tf = _phrase_count(doc.pairs.get(field, []), m.words)
                if not tf:
                    continue
                score = self.bm25(field, m.words, tf, doc)
            total = (total or 0.0) + score
        return total

    def score(self, rank: Ranking, doc: Analysed) -> float | None:
        total: float | None = None
        for alternative in rank.alternatives:
            parts = [self.match(m, doc) for m in alternative]
            if all(p is not None for p in parts):
                total = (total or 0.0) + sum(p for p in parts if p is not None)
        if total is None and rank.alternatives:
            return None
        total = total or 0.0
        for group in rank.groups:
            best = max((t.score for t in group
                        if any(self.match(m, doc) is not None for m in t.matches)), default=0.0)
            total += best
        return total


def _phrase_count(positions: list[str], words: tuple[str, ...]) -> int:
    """How often `words` occur one after another in `positions`."""
    n = len(words)
    return sum(1 for i in range(len(positions) - n + 1)
               if positions[i] == words[0] and tuple(positions[i:i + n]) == words)
