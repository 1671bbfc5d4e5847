"""Full-text search over archived pages, Vietnamese-aware.

Both engines index two fields per page: `exact` (NFC, one tone placement,
lower case) and `folded` (without diacritics). A query must match folded;
each word typed with diacritics that also matches exactly adds a fixed tier
score, so exact-diacritic pages rank first.
"""

from __future__ import annotations

from pathlib import Path

from motcua.index.model import NO_FILTERS, Hit, PageDoc, SearchEngine, SearchFilters
from motcua.index.normalize import fold_diacritics, normalize_text

ENGINES = ("tantivy", "whoosh")

__all__ = [
    "ENGINES",
    "NO_FILTERS",
    "Hit",
    "PageDoc",
    "SearchEngine",
    "SearchFilters",
    "fold_diacritics",
    "normalize_text",
    "open_engine",
]


def open_engine(path: Path, kind: str = "tantivy", *, rebuild: bool = False) -> SearchEngine:
    """Open the index at `path`, creating it if absent.

    `rebuild=True` deletes whatever index is there first: `motcua reindex`
    uses it, because a damaged index cannot be opened to be cleared.
    Raises UserError if the index is unreadable or was made by another engine.
    """
    path = Path(path)
    if kind == "tantivy":
        from motcua.index.tantivy_engine import TantivyEngine

        return TantivyEngine(path, rebuild=rebuild)
    if kind == "whoosh":
        from motcua.index.whoosh_engine import WhooshEngine

        return WhooshEngine(path, rebuild=rebuild)
    from motcua.errors import UserError

    raise UserError(
        f"Bộ máy tìm kiếm không hợp lệ: {kind!r} (chọn một trong: {', '.join(ENGINES)}).",
        f"unknown search engine kind {kind!r}",
    )
