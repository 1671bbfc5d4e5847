"""The pages: module-level views over a checked `Call`, and the one route table.

Each view asks the services (documents, counter, intake, accounts) with the call's
context - its connection and its officer - and renders what they return; the CLI's
`--json` prints the same results. Access was checked before the view runs, from the
`Page.access` of its entry in `ROUTES`; a test walks `ROUTES` for every role.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from motcua import labels
from motcua.errors import MotcuaError, UserError
from motcua.services import accounts, counter, documents, intake
from motcua.services import search as search_service
from motcua.services.access import AccessDenied, Permission, record_access
from motcua.web import auth, views_archive, views_counter, views_rating
from motcua.web.core import Call, Gate, Page, int_param, not_found, range_problem

log = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_PAGE = 50
# Types a browser may show inline; anything else is sent as an attachment.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
T = TypeVar("T")


def _or_404(get: Callable[[], T]) -> T:
    """A service's "there is no such thing" (a UserError) as the page's 404; a refusal
    stays a 403."""
    try:
        return get()
    except AccessDenied:
        raise
    except UserError as exc:
        raise not_found(exc.message) from exc


def _audit(call: Call, action: str, subject: str, details: dict[str, Any]) -> None:
    """Access to personal data must be on record: without the entry, no content."""
    try:
        record_access(call.ctx, action, subject, {**details, "client": call.client()})
    except Exception as exc:
        log.error("could not record %s of %s: %s", action, subject, exc)
        raise HTTPException(503, "Không ghi được nhật ký truy cập; hãy thử lại sau ít phút."
                            ) from exc


# ---- search -----------------------------------------------------------------------


def search(call: Call) -> Response:
    params = call.request.query_params
    form = {key: params.get(key, "").strip()[:500]
            for key in ("q", "dossier", "owner", "from", "to")}
    errors: list[str] = []
    for key, what in (("from", "ngày bắt đầu"), ("to", "ngày kết thúc")):
        try:
            day = labels.parse_optional_day(form[key], what)
        except MotcuaError as exc:
            errors.append(exc.message)
        else:
            # Shown back as clerks write it, whichever form was typed.
            form[key] = day.strftime("%d/%m/%Y") if day else form[key]
    page = int_param(params.get("page"), 1, 1, MAX_PAGE)
    searched = any(form.values())
    result: search_service.SearchResult | None = None
    if searched and not errors:
        try:
            result = search_service.search(call.ctx, form["q"], limit=PAGE_SIZE,
                                           offset=(page - 1) * PAGE_SIZE,
                                           dossier=form["dossier"], owner=form["owner"],
                                           date_from=form["from"], date_to=form["to"])
        except AccessDenied:
            raise
        except MotcuaError as exc:
            log.warning("search failed: %s", exc.detail)
            errors.append(exc.message)
    hits = result.documents if result else ()
    has_next = bool(result and result.has_more)
    recent = () if searched else documents.recent(call.ctx, 10)

    def page_url(n: int) -> str:
        url = call.request.url.include_query_params(page=n)
        return f"{url.path}?{url.query}"

    status = 400 if errors and searched else 200
    return call.render("search.html", {
        "active": "search", "form": form, "errors": errors, "searched": searched,
        "hits": hits, "page": page, "has_next": has_next,
        "people": result.people if result else (),
        "kind_label": result.kind_label if result else "",
        "first_rank": (page - 1) * PAGE_SIZE + 1,
        "total_documents": result.total_documents if result else 0,
        "recent": recent,
        "prev_url": page_url(page - 1) if page > 1 else None,
        "next_url": page_url(page + 1) if has_next and page < MAX_PAGE else None,
    }, status)


# ---- one document ---------------------------------------------------------------------


def document(call: Call) -> Response:
    document_id: int = call.request.path_params["document_id"]
    view = _or_404(lambda: documents.view(call.ctx, document_id, record_view=False))
    texts = documents.page_texts(call.ctx, document_id)
    pages = [{"page_no": p.page, "confidence": p.confidence, "ocr_done": p.ocr_done,
              "needs_rescan": p.needs_rescan, "text": texts.get(p.page, "")}
             for p in view.pages]
    meta = view.meta
    described = meta.get("role") == "result" or any(
        v for k, v in meta.items() if k not in ("document_id", "role"))
    # The page shows the recognised text: a view of personal data like a download.
    _audit(call, "view", f"document:{document_id}", {})
    return call.render("document.html", {
        "doc": view, "pages": pages, "identifiers": view.identifiers,
        "meta": meta | {"owner_name": view.owner_name} if described else None,
        "stamp": view.stamp, "files": view.files, "rescan": view.rescan_pages,
        "intake": view.intake, "reused_in": view.reused_in,
        "threshold": view.confidence_threshold,
        **views_archive.document_extra(call, view),
    })


def download(call: Call) -> Response:
    request = call.request
    document_id: int = request.path_params["document_id"]
    kind: str = request.path_params["kind"]
    found = _or_404(lambda: documents.file_of(call.ctx, document_id, kind, record_view=False))
    size = found.path.stat().st_size
    byte_range = request.headers.get("range")
    if byte_range is not None and range_problem(byte_range, size):
        # Refused before any byte is read, so there is nothing to record.
        return Response("Không đọc được đoạn tệp được yêu cầu (Range).", status_code=416,
                        headers={"content-range": f"bytes */{size}"},
                        media_type="text/plain; charset=utf-8")
    if request.method == "GET":
        # Every GET that sends bytes - the whole file or any range of it - is covered by
        # an entry naming the officer; a PDF viewer's further ranges within minutes
        # are the same download.
        _audit(call, "download", f"document:{document_id}", {"file": kind})
    disposition = "inline" if found.media_type in INLINE_TYPES else "attachment"
    return FileResponse(found.path, media_type=found.media_type, filename=found.filename,
                        content_disposition_type=disposition,
                        headers={"cache-control": "private, no-store"})


# ---- dossiers -------------------------------------------------------------------------


def dossiers(call: Call) -> Response:
    listing = counter.dossier_list(call.ctx, newest_first=True, limit=500, unassigned=100)
    return call.render("dossiers.html", {
        "active": "dossiers", "dossiers": listing.dossiers, "unassigned": listing.unassigned})


# ---- intake status ----------------------------------------------------------------------


def status(call: Call) -> Response:
    queue = intake.status(call.ctx, details=True)
    return call.render("status.html", {
        "active": "status", "counts": queue.counts, "waiting": queue.waiting,
        "last_hour": queue.archived_last_hour, "quarantined": queue.quarantined,
        "rescan": queue.rescan, "documents": queue.documents, "pages": queue.pages,
        "index_pages": queue.index_pages, "index_error": queue.index_error,
        "quarantine_dir": queue.quarantine_dir, "workers": queue.summary.get("workers")})


# ---- users (quản trị) -----------------------------------------------------------------

USER_NOTICES = {
    "added": "Đã thêm tài khoản {login}.",
    "roles": "Đã đổi vai trò của tài khoản {login}.",
    "disabled": "Đã khóa tài khoản {login}; các phiên đăng nhập của tài khoản này đã kết thúc.",
}


def _users_page(call: Call, errors: list[str], form: dict[str, Any],
                status_code: int = 200) -> Response:
    notice = ""
    done = call.request.query_params.get("done", "")
    if done in USER_NOTICES:
        notice = USER_NOTICES[done].format(login=call.request.query_params.get("login", "")[:40])
    return call.render("users.html", {
        "active": "users", "users": accounts.list_users(call.ctx), "errors": errors,
        "form": form, "notice": notice,
    }, status_code)


def users(call: Call) -> Response:
    return _users_page(call, [], {"login": "", "full_name": "", "title": "", "roles": []})


def _done(call: Call, what: str, login: str) -> Response:
    url = call.path_for("users") + "?" + urlencode({"done": what, "login": login})
    return RedirectResponse(url, status_code=303)


def user_add(call: Call) -> Response:
    login, full_name = call.field("login", 100), call.field("full_name", 300)
    title, roles = call.field("title", 300), call.fields("roles")
    form: dict[str, Any] = {"login": login, "full_name": full_name, "title": title,
                            "roles": roles}
    password = call.field("password", accounts.MAX_PASSWORD_LENGTH + 1)
    confirm = call.field("password2", accounts.MAX_PASSWORD_LENGTH + 1)
    try:
        if password != confirm:
            raise UserError("Hai lần nhập mật khẩu không khớp nhau.", "password mismatch")
        user = accounts.add_user(call.ctx, login, full_name, title, roles, password)
    except UserError as exc:
        return _users_page(call, [exc.message], form, 400)
    return _done(call, "added", user.login)


def _target(call: Call) -> accounts.UserView:
    login: str = call.request.path_params["login"]
    user = accounts.find_user(call.ctx.conn, login) if len(login) <= 40 else None
    if user is None:
        raise not_found("Không có tài khoản này.")
    return user


def user_roles(call: Call) -> Response:
    user = _target(call)
    try:
        accounts.set_roles(call.ctx, user.login, call.fields("roles"))
    except UserError as exc:
        return _users_page(call, [exc.message], {"login": "", "full_name": "", "title": "",
                                                 "roles": []}, 400)
    return _done(call, "roles", user.login)


def user_disable(call: Call) -> Response:
    user = _target(call)
    try:
        accounts.disable_user(call.ctx, user.login)
    except UserError as exc:
        return _users_page(call, [exc.message], {"login": "", "full_name": "", "title": "",
                                                 "roles": []}, 400)
    return _done(call, "disabled", user.login)


# ---- the route table ------------------------------------------------------------------

ROUTES: tuple[Page, ...] = (
    Page("/login", "login", auth.login_page, Gate.PUBLIC),
    Page("/login", "login_post", auth.login_post, Gate.PUBLIC, ("POST",)),
    Page("/logout", "logout", auth.logout, Gate.LOGGED_IN, ("POST",)),
    Page("/account", "account", auth.account, Gate.LOGGED_IN),
    Page("/account", "account_password", auth.change_password, Gate.LOGGED_IN, ("POST",)),
    Page("/", "search", search, Permission.VIEW),
    Page("/documents/{document_id:docid}", "document", document, Permission.VIEW),
    Page("/documents/{document_id:docid}/{kind}", "download", download, Permission.VIEW),
    Page("/dossiers", "dossiers", views_archive.dossier_list, Permission.VIEW),
    Page("/dossiers/{code}", "dossier", views_counter.dossier_page, Permission.VIEW),
    Page("/status", "status", status, Permission.INTAKE),
    Page("/users", "users", users, Permission.ADMIN_USERS),
    Page("/users", "user_add", user_add, Permission.ADMIN_USERS, ("POST",)),
    Page("/users/{login}/roles", "user_roles", user_roles, Permission.ADMIN_USERS, ("POST",)),
    Page("/users/{login}/disable", "user_disable", user_disable, Permission.ADMIN_USERS,
         ("POST",)),
    # The counter (issue 11): desk, receiving, the dossier page's actions.
    *views_counter.ROUTES,
    # the archive (issue 11): upload, thumbnails, metadata, owners, reports, quarantine
    *views_archive.ARCHIVE_ROUTES,
    # citizens' ratings (issue 17): the kiosk, the printed link, kiosks, the leader's page
    *views_rating.ROUTES,
)
