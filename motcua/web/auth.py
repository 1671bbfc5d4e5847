"""Logging in and out: the session cookie, the login form's own CSRF cookie, the views.

The session cookie holds a random token (the database keeps its hash); it is HttpOnly,
SameSite=Lax, and over HTTPS `Secure` with the `__Host-` prefix (no other site or
sub-domain can set it). The login form, posted before there is a session, carries a
token that must equal a SameSite=Strict cookie set with the form (double submit), so a
foreign page cannot log a browser into another account.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from motcua.errors import UserError
from motcua.services import accounts
from motcua.services.access import Permission, allowed
from motcua.web.core import Call, safe_next

SESSION_COOKIE = "motcua_session"
LOGIN_COOKIE = "motcua_login"

LOGIN_NOTICES = {
    "logout": "Bạn đã đăng xuất.",
    "login": "Hãy đăng nhập để tiếp tục.",
}


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    return f"__Host-{base}" if is_https(request) else base


def session_token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, SESSION_COOKIE), "")


def login_token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    # No Max-Age: the browser forgets it when closed; the server ends it on its own clock.
    response.set_cookie(cookie_name(request, SESSION_COOKIE), token, path="/", httponly=True,
                        samesite="lax", secure=is_https(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(cookie_name(request, SESSION_COOKIE), path="/", httponly=True,
                           samesite="lax", secure=is_https(request))


def form_token(call: Call, response: Response | None = None) -> str:
    """The token a form posted without a session carries (the login form, the citizens'
    rating pages): the browser's SameSite=Strict cookie, made when it has none. Pass
    the `response` that sets the cookie, once rendered."""
    token = login_token(call.request) or secrets.token_urlsafe(32)
    if response is not None:
        set_form_cookie(response, call, token)
    return token


def set_form_cookie(response: Response, call: Call, token: str) -> None:
    response.set_cookie(cookie_name(call.request, LOGIN_COOKIE), token, path="/",
                        httponly=True, samesite="strict", secure=is_https(call.request))


def _login_form(call: Call, *, error: str = "", notice: str = "", login: str = "",
                next_url: str = "/", status_code: int = 200) -> Response:
    token = form_token(call)
    response = call.render("login.html", {
        "active": "login", "error": error, "notice": notice, "login": login,
        "next_url": next_url, "login_csrf": token,
    }, status_code)
    set_form_cookie(response, call, token)
    return response


def login_page(call: Call) -> Response:
    params = call.request.query_params
    next_url = safe_next(params.get("next"))
    if call.session is not None:
        return RedirectResponse(next_url, status_code=303)
    reason = params.get("het_han", "")
    if reason in ("idle", "absolute"):
        notice = accounts.expiry_message(reason, call.site.settings)
    else:
        notice = LOGIN_NOTICES.get(params.get("thong_bao", ""), "")
    return _login_form(call, notice=notice, next_url=next_url)


def login_post(call: Call) -> Response:
    name = call.field("login", 200)
    password = call.field("password", accounts.MAX_PASSWORD_LENGTH + 1)
    next_url = safe_next(call.field("next", 2000))
    try:
        new = accounts.login(call.ctx, name, password, call.client(), call.site.settings)
    except accounts.LoginLocked as exc:
        return _login_form(call, error=exc.message, login=name[:100], next_url=next_url,
                           status_code=429)
    except accounts.LoginFailed as exc:
        return _login_form(call, error=exc.message, login=name[:100], next_url=next_url,
                           status_code=401)
    if call.session is not None:
        accounts.end_session(call.ctx, call.session)  # a new token at every login
    if next_url == "/" and allowed(new.actor.roles, Permission.RECEIVE):
        next_url = call.path_for("desk")  # the counter's day starts at its desk
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, call.request, new.token)
    response.delete_cookie(cookie_name(call.request, LOGIN_COOKIE), path="/", httponly=True,
                           samesite="strict", secure=is_https(call.request))
    return response


def logout(call: Call) -> Response:
    assert call.session is not None  # the route is for logged-in officers only
    accounts.logout(call.ctx, call.session, call.client())
    response = RedirectResponse(call.path_for("login") + "?thong_bao=logout", status_code=303)
    clear_session_cookie(response, call.request)
    return response


def account(call: Call) -> Response:
    return _account_page(call, [], "")


def _account_page(call: Call, errors: list[str], notice: str,
                  status_code: int = 200) -> Response:
    assert call.session is not None
    return call.render("account.html", {
        "active": "account", "errors": errors, "notice": notice,
        "roles": sorted(call.actor.roles),
        "done": call.request.query_params.get("done") == "passwd",
    }, status_code)


def change_password(call: Call) -> Response:
    try:
        new = accounts.change_own_password(
            call.ctx, call.field("current", accounts.MAX_PASSWORD_LENGTH + 1),
            call.field("password", accounts.MAX_PASSWORD_LENGTH + 1),
            call.field("password2", accounts.MAX_PASSWORD_LENGTH + 1), call.client(),
            call.site.settings)
    except accounts.LoginLocked as exc:
        return _account_page(call, [exc.message], "", 429)
    except UserError as exc:
        return _account_page(call, [exc.message], "", 400)
    response = RedirectResponse(call.path_for("account") + "?done=passwd", status_code=303)
    set_session_cookie(response, call.request, new.token)
    return response
