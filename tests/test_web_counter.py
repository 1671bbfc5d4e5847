"""The counter's day in Debian's Chromium (Playwright) against a real `motcua serve`: the
desk, receiving a dossier with a new citizen, form 02 then form 01, the result, a late
dossier and its apology letter (form 04). The forms are real PDFs (LibreOffice), read
back with pdftotext."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from motcua import db
from motcua.archive import audit
from motcua.services import counter, open_context
from motcua.workspace import Workspace, init_workspace, load_workspace
from tests.web_kit import ADMIN_ACTOR, ROOT, browser_login, make_officers, serving

sync_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = ROOT / "test-artifacts"
NEW_CITIZEN = "030185001234"
LATE_OWNER = "001090054321"


@dataclass(frozen=True)
class Served:
    ws: Workspace
    url: str
    late_code: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    ws = init_workspace(tmp_path_factory.mktemp("counter") / "ws")
    make_officers(ws)
    with open_context(ws, ADMIN_ACTOR) as ctx:
        counter.add_owner(ctx, LATE_OWNER, "Đỗ Thị Muộn")
        # Received a month ago, 3 working days to resolve: late today.
        at = (datetime.now(ctx.zone) - timedelta(days=30)).strftime("%d/%m/%Y 09:00")
        late = counter.receive(ctx, "1.004873", LATE_OWNER, "direct", at=at,
                               print_receipt=False)
    with serving(ws) as url:
        yield Served(ws, url, late.record["code"])


def _page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _pdf_text(page: Any, href: str, tmp: Path) -> str:
    """The form the link opens, fetched with the officer's session, as text."""
    origin = "/".join(page.url.split("/", 3)[:3])  # scheme://host:port
    got = page.request.get(origin + href)
    assert got.status == 200 and got.headers["content-type"] == "application/pdf"
    body = got.body()
    assert body.startswith(b"%PDF-")
    path = tmp / "form.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _listed(form01: str) -> list[tuple[str, str, int]]:
    """The numbered lines "N. name (hình thức; số lượng: NN)." of the first copy."""
    first = form01.split("Liên 2")[0]
    return [(m.group(1), m.group(2), int(m.group(3))) for m in re.finditer(
        r"^\s*\d+\. (.+) \((bản [^;]+); số lượng: (\d+)\)\.$", first, re.MULTILINE)]


def _entries(ws: Workspace, subject: str) -> list[audit.AuditEntry]:
    with closing(db.connect(ws.db_path)) as conn:
        return list(audit.entries(conn, subject))


def test_receive_new_citizen_form02_then_form01_then_resolve(served: Served, browser: Any,
                                                             tmp_path: Path) -> None:
    page = _page(browser)
    browser_login(page, served.url, "tiepnhan")
    # A counter officer lands on the desk.
    page.wait_for_url(served.url + "/ban-lam-viec")
    assert page.locator("h1").inner_text().startswith("Bàn làm việc")
    assert page.locator("#dem-qua-han").inner_text() == "1"
    _shot(page, "counter-desk")

    page.click("nav >> text=Tiếp nhận")
    page.wait_for_url(served.url + "/tiep-nhan")
    # The procedure list follows what is typed (htmx), without diacritics too.
    page.fill("#tim-thu-tuc", "ket hon")
    sync_api.expect(page.locator("#ds-thu-tuc li")).to_have_count(1)
    page.click("#ds-thu-tuc >> text=Đăng ký kết hôn")
    page.wait_for_selector("form.receive-form")

    # A wrong ID is refused as typed, with the CLI's message.
    page.fill("#owner_id", "03018500123")
    page.wait_for_selector("#chu-ho-so-ket-qua .notice.error")
    page.fill("#owner_id", NEW_CITIZEN)
    page.wait_for_selector("#chu-ho-so-ket-qua .notice.warn")
    page.fill("#owner_name", "Nguyễn Văn An")
    page.fill("#address", "Thôn Đông, xã Gia Lộc")
    page.fill("#phone", "0912345678")
    page.check("#nhan-to_khai_ket_hon")
    page.check("#nhan-cccd")
    page.select_option("select[name=hinh_thuc_cccd]", "Bản sao")
    _shot(page, "counter-receive")
    page.click("form.receive-form button[type=submit]")

    # Two of three: form 02 asks for the third.
    page.wait_for_selector("#mo-phieu")
    code = page.locator(".code-title").inner_text()
    assert "Mẫu 02" in page.locator("#mo-phieu").inner_text()
    assert page.locator("#trang-thai").inner_text() == "đang giải quyết"
    _shot(page, "counter-form02")
    form02 = _flat(_pdf_text(page, page.locator("#mo-phieu").get_attribute("href"), tmp_path))
    assert code in form02 and "Giấy xác nhận tình trạng hôn nhân" in form02
    assert "Nguyễn Văn An" in form02

    # The citizen brings the missing paper: form 01 lists exactly what was received.
    page.check("#nhan-xac_nhan_tinh_trang_hon_nhan")
    page.click("#nhan-bo-sung")
    page.wait_for_selector("#mo-phieu >> text=Mẫu 01")
    form01 = _pdf_text(page, page.locator("#mo-phieu").get_attribute("href"), tmp_path)
    assert _listed(form01) == [("Tờ khai đăng ký kết hôn", "bản chính", 1),
                               ("Thẻ Căn cước / Căn cước công dân", "bản sao", 1),
                               ("Giấy xác nhận tình trạng hôn nhân", "bản chính", 1)], form01
    assert code in form01 and "Liên 2" in form01
    assert "Còn thiếu" not in page.locator("main").inner_text()
    _shot(page, "counter-form01")

    # The desk finds the dossier by the citizen's name typed without diacritics.
    page.goto(served.url + "/ban-lam-viec")
    page.fill("#q", "nguyen van an")
    page.press("#q", "Enter")
    page.wait_for_selector(f"table >> text={code}")
    page.click(f"table >> text={code}")
    page.wait_for_selector(".code-title")

    # The result PDF, through the same service as `motcua resolve`.
    result = tmp_path / "giay-chung-nhan-ket-hon.pdf"
    from tests import scans
    scans.write_pdf([scans.render_page("clean", 5, max_lines=3)], result)
    page.set_input_files("#ket_qua", str(result))
    page.click("#tra-ket-qua")
    page.wait_for_selector(".notice.ok >> text=Đã lưu kết quả")
    assert page.locator("#trang-thai").inner_text() in ("trước hạn", "đúng hạn")
    assert page.locator("table >> text=Kết quả").count() >= 1
    _shot(page, "counter-resolved")
    actions = [e.action for e in _entries(served.ws, f"dossier:{code}")]
    assert "dossier.receive" in actions and "dossier.resolve" in actions
    assert actions.count("dossier.papers") == 2
    with closing(db.connect(served.ws.db_path)) as conn:
        owner = conn.execute("SELECT name, address, phone FROM owners WHERE id = ?",
                             (NEW_CITIZEN,)).fetchone()
    assert tuple(owner) == ("Nguyễn Văn An", "Thôn Đông, xã Gia Lộc", "0912345678")


def test_late_dossier_on_the_desk_and_form04(served: Served, browser: Any,
                                             tmp_path: Path) -> None:
    page = _page(browser)
    browser_login(page, served.url, "tiepnhan")
    page.wait_for_url(served.url + "/ban-lam-viec")
    row = page.locator("tr.late-row", has_text=served.late_code)
    assert row.count() == 1 and "quá hạn" in row.inner_text()
    row.locator("button").click()
    page.wait_for_selector("#mo-phieu >> text=Mẫu 04")
    assert page.locator("#trang-thai").inner_text() == "quá hạn"
    _shot(page, "counter-form04")
    letter = _flat(_pdf_text(page, page.locator("#mo-phieu").get_attribute("href"), tmp_path))
    assert served.late_code in letter and "Đỗ Thị Muộn" in letter
    assert page.locator("#lap-thu-xin-loi").count() == 0  # one letter per dossier
    # A second click never makes a second letter: the desk now says it is done.
    page.goto(served.url + "/ban-lam-viec")
    assert "Đã lập" in page.locator("tr.late-row", has_text=served.late_code).inner_text()


def test_notes_carry_author_and_an_empty_one_is_refused(served: Served, browser: Any) -> None:
    page = _page(browser)
    browser_login(page, served.url, "tiepnhan")
    page.wait_for_url(served.url + "/ban-lam-viec")
    page.goto(served.url + f"/dossiers/{served.late_code}")
    page.click("form.action >> text=Lưu ghi chú")
    assert page.locator(".notice.error").inner_text() == "Ghi chú đang trống."
    page.fill("#ghi_chu", "Công dân hẹn quay lại chiều thứ Sáu.")
    page.click("form.action >> text=Lưu ghi chú")
    page.wait_for_selector(".notes >> text=Công dân hẹn quay lại chiều thứ Sáu.")
    assert "Trần Thị Tiếp (tiepnhan)" in page.locator(".notes").inner_text()


def test_one_click_attaches_a_document_the_warehouse_proposed(tmp_path: Path) -> None:
    """`auto_reuse = "propose"`: a new dossier lists the owner's valid ID card (scanned for
    an earlier dossier) as a proposal; the counter officer attaches it with one click (a POST with
    the CSRF token), it is then attached and audited, and the button is gone."""
    from motcua.ingest import ingest_paths
    from motcua.services import documents
    from tests.intake_kit import tiny_scan
    from tests.web_kit import CITIZEN_ID, client_for

    ws = init_workspace(tmp_path / "ws")
    with (ws.root / "motcua.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[warehouse]\nauto_reuse = "propose"\n')
    ws = load_workspace(ws.root)
    scan = ws.inbox / "can-cuoc.jpg"
    scan.write_bytes(tiny_scan(5, "Thẻ căn cước"))
    [archived] = ingest_paths(ws, [scan])
    assert archived.document_id is not None
    doc_id = archived.document_id
    make_officers(ws)
    with open_context(ws, ADMIN_ACTOR) as ctx:
        counter.add_owner(ctx, CITIZEN_ID, "Nguyễn Văn Hưởng")
        documents.set_meta(ctx, str(doc_id), {
            "type_code": "cccd", "owner_id": CITIZEN_ID,
            "name": "Thẻ căn cước Nguyễn Văn Hưởng", "issue_date": "05/01/2022"})
        made = counter.new_dossier(ctx, "1.000894", CITIZEN_ID)
    code = made.dossier["code"]
    with client_for(ws, "tiepnhan") as client:
        page = client.get(f"/dossiers/{code}").text
        assert "Đề xuất" in page and "Gắn vào hồ sơ" in page
        token = client.csrf  # type: ignore[attr-defined]
        r = client.post(f"/dossiers/{code}/tai-su-dung", follow_redirects=False,
                        data={"doc": str(doc_id), "csrf_token": token})
        assert r.status_code == 303, r.text
        after = client.get(r.headers["location"]).text
        assert "Đã gắn giấy tờ từ kho vào hồ sơ" in after
        assert "Gắn vào hồ sơ" not in after and "Đã gắn" in after
    with closing(db.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT status FROM reuses WHERE dossier_code = ? AND"
                            " document_id = ?", (code, doc_id)).fetchone()[0] == "attached"
        assert any(e.action.startswith("reuse") for e in audit.entries(conn))
