"""The default engine: tantivy (Rust), fast enough for a commune's whole archive."""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path

import tantivy

from motcua.index import storage
from motcua.index.model import NO_FILTERS, DocEntry, Hit, SearchFilters
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
    Ranking,
    Tier,
    date_bounds,
    filter_keys,
    make_hit,
    plan_query,
    ranking,
    to_indexed,
)

KIND = "tantivy"
# Both analysers split on what is not a letter or digit (tantivy's simple tokenizer:
# char::is_alphanumeric, the same runs as normalize.tokens' [^\W_]+, at half the cost of
# its regex tokenizer) and lower-case; the folded one also drops diacritics (tantivy's
# ASCII folding agrees with normalize.fold_diacritics on Vietnamese). Tokenising in Rust
# keeps indexing fast.
EXACT_ANALYZER = "motcua_exact"
FOLDED_ANALYZER = "motcua_folded"
PAIRS_ANALYZER = "motcua_pairs"  # word pairs made in Python (query.pairs)
# A rebuild fills the index with every document: big segments, every core. Otherwise
# (the pipeline, a metadata change) a few documents at a time: one thread and a small
# heap start and stop faster.
BULK_WRITER = (128_000_000, 0)  # heap bytes, threads (0: tantivy picks)
SMALL_WRITER = (20_000_000, 1)
LOCK_WAIT_S = 10.0
# tantivy's default merge policy (LogMergePolicy) counts every segment under about 17,000
# documents as one level and merges a level when it holds 8 segments.
MERGE_LEVEL_SEGMENTS = 8


def _analyzer(folded: bool) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        # OCR garbage can make huge tokens; tantivy rejects terms > 64 KiB.
        .filter(tantivy.Filter.remove_long(MAX_TOKEN))
        .filter(tantivy.Filter.lowercase())
    )
    if folded:
        builder = builder.filter(tantivy.Filter.ascii_fold())
    return builder.build()


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("doc_id", stored=True, indexed=True, fast=True)
    for exact, folded, pairs in ((TEXT_EXACT, TEXT_FOLDED, TEXT_PAIRS),
                                 (META_EXACT, META_FOLDED, META_PAIRS)):
        # Phrases are matched on the word pairs, the only fields with positions; the
        # others answer single words (query.ranking). The exact fields only ever feed
        # constant-score tiers: no term frequencies.
        sb.add_text_field(exact, tokenizer_name=EXACT_ANALYZER, index_option="basic")
        sb.add_text_field(folded, tokenizer_name=FOLDED_ANALYZER, index_option="freq")
        sb.add_text_field(pairs, tokenizer_name=PAIRS_ANALYZER, index_option="position")
    for name in (*NAME_FIELDS, KEY_FIELD):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("day", indexed=True, fast=True)
    # Pages, fields and names for building hits: stored, never tokenised.
    sb.add_bytes_field("blob", stored=True, indexed=False)
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
            self.index.register_tokenizer(EXACT_ANALYZER, _analyzer(folded=False))
            self.index.register_tokenizer(FOLDED_ANALYZER, _analyzer(folded=True))
            self.index.register_tokenizer(
                PAIRS_ANALYZER,
                tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
                .filter(tantivy.Filter.remove_long(2 * MAX_TOKEN + 1))
                .build(),
            )
            # Reload explicitly before each search: another process's commit
            # must be visible at once, not after a file-watcher delay.
            self.index.config_reader(reload_policy="manual")
        except (ValueError, OSError) as exc:
            raise storage.unreadable(path, KIND, exc) from exc
        self._writer: tantivy.IndexWriter | None = None
        self._writer_size = BULK_WRITER if rebuild else SMALL_WRITER
        self._loaded: tuple[int, int, int] | None = None  # meta.json last reloaded
        self._last: list[Indexed] = []  # the last entries added (for `settle`)

    # -- writing -----------------------------------------------------------

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    heap, threads = self._writer_size
                    self._writer = self.index.writer(heap_size=heap, num_threads=threads)
                    break
                except ValueError as exc:
                    if "lock" not in str(exc).lower():
                        raise storage.unreadable(self.path, KIND, exc) from exc
                    if time.monotonic() > deadline:
                        raise storage.writer_busy(self.path, KIND, exc) from exc
                    time.sleep(0.1)
        return self._writer

    def replace_document(self, entry: DocEntry) -> None:
        writer = self._get_writer()
        # Deletes apply to documents added before them, so the new entry survives.
        writer.delete_documents_by_term("doc_id", entry.document_id)
        indexed = to_indexed(entry)
        writer.add_document(self._to_doc(indexed))
        self._last = [*self._last[1 - MERGE_LEVEL_SEGMENTS:], indexed]

    @staticmethod
    def _to_doc(ix: Indexed) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_integer("doc_id", ix.document_id)
        doc.add_text(TEXT_EXACT, ix.text)
        doc.add_text(TEXT_FOLDED, ix.text_folded)  # same terms, cheaper to tokenise
        doc.add_text(META_EXACT, ix.meta)
        doc.add_text(META_FOLDED, ix.meta)
        doc.add_text(TEXT_PAIRS, ix.text_pairs)
        doc.add_text(META_PAIRS, ix.meta_pairs)
        for field, values in zip(NAME_FIELDS, ix.names, strict=True):
            for value in values:
                doc.add_text(field, value)
        for key in ix.keys:
            doc.add_text(KEY_FIELD, key)
        doc.add_integer("day", ix.day)
        doc.add_bytes("blob", ix.stored)
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

    def settle(self) -> None:
        """After a bulk load, merge now the small segments it left behind.

        A rebuild ends with a few partial segments in the merge policy's lowest level;
        left there, the eighth later one-document update (which waits for its merges,
        so that segments do not pile up) would merge them, seconds instead of
        milliseconds. Each round adds one of the last entries again (a one-document
        segment) until the level has been merged; its merged segment is then big enough
        to leave the level, and later updates merge only small segments."""
        before = self._segments()
        for last in self._last:
            writer = self._get_writer()
            writer.delete_documents_by_term("doc_id", last.document_id)
            writer.add_document(self._to_doc(last))
            self.commit()
            now = self._segments()
            if now <= before:
                return
            before = now

    def _segments(self) -> int:
        return int(self._searcher().num_segments)

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.rollback()
            writer.wait_merging_threads()

    # -- reading -----------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        try:
            # A commit (this process's or another's) replaces meta.json, a new file:
            # reloading costs more than a short search, so only when it was replaced.
            stamp = self._meta_stamp()
            if stamp is None or stamp != self._loaded:
                self.index.reload()
                self._loaded = stamp
            return self.index.searcher()
        except (ValueError, OSError) as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc

    def _meta_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path / "meta.json")
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def count(self) -> int:
        return int(self._searcher().num_docs)

    def doc_freq(self, field: str, term: str) -> int:
        try:
            return int(self._searcher().doc_freq(field, term))
        except ValueError as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc

    def search(
        self, query: str, filters: SearchFilters = NO_FILTERS, limit: int = 20, offset: int = 0,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        plan = plan_query(query)
        rank = ranking(plan)
        if (not rank.alternatives and filters.is_empty()) or limit <= 0:
            return []
        searcher = self._searcher()
        query_obj = self._query(rank, filters)
        if exclude:
            query_obj = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, query_obj),
                (tantivy.Occur.MustNot, tantivy.Query.term_set_query(
                    self.schema, "doc_id", sorted(exclude)))])
        try:
            result = searcher.search(query_obj, limit, count=False, offset=max(0, offset))
            docs = [(score, searcher.doc(addr)) for score, addr in result.hits]
        except ValueError as exc:
            raise storage.unreadable(self.path, KIND, exc) from exc
        return [
            make_hit(plan, int(doc.get_first("doc_id") or 0), float(score),
                     bytes(doc.get_first("blob") or b"{}"))
            for score, doc in docs
        ]

    def _match(self, match: Match) -> tantivy.Query:
        def one(field: str) -> tantivy.Query:
            if len(match.words) == 1:
                return tantivy.Query.term_query(self.schema, field, match.words[0])
            if not match.in_order:
                return tantivy.Query.boolean_query(
                    [(tantivy.Occur.Must, tantivy.Query.term_query(self.schema, field, w))
                     for w in match.words])
            return tantivy.Query.phrase_query(self.schema, field, list(match.words))

        if len(match.fields) == 1:
            return one(match.fields[0])
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, one(f)) for f in match.fields])

    def _tier(self, tier: Tier) -> tantivy.Query:
        matches = [self._match(m) for m in tier.matches]
        inner = (matches[0] if len(matches) == 1 else
                 tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in matches]))
        return tantivy.Query.const_score_query(inner, tier.score)

    def _query(self, rank: Ranking, filters: SearchFilters) -> tantivy.Query:
        Occur = tantivy.Occur
        alternatives = [
            m[0] if len(m) == 1 else tantivy.Query.boolean_query([(Occur.Must, q) for q in m])
            for m in ([self._match(x) for x in alt] for alt in rank.alternatives)
        ]
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if not alternatives:
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        elif len(alternatives) == 1:
            clauses.append((Occur.Must, alternatives[0]))
        else:
            clauses.append((Occur.Must, tantivy.Query.boolean_query(
                [(Occur.Should, q) for q in alternatives])))
        for group in rank.groups:
            tiers = [self._tier(t) for t in group]
            clauses.append((Occur.Should, tiers[0] if len(tiers) == 1 else
                            tantivy.Query.disjunction_max_query(tiers)))
        for keys in filter_keys(filters):
            terms = [tantivy.Query.term_query(self.schema, KEY_FIELD, k) for k in keys]
            either = terms[0] if len(terms) == 1 else tantivy.Query.boolean_query(
                [(Occur.Should, t) for t in terms])
            clauses.append((Occur.Must, tantivy.Query.const_score_query(either, 0.0)))
        bounds = date_bounds(filters)
        if bounds:
            days = tantivy.Query.range_query(
                self.schema, "day", tantivy.FieldType.Integer, bounds[0], bounds[1])
            clauses.append((Occur.Must, tantivy.Query.const_score_query(days, 0.0)))
        return tantivy.Query.boolean_query(clauses)
