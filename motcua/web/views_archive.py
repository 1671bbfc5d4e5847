"""The archive's pages (issue 11): upload into the inbox and follow each file, the
document page's thumbnails, metadata form, move and history, the owner page, the
reports page and the quarantine.

Uploads go through the watcher's pipeline, never around it: the file is written durably
into the inbox (`services.intake.receive_upload`) and the page polls its intake row.
The web process never runs OCR itself.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from motcua import labels
from motcua.errors import MotcuaError, UserError
from motcua.services import counter, documents, intake, reports
from motcua.services.access import AccessDenied, Permission, record_access
from motcua.web.core import (
    MAX_FORM_BYTES,
    MAX_FORM_FIELDS,
    Call,
    Page,
    int_param,
    not_found,
)
from motcua.web.core import read_form as read_urlencoded

log = logging.getLogger(__name__)

MB = 1024 * 1024
T = TypeVar("T")
FINAL_STATES = frozenset({"done", "duplicate", "quarantined", "refused", "vanished"})
META_FIELDS = ("type_code", "owner_id", "name", "number_symbol", "issue_date",
               "issuing_body", "summary", "valid_from", "valid_to", "validity_scope")
DATE_FIELDS = ("issue_date", "valid_from", "valid_to")


def _or_404(get: Callable[[], T]) -> T:
    try:
        return get()
    except AccessDenied:
        raise
    except UserError as exc:
        raise not_found(exc.message) from exc


def _audit(call: Call, action: str, subject: str) -> None:
    try:
        record_access(call.ctx, action, subject, {"client": call.client()})
    except Exception as exc:
        log.error("could not record %s of %s: %s", action, subject, exc)
        raise HTTPException(503, "Không ghi được nhật ký truy cập; hãy thử lại sau ít phút."
                            ) from exc


# ---- upload ---------------------------------------------------------------------------


async def read_upload(request: Request) -> dict[str, list[str]]:
    """A multipart upload, streamed by python-multipart (file parts spool to disk) within
    the `[web] upload_max_mb` limit: a larger body is refused with 413 before it is read.
    The files are left in `request.state.uploads` for the view."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    request.state.uploads = []
    if kind != "multipart/form-data":
        return await read_urlencoded(request)
    limit = request.app.state.site.settings.upload_max_mb * MB
    too_large = (f"Tệp lớn hơn giới hạn {limit // MB} MB cho mỗi lần tải lên; hãy tách "
                 "tệp hoặc chép thẳng vào thư mục inbox.")
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise HTTPException(411, "Trình duyệt không báo kích thước tệp; hãy tải lên lại.")
    if int(declared) > limit + MAX_FORM_BYTES:
        raise HTTPException(413, too_large)
    try:
        parsed = await request.form(max_files=20, max_fields=MAX_FORM_FIELDS,
                                    max_part_size=MAX_FORM_BYTES)
    except (MultiPartException, HTTPException) as exc:
        raise HTTPException(400, "Biểu mẫu tải lên không đúng dạng.") from exc
    form: dict[str, list[str]] = {}
    for key, value in parsed.multi_items():
        if isinstance(value, UploadFile):
            if (value.size or 0) > limit:
                raise HTTPException(413, too_large)
            request.state.uploads.append(value)
        else:
            form.setdefault(key, []).append(value)
    return form


def _watcher_note(call: Call) -> bool:
    return intake.watcher_running(call.ctx)


def upload_page(call: Call) -> Response:
    code = call.request.query_params.get("dossier", "").strip()[:100]
    return call.render("upload.html", {
        "active": "upload", "dossier_code": code, "states": (), "errors": [],
        "watcher": _watcher_note(call),
        "max_mb": call.site.settings.upload_max_mb})


def upload_post(call: Call) -> Response:
    uploads: list[UploadFile] = getattr(call.request.state, "uploads", [])
    code = call.field("dossier", 100).strip()
    fragment = call.request.headers.get("x-upload") == "1"
    if not uploads:
        raise HTTPException(400, "Chưa chọn tệp nào để tải lên.")
    limit = call.site.settings.upload_max_mb * MB
    placed: list[str] = []
    errors: list[str] = []
    for upload in uploads:
        try:
            got = intake.receive_upload(call.ctx, upload.file, upload.filename or "",
                                        code or None, max_bytes=limit)
        except intake.UploadTooLarge as exc:
            raise HTTPException(413, exc.message) from exc
        except MotcuaError as exc:
            if isinstance(exc, AccessDenied):
                raise
            errors.append(exc.message)
            continue
        placed.append(got.path)
    if errors and not placed:
        raise HTTPException(400, " ".join(errors))
    states = intake.upload_states(call.ctx, placed)
    context = {"states": states, "watcher": _watcher_note(call), "final": FINAL_STATES}
    if fragment:
        return call.render("upload_rows.html", context)
    return call.render("upload.html", context | {
        "active": "upload", "dossier_code": code, "errors": errors,
        "max_mb": call.site.settings.upload_max_mb})


def upload_state(call: Call) -> Response:
    paths = [p[:1000] for p in call.request.query_params.getlist("p")][:20]
    states = intake.upload_states(call.ctx, paths)
    return call.render("upload_rows.html", {
        "states": states, "watcher": _watcher_note(call), "final": FINAL_STATES})


# ---- document: thumbnails, metadata, move --------------------------------------------


def document_extra(call: Call, view: documents.DocumentView) -> dict[str, Any]:
    """What the document page shows besides the view: its title, the history, the form's
    values and the document types by Vietnamese name."""
    meta = view.meta
    title = " ".join(x for x in (meta.get("name"), meta.get("number_symbol") and
                                 f"số {meta['number_symbol']}") if x) or view.original_name
    types = sorted(call.ctx.catalogue.document_types.items(),
                   key=lambda kv: labels.vi_sort_key(kv[1]))
    form = {k: meta.get(k) or "" for k in META_FIELDS}
    for key in DATE_FIELDS:
        form[key] = labels.vi_date(form[key]) if form[key] else ""
    return {"title": title, "history": documents.history(call.ctx, view.id),
            "doc_types": types, "meta_form": form,
            "has_preview": any(f.kind in ("stamped", "archival") and f.present
                               for f in view.files)}


def thumbnail(call: Call) -> Response:
    document_id: int = call.request.path_params["document_id"]
    page: int = call.request.path_params["page"]
    path = _or_404(lambda: documents.thumbnail(call.ctx, document_id, page))
    return FileResponse(path, media_type="image/png",
                        headers={"cache-control": "private, max-age=300"})


def _back(call: Call, document_id: int, done: str) -> Response:
    return RedirectResponse(call.path_for("document", document_id=document_id)
                            + "?" + urlencode({"xong": done}), status_code=303)


def document_meta(call: Call) -> Response:
    document_id: int = call.request.path_params["document_id"]
    changes: dict[str, str | None] = {}
    for key in META_FIELDS:
        if key not in call.form:
            continue
        value = call.field(key, 2000).strip()
        if key in DATE_FIELDS and value:
            try:
                value = labels.parse_day(value, documents.FIELD_LABELS[key]).isoformat()
            except MotcuaError as exc:
                raise HTTPException(400, exc.message) from exc
        changes[key] = value
    if not changes:
        raise HTTPException(400, "Biểu mẫu không có trường nào để sửa.")
    _or_404(lambda: documents.view(call.ctx, document_id, record_view=False))
    current = documents.metadata(call.ctx, str(document_id)).meta
    wanted = {k: v for k, v in changes.items() if (current.get(k) or "") != v}
    try:
        documents.set_meta(call.ctx, str(document_id), wanted)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    return _back(call, document_id, "meta")


def document_move(call: Call) -> Response:
    document_id: int = call.request.path_params["document_id"]
    code = call.field("dossier", 100).strip()
    if not code:
        raise HTTPException(400, "Hãy nhập mã hồ sơ cần chuyển tới.")
    view = _or_404(lambda: documents.view(call.ctx, document_id, record_view=False))
    if view.dossier_code and view.dossier_code != code and call.field("confirm", 10) != "1":
        raise HTTPException(400, f"Tài liệu đang thuộc hồ sơ {view.dossier_code}; hãy đánh "
                                 "dấu ô xác nhận chuyển sang hồ sơ khác.")
    if not counter.dossier_exists(call.ctx, code):
        raise HTTPException(400, f"Không có hồ sơ “{code}”.")
    try:
        documents.assign(call.ctx, document_id, code)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    return _back(call, document_id, "move")


# ---- owner ---------------------------------------------------------------------------


def owner(call: Call) -> Response:
    owner_id: str = call.request.path_params["owner_id"][:40]
    view = _or_404(lambda: counter.owner_view(call.ctx, owner_id))
    return call.render("owner.html", {
        "active": "dossiers",
        "owner": view.owner | counter.owner_contact(call.ctx, view.owner["id"]),
        "dossiers": view.dossiers,
        "documents": view.documents, "done": call.request.query_params.get("xong", "")})


def owner_post(call: Call) -> Response:
    owner_id: str = call.request.path_params["owner_id"][:40]
    name = call.field("name", 300).strip()
    address, phone = call.field("address", 500).strip(), call.field("phone", 40).strip()
    if not (name or address or phone):
        raise HTTPException(400, "Biểu mẫu không có trường nào để sửa.")
    try:
        counter.correct_owner(call.ctx, owner_id, name=name or None, address=address or None,
                              phone=phone or None)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    return RedirectResponse(call.path_for("owner", owner_id=owner_id) + "?xong=1",
                            status_code=303)


# ---- reports ---------------------------------------------------------------------------


def _quarter_param(call: Call) -> str:
    """The quarter asked for ("2026Q4" or "4/2026"), else the one containing today."""
    return call.request.query_params.get("quy", "").strip()[:10] \
        or reports.current_quarter(call.ctx)


def report_page(call: Call) -> Response:
    quarter = _quarter_param(call)
    errors: list[str] = []
    report = ind = None
    try:
        report = reports.quarterly(call.ctx, quarter=quarter or None, write=False)
        ind = reports.indicators(call.ctx, quarter=quarter or None)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        errors.append(exc.message)
    rows = [r for r in report.data.get("bieu06", []) if isinstance(r, dict)] \
        if report else []
    return call.render("reports.html", {
        "active": "reports", "quarter": quarter, "errors": errors, "report": report,
        "rows": rows, "indicators": ind, "chart": _chart(rows)}, 400 if errors else 200)


def _chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Resolved dossiers per field as stacked bars (before time, on time, late): SVG
    geometry computed here, drawn by the template, no script."""
    bars = []
    top = max([int(r.get("resolved_total") or 0) for r in rows] + [1])
    for i, r in enumerate(rows):
        parts = [int(r.get(k) or 0) for k in ("resolved_early", "resolved_on_time",
                                               "resolved_late")]
        widths = [round(420 * n / top, 1) for n in parts]
        bars.append({"y": 8 + i * 30, "name": str(r.get("field") or "")[:48],
                     "x": [230, 230 + widths[0], 230 + widths[0] + widths[1]],
                     "w": widths, "n": parts})
    return {"bars": bars, "height": 16 + len(bars) * 30}


def report_download(call: Call) -> Response:
    kind = call.request.path_params["kind"]
    if kind not in ("docx", "pdf", "csv", "json", "danh-gia.csv"):
        raise not_found("Không có loại tệp báo cáo này.")
    quarter = _quarter_param(call)
    if kind in ("json", "danh-gia.csv"):
        return _report_figures(call, quarter, kind)
    out_dir = Path(tempfile.mkdtemp(prefix="report-", dir=call.ws.tmp))
    try:
        made = reports.quarterly(call.ctx, quarter=quarter or None, write=True,
                                 out=out_dir / "bao-cao.docx", pdf=kind == "pdf",
                                 csv_path=out_dir / "bao-cao.csv")
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    assert made.files is not None
    path = {"docx": made.files.docx, "pdf": made.files.pdf, "csv": made.files.csv}[kind]
    if not path:
        raise HTTPException(500, "Không tạo được tệp báo cáo.")
    media = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}[kind]
    return FileResponse(path, media_type=media,
                        filename=f"bao-cao-bieu-06-{made.period_label}.{kind}".replace(" ", "-")
                        .replace("/", "-"), headers={"cache-control": "private, no-store"})


def _report_figures(call: Call, quarter: str, kind: str) -> Response:
    """The figures alone, without the Báo cáo: the JSON `motcua report quarterly --json`
    prints, or the ratings CSV (per field, beside Biểu 06's)."""
    out_dir = Path(tempfile.mkdtemp(prefix="report-", dir=call.ws.tmp))
    try:
        made = reports.quarterly(call.ctx, quarter=quarter or None, write=False,
                                 csv_path=out_dir / "bao-cao.csv" if kind != "json" else None)
        if kind == "json":
            return JSONResponse(made.as_dict(), headers={"cache-control": "private, no-store"})
        data = (out_dir / "bao-cao-danh-gia.csv").read_bytes()
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    name = f"danh-gia-{made.period_label}.csv".replace(" ", "-").replace("/", "-")
    return Response(data, media_type="text/csv; charset=utf-8", headers={
        "cache-control": "private, no-store",
        "content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


# ---- quarantine ------------------------------------------------------------------------


def quarantine(call: Call) -> Response:
    return call.render("quarantine.html", {
        "active": "quarantine", "files": intake.quarantine_list(call.ctx),
        "done": call.request.query_params.get("xong", ""), "watcher": _watcher_note(call)})


def _intake_id(call: Call) -> int:
    return int(call.request.path_params["intake_id"])


def quarantine_retry(call: Call) -> Response:
    if call.field("confirm", 10) != "1":
        raise HTTPException(400, "Hãy xác nhận đã sửa tệp trước khi thử lại.")
    try:
        intake.quarantine_retry(call.ctx, _intake_id(call))
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    return RedirectResponse(call.path_for("quarantine") + "?xong=retry", status_code=303)


def quarantine_dismiss(call: Call) -> Response:
    if call.field("confirm", 10) != "1":
        raise HTTPException(400, "Hãy xác nhận bỏ qua tệp này.")
    try:
        intake.quarantine_dismiss(call.ctx, _intake_id(call), call.field("note", 500))
    except AccessDenied:
        raise
    except MotcuaError as exc:
        raise HTTPException(400, exc.message) from exc
    return RedirectResponse(call.path_for("quarantine") + "?xong=dismiss", status_code=303)


# ---- lists: dossiers and documents with filters, bulk filing ---------------------------

LIST_SIZE = 50
MAX_LIST_PAGE = 200


def _filters(call: Call, keys: tuple[str, ...]) -> dict[str, str]:
    params = call.request.query_params
    return {key: params.get(key, "").strip()[:200] for key in keys}


def _pager(call: Call, page: int, has_more: bool) -> dict[str, str | None]:
    def url(n: int) -> str:
        target = call.request.url.include_query_params(trang=n)
        return f"{target.path}?{target.query}"

    return {"prev_url": url(page - 1) if page > 1 else None,
            "next_url": url(page + 1) if has_more and page < MAX_LIST_PAGE else None}


def dossier_list(call: Call) -> Response:
    form = _filters(call, ("status", "procedure", "field", "owner", "from", "to"))
    page = int_param(call.request.query_params.get("trang"), 1, 1, MAX_LIST_PAGE)
    errors: list[str] = []
    found: counter.DossierPage | None = None
    try:
        found = counter.find_dossiers(
            call.ctx, status=form["status"], procedure=form["procedure"],
            field=form["field"], owner=form["owner"], date_from=form["from"],
            date_to=form["to"], limit=LIST_SIZE, offset=(page - 1) * LIST_SIZE)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        errors.append(exc.message)
    return call.render("dossier_list.html", {
        "active": "dossiers", "form": form, "errors": errors,
        "dossiers": found.dossiers if found else (), "page": page,
        "statuses": labels.DOSSIER_FILTERS,
        **_pager(call, page, bool(found and found.has_more))}, 400 if errors else 200)


def document_list(call: Call) -> Response:
    form = _filters(call, ("dossier", "owner", "type", "from", "to", "unassigned"))
    page = int_param(call.request.query_params.get("trang"), 1, 1, MAX_LIST_PAGE)
    errors: list[str] = []
    found: documents.DocumentPage | None = None
    try:
        found = documents.find_documents(
            call.ctx, unassigned=form["unassigned"] == "1", dossier=form["dossier"],
            owner=form["owner"], type_code=form["type"], date_from=form["from"],
            date_to=form["to"], limit=LIST_SIZE, offset=(page - 1) * LIST_SIZE)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        errors.append(exc.message)
    types = sorted(call.ctx.catalogue.document_types.items(),
                   key=lambda kv: labels.vi_sort_key(kv[1]))
    return call.render("document_list.html", {
        "active": "documents", "form": form, "errors": errors,
        "documents": found.documents if found else (), "page": page, "doc_types": types,
        "type_names": dict(types), "done": call.request.query_params.get("xong", ""),
        **_pager(call, page, bool(found and found.has_more))}, 400 if errors else 200)


def documents_file(call: Call) -> Response:
    """File the checked unassigned scans into one dossier (one POST, each audited)."""
    code = call.field("dossier", 100).strip()
    ids = [v for v in call.fields("doc") if v.isdigit() and len(v) < 19][:LIST_SIZE]
    if not code or not ids:
        raise HTTPException(400, "Hãy đánh dấu tài liệu và nhập mã hồ sơ cần gắn vào.")
    if not counter.dossier_exists(call.ctx, code):
        raise HTTPException(400, f"Không có hồ sơ “{code}”.")
    for raw in ids:
        view = _or_404(lambda raw=raw: documents.view(call.ctx, int(raw),  # type: ignore[misc]
                                                      record_view=False))
        if view.dossier_code and view.dossier_code != code:
            raise HTTPException(400, f"Tài liệu {raw} đã thuộc hồ sơ {view.dossier_code}; "
                                     "hãy chuyển từ trang của tài liệu.")
    for raw in ids:
        try:
            documents.assign(call.ctx, int(raw), code)
        except AccessDenied:
            raise
        except MotcuaError as exc:
            raise HTTPException(400, exc.message) from exc
    return RedirectResponse(call.path_for("documents") + "?" + urlencode(
        {"dossier": code, "xong": str(len(ids))}), status_code=303)


# ---- the archive's routes (added to views.ROUTES as one block) --------------------------

ARCHIVE_ROUTES: tuple[Page, ...] = (
    Page("/upload", "upload", upload_page, Permission.INTAKE),
    Page("/upload", "upload_post", upload_post, Permission.INTAKE, ("POST",), uploads=True),
    Page("/upload/state", "upload_state", upload_state, Permission.INTAKE),
    Page("/documents/{document_id:docid}/pages/{page:int}", "thumbnail", thumbnail,
         Permission.VIEW),
    Page("/documents/{document_id:docid}/meta", "document_meta", document_meta,
         Permission.EDIT_METADATA, ("POST",)),
    Page("/documents/{document_id:docid}/move", "document_move", document_move,
         Permission.RECEIVE, ("POST",)),
    Page("/owners/{owner_id}", "owner", owner, Permission.VIEW),
    Page("/owners/{owner_id}", "owner_post", owner_post, Permission.RECEIVE, ("POST",)),
    Page("/reports", "reports", report_page, Permission.REPORTS),
    Page("/reports/quarterly.{kind}", "report_download", report_download,
         Permission.REPORTS),
    Page("/quarantine", "quarantine", quarantine, Permission.INTAKE),
    Page("/documents", "documents", document_list, Permission.VIEW),
    Page("/documents/file", "documents_file", documents_file, Permission.RECEIVE,
         ("POST",)),
    Page("/quarantine/{intake_id:int}/retry", "quarantine_retry", quarantine_retry,
         Permission.INTAKE, ("POST",)),
    Page("/quarantine/{intake_id:int}/dismiss", "quarantine_dismiss", quarantine_dismiss,
         Permission.INTAKE, ("POST",)),
)

__all__ = ["ARCHIVE_ROUTES", "document_extra", "dossier_list", "read_upload"]
