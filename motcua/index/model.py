"""Value types and the engine protocol shared by both search engines."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PageDoc:
    """One indexed unit: one page of one archived document."""

    document_id: int
    page_no: int  # 1-based
    text: str
    original_name: str
    date: datetime.date  # used by the date filters
    dossier_code: str | None = None
    owner_ids: tuple[str, ...] = ()  # citizen IDs / tax codes
    procedure_code: str | None = None
    doc_type: str | None = None


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions on a search; every given field must match. Dates are inclusive."""

    dossier_code: str | None = None
    owner_id: str | None = None
    procedure_code: str | None = None
    doc_type: str | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def is_empty(self) -> bool:
        return self == NO_FILTERS


NO_FILTERS = SearchFilters()


@dataclass(frozen=True)
class Hit:
    """One matching page with a snippet of its text."""

    document_id: int
    page_no: int
    score: float
    dossier_code: str | None
    original_name: str
    snippet: tuple[tuple[str, bool], ...]  # (segment, is a matched term)

    def snippet_text(self, start: str = "«", end: str = "»") -> str:
        """The snippet as one string, matched terms wrapped in `start`/`end`."""
        return "".join(f"{start}{seg}{end}" if hit else seg for seg, hit in self.snippet)


class SearchEngine(Protocol):
    """Full-text index of archived pages; writes are staged until `commit`."""

    def replace_document(self, document_id: int, pages: Sequence[PageDoc]) -> None:
        """Delete that document's pages and add these."""
        ...

    def delete_document(self, document_id: int) -> None: ...

    def commit(self) -> None:
        """Make staged changes durable and visible to new searches; release the writer."""
        ...

    def search(
        self, query: str, filters: SearchFilters = NO_FILTERS, limit: int = 20
    ) -> list[Hit]: ...

    def count(self) -> int:
        """Number of committed, indexed pages."""
        ...

    def clear(self) -> None:
        """Stage the removal of every page (takes effect on commit)."""
        ...

    def close(self) -> None:
        """Discard uncommitted changes and release the writer lock."""
        ...
