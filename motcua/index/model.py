"""Value types and the engine protocol shared by both search engines.

The unit of the index is a document: its page texts and its fields from the warehouse
(owners, type, number, dossiers, result code ...). A search returns documents, each
with its best page, how many pages match, a snippet and the fields that matched.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class OwnerRef:
    """An owner linked to a document by the warehouse (metadata, dossier, reuse)."""

    id: str
    name: str | None = None


@dataclass(frozen=True)
class DocEntry:
    """What the index holds for one archived document."""

    document_id: int
    original_name: str
    date: datetime.date  # when it was digitized; the date filters use it
    pages: tuple[tuple[int, str], ...] = ()  # (page number, text), in page order
    dossier_code: str | None = None  # the dossier it was digitized in
    reused_in: tuple[str, ...] = ()  # dossiers it is attached to by reuse
    owners: tuple[OwnerRef, ...] = ()
    text_ids: tuple[str, ...] = ()  # citizen IDs / tax codes found in its text
    procedure_codes: tuple[str, ...] = ()
    procedure_names: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # lĩnh vực of its dossiers' procedures
    role: str | None = None  # "component" | "result"
    type_code: str | None = None
    type_name: str | None = None
    name: str | None = None
    number_symbol: str | None = None
    issue_date: str | None = None  # YYYY-MM-DD
    issuing_body: str | None = None
    summary: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    validity_scope: str | None = None
    result_code: str | None = None

    @property
    def page_count(self) -> int:
        return len(self.pages)


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions on a search; every given field must match. Dates are inclusive."""

    dossier_code: str | None = None  # own dossier or one it is reused in
    owner_id: str | None = None  # linked owner or an ID found in its text
    procedure_code: str | None = None
    doc_type: str | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def is_empty(self) -> bool:
        return self == NO_FILTERS


NO_FILTERS = SearchFilters()

Snippet = tuple[tuple[str, bool], ...]  # (segment, is a matched term)


@dataclass(frozen=True)
class Hit:
    """One matching document."""

    document_id: int
    score: float
    original_name: str
    dossier_code: str | None
    best_page: int  # 0 when the document has no page text
    matching_pages: int  # pages holding every query word
    page_count: int
    snippet: Snippet
    matched_fields: tuple[str, ...]  # see query.FIELDS; "text" for the page text
    fields: dict[str, Any] = field(default_factory=dict, compare=False)  # stored metadata

    def snippet_text(self, start: str = "«", end: str = "»") -> str:
        """The snippet as one string, matched terms wrapped in `start`/`end`."""
        return "".join(f"{start}{seg}{end}" if hit else seg for seg, hit in self.snippet)


class SearchEngine(Protocol):
    """Full-text index of archived documents; writes are staged until `commit`."""

    def replace_document(self, entry: DocEntry) -> None:
        """Delete that document's entry and add this one."""
        ...

    def delete_document(self, document_id: int) -> None: ...

    def commit(self) -> None:
        """Make staged changes durable and visible to new searches; release the writer."""
        ...

    def settle(self) -> None:
        """After a bulk load (`rebuild`), committed: do now the merging that would
        otherwise make a later small update slow."""
        ...

    def search(
        self,
        query: str,
        filters: SearchFilters = NO_FILTERS,
        limit: int = 20,
        offset: int = 0,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        """Documents, best first, never one twice; none of `exclude` (documents whose
        entry here is out of date)."""
        ...

    def count(self) -> int:
        """Number of committed, indexed documents."""
        ...

    def doc_freq(self, field: str, term: str) -> int:
        """Committed documents holding `term` in index field `field` (for BM25 of the
        documents an in-memory engine ranks beside these; see memory_engine)."""
        ...

    def clear(self) -> None:
        """Stage the removal of every document (takes effect on commit)."""
        ...

    def close(self) -> None:
        """Discard uncommitted changes and release the writer lock."""
        ...

