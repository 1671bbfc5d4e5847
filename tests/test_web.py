"""The staff web page: real scans through real OCR, real SQLite and index, a real browser."""

from __future__ import annotations

import json
import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from PIL import ImageFilter

with warnings.catch_warnings():  # Starlette nudges towards httpx2; httpx is what we ship
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from motcua import db
from motcua.archive import records
from motcua.index import fold_diacritics
from motcua.ingest import ingest_paths
from motcua.web import allowed_hosts_for, is_loopback
from motcua.web.app import host_name
from motcua.workspace import Workspace, init_workspace
from tests import scans
from tests.web_kit import (
    browser_login,
    chromium,
    client_for,
    http_login,
    make_officers,
    serving,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DOSSIER = "000.00.07.H47-250716-0001"
CITIZEN_ID = "001090012345"
# A file name with markup in it: it must come out escaped everywhere.
FORM_NAME = "Đơn <đề nghị> & giấy tờ.jpg"
MINUTES_NAME = "biên bản họp.pdf"
BLURRED_NAME = "trang mờ.jpg"
BROKEN_NAME = "hỏng.pdf"


@dataclass(frozen=True)
class Archive:
    ws: Workspace
    form_id: int
    minutes_id: int
    blurred_id: int
    form_source: Path


def _conn(ws: Workspace) -> closing[sqlite3.Connection]:
    return closing(db.connect(ws.db_path))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """A workspace holding three real OCR'd scans and one quarantined file."""
    base = tmp_path_factory.mktemp("web")
    ws = init_workspace(base / "ws")
    src = base / "scans"
    (src / DOSSIER).mkdir(parents=True)
    form = scans.render_page(
        "clean", 11, max_lines=4, extra_lines=[f"Số định danh cá nhân: {CITIZEN_ID}"],
        paragraphs=["Bộ phận Một cửa tiếp nhận hồ sơ, kiểm tra tính đầy đủ, hợp lệ của "
                    "thành phần hồ sơ và hướng dẫn tổ chức, cá nhân bổ sung."])
    form_path = scans.write_jpeg(form, src / DOSSIER / FORM_NAME)
    minutes = scans.render_page(
        "clean", 12, header=False, max_lines=3,
        paragraphs=["Quỹ khuyến học của xã trao thưởng cho học sinh giỏi, vượt khó; ghi "
                    "nhận đóng góp của nhiều gia đình, dòng họ trên địa bàn."])
    minutes_path = scans.write_pdf([minutes], src / MINUTES_NAME)
    # A page too blurred to read: real OCR gives it a low confidence.
    blurred = scans.render_page("clean", 13, max_lines=3).image.filter(ImageFilter.GaussianBlur(6))
    blurred_path = src / DOSSIER / BLURRED_NAME
    blurred.save(blurred_path, format="JPEG", quality=60, dpi=(300, 300))
    broken = src / BROKEN_NAME
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R")

    with _conn(ws) as conn, db.transaction(conn):  # the counter issued the folder's code
        records.ensure_dossier(conn, DOSSIER)
    outcomes = ingest_paths(ws, [form_path, minutes_path, blurred_path, broken])
    by_name = {Path(o.source).name: o for o in outcomes}
    assert by_name[BROKEN_NAME].state == "quarantined"
    for name in (FORM_NAME, MINUTES_NAME, BLURRED_NAME):
        assert by_name[name].state == "done", by_name[name]
    ids = {name: by_name[name].document_id for name in (FORM_NAME, MINUTES_NAME, BLURRED_NAME)}
    assert all(ids.values())
    return Archive(ws, ids[FORM_NAME] or 0, ids[MINUTES_NAME] or 0, ids[BLURRED_NAME] or 0,
                   form_path)


# The officer the page-level tests act as: counter and specialist roles, so every page
# but the administrator's opens, with ID numbers in full.
CLERK = {"canbo": (("tiep_nhan", "chuyen_vien"), "Đỗ Thị Cán Bộ")}


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    make_officers(archive.ws, CLERK)
    with client_for(archive.ws, "canbo") as c:
        yield c


def _officer_client(ws: Workspace) -> TestClient:
    make_officers(ws, CLERK)
    return client_for(ws, "canbo")


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


# ---- search ---------------------------------------------------------------------


def test_home_lists_recent_documents_in_vietnamese(client: TestClient, archive: Archive) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="vi">' in r.text and '<meta charset="utf-8">' in r.text
    assert "Tìm kiếm tài liệu" in r.text and "Tài liệu mới số hóa" in r.text
    assert str(escape(FORM_NAME)) in r.text
    assert "Cần quét lại 1 trang" in r.text  # the blurred page
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("query", ["ho so", "hồ sơ", "HO SO"])
def test_search_without_diacritics_highlights_matches(client: TestClient, query: str) -> None:
    r = client.get("/", params={"q": query})
    assert r.status_code == 200
    assert str(escape(FORM_NAME)) in r.text
    assert f"Hồ sơ <a href=\"/dossiers/{DOSSIER}\">{DOSSIER}</a>" in r.text
    found = marks(r.text)
    assert found and {fold_diacritics(m.lower()) for m in found} <= {"ho", "so"}
    assert "hồ" in [m.lower() for m in found]  # the snippet shows the page's own diacritics


def test_search_place_name_and_filters(client: TestClient, archive: Archive) -> None:
    r = client.get("/", params={"q": "gia loc"})
    assert {fold_diacritics(m.lower()) for m in marks(r.text)} == {"gia", "loc"}
    assert str(escape(FORM_NAME)) in r.text
    assert MINUTES_NAME not in r.text  # no header on that page

    only_dossier = client.get("/", params={"q": "", "dossier": DOSSIER}).text
    assert str(escape(FORM_NAME)) in only_dossier and BLURRED_NAME in only_dossier
    assert MINUTES_NAME not in only_dossier

    owner = client.get("/", params={"owner": CITIZEN_ID}).text
    assert str(escape(FORM_NAME)) in owner and BLURRED_NAME not in owner

    today = date.today()
    later = client.get("/", params={"q": "khuyen hoc",
                                    "from": (today + timedelta(days=2)).isoformat()})
    assert "Không tìm thấy kết quả nào" in later.text
    # Both forms are taken; the box shows the day back as clerks write it.
    tomorrow = today + timedelta(days=1)
    within = client.get("/", params={"q": "khuyen hoc", "from": (today - timedelta(days=2))
                                     .isoformat(), "to": tomorrow.strftime("%d/%m/%Y")})
    assert MINUTES_NAME in within.text
    assert "Tìm thấy 1 tài liệu phù hợp" in within.text
    assert f'name="to" value="{tomorrow.strftime("%d/%m/%Y")}"' in within.text
    assert 'type="date"' not in within.text


def test_search_rejects_bad_dates_politely(client: TestClient) -> None:
    r = client.get("/", params={"q": "ho so", "from": "31/02/2025"})
    assert r.status_code == 400
    assert "Ngày bắt đầu “31/02/2025”: ngày không tồn tại." in r.text
    r = client.get("/", params={"q": "ho so", "from": "2025-07-20", "to": "2025-07-01"})
    assert r.status_code == 400 and "Ngày bắt đầu đang sau ngày kết thúc" in r.text


def test_leader_sees_masked_ids_in_snippets(archive: Archive) -> None:
    """Lãnh đạo has no view_ids: the number found by OCR on the form is masked in the
    search snippet, the document's text and its identifier list."""
    make_officers(archive.ws, {"lanhdao-web": (("lanh_dao",), "Vũ Văn Lãnh")})
    masked = CITIZEN_ID[:4] + "******" + CITIZEN_ID[-2:]
    with client_for(archive.ws, "lanhdao-web") as leader:
        found = leader.get("/", params={"q": "so dinh danh ca nhan"})
        assert found.status_code == 200 and str(escape(FORM_NAME)) in found.text
        # (The search box's placeholder happens to show this very number as an example.)
        shown = re.sub(r'placeholder="[^"]*"', "", found.text)
        assert CITIZEN_ID not in shown and masked in shown
        page = leader.get(f"/documents/{archive.form_id}").text
        assert CITIZEN_ID not in page and f"<code>{masked}</code>" in page
        assert leader.get("/status").status_code == 403


def test_search_escapes_the_query(client: TestClient) -> None:
    r = client.get("/", params={"q": '"><script>alert(1)</script>'})
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text
    assert "Không tìm thấy kết quả nào" in r.text


# ---- documents and downloads ----------------------------------------------------


def test_document_page(client: TestClient, archive: Archive) -> None:
    r = client.get(f"/documents/{archive.form_id}")
    assert r.status_code == 200
    html = r.text
    assert "<đề nghị>" not in html
    assert f'<h1 class="doc-title">{escape(FORM_NAME)}</h1>' in html
    with _conn(archive.ws) as conn:
        doc = records.by_id(conn, archive.form_id)
        pages = records.pages_of(conn, archive.form_id)
        idents = records.identifiers_of(conn, archive.form_id)
    assert doc is not None
    assert doc["sha256"] in html and doc["archival_sha256"] in html
    assert f'href="/dossiers/{DOSSIER}"' in html and "theo thư mục nhận" in html
    assert f'href="/documents/{archive.form_id}/original"' in html
    assert f'href="/documents/{archive.form_id}/archival"' in html
    for page in pages:
        assert f'id="trang-{page["page_no"]}"' in html
        assert f"{page['confidence']:.1f}%".replace(".", ",") in html
    assert "Cần quét lại" not in html
    assert CITIZEN_ID in [i["value"] for i in idents]
    assert f"<code>{CITIZEN_ID}</code>" in html and "Số định danh cá nhân" in html


def test_blurred_page_is_flagged_for_rescan(client: TestClient, archive: Archive) -> None:
    html = client.get(f"/documents/{archive.blurred_id}").text
    assert "⚠ Cần quét lại" in html
    assert "trang 1: độ tin cậy nhận dạng chữ dưới ngưỡng 70" in html


def test_downloads_serve_store_files_with_types(client: TestClient, archive: Archive) -> None:
    original = client.get(f"/documents/{archive.form_id}/original")
    assert original.status_code == 200
    assert original.headers["content-type"] == "image/jpeg"
    assert original.content == archive.form_source.read_bytes()
    disposition = original.headers["content-disposition"]
    assert disposition.startswith("inline; filename*=utf-8''")
    assert "%C4%90%C6%A1n%20%3C" in disposition  # "Đơn <" percent-encoded
    archival = client.get(f"/documents/{archive.form_id}/archival")
    assert archival.headers["content-type"] == "application/pdf"
    assert archival.content.startswith(b"%PDF-")
    assert archival.headers["x-content-type-options"] == "nosniff"
    minutes = client.get(f"/documents/{archive.minutes_id}/original")
    assert minutes.headers["content-type"] == "application/pdf"
    # The ingest stamped it "BẢN SỐ HÓA".
    stamped = client.get(f"/documents/{archive.form_id}/stamped")
    assert stamped.status_code == 200 and stamped.content.startswith(b"%PDF-")
    # A document whose stamp could not be made: a polite 404, not a crash.
    with _conn(archive.ws) as conn:
        row = conn.execute("SELECT * FROM stamps WHERE document_id = ?",
                           (archive.form_id,)).fetchone()
        assert stamped.content == archive.ws.absolute(row["stamped_path"]).read_bytes()
        conn.execute("DELETE FROM stamps WHERE document_id = ?", (archive.form_id,))
        conn.commit()
        try:
            missing = client.get(f"/documents/{archive.form_id}/stamped")
            assert missing.status_code == 404
            assert "Không tìm thấy bản có dấu số hóa" in missing.text
        finally:
            conn.execute(f"INSERT INTO stamps ({', '.join(row.keys())}) VALUES"
                         f" ({', '.join('?' * len(row.keys()))})", tuple(row))
            conn.commit()
    with _conn(archive.ws) as conn:
        views = conn.execute("SELECT details FROM audit_log WHERE action = 'download'"
                             " AND subject = ?", (f"document:{archive.form_id}",)).fetchall()
    assert len(views) >= 2
    assert {json.loads(v[0])["file"] for v in views} >= {"original", "archival"}
    # A PDF viewer's later byte ranges and HEAD requests are not new views.
    part = client.get(f"/documents/{archive.form_id}/archival", headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    client.head(f"/documents/{archive.form_id}/archival")
    with _conn(archive.ws) as conn:
        again = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'download'"
                             " AND subject = ?", (f"document:{archive.form_id}",)).fetchone()[0]
    assert again == len(views)


@pytest.mark.parametrize("path", [
    "/documents/1/..%2f..%2fmotcua.db",
    "/documents/1/%2e%2e",
    "/documents/1/passwd",
    "/documents/999999",
    "/documents/999999/original",
    "/documents/abc/original",
    "/static/..%2fapp.py",
    "/static/%2e%2e/%2e%2e/motcua.toml",
    "/dossiers/..%2f..%2fmotcua.db",
])
def test_traversal_and_unknown_paths_are_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "SQLite format" not in r.text and "[agency]" not in r.text and "import" not in r.text


def test_only_files_inside_the_store_are_served(tmp_path: Path) -> None:
    """Rows pointing outside the store (a tampered database) or a symlink out of it."""
    ws = init_workspace(tmp_path / "ws")
    secret = tmp_path / "secret.txt"
    secret.write_text("bí mật")
    link = ws.store / "originals" / "ab" / "link.pdf"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    scratch = ws.tmp / "partial.pdf"
    scratch.write_bytes(b"%PDF-1.4 partial")
    targets = ["../secret.txt", str(secret), "motcua.db", "store/originals/ab/link.pdf",
               "store/tmp/partial.pdf", "store/originals"]
    with _conn(ws) as conn, db.transaction(conn):
        ids = [records.insert_stored(conn, sha256=f"{n:064x}", original_name="x.pdf",
                                     media_type="application/pdf", size=1, original_path=p)
               for n, p in enumerate(targets)]
    with _officer_client(ws) as c:
        for document_id in ids:
            r = c.get(f"/documents/{document_id}/original")
            assert r.status_code == 404, targets[ids.index(document_id)]
            assert "bí mật" not in r.text
            page = c.get(f"/documents/{document_id}")
            assert page.status_code == 200 and "Thiếu bản gốc trong kho" in page.text


def test_warehouse_details_are_shown(tmp_path: Path) -> None:
    """Owner, dossier details, a result's metadata and its stamped copy (issue 4 tables)."""
    ws = init_workspace(tmp_path / "ws")
    pdf = ws.store / "archival" / "cd" / "kq.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.7\n% result\n")
    rel = ws.relative(pdf)
    now = db.now()
    with _conn(ws) as conn, db.transaction(conn):
        conn.execute("INSERT INTO owners (id, kind, name, created_at) VALUES (?, ?, ?, ?)",
                     (CITIZEN_ID, "citizen", "Nguyễn Văn Hưởng", now))
        records.ensure_dossier(conn, DOSSIER)
        conn.execute("UPDATE dossiers SET procedure_code = ?, procedure_name = ?, field = ?,"
                     " channel = ?, owner_id = ?, received_at = ? WHERE code = ?",
                     ("1.001193", "Đăng ký khai sinh", "Hộ tịch", "direct", CITIZEN_ID,
                      "2025-07-16T02:00:00+00:00", DOSSIER))
        doc_id = records.insert_stored(conn, sha256="c" * 64, original_name="kết quả.pdf",
                                       media_type="application/pdf", size=20, original_path=rel)
        records.assign_dossier(conn, doc_id, DOSSIER, "manual")
        conn.execute("INSERT INTO document_meta (document_id, role, type_code, owner_id, name,"
                     " number_symbol, valid_to, result_code, result_no, updated_at)"
                     " VALUES (?, 'result', 'GKS', ?, 'Giấy khai sinh', '12/2025/KS', '2030-12-31',"
                     " ?, 1, ?)", (doc_id, CITIZEN_ID, f"{DOSSIER}-KQ1", now))
        conn.execute("INSERT INTO stamps (document_id, kind, stamped_path, stamped_sha256,"
                     " fields_json, operator, stamped_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
                     (doc_id, "result", rel, "d" * 64, "Lê Thị Hoa", now))
    with _officer_client(ws) as c:
        html = c.get(f"/documents/{doc_id}").text
        assert "Kết quả giải quyết" in html and f"{DOSSIER}-KQ1" in html
        assert "Nguyễn Văn Hưởng" in html and "12/2025/KS" in html and "đến 31/12/2030" in html
        assert "Tải bản có dấu số hóa" in html and "Lê Thị Hoa" in html
        stamped = c.get(f"/documents/{doc_id}/stamped")
        assert stamped.status_code == 200 and stamped.content == pdf.read_bytes()
        assert "%20%28b%E1%BA%A3n%20s%E1%BB%91%20h%C3%B3a%29.pdf" in \
            stamped.headers["content-disposition"]
        dossier = c.get(f"/dossiers/{DOSSIER}").text
        assert "Đăng ký khai sinh" in dossier and "Hộ tịch" in dossier
        assert "Trực tiếp" in dossier and "Công dân" in dossier
        assert f"<code>{DOSSIER}-KQ1</code>" in dossier and "Giấy khai sinh" in dossier
        listing = c.get("/dossiers").text
        assert "Đăng ký khai sinh" in listing and "16/07/2025" in listing


# ---- dossiers, status, errors -------------------------------------------------------


def test_dossier_pages(client: TestClient, archive: Archive) -> None:
    r = client.get(f"/dossiers/{DOSSIER}")
    assert r.status_code == 200
    assert str(escape(FORM_NAME)) in r.text and BLURRED_NAME in r.text
    assert MINUTES_NAME not in r.text
    assert "Cần quét lại 1 trang" in r.text
    listing = client.get("/dossiers").text
    assert f'href="/dossiers/{DOSSIER}"' in listing
    assert "Tài liệu chưa gán hồ sơ" in listing
    assert MINUTES_NAME in client.get("/documents", params={"unassigned": "1"}).text
    missing = client.get("/dossiers/000.00.07.H47-250716-9999")
    assert missing.status_code == 404
    assert "Không có hồ sơ mã 000.00.07.H47-250716-9999." in missing.text


def test_status_page(client: TestClient, archive: Archive) -> None:
    html = client.get("/status").text
    with _conn(archive.ws) as conn:
        reason = conn.execute("SELECT reason_vi FROM intake WHERE state = 'quarantined'"
                              ).fetchone()[0]
    assert reason and str(escape(reason)) in html
    assert BROKEN_NAME in html and "Tệp bị cách ly gần đây" in html
    assert re.search(r"<td>Đã lưu trữ</td><td class=\"num\">3</td>", html)
    assert re.search(r"<td>Đã cách ly</td><td class=\"num\">1</td>", html)
    assert f'href="/documents/{archive.blurred_id}#trang-1"' in html
    assert "Không có tệp nào đang chờ." in html


def test_empty_workspace_is_polite(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "empty")
    with _officer_client(ws) as c:
        assert "Chưa có tài liệu nào." in c.get("/").text
        r = c.get("/", params={"q": "hồ sơ"})
        assert "Không tìm thấy kết quả nào" in r.text and "Chưa có tài liệu nào trong kho" in r.text
        assert "Chưa có hồ sơ nào." in c.get("/dossiers").text
        status = c.get("/status").text
        assert "Không có tệp nào bị cách ly." in status
        assert "Không có trang nào cần quét lại." in status


def test_unknown_host_is_refused(client: TestClient) -> None:
    r = client.get("/", headers={"host": "attacker.example"})
    assert r.status_code == 400 and "không được phép" in r.text
    assert client.get("/", headers={"host": "localhost:8080"}).status_code == 200
    assert client.get("/", headers={"host": "[::1]:8080"}).status_code == 200
    assert host_name("[::1]:8080") == "::1" and host_name("LocalHost") == "localhost"


def test_allowed_hosts_follow_the_bind_address() -> None:
    assert allowed_hosts_for("127.0.0.1") == ["127.0.0.1", "localhost", "::1"]
    assert allowed_hosts_for("192.168.1.20", ["MotCua-PC"]) == [
        "127.0.0.1", "localhost", "::1", "192.168.1.20", "motcua-pc"]
    assert allowed_hosts_for("0.0.0.0") == ["*"]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


def test_not_found_page_is_vietnamese(client: TestClient) -> None:
    r = client.get("/khong-co")
    assert r.status_code == 404
    assert '<html lang="vi">' in r.text and "Không tìm thấy trang" in r.text


def test_serve_help() -> None:
    from click.testing import CliRunner

    from motcua.cli import main

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "127.0.0.1" in result.output


# ---- a real browser against `motcua serve` -------------------------------------------


@pytest.fixture(scope="module")
def server(archive: Archive) -> Iterator[str]:
    """`motcua serve` in its own process, as staff would run it."""
    make_officers(archive.ws, CLERK)
    with serving(archive.ws) as url:
        yield url


def test_browser_search_and_document(server: str, archive: Archive, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = chromium(sync_api, p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          locale="vi-VN")
            page = context.new_page()
            browser_login(page, server, "canbo")
            page.wait_for_selector("#q")
            page.goto(server + "/")
            assert page.locator("html").get_attribute("lang") == "vi"
            page.screenshot(path=str(ARTIFACTS / "web-home.png"), full_page=True)

            page.fill("#q", "ho so")
            page.click("form.search button[type=submit]")
            page.wait_for_selector("ol.hits li.hit")
            first = page.locator("ol.hits li.hit").first
            assert first.locator("h3 a").inner_text() == FORM_NAME
            highlighted = [fold_diacritics(t.lower())
                           for t in first.locator("mark").all_inner_texts()]
            assert highlighted and set(highlighted) <= {"ho", "so"}
            assert page.input_value("#q") == "ho so"
            page.screenshot(path=str(ARTIFACTS / "web-search.png"), full_page=True)

            page.fill("#q", "")
            page.fill("#owner", CITIZEN_ID)
            # typed as clerks write it, in a text box: not the browser's mm/dd/yyyy picker
            assert page.get_attribute("#from", "type") == "text"
            typed = date.today().strftime("%d/%m/%Y")
            page.fill("#from", typed)
            page.click("form.search button[type=submit]")
            page.wait_for_selector("ol.hits li.hit")
            assert page.locator("ol.hits li.hit").count() == 1
            assert page.input_value("#from") == typed
            page.fill("#owner", "")
            page.fill("#from", "")

            page.fill("#q", "gia loc")
            page.press("#q", "Enter")
            page.wait_for_url(re.compile(r"q=gia\+loc"))
            marked = {fold_diacritics(t.lower()) for t in page.locator("ol.hits mark")
                      .all_inner_texts()}
            assert marked == {"gia", "loc"}

            page.locator("ol.hits h3 a", has_text=FORM_NAME).first.click()
            page.wait_for_selector("h1.doc-title")
            assert page.locator("h1.doc-title").inner_text() == FORM_NAME
            assert page.locator("table.pages tbody tr").count() >= 1
            page.get_by_text("Xem chữ nhận dạng").first.click()
            assert "tiếp nhận" in page.locator("pre.ocr-text").first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "web-document.png"), full_page=True)
            with page.expect_download() as download_info:
                page.evaluate("""() => {
                    const a = document.querySelector('a[href$="/original"]');
                    a.setAttribute('download', ''); a.click(); }""")
            saved = tmp_path / "downloaded"
            download_info.value.save_as(saved)
            assert saved.read_bytes() == archive.form_source.read_bytes()

            page.goto(server + f"/documents/{archive.blurred_id}")
            assert page.locator(".badge.warn", has_text="Cần quét lại").count() == 1
            page.screenshot(path=str(ARTIFACTS / "web-rescan.png"), full_page=True)

            page.goto(server + f"/dossiers/{DOSSIER}")
            page.screenshot(path=str(ARTIFACTS / "web-dossier.png"), full_page=True)
            page.goto(server + "/status")
            assert BROKEN_NAME in page.locator("ul.quarantine").inner_text()
            page.screenshot(path=str(ARTIFACTS / "web-status.png"), full_page=True)

            # A narrow phone-sized screen.
            phone_context = browser.new_context(viewport={"width": 390, "height": 844},
                                                locale="vi-VN")
            phone = phone_context.new_page()
            browser_login(phone, server, "canbo")
            phone.wait_for_selector("#q")
            phone.goto(server + "/?q=h%E1%BB%93+s%C6%A1")
            phone.wait_for_selector("ol.hits li.hit")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"page overflows a narrow screen: {width}px"
            phone.screenshot(path=str(ARTIFACTS / "web-narrow.png"), full_page=True)
            for path in (f"/documents/{archive.form_id}", "/status", f"/dossiers/{DOSSIER}"):
                phone.goto(server + path)
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{path} overflows a narrow screen: {width}px"
            phone.goto(server + f"/documents/{archive.form_id}")
            phone.screenshot(path=str(ARTIFACTS / "web-narrow-document.png"), full_page=True)
        finally:
            browser.close()


def test_server_sees_documents_archived_by_another_process(server: str, archive: Archive,
                                                           tmp_path: Path) -> None:
    """The server is one process, this test another: a new document is found at once."""
    query = {"q": "thửa đất"}
    with closing(http_login(server, "canbo")) as officer:
        before = officer.get("/", params=query)
        assert "Không tìm thấy kết quả nào" in before.text
        page = scans.render_page("clean", 14, header=False, max_lines=2, paragraphs=[
            "Mỗi thửa đất được cấp một Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở."])
        path = scans.write_pdf([page], tmp_path / "giấy chứng nhận.pdf")
        [outcome] = ingest_paths(archive.ws, [path])
        assert outcome.state == "done"
        after = officer.get("/", params={"q": "thua dat"})
        assert "giấy chứng nhận.pdf" in after.text
        assert {fold_diacritics(m.lower()) for m in marks(after.text)} == {"thua", "dat"}
