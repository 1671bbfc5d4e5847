"""The pure-Python engine (whoosh3): no native code, but slow beyond ~10,000 pages."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import whoosh.index
from whoosh import query as wq
from whoosh.analysis import (
    Analyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    SpaceSeparatedTokenizer,
    StopFilter,
    Token,
)
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.writing import CLEAR

from motcua.index import storage
from motcua.index.model import NO_FILTERS, DocEntry, Hit, SearchFilters
from motcua.index.normalize import fold_diacritics
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
    Match,
    Ranking,
    Tier,
    date_bounds,
    filter_keys,
    make_hit,
    plan_query,
    ranking,
    to_indexed,
)

KIND = "whoosh"
LOCK_WAIT_S = 10.0
# Errors whoosh raises on a damaged or half-deleted index.
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, whoosh.index.IndexError)


class _Fold(Filter):
    """Drops diacritics with normalize.fold_diacritics, the same terms tantivy makes."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:  # type: ignore[override]
        for token in tokens:
            token.text = fold_diacritics(token.text)
            yield token


def _analyzer(folded: bool) -> Analyzer:
    # Same tokens as normalize.tokens and the tantivy analysers: letters and digits.
    chain = (RegexTokenizer(r"[^\W_]+") | LowercaseFilter()
             | StopFilter(stoplist=None, minsize=1, maxsize=MAX_TOKEN))
    if folded:
        chain = chain | _Fold()
    return cast(Analyzer, chain)


def _schema() -> Schema:
    exact, folded = _analyzer(False), _analyzer(True)
    pairs = cast(Analyzer, SpaceSeparatedTokenizer())
    fields: dict[str, Any] = {
        "doc_key": ID(stored=True),
        # As in the tantivy engine: positions only in the word pairs (query.ranking).
        TEXT_EXACT: TEXT(analyzer=exact, phrase=False),
        TEXT_FOLDED: TEXT(analyzer=folded, phrase=False),
        TEXT_PAIRS: TEXT(analyzer=pairs, phrase=True),
        META_EXACT: TEXT(analyzer=exact, phrase=False),
        META_FOLDED: TEXT(analyzer=folded, phrase=False),
        META_PAIRS: TEXT(analyzer=pairs, phrase=True),
        KEY_FIELD: KEYWORD(),
        "day": NUMERIC(int, bits=32),
        "blob": STORED(),
    }
    for name in NAME_FIELDS:
        fields[name] = KEYWORD()
    return Schema(**fields)


class WhooshEngine:
    """SearchEngine on a whoosh index directory.

    Writes are buffered and applied at commit: a whoosh writer cannot delete
    documents it added itself, so replacing a document twice before a commit
    would otherwise leave both versions.
    """

    def __init__(self, path: Path, rebuild: bool = False) -> None:
        self.path = path
        is_new = storage.prepare(path, KIND, rebuild)
        try:
            if is_new:
                self.ix = whoosh.index.create_in(str(path), _schema())
            else:
                self.ix = whoosh.index.open_dir(str(path))
        except Exception as exc:  # whoosh has no common base for a damaged index
            raise storage.unreadable(path, KIND, exc) from exc
        self._pending: dict[int, DocEntry | None] = {}
        self._clear = False

    # -- writing -----------------------------------------------------------

    def replace_document(self, entry: DocEntry) -> None:
        self._pending[entry.document_id] = entry

    def delete_document(self, document_id: int) -> None:
        self._pending[document_id] = None

    def clear(self) -> None:
        self._pending.clear()
        self._clear = True

    def commit(self) -> None:
        if not self._pending and not self._clear:
            return
        try:
            writer = self.ix.writer(timeout=LOCK_WAIT_S)
        except whoosh.index.LockError as exc:
            raise storage.writer_busy(self.path, KIND, exc) from exc
        except _READ_ERRORS as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc
        try:
            if not self._clear:
                searcher = writer.searcher()
                try:
                    if searcher.doc_count_all():
                        for document_id in self._pending:
                            writer.delete_by_term("doc_key", str(document_id), searcher=searcher)
                finally:
                    searcher.close()
            for entry in self._pending.values():
                if entry is not None:
                    writer.add_document(**self._fields(entry))
            writer.commit(mergetype=CLEAR if self._clear else None)
        except BaseException:
            writer.cancel()
            raise
        self._pending.clear()
        self._clear = False

    @staticmethod
    def _fields(entry: DocEntry) -> dict[str, Any]:
        ix = to_indexed(entry)
        fields: dict[str, Any] = {
            "doc_key": str(ix.document_id),
            TEXT_EXACT: ix.text,
            TEXT_FOLDED: ix.text_folded,
            META_EXACT: ix.meta,
            META_FOLDED: ix.meta,
            TEXT_PAIRS: ix.text_pairs,
            META_PAIRS: ix.meta_pairs,
            "day": ix.day,
            "blob": ix.stored,
        }
        for name, values in zip(NAME_FIELDS, ix.names, strict=True):
            if values:
                fields[name] = " ".join(values)
        if ix.keys:
            fields[KEY_FIELD] = " ".join(ix.keys)
        return fields

    def settle(self) -> None:
        """Nothing to do: whoosh merges its segments in the commit itself."""

    def close(self) -> None:
        self._pending.clear()
        self._clear = False

    # -- reading -----------------------------------------------------------

    def count(self) -> int:
        try:
            # A new searcher each time: refreshed ones can return stale documents.
            with self.ix.searcher() as searcher:
                return int(searcher.doc_count())
        except _READ_ERRORS as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc

    def doc_freq(self, field: str, term: str) -> int:
        try:
            with self.ix.searcher() as searcher:
                return int(searcher.doc_frequency(field, term))
        except _READ_ERRORS as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc

    def search(
        self, query: str, filters: SearchFilters = NO_FILTERS, limit: int = 20, offset: int = 0,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        plan = plan_query(query)
        rank = ranking(plan)
        if (not rank.alternatives and filters.is_empty()) or limit <= 0:
            return []
        offset = max(0, offset)
        try:
            with self.ix.searcher() as searcher:
                # Every match, then a stable order: whoosh's top-N collector breaks
                # score ties differently for different limits, which would repeat or
                # skip documents between pages.
                mask = (wq.Or([wq.Term("doc_key", str(d)) for d in sorted(exclude)])
                        if exclude else None)
                results = searcher.search(self._query(rank), limit=None,
                                          filter=self._filter(filters), mask=mask)
                ranked = sorted(((float(r.score or 0.0), r.docnum) for r in results),
                                key=lambda sd: (-sd[0], sd[1]))[offset:offset + limit]
                found = [(int(searcher.stored_fields(n)["doc_key"]), score,
                          searcher.stored_fields(n)["blob"]) for score, n in ranked]
        except _READ_ERRORS as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc
        return [make_hit(plan, doc_id, score, blob) for doc_id, score, blob in found]

    @staticmethod
    def _match(match: Match) -> wq.Query:
        def one(field: str) -> wq.Query:
            if len(match.words) == 1:
                return wq.Term(field, match.words[0])
            if not match.in_order:
                return wq.And([wq.Term(field, w) for w in match.words])
            return wq.Phrase(field, list(match.words), slop=1)

        if len(match.fields) == 1:
            return one(match.fields[0])
        return wq.Or([one(f) for f in match.fields])

    def _tier(self, tier: Tier) -> wq.Query:
        matches = [self._match(m) for m in tier.matches]
        inner = matches[0] if len(matches) == 1 else wq.Or(matches)
        return wq.ConstantScoreQuery(inner, tier.score)

    def _best_tier(self, group: tuple[Tier, ...]) -> wq.Query:
        """The group's tiers summed, not their maximum: whoosh's DisjunctionMax reports a
        child's score on documents that child does not match, and AndNot fails on
        exhausted matchers. The order stays that of the maximum because the tiers of a
        group are nested (a name equal as typed is equal folded too) or rarely both
        match (one document spelling a word both ways)."""
        tiers = [self._tier(t) for t in group]
        return tiers[0] if len(tiers) == 1 else wq.Or(tiers)

    def _query(self, rank: Ranking) -> wq.Query:
        alternatives = [
            m[0] if len(m) == 1 else wq.And(m)
            for m in ([self._match(x) for x in alt] for alt in rank.alternatives)
        ]
        if not alternatives:
            required: wq.Query = wq.Every()
        elif len(alternatives) == 1:
            required = alternatives[0]
        else:
            required = wq.Or(alternatives)
        groups = [self._best_tier(group) for group in rank.groups]
        if not groups:
            return required
        return wq.AndMaybe(required, wq.Or(groups))

    @staticmethod
    def _filter(filters: SearchFilters) -> wq.Query | None:
        parts: list[wq.Query] = [
            wq.Or([wq.Term(KEY_FIELD, k) for k in keys]) for keys in filter_keys(filters)
        ]
        bounds = date_bounds(filters)
        if bounds:
            parts.append(wq.NumericRange("day", bounds[0], bounds[1]))
        return wq.And(parts) if parts else None
