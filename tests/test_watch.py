"""`motcua watch` as a real subprocess: slow writers, signals, the workspace lock, the
ignore list, subfolders, `motcua status` and the structured log (issue 3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from motcua import db
from motcua.archive import records
from motcua.ingest import register
from motcua.workspace import Workspace, init_workspace
from tests.conftest import CliResult, run_cli
from tests.intake_kit import (
    ROOT,
    WatchProcess,
    count_state,
    query,
    sha256,
    store_problems,
    tiny_pdf,
    tiny_scan,
    wait_for,
)

DOSSIER = "000.00.07.H47-250716-0001"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace whose counter has issued DOSSIER (the tests' inbox folder)."""
    ws = init_workspace(tmp_path / "ws")
    with closing(db.connect(ws.db_path)) as conn, db.transaction(conn):
        records.ensure_dossier(conn, DOSSIER)
    return ws


def motcua(ws: Workspace, *args: str) -> CliResult:
    return run_cli(ws, *args, subprocess_=True, check=False)


def started(watcher: WatchProcess) -> None:
    wait_for(lambda: "Đang theo dõi" in watcher.output(), 60, "watcher start", watcher)
    time.sleep(1.0)  # observer scheduled, start-up scan done


@pytest.mark.parametrize("mode", ["native", "poll"])
def test_slow_writer_is_taken_once_and_complete(ws: Workspace, mode: str) -> None:
    """A 12-page PDF written in chunks over ~13 s, with one pause longer than the stability
    delay while its end is still missing, is archived once, whole."""
    watcher = WatchProcess(ws, "--stable-seconds", "2", "--incomplete-grace", "60",
                           "--poll" if mode == "poll" else "--no-poll")
    started(watcher)
    data = tiny_pdf(range(500, 512))
    target = ws.inbox / DOSSIER / "ho-so-12-trang.pdf"
    target.parent.mkdir()
    chunks = [data[i : i + len(data) // 20 + 1] for i in range(0, len(data), len(data) // 20 + 1)]
    with target.open("wb") as fh:
        for n, chunk in enumerate(chunks):
            fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
            time.sleep(3.5 if n == len(chunks) // 2 else 0.5)
            # Half-written, even after a pause longer than the stability delay: not taken.
            if n < len(chunks) - 1:
                assert query(ws, "SELECT COUNT(*) FROM intake")[0][0] == 0, n
    wait_for(lambda: count_state(ws, "done") == 1, 120, "the file archived", watcher)
    assert watcher.stop(signal.SIGTERM) == 0

    rows = query(ws, "SELECT * FROM intake")
    assert [r["state"] for r in rows] == ["done"]
    (doc,) = query(ws, "SELECT * FROM documents")
    assert doc["sha256"] == sha256(data)
    assert ws.absolute(doc["original_path"]).read_bytes() == data
    assert doc["page_count"] == 12 and doc["dossier_code"] == DOSSIER
    assert not target.exists()
    assert list(ws.quarantine.iterdir()) == []
    assert store_problems(ws) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_finishes_in_flight_work_and_exits_0(ws: Workspace, sig: int) -> None:
    inputs = {f"q{i}.jpg": tiny_scan(900 + i) for i in range(6)}
    inputs["nhieu-trang.pdf"] = tiny_pdf(range(950, 954))
    for name, data in inputs.items():
        (ws.inbox / name).write_bytes(data)
    watcher = WatchProcess(ws, "--stable-seconds", "0.5")
    wait_for(lambda: count_state(ws, "processing") > 0, 120, "a file in flight", watcher,
             interval=0.02)
    assert watcher.stop(sig) == 0
    assert "Đã dừng theo dõi" in watcher.output()
    counts = {r[0]: r[1] for r in query(ws, "SELECT state, COUNT(*) FROM intake GROUP BY state")}
    assert counts.get("processing", 0) == 0  # finished, not abandoned
    assert counts.get("done", 0) >= 1
    assert set(counts) <= {"done", "pending"}
    assert query(ws, "SELECT COUNT(*) FROM documents WHERE state != 'indexed'")[0][0] == 0

    again = WatchProcess(ws, "--stable-seconds", "0.5", "--until-idle")
    assert again.wait(timeout=300) == 0
    assert store_problems(ws) == []
    docs = {r["sha256"] for r in query(ws, "SELECT sha256 FROM documents")}
    assert docs == {sha256(d) for d in inputs.values()}
    assert list(ws.inbox.iterdir()) == []


def test_one_watcher_per_workspace_and_status(ws: Workspace) -> None:
    watcher = WatchProcess(ws, "--stable-seconds", "0.5")
    started(watcher)
    second = motcua(ws, "watch")
    assert second.returncode == 1
    assert "Đã có một tiến trình theo dõi khác đang chạy" in second.stderr
    status = json.loads(motcua(ws, "status", "--json").stdout)
    assert status["watcher"] == {"running": True, "pid": watcher.pid}
    text = motcua(ws, "status").stdout
    assert f"đang chạy (PID {watcher.pid})" in text
    assert watcher.stop() == 0
    status = json.loads(motcua(ws, "status", "--json").stdout)
    assert status["watcher"]["running"] is False


def test_layout_inside_inbox_is_refused(ws: Workspace) -> None:
    (ws.inbox / "cach-ly").mkdir()
    ws.quarantine.rmdir()
    ws.quarantine.symlink_to(ws.inbox / "cach-ly")
    result = motcua(ws, "watch", "--until-idle")
    assert result.returncode == 1
    assert "không được nằm trong thư mục nhận" in result.stderr


def test_ignored_names_subfolders_status_and_log(ws: Workspace) -> None:
    config = ws.config_path.read_text(encoding="utf-8")
    config = config.replace("ignore_patterns = []", 'ignore_patterns = ["*.bak", "nhap-*"]')
    config = config.replace("confidence_threshold = 70", "confidence_threshold = 99.9")
    # The watcher's settings from motcua.toml alone (a network share's set-up).
    config = config.replace("poll = false", "poll = true")
    config = config.replace("stable_seconds = 3", "stable_seconds = 0.5")
    ws.config_path.write_text(config, encoding="utf-8")
    ignored = [".an.pdf", ".DS_Store", "Thumbs.db", "desktop.ini", "~$bien-ban.pdf",
               "dang-tai.pdf.part", "tai-ve.jpg.crdownload", "tam.tmp", "@eaDir/a.jpg",
               "__MACOSX/b.jpg", "cu.bak", "nhap-1.jpg", f"{DOSSIER}/.an.jpg"]
    for n, name in enumerate(ignored):
        path = ws.inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tiny_scan(700 + n))
    (ws.inbox / DOSSIER).mkdir(exist_ok=True)
    (ws.inbox / DOSSIER / "don.jpg").write_bytes(tiny_scan(1))
    (ws.inbox / "roi.jpg").write_bytes(tiny_scan(2))
    (ws.inbox / "rong.pdf").write_bytes(b"")
    (ws.inbox / "lien-ket.jpg").symlink_to(ws.inbox / "roi.jpg")

    watcher = WatchProcess(ws, "--incomplete-grace", "1", "--until-idle")
    assert watcher.wait(timeout=300) == 0
    assert "dò định kỳ (thư mục mạng)" in watcher.output()
    rows = {Path(r["source_path"]).name: r["state"] for r in query(ws, "SELECT * FROM intake")}
    assert rows == {"don.jpg": "done", "roi.jpg": "done", "rong.pdf": "quarantined",
                    "lien-ket.jpg": "refused"}
    for name in ignored:
        assert (ws.inbox / name).exists(), name  # left alone, never queued
    docs = {r["original_name"]: r["dossier_code"] for r in query(ws, "SELECT * FROM documents")}
    assert docs == {"don.jpg": DOSSIER, "roi.jpg": None}

    status = json.loads(motcua(ws, "status", "--json").stdout)
    assert status["queue"]["done"] == 2 and status["queue"]["quarantined"] == 1
    assert status["waiting"] == 0 and status["oldest_waiting"] is None
    assert status["last_hour"]["archived"] == 2 and status["last_hour"]["pages"] == 2
    assert status["needs_rescan"]["documents"] == 2  # every page under a 99.9 threshold
    assert status["recent_quarantines"][0]["name"] == "rong.pdf"
    assert status["recent_refused"][0]["path"] == str(ws.inbox / "lien-ket.jpg")
    assert "rỗng" in status["recent_quarantines"][0]["reason"]
    text = motcua(ws, "status").stdout
    for phrase in ("Hàng đợi:", "đã lưu trữ 2", "Trong 1 giờ qua: 2 tệp đã lưu trữ",
                   "Cần quét lại: 2 tài liệu", "Cách ly gần đây:", "rong.pdf"):
        assert phrase in text, phrase

    entries = [json.loads(line) for line in
               (ws.logs / "motcua.log").read_text(encoding="utf-8").splitlines()]
    outcomes = {Path(e["path"]).name: e["state"] for e in entries if e.get("event") == "outcome"}
    assert outcomes == rows
    assert all({"ts", "level", "logger", "pid", "msg"} <= set(e) for e in entries)
    (start,) = [e for e in entries if e.get("event") == "start"]
    assert start["poll"] is True and "stable after 0.5s" in start["msg"]


def test_waiting_file_shows_in_status(ws: Workspace) -> None:
    """A row waiting in the queue is reported with its age; nothing is processed by status."""
    (ws.inbox / "cho.jpg").write_bytes(tiny_scan(3))
    conn = db.connect(ws.db_path)
    register(conn, ws.inbox / "cho.jpg")
    conn.close()
    status = json.loads(motcua(ws, "status", "--json").stdout)
    assert status["queue"]["pending"] == 1 and status["waiting"] == 1
    assert status["oldest_waiting"]["path"] == str(ws.inbox / "cho.jpg")
    assert "Tệp chờ lâu nhất:" in motcua(ws, "status").stdout


def test_systemd_unit() -> None:
    unit = (ROOT / "deploy" / "motcua-watch.service").read_text(encoding="utf-8")
    keys: dict[str, list[str]] = {}
    section = ""
    for line in unit.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys.setdefault(f"{section}.{key}", []).append(value)
    assert keys["Service.Type"] == ["simple"]
    assert keys["Service.Restart"] == ["on-failure"]
    assert keys["Service.KillSignal"] == ["SIGTERM"]
    assert keys["Service.KillMode"] == ["mixed"]  # SIGTERM to the watcher, not its workers
    assert int(keys["Service.TimeoutStopSec"][0]) > 600  # longer than one file's OCR timeout
    assert keys["Service.User"] != ["root"]
    assert any(v.startswith("MOTCUA_WORKSPACE=") for v in keys["Service.Environment"])
    assert keys["Service.WorkingDirectory"]
    assert keys["Service.ExecStart"][0].split()[-1] == "watch"
    assert keys["Install.WantedBy"] == ["multi-user.target"]


def test_ingest_progress_bar_in_a_terminal_plain_lines_otherwise(ws: Workspace) -> None:
    import pty

    (ws.inbox / "a.jpg").write_bytes(tiny_scan(5))
    (ws.inbox / "rong.jpg").write_bytes(b"")
    plain = motcua(ws, "ingest", str(ws.inbox))
    assert plain.returncode == 2  # one file quarantined
    lines = plain.stdout.splitlines()
    numbered = sorted(line.split(" ")[0] for line in lines if line.startswith(("[1/2]", "[2/2]")))
    assert numbered == ["[1/2]", "[2/2]"], lines
    assert any("[đã cách ly]" in line and "rong.jpg" in line for line in lines)
    assert "\x1b[" not in plain.stdout  # no bar, no escape codes in a pipe

    (ws.inbox / "b.jpg").write_bytes(tiny_scan(6))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "motcua", "-w", str(ws.root), "ingest", str(ws.inbox)],
        stdout=slave, stderr=slave, cwd=ROOT,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    out = b"".join(chunks).decode("utf-8", errors="replace")
    assert "Đang số hóa" in out and "1/1" in out
    assert "[1/1] [" not in out
    assert "Tổng cộng 1 tệp" in out


@pytest.mark.parametrize("mode", ["native", "poll"])
def test_inbox_unmounted_and_back(ws: Workspace, mode: str) -> None:
    """A network share that drops out: the service waits, then watches it again."""
    watcher = WatchProcess(ws, "--stable-seconds", "0.5",
                           "--poll" if mode == "poll" else "--no-poll")
    started(watcher)
    ws.inbox.rmdir()  # the mount point's content is gone
    time.sleep(3)
    assert watcher.alive()
    staged = ws.root / "trong-luc-mat.jpg"
    staged.write_bytes(tiny_scan(31))
    ws.inbox.mkdir()
    staged.replace(ws.inbox / staged.name)  # there before the observer is back: rescan
    time.sleep(2)
    (ws.inbox / "sau-khi-ve.jpg").write_bytes(tiny_scan(32))
    wait_for(lambda: count_state(ws, "done") == 2, 120, "both files archived", watcher)
    assert watcher.stop() == 0
    assert "inbox_missing" in (ws.logs / "motcua.log").read_text(encoding="utf-8")
    assert store_problems(ws) == []


def test_inbox_symlinked_to_a_mount_point(ws: Workspace, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    ws.inbox.rmdir()
    ws.inbox.symlink_to(share)
    watcher = WatchProcess(ws, "--stable-seconds", "0.5")
    started(watcher)
    (share / DOSSIER).mkdir()
    (share / DOSSIER / "qua-chia-se.jpg").write_bytes(tiny_scan(41))
    wait_for(lambda: count_state(ws, "done") == 1, 120, "file on the share archived", watcher)
    assert watcher.stop() == 0
    (row,) = query(ws, "SELECT source_path FROM intake")
    assert row[0] == str(ws.inbox / DOSSIER / "qua-chia-se.jpg")
    assert query(ws, "SELECT dossier_code FROM documents")[0][0] == DOSSIER
    assert not (share / DOSSIER / "qua-chia-se.jpg").exists()  # taken out once archived
