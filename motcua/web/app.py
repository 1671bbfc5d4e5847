"""The staff web page: a Starlette app over the workspace's database, store and index.

Every route comes from `views.ROUTES`, where it declares who may use it. Before a view
runs, `dispatch` opens a context (its own connection, so documents committed by the
watcher in another process show up at once), finds the session from the cookie, sends
anonymous visitors to the login page, checks the CSRF token of every POST and the
route's permission, all server-side. GET never changes the archive; the audit log
records who viewed what.

The app also refuses requests whose Host is not in `allowed_hosts` (by default the
loopback names, which also blocks DNS-rebinding pages in the staff's browser), and
`motcua serve` binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import register_url_convertor
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.errors import MotcuaError
from motcua.services import Actor, Context, accounts, open_context
from motcua.services.access import AccessDenied, Permission, allowed
from motcua.web import auth
from motcua.web.core import (
    HERE,
    Call,
    DocumentIdConvertor,
    Gate,
    Page,
    Site,
    client_host,
    make_templates,
    read_form,
)
from motcua.web.views import ROUTES
from motcua.web.views_archive import read_upload
from motcua.workspace import Workspace

__all__ = ["DEFAULT_ALLOWED_HOSTS", "allowed_hosts_for", "create_app", "host_name",
           "is_loopback"]

log = logging.getLogger(__name__)

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
HSTS = "max-age=31536000"

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     "object-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "SAMEORIGIN"),
    # Pages show personal data: no copy in any cache.
    ("cache-control", "no-store"),
)

TITLES = {
    400: ("Yêu cầu không hợp lệ", "Không thực hiện được yêu cầu."),
    403: ("Không có quyền truy cập", "Tài khoản của bạn không có quyền xem trang này."),
    404: ("Không tìm thấy trang", "Địa chỉ này không có trong trang tra cứu."),
    405: ("Thao tác không được phép", "Trang này không nhận thao tác đó."),
    413: ("Yêu cầu quá lớn", "Biểu mẫu gửi lên quá lớn."),
    415: ("Yêu cầu không hợp lệ", "Biểu mẫu gửi lên không đúng dạng."),
}
CSRF_MESSAGE = ("Biểu mẫu không có mã xác nhận hợp lệ (có thể trang đã mở quá lâu). "
                "Hãy tải lại trang rồi thử lại.")

register_url_convertor("docid", DocumentIdConvertor())


# ---- host check and security headers ----------------------------------------


def host_name(header: str) -> str:
    """The host part of a Host header, without port or IPv6 brackets, lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class GuardMiddleware:
    """Refuse unknown Host headers; add security headers (and HSTS over HTTPS) to every
    response."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.allowed = frozenset(h.lower().strip("[]") for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = host_name(Headers(scope=scope).get("host", ""))
        if not self.allow_any and host not in self.allowed:
            response = PlainTextResponse(
                "Địa chỉ máy chủ không được phép. Hãy mở trang bằng địa chỉ đã cấu hình "
                "(ví dụ http://127.0.0.1:8080).", status_code=400)
            await response(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # The policy is for our pages; a PDF is left to the browser's own viewer.
                is_html = headers.get("content-type", "").startswith("text/html")
                for name, value in SECURITY_HEADERS:
                    if name not in headers and (is_html or name == "x-content-type-options"):
                        headers.append(name, value)
                if https:
                    headers.append("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def allowed_hosts_for(bind: str, extra: Sequence[str] = ()) -> list[str]:
    """Host names the page answers to when bound to `bind`: the loopback names, the bound
    address, and `extra` (the machine's name on the centre's network). Bound to every
    interface, it answers to any name: the centre's network is then the only guard."""
    if bind in ("0.0.0.0", "::", ""):
        return ["*"]
    allowed_names = [*DEFAULT_ALLOWED_HOSTS]
    for name in (bind, *extra):
        name = name.strip().lower().strip("[]")
        if name and name not in allowed_names:
            allowed_names.append(name)
    return allowed_names


def is_loopback(bind: str) -> bool:
    return bind.strip("[]") in DEFAULT_ALLOWED_HOSTS or bind.startswith("127.")


# ---- one request: session, CSRF, permission, view --------------------------------------


def error_page(call: Call, status_code: int, detail: str | None = None) -> Response:
    title, message = TITLES.get(status_code, ("Có lỗi xảy ra", "Không thực hiện được yêu cầu."))
    if detail and detail not in ("Not Found", "Forbidden", "Bad Request"):
        message = detail
    return call.render("error.html", {"title": title, "message": message}, status_code)


def dispatch(page: Page, request: Request, form: dict[str, list[str]]) -> Response:
    site: Site = request.app.state.site
    client = client_host(request)
    visitor = Actor(login=client or "?", full_name="Khách", kind="web")
    with open_context(site.ws, visitor) as ctx:
        session: accounts.Session | None = None
        expired = ""
        token = auth.session_token(request)
        if token:
            try:
                session = accounts.load_session(ctx, token, site.settings)
            except accounts.SessionExpired as exc:
                expired = exc.reason
        call = Call(request, site, ctx, session, form)
        if session is None and page.access not in (Gate.PUBLIC, Gate.CITIZEN):
            response = _not_logged_in(call, expired)
            if token:
                auth.clear_session_cookie(response, request)
            return response
        if request.method == "POST":
            expected = auth.login_token(request) \
                if page.access in (Gate.PUBLIC, Gate.CITIZEN) \
                else session.csrf_token if session else ""
            sent = (form.get("csrf_token") or [""])[0]
            if not expected or not hmac.compare_digest(sent.encode("utf-8"),
                                                       expected.encode("utf-8")):
                log.warning("POST %s refused: missing or wrong CSRF token", request.url.path)
                return error_page(call, 403, CSRF_MESSAGE)
        if isinstance(page.access, Permission):
            assert session is not None
            if not allowed(session.actor.roles, page.access):
                log.info("%s refused %s: needs %s", session.actor.login, request.url.path,
                         page.access.value)
                return error_page(call, 403)
        if session is not None:
            call = Call(request, site, Context(site.ws, ctx.conn, session.actor), session, form)
        try:
            return page.view(call)
        except HTTPException as exc:
            return error_page(call, exc.status_code, exc.detail)
        except AccessDenied as exc:
            return error_page(call, 403, exc.message)


def _not_logged_in(call: Call, expired: str) -> Response:
    request = call.request
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        params = {"next": target}
        if expired:
            params["het_han"] = expired
        else:
            params["thong_bao"] = "login"
        return RedirectResponse(call.path_for("login") + "?" + urlencode(params),
                                status_code=303)
    return error_page(call, 403, "Bạn chưa đăng nhập hoặc phiên làm việc đã hết hạn. "
                                 "Hãy đăng nhập lại.")


def endpoint(page: Page) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            form = await (read_upload(request) if page.uploads else read_form(request))
        return await run_in_threadpool(dispatch, page, request, form)

    handle.__name__ = page.name
    return handle


# ---- the app --------------------------------------------------------------------


def build_routes(pages: Sequence[Page] = ROUTES) -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route(p.path, endpoint(p), name=p.name, methods=list(p.methods))
                               for p in pages]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    return routes


def create_app(ws: Workspace, *, allowed_hosts: Sequence[str] = DEFAULT_ALLOWED_HOSTS,
               debug: bool = False) -> Starlette:
    """The staff web page for workspace `ws`.

    `allowed_hosts` are the names the page may be reached by (Host header);
    `("*",)` allows any, for a deployment behind the centre's own proxy.
    """
    with open_context(ws, Actor("web", "web", kind="service")) as ctx:
        zone = ctx.zone  # the centre's clock for every time on the pages
    site = Site(ws=ws, templates=make_templates(zone), settings=accounts.web_settings(ws))

    def bare_error(request: Request, status_code: int, title: str, message: str) -> Response:
        # Outside a view (no route, a form refused before dispatch): no session at hand.
        return site.templates.TemplateResponse(request, "error.html", {
            "title": title, "message": message, "agency": ws.config.agency.name,
            "path_for": lambda route, **params: request.url_for(route, **params).path,
            "active": "", "user": None, "csrf_token": "", "can": lambda p: False,
            "Permission": Permission, "see_ids": False,
        }, status_code=status_code)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        title, message = TITLES.get(exc.status_code, TITLES[400])
        if exc.detail and exc.detail not in ("Not Found", "Method Not Allowed"):
            message = exc.detail
        return bare_error(request, exc.status_code, title, message)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web request failed: %s", request.url.path, exc_info=exc)
        if isinstance(exc, MotcuaError):
            message = exc.message
        else:
            message = ("Đã có lỗi khi xử lý yêu cầu. Hãy thử lại; nếu vẫn lỗi, "
                       "báo cho cán bộ kỹ thuật.")
        return bare_error(request, 500, "Có lỗi xảy ra", message)

    from motcua.api import PREFIX as API_PREFIX
    from motcua.api import create_api

    # The JSON API for other systems: its own token auth; the session/CSRF checks live
    # in `dispatch` of the pages' routes, so they never see /api/v1.
    api = Mount(API_PREFIX, app=create_api(ws), name="api")
    app = Starlette(
        debug=debug,
        routes=[*build_routes(), api],
        middleware=[Middleware(GuardMiddleware, allowed_hosts=tuple(allowed_hosts))],
        exception_handlers={HTTPException: http_error, 500: server_error,
                            MotcuaError: server_error},
    )
    app.state.site = site
    return app
