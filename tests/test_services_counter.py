"""services.counter with real SQLite and real DOCX forms: the acting officer on the audit
log, the stamp and form 01; times stored UTC and shown in the centre's zone; both date
forms accepted; one sort for dossiers; the UTC migration of old rows."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from docx import Document

from motcua import db
from motcua.archive import audit
from motcua.archive.owners import add_owner
from motcua.archive.stamp import get_stamp
from motcua.errors import UserError
from motcua.services import Actor, open_context, os_actor
from motcua.services import counter as svc
from motcua.services.access import AccessDenied, Role
from motcua.workspace import Workspace, init_workspace
from tests.conftest import RunCli, add_officer

OWNER = "001085012345"
PROCEDURE = "1.004873"  # 3 working days
OFFICER = Actor(login="lan.nguyen", full_name="Nguyễn Thị Lan", kind="user",
                roles=frozenset({Role.COUNTER}))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    conn = db.connect(ws.db_path)
    add_owner(conn, OWNER, "Nguyễn Văn An", "test")
    conn.close()
    return ws


def result_pdf(path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Title"] = path.stem
    pdf.save(path)
    return path


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_receive_and_resolve_name_the_officer(ws: Workspace, tmp_path: Path) -> None:
    with open_context(ws, OFFICER) as ctx:
        got = svc.receive(ctx, PROCEDURE, OWNER, "direct", at="13/02/2026 06:00", pdf=False)
        rec = got.record
        assert rec["received_at"] == "2026-02-12T23:00:00+00:00"  # stored UTC
        assert got.received_at_local == "13/02/2026 06:00"        # shown in the centre
        assert (rec["received_on"], rec["due_date"]) == ("2026-02-13", "2026-02-25")
        assert got.receipt is not None and got.receipt.pdf is None
        form = docx_text(Path(got.receipt.docx))
        assert "Nguyễn Thị Lan" in form and rec["code"] in form
        entry = audit.entries(ctx.conn, f"dossier:{rec['code']}")[-1]
        assert (entry.action, entry.actor) == ("dossier.receive", "Nguyễn Thị Lan (lan.nguyen)")

        done = svc.resolve(ctx, rec["code"], result_pdf(tmp_path / "kq.pdf"),
                           at="2026-02-24 15:00")
        assert (done.outcome, done.outcome_label) == ("early", "trước hạn")
        assert done.record["resolved_at"] == "2026-02-24T08:00:00+00:00"
        assert done.stamp is not None and done.stamp.warning is None and done.indexed
        stamp = get_stamp(ctx.conn, done.document_id)
        assert stamp is not None and stamp.fields.operator == "Nguyễn Thị Lan"
        assert stamp.kind == "KẾT QUẢ ĐIỆN TỬ"
        with pytest.raises(UserError, match="đã được giải quyết lúc 15:00 ngày 24/02/2026"):
            svc.resolve(ctx, rec["code"], result_pdf(tmp_path / "kq2.pdf"))

        view = svc.dossier_view(ctx, rec["code"])
        assert view.dossier is not None
        assert view.dossier["received_at_local"] == "13/02/2026 06:00"
        assert view.dossier["resolved_at_local"] == "24/02/2026 15:00"
        assert view.dossier["outcome_label"] == "trước hạn"
        assert view.dossier["channel_label"] == "trực tiếp"
        assert [d["result_code"] for d in view.documents] == [done.result_code]
        assert audit.entries(ctx.conn, f"dossier:{rec['code']}")[-1].action == "view"


def test_the_os_account_receives_with_the_configured_receiver(ws: Workspace) -> None:
    with open_context(ws, os_actor()) as ctx:
        got = svc.receive(ctx, PROCEDURE, OWNER, "online", pdf=False)
        assert got.receipt is not None
        form = docx_text(Path(got.receipt.docx))
        assert ws.config.ingest.operator in form
        entry = audit.entries(ctx.conn, f"dossier:{got.record['code']}")[-1]
        assert entry.actor == os_actor().audit_name and "(os:" in entry.actor


def test_bad_input_is_refused_in_vietnamese(ws: Workspace) -> None:
    with open_context(ws, OFFICER) as ctx:
        with pytest.raises(UserError, match="ngày hoặc giờ không tồn tại"):
            svc.receive(ctx, PROCEDURE, OWNER, "direct", at="30/02/2026 08:00", pdf=False)
        with pytest.raises(UserError, match="Kênh tiếp nhận “fax” không hợp lệ"):
            svc.receive(ctx, PROCEDURE, OWNER, "fax", print_receipt=False)
        with pytest.raises(UserError, match="Không có hồ sơ mã X"):
            svc.dossier_view(ctx, "X")
        assert ctx.conn.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0] == 0


def test_list_orders_by_the_instant_newest_first(ws: Workspace) -> None:
    with open_context(ws, OFFICER) as ctx:
        a = svc.receive(ctx, PROCEDURE, OWNER, "direct", at="13/02/2026 06:30",
                        print_receipt=False).record["code"]
        # given in UTC: 06:45 in Vietnam, after a
        c = svc.receive(ctx, PROCEDURE, OWNER, "online", at="2026-02-12T23:45:00+00:00",
                        print_receipt=False).record["code"]
        b = svc.receive(ctx, PROCEDURE, OWNER, "post", at="12/02/2026 17:00",
                        print_receipt=False).record["code"]
        listed = svc.dossier_list(ctx, newest_first=True, unassigned=5)
        assert [d.code for d in listed.dossiers] == [c, a, b]
        assert [d.received_at_local for d in listed.dossiers] == [
            "13/02/2026 06:45", "13/02/2026 06:30", "12/02/2026 17:00"]
        assert listed.dossiers[0].channel_label == "trực tuyến"
        assert listed.unassigned == ()
        oldest = svc.dossier_list(ctx, owner_id=OWNER)
        assert [d.code for d in oldest.dossiers] == [b, a, c]


def test_overdue_reads_both_date_forms(ws: Workspace, cli: RunCli) -> None:
    with open_context(ws, OFFICER) as ctx:
        code = svc.receive(ctx, PROCEDURE, OWNER, "direct", at="23/02/2026 09:00",
                           print_receipt=False).record["code"]  # due Thu 26/02/2026
        for day in ("02/03/2026", "2026-03-02"):
            rep = svc.overdue(ctx, day)
            assert [o.record["code"] for o in rep.overdue] == [code]
            assert rep.overdue[0].days_late == 4
        assert svc.overdue(ctx, "26/02/2026").overdue == ()
    text = cli(ws, "overdue", "--on", "02/03/2026").stdout
    assert "tính đến ngày 02/03/2026" in text and "hẹn 26/02/2026" in text
    bad = cli(ws, "overdue", "--on", "29/02/2026", check=False)
    assert bad.exit_code == 1 and "ngày không tồn tại" in bad.stderr


def test_roles_are_checked(ws: Workspace) -> None:
    leader = Actor(login="truong", full_name="Trần Văn Trưởng", roles=frozenset({Role.LEADER}))
    with open_context(ws, leader) as ctx:
        with pytest.raises(AccessDenied):
            svc.receive(ctx, PROCEDURE, OWNER, "direct", print_receipt=False)
        with pytest.raises(AccessDenied):
            svc.overdue(ctx, letters=True)
        assert svc.overdue(ctx).overdue == ()  # reading is allowed
        with pytest.raises(AccessDenied):
            svc.add_owner(ctx, "036190000123", "Trần Thị Bình")


def test_cli_receive_prints_centre_time_and_json_keeps_its_shape(ws: Workspace,
                                                                cli: RunCli) -> None:
    add_officer(ws, "lan.nguyen", "Nguyễn Thị Lan", ("tiep_nhan",))
    out = cli(ws, "--as", "lan.nguyen", "dossier", "receive", "-p", PROCEDURE, "-o", OWNER,
              "-c", "direct", "--at", "13/02/2026 06:00", "--no-print", tz="UTC").stdout
    assert "Thời điểm tiếp nhận: 13/02/2026 06:00" in out and "25/02/2026" in out
    data = cli(ws, "dossier", "receive", "-p", PROCEDURE, "-o", OWNER, "-c", "online",
               "--no-print", "--json").json()
    assert {"code", "received_at", "due_date", "reuse", "receipt"} <= set(data)
    assert data["receipt"] is None and data["received_at"].endswith("+00:00")
    shown = cli(ws, "dossier", "show", data["code"], "--json").json()
    assert shown["dossier"]["code"] == data["code"] and shown["missing_types"]
    listed = cli(ws, "dossier", "list").stdout
    assert "nhận 13/02/2026 06:00" in listed and "Tổng cộng: 2 hồ sơ" in listed


def test_old_local_times_are_migrated_to_utc(ws: Workspace) -> None:
    """Rows written before the migration held the centre's time with its offset."""
    conn = db.connect(ws.db_path)
    try:
        conn.execute("INSERT INTO dossiers (code, created_at, received_at, resolved_at)"
                     " VALUES ('A', '2026-01-01T00:00:00+00:00', '2026-02-13T06:00:00+07:00',"
                     " '2026-02-24T15:00:00+07:00'), ('B', '2026-01-01T00:00:00+00:00',"
                     " '2026-02-13T06:00:00Z', NULL), ('C', '2026-01-01T00:00:00+00:00',"
                     " 'không rõ', NULL)")
        conn.execute("DELETE FROM migrations WHERE name = 'dossier_times_utc_0001'")
        db.migrate(conn)
        rows = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT code, received_at, resolved_at FROM dossiers")}
    finally:
        conn.close()
    assert rows == {"A": ("2026-02-12T23:00:00+00:00", "2026-02-24T08:00:00+00:00"),
                    "B": ("2026-02-13T06:00:00+00:00", None),
                    "C": ("không rõ", None)}
