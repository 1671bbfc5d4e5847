"""Web access control in-process (real SQLite, real argon2, Starlette's test client): the
permission matrix from the route table, CSRF, cookies, masking, audited downloads, and
fuzzed forms. The real browser against `motcua serve` is in test_web_browser.py."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import string
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from motcua import db
from motcua.archive import audit
from motcua.services.access import allowed
from motcua.web import create_app
from motcua.web.core import Gate, Page
from motcua.web.views import ROUTES
from motcua.workspace import Workspace, init_workspace
from tests.web_kit import (
    CITIZEN_ID,
    DOSSIER,
    OFFICERS,
    client_for,
    make_officers,
    password_for,
    small_archive,
)

# Records of an attempt itself (not a change): written even when the attempt is refused.
LOGIN_RECORDS = {"login_failed", "login_locked", "login_refused", "login_ok",
                 "session_start", "user_passwd_failed"}


@dataclass(frozen=True)
class Site:
    ws: Workspace
    doc_id: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    ws = init_workspace(tmp_path_factory.mktemp("webauth") / "ws")
    make_officers(ws)
    return Site(ws, small_archive(ws))


def _conn(ws: Workspace) -> closing[sqlite3.Connection]:
    return closing(db.connect(ws.db_path))


def _audit(ws: Workspace) -> list[audit.AuditEntry]:
    with _conn(ws) as conn:
        return list(audit.entries(conn))


def _csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, html[:500]
    return found.group(1)


# ---- the permission matrix, generated from the route table ----------------------------

# A sample request for every route, by name. A route added to ROUTES without an entry
# here fails test_route_table_is_the_whole_app: decide who may use it, then add it.
def _samples(site: Site) -> dict[str, dict[str, Any]]:
    return {
        "login": {}, "login_post": {}, "logout": {}, "search": {}, "dossiers": {},
        "account": {}, "account_password": {},
        "document": {"document_id": site.doc_id},
        "download": {"document_id": site.doc_id, "kind": "original"},
        "dossier": {"code": DOSSIER}, "status": {}, "users": {}, "user_add": {},
        "user_roles": {"login": "quantri"}, "user_disable": {"login": "quantri"},
        # The counter (issue 11).
        "desk": {}, "receive": {}, "receive_post": {}, "receive_procedures": {},
        "receive_owner": {},
        **{name: {"code": DOSSIER} for name in ("dossier_papers", "dossier_result",
                                                "dossier_apology", "dossier_refuse",
                                                "dossier_note", "dossier_edit",
                                                "dossier_cancel", "dossier_reuse")},
        "dossier_form": {"code": DOSSIER, "seq": "1"},
        # the archive's pages (issue 11)
        "upload": {}, "upload_post": {}, "upload_state": {},
        "thumbnail": {"document_id": site.doc_id, "page": 1},
        "document_meta": {"document_id": site.doc_id},
        "document_move": {"document_id": site.doc_id},
        "owner": {"owner_id": CITIZEN_ID}, "owner_post": {"owner_id": CITIZEN_ID},
        "reports": {}, "report_download": {"kind": "csv"}, "quarantine": {},
        "quarantine_retry": {"intake_id": 1}, "quarantine_dismiss": {"intake_id": 1},
        "documents": {}, "documents_file": {},
        # citizens' ratings (issue 17)
        "kiosk": {}, "kiosk_now": {}, "kiosk_rate": {}, "kiosk_skip": {},
        "kiosk_pair_page": {}, "kiosk_pair": {},
        "rating_link": {"token": "khong-co-duong-dan-nay"},
        "rating_link_post": {"token": "khong-co-duong-dan-nay"},
        "kiosks": {}, "kiosk_add": {}, "kiosk_revoke": {"device_id": "999"},
        "counter_kiosk": {}, "ratings_report": {},
    }


# An allowed GET whose sample names nothing there: the dossier has issued no form yet.
ALLOWED_GET_STATUS = {"dossier_form": 404}
# Citizens' pages answer everyone alike; a link that does not exist is a 404.
CITIZEN_GET_STATUS = {"rating_link": 404}
# An allowed POST whose empty form is not refused with a 400: choosing "no kiosk" is a
# choice; revoking a kiosk that does not exist is a 404.
ALLOWED_POST_STATUS = {"counter_kiosk": 303, "kiosk_revoke": 404}


def _expected(page: Page, method: str, who: str | None) -> int:
    """What a request with an empty form (and, when logged in, the session's CSRF token)
    must get."""
    if page.access is Gate.CITIZEN:
        if method == "GET":
            return CITIZEN_GET_STATUS.get(page.name, 200)
        return 403  # the form cookie's token is missing
    if page.access is Gate.PUBLIC:
        if method == "GET":
            return 200 if who is None else 303  # a logged-in officer is sent on
        return 403  # the login form's own token is missing
    if who is None:
        return 303 if method == "GET" else 403  # to the login page / refused
    if page.access is Gate.LOGGED_IN:
        if method == "GET":
            return 200
        return 303 if page.name == "logout" else 400
    if not allowed(set(OFFICERS[who][0]), page.access):
        return 403
    if method == "GET":
        return ALLOWED_GET_STATUS.get(page.name, 200)
    return ALLOWED_POST_STATUS.get(page.name, 400)  # allowed, but the empty form is refused


def test_route_table_is_the_whole_app(site: Site) -> None:
    app = create_app(site.ws)
    names = [p.name for p in ROUTES]
    assert len(names) == len(set(names))
    # /api/v1 ("api") is authenticated by tokens, not sessions: its own matrix is
    # tests/test_api.py::test_every_operation_refuses_missing_unknown_and_wrong_scope_tokens.
    served = {getattr(r, "name", None) for r in app.routes} - {"static", "api"}
    assert served == set(names), "every route must come from views.ROUTES"
    assert set(_samples(site)) == set(names), \
        f"routes without a sample request: {set(names) - set(_samples(site))}"
    for page in ROUTES:
        assert isinstance(page.access, Gate) or page.access.value, page.name
        assert set(page.methods) <= {"GET", "POST"}, page.name


@pytest.mark.parametrize("who", [None, *OFFICERS])
def test_permission_matrix(site: Site, who: str | None) -> None:
    samples = _samples(site)
    before = {r[0]: r[1:] for r in _users(site.ws)}
    for page in ROUTES:
        for method in page.methods:
            with client_for(site.ws, who) as client:  # a fresh session for every cell
                path = client.app.url_path_for(page.name, **samples[page.name])
                if method == "GET":
                    r = client.get(path, follow_redirects=False)
                else:
                    r = client.post(path, data={"csrf_token": client.csrf},
                                    follow_redirects=False)
            expected = _expected(page, method, who)
            assert r.status_code == expected, (page.name, method, who, r.text[:400])
            if expected == 403:
                assert '<html lang="vi">' in r.text and "notice error" in r.text
            if expected == 303 and who is None:
                assert r.headers["location"].startswith("/login?next=")
    assert {r[0]: r[1:] for r in _users(site.ws)} == before


def _users(ws: Workspace) -> list[tuple[Any, ...]]:
    with _conn(ws) as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT u.login, u.full_name, u.title, u.active, u.password_hash,"
            " GROUP_CONCAT(r.role) FROM users u LEFT JOIN user_roles r ON r.user_id = u.id"
            " GROUP BY u.id ORDER BY u.id")]


def test_specialist_typing_admin_urls_gets_403(site: Site) -> None:
    with client_for(site.ws, "chuyenvien") as client:
        for path in ("/users", "/status"):
            r = client.get(path)
            assert r.status_code == 403
            assert "Tài khoản của bạn không có quyền xem trang này." in r.text
        page = client.get("/").text
        assert 'href="/users"' not in page and 'href="/status"' not in page


# ---- login, cookies, CSRF -------------------------------------------------------------


def test_login_sets_a_fresh_http_only_cookie_and_logout_ends_it(site: Site) -> None:
    with client_for(site.ws, None) as client:
        form = client.get("/login")
        assert form.status_code == 200 and "Đăng nhập" in form.text
        r = client.post("/login", data={"login": "tiepnhan", "password": password_for("tiepnhan"),
                                        "csrf_token": _csrf_of(form.text), "next": "/status"},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/status"
        cookie = next(c for c in r.headers.get_list("set-cookie")
                      if c.startswith("motcua_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie and "Max-Age" not in cookie
        first = client.cookies["motcua_session"]
        # Logged in, the login page sends the officer on.
        on = client.get("/login?next=/dossiers", follow_redirects=False)
        assert on.status_code == 303 and on.headers["location"] == "/dossiers"
        # Logging in again with the session cookie still there rotates the token.
        with client_for(site.ws, None) as fresh:
            token = _csrf_of(fresh.get("/login").text)
            fresh.cookies.set("motcua_session", first, domain="127.0.0.1")
            r = fresh.post("/login", data={"login": "tiepnhan",
                                           "password": password_for("tiepnhan"),
                                           "csrf_token": token}, follow_redirects=False)
            assert r.status_code == 303
            second = fresh.cookies["motcua_session"]
            assert second != first
            page = fresh.get("/")
            assert page.status_code == 200 and "Trần Thị Tiếp" in page.text
            csrf = _csrf_of(page.text)
            out = fresh.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
            assert out.status_code == 303
            assert out.headers["location"] == "/login?thong_bao=logout"
            assert "Bạn đã đăng xuất." in fresh.get(out.headers["location"]).text
        # The replaced token and the logged-out one, replayed, are dead on the server.
        for token in (first, second):
            with client_for(site.ws, None) as replay:
                replay.cookies.set("motcua_session", token, domain="127.0.0.1")
                again = replay.get("/", follow_redirects=False)
                assert again.status_code == 303
                assert again.headers["location"].startswith("/login")
    actions = [(e.action, e.actor) for e in _audit(site.ws)]
    assert ("login_ok", "Trần Thị Tiếp (tiepnhan)") in actions
    assert ("logout", "Trần Thị Tiếp (tiepnhan)") in actions


def test_https_cookie_is_secure_host_only_and_hsts_is_sent(site: Site) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(site.ws), base_url="https://127.0.0.1") as client:
        form = client.get("/login")
        assert form.headers["strict-transport-security"] == "max-age=31536000"
        r = client.post("/login", data={"login": "lanhdao", "password": password_for("lanhdao"),
                                        "csrf_token": _csrf_of(form.text)},
                        follow_redirects=False)
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie")
                      if c.startswith("__Host-motcua_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
    with client_for(site.ws, "lanhdao") as plain:
        assert "strict-transport-security" not in plain.get("/").headers


def test_post_without_or_with_a_foreign_csrf_token_is_403(site: Site) -> None:
    before = _users(site.ws)
    with client_for(site.ws, "quantri") as admin, client_for(site.ws, "quantri") as other:
        form = {"login": "moi", "full_name": "Người Mới", "roles": "lanh_dao",
                "password": "Sông-Hồng-chảy-mãi-2025", "password2": "Sông-Hồng-chảy-mãi-2025"}
        for token in (None, "", "x" * 43, other.csrf, admin.csrf + "x"):
            data = form if token is None else {**form, "csrf_token": token}
            r = admin.post("/users", data=data)
            assert r.status_code == 403, token
            assert "mã xác nhận" in r.text
        out = admin.post("/logout")
        assert out.status_code == 403
        assert admin.get("/users").status_code == 200  # still logged in
        # With its own token it goes through.
        r = admin.post("/users", data={**form, "csrf_token": admin.csrf}, follow_redirects=False)
        assert r.status_code == 303
    after = _users(site.ws)
    assert len(after) == len(before) + 1 and after[-1][0] == "moi"
    with client_for(site.ws, None) as anonymous:
        r = anonymous.post("/login", data={"login": "quantri",
                                           "password": password_for("quantri")})
        assert r.status_code == 403


def test_users_page_adds_sets_roles_and_disables(site: Site) -> None:
    with client_for(site.ws, "quantri") as admin:
        page = admin.get("/users")
        assert "Tài khoản cán bộ" in page.text and "Trần Thị Tiếp" in page.text
        assert "Chuyên viên" in page.text and "Quản trị" in page.text
        r = admin.post("/users", data={"login": "b", "full_name": "", "roles": "lanh_dao",
                                       "password": "ngan", "password2": "ngan",
                                       "csrf_token": admin.csrf})
        assert r.status_code == 400 and "Tên đăng nhập phải dài 2–40 ký tự" in r.text
        r = admin.post("/users", data={"login": "vanb", "full_name": "Văn B", "roles": "lanh_dao",
                                       "password": "matkhau1234", "password2": "matkhau1234",
                                       "csrf_token": admin.csrf})
        assert r.status_code == 400 and "quá phổ biến" in r.text
        pw = "Gió-mùa-đông-bắc-về"
        r = admin.post("/users", data={"login": "vanb", "full_name": "Văn <B>",
                                       "roles": ["lanh_dao", "chuyen_vien"], "password": pw,
                                       "password2": pw, "csrf_token": admin.csrf})
        assert r.status_code == 200 and "Đã thêm tài khoản vanb." in r.text
        assert "Văn &lt;B&gt;" in r.text
        r = admin.post("/users/vanb/roles", data={"roles": "tiep_nhan", "csrf_token": admin.csrf})
        assert "Đã đổi vai trò của tài khoản vanb." in r.text
        r = admin.post("/users/vanb/disable", data={"csrf_token": admin.csrf})
        assert "Đã khóa tài khoản vanb" in r.text
        assert admin.post("/users/khong-co/disable",
                          data={"csrf_token": admin.csrf}).status_code == 404
    names = {(e.action, e.subject, e.actor) for e in _audit(site.ws)}
    admin_name = "Nguyễn Thị Quản (quantri)"
    for action in ("user_add", "user_roles", "user_disable"):
        assert (action, "user:vanb", admin_name) in names


# ---- personal data: masking and audited views ----------------------------------------


def test_ids_are_masked_for_roles_without_view_ids(site: Site) -> None:
    masked = CITIZEN_ID[:4] + "******" + CITIZEN_ID[-2:]
    with client_for(site.ws, "lanhdao") as leader, client_for(site.ws, "tiepnhan") as counter:
        for path in (f"/documents/{site.doc_id}", f"/dossiers/{DOSSIER}"):
            hidden = leader.get(path).text
            assert CITIZEN_ID not in hidden and masked in hidden, path
            shown = counter.get(path).text
            assert CITIZEN_ID in shown, path
        # The recognised text too, and no link carrying the number in its address.
        page = leader.get(f"/documents/{site.doc_id}").text
        assert f"Số định danh cá nhân: {masked}" in page and "?owner=" not in page
        assert CITIZEN_ID not in leader.get("/dossiers").text


def test_views_and_downloads_name_the_officer(site: Site) -> None:
    subject = f"document:{site.doc_id}"
    stored = next(site.ws.store.glob("originals/*/*.pdf")).read_bytes()
    with client_for(site.ws, "chuyenvien") as clerk:
        assert clerk.get(f"/documents/{site.doc_id}").status_code == 200
        r = clerk.get(f"/documents/{site.doc_id}/original")
        assert r.status_code == 200 and r.content == stored
    seen = {(e.action, e.actor, e.details.get("file")) for e in _audit(site.ws)
            if e.subject == subject}
    assert seen >= {("view", "Lê Văn Chuyên (chuyenvien)", None),
                    ("download", "Lê Văn Chuyên (chuyenvien)", "original")}
    with client_for(site.ws, "chuyenvien") as clerk:  # again, within minutes: same view
        clerk.get(f"/documents/{site.doc_id}")
        clerk.get(f"/documents/{site.doc_id}/original", headers={"range": "bytes=0-99"})
    again = {(e.action, e.actor, e.details.get("file")) for e in _audit(site.ws)
             if e.subject == subject}
    assert len([e for e in _audit(site.ws) if e.subject == subject
                and e.actor == "Lê Văn Chuyên (chuyenvien)"]) == 2 and again == seen
    with client_for(site.ws, "chuyenvien") as clerk:
        assert clerk.get(f"/dossiers/{DOSSIER}").status_code == 200
    assert ("view", f"dossier:{DOSSIER}", "Lê Văn Chuyên (chuyenvien)") in {
        (e.action, e.subject, e.actor) for e in _audit(site.ws)}


def test_suffix_range_is_served_and_audited(site: Site) -> None:
    """Issue 9 item 8: `Range: bytes=-N` sends the last N bytes (206) and is on record;
    a range that cannot be served is 416 and records nothing."""
    subject = f"document:{site.doc_id}"
    stored = next(site.ws.store.glob("originals/*/*.pdf")).read_bytes()
    make_officers(site.ws, {"hoa": (("lanh_dao",), "Lê Thị Hoa")})
    with client_for(site.ws, "hoa") as officer:
        for bad in ("bytes=abc", "bytes=-0", f"bytes={len(stored) + 10}-", "bytes=10-5",
                    "bytes=-", "items=0-10"):
            r = officer.get(f"/documents/{site.doc_id}/original", headers={"range": bad})
            assert r.status_code == 416, bad
            assert r.headers["content-range"] == f"bytes */{len(stored)}"
        assert not [e for e in _audit(site.ws) if e.actor == "Lê Thị Hoa (hoa)"]
        tail = officer.get(f"/documents/{site.doc_id}/original", headers={"range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == stored[-100:]
        assert tail.headers["content-range"] == f"bytes {len(stored) - 100}-{len(stored) - 1}" \
            f"/{len(stored)}"
    entries = [e for e in _audit(site.ws) if e.actor == "Lê Thị Hoa (hoa)"]
    assert [(e.action, e.subject, e.details["file"]) for e in entries] == [
        ("download", subject, "original")]


@pytest.mark.parametrize("path", [
    "/documents/99999999999999999999",
    "/documents/99999999999999999999/original",
    "/documents/9223372036854775808/archival",
    "/documents/999999999999999999",
    "/documents/999999999999999999/original",
    "/documents/-1/original",
])
def test_huge_document_ids_are_404(site: Site, path: str) -> None:
    with client_for(site.ws, "chuyenvien") as clerk:
        r = clerk.get(path)
        assert r.status_code == 404 and "Không" in r.text


# ---- fuzzed forms: always 4xx, never 5xx, nothing written ----------------------------

FORM_FIELDS: dict[str, list[str]] = {
    "login_post": ["login", "password", "next"],
    "user_add": ["login", "full_name", "title", "roles", "password", "password2"],
    "user_roles": ["roles"],
    "user_disable": [],
    "logout": [],
    "account_password": ["current", "password", "password2"],
}


def _random_text(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 60)))
    if kind == 1:  # any code point but surrogates, control characters included
        return "".join(chr(rng.choice([rng.randrange(0, 0xD800), rng.randrange(0xE000, 0x110000)]))
                       for _ in range(rng.randrange(1, 40)))
    if kind == 2:
        return rng.choice(["' OR 1=1 --", "<script>alert(1)</script>", "../../motcua.db",
                           "\u202eexe.pdf", "quan_tri", "tiep_nhan,quan_tri", "%00", "\x00",
                           "Nguyễn Văn A", "0" * 40, "-1", "9" * 30])
    if kind == 3:
        return rng.choice("aé漢🙂") * rng.randrange(1000, 20000)
    if kind == 4:
        return str(rng.randrange(-10**30, 10**30))
    if kind == 5:
        return ""
    if kind == 6:
        return " " * rng.randrange(1, 50)
    return "".join(rng.choice("abc.-_019") for _ in range(rng.randrange(1, 50)))


def _random_body(rng: random.Random, fields: list[str], csrf: str | None
                 ) -> tuple[bytes, dict[str, str]]:
    names = [*fields, "csrf_token"] if csrf is not None else list(fields)
    pairs: list[tuple[str, str]] = []
    for name in names:
        if name == "csrf_token" and csrf is not None:
            pairs.append((name, csrf))
        elif rng.random() < 0.85:
            for _ in range(rng.choice([1, 1, 1, 2, 5])):
                pairs.append((name, _random_text(rng)))
    for _ in range(rng.randrange(0, 4)):
        pairs.append((_random_text(rng)[:30], _random_text(rng)))
    body = urlencode(pairs).encode("ascii")
    headers = {"content-type": "application/x-www-form-urlencoded"}
    mangle = rng.randrange(10)
    if mangle == 0:  # raw bytes that are not UTF-8, in the body itself
        body += b"&login=\xff\xfe\xc3\x28" + bytes(rng.randrange(256) for _ in range(50))
    elif mangle == 1:  # percent-encoded bytes that are not UTF-8
        body += b"&full_name=%C3%28%FF%FE%ED%A0%80"
    elif mangle == 2:
        body += b"&" + b"x=1&" * 200  # too many fields
    elif mangle == 3:
        body = body + b"&pad=" + b"A" * (70 * 1024)  # oversized
    elif mangle == 4:
        headers = {"content-type": "multipart/form-data; boundary=zz"}
        body = b"--zz\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\n\xff\r\n--zz--"
    elif mangle == 5:
        headers = {"content-type": "application/json"}
        body = json.dumps(dict(pairs)).encode()
    elif mangle == 6:
        headers = {}
    elif mangle == 7:
        body += b"&login=%00admin"
    return body, headers


def _snapshot(ws: Workspace) -> tuple[Any, ...]:
    with _conn(ws) as conn:
        users = _users(ws)
        sessions = sorted(r[0] for r in conn.execute("SELECT id_hash FROM web_sessions"))
        documents = conn.execute("SELECT COUNT(*), MAX(updated_at) FROM documents").fetchone()
    changes = [(e.action, e.subject) for e in _audit(ws) if e.action not in LOGIN_RECORDS]
    return users, sessions, tuple(documents), changes


def _path_login(rng: random.Random) -> str:
    return quote(_random_text(rng)[:60] or "x", safe="") or "x"


@pytest.mark.parametrize("route", sorted(FORM_FIELDS))
def test_fuzzed_forms_get_4xx_and_write_nothing(tmp_path: Path, route: str) -> None:
    ws = init_workspace(tmp_path / "ws")
    make_officers(ws)
    small_archive(ws)
    rng = random.Random(f"motcua-{route}")
    with client_for(ws, "quantri") as admin, client_for(ws, None) as anonymous:
        login_csrf = _csrf_of(anonymous.get("/login").text)
        before = _snapshot(ws)
        tries = 0
        statuses: dict[int, int] = {}
        for n in range(70):
            valid_token = n % 4 != 3 and route != "logout"  # logging out is a real change
            client = anonymous if route == "login_post" else admin
            csrf = (login_csrf if route == "login_post" else admin.csrf) if valid_token else \
                rng.choice([None, "", _random_text(rng)[:80]])
            body, headers = _random_body(rng, FORM_FIELDS[route], csrf)
            params = {"login": _path_login(rng)} if route in ("user_roles", "user_disable") \
                else {}
            path = client.app.url_path_for(route, **params) if not params else \
                f"/users/{params['login']}/{'roles' if route == 'user_roles' else 'disable'}"
            r = client.post(path, content=body, headers=headers, follow_redirects=False)
            assert 400 <= r.status_code < 500, (route, n, r.status_code, body[:200], r.text[:300])
            assert "Traceback" not in r.text
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            tries += 1
        # Oversized query strings and odd bytes on the search form too (a GET: read-only).
        for _ in range(15):
            q = {"q": _random_text(rng)[:3000], "from": _random_text(rng)[:20],
                 "owner": _random_text(rng)[:30], "page": _random_text(rng)[:12]}
            r = admin.get("/", params=q)
            assert r.status_code in (200, 400), r.text[:300]
        assert admin.get("/users").status_code == 200  # the admin's session survived
    assert _snapshot(ws) == before and tries == 70
    # The loop reached past the CSRF check (form errors, locks, unknown accounts), not
    # only the 403 at the door.
    assert 403 in statuses
    if route != "logout":
        assert set(statuses) - {403}, statuses


def test_officer_changes_own_password(site: Site) -> None:
    make_officers(site.ws, {"minh": (("chuyen_vien",), "Đặng Văn Minh")})
    new_password = "Lúa-chín-vàng-đồng-2025"
    with client_for(site.ws, "minh") as officer, client_for(site.ws, "minh") as elsewhere:
        page = officer.get("/account")
        assert page.status_code == 200 and "Đặng Văn Minh" in page.text
        assert "Chuyên viên" in page.text
        r = officer.post("/account", data={"current": "không phải", "password": new_password,
                                           "password2": new_password,
                                           "csrf_token": officer.csrf})
        assert r.status_code == 400 and "Mật khẩu hiện tại không đúng." in r.text
        r = officer.post("/account", data={"current": password_for("minh"),
                                           "password": "1234567890", "password2": "1234567890",
                                           "csrf_token": officer.csrf})
        assert r.status_code == 400 and "quá phổ biến" in r.text
        old = officer.cookies["motcua_session"]
        r = officer.post("/account", data={"current": password_for("minh"),
                                           "password": new_password, "password2": new_password,
                                           "csrf_token": officer.csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account?done=passwd"
        assert officer.cookies["motcua_session"] != old
        assert "Đã đổi mật khẩu." in officer.get(r.headers["location"]).text
        # The other browser's session ended with the change.
        assert elsewhere.get("/", follow_redirects=False).status_code == 303
    with client_for(site.ws, None) as fresh:
        token = _csrf_of(fresh.get("/login").text)
        r = fresh.post("/login", data={"login": "minh", "password": new_password,
                                       "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
    got = [(e.action, e.actor) for e in _audit(site.ws) if e.subject == "user:minh"]
    assert ("user_passwd_failed", "Đặng Văn Minh (minh)") in got
    assert ("user_passwd", "Đặng Văn Minh (minh)") in got
