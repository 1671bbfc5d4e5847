"""The endpoints of `/api/v1`: each a plain function over a checked `ApiCall`, calling the
services (the same ones the CLI and the web page call), and the one table `ENDPOINTS`
declaring method, path, scope, parameters, body and response type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.responses import FileResponse

from motcua import labels
from motcua.api import models as m
from motcua.api.core import ApiCall, ApiError, Endpoint, not_found, param
from motcua.errors import UserError
from motcua.services import counter, documents, reports
from motcua.services import search as search_service
from motcua.services.access import Permission, Scope, mask_id

MAX_ID = 9223372036854775807


def iso_local(call: ApiCall, value: str | None) -> str | None:
    """A stored UTC time as ISO 8601 with the centre's offset."""
    if not value:
        return None
    try:
        return labels.local_moment(value, call.ctx.zone).isoformat(timespec="seconds")
    except ValueError:
        return None


def _today(call: ApiCall) -> date:
    return datetime.now(call.ctx.zone).date()


def _owner_id(call: ApiCall, raw: str) -> str:
    """Checked exactly as the CLI checks it, with the workspace's setting."""
    return counter.check_owner_id(call.ctx, raw)


def _dossier_code(raw: str) -> str:
    return counter.check_dossier_code(raw)


def _type_name(call: ApiCall, code: str | None) -> str | None:
    return call.ctx.catalogue.type_name(code) if code else None


# ---- warehouse --------------------------------------------------------------------------


def owner_documents(call: ApiCall) -> m.OwnerDocuments:
    owner_id = _owner_id(call, call.params["owner_id"])
    owner = counter.find_owner(call.ctx, owner_id)
    if owner is None:
        raise not_found(f"Chưa có chủ sở hữu mã {owner_id} trong kho.", "no such owner")
    on: date = call.params["on"] or _today(call)
    found = counter.reusable(call.ctx, owner.id, call.params["type"], on)
    return m.OwnerDocuments(owner.id, owner.kind, on.isoformat(), tuple(  # type: ignore[arg-type]
        m.ReusableDocument(d["document_id"], d["type_code"], d["type_name"], d["name"],
                           d["number_symbol"], d["issue_date"], d["valid_from"], d["valid_to"],
                           d["dossier_code"], d["result_code"]) for d in found.documents))


def _document_id(call: ApiCall) -> int:
    document_id: int = call.params["document_id"]
    if not documents.exists(call.ctx, document_id):
        raise not_found(f"Không có tài liệu số {document_id}.", "no such document")
    return document_id


def document(call: ApiCall) -> m.DocumentMetadata:
    view = documents.view(call.ctx, _document_id(call))
    meta = view.meta
    return m.DocumentMetadata(
        id=view.id, original_name=view.original_name, media_type=view.media_type,
        page_count=view.page_count, state=view.state,
        ingested_at=iso_local(call, view.ingested_at) or view.ingested_at,
        sha256=view.original["sha256"], archival_sha256=view.archival["sha256"],
        stamped=view.stamp is not None, role=meta["role"], type_code=meta["type_code"],
        type_name=_type_name(call, meta["type_code"]), owner_id=meta["owner_id"],
        name=meta["name"], number_symbol=meta["number_symbol"],
        issue_date=meta["issue_date"], issuing_body=meta["issuing_body"],
        summary=meta["summary"], valid_from=meta["valid_from"], valid_to=meta["valid_to"],
        validity_scope=meta["validity_scope"], dossier_code=view.dossier_code,
        result_code=meta["result_code"])


def document_pdf(call: ApiCall) -> FileResponse:
    document_id = _document_id(call)
    try:
        found = documents.file_of(call.ctx, document_id, "stamped")
    except UserError as exc:
        raise not_found("Tài liệu này chưa có bản PDF/A đóng dấu số hóa.",
                        exc.detail or "no stamped file") from None
    return FileResponse(found.path, media_type="application/pdf", filename=found.filename,
                        headers={"cache-control": "no-store"})


def _validity(view: documents.ValidityView) -> m.Validity:
    return m.Validity(view.document_id, view.result_code, view.type_code, view.on.isoformat(),
                      view.valid, view.valid_from, view.valid_to, view.reason)


def document_validity(call: ApiCall) -> m.Validity:
    return _validity(documents.validity(call.ctx, document_id=_document_id(call),
                                        on=call.params["on"]))


def result_validity(call: ApiCall) -> m.Validity:
    code: str = call.params["result_code"]
    try:
        view = documents.validity(call.ctx, result_code=code, on=call.params["on"])
    except UserError as exc:
        raise not_found(exc.message, exc.detail) from None
    return _validity(view)


def search(call: ApiCall) -> m.SearchResults:
    p = call.params
    owner = _owner_id(call, p["owner"]) if p["owner"] else None
    dossier_code = _dossier_code(p["dossier"]) if p["dossier"] else None
    found = search_service.search(call.ctx, p["q"] or "", limit=p["limit"] or 20,
                                  offset=p["offset"] or 0, dossier=dossier_code, owner=owner,
                                  doc_type=p["type"], date_from=p["from"], date_to=p["to"])
    return m.SearchResults(found.query, found.kind, tuple(
        m.SearchHit(h.document_id, h.title, h.best_page, h.matching_pages, float(h.score),
                    h.dossier_code, h.original_name, h.matched_fields,
                    "".join(text for text, _ in h.snippet),
                    tuple(m.SearchSegment(text, bool(hit)) for text, hit in h.snippet),
                    iso_local(call, h.ingested_at)) for h in found.documents),
                           found.has_more, found.total_documents)


# ---- dossiers --------------------------------------------------------------------------------


def _status(call: ApiCall, code: str) -> m.DossierStatus:
    try:
        view = counter.dossier_view(call.ctx, code)
    except UserError as exc:
        raise not_found(exc.message, exc.detail) from None
    d = view.dossier
    if d is None:
        raise not_found(f"Không có hồ sơ mã {code}.", "code seen on documents only")
    components = [m.Component(doc["id"], doc["type_code"], _type_name(call, doc["type_code"]),
                              doc["name"], "scanned", "received")
                  for doc in view.documents if doc["role"] != "result"]
    components += [m.Component(r["document_id"], r["type_code"],
                               _type_name(call, r["type_code"]), r["name"], "reused",
                               r["status"]) for r in view.reused]
    results = tuple(m.DossierResult(doc["id"], doc["result_code"], doc["name"])
                    for doc in view.documents if doc["role"] == "result")
    see_ids = call.can(Permission.VIEW_IDS)
    overdue = d["status"] == "pending" and bool(d["due_date"]) \
        and d["due_date"] < _today(call).isoformat()
    return m.DossierStatus(
        code=d["code"], procedure_code=d["procedure_code"], procedure_name=d["procedure_name"],
        field=d["field"], channel=d["channel"], status=d["status"],
        status_label=d["status_label"], received_at=iso_local(call, d["received_at"]),
        due_date=d["due_date"], resolved_at=iso_local(call, d["resolved_at"]),
        outcome=d["outcome"], outcome_label=d["outcome_label"], overdue=overdue,
        owner_id=(d["owner_id"] if see_ids else mask_id(d["owner_id"]) or None)
        if d["owner_id"] else None,
        owner_name=d["owner_name"] if see_ids else None,
        components=tuple(components),
        missing=tuple(m.MissingComponent(t, n)
                      for t, n in zip(view.missing_types, view.missing_names, strict=True)),
        results=results)


def dossier(call: ApiCall) -> m.DossierStatus:
    return _status(call, _dossier_code(call.params["code"]))


def receive(call: ApiCall) -> m.DossierStatus:
    body: m.ReceiveRequest = call.body
    owner_id = _owner_id(call, body.owner_id)
    if counter.find_owner(call.ctx, owner_id) is None:
        if not body.owner_name or not body.owner_name.strip():
            raise ApiError(400, "owner_unknown",
                           f"Chưa có chủ sở hữu mã {owner_id} trong kho; hãy gửi kèm "
                           "owner_name để thêm.", "unknown owner without owner_name")
        counter.add_owner(call.ctx, owner_id, body.owner_name)
    at = None
    if body.received_at is not None:
        at = datetime.fromisoformat(body.received_at.replace("z", "Z").replace("Z", "+00:00"))
        now = datetime.now(UTC)
        if at > now + timedelta(minutes=5) or at < now - timedelta(days=366):
            raise ApiError(400, "bad_parameter",
                           "Thời điểm tiếp nhận phải trong vòng một năm qua và không ở "
                           "tương lai.", "received_at: out of range")
    # The front-office system gives the citizen its own receipt; form 01 can be printed
    # at the counter later (`motcua dossier receipt CODE`).
    got = counter.receive(call.ctx, body.procedure_code.strip(), owner_id, body.channel,
                          at=at, print_receipt=False)
    return _status(call, got.record["code"])


def attach_reuse(call: ApiCall) -> m.ReuseAttached:
    code = _dossier_code(call.params["code"])
    body: m.ReuseRequest = call.body
    if not counter.dossier_exists(call.ctx, code):
        raise not_found(f"Không có hồ sơ mã {code}.", f"no dossier {code}")
    if not documents.exists(call.ctx, body.document_id):
        raise not_found(f"Không có tài liệu số {body.document_id}.", "no such document")
    done = counter.attach_reuse(call.ctx, str(body.document_id), code)
    return m.ReuseAttached(done.document_id, done.dossier_code, done.status)  # type: ignore[arg-type]


# ---- reports -----------------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _period(call: ApiCall, data: dict[str, Any]) -> m.Period:
    p = data["period"]
    return m.Period(p["key"], p["label"], p["start"], p["end"],
                    bool(p.get("open", p["end"] >= _today(call).isoformat())))


def quarterly(call: ApiCall) -> m.QuarterlyFigures:
    p = call.params
    got = reports.quarterly(call.ctx, quarter=p["quarter"], year=p["year"],
                            date_from=_iso(p["from"]), date_to=_iso(p["to"]), write=False)
    data = got.data
    rates = data["on_time_rate"]

    def row(r: dict[str, Any]) -> m.Bieu06Row:
        return m.Bieu06Row(**r, on_time_rate=rates.get(r["field"]))

    return m.QuarterlyFigures(
        period=_period(call, data), rows=tuple(row(r) for r in data["bieu06"]),
        total=row(data["total"]), apology_letters=data["apology_letters"],
        digitization=data["digitization_total"], ratings=data["ratings_total"],
        definitions=tuple(data["definitions"]),
        warnings=tuple(data["warnings"]))


def indicators(call: ApiCall) -> m.IndicatorFigures:
    p = call.params
    got = reports.indicators(call.ctx, month=p["month"], quarter=p["quarter"],
                             date_from=_iso(p["from"]), date_to=_iso(p["to"]))
    data = got.data
    return m.IndicatorFigures(
        period=_period(call, data),
        indicators=tuple(m.Indicator(**i) for i in data["indicators"]),
        processing_time=tuple(m.ProcedureTime(**t) for t in data["processing_time"]),
        processing_time_formula=data["processing_time_formula"])


# ---- the table ---------------------------------------------------------------------------------

_DOC_ID = param("document_id", "path", "Số tài liệu trong kho.", int, minimum=1,
                maximum=MAX_ID)
_ON = param("on", "query", "Ngày xét hiệu lực (mặc định: hôm nay theo giờ của trung tâm).",
            format="date")
_CODE = param("code", "path", "Mã hồ sơ <mã cơ quan>-YYMMDD-XXXX.",
              pattern=m.DOSSIER_CODE_PATTERN, maxLength=100, checked_by_ids=True)
_FROM = param("from", "query", "Từ ngày (cùng với to).", format="date")
_TO = param("to", "query", "Đến ngày (cùng với from).", format="date")
_QUARTER = param("quarter", "query", "Quý, ví dụ 2025-Q3.",
                 pattern=r"^20[0-9]{2}-Q[1-4]$")


def _doc_subject(params: dict[str, Any]) -> str:
    return f"document:{params['document_id']}"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/owners/{owner_id}/documents", "owner_documents", Scope.READ_WAREHOUSE,
             "Giấy tờ còn hiệu lực của một chủ sở hữu (để tái sử dụng)", owner_documents,
             m.OwnerDocuments,
             params=(param("owner_id", "path", "Số định danh cá nhân (12 số) hoặc mã số thuế "
                           "(10 số, hoặc 10-3 số cho chi nhánh).",
                           pattern=m.OWNER_ID_PATTERN, maxLength=100, checked_by_ids=True),
                     param("type", "query", "Chỉ lấy loại giấy tờ này (mã loại).",
                           minLength=1, maxLength=100),
                     _ON),
             subject=lambda p: f"owner:{p['owner_id']}"),
    Endpoint("GET", "/documents/{document_id}", "document", Scope.READ_WAREHOUSE,
             "Thông tin của một tài liệu", document, m.DocumentMetadata, params=(_DOC_ID,),
             subject=_doc_subject),
    Endpoint("GET", "/documents/{document_id}/pdf", "document_pdf", Scope.READ_WAREHOUSE,
             "Bản PDF/A đóng dấu số hóa của tài liệu", document_pdf, None,
             params=(_DOC_ID,), media_type="application/pdf", subject=_doc_subject),
    Endpoint("GET", "/documents/{document_id}/validity", "document_validity",
             Scope.READ_WAREHOUSE, "Hiệu lực của một tài liệu vào một ngày",
             document_validity, m.Validity, params=(_DOC_ID, _ON), subject=_doc_subject),
    Endpoint("GET", "/results/{result_code}", "result_validity", Scope.READ_WAREHOUSE,
             "Tra cứu kết quả điện tử theo mã kết quả và hiệu lực của nó", result_validity,
             m.Validity,
             params=(param("result_code", "path", "Mã kết quả <mã hồ sơ>-KQ<n>.",
                           pattern=m.DOSSIER_CODE_PATTERN[:-1] + r"-KQ[0-9]{1,6}$"), _ON),
             subject=lambda p: f"result:{p['result_code']}"),
    Endpoint("GET", "/search", "search", Scope.READ_WAREHOUSE,
             "Tìm kiếm toàn văn (cùng dịch vụ với trang tìm kiếm)", search, m.SearchResults,
             params=(param("q", "query", "Từ cần tìm (có dấu hoặc không dấu).", maxLength=500),
                     param("dossier", "query", "Chỉ trong hồ sơ này.",
                           pattern=m.DOSSIER_CODE_PATTERN, maxLength=100,
                           checked_by_ids=True),
                     param("owner", "query", "Chỉ giấy tờ của chủ sở hữu này.",
                           pattern=m.OWNER_ID_PATTERN, maxLength=100, checked_by_ids=True),
                     param("type", "query", "Chỉ loại giấy tờ này.", minLength=1,
                           maxLength=100),
                     _FROM, _TO,
                     param("limit", "query", "Số kết quả tối đa (mặc định 20).", int,
                           minimum=1, maximum=100),
                     param("offset", "query", "Bỏ qua bấy nhiêu kết quả đầu.", int,
                           minimum=0, maximum=1000))),
    Endpoint("GET", "/dossiers/{code}", "dossier", Scope.READ_DOSSIERS,
             "Tình trạng hồ sơ: tiến độ, hạn trả, kết quả, thành phần đã có và còn thiếu",
             dossier, m.DossierStatus, params=(_CODE,),
             subject=lambda p: f"dossier:{p['code']}"),
    Endpoint("POST", "/dossiers", "receive", Scope.WRITE_DOSSIERS,
             "Tiếp nhận hồ sơ (mã hồ sơ, hạn trả, tự động tái sử dụng giấy tờ còn hiệu lực)",
             receive, m.DossierStatus, status=201, body=m.ReceiveRequest,
             description="Chủ sở hữu chưa có trong kho được thêm khi gửi kèm owner_name. "
                         "Phiếu tiếp nhận (mẫu 01) do hệ thống gọi cấp; cán bộ có thể in "
                         "lại tại quầy."),
    Endpoint("POST", "/dossiers/{code}/reuses", "attach_reuse", Scope.WRITE_DOSSIERS,
             "Gắn giấy tờ còn hiệu lực trong kho vào hồ sơ (tái sử dụng)", attach_reuse,
             m.ReuseAttached, status=201, params=(_CODE,), body=m.ReuseRequest,
             subject=lambda p: f"dossier:{p['code']}"),
    Endpoint("GET", "/reports/quarterly", "report_quarterly", Scope.REPORTS,
             "Số liệu Biểu 06 của một kỳ (quý, năm, hoặc từ ngày đến ngày)", quarterly,
             m.QuarterlyFigures,
             params=(_QUARTER,
                     param("year", "query", "Năm báo cáo.", int, minimum=2000, maximum=2100),
                     _FROM, _TO),
             description="Nêu đúng một kỳ: quarter, year, hoặc from cùng to."),
    Endpoint("GET", "/reports/indicators", "report_indicators", Scope.REPORTS,
             "Các chỉ số của một kỳ (tháng, quý, hoặc từ ngày đến ngày)", indicators,
             m.IndicatorFigures,
             params=(param("month", "query", "Tháng, ví dụ 2025-07.",
                           pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
                     _QUARTER, _FROM, _TO),
             description="Nêu đúng một kỳ: month, quarter, hoặc from cùng to."),
)
