"""Search over archived documents, Vietnamese-aware: one entry per document.

Both engines index a document's page text and its warehouse fields (owners, type,
number, dossiers, result code ...) as written (lower case), without diacritics, and as
pairs of folded words (for phrases), plus exact keys for IDs, codes and owners' full
names. Each entry stores its pages and their folded twins, from which a hit's best page,
matching pages and snippet are found without folding anything at query time. `query.py` turns what
was typed into one ranking plan that both engines follow: an exact ID/code on top, then
a linked owner's full name, then words in the fields, then words typed with their
diacritics, then BM25 (see its docstring).
"""

from __future__ import annotations

from pathlib import Path

from motcua.index.model import (
    NO_FILTERS,
    DocEntry,
    Hit,
    OwnerRef,
    SearchEngine,
    SearchFilters,
)
from motcua.index.normalize import fold_diacritics, normalize_text

ENGINES = ("tantivy", "whoosh")

__all__ = [
    "ENGINES",
    "NO_FILTERS",
    "DocEntry",
    "Hit",
    "OwnerRef",
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
