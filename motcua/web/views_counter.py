"""The counter's pages: the desk (bàn làm việc), receiving a dossier (tiếp nhận hồ sơ) and
the dossier page with its actions (papers handed in later, result, apology letter, notes).

Every view asks `services.counter` / `services.forms` with the call's context, so the page
does what `motcua dossier receive`, `resolve`, `overdue --letters` and `form` do, through
the same functions. The two small htmx lists (procedures, owner check) are GET partials.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from motcua import labels
from motcua.errors import UserError
from motcua.services import counter, forms, ratings
from motcua.services.access import AccessDenied, Permission, record_access
from motcua.web.core import Call, Page, not_found

log = logging.getLogger(__name__)

# What the dossier page says after an action (?xong=...).
NOTICES = {
    "nhan": "Đã tiếp nhận hồ sơ.",
    "bo-sung": "Đã ghi nhận giấy tờ nộp bổ sung.",
    "ket-qua": "Đã lưu kết quả giải quyết.",
    "xin-loi": "Đã lập Phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04).",
    "ghi-chu": "Đã thêm ghi chú.",
    "tu-choi": "Đã lập Phiếu từ chối tiếp nhận (Mẫu 03).",
    "sua": "Đã sửa hồ sơ; thay đổi đã ghi nhật ký.",
    "huy": "Đã hủy hồ sơ.",
    "tai-su-dung": "Đã gắn giấy tờ từ kho vào hồ sơ; công dân không phải nộp lại.",
}


def _record(call: Call, action: str, subject: str) -> None:
    """A view of personal data is on record before it is shown, or not shown at all."""
    try:
        record_access(call.ctx, action, subject, {"client": call.client()})
    except Exception as exc:
        log.error("could not record %s of %s: %s", action, subject, exc)
        raise HTTPException(503, "Không ghi được nhật ký truy cập; hãy thử lại sau ít phút."
                            ) from exc


def _code(call: Call) -> str:
    code: str = call.request.path_params["code"]
    if len(code) > 100:
        raise not_found("Không có hồ sơ này.")
    return code


# ---- the desk ------------------------------------------------------------------------


def desk(call: Call) -> Response:
    query = call.request.query_params.get("q", "")[:100]
    view = counter.desk(call.ctx, query)
    if view.found:
        _record(call, "search", "desk")
    kiosks = [d for d in ratings.list_devices(call.ctx) if d.active] \
        if call.can(Permission.RECEIVE) else []
    return call.render("desk.html", {"active": "desk", "desk": view,
                                     "today": labels.vi_date(view.on.isoformat()),
                                     "kiosks": kiosks, "my_kiosk": ratings.my_kiosk(call.ctx),
                                     "kiosk_saved": bool(call.request.query_params.get(
                                         "man_hinh"))})


# ---- receiving ------------------------------------------------------------------------


def _paper_rows(call: Call) -> list[tuple[str, str, int]]:
    """The checklist as posted: `nhan` = the ticked types; `hinh_thuc_T`, `so_luong_T`."""
    rows = []
    for type_code in call.fields("nhan")[:40]:
        form = call.field(f"hinh_thuc_{type_code}", 100) or "Bản chính"
        count = call.field(f"so_luong_{type_code}", 3) or "1"
        if not count.isdigit():
            raise UserError(f"Số lượng “{count}” phải là một số.", "bad count")
        rows.append((type_code[:100], form, int(count)))
    return rows


def receive_page(call: Call, errors: list[str] | None = None,
                 form: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    form = form or {"procedure": call.request.query_params.get("thu_tuc", "")[:40],
                    "owner_id": "", "owner_name": "", "address": "", "phone": "",
                    "channel": "direct", "papers": {}}
    chosen = None
    if form["procedure"]:
        found = [p for p in counter.find_procedures(call.ctx, "", limit=10_000)
                 if p["code"] == form["procedure"]]
        chosen = found[0] if found else None
    return call.render("receive.html", {
        "active": "receive", "errors": errors or [], "form": form, "chosen": chosen,
        "procedures": counter.find_procedures(call.ctx, ""),
        "paper_forms": forms.PAPER_FORMS,
        "lookup": counter.owner_lookup(call.ctx, form["owner_id"]),
    }, status_code)


def receive_procedures(call: Call) -> Response:
    query = call.request.query_params.get("q", "")[:100]
    return call.render("_procedures.html", {
        "procedures": counter.find_procedures(call.ctx, query), "chosen": None,
        "form": {"procedure": ""}})


def receive_owner(call: Call) -> Response:
    raw = call.request.query_params.get("owner_id", "")[:40]
    lookup = counter.owner_lookup(call.ctx, raw)
    if lookup.known:
        _record(call, "view", f"owner:{lookup.owner_id}")
    return call.render("_owner.html", {"lookup": lookup, "form": {
        "owner_name": "", "address": "", "phone": ""}})


def receive_post(call: Call) -> Response:
    form: dict[str, Any] = {
        "procedure": call.field("procedure", 40), "owner_id": call.field("owner_id", 40),
        "owner_name": call.field("owner_name", 300), "address": call.field("address", 500),
        "phone": call.field("phone", 40), "channel": call.field("channel", 20),
        "papers": {t: True for t in call.fields("nhan")}}
    try:
        if not form["procedure"]:
            raise UserError("Chưa chọn thủ tục.", "no procedure")
        got = counter.receive_at_counter(
            call.ctx, form["procedure"], form["owner_id"], form["channel"] or "direct",
            _paper_rows(call), owner_name=form["owner_name"], address=form["address"],
            phone=form["phone"])
    except AccessDenied:
        raise
    except UserError as exc:
        return receive_page(call, [exc.message], form, 400)
    return _to_dossier(call, got.code, "nhan", got.form)


def _to_dossier(call: Call, code: str, done: str, issued: Any = None) -> Response:
    params = {"xong": done}
    if issued is not None:
        params["phieu"] = str(issued.form)
    return RedirectResponse(call.path_for("dossier", code=code) + "?" + urlencode(params),
                            status_code=303)


# ---- the dossier page --------------------------------------------------------------------


def dossier_page(call: Call, errors: list[str] | None = None, status_code: int = 200
                 ) -> Response:
    code = _code(call)
    try:
        view = counter.dossier_view(call.ctx, code, record_view=False)
    except AccessDenied:
        raise
    except UserError as exc:
        raise not_found(exc.message) from exc
    _record(call, "view", f"dossier:{view.code}")
    record = view.dossier
    timing, timing_label = counter.timing(call.ctx, record)
    cancelled = counter.cancellation(call.ctx, view.code) if record else None
    if cancelled:
        timing, timing_label = "cancelled", "đã hủy"
    components: tuple[dict[str, Any], ...] = ()
    missing: tuple[str, ...] = ()
    if record and record.get("procedure_code"):
        components, missing = counter.counter_components(call.ctx, view.code)
    issued = counter.issued_forms(call.ctx, view.code)
    params = call.request.query_params
    done = params.get("xong", "")
    just_issued = None
    if params.get("phieu") and issued:
        just_issued = next((f for f in issued if f["form"] == params.get("phieu")), None)
    return call.render("dossier.html", {
        "active": "dossiers", "code": view.code, "dossier": record,
        "documents": view.documents, "reused": view.reused, "missing": missing,
        "not_scanned": view.missing_names if record and not record.get("resolved_at") else (),
        "timing": timing, "timing_label": timing_label, "components": components,
        "issued": issued, "cancelled": cancelled,
        "procedures": counter.find_procedures(call.ctx, "", limit=10_000) if record else (),
        "notes": counter.notes(call.ctx, view.code),
        "notice": NOTICES.get(done, ""), "just_issued": just_issued,
        "errors": errors or [], "paper_forms": forms.PAPER_FORMS,
        "results": [d for d in view.documents if d.get("role") == "result"],
    }, status_code)


def _act(call: Call, action: Callable[[], Response]) -> Response:
    """Run an action of the dossier page; a refusal is shown on the page (400)."""
    try:
        return action()
    except AccessDenied:
        raise
    except UserError as exc:
        return dossier_page(call, [exc.message], 400)


def dossier_papers(call: Call) -> Response:
    code = _code(call)
    return _act(call, lambda: _to_dossier(
        call, code, "bo-sung", counter.complete_papers(call.ctx, code, _paper_rows(call)).form))


def dossier_result(call: Call) -> Response:
    code = _code(call)

    def run() -> Response:
        uploads: dict[str, tuple[str, bytes]] = getattr(call.request.state, "uploads", {})
        name, data = uploads.get("ket_qua", ("", b""))
        if not data:
            raise UserError("Chưa chọn tệp kết quả (PDF).", "no result file")
        if not data.startswith(b"%PDF-"):
            raise UserError(f"Tệp “{name[:100]}” không phải PDF: kết quả phải là tệp PDF.",
                            "result not a pdf")
        scratch = call.ws.tmp / f"ket-qua-{secrets.token_hex(8)}"
        scratch.mkdir(parents=True, exist_ok=True)
        # The name the officer's file had is kept (it shows in the archive), made safe.
        safe = "".join(c for c in name if c.isalnum() or c in " ._-")[:100].strip(" .")
        target = scratch / (safe if safe.lower().endswith(".pdf") else f"{safe or 'ket-qua'}.pdf")
        try:
            target.write_bytes(data)
            counter.resolve(call.ctx, code, target)
        finally:
            target.unlink(missing_ok=True)
            scratch.rmdir()
        return _to_dossier(call, code, "ket-qua")

    return _act(call, run)


def dossier_apology(call: Call) -> Response:
    code = _code(call)

    def run() -> Response:
        counter.apology(call.ctx, code)
        return _to_dossier(call, code, "xin-loi", _Form04())

    return _act(call, run)


class _Form04:
    form = "04"


def dossier_note(call: Call) -> Response:
    code = _code(call)

    def run() -> Response:
        counter.add_note(call.ctx, code, call.field("ghi_chu", counter.MAX_NOTE + 1))
        return _to_dossier(call, code, "ghi-chu")

    return _act(call, run)


def dossier_reuse(call: Call) -> Response:
    """Attach a document the warehouse proposed (one click on the dossier page)."""
    code = _code(call)

    def run() -> Response:
        doc = call.field("doc", 20).strip()
        if not doc.isdigit():
            raise UserError("Chọn giấy tờ cần gắn.", f"bad reuse document {doc!r}")
        counter.attach_reuse(call.ctx, doc, code)
        return _to_dossier(call, code, "tai-su-dung")

    return _act(call, run)


def dossier_refuse(call: Call) -> Response:
    code = _code(call)

    def run() -> Response:
        reason = call.field("ly_do", 1000).strip()
        if not reason:
            raise UserError("Ghi lý do từ chối tiếp nhận.", "refusal without reason")
        return _to_dossier(call, code, "tu-choi", forms.refuse(call.ctx, code, reason=reason))

    return _act(call, run)


def dossier_edit(call: Call) -> Response:
    code = _code(call)

    def run() -> Response:
        counter.edit_dossier(call.ctx, code, procedure_code=call.field("thu_tuc", 40),
                             owner_id=call.field("chu_ho_so", 40),
                             channel=call.field("kenh", 20))
        return _to_dossier(call, code, "sua")

    return _act(call, run)


def dossier_cancel(call: Call) -> Response:
    code = _code(call)

    def run() -> Response:
        counter.cancel_dossier(call.ctx, code, call.field("ly_do_huy", 1000))
        return _to_dossier(call, code, "huy")

    return _act(call, run)


def dossier_form(call: Call) -> Response:
    code = _code(call)
    seq_text: str = call.request.path_params["seq"]
    if not seq_text.isdigit() or len(seq_text) > 12:
        raise not_found("Không có phiếu này.")
    try:
        path = counter.issued_form_file(call.ctx, code, int(seq_text))
    except UserError as exc:
        raise not_found(exc.message) from exc
    _record(call, "download", f"dossier:{code}")
    media = "application/pdf" if path.suffix.lower() == ".pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return FileResponse(path, media_type=media, filename=path.name,
                        content_disposition_type="inline" if media == "application/pdf"
                        else "attachment", headers={"cache-control": "private, no-store"})


# ---- routes (the counter's block of views.ROUTES) --------------------------------------------

ROUTES: tuple[Page, ...] = (
    Page("/ban-lam-viec", "desk", desk, Permission.VIEW),
    Page("/tiep-nhan", "receive", receive_page, Permission.RECEIVE),
    Page("/tiep-nhan", "receive_post", receive_post, Permission.RECEIVE, ("POST",)),
    Page("/tiep-nhan/thu-tuc", "receive_procedures", receive_procedures, Permission.RECEIVE),
    Page("/tiep-nhan/chu-ho-so", "receive_owner", receive_owner, Permission.RECEIVE),
    Page("/dossiers/{code}/giay-to", "dossier_papers", dossier_papers, Permission.RECEIVE,
         ("POST",)),
    Page("/dossiers/{code}/ket-qua", "dossier_result", dossier_result, Permission.RECEIVE,
         ("POST",)),
    Page("/dossiers/{code}/xin-loi", "dossier_apology", dossier_apology, Permission.RECEIVE,
         ("POST",)),
    Page("/dossiers/{code}/tu-choi", "dossier_refuse", dossier_refuse, Permission.RECEIVE,
         ("POST",)),
    Page("/dossiers/{code}/ghi-chu", "dossier_note", dossier_note, Permission.RECEIVE,
         ("POST",)),
    Page("/dossiers/{code}/tai-su-dung", "dossier_reuse", dossier_reuse, Permission.REUSE,
         ("POST",)),
    Page("/dossiers/{code}/sua", "dossier_edit", dossier_edit, Permission.RECEIVE, ("POST",)),
    Page("/dossiers/{code}/huy", "dossier_cancel", dossier_cancel, Permission.RECEIVE,
         ("POST",)),
    Page("/dossiers/{code}/phieu/{seq}", "dossier_form", dossier_form, Permission.VIEW),
)
