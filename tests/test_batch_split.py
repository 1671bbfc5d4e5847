"""Batch scans split at QR cover sheets (issue 14, part 1): real cover sheets printed by
`motcua coversheet`, rasterised and degraded like scans, real zxing-cpp, real OCR."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pikepdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from motcua import db
from motcua.archive.store import sha256_file
from motcua.ingest import barcodes, split
from motcua.ingest.pipeline import CRASH_ENV
from motcua.services import Actor, open_context
from motcua.services import counter as counter_service
from motcua.services.access import Role
from motcua.templates.coversheet import Cover, write_covers
from motcua.workspace import Workspace, init_workspace, load_workspace
from tests import conftest, scans
from tests.web_kit import client_for, make_officers

OFFICER = Actor(login="lan", full_name="Nguyễn Thị Lan", kind="user",
                roles=frozenset({Role.COUNTER}))
OWNERS = (("001090012345", "Nguyễn Văn An"), ("030185001234", "Trần Thị Bình"),
          ("001095067890", "Lê Văn Cường"))
UNKNOWN = "000.00.07.H47-250716-0999"
COVER_TITLE = "TỜ BÌA"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


def receive_dossiers(ws: Workspace) -> list[str]:
    codes = []
    with open_context(ws, OFFICER) as ctx:
        for owner_id, name in OWNERS:
            counter_service.add_owner(ctx, owner_id, name)
            got = counter_service.receive(ctx, "1.001193", owner_id, "direct",
                                          print_receipt=False)
            codes.append(got.record["code"])
    return codes


def cover_images(ws: Workspace, codes: list[str], out: Path, dpi: int) -> list[Image.Image]:
    """The cover sheets as `motcua coversheet` prints them, as a scanner sees them."""
    proc = conftest.run_cli(ws, "coversheet", *codes, "-o", str(out), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Đã in {len(codes)} tờ bìa hồ sơ" in proc.stdout
    return scans.rasterise_pdf(out, dpi)


def unknown_cover(tmp: Path, dpi: int) -> Image.Image:
    """A cover naming a dossier code that was never received (printed elsewhere)."""
    out = write_covers([Cover(UNKNOWN, "Không rõ", "—", "16/07/2025", "ỦY BAN NHÂN DÂN")],
                       tmp / "la.pdf")
    return scans.rasterise_pdf(out, dpi)[0]


def paper(seed: int, marker: str) -> scans.ScanPage:
    return scans.render_page("office", seed=seed, header=False, max_lines=3,
                             extra_lines=(marker,))


def page_jpegs(pdf: Path) -> list[bytes]:
    """Each page's scanned image, as the bytes embedded in the PDF."""
    with pikepdf.open(pdf) as doc:
        out = []
        for page in doc.pages:
            (image,) = page.get_images().values()
            out.append(bytes(image.read_raw_bytes()))
        return out


def test_batch_scan_is_split_at_cover_sheets(ws: Workspace, tmp_path: Path) -> None:
    codes = receive_dossiers(ws)
    covers = cover_images(ws, codes, tmp_path / "bia.pdf", 300)
    poor_cover = cover_images(ws, [codes[2]], tmp_path / "bia-xau.pdf", 200)[0]
    a = scans.scan_image(covers[0], "office", seed=1)
    b = scans.scan_image(covers[1], "office", seed=2, upside_down=True)
    c = scans.scan_image(poor_cover, "poor", seed=3)
    papers = [paper(100 + i, f"Giấy tờ số {i + 1}") for i in range(6)]
    batch_pages = [a, papers[0], papers[1], b, papers[2], papers[3], c, papers[4], papers[5]]
    batch = scans.write_pdf(batch_pages, ws.inbox / "lo-quet-sang.pdf")
    batch_bytes = batch.read_bytes()
    jpegs = page_jpegs(batch)
    assert len(jpegs) == 9

    # A second stack: one stray page before the first cover, then a cover naming a
    # dossier nobody received.
    stray, lost = paper(200, "Trang lạc"), paper(201, "Giấy tờ không rõ hồ sơ")
    odd = scans.write_pdf([stray, scans.scan_image(unknown_cover(tmp_path, 300), "office", 4),
                           lost], ws.inbox / "lo-quet-chieu.pdf")
    odd_bytes = odd.read_bytes()
    # A scan without any QR code: archived whole, as always.
    plain = scans.write_pdf([paper(300, "Hồ sơ thường"), paper(301, "Trang hai")],
                            ws.inbox / "ho-so-thuong.pdf")
    plain_bytes = plain.read_bytes()

    proc = conftest.run_cli(ws, "ingest", str(ws.inbox), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Đã tách thành 3 phần" in proc.stdout

    conn = db.connect(ws.db_path)
    try:
        # The originals of both batches are in the store byte for byte.
        batches = {r["original_name"]: r for r in conn.execute("SELECT * FROM batches")}
        assert set(batches) == {"lo-quet-sang.pdf", "lo-quet-chieu.pdf"}
        assert ws.absolute(batches["lo-quet-sang.pdf"]["original_path"]).read_bytes() \
            == batch_bytes
        assert ws.absolute(batches["lo-quet-chieu.pdf"]["original_path"]).read_bytes() \
            == odd_bytes
        assert batches["lo-quet-sang.pdf"]["page_count"] == 9

        parts = conn.execute(
            "SELECT p.*, i.document_id, i.state, d.dossier_code AS filed, d.original_path AS"
            " doc_original, d.page_count FROM batch_parts p JOIN intake i ON i.id = p.intake_id"
            " JOIN documents d ON d.id = i.document_id WHERE p.batch_id = ? ORDER BY part_no",
            (batches["lo-quet-sang.pdf"]["id"],)).fetchall()
        # Three documents, under the right dossiers, each with its page range recorded.
        assert [(p["first_page"], p["last_page"], p["cover_page"]) for p in parts] == [
            (2, 3, 1), (5, 6, 4), (8, 9, 7)]
        assert [p["filed"] for p in parts] == codes
        assert [p["dossier_code"] for p in parts] == codes
        assert all(p["state"] == "done" and p["page_count"] == 2 for p in parts)
        assert len({p["document_id"] for p in parts}) == 3
        # No cover page inside: each part holds exactly the batch's own page images.
        for p in parts:
            assert page_jpegs(ws.absolute(p["doc_original"])) == \
                jpegs[p["first_page"] - 1:p["last_page"]]
            texts = " ".join(r[0] for r in conn.execute(
                "SELECT text FROM pages WHERE document_id = ?", (p["document_id"],)))
            assert COVER_TITLE not in texts.upper() and "Giấy tờ số" in texts

        # The second stack: the stray page and the unknown dossier's part are archived,
        # not filed, each with its reason; no dossier was made up for the unknown code.
        odd_parts = conn.execute(
            "SELECT p.*, d.dossier_code AS filed, d.state AS doc_state FROM batch_parts p"
            " JOIN intake i ON i.id = p.intake_id JOIN documents d ON d.id = i.document_id"
            " WHERE p.batch_id = ? ORDER BY part_no",
            (batches["lo-quet-chieu.pdf"]["id"],)).fetchall()
        assert [(p["first_page"], p["last_page"], p["reason"], p["filed"], p["doc_state"])
                for p in odd_parts] == [(1, 1, "qr_before_first_cover", None, "indexed"),
                                        (3, 3, "qr_unknown_code", None, "indexed")]
        assert odd_parts[1]["qr_text"] == UNKNOWN
        unknown_doc = conn.execute("SELECT document_id FROM intake WHERE id = ?",
                                   (odd_parts[1]["intake_id"],)).fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM dossiers WHERE code = ?",
                            (UNKNOWN,)).fetchone()[0] == 0

        # The plain scan: one document of both pages, its original as dropped.
        (whole,) = conn.execute("SELECT * FROM documents WHERE original_name = ?",
                                ("ho-so-thuong.pdf",)).fetchall()
        assert whole["page_count"] == 2 and ws.absolute(whole["original_path"]).read_bytes() \
            == plain_bytes
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 3 + 2 + 1
        # The store holds exactly what the rows name: batches, parts, PDF/As, stamps.
        named = {r[0] for r in conn.execute(
            "SELECT original_path FROM documents UNION SELECT archival_path FROM documents"
            " UNION SELECT original_path FROM batches UNION SELECT stamped_path FROM stamps")}
        on_disk = {str(p.relative_to(ws.root)) for p in ws.store.rglob("*") if p.is_file()
                   and "tmp" not in p.relative_to(ws.store).parts}
        assert on_disk == named
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log")]
        assert actions.count("split") == 2
    finally:
        conn.close()
    assert list(ws.inbox.iterdir()) == []

    # The reason is in `motcua status` and on the desk.
    status = conftest.run_cli(ws, "status")
    assert "chưa gắn hồ sơ: 2" in status.stdout
    assert f"ghi mã hồ sơ {UNKNOWN} nhưng mã này chưa được cấp" in status.stdout
    assert "trước tờ bìa đầu tiên của tệp quét «lo-quet-chieu.pdf»" in status.stdout
    data = json.loads(conftest.run_cli(ws, "status", "--json").stdout)
    assert {i["reason"] for i in data["unfiled_parts"]["items"]} == {
        "qr_before_first_cover", "qr_unknown_code"}
    # Fixity knows the batches' originals: nothing missing, corrupt or orphaned.
    verify = conftest.run_cli(ws, "verify", "--json", check=False)
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.stdout)["files_checked"] == 2 + 6 * 3
    make_officers(ws)
    with client_for(ws, "tiepnhan") as client:
        desk = client.get("/ban-lam-viec")
        assert desk.status_code == 200
        assert "Tài liệu chưa gắn được vào hồ sơ" in desk.text
        assert f"ghi mã hồ sơ {UNKNOWN} nhưng mã này chưa được cấp" in desk.text
        assert "trước tờ bìa đầu tiên của tệp quét «lo-quet-chieu.pdf»" in desk.text
        # The document says where it came from and why it waits.
        page = client.get(f"/documents/{unknown_doc}")
        assert page.status_code == 200
        assert "Tách từ tệp quét" in page.text and "lo-quet-chieu.pdf, trang 3 trên 3" in page.text
        assert "tờ bìa ở trang 2" in page.text
        assert f"ghi mã hồ sơ {UNKNOWN} nhưng mã này chưa được cấp" in page.text


def test_form_01_receipt_is_a_separator_too(ws: Workspace, tmp_path: Path) -> None:
    """Form 01 carries the dossier code's QR: scanned (small QR, poor scan), it splits;
    the rating link's QR printed on it too is no separator."""
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write('\n[ratings]\nlink_base = "https://motcua.gialoc.vn"\n')
    ws = load_workspace(ws.root)
    make_officers(ws)
    with open_context(ws, OFFICER) as ctx:
        counter_service.add_owner(ctx, OWNERS[0][0], OWNERS[0][1])
        got = counter_service.receive(ctx, "1.001193", OWNERS[0][0], "direct", pdf=True)
    assert got.receipt is not None and got.receipt.pdf is not None
    # The receipt's two pages: the code's QR on the first, the rating link's on the second.
    first, second = scans.rasterise_pdf(Path(got.receipt.pdf), 200)[:2]
    (link,) = zxingcpp.read_barcodes(second)
    assert link.text.startswith("https://motcua.gialoc.vn/danh-gia/")
    pages = [scans.scan_image(first, "poor", seed=5), scans.scan_image(second, "poor", seed=6),
             paper(400, "Tờ khai")]
    batch = scans.write_pdf(pages, tmp_path / "bien-nhan.pdf")
    scan = split.read_separators(batch)
    assert scan is not None
    assert scan.separators == (split.Separator(1, got.record["code"], got.record["code"]),)
    # The stamp's QR (a stamped copy printed and scanned again) is not a separator.
    stamped = scans.render_page("office", seed=6, header=False, max_lines=2)
    assert split.separator_of(1, barcodes.read_qr(stamped.image)) is None


def test_unreadable_cover_is_not_guessed(tmp_path: Path) -> None:
    """A cover whose QR is located but blotted: the part is kept apart, never filed."""
    out = write_covers([Cover("000.00.07.H47-250716-0001", "A", "B", "16/07/2025", "UBND")],
                       tmp_path / "bia.pdf")
    image = scans.rasterise_pdf(out, 300)[0]
    codes = barcodes.read_qr(image)
    assert [c.text for c in codes] == ["000.00.07.H47-250716-0001"]
    # Scribble over the middle of the code (its finder patterns left alone): it is still
    # located, but its data no longer decodes.
    (found,) = zxingcpp.read_barcodes(image)
    pos = found.position
    x0, y0 = pos.top_left.x, pos.top_left.y
    side = pos.top_right.x - pos.top_left.x
    rng = random.Random(14)
    blotted = image.copy()
    draw = ImageDraw.Draw(blotted)
    cell = max(4, side // 25)
    for gx in range(int(x0 + side * 0.3), int(x0 + side * 0.7), cell):
        for gy in range(int(y0 + side * 0.3), int(y0 + side * 0.7), cell):
            draw.rectangle((gx, gy, gx + cell - 1, gy + cell - 1),
                           fill=rng.choice((0, 255)))
    codes = barcodes.read_qr(blotted)
    assert codes and {c.text for c in codes} == {None}
    assert max(c.side for c in codes) > split.LARGE_QR_SIDE
    assert split.separator_of(2, codes) == split.Separator(2, None, None)
    plan = split.plan_parts(split.Scan(3, (split.Separator(2, None, None),), 0.0),
                            lambda code: True)
    assert [(p.first_page, p.last_page, p.reason, p.dossier_code) for p in plan] == [
        (1, 1, "qr_before_first_cover", None), (3, 3, "qr_unreadable", None)]


@pytest.mark.parametrize("step", ["parts-written", "split"])
def test_killed_at_split_resumes_without_duplicates(ws: Workspace, tmp_path: Path,
                                                    step: str) -> None:
    codes = receive_dossiers(ws)[:2]
    covers = cover_images(ws, codes, tmp_path / "bia.pdf", 200)
    pages = [scans.scan_image(covers[0], "office", seed=7), paper(500, "Giấy một"),
             scans.scan_image(covers[1], "office", seed=8), paper(501, "Giấy hai")]
    batch = scans.write_pdf(pages, ws.inbox / "lo.pdf")
    data = batch.read_bytes()

    killed = conftest.run_cli(ws, "ingest", str(ws.inbox), env={CRASH_ENV: step},
                              check=False, subprocess_=True)
    assert killed.returncode == -9, killed.stderr  # really killed at that step
    resumed = conftest.run_cli(ws, "ingest", str(ws.inbox), check=False, subprocess_=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    with db.connect(ws.db_path) as conn:
        (b,) = conn.execute("SELECT * FROM batches").fetchall()
        assert sha256_file(ws.absolute(b["original_path"])) == b["sha256"]
        assert ws.absolute(b["original_path"]).read_bytes() == data
        parts = conn.execute("SELECT * FROM batch_parts ORDER BY part_no").fetchall()
        assert [(p["first_page"], p["last_page"], p["dossier_code"]) for p in parts] == [
            (2, 2, codes[0]), (4, 4, codes[1])]
        docs = conn.execute("SELECT * FROM documents ORDER BY id").fetchall()
        assert len(docs) == 2 and {d["dossier_code"] for d in docs} == set(codes)
        assert all(d["state"] == "indexed" for d in docs)
        states = [r[0] for r in conn.execute("SELECT state FROM intake ORDER BY id")]
        assert "duplicate" not in states and set(states) == {"done"}
        part_intakes = [p["intake_id"] for p in parts]
        assert len(set(part_intakes)) == 2
        named = {r[0] for r in conn.execute(
            "SELECT original_path FROM documents UNION SELECT archival_path FROM documents"
            " UNION SELECT original_path FROM batches UNION SELECT stamped_path FROM stamps")}
    on_disk = {str(p.relative_to(ws.root)) for p in ws.store.rglob("*") if p.is_file()
               and "tmp" not in p.relative_to(ws.store).parts}
    assert on_disk == named
    assert [p for p in ws.tmp.rglob("*") if p.is_file()] == []
    assert not (ws.inbox / "lo.pdf").exists()
    hits = json.loads(conftest.run_cli(ws, "search", "Giấy", "--json").stdout)["documents"]
    assert len({h["document_id"] for h in hits}) == 2


def test_coversheet_cli_refuses_an_unknown_dossier(ws: Workspace, tmp_path: Path) -> None:
    proc = conftest.run_cli(ws, "coversheet", UNKNOWN, "-o", str(tmp_path / "x.pdf"),
                            check=False)
    assert proc.returncode != 0 and f"Không có hồ sơ mã {UNKNOWN}" in proc.stdout + proc.stderr
    assert not (tmp_path / "x.pdf").exists()
    # The sheet itself: A4, one page per dossier, the code in its text and its QR.
    code = receive_dossiers(ws)[0]
    out = tmp_path / "bia.pdf"
    conftest.run_cli(ws, "coversheet", code, "-o", str(out))
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1
        box = [round(float(v)) for v in pdf.pages[0].mediabox]
        assert box == [0, 0, 595, 842]
    text = scans.normalise(_pdftotext(out))
    assert code in text and "TỜ BÌA HỒ SƠ" in text and "Nguyễn Văn An" in text
    image = scans.rasterise_pdf(out, 150)[0]
    assert [c.text for c in barcodes.read_qr(image)] == [code]


def _pdftotext(path: Path) -> str:
    import subprocess

    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
