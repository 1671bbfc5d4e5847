"""services.intake, issued, reports and integrity through the real command: the officer
named by --as on an ingest, every CLI line in the centre's time and dd/mm/yyyy, the one
number parser, the report accepting both date forms, audit verify still passing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from motcua import db
from motcua.archive import audit
from motcua.archive.stamp import get_stamp
from motcua.errors import ExitCode, UserError
from motcua.services import Actor, intake, integrity, issued, open_context, os_actor, reports
from motcua.services.access import AccessDenied, Role
from motcua.workspace import Workspace
from tests import scans
from tests.conftest import RunCli, add_officer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LOCAL_TIME = re.compile(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2}\b")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_ingest_names_the_officer_and_every_line_is_local(workspace: Workspace,
                                                         cli: RunCli) -> None:
    ws = workspace
    add_officer(ws, "lan.nguyen", "Nguyễn Thị Lan", ("tiep_nhan",))
    page = scans.render_page("clean", seed=11, header=False, max_lines=3)
    scan = scans.write_jpeg(page, ws.root / "to-khai.jpg")
    out = cli(ws, "--as", "lan.nguyen", "ingest", str(scan), tz="UTC").stdout
    assert "Tổng cộng 1 tệp: 1 đã lưu trữ" in out
    conn = db.connect(ws.db_path)
    try:
        (entry,) = [e for e in audit.entries(conn) if e.action == "ingest"]
        assert entry.actor == "Nguyễn Thị Lan (lan.nguyen)"
        doc_id = int(entry.subject.split(":")[1])
        stamp = get_stamp(conn, doc_id)
        assert stamp is not None and stamp.fields.operator == "Nguyễn Thị Lan"
        stamp_entry = [e for e in audit.entries(conn) if e.action == "stamp"][-1]
        assert stamp_entry.actor == "Nguyễn Thị Lan (lan.nguyen)"
    finally:
        conn.close()

    # `audit log`, `status`, `number list`, `verify --history`: no UTC ISO on screen
    log_text = cli(ws, "audit", "log", tz="UTC").stdout
    assert "số hóa tài liệu" in log_text and "Nguyễn Thị Lan (lan.nguyen)" in log_text
    assert not ISO_TIME.search(log_text)
    first_at = datetime.fromisoformat(entry.at).astimezone(VN).strftime("%d/%m/%Y %H:%M")
    assert first_at in log_text
    cli(ws, "number", "take", "--type", "QĐ", "--document", "thử")
    numbers = cli(ws, "number", "list", tz="UTC").stdout
    assert LOCAL_TIME.search(numbers) and not ISO_TIME.search(numbers)
    cli(ws, "verify")
    history = cli(ws, "verify", "--history", tz="UTC").stdout
    assert LOCAL_TIME.search(history) and not ISO_TIME.search(history)
    shown = cli(ws, "show", str(doc_id), tz="UTC").stdout
    assert not ISO_TIME.search(shown)
    assert "Nhận lúc: " + datetime.now(UTC).astimezone(VN).strftime("%d/%m/%Y") in shown
    assert "Hàng đợi:" in cli(ws, "status").stdout
    verified = cli(ws, "audit", "verify")
    assert "Nhật ký toàn vẹn" in verified.stdout


def test_status_service_feeds_the_web_lists(workspace: Workspace) -> None:
    ws = workspace
    bad = ws.inbox / "rong.pdf"
    bad.write_bytes(b"")
    with open_context(ws, os_actor()) as ctx:
        done = intake.ingest(ctx, [bad], incomplete_grace=0)  # not waiting for more bytes
        assert not done.all_archived and done.outcomes[0].state_label == "đã cách ly"
        st = intake.status(ctx, details=True)
        assert st.counts["quarantined"] == 1 and st.counts["done"] == 0
        assert st.quarantined[0]["state_label"] == "đã cách ly"
        assert LOCAL_TIME.fullmatch(st.quarantined[0]["updated_at_local"])
        assert st.index_pages == 0 and st.index_error == ""
        assert st.as_dict()["queue"]["quarantined"] == 1
    leader = Actor(login="t", full_name="T", roles=frozenset({Role.LEADER}))
    with open_context(ws, leader) as ctx, pytest.raises(AccessDenied):
        intake.ingest(ctx, [bad])


def test_one_number_parser() -> None:
    assert issued.parse_number(None) is None and issued.parse_number(" ") is None
    assert issued.parse_number("auto") == "auto" and issued.parse_number(" AUTO ") == "auto"
    assert issued.parse_number("12") == 12
    for bad in ("0", "-3", "12/QĐ", "mười"):
        with pytest.raises(UserError, match="phải là một số hoặc “auto”"):
            issued.parse_number(bad)


def test_report_reads_both_date_forms(workspace: Workspace, cli: RunCli) -> None:
    with open_context(workspace, os_actor()) as ctx:
        a = reports.quarterly(ctx, date_from="15/06/2025", date_to="14/09/2025", write=False)
        b = reports.quarterly(ctx, date_from="2025-06-15", date_to="2025-09-14", write=False)
        assert a.data["period"] == b.data["period"] and a.files is None
        assert a.on_time_rate == "—"
        ind = reports.indicators(ctx, quarter="2025Q3")
        assert ind.lines and ind.as_dict()["processing_time_formula"]
        with pytest.raises(UserError, match="ngày không tồn tại"):
            reports.quarterly(ctx, date_from="31/06/2025", date_to="14/09/2025", write=False)
    clerk = Actor(login="c", full_name="C", roles=frozenset({Role.COUNTER}))
    with open_context(workspace, clerk) as ctx, pytest.raises(AccessDenied):
        reports.indicators(ctx, quarter="2025Q3")
    data = cli(workspace, "report", "quarterly", "--from", "15/06/2025", "--to", "14/09/2025",
               "--json").json()
    assert data["period"]["start"] == "2025-06-15"


def test_integrity_results_and_exit_codes(workspace: Workspace, cli: RunCli,
                                          tmp_path: Path) -> None:
    ws = workspace
    with open_context(ws, os_actor()) as ctx:
        check = integrity.verify_audit(ctx)
        assert check.ok and check.entries == 0
        rep = integrity.verify_store(ctx)
        assert rep.ok and rep.files_checked == 0
        stray = ws.store / "originals" / "ab" / "lac-loai.bin"
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"x")
        rep = integrity.verify_store(ctx)
        assert not rep.ok and rep.problems[0]["kind_label"].startswith("THỪA")
        log = integrity.audit_log(ctx)
        assert [e.action_label for e in log.entries] == ["kiểm tra toàn vẹn kho"] * 2
        with pytest.raises(UserError, match="Chọn đúng một"):
            integrity.export_bag(ctx, tmp_path / "goi")
    res = cli(ws, "verify", check=False)
    assert res.exit_code == ExitCode.PROBLEMS_FOUND and "THỪA" in res.stdout
    exported = cli(ws, "export", str(tmp_path / "goi"), "--all", "--json").json()
    assert exported["documents"] == 0 and Path(exported["path"]).is_dir()


def test_status_shows_a_bidi_override_in_a_waiting_name_escaped(workspace: Workspace) -> None:
    """A right-to-left override in a file name must not reorder the web page's lines."""
    from motcua import db as motcua_db
    from motcua.services import intake as intake_service
    from motcua.services import open_context, os_actor

    name = "đơn\u202efdp.exe.pdf"
    conn = motcua_db.connect(workspace.db_path)
    try:
        conn.execute("INSERT INTO intake (source_path, original_name, state, created_at,"
                     " updated_at) VALUES (?, ?, 'pending', ?, ?)",
                     (str(workspace.inbox / name), name, motcua_db.now(), motcua_db.now()))
    finally:
        conn.close()
    with open_context(workspace, os_actor()) as ctx:
        waiting = intake_service.status(ctx, details=True).waiting
    assert waiting and all("\u202e" not in row["original_name"] + row["source_path"]
                           for row in waiting)
    assert "\\u202e" in waiting[0]["original_name"]
