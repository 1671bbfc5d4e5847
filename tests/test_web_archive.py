"""The archive's pages in Debian's Chromium against a real `motcua serve`, with a real
`motcua watch` taking the uploads through the pipeline (Tesseract, PDF/A, stamp): an
officer drops a 3-page scan on a dossier and sees it archived with thumbnails; a
chuyên viên edits the metadata and the stamped copy's QR carries it; a lãnh đạo
downloads the quarterly report; roles that must not reach a page do not. Plus the
upload's size limit and the quarantine's retry/dismiss, in-process."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from motcua import db
from motcua.archive.stamp import parse_qr_text
from motcua.services import intake, open_context
from motcua.workspace import Workspace, find_workspace, init_workspace
from tests import scans
from tests.web_kit import (
    ADMIN_ACTOR,
    CITIZEN_ID,
    DOSSIER,
    ROOT,
    browser_login,
    client_for,
    make_officers,
    serving,
    small_archive,
)

pytest.importorskip("playwright.sync_api")  # the whole module drives a browser
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 768}
ARCHIVE_WAIT_MS = 240_000  # OCR of three pages on a shared, loaded machine


@dataclass
class Site:
    ws: Workspace
    url: str
    scan: Path
    archived: dict[str, int]


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"archive-{name}.png"), full_page=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("archive")
    ws = init_workspace(base / "ws")
    make_officers(ws)
    small_archive(ws)
    scan = base / "giay-khai-sinh.pdf"
    scans.write_pdf(scans.render_document(3, "clean", 7, max_lines=6,
                                          extra_lines=["GIẤY KHAI SINH"]), scan)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "motcua", "--workspace", str(ws.root), "watch",
         "--stable-seconds", "1", "--no-poll"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with serving(ws) as url:
            yield Site(ws, url, scan, {})
    finally:
        watcher.terminate()
        try:
            watcher.wait(timeout=20)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait()


def _page(browser: Any, site: Site, login: str) -> Any:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    browser_login(page, site.url, login)
    # A counter officer lands on the desk, everyone else on the search page.
    page.wait_for_url(lambda url: url in (site.url + "/", site.url + "/ban-lam-viec"))
    return page


def test_drop_a_scan_on_a_dossier_and_see_it_archived(site: Site, browser: Any) -> None:
    page = _page(browser, site, "tiepnhan")
    page.goto(f"{site.url}/upload?dossier={DOSSIER}")
    assert "Chưa có trình theo dõi" not in page.content()  # the watcher holds the lock
    data = base64.b64encode(site.scan.read_bytes()).decode("ascii")
    transfer = page.evaluate_handle(
        """([b64, name]) => {
            const bin = atob(b64);
            const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: "application/pdf"}));
            return dt;
        }""", [data, site.scan.name])
    page.dispatch_event(".upload-box", "drop", {"dataTransfer": transfer})
    row = page.locator(".upload-list li.upload-row").first
    row.wait_for()
    _shot(page, "upload-started")
    done = page.locator(".upload-row[data-state='done']")
    done.wait_for(timeout=ARCHIVE_WAIT_MS)
    text = done.inner_text()
    assert "đã lưu trữ" in text and "(3 trang)" in text, text
    thumbs = done.locator(".thumbs img")
    assert thumbs.count() == 3
    page.wait_for_function(
        "() => [...document.querySelectorAll('.upload-row .thumbs img')]"
        ".every(i => i.complete && i.naturalWidth > 100)", timeout=60_000)
    _shot(page, "upload-archived")
    href = done.locator("a[href^='/documents/']").first.get_attribute("href")
    assert href
    doc_id = int(href.rsplit("/", 1)[1])
    site.archived["doc"] = doc_id
    # The file came through the inbox folder of the dossier: filed under it, stamped.
    with closing(db.connect(site.ws.db_path)) as conn:
        row_db = conn.execute("SELECT dossier_code, page_count FROM documents WHERE id = ?",
                              (doc_id,)).fetchone()
        assert tuple(row_db) == (DOSSIER, 3)
        assert conn.execute("SELECT 1 FROM stamps WHERE document_id = ?",
                            (doc_id,)).fetchone()
    cached = list((site.ws.root / "cache" / "thumbs").rglob("p*.png"))
    assert len(cached) == 3
    page.goto(f"{site.url}{href}")
    assert page.locator(".thumbs img").count() == 3
    _shot(page, "document")
    page.context.close()


def _qr_fields(pdf: bytes, tmp: Path) -> Any:
    source = tmp / "stamped.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-png", "-singlefile",
                    str(source), str(tmp / "p1")], check=True)
    results = zxingcpp.read_barcodes(Image.open(tmp / "p1.png").convert("L"))
    assert len(results) == 1, results
    return parse_qr_text(results[0].text)


def test_specialist_edits_metadata_and_the_qr_follows(site: Site, browser: Any,
                                                      tmp_path: Path) -> None:
    doc_id = site.archived.get("doc")
    if doc_id is None:
        pytest.skip("needs the archived upload of the previous test")
    page = _page(browser, site, "chuyenvien")
    page.goto(f"{site.url}/documents/{doc_id}")
    page.select_option("#m-type", index=1)
    page.fill("#m-name", "Giấy khai sinh Trần Văn Bình")
    page.fill("#m-number", "123/2026")
    page.fill("#m-owner", CITIZEN_ID)
    page.fill("#m-issue", "05/03/2026")
    page.fill("#m-issuer", "UBND xã Gia Lộc")
    _shot(page, "metadata-form")
    page.click("form.meta-form button[type=submit]")
    page.wait_for_url(f"{site.url}/documents/{doc_id}?xong=meta")
    assert page.locator("h1").inner_text() == "Giấy khai sinh Trần Văn Bình số 123/2026"
    assert page.locator("#m-issue").input_value() == "05/03/2026"
    assert "Sửa thông tin" in page.locator("#lich-su ~ .table-wrap").inner_text()
    _shot(page, "metadata-saved")
    response = page.request.get(f"{site.url}/documents/{doc_id}/stamped")
    assert response.status == 200
    fields = _qr_fields(response.body(), tmp_path)
    assert fields.document_name == "Giấy khai sinh Trần Văn Bình"
    assert fields.owner_id == CITIZEN_ID
    assert fields.dossier_code == DOSSIER
    page.context.close()


def test_leader_downloads_the_quarterly_report(site: Site, browser: Any) -> None:
    page = _page(browser, site, "lanhdao")
    page.click("nav a:has-text('Báo cáo')")
    warning = page.locator(".notice.warn")
    assert "Kỳ báo cáo chưa kết thúc" in warning.inner_text()
    assert page.locator("svg.chart, .empty").count() >= 1
    _shot(page, "reports")
    with page.expect_download() as info:
        page.click("a:has-text('Tải báo cáo (DOCX)')")
    download = info.value
    data = Path(download.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        body = docx.read("word/document.xml").decode("utf-8")
    assert "chưa kết thúc" in body
    with page.expect_download() as info:
        page.click("a:has-text('Tải số liệu (CSV)')")
    assert Path(info.value.path()).read_bytes().strip()
    page.context.close()


def test_roles_that_must_not(site: Site, browser: Any) -> None:
    page = _page(browser, site, "tiepnhan")
    response = page.goto(f"{site.url}/users")
    assert response is not None and response.status == 403
    assert "Không có quyền truy cập" in page.content()
    page.context.close()
    page = _page(browser, site, "lanhdao")
    doc_id = site.archived.get("doc") or 1
    page.goto(f"{site.url}/documents/{doc_id}")
    assert page.locator("form.meta-form").count() == 0
    token = page.locator("input[name=csrf_token]").first.input_value()
    refused = page.request.post(f"{site.url}/documents/{doc_id}/meta",
                                form={"csrf_token": token, "name": "Sửa trái phép"})
    assert refused.status == 403
    _shot(page, "leader-document")
    page.context.close()


# ---- in-process: the size limit, the durable write, quarantine decisions ---------------


def _limited_workspace(base: Path) -> Workspace:
    ws = init_workspace(base / "ws")
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace("upload_max_mb = 200", "upload_max_mb = 1"),
                              encoding="utf-8")
    ws = find_workspace(ws.root)
    make_officers(ws)
    small_archive(ws)
    return ws


def test_upload_limit_and_durable_write(tmp_path: Path) -> None:
    ws = _limited_workspace(tmp_path)
    client = client_for(ws, "tiepnhan")
    big = os.urandom(1024 * 1024 + 10)
    r = client.post("/upload", data={"csrf_token": client.csrf, "dossier": DOSSIER},
                    files={"file": ("lon.pdf", big, "application/pdf")},
                    headers={"x-upload": "1"})
    assert r.status_code == 413
    assert "giới hạn 1 MB" in r.text
    assert not any(p.is_file() for p in ws.inbox.rglob("*"))
    small = scans.write_pdf([scans.render_page("clean", 3, max_lines=2)], tmp_path / "a.pdf")
    r = client.post("/upload", data={"csrf_token": client.csrf, "dossier": DOSSIER},
                    files={"file": ("đơn.pdf", small.read_bytes(), "application/pdf")},
                    headers={"x-upload": "1"})
    assert r.status_code == 200, r.text
    placed = ws.inbox / DOSSIER / "đơn.pdf"
    assert placed.read_bytes() == small.read_bytes()
    assert [p.name for p in (ws.inbox / DOSSIER).iterdir()] == ["đơn.pdf"]  # no temp left
    assert "Chưa có trình theo dõi" in r.text or "chưa có trình theo dõi" in r.text
    # A second file of the same name never replaces the first.
    r = client.post("/upload", data={"csrf_token": client.csrf, "dossier": DOSSIER},
                    files={"file": ("đơn.pdf", b"%PDF-1.4 other", "application/pdf")},
                    headers={"x-upload": "1"})
    assert r.status_code == 200
    assert placed.read_bytes() == small.read_bytes()
    assert (ws.inbox / DOSSIER / "đơn (1).pdf").read_bytes() == b"%PDF-1.4 other"
    # An unknown dossier, a hidden name, no CSRF token: refused, nothing written.
    for data, name, status in (({"dossier": "000.00.07.H47-990101-0009"}, "x.pdf", 400),
                               ({"dossier": DOSSIER}, ".hidden.pdf", 400)):
        r = client.post("/upload", data={"csrf_token": client.csrf, **data},
                        files={"file": (name, b"%PDF-1.4", "application/pdf")})
        assert r.status_code == status, r.text
    r = client.post("/upload", data={"dossier": DOSSIER},
                    files={"file": ("y.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 403
    assert sorted(p.name for p in (ws.inbox / DOSSIER).iterdir()) == ["đơn (1).pdf", "đơn.pdf"]
    # A specialist has no intake permission.
    other = client_for(ws, "chuyenvien")
    r = other.post("/upload", data={"csrf_token": other.csrf},
                   files={"file": ("z.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 403


def test_quarantine_retry_and_dismiss(tmp_path: Path) -> None:
    ws = _limited_workspace(tmp_path)
    (ws.inbox / "hong.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n%%EOF\n")
    (ws.inbox / "hong2.pdf").write_bytes(b"%PDF-1.4\nbroken too\n%%EOF\n")
    with open_context(ws, ADMIN_ACTOR) as ctx:
        outcome = intake.ingest(ctx, [ws.inbox / "hong.pdf", ws.inbox / "hong2.pdf"],
                                incomplete_grace=0)
    assert {o.state for o in outcome.outcomes} == {"quarantined"}
    client = client_for(ws, "tiepnhan")
    client.follow_redirects = False
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "hong.pdf" in page.text and "hong2.pdf" in page.text
    first, second = (o.intake_id for o in outcome.outcomes)
    r = client.post(f"/quarantine/{first}/retry", data={"csrf_token": client.csrf,
                                                        "confirm": "1"})
    assert r.status_code == 303
    assert (ws.inbox / "hong.pdf").is_file()
    r = client.post(f"/quarantine/{second}/dismiss",
                    data={"csrf_token": client.csrf, "confirm": "1", "note": "bản hỏng"})
    assert r.status_code == 303
    kept = [p for p in ws.quarantine.rglob("hong2*.pdf")]
    assert kept, "a dismissed file stays in the quarantine"
    after = client.get("/quarantine").text
    assert "hong.pdf" not in after and "hong2.pdf" not in after
    with closing(db.connect(ws.db_path)) as conn:
        actions = [r[0] for r in conn.execute(
            "SELECT action FROM audit_log WHERE action LIKE 'quarantine_%' ORDER BY seq")]
    assert actions == ["quarantine_retry", "quarantine_dismiss"]
    # Twice is refused: the row is closed.
    r = client.post(f"/quarantine/{second}/dismiss",
                    data={"csrf_token": client.csrf, "confirm": "1"})
    assert r.status_code == 400


def test_lists_filter_page_and_bulk_file(tmp_path: Path) -> None:
    ws = _limited_workspace(tmp_path)
    from motcua.archive import records

    real = ws.store / "originals" / "x" / "quet.pdf"
    real.parent.mkdir(parents=True, exist_ok=True)
    scans.write_pdf([scans.render_page("clean", 5, max_lines=2)], real)
    with closing(db.connect(ws.db_path)) as conn, db.transaction(conn):
        loose = [records.insert_stored(conn, sha256=f"{i:064x}", original_name=f"quet-{i}.pdf",
                                       media_type="application/pdf", size=10,
                                       original_path=ws.relative(real))
                 for i in range(1, 56)]
    client = client_for(ws, "tiepnhan")
    client.follow_redirects = False
    first = client.get("/documents?unassigned=1")
    assert first.status_code == 200
    assert first.text.count('name="doc"') == 50 and "Trang sau" in first.text
    second = client.get("/documents?unassigned=1&trang=2")
    assert second.text.count('name="doc"') == 5 and "Trang sau" not in second.text
    assert client.get("/documents?from=31/02/2026").status_code == 400
    r = client.post("/documents/file", data={"csrf_token": client.csrf, "dossier": DOSSIER,
                                             "doc": [str(i) for i in loose[:3]]})
    assert r.status_code == 303, r.text
    with closing(db.connect(ws.db_path)) as conn:
        filed = [row[0] for row in conn.execute(
            "SELECT id FROM documents WHERE dossier_code = ? ORDER BY id", (DOSSIER,))]
        audited = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'assign'"
                               ).fetchone()[0]
    assert set(loose[:3]) <= set(filed) and audited == 3
    assert client.get("/documents?unassigned=1&trang=2").text.count('name="doc"') == 2
    # Dossiers: by owner name, by status; dates typed dd/mm/yyyy.
    assert DOSSIER in client.get("/dossiers?owner=Hưởng").text
    assert DOSSIER not in client.get("/dossiers?owner=Không Có").text
    assert DOSSIER not in client.get("/dossiers?status=resolved").text
    assert client.get("/dossiers?from=01/01/2020&to=31/12/2099").status_code == 200
    # The owner page: corrected name and phone, audited.
    r = client.post(f"/owners/{CITIZEN_ID}", data={"csrf_token": client.csrf,
                                                   "name": "Nguyễn Văn Hưởng Mới",
                                                   "address": "Thôn Đông, xã Gia Lộc",
                                                   "phone": "0912 345 678"})
    assert r.status_code == 303
    page = client.get(f"/owners/{CITIZEN_ID}").text
    assert "Nguyễn Văn Hưởng Mới" in page and "0912 345 678" in page
    with closing(db.connect(ws.db_path)) as conn:
        actions = {row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE subject = ?", (f"owner:{CITIZEN_ID}",))}
    assert {"owner.rename", "owner.contact"} <= actions


def test_thumbnails_are_cached_and_reindex_clears_them(tmp_path: Path) -> None:
    from motcua.services import documents

    ws = _limited_workspace(tmp_path)
    client = client_for(ws, "chuyenvien")
    with closing(db.connect(ws.db_path)) as conn:
        doc_id, digest = conn.execute("SELECT id, sha256 FROM documents").fetchone()
    r = client.get(f"/documents/{doc_id}/pages/1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    cached = ws.root / "cache" / "thumbs" / digest / "p1.png"
    assert cached.read_bytes() == r.content
    assert Image.open(io.BytesIO(r.content)).width == documents.THUMB_WIDTH
    assert client.get(f"/documents/{doc_id}/pages/2").status_code == 404
    with open_context(ws, ADMIN_ACTOR) as ctx:
        documents.reindex(ctx)
    assert not cached.exists()
    assert client.get(f"/documents/{doc_id}/pages/1").content == r.content
    assert cached.is_file()
