"""Logging in, out and being refused, in Debian's Chromium (Playwright) against a real
`motcua serve` in its own process: each scenario as an officer would live it."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from motcua import db
from motcua.archive import audit
from motcua.services.access import allowed
from motcua.web.core import Gate
from motcua.web.views import ROUTES
from motcua.workspace import Workspace, find_workspace, init_workspace
from tests.web_kit import (
    CITIZEN_ID,
    DOSSIER,
    OFFICERS,
    ROOT,
    browser_login,
    make_officers,
    password_for,
    serving,
    small_archive,
)

pytest.importorskip("playwright.sync_api")  # the whole module drives a browser
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class Served:
    ws: Workspace
    url: str
    doc_id: int


def _workspace(base: Path, **web: float) -> tuple[Workspace, int]:
    ws = init_workspace(base / "ws")
    if web:
        text = ws.config_path.read_text(encoding="utf-8")
        for key, value in web.items():
            text = text.replace(f"\n{key} = ", f"\n{key} = {value}\n# was: ", 1)
        ws.config_path.write_text(text, encoding="utf-8")
        ws = find_workspace(ws.root)
    make_officers(ws)
    return ws, small_archive(ws)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    ws, doc_id = _workspace(tmp_path_factory.mktemp("browser"))
    with serving(ws) as url:
        yield Served(ws, url, doc_id)


def _entries(ws: Workspace) -> list[audit.AuditEntry]:
    with closing(db.connect(ws.db_path)) as conn:
        return list(audit.entries(conn))


def _verify(ws: Workspace) -> None:
    with closing(db.connect(ws.db_path)) as conn:
        assert audit.verify(conn) == []


def _page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_log_in_download_and_log_out(served: Served, browser: Any, tmp_path: Path) -> None:
    page = _page(browser)
    page.goto(served.url + f"/documents/{served.doc_id}")
    # Sent to the login page, which says why, and comes back after logging in.
    page.wait_for_selector("form.login-form")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert "Hãy đăng nhập để tiếp tục." in page.locator(".notice").inner_text()
    _shot(page, "web-login")
    page.fill("#login", "chuyenvien")
    page.fill("#password", "mật khẩu sai bét")
    page.click("form.login-form button[type=submit]")
    page.wait_for_selector(".notice.error")
    assert page.locator(".notice.error").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert page.input_value("#login") == "chuyenvien" and page.input_value("#password") == ""
    page.fill("#password", password_for("chuyenvien"))
    page.click("form.login-form button[type=submit]")
    page.wait_for_selector("h1.doc-title")
    assert page.url == served.url + f"/documents/{served.doc_id}"
    assert "Lê Văn Chuyên" in page.locator("form.who").inner_text()
    assert "Chuyên viên" in page.locator("form.who").inner_text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["motcua_session"]["httpOnly"] and cookies["motcua_session"]["sameSite"] == "Lax"
    _shot(page, "web-logged-in-document")
    with page.expect_download() as info:
        page.evaluate("""() => {
            const a = document.querySelector('a[href$="/original"]');
            a.setAttribute('download', ''); a.click(); }""")
    saved = tmp_path / "tải về.pdf"
    info.value.save_as(saved)
    assert saved.read_bytes() == next(served.ws.store.glob("originals/*/*.pdf")).read_bytes()
    page.click("form.who button[type=submit]")
    page.wait_for_selector("form.login-form")
    assert "Bạn đã đăng xuất." in page.locator(".notice").inner_text()
    assert not [c for c in page.context.cookies() if c["name"] == "motcua_session"]
    page.goto(served.url + "/dossiers")
    page.wait_for_selector("form.login-form")
    officer = "Lê Văn Chuyên (chuyenvien)"
    got = [(e.action, e.actor, e.details.get("file")) for e in _entries(served.ws)]
    assert ("login_failed", "web:127.0.0.1", None) in got
    assert ("login_ok", officer, None) in got and ("logout", officer, None) in got
    assert ("view", officer, None) in got and ("download", officer, "original") in got
    _verify(served.ws)


def _expected_get(roles: tuple[str, ...], access: Any) -> int:
    if access is Gate.PUBLIC or access is Gate.LOGGED_IN:
        return 200
    return 200 if allowed(set(roles), access) else 403


def test_every_role_is_refused_its_forbidden_pages(served: Served, browser: Any) -> None:
    paths = {"search": "/", "document": f"/documents/{served.doc_id}",
             "download": f"/documents/{served.doc_id}/archival", "dossiers": "/dossiers",
             "dossier": f"/dossiers/{DOSSIER}", "status": "/status", "users": "/users",
             "account": "/account",
             # the archive's pages (issue 11)
             "upload": "/upload", "upload_state": "/upload/state",
             "thumbnail": f"/documents/{served.doc_id}/pages/1",
             "owner": f"/owners/{CITIZEN_ID}", "reports": "/reports",
             "report_download": "/reports/quarterly.csv", "quarantine": "/quarantine",
             "documents": "/documents",
             # the counter's pages (issue 11); a form's file is a download, not a page
             "desk": "/ban-lam-viec", "receive": "/tiep-nhan",
             "receive_procedures": "/tiep-nhan/thu-tuc?q=khai",
             "receive_owner": f"/tiep-nhan/chu-ho-so?owner_id={CITIZEN_ID}",
             "dossier_form": f"/dossiers/{DOSSIER}/phieu/1",
             # citizens' ratings (issue 17); the citizens' own pages are open to all
             # (tests/test_ratings_web.py)
             "kiosks": "/man-hinh-danh-gia", "ratings_report": "/reports/ratings"}
    pages = [p for p in ROUTES if "GET" in p.methods
             and p.access not in (Gate.PUBLIC, Gate.CITIZEN)]
    assert {p.name for p in pages} == set(paths)
    refused_somewhere = 0
    for login, (roles, _name) in OFFICERS.items():
        page = _page(browser)
        browser_login(page, served.url, login)
        page.wait_for_selector("form.who")
        for route in pages:
            if route.name in ("download", "report_download", "dossier_form"):
                continue  # a download, not a page (both are in the matrix)
            response = page.goto(served.url + paths[route.name])
            expected = _expected_get(roles, route.access)
            assert response.status == expected, (login, route.name)
            if expected == 403:
                refused_somewhere += 1
                assert page.locator("h1").inner_text() == "Không có quyền truy cập"
                assert "không có quyền xem trang này" in page.locator(".notice").inner_text()
                if login == "chuyenvien" and route.name == "users":
                    _shot(page, "web-forbidden")
        page.context.close()
    assert refused_somewhere >= 5


def test_specialist_typing_the_admin_url(served: Served, browser: Any) -> None:
    page = _page(browser)
    browser_login(page, served.url, "chuyenvien")
    page.wait_for_selector("form.who")
    assert page.locator("nav a", has_text="Tài khoản").count() == 0
    page.fill("#q", "")  # the search page is where a specialist lands
    response = page.goto(served.url + "/users")
    assert response.status == 403
    assert "Tài khoản cán bộ" not in page.content()
    response = page.goto(served.url + "/users/quantri/disable")  # a GET on a POST route
    assert response.status == 405
    page.context.close()


def test_post_without_csrf_token_is_refused(served: Served, browser: Any) -> None:
    page = _page(browser)
    browser_login(page, served.url, "quantri")
    page.wait_for_selector("form.who")
    page.goto(served.url + "/users")
    page.fill("#new-login", "nguoila")
    page.fill("#new-name", "Người Lạ")
    page.check("form.user-form input[value=lanh_dao]")
    page.fill("#new-password", "Bão-số-ba-đổ-bộ")
    page.fill("#new-password2", "Bão-số-ba-đổ-bộ")
    page.evaluate("document.querySelector('form.user-form input[name=csrf_token]').remove()")
    with page.expect_navigation() as nav:
        page.click("form.user-form button[type=submit]")
    assert nav.value.status == 403
    assert "mã xác nhận" in page.locator(".notice.error").inner_text()
    # A request from a script with the session cookie but no token: refused as well.
    r = page.context.request.post(served.url + "/users/chuyenvien/disable",
                                  form={"note": "x"})
    assert r.status == 403
    page.goto(served.url + "/users")
    assert "nguoila" not in page.content()
    assert page.locator("td", has_text="Lê Văn Chuyên").count() == 1
    assert "Đang hoạt động" in page.locator("tr", has_text="Lê Văn Chuyên").inner_text()
    # With the form as served, adding works.
    page.fill("#new-login", "nguoila")
    page.fill("#new-name", "Người Lạ")
    page.check("form.user-form input[value=lanh_dao]")
    page.fill("#new-password", "Bão-số-ba-đổ-bộ")
    page.fill("#new-password2", "Bão-số-ba-đổ-bộ")
    page.click("form.user-form button[type=submit]")
    page.wait_for_selector(".notice[role=status]")
    assert "Đã thêm tài khoản nguoila." in page.locator(".notice[role=status]").inner_text()
    _shot(page, "web-users")
    page.context.close()


def test_five_wrong_passwords_lock_the_login(tmp_path: Path, browser: Any) -> None:
    ws, _doc = _workspace(tmp_path)
    with serving(ws) as url:
        page = _page(browser)
        page.goto(url + "/login")
        for n in range(5):
            page.fill("#login", "tiepnhan")
            page.fill("#password", f"đoán-mò-lần-{n}")
            page.click("form.login-form button[type=submit]")
            page.wait_for_selector(".notice.error")
        message = page.locator(".notice.error").inner_text()
        assert "Đăng nhập sai quá nhiều lần nên tạm thời bị khóa" in message
        assert "15 phút" in message
        _shot(page, "web-lockout")
        # The right password now: still refused, with the same message.
        page.fill("#login", "tiepnhan")
        page.fill("#password", password_for("tiepnhan"))
        with page.expect_navigation() as nav:
            page.click("form.login-form button[type=submit]")
        assert nav.value.status == 429
        assert "tạm thời bị khóa" in page.locator(".notice.error").inner_text()
        page.context.close()
    got = [(e.action, e.subject) for e in _entries(ws)
           if e.action.startswith("login")]
    assert got == [("login_failed", "user:tiepnhan")] * 5 + [
        ("login_locked", "user:tiepnhan"), ("login_refused", "user:tiepnhan")]
    _verify(ws)


def test_idle_session_goes_back_to_login(tmp_path: Path, browser: Any) -> None:
    # Fifteen seconds: long enough for a loaded machine to log in and open a page.
    ws, _doc = _workspace(tmp_path, idle_minutes=0.25)
    with serving(ws) as url:
        page = _page(browser)
        browser_login(page, url, "lanhdao")
        page.wait_for_selector("form.who")
        page.click("nav a:has-text('Hồ sơ')")
        page.wait_for_selector("h1:has-text('Hồ sơ')")
        time.sleep(17)
        page.click("nav a:has-text('Tìm kiếm')")
        page.wait_for_selector("form.login-form")
        notice = page.locator(".notice").inner_text()
        assert notice == "Phiên làm việc đã hết hạn vì không thao tác quá 15 giây. " \
                         "Hãy đăng nhập lại."
        _shot(page, "web-idle-expired")
        page.fill("#login", "lanhdao")
        page.fill("#password", password_for("lanhdao"))
        page.click("form.login-form button[type=submit]")
        page.wait_for_selector("#q")
        assert page.url == url + "/"
        page.context.close()
    with closing(sqlite3.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM web_sessions").fetchone()[0] == 1


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_serve_sends_hsts_and_secure_cookies(tmp_path: Path, browser: Any) -> None:
    ws, _doc = _workspace(tmp_path)
    cert, key = _self_signed(tmp_path)
    with serving(ws, "--certfile", str(cert), "--keyfile", str(key), scheme="https") as url:
        r = httpx.get(url + "/login", verify=False)
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        context = browser.new_context(ignore_https_errors=True, locale="vi-VN")
        page = context.new_page()
        browser_login(page, url, "quantri")
        page.wait_for_selector("form.who")
        cookie = next(c for c in context.cookies() if c["name"] == "__Host-motcua_session")
        assert cookie["secure"] and cookie["httpOnly"] and cookie["path"] == "/"
        context.close()


def test_behind_a_proxy_the_real_client_is_throttled(tmp_path: Path) -> None:
    """`--behind-proxy`: X-Forwarded-For/-Proto from 127.0.0.1 (the proxy) are believed,
    so the lock falls on the real client's address and cookies are Secure."""
    ws, _doc = _workspace(tmp_path)
    with serving(ws, "--behind-proxy") as url:
        client = httpx.Client(base_url=url, timeout=15, headers={
            "x-forwarded-for": "192.168.1.77", "x-forwarded-proto": "https"})
        other = httpx.Client(base_url=url, timeout=15, headers={
            "x-forwarded-for": "192.168.1.78", "x-forwarded-proto": "https"})
        form = client.get("/login")
        assert form.headers["strict-transport-security"] == "max-age=31536000"
        token = form.cookies["__Host-motcua_login"]
        for n in range(5):
            # httpx keeps Secure cookies for https: the proxy's browser would send it.
            r = client.post("/login", data={"login": f"khong-co-{n}", "password": "x" * 12,
                                             "csrf_token": token},
                            headers={"cookie": f"__Host-motcua_login={token}"})
            assert r.status_code in (401, 429)
        assert r.status_code == 429
        # Another client behind the same proxy still logs in.
        token = other.get("/login").cookies["__Host-motcua_login"]
        ok = other.post("/login", data={"login": "quantri", "password": password_for("quantri"),
                                         "csrf_token": token},
                        headers={"cookie": f"__Host-motcua_login={token}"})
        assert ok.status_code == 303
        assert "Secure" in ok.headers["set-cookie"]
        client.close()
        other.close()
    clients = {e.details.get("client") for e in _entries(ws) if e.action.startswith("login")}
    assert clients == {"192.168.1.77", "192.168.1.78"}
