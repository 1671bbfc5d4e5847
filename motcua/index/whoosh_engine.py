"""The pure-Python engine (whoosh3): no native code, but slow beyond ~10,000 pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import whoosh.index
from whoosh import query as wq
from whoosh.analysis import Analyzer, SpaceSeparatedTokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.writing import CLEAR

from motcua.index import storage
from motcua.index.model import NO_FILTERS, Hit, PageDoc, SearchFilters
from motcua.index.normalize import index_fields
from motcua.index.query import (
    EXACT_TIER,
    Unit,
    build_snippet,
    day_number,
    filter_terms,
    page_codes,
    parse_query,
)

KIND = "whoosh"
LOCK_WAIT_S = 10.0
# Errors whoosh raises on a damaged or half-deleted index.
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, whoosh.index.IndexError)


def _schema() -> Schema:
    # Tokens are made in Python (normalize.py) and joined by spaces, so both
    # engines index identical terms.
    tokens = cast(Analyzer, SpaceSeparatedTokenizer())
    return Schema(
        doc_key=ID(stored=True),
        page_no=STORED(),
        exact=TEXT(analyzer=tokens, phrase=True),
        folded=TEXT(analyzer=tokens, phrase=True),
        text=STORED(),
        name=STORED(),
        dossier=ID(stored=True),
        owner=KEYWORD(commas=True),
        procedure=ID(),
        doctype=ID(),
        day=NUMERIC(int, bits=32),
    )


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
        self._pending: dict[int, Sequence[PageDoc]] = {}
        self._clear = False

    # -- writing -----------------------------------------------------------

    def replace_document(self, document_id: int, pages: Sequence[PageDoc]) -> None:
        for page in pages:
            if page.document_id != document_id:
                raise ValueError(f"page of document {page.document_id} given for {document_id}")
        self._pending[document_id] = tuple(pages)

    def delete_document(self, document_id: int) -> None:
        self._pending[document_id] = ()

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
            for pages in self._pending.values():
                for page in pages:
                    writer.add_document(**self._fields(page))
            writer.commit(mergetype=CLEAR if self._clear else None)
        except BaseException:
            writer.cancel()
            raise
        self._pending.clear()
        self._clear = False

    @staticmethod
    def _fields(page: PageDoc) -> dict[str, Any]:
        normalized, exact, folded = index_fields(page.text)
        fields: dict[str, Any] = {
            "doc_key": str(page.document_id),
            "page_no": page.page_no,
            "exact": exact,
            "folded": folded,
            "text": normalized,
            "name": page.original_name,
            "day": day_number(page.date),
        }
        for field, values in page_codes(page).items():
            if values:
                fields[field] = ",".join(values)
        return fields

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

    def search(self, query: str, filters: SearchFilters = NO_FILTERS, limit: int = 20) -> list[Hit]:
        units = parse_query(query)
        if (not units and filters.is_empty()) or limit <= 0:
            return []
        q = self._query(units)
        fq = self._filter(filters)
        hits = []
        try:
            with self.ix.searcher() as searcher:
                for r in searcher.search(q, limit=limit, filter=fq):
                    stored = r.fields()
                    hits.append(
                        Hit(
                            document_id=int(stored["doc_key"]),
                            page_no=int(stored["page_no"]),
                            score=float(r.score or 0.0),
                            dossier_code=stored.get("dossier"),
                            original_name=str(stored.get("name", "")),
                            snippet=build_snippet(stored.get("text", ""), units),
                        )
                    )
        except _READ_ERRORS as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc
        return hits

    @staticmethod
    def _unit_query(field: str, words: tuple[str, ...]) -> wq.Query:
        if len(words) == 1:
            return wq.Term(field, words[0])
        return wq.Phrase(field, list(words), slop=1)

    def _query(self, units: list[Unit]) -> wq.Query:
        if not units:
            return wq.Every()
        required = wq.And([self._unit_query("folded", u.folded) for u in units])
        bonus = [
            wq.ConstantScoreQuery(self._unit_query("exact", u.exact), EXACT_TIER)
            for u in units
            if u.has_marks
        ]
        if not bonus:
            return required
        return wq.AndMaybe(required, wq.Or(bonus))

    @staticmethod
    def _filter(filters: SearchFilters) -> wq.Query | None:
        parts: list[wq.Query] = [wq.Term(f, v) for f, v in filter_terms(filters).items()]
        if filters.date_from or filters.date_to:
            parts.append(
                wq.NumericRange(
                    "day",
                    day_number(filters.date_from) if filters.date_from else None,
                    day_number(filters.date_to) if filters.date_to else None,
                )
            )
        return wq.And(parts) if parts else None
