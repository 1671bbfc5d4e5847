"""Helpers for the web tests: officers with roles, logged-in clients, `motcua serve` in a
subprocess, a browser logging in."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():  # Starlette nudges towards httpx2; httpx is what we ship
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from motcua.services import accounts, open_context
from motcua.services.access import Role
from motcua.web import create_app
from motcua.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN_ACTOR = accounts.os_actor("test-runner")

# One demo officer per role (login -> roles, full name).
OFFICERS: dict[str, tuple[tuple[str, ...], str]] = {
    "tiepnhan": ((Role.COUNTER.value,), "Trần Thị Tiếp"),
    "chuyenvien": ((Role.SPECIALIST.value,), "Lê Văn Chuyên"),
    "lanhdao": ((Role.LEADER.value,), "Phạm Văn Lãnh"),
    "quantri": ((Role.ADMIN.value,), "Nguyễn Thị Quản"),
}


def password_for(login: str) -> str:
    # Never containing the login (the policy refuses that), different for each officer.
    return f"Mùa-thu-Gia-Lộc-{hashlib.sha256(login.encode()).hexdigest()[:8]}"


def make_officers(ws: Workspace, officers: dict[str, tuple[tuple[str, ...], str]] = OFFICERS
                  ) -> None:
    with open_context(ws, ADMIN_ACTOR) as ctx:
        for login, (roles, name) in officers.items():
            if accounts.find_user(ctx.conn, login) is None:
                accounts.add_user(ctx, login, name, "Công chức", list(roles), password_for(login))


def session_for(ws: Workspace, login: str) -> accounts.NewSession:
    with open_context(ws, ADMIN_ACTOR) as ctx:
        return accounts.start_session(ctx, login, "testclient")


def client_for(ws: Workspace, login: str | None, **kwargs: Any) -> TestClient:
    """A TestClient logged in as `login` (None: anonymous). `.csrf` holds its token."""
    client = TestClient(create_app(ws, **kwargs), base_url="http://127.0.0.1")
    client.csrf = ""  # type: ignore[attr-defined]
    if login is not None:
        new = session_for(ws, login)
        client.cookies.set("motcua_session", new.token, domain="127.0.0.1")
        client.csrf = new.csrf_token  # type: ignore[attr-defined]
    return client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(ws: Workspace, *extra: str, scheme: str = "http") -> Iterator[str]:
    """`motcua serve` in its own process, as staff would run it; yields its URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "motcua", "--workspace", str(ws.root), "serve",
         "--port", str(port), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/login", timeout=2, verify=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"motcua serve did not start: {out}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def http_login(url: str, login: str, password: str | None = None) -> httpx.Client:
    """An httpx client logged in through the real login form."""
    client = httpx.Client(base_url=url, timeout=15)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, form
    r = client.post("/login", data={"login": login, "password": password or password_for(login),
                                    "csrf_token": token.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    return client


def browser_login(page: Any, url: str, login: str, password: str | None = None) -> None:
    page.goto(url + "/login")
    page.fill("#login", login)
    page.fill("#password", password or password_for(login))
    page.click("form.login-form button[type=submit]")


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, closed afterwards (the `browser` fixture)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = chromium(sync_api, p)
        try:
            yield launched
        finally:
            launched.close()


def chromium(sync_api: Any, playwright: Any) -> Any:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


DOSSIER = "000.00.07.H47-250716-0001"
CITIZEN_ID = "001090012345"


def small_archive(ws: Workspace) -> int:
    """One real scanned PDF in the store, recorded as a document of a dossier with an
    owner and a citizen ID in its text (no OCR run: the web reads the rows)."""
    from motcua import db
    from motcua.archive import records
    from tests import scans

    page = scans.render_page("clean", 21, max_lines=2,
                             extra_lines=[f"Số định danh cá nhân: {CITIZEN_ID}"])
    scratch = ws.tmp / "scan.pdf"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scans.write_pdf([page], scratch)
    data = scratch.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target = ws.store / "originals" / digest[:2] / f"{digest}.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch.rename(target)
    with closing(db.connect(ws.db_path)) as conn, db.transaction(conn):
        conn.execute("INSERT INTO owners (id, kind, name, created_at) VALUES (?, ?, ?, ?)",
                     (CITIZEN_ID, "citizen", "Nguyễn Văn Hưởng", db.now()))
        doc_id = records.insert_stored(conn, sha256=digest, original_name="đơn đề nghị.pdf",
                                       media_type="application/pdf", size=len(data),
                                       original_path=ws.relative(target))
        records.ensure_dossier(conn, DOSSIER)
        records.assign_dossier(conn, doc_id, DOSSIER, "folder")
        conn.execute("UPDATE dossiers SET owner_id = ? WHERE code = ?", (CITIZEN_ID, DOSSIER))
        conn.execute("INSERT INTO pages (document_id, page_no, text, confidence, ocr_done,"
                     " needs_rescan) VALUES (?, 1, ?, 91.5, 1, 0)",
                     (doc_id, f"Đơn đề nghị. Số định danh cá nhân: {CITIZEN_ID}"))
        conn.execute("INSERT INTO identifiers (document_id, kind, value, page_no)"
                     " VALUES (?, 'citizen_id', ?, 1)", (doc_id, CITIZEN_ID))
    return doc_id
