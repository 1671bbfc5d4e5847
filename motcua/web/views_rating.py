"""The citizens' rating pages (issue 17): the kiosk facing the citizen at a counter, the
page behind the link printed on form 01, the quản trị's kiosk list, the counter's choice
of its kiosk and the leader's ratings page.

The kiosk (`/kiosk`) has no login and no navigation: it is a browser holding a device
cookie (`motcua_kiosk`, HttpOnly, SameSite=Strict) got once by typing the pairing code a
quản trị made (`/kiosk/ghep`). Its neutral screen polls `/kiosk/hien-tai` with htmx every
two seconds; when the officer whose counter faces it hands over a receipt or a result,
the answer is the rating form for that one dossier, which stops the polling, and comes
back to the neutral screen after the citizen taps a level (a thank-you first), taps
"Bỏ qua", or when the prompt's time runs out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from motcua import labels
from motcua.errors import MotcuaError, UserError
from motcua.services import ratings
from motcua.services import reports as report_service
from motcua.services.access import AccessDenied, Permission
from motcua.web import auth
from motcua.web.core import Call, Gate, Page, not_found

KIOSK_COOKIE = "motcua_kiosk"
KIOSK_COOKIE_DAYS = 5 * 366
POLL_SECONDS = 2
THANKS_SECONDS = 4


# ---- the kiosk ---------------------------------------------------------------------------


def _device(call: Call) -> ratings.DeviceView | None:
    token = call.request.cookies.get(auth.cookie_name(call.request, KIOSK_COOKIE), "")
    return ratings.device_for(call.ctx, token) if token else None


def _is_htmx(call: Call) -> bool:
    return call.request.headers.get("hx-request") == "true"


def _kiosk(call: Call, state: str, extra: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    """The kiosk's screen in `state` (neutral, prompt, thanks, unpaired): the fragment
    for htmx, the whole page otherwise; every answer renews the form cookie."""
    token = auth.form_token(call)
    context = {"state": state, "form_token": token, "poll": POLL_SECONDS,
               "thanks_seconds": THANKS_SECONDS, "levels": labels.RATING_LEVELS,
               "prompt": None, "message": "", **(extra or {})}
    if _is_htmx(call):
        # htmx swaps 2xx answers only: the screen must change even when a rating is
        # refused (its message is on the screen); a plain POST keeps its 4xx status.
        response = call.render("_kiosk_screen.html", context)
    else:
        response = call.render("kiosk.html", context, status_code)
    auth.set_form_cookie(response, call, token)
    return response


def _screen(call: Call, device: ratings.DeviceView | None) -> Response:
    if device is None:
        return _kiosk(call, "unpaired")
    prompt = ratings.kiosk_prompt(call.ctx, device)
    if prompt is None:
        return _kiosk(call, "neutral")
    return _kiosk(call, "prompt", {"prompt": prompt})


def kiosk(call: Call) -> Response:
    return _screen(call, _device(call))


def kiosk_now(call: Call) -> Response:
    return _screen(call, _device(call))


def _criteria(call: Call, names: tuple[str, ...]) -> dict[str, str]:
    chosen = {}
    for i, name in enumerate(names):
        value = call.field(f"tieu_chi_{i}", 40)
        if value:
            chosen[name] = value
    return chosen


def kiosk_rate(call: Call) -> Response:
    device = _device(call)
    if device is None:
        return _kiosk(call, "unpaired", status_code=403)
    code = call.field("ho_so", 100)
    try:
        ratings.rate_at_kiosk(
            call.ctx, device, code, call.field("muc", 40),
            _criteria(call, ratings.rating_settings(call.ws).criteria),
            call.field("y_kien", ratings.MAX_COMMENT + 1))
    except ratings.RatingRefused as exc:
        return _kiosk(call, "thanks", {"message": exc.message}, 409)
    except UserError as exc:
        prompt = ratings.kiosk_prompt(call.ctx, device)
        if prompt is None:
            return _kiosk(call, "neutral", status_code=400)
        return _kiosk(call, "prompt", {"prompt": prompt, "message": exc.message}, 400)
    return _kiosk(call, "thanks", {"message": "Xin cảm ơn ông/bà đã đánh giá."})


def kiosk_skip(call: Call) -> Response:
    device = _device(call)
    if device is None:
        return _kiosk(call, "unpaired", status_code=403)
    ratings.dismiss(call.ctx, device)
    return _kiosk(call, "neutral")


def kiosk_pair_page(call: Call, error: str = "", status_code: int = 200) -> Response:
    token = auth.form_token(call)
    response = call.render("kiosk_pair.html", {"form_token": token, "error": error,
                                               "paired": _device(call) is not None},
                           status_code)
    auth.set_form_cookie(response, call, token)
    return response


def kiosk_pair(call: Call) -> Response:
    try:
        paired = ratings.pair(call.ctx, call.field("ma", 200))
    except UserError as exc:
        return kiosk_pair_page(call, exc.message, 400)
    response = RedirectResponse(call.path_for("kiosk"), status_code=303)
    response.set_cookie(auth.cookie_name(call.request, KIOSK_COOKIE), paired.token,
                        max_age=KIOSK_COOKIE_DAYS * 86400, path="/", httponly=True,
                        samesite="strict", secure=auth.is_https(call.request))
    return response


# ---- the printed link ----------------------------------------------------------------------


def _link_page(call: Call, context: dict[str, Any], status_code: int = 200) -> Response:
    token = auth.form_token(call)
    response = call.render("rating_link.html", {
        "form_token": token, "levels": labels.RATING_LEVELS, "view": None, "error": "",
        "done": "", "refused": "", **context}, status_code)
    auth.set_form_cookie(response, call, token)
    return response


def _token(call: Call) -> str:
    return str(call.request.path_params["token"])[:100]


def rating_link(call: Call) -> Response:
    try:
        view = ratings.link_view(call.ctx, _token(call))
    except ratings.RatingRefused as exc:
        return _link_page(call, {"refused": exc.message}, 404)
    return _link_page(call, {"view": view})


def rating_link_post(call: Call) -> Response:
    token = _token(call)
    try:
        done = ratings.rate_by_link(
            call.ctx, token, call.field("muc", 40),
            _criteria(call, ratings.rating_settings(call.ws).criteria),
            call.field("y_kien", ratings.MAX_COMMENT + 1))
    except ratings.RatingRefused as exc:
        return _link_page(call, {"refused": exc.message}, 404)
    except UserError as exc:
        try:
            view = ratings.link_view(call.ctx, token)
        except ratings.RatingRefused as refused:
            return _link_page(call, {"refused": refused.message}, 404)
        return _link_page(call, {"view": view, "error": exc.message}, 400)
    return _link_page(call, {"done": done.level_label})


# ---- the quản trị's kiosks; the counter's choice --------------------------------------------


def kiosks(call: Call, errors: list[str] | None = None, new: Any = None,
           status_code: int = 200) -> Response:
    return call.render("kiosks.html", {
        "active": "kiosks", "devices": ratings.list_devices(call.ctx), "errors": errors or [],
        "new": new, "done": call.request.query_params.get("xong", "")}, status_code)


def kiosk_add(call: Call) -> Response:
    try:
        new = ratings.add_device(call.ctx, call.field("ten", 200))
    except AccessDenied:
        raise
    except UserError as exc:
        return kiosks(call, [exc.message], status_code=400)
    return kiosks(call, new=new)


def kiosk_revoke(call: Call) -> Response:
    text = str(call.request.path_params["device_id"])
    if not text.isdigit() or len(text) > 12:
        raise not_found("Không có màn hình đánh giá này.")
    try:
        ratings.revoke_device(call.ctx, int(text))
    except AccessDenied:
        raise
    except UserError as exc:
        raise not_found(exc.message) from exc
    return RedirectResponse(call.path_for("kiosks") + "?xong=thu-hoi", status_code=303)


def counter_kiosk(call: Call) -> Response:
    text = call.field("man_hinh", 12)
    if text and not text.isdigit():
        raise HTTPException(400, "Màn hình đánh giá không hợp lệ.")
    try:
        ratings.choose_kiosk(call.ctx, int(text) if text else None)
    except AccessDenied:
        raise
    except UserError as exc:
        raise HTTPException(400, exc.message) from exc
    return RedirectResponse(call.path_for("desk") + "?" + urlencode({"man_hinh": "1"}),
                            status_code=303)


# ---- the leader's page --------------------------------------------------------------------

CHART_KEYS = ("very_satisfied", "satisfied", "dissatisfied", "unrated")


def _chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per field, the resolved dossiers as stacked bars (very satisfied, satisfied,
    dissatisfied, unrated); SVG geometry here, drawn by the template, no script."""
    bars = []
    top = max([int(r["resolved"]) for r in rows] + [1])
    for i, r in enumerate(rows):
        parts = [int(r[k]) for k in CHART_KEYS]
        widths = [round(400 * n / top, 1) for n in parts]
        xs = [230.0]
        for w in widths[:-1]:
            xs.append(round(xs[-1] + w, 1))
        bars.append({"y": 8 + i * 30, "name": str(r["field"])[:48], "x": xs, "w": widths,
                     "n": parts, "end": round(xs[-1] + widths[-1] + 6, 1)})
    return {"bars": bars, "height": 16 + len(bars) * 30}


def ratings_report(call: Call) -> Response:
    quarter = call.request.query_params.get("quy", "").strip()[:10] \
        or report_service.current_quarter(call.ctx)
    errors: list[str] = []
    page = None
    try:
        page = ratings.leader_view(call.ctx, quarter)
    except AccessDenied:
        raise
    except MotcuaError as exc:
        errors.append(exc.message)
    rows = list(page.by_field) if page else []
    return call.render("ratings_report.html", {
        "active": "reports", "quarter": quarter, "errors": errors, "page": page,
        "chart": _chart(rows), "levels": labels.RATING_LEVELS}, 400 if errors else 200)


ROUTES: tuple[Page, ...] = (
    Page("/kiosk", "kiosk", kiosk, Gate.CITIZEN),
    Page("/kiosk/hien-tai", "kiosk_now", kiosk_now, Gate.CITIZEN),
    Page("/kiosk/danh-gia", "kiosk_rate", kiosk_rate, Gate.CITIZEN, ("POST",)),
    Page("/kiosk/bo-qua", "kiosk_skip", kiosk_skip, Gate.CITIZEN, ("POST",)),
    Page("/kiosk/ghep", "kiosk_pair_page", kiosk_pair_page, Gate.CITIZEN),
    Page("/kiosk/ghep", "kiosk_pair", kiosk_pair, Gate.CITIZEN, ("POST",)),
    Page("/danh-gia/{token}", "rating_link", rating_link, Gate.CITIZEN),
    Page("/danh-gia/{token}", "rating_link_post", rating_link_post, Gate.CITIZEN, ("POST",)),
    Page("/man-hinh-danh-gia", "kiosks", kiosks, Permission.KIOSKS),
    Page("/man-hinh-danh-gia", "kiosk_add", kiosk_add, Permission.KIOSKS, ("POST",)),
    Page("/man-hinh-danh-gia/{device_id}/thu-hoi", "kiosk_revoke", kiosk_revoke,
         Permission.KIOSKS, ("POST",)),
    Page("/ban-lam-viec/man-hinh", "counter_kiosk", counter_kiosk, Permission.RECEIVE,
         ("POST",)),
    Page("/reports/ratings", "ratings_report", ratings_report, Permission.RATINGS),
)
