"""The default engine: tantivy (Rust), fast enough for a commune's whole archive."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import tantivy

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

KIND = "tantivy"
# Tokens are made in Python (normalize.py) and joined by spaces, so tantivy
# only splits on whitespace and both engines index identical terms.
TOKENIZER = "motcua_ws"
WRITER_HEAP = 128_000_000
LOCK_WAIT_S = 10.0


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("doc_id", stored=True, indexed=True, fast=True)
    sb.add_integer_field("page_no", stored=True)
    sb.add_text_field("exact", tokenizer_name=TOKENIZER, index_option="position")
    sb.add_text_field("folded", tokenizer_name=TOKENIZER, index_option="position")
    # Bytes: stored for snippets, never tokenised (a raw text field would
    # index the whole page as one term).
    sb.add_bytes_field("text", stored=True, indexed=False)
    sb.add_text_field("name", stored=True, tokenizer_name="raw", index_option="basic")
    for code in ("dossier", "owner", "procedure", "doctype"):
        sb.add_text_field(code, stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("day", stored=True, indexed=True, fast=True)
    return sb.build()


class TantivyEngine:
    """SearchEngine on a tantivy index directory."""

    def __init__(self, path: Path, rebuild: bool = False) -> None:
        self.path = path
        is_new = storage.prepare(path, KIND, rebuild)
        self.schema = _schema()
        try:
            if is_new and not tantivy.Index.exists(str(path)):
                try:
                    self.index = tantivy.Index(self.schema, path=str(path), reuse=False)
                except ValueError:
                    # Another process created it in the meantime.
                    self.index = tantivy.Index.open(str(path))
            else:
                self.index = tantivy.Index.open(str(path))
            self.index.register_tokenizer(
                TOKENIZER,
                tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
                # OCR garbage can make huge tokens; tantivy rejects terms > 64 KiB.
                .filter(tantivy.Filter.remove_long(200))
                .build(),
            )
            # Reload explicitly before each search: another process's commit
            # must be visible at once, not after a file-watcher delay.
            self.index.config_reader(reload_policy="manual")
        except (ValueError, OSError) as exc:
            raise storage.unreadable(path, KIND, exc) from exc
        self._writer: tantivy.IndexWriter | None = None

    # -- writing -----------------------------------------------------------

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    self._writer = self.index.writer(heap_size=WRITER_HEAP)
                    break
                except ValueError as exc:
                    if "lock" not in str(exc).lower():
                        raise storage.unreadable(self.path, KIND, exc) from exc
                    if time.monotonic() > deadline:
                        raise storage.writer_busy(self.path, KIND, exc) from exc
                    time.sleep(0.1)
        return self._writer

    def replace_document(self, document_id: int, pages: Sequence[PageDoc]) -> None:
        writer = self._get_writer()
        # Deletes apply to documents added before them, so the new pages survive.
        writer.delete_documents_by_term("doc_id", document_id)
        for page in pages:
            if page.document_id != document_id:
                raise ValueError(f"page of document {page.document_id} given for {document_id}")
            writer.add_document(self._to_doc(page))

    def _to_doc(self, page: PageDoc) -> tantivy.Document:
        normalized, exact, folded = index_fields(page.text)
        doc = tantivy.Document()
        doc.add_integer("doc_id", page.document_id)
        doc.add_integer("page_no", page.page_no)
        doc.add_text("exact", exact)
        doc.add_text("folded", folded)
        doc.add_bytes("text", normalized.encode("utf-8"))
        doc.add_text("name", page.original_name)
        for field, values in page_codes(page).items():
            for value in values:
                doc.add_text(field, value)
        doc.add_integer("day", day_number(page.date))
        return doc

    def delete_document(self, document_id: int) -> None:
        self._get_writer().delete_documents_by_term("doc_id", document_id)

    def clear(self) -> None:
        self._get_writer().delete_all_documents()

    def commit(self) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        try:
            writer.commit()
            # Consumes the writer: finishes merges and frees the lock file.
            writer.wait_merging_threads()
        except ValueError as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.rollback()
            writer.wait_merging_threads()

    # -- reading -----------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        try:
            self.index.reload()
            return self.index.searcher()
        except (ValueError, OSError) as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc

    def count(self) -> int:
        return int(self._searcher().num_docs)

    def search(self, query: str, filters: SearchFilters = NO_FILTERS, limit: int = 20) -> list[Hit]:
        units = parse_query(query)
        if (not units and filters.is_empty()) or limit <= 0:
            return []
        searcher = self._searcher()
        q = self._query(units, filters)
        try:
            result = searcher.search(q, limit, count=False)
            docs = [(score, searcher.doc(addr)) for score, addr in result.hits]
        except ValueError as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc
        hits = []
        for score, doc in docs:
            text = bytes(doc.get_first("text") or b"").decode("utf-8")
            hits.append(
                Hit(
                    document_id=int(doc.get_first("doc_id") or 0),
                    page_no=int(doc.get_first("page_no") or 0),
                    score=float(score),
                    dossier_code=doc.get_first("dossier"),
                    original_name=str(doc.get_first("name") or ""),
                    snippet=build_snippet(text, units),
                )
            )
        return hits

    def _unit_query(self, field: str, words: tuple[str, ...]) -> tantivy.Query:
        if len(words) == 1:
            return tantivy.Query.term_query(self.schema, field, words[0])
        return tantivy.Query.phrase_query(self.schema, field, list(words))

    def _query(self, units: list[Unit], filters: SearchFilters) -> tantivy.Query:
        Occur = tantivy.Occur
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for unit in units:
            clauses.append((Occur.Must, self._unit_query("folded", unit.folded)))
            if unit.has_marks:
                exact = self._unit_query("exact", unit.exact)
                clauses.append((Occur.Should, tantivy.Query.const_score_query(exact, EXACT_TIER)))
        for field, value in filter_terms(filters).items():
            term = tantivy.Query.term_query(self.schema, field, value)
            clauses.append((Occur.Must, tantivy.Query.const_score_query(term, 0.0)))
        if filters.date_from or filters.date_to:
            days = tantivy.Query.range_query(
                self.schema,
                "day",
                tantivy.FieldType.Integer,
                day_number(filters.date_from) if filters.date_from else 0,
                day_number(filters.date_to) if filters.date_to else 99991231,
            )
            clauses.append((Occur.Must, tantivy.Query.const_score_query(days, 0.0)))
        if not units:
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)
