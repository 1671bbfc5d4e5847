"""The spine end to end: real scans through real OCR into the store and the index."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pikepdf
import pikepdf.pdfa
import pytest
from click.testing import CliRunner

from motcua import db
from motcua.archive import audit, records
from motcua.archive.stamp import KIND_SCAN, get_stamp, read_xmp_fields
from motcua.archive.store import sha256_file
from motcua.cli import main
from motcua.ingest import Outcome, ingest_paths, process_pending
from motcua.ingest.pipeline import MAX_ATTEMPTS, process_token, recover, register
from motcua.workspace import Workspace, init_workspace
from tests import conftest, scans
from tests.conftest import CliResult

DOSSIER = "000.00.07.H47-250716-0001"
CITIZEN_ID = "001090012345"


def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def fonts_of(obj: pikepdf.Object) -> list[pikepdf.Object]:
    """Fonts a page or form XObject uses, including those of nested forms."""
    resources = obj.get("/Resources") or pikepdf.Dictionary()
    found = list((resources.get("/Font") or pikepdf.Dictionary()).values())
    for xobj in (resources.get("/XObject") or pikepdf.Dictionary()).values():
        if xobj.get("/Subtype") == "/Form":
            found += fonts_of(xobj)
    return found


def stored_files(ws: Workspace) -> set[str]:
    return {
        str(p.relative_to(ws.root))
        for sub in ("originals", "archival", "stamped")
        for p in (ws.store / sub).rglob("*") if p.is_file()
    }


def referenced_files(conn: db.sqlite3.Connection) -> set[str]:
    paths: set[str] = set()
    for row in conn.execute("SELECT original_path, archival_path FROM documents"):
        paths.update(p for p in row if p)
    paths.update(row[0] for row in conn.execute("SELECT stamped_path FROM stamps"))
    return paths


def assert_consistent(ws: Workspace) -> None:
    """No orphan or partial file in the store, no row stuck in an intermediate state."""
    with db.connect(ws.db_path) as conn:
        assert stored_files(ws) == referenced_files(conn)
        states = {r[0] for r in conn.execute("SELECT DISTINCT state FROM documents")}
        assert states <= {"indexed"}
        stuck = conn.execute(
            "SELECT COUNT(*) FROM intake WHERE state IN ('pending','processing')").fetchone()[0]
        assert stuck == 0
        for row in conn.execute("SELECT original_path, sha256, archival_path, archival_sha256"
                                " FROM documents"):
            assert sha256_file(ws.absolute(row[0])) == row[1]
            assert sha256_file(ws.absolute(row[2])) == row[3]
        unstamped = conn.execute("SELECT COUNT(*) FROM documents WHERE id NOT IN"
                                 " (SELECT document_id FROM stamps)").fetchone()[0]
        assert unstamped == 0
        for path, digest in conn.execute("SELECT stamped_path, stamped_sha256 FROM stamps"):
            assert sha256_file(ws.absolute(path)) == digest
    leftovers = [p for p in ws.tmp.rglob("*") if p.is_file()]
    assert leftovers == []


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


def run_cli(ws: Workspace, *args: str, env: dict[str, str] | None = None,
            check: bool = True) -> CliResult:
    """The real command in its own process (crash points kill it); with `check`, any exit
    but 0 or 2 (some files not archived) fails the test."""
    proc = conftest.run_cli(ws, *args, env=env, check=False, subprocess_=True)
    if check and proc.returncode not in (0, 2):
        raise AssertionError(f"motcua {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def test_init_and_workspace_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "kho")])
    assert result.exit_code == 0, result.output
    for sub in ("inbox", "quarantine", "store", "index", "motcua.db", "motcua.toml"):
        assert (tmp_path / "kho" / sub).exists()
    toml = (tmp_path / "kho" / "motcua.toml").read_text(encoding="utf-8")
    assert 'language = "vie"' in toml and "confidence_threshold" in toml and "code =" in toml

    # No workspace anywhere: a clear Vietnamese message, exit code 1.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOTCUA_WORKSPACE", raising=False)
    result = runner.invoke(main, ["search", "hồ sơ"])
    assert result.exit_code == 1
    assert "Không tìm thấy kho làm việc" in result.output and "motcua init" in result.output

    # The environment variable, then the current folder.
    monkeypatch.setenv("MOTCUA_WORKSPACE", str(tmp_path / "kho"))
    assert runner.invoke(main, ["search", "hồ sơ"]).exit_code == 0
    monkeypatch.delenv("MOTCUA_WORKSPACE")
    monkeypatch.chdir(tmp_path / "kho")
    assert runner.invoke(main, ["search", "hồ sơ"]).exit_code == 0


def test_scans_become_searchable_pdfa(ws: Workspace) -> None:
    office = scans.render_document(2, "office", seed=3, extra_lines=[
        f"Số CCCD: {CITIZEN_ID}", "Nơi tiếp nhận: Bộ phận Một cửa xã Đa Lộc"],
                                   max_lines=14)
    folder = ws.inbox / DOSSIER
    folder.mkdir()
    pdf = scans.write_pdf(office, folder / "don-de-nghi.pdf")
    # No two-column header here: pdftotext reads one column by column, which costs
    # ~0.5 points on a full page and more on a short one.
    clean = scans.render_page("clean", seed=5, header=False, extra_lines=[
        "Mã hồ sơ: 000.00.07.H47-250801-0042", "Nơi tiếp nhận: Bộ phận Một cửa xã Đa Lộc"],
        max_lines=10)
    jpg = scans.write_jpeg(clean, ws.inbox / "giay-to.jpg")
    originals = {pdf.name: pdf.read_bytes(), jpg.name: jpg.read_bytes()}

    with closing(db.connect(ws.db_path)) as conn, db.transaction(conn):  # issued codes
        records.ensure_dossier(conn, DOSSIER)
        records.ensure_dossier(conn, "000.00.07.H47-250801-0042")
    outcomes = ingest_paths(ws, [ws.inbox])
    assert [o.state for o in outcomes] == ["done", "done"], outcomes
    assert not pdf.exists() and not jpg.exists()  # inbox copies removed after commit

    conn = db.connect(ws.db_path)
    docs = {r["original_name"]: r for r in conn.execute("SELECT * FROM documents")}
    assert set(docs) == set(originals)
    for name, data in originals.items():
        doc = docs[name]
        assert ws.absolute(doc["original_path"]).read_bytes() == data  # byte for byte
        archival = ws.absolute(doc["archival_path"])
        with pikepdf.open(archival) as out:
            meta = out.open_metadata()
            assert meta.pdfa_status in ("2B", "2U"), meta.pdfa_status
            assert len(out.Root.OutputIntents) >= 1
            assert "/DestOutputProfile" in out.Root.OutputIntents[0]
            assert all(fonts_of(page.obj) for page in out.pages), "a page has no text layer"
    # Dossier from the folder name, and from the text for the loose JPEG.
    assert docs["don-de-nghi.pdf"]["dossier_code"] == DOSSIER
    assert docs["don-de-nghi.pdf"]["dossier_source"] == "folder"
    assert docs["giay-to.jpg"]["dossier_code"] == "000.00.07.H47-250801-0042"
    assert docs["giay-to.jpg"]["dossier_source"] == "text"
    ids = {(r["kind"], r["value"]) for r in conn.execute("SELECT * FROM identifiers")}
    assert ("citizen_id", CITIZEN_ID) in ids
    pages = conn.execute("SELECT * FROM pages ORDER BY document_id, page_no").fetchall()
    assert len(pages) == 3 and all(p["confidence"] > 50 for p in pages)

    # Every archived scan is stamped "BẢN SỐ HÓA" with its dossier code and operator, the
    # stamped copy is still PDF/A-2b, and the ingest is in the audit log.
    for name, doc in docs.items():
        stamp = get_stamp(conn, doc["id"])
        assert stamp is not None, name
        assert stamp.fields.kind == KIND_SCAN
        assert stamp.fields.code == doc["dossier_code"]
        assert stamp.fields.operator == ws.config.ingest.operator
        stamped = ws.absolute(stamp.stamped_path)
        assert sha256_file(stamped) == stamp.stamped_sha256
        assert read_xmp_fields(stamped) == stamp.fields
        assert pikepdf.pdfa.validate_written(stamped, "2b").passed
        assert "BẢN SỐ HÓA" in pdftotext(stamped)
        ingested = [e for e in audit.entries(conn, f"document:{doc['id']}")
                    if e.action == "ingest"]
        assert len(ingested) == 1 and ingested[0].details["sha256"] == doc["sha256"]
    assert audit.verify(conn) == []

    # Text a user would copy out of the archived PDF reads in order.
    clean_text = pdftotext(ws.absolute(docs["giay-to.jpg"]["archival_path"]))
    assert scans.cer(clean.text, clean_text) < 1.0  # percent
    office_text = pdftotext(ws.absolute(docs["don-de-nghi.pdf"]["archival_path"]))
    assert scans.cer("\n".join(p.text for p in office), office_text) < 2.0

    # Search: with and without diacritics, filtered by dossier and owner.
    runner = CliRunner()
    for query in ("Đa Lộc", "da loc", "DA LOC", "một cửa"):
        result = runner.invoke(main, ["-w", str(ws.root), "search", query, "--json"])
        assert result.exit_code == 0, result.output
        assert {h["file"] for h in json.loads(result.output)["documents"]} == set(originals)
    result = runner.invoke(main, ["-w", str(ws.root), "search", "da loc", "--json",
                                  "--dossier", DOSSIER])
    assert {h["file"] for h in json.loads(result.output)["documents"]} == {"don-de-nghi.pdf"}
    result = runner.invoke(main, ["-w", str(ws.root), "search", "da loc", "--json",
                                  "--owner", CITIZEN_ID])
    assert {h["file"] for h in json.loads(result.output)["documents"]} == {"don-de-nghi.pdf"}
    result = runner.invoke(main, ["-w", str(ws.root), "show", DOSSIER])
    assert result.exit_code == 0 and "don-de-nghi.pdf" in result.output
    assert CITIZEN_ID in result.output and "SHA-256" in result.output

    # The same bytes again, under another name: recorded as a duplicate, not stored twice.
    again = ws.inbox / "ban-sao.jpg"
    again.write_bytes(originals["giay-to.jpg"])
    files_before = stored_files(ws)
    (dup,) = ingest_paths(ws, [again])
    assert dup.state == "duplicate" and dup.document_id == docs["giay-to.jpg"]["id"]
    assert stored_files(ws) == files_before
    assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 2
    assert_consistent(ws)


def _encrypted_pdf(path: Path) -> Path:
    source = scans.write_pdf([scans.render_page("clean", seed=9, max_lines=3)],
                             path.with_suffix(".plain"))
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="mk", owner="mk"))
    source.unlink()
    return path


def test_bad_inputs_are_quarantined_and_the_batch_goes_on(ws: Workspace) -> None:
    good = scans.write_jpeg(scans.render_page("clean", seed=11, max_lines=4),
                            ws.inbox / "tot.jpg")
    page_pdf = scans.write_pdf([scans.render_page("clean", seed=12, max_lines=4)],
                               ws.root / "src.pdf").read_bytes()
    bad = {
        "rong.pdf": b"",
        "cut.pdf": page_pdf[: len(page_pdf) // 2],
        "hong.pdf": b"%PDF-1.4\n" + os.urandom(2000) + b"\n%%EOF\n",
        "nham-duoi.pdf": good.read_bytes(),  # a JPEG named .pdf
        "van-ban.docx": b"PK\x03\x04 not a scan",
        "anh-hong.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
    }
    for name, data in bad.items():
        (ws.inbox / name).write_bytes(data)
    _encrypted_pdf(ws.inbox / "mat-khau.pdf")
    (ws.inbox / "lien-ket.pdf").symlink_to(good)
    (ws.inbox / "Thumbs.db").write_bytes(b"ignored")

    outcomes = {Path(o.source).name: o for o in ingest_paths(ws, [ws.inbox])}
    assert outcomes["tot.jpg"].state == "done"
    assert outcomes["lien-ket.pdf"].state == "refused"
    assert "Thumbs.db" not in outcomes
    quarantined = set(bad) | {"mat-khau.pdf"}
    for name in quarantined:
        assert outcomes[name].state == "quarantined", (name, outcomes[name])
        placed = ws.quarantine / name
        reason = ws.quarantine / f"{name}.reason.txt"
        assert placed.exists() and reason.exists(), name
        assert not (ws.inbox / name).exists()
        text = reason.read_text(encoding="utf-8")
        assert "Chi tiết kỹ thuật" in text
    assert (ws.quarantine / "cut.pdf").read_bytes() == bad["cut.pdf"]  # nothing lost
    reasons = {n: (ws.quarantine / f"{n}.reason.txt").read_text(encoding="utf-8")
               for n in quarantined}
    assert "rỗng" in reasons["rong.pdf"]
    assert "cắt cụt" in reasons["cut.pdf"]
    assert "mật khẩu" in reasons["mat-khau.pdf"]
    assert "nội dung lại là ảnh JPEG" in reasons["nham-duoi.pdf"]
    assert "không được hỗ trợ" in reasons["van-ban.docx"]
    with db.connect(ws.db_path) as conn:
        rows = conn.execute("SELECT original_name, reason_vi, last_error FROM intake"
                            " WHERE state = 'quarantined'").fetchall()
        assert {r[0] for r in rows} == quarantined
        assert all(r[1] and r[2] for r in rows)
    assert_consistent(ws)
    assert all("Tệp đã được chuyển vào" in outcomes[n].message for n in quarantined)

    # A bad file named outside the inbox is copied into quarantine; the message says the
    # original stays where it is (it used to say "moved").
    elsewhere = ws.root / "o-ngoai"
    elsewhere.mkdir()
    (elsewhere / "hong2.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(2000) + b"\n%%EOF\n")
    [copied] = ingest_paths(ws, [elsewhere / "hong2.pdf"])
    assert copied.state == "quarantined"
    assert "tệp gốc vẫn ở chỗ cũ" in copied.message
    assert "được chuyển vào" not in copied.message
    assert (elsewhere / "hong2.pdf").exists() and (ws.quarantine / "hong2.pdf").exists()


@pytest.mark.parametrize("step", ["original-renamed", "stored", "archival-renamed", "archived",
                                  "stamped", "index-committed", "done"])
def test_killed_between_steps_resumes_without_duplicates(ws: Workspace, step: str) -> None:
    page = scans.render_page("clean", seed=21, max_lines=5)
    data = page.jpeg
    scans.write_jpeg(page, ws.inbox / "quet.jpg")

    killed = run_cli(ws, "ingest", str(ws.inbox), env={"MOTCUA_TEST_CRASH_AT": step},
                     check=False)
    assert killed.returncode == -9, killed.stderr  # really killed at that step

    resumed = run_cli(ws, "ingest", str(ws.inbox))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    with db.connect(ws.db_path) as conn:
        docs = conn.execute("SELECT * FROM documents").fetchall()
        assert len(docs) == 1
        assert ws.absolute(docs[0]["original_path"]).read_bytes() == data
        final = [r[0] for r in conn.execute("SELECT state FROM intake ORDER BY id")]
        assert final[-1] == "done" and "duplicate" not in final
    assert not (ws.inbox / "quet.jpg").exists()
    assert_consistent(ws)
    hits = json.loads(run_cli(ws, "search", "Gia Lộc", "--json").stdout)["documents"]
    assert len({h["document_id"] for h in hits}) == 1


def test_assign_files_and_restamps_an_unassigned_scan(ws: Workspace) -> None:
    page = scans.render_page("clean", seed=31, header=False, max_lines=4)
    jpg = scans.write_jpeg(page, ws.inbox / "chua-gan.jpg")
    data = jpg.read_bytes()
    (outcome,) = ingest_paths(ws, [jpg])
    assert outcome.state == "done" and outcome.document_id is not None
    doc_id = outcome.document_id
    conn = db.connect(ws.db_path)
    before = get_stamp(conn, doc_id)
    assert before is not None and before.fields.code == ""  # not filed under a dossier yet

    with db.transaction(conn):
        records.ensure_dossier(conn, DOSSIER)  # issued: `assign` never makes one up
    runner = CliRunner()
    result = runner.invoke(main, ["-w", str(ws.root), "assign", str(doc_id), DOSSIER])
    assert result.exit_code == 0, result.output
    after = get_stamp(conn, doc_id)
    assert after is not None and after.fields.code == DOSSIER
    assert read_xmp_fields(ws.absolute(after.stamped_path)).dossier_code == DOSSIER
    assert [e.details for e in audit.entries(conn, f"document:{doc_id}")
            if e.action == "assign"] == [{"dossier_code": DOSSIER}]

    # The clerk's file at hand finds its record; re-stamping on request works too.
    kept = ws.root / "ban-giu-lai.jpg"
    kept.write_bytes(data)
    result = runner.invoke(main, ["-w", str(ws.root), "stamp", str(kept)])
    assert result.exit_code == 0, result.output
    assert "BẢN SỐ HÓA" in result.output
    result = runner.invoke(main, ["-w", str(ws.root), "stamp", "--missing"])
    assert result.exit_code == 0 and "Mọi tài liệu đã có dấu số hóa." in result.output
    result = runner.invoke(main, ["-w", str(ws.root), "stamp", str(ws.root / "motcua.toml")])
    assert result.exit_code != 0 and "chưa được số hóa" in result.output
    assert_consistent(ws)


def _kill_worker_mid_ocr(run: Callable[[], list[Outcome]]) -> list[Outcome]:
    """Run `run` while a thread SIGKILLs the OCR worker (forked by this process's fork
    server) once Tesseract runs under it: a machine fault, as the out-of-memory killer
    would cause. (A timeout no longer serves: a file too long for its timeout is settled
    at once.)"""
    me = os.getpid()

    def parent_of(pid: str) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if Path(f"/proc/{pid}/comm").read_text().strip() != "tesseract":
                        continue
                    worker = parent_of(pid)
                    if parent_of(str(parent_of(str(worker)))) == me:
                        os.kill(worker, signal.SIGKILL)
                        return
                except (OSError, ValueError, IndexError):
                    continue
            time.sleep(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        return run()
    finally:
        thread.join()


def _make_due(ws: Workspace) -> None:
    with db.connect(ws.db_path) as conn:
        conn.execute("UPDATE intake SET next_attempt_at = '2000-01-01T00:00:00+00:00'"
                     " WHERE state = 'retry'")


def test_transient_failure_is_retried_with_backoff_then_archived(ws: Workspace) -> None:
    page = scans.render_page("office", seed=41, max_lines=20)
    jpg = scans.write_jpeg(page, ws.inbox / "cham.jpg")
    # A real machine fault: the OCR worker is killed while Tesseract reads the page.
    (first,) = _kill_worker_mid_ocr(lambda: ingest_paths(ws, [jpg]))
    assert first.state == "retry" and "thử lại" in first.message
    with db.connect(ws.db_path) as conn:
        row = conn.execute("SELECT * FROM intake").fetchone()
        assert row["attempts"] == 1 and row["next_attempt_at"] > db.now()
        assert "worker died" in row["last_error"]
    assert jpg.exists()  # the inbox copy stays until the archive holds the file
    assert process_pending(ws) == []  # back-off: not due yet

    fixed = ws
    _make_due(fixed)
    (second,) = process_pending(fixed)
    assert second.state == "done", second
    assert not jpg.exists()
    with db.connect(ws.db_path) as conn:
        assert conn.execute("SELECT attempts FROM intake").fetchone()[0] == 2
    assert_consistent(ws)


def test_gives_up_after_max_attempts_into_quarantine(ws: Workspace) -> None:
    page = scans.render_page("office", seed=42, max_lines=20)
    jpg = scans.write_jpeg(page, ws.inbox / "luon-loi.jpg")
    data = jpg.read_bytes()
    outcomes = _kill_worker_mid_ocr(lambda: ingest_paths(ws, [jpg]))
    for _ in range(MAX_ATTEMPTS - 1):
        _make_due(ws)
        outcomes = _kill_worker_mid_ocr(lambda: process_pending(ws))
    (last,) = outcomes
    assert last.state == "quarantined", last
    assert f"Đã thử xử lý {MAX_ATTEMPTS} lần" in last.message
    assert (ws.quarantine / "luon-loi.jpg").read_bytes() == data  # nothing lost
    assert (ws.quarantine / "luon-loi.jpg.reason.txt").exists()
    with db.connect(ws.db_path) as conn:
        # Our copy left the store with its unfinished record.
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
    assert stored_files(ws) == set()


def test_missing_ocr_model_stops_before_any_file_is_touched(ws: Workspace) -> None:
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(config.replace('language = "vie"', 'language = "vie+xyz"'),
                              encoding="utf-8")
    jpg = scans.write_jpeg(scans.render_page("clean", seed=43, max_lines=3),
                           ws.inbox / "cho.jpg")
    data = jpg.read_bytes()
    result = run_cli(ws, "ingest", str(ws.inbox), check=False)
    assert result.returncode == 1
    assert "chưa có mô hình ngôn ngữ xyz" in result.stderr + result.stdout
    assert jpg.read_bytes() == data  # left where it was, not quarantined
    assert list(ws.quarantine.iterdir()) == []
    with db.connect(ws.db_path) as conn:
        assert [r[0] for r in conn.execute("SELECT state FROM intake")] == ["pending"]


def test_row_of_a_dead_process_whose_pid_came_back_is_reclaimed(ws: Workspace) -> None:
    """After a power cut the new watcher can get the very PID the dead one had; a reboot
    cannot be staged in a test, so the row is written as that dead process left it."""
    jpg = scans.write_jpeg(scans.render_page("clean", seed=44, max_lines=3),
                           ws.inbox / "sau-mat-dien.jpg")
    with db.connect(ws.db_path) as conn:
        intake_id = register(conn, jpg)
        # Claimed by this very PID, but in an earlier boot: a different token.
        conn.execute("UPDATE intake SET state = 'processing', claimed_by = ?, claim_token ="
                     " 'an-earlier-boot/123', attempts = 1 WHERE id = ?",
                     (os.getpid(), intake_id))
        assert recover(ws, conn) == 1
        assert conn.execute("SELECT state FROM intake WHERE id = ?",
                            (intake_id,)).fetchone()[0] == "pending"
        # A row this process holds now is left alone.
        conn.execute("UPDATE intake SET state = 'processing', claimed_by = ?, claim_token = ?"
                     " WHERE id = ?", (os.getpid(), process_token(os.getpid()), intake_id))
        assert recover(ws, conn) == 0
        conn.execute("UPDATE intake SET state = 'pending' WHERE id = ?", (intake_id,))
    (outcome,) = process_pending(ws)
    assert outcome.state == "done"
    assert_consistent(ws)


@pytest.fixture
def full_store(ws: Workspace) -> Iterator[Workspace]:
    """The workspace's store on a real 64 KiB tmpfs: the disk is full for a real scan."""
    ws.store.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                              str(ws.store)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield ws
    finally:
        subprocess.run(["umount", "-l", str(ws.store)], check=False)


def test_full_disk_is_retried_until_mended_never_quarantined(full_store: Workspace) -> None:
    ws = full_store
    jpg = scans.write_jpeg(scans.render_page("office", seed=45, max_lines=20),
                           ws.inbox / "o-dia-day.jpg")
    data = jpg.read_bytes()
    assert len(data) > 64 * 1024
    outcomes = ingest_paths(ws, [jpg])
    for _ in range(MAX_ATTEMPTS + 1):  # more than a file's own faults are allowed
        (outcome,) = outcomes
        assert outcome.state == "retry" and "Ổ đĩa đã đầy" in outcome.message, outcome
        _make_due(ws)
        outcomes = process_pending(ws)
    assert jpg.read_bytes() == data and list(ws.quarantine.iterdir()) == []
    with db.connect(ws.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0

    subprocess.run(["umount", "-l", str(ws.store)], check=True)  # space freed
    _make_due(ws)
    (outcome,) = process_pending(ws)
    assert outcome.state == "done", outcome
    assert_consistent(ws)


def test_a_long_file_reports_each_page_read(ws: Workspace) -> None:
    """`ingest` prints where a long file's OCR stands (plain lines when not in a
    terminal), counts the file once, and leaves no progress file behind."""
    pages = scans.render_document(6, "office", seed=11, max_lines=14)
    pdf = scans.write_pdf(pages, ws.inbox / "ho-so-6-trang.pdf")
    result = conftest.run_cli(ws, "ingest", str(pdf))
    lines = [ln for ln in result.stdout.splitlines() if "Đang nhận dạng chữ: trang" in ln]
    assert lines, result.stdout
    read = [int(re.search(r"trang (\d)/6", ln).group(1)) for ln in lines]  # type: ignore[union-attr]
    assert read == sorted(read) and all(1 <= n <= 6 for n in read)
    done = [ln for ln in result.stdout.splitlines() if ln.startswith("[1/1] [đã lưu trữ]")]
    assert len(done) == 1 and done[0].endswith("ho-so-6-trang.pdf → #1"), result.stdout
    assert not list(ws.tmp.rglob("*.progress"))
