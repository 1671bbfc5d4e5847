"""The citizen rates at the counter, in Debian's Chromium (Playwright) against a real
`motcua serve`: a quản trị adds a kiosk, the tablet (its own browser context) pairs with
the code, the officer chooses it on the desk and resolves a dossier, the kiosk shows that
dossier, the citizen taps "Hài lòng", the kiosk returns to its neutral screen, the
quarterly JSON counts the rating, and a second rating of the dossier is refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from motcua import db
from motcua.services import accounts, counter, open_context
from motcua.workspace import Workspace, init_workspace, load_workspace
from tests.web_kit import (
    ADMIN_ACTOR,
    ROOT,
    browser_login,
    http_login,
    make_officers,
    serving,
)

pytest.importorskip("playwright.sync_api")  # the whole module drives a browser
ARTIFACTS = ROOT / "test-artifacts"
OWNER = "001090054321"


@dataclass(frozen=True)
class Served:
    ws: Workspace
    url: str
    code: str
    other: str  # a second dossier, for the timeout and "Bỏ qua"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    made = init_workspace(tmp_path_factory.mktemp("rating-web") / "ws")
    config = made.root / "motcua.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + "\n[ratings]\nkiosk_seconds = 90\n", encoding="utf-8")
    ws = load_workspace(made.root)
    make_officers(ws)
    with open_context(ws, ADMIN_ACTOR) as ctx:
        officer = accounts.actor_for_login(ctx.conn, "tiepnhan")
    with open_context(ws, officer) as ctx:
        counter.add_owner(ctx, OWNER, "Đỗ Thị Đánh Giá")
        got = counter.receive(ctx, "1.004873", OWNER, "direct", print_receipt=False)
        other = counter.receive(ctx, "1.004873", OWNER, "direct", print_receipt=False)
    with serving(ws) as url:
        yield Served(ws, url, got.record["code"], other.record["code"])


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _prompt(served: Served, device: int, code: str, *, seconds: int) -> None:
    """What the counter's hand-over does (services.ratings.after_handling), for a dossier
    handed over again: the kiosk shows it for `seconds`."""
    now = datetime.now(UTC)
    with closing(db.connect(served.ws.db_path)) as conn:
        conn.execute("INSERT OR REPLACE INTO rating_prompts (device_id, dossier_code, event,"
                     " shown_at, until) VALUES (?, ?, 'receive', ?, ?)",
                     (device, code, now.isoformat(timespec="seconds"),
                      (now + timedelta(seconds=seconds)).isoformat(timespec="seconds")))


def test_kiosk_shows_the_resolved_dossier_and_counts_one_rating(
        served: Served, browser: Any, tmp_path: Path) -> None:
    admin_ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    kiosk_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN",
                                    has_touch=True)
    officer_ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    leader_ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    try:
        # A quản trị adds the kiosk and reads its pairing code, shown once.
        admin = admin_ctx.new_page()
        browser_login(admin, served.url, "quantri")
        admin.wait_for_selector("nav >> text=Màn hình đánh giá")
        admin.click("nav >> text=Màn hình đánh giá")
        admin.fill("#ten", "Quầy số 1")
        admin.click("form.inline-form button[type=submit]")
        pairing = admin.locator("#ma-ghep").inner_text().strip()
        assert pairing.startswith("mcp_")

        # The tablet: not paired yet, then paired with the code; a neutral screen.
        kiosk = kiosk_ctx.new_page()
        kiosk.goto(served.url + "/kiosk")
        kiosk.wait_for_selector("#kiosk[data-state=unpaired]")
        kiosk.click("a.kiosk-button")
        kiosk.fill("#ma", pairing)
        kiosk.click("form.kiosk-form button[type=submit]")
        kiosk.wait_for_url(served.url + "/kiosk")
        kiosk.wait_for_selector("#kiosk[data-state=neutral]")
        assert kiosk.locator("nav").count() == 0  # no way away from the screen
        cookie = next(c for c in kiosk_ctx.cookies() if c["name"] == "motcua_kiosk")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        _shot(kiosk, "rating-kiosk-neutral")

        # The officer chooses that kiosk for the counter, then hands over a result.
        officer = officer_ctx.new_page()
        browser_login(officer, served.url, "tiepnhan")
        officer.wait_for_url(served.url + "/ban-lam-viec")
        officer.select_option("#man_hinh", label="Quầy số 1")
        officer.click("form.desk-kiosk button[type=submit]")
        officer.wait_for_selector("form.desk-kiosk >> text=Đã lưu")
        officer.goto(served.url + f"/dossiers/{served.code}")
        result = tmp_path / "ket-qua.pdf"
        from tests import scans
        scans.write_pdf([scans.render_page("clean", 4, max_lines=3)], result)
        officer.set_input_files("#ket_qua", str(result))
        officer.click("#tra-ket-qua")
        officer.wait_for_selector(".notice.ok >> text=Đã lưu kết quả")

        # The kiosk, polling, shows that dossier alone, with large targets.
        kiosk.wait_for_selector("#kiosk[data-state=prompt]", timeout=15_000)
        assert served.code in kiosk.locator(".kiosk-code").inner_text()
        assert "trả kết quả" in kiosk.locator("#kiosk h1").inner_text()
        assert "Đỗ Thị Đánh Giá" not in kiosk.content()
        button = kiosk.locator("button.kiosk-level", has_text="Hài lòng").filter(
            has_not_text="Rất").filter(has_not_text="Không")
        box = button.bounding_box()
        assert box is not None and box["height"] >= 80 and box["width"] >= 180
        _shot(kiosk, "rating-kiosk-prompt")
        button.tap()
        kiosk.wait_for_selector("#kiosk[data-state=thanks]")
        _shot(kiosk, "rating-kiosk-thanks")
        kiosk.wait_for_selector("#kiosk[data-state=neutral]", timeout=15_000)

        # The leader's quarterly JSON counts it.
        leader = http_login(served.url, "lanhdao")
        try:
            figures = leader.get("/reports/quarterly.json").json()
        finally:
            leader.close()
        total = figures["ratings_total"]
        assert (total["resolved"], total["satisfied"], total["unrated"]) == (1, 1, 0)
        assert total["satisfied_rate"] == 100.0
        # The leader's page: the share, the tables and the chart.
        board = leader_ctx.new_page()
        browser_login(board, served.url, "lanhdao")
        board.wait_for_selector("form.who")
        board.goto(served.url + "/reports/ratings")
        assert "100,0%" in board.locator("#ty-le-hai-long").inner_text()
        officers = board.locator("section[aria-labelledby=theo-can-bo] tbody tr")
        assert officers.count() == 1 and "Trần Thị Tiếp (tiepnhan)" in officers.inner_text()
        assert board.locator("svg.chart rect.bar-satisfied").count() >= 2  # a bar, the key
        _shot(board, "rating-leader")

        # A second rating of the same dossier is refused, even for a prompt left behind.
        with closing(db.connect(served.ws.db_path)) as conn:
            device = conn.execute("SELECT id FROM rating_devices").fetchone()[0]
            conn.execute("INSERT INTO rating_prompts (device_id, dossier_code, event,"
                         " shown_at, until) VALUES (?, ?, 'return', ?, ?)",
                         (device, served.code, db.now(), (datetime.now(UTC) + timedelta(
                             minutes=1)).isoformat(timespec="seconds")))
        token = next(c["value"] for c in kiosk_ctx.cookies() if c["name"] == "motcua_login")
        again = kiosk.request.post(served.url + "/kiosk/danh-gia", form={
            "csrf_token": token, "ho_so": served.code, "muc": "dissatisfied"})
        assert again.status == 409 and "đã được đánh giá" in again.text()
        with closing(db.connect(served.ws.db_path)) as conn:
            rows = conn.execute("SELECT level, channel, returned_by FROM ratings"
                                " WHERE dossier_code = ?", (served.code,)).fetchall()
        assert [tuple(r) for r in rows] == [("satisfied", "kiosk", "Trần Thị Tiếp (tiepnhan)")]

        # A prompt whose time runs out: the kiosk goes back to neutral by itself.
        _prompt(served, device, served.other, seconds=6)
        kiosk.wait_for_selector(f"#kiosk[data-state=prompt] >> text={served.other}",
                                timeout=15_000)
        kiosk.wait_for_selector("#kiosk[data-state=neutral]", timeout=20_000)
        # "Bỏ qua": the citizen declines; neutral at once, the dossier still unrated.
        _prompt(served, device, served.other, seconds=60)
        kiosk.wait_for_selector("#kiosk[data-state=prompt]", timeout=15_000)
        kiosk.locator(".kiosk-skip button").tap()
        kiosk.wait_for_selector("#kiosk[data-state=neutral]", timeout=5_000)
        with closing(db.connect(served.ws.db_path)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM ratings WHERE dossier_code = ?",
                                (served.other,)).fetchone()[0] == 0
    finally:
        for context in (admin_ctx, kiosk_ctx, officer_ctx, leader_ctx):
            context.close()
