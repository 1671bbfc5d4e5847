"""Find a citizen or a paper: the one search the CLI and the web page call.

One box takes whatever staff type: a 12-digit personal ID, a tax code, a dossier code, a
result code (`…-KQ1`), a document number (`118/2025/NĐ-CP`, `07/KH-UBND`), an owner's
name or free text. Results are documents, never the same one twice, each with its best
page, how many pages match, a highlighted snippet and the fields that matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from motcua import labels
from motcua.archive import indexing
from motcua.index import Hit, open_engine
from motcua.index.query import plan_query
from motcua.services import Context, Result
from motcua.services.access import Permission, allowed, mask_id, mask_ids_in_text, require

MAX_LIMIT = 200

# What the box understood the query to be.
KIND_LABELS: dict[str, str] = {
    "citizen_id": "Số định danh cá nhân",
    "tax_code": "Mã số thuế",
    "dossier_code": "Mã hồ sơ",
    "result_code": "Mã kết quả giải quyết",
    "document_number": "Số, ký hiệu văn bản",
    "name": "Họ tên chủ sở hữu",
    "text": "Từ khóa",
}
# Where a document matched (index/query.FIELDS).
FIELD_LABELS: dict[str, str] = {
    "result_code": "mã kết quả",
    "number": "số, ký hiệu",
    "owner_name": "họ tên chủ sở hữu",
    "owner_id": "số định danh / mã số thuế",
    "type": "loại giấy tờ",
    "name": "tên giấy tờ",
    "dossier": "mã hồ sơ",
    "procedure": "thủ tục",
    "field": "lĩnh vực",
    "issuer": "cơ quan ban hành",
    "issue_date": "ngày ban hành",
    "summary": "trích yếu",
    "validity": "hiệu lực",
    "file": "tên tệp",
    "text": "nội dung trang",
}


@dataclass(frozen=True)
class Owner(Result):
    id: str
    name: str | None


@dataclass(frozen=True)
class FoundDocument(Result):
    """One document in the results."""

    document_id: int
    title: str  # "Căn cước công dân số 030185001234", else the file name
    original_name: str
    dossier_code: str | None
    owners: tuple[Owner, ...]
    type_code: str | None
    type_name: str | None
    number_symbol: str | None
    result_code: str | None
    best_page: int  # 0 when the document has no page text
    matching_pages: int  # pages holding every word of the query
    page_count: int
    snippet: tuple[tuple[str, bool], ...]  # (segment, is a matched term)
    matched_fields: tuple[str, ...]  # keys of FIELD_LABELS
    score: float
    ingested_at: str | None = None
    ingested_at_local: str = ""  # in the centre's time zone
    has_archival: bool = False

    @property
    def matched_labels(self) -> tuple[str, ...]:
        return tuple(FIELD_LABELS.get(f, f) for f in self.matched_fields)

    def snippet_text(self, start: str = "«", end: str = "»") -> str:
        return "".join(f"{start}{seg}{end}" if hit else seg for seg, hit in self.snippet)

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "file": self.original_name,
            "dossier_code": self.dossier_code,
            "owners": [o.as_dict() for o in self.owners],
            "type_code": self.type_code,
            "type_name": self.type_name,
            "number_symbol": self.number_symbol,
            "result_code": self.result_code,
            "best_page": self.best_page,
            "matching_pages": self.matching_pages,
            "page_count": self.page_count,
            "snippet": self.snippet_text("<mark>", "</mark>"),
            "matched_fields": list(self.matched_fields),
            "matched_fields_vi": list(self.matched_labels),
            "score": self.score,
            "ingested_at": self.ingested_at,
            "ingested_at_local": self.ingested_at_local,
            "has_archival": self.has_archival,
        }


@dataclass(frozen=True)
class Person(Result):
    """An owner the box named (by ID, or by full name), shown above the documents: staff
    look for people, and a citizen may have dossiers but no document yet."""

    id: str  # masked for roles without view_ids
    name: str
    kind_label: str
    dossiers: int
    documents: int
    link_id: str | None  # the owner page's key; None when IDs are masked


@dataclass(frozen=True)
class SearchResult(Result):
    query: str
    kind: str  # key of KIND_LABELS
    documents: tuple[FoundDocument, ...]
    offset: int
    has_more: bool
    filters: dict[str, Any]  # the filters used, dates as YYYY-MM-DD
    total_documents: int  # in the archive (an empty archive is told apart from no match)
    people: tuple[Person, ...] = ()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "kind_vi": self.kind_label,
            "offset": self.offset,
            "has_more": self.has_more,
            "filters": dict(self.filters),
            "total_documents": self.total_documents,
            "documents": [d.as_dict() for d in self.documents],
            "people": [p.as_dict() for p in self.people],
        }


def _found(hit: Hit, show_ids: bool, row: Any, ctx: Context) -> FoundDocument:
    x = hit.fields
    owners = tuple(Owner(oid if show_ids else mask_id(oid), name)
                   for oid, name in x.get("owners") or [])
    number = x.get("number_symbol")
    snippet = hit.snippet
    if not show_ids:  # an ID card's number is its owner's ID; page text holds IDs too
        number = mask_ids_in_text(number) if number else number
        snippet = tuple((mask_ids_in_text(t), m) for t, m in snippet)
    label = x.get("name") or x.get("type_name")
    if label and number:
        title = f"{label} số {number}"
    elif label or number:
        title = str(label or f"Văn bản số {number}")
    else:
        title = hit.original_name or f"Tài liệu số {hit.document_id}"
    return FoundDocument(
        document_id=hit.document_id,
        title=title,
        original_name=hit.original_name,
        dossier_code=hit.dossier_code,
        owners=owners,
        type_code=x.get("type_code"),
        type_name=x.get("type_name"),
        number_symbol=number,
        result_code=x.get("result_code"),
        best_page=hit.best_page,
        matching_pages=hit.matching_pages,
        page_count=hit.page_count,
        snippet=snippet,
        matched_fields=hit.matched_fields,
        score=hit.score,
        ingested_at=row["ingested_at"] if row else None,
        ingested_at_local=labels.vi_datetime(row["ingested_at"], ctx.zone) if row else "",
        has_archival=bool(row and row["archival_path"]),
    )


def search(ctx: Context, query: str, *, limit: int = 20, offset: int = 0,
           **filters: str | date | None) -> SearchResult:
    """Documents matching what was typed, best first, never one twice. `filters` are
    `services.documents.parse_filters`' keywords (dossier, owner, procedure, doc_type,
    date_from, date_to), as typed: blanks are no filter, dates through the one parser."""
    from motcua.services.documents import parse_filters

    require(ctx.actor.roles, Permission.VIEW)
    parsed = parse_filters(**filters)  # type: ignore[arg-type]
    limit = max(0, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    plan = plan_query(query)
    engine = open_engine(ctx.ws.index_dir, ctx.ws.config.index.engine)
    try:
        hits = indexing.search(ctx.ws, ctx.conn, engine, query, parsed, limit=limit + 1,
                               offset=offset)
    finally:
        engine.close()
    show_ids = allowed(ctx.actor.roles, Permission.VIEW_IDS)
    page = hits[:limit]
    known: dict[int, Any] = {}
    if page:
        ids = sorted({h.document_id for h in page})
        known = {r["id"]: r for r in ctx.conn.execute(
            f"SELECT id, ingested_at, archival_path FROM documents"
            f" WHERE id IN ({','.join('?' * len(ids))})", ids)}
    documents = tuple(_found(h, show_ids, known.get(h.document_id), ctx) for h in page)
    kind = plan.kind
    if kind == "text" and plan.name and documents and "owner_name" in documents[0].matched_fields:
        kind = "name"
    total = int(ctx.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    used = {k: v.isoformat() if isinstance(v, date) else v
            for k, v in vars(parsed).items() if v is not None}
    people = _people(ctx, plan, show_ids) if offset == 0 else ()
    return SearchResult(plan.text, kind, documents, offset, len(hits) > limit, used, total,
                        people)


MAX_PEOPLE = 10


def _people(ctx: Context, plan: Any, show_ids: bool) -> tuple[Person, ...]:
    """Owners the query names: the one with that ID, or those whose full name is the
    query (diacritics optional; an exact spelling first)."""
    from motcua.index.normalize import name_keys

    conn = ctx.conn
    if plan.kind in ("citizen_id", "tax_code"):
        typed = "".join(plan.text.strip('"').split())
        rows = conn.execute("SELECT id, kind, name FROM owners WHERE id = ?",
                            (typed,)).fetchall()
    elif plan.name:
        literal, canonical, folded = plan.name
        conn.create_function("motcua_name_key", 1, lambda t: name_keys(t or "")[2],
                             deterministic=True)
        rows = conn.execute("SELECT id, kind, name FROM owners WHERE motcua_name_key(name) = ?"
                            " LIMIT ?", (folded, MAX_PEOPLE)).fetchall()
        # As the documents rank: the exact spelling, then the other tone placement, then
        # the same letters without diacritics (Hoa, Hòa, Hoà are three people).
        def closeness(row: Any) -> tuple[bool, bool, str, str]:
            own_literal, own_canonical, _ = name_keys(row["name"])
            return own_literal != literal, own_canonical != canonical, row["name"], row["id"]

        rows.sort(key=closeness)
    else:
        return ()
    people = []
    for r in rows:
        dossiers = conn.execute("SELECT COUNT(*) FROM dossiers WHERE owner_id = ?",
                                (r["id"],)).fetchone()[0]
        documents = conn.execute(
            "SELECT COUNT(DISTINCT d.id) FROM documents d"
            " LEFT JOIN document_meta m ON m.document_id = d.id"
            " LEFT JOIN dossiers s ON s.code = d.dossier_code"
            " WHERE m.owner_id = ? OR s.owner_id = ?", (r["id"], r["id"])).fetchone()[0]
        people.append(Person(r["id"] if show_ids else mask_id(r["id"]), r["name"],
                             labels.label(labels.OWNER_KINDS, r["kind"]), int(dossiers),
                             int(documents), r["id"] if show_ids else None))
    return tuple(people)
