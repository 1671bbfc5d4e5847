"""Data that can be repaired (issue 11): `assign` never makes up a dossier, and moving a
document out of the dossier it is filed under needs `--move`. Real SQLite, real PDF and
stamp, the real CLI."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from motcua import db
from motcua.archive import audit
from motcua.archive.stamp import get_stamp
from motcua.services import counter, open_context
from motcua.workspace import init_workspace
from tests.conftest import RunCli
from tests.web_kit import ADMIN_ACTOR, CITIZEN_ID, DOSSIER, small_archive

NEVER_ISSUED = "000.00.07.H47-250716-0099"
OTHER = "000.00.07.H47-250716-0002"


def test_assign_refuses_an_unissued_code_and_moves_only_when_confirmed(
        tmp_path: Path, cli: RunCli) -> None:
    ws = init_workspace(tmp_path / "ws")
    doc_id = small_archive(ws)  # filed under DOSSIER

    refused = cli(ws, "assign", str(doc_id), NEVER_ISSUED, check=False)
    assert refused.exit_code != 0
    assert f"Không có hồ sơ mã {NEVER_ISSUED}: mã này chưa được cấp" in refused.output
    with closing(db.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM dossiers WHERE code = ?",
                            (NEVER_ISSUED,)).fetchone()[0] == 0
        assert conn.execute("SELECT dossier_code FROM documents WHERE id = ?",
                            (doc_id,)).fetchone()[0] == DOSSIER

    with open_context(ws, ADMIN_ACTOR) as ctx:
        counter.new_dossier(ctx, "1.004873", CITIZEN_ID, code=OTHER)
    unconfirmed = cli(ws, "assign", str(doc_id), OTHER, check=False)
    assert unconfirmed.exit_code != 0
    assert f"đang thuộc hồ sơ {DOSSIER}" in unconfirmed.output and "--move" in unconfirmed.output

    moved = cli(ws, "assign", str(doc_id), OTHER, "--move")
    assert f"vào hồ sơ {OTHER}" in moved.stdout
    with closing(db.connect(ws.db_path)) as conn:
        (entry,) = [e for e in audit.entries(conn, f"document:{doc_id}")
                    if e.action == "assign"]
        assert entry.details == {"dossier_code": OTHER, "moved_from": DOSSIER}
        stamp = get_stamp(conn, doc_id)
        assert stamp is not None and stamp.fields.code == OTHER  # re-stamped


def test_edit_restamps_and_cancel_leaves_the_overdue_list(tmp_path: Path, cli: RunCli) -> None:
    ws = init_workspace(tmp_path / "ws")
    doc_id = small_archive(ws)
    other_owner = "001090054321"
    cli(ws, "owner", "add", other_owner, "--name", "Đỗ Thị Muộn")
    # Received long ago for a 3-day procedure: overdue today.
    got = cli(ws, "dossier", "receive", "-p", "1.004873", "-o", CITIZEN_ID, "-c", "direct",
              "--at", "02/01/2025 09:00", "--no-print", "--json").json()
    code = got["code"]
    cli(ws, "assign", str(doc_id), code, "--move")  # stamped with the dossier's values

    nothing = cli(ws, "dossier", "edit", code, "-c", got["channel"], check=False)
    assert nothing.exit_code != 0 and "Không có gì thay đổi" in nothing.output
    bad = cli(ws, "dossier", "edit", code, "-o", "12345", check=False)
    assert bad.exit_code != 0

    edited = cli(ws, "dossier", "edit", code, "-o", other_owner, "-p", "1.000894",
                 "-c", "post", "--json").json()
    assert edited["changes"]["owner_id"] == [CITIZEN_ID, other_owner]
    assert edited["changes"]["procedure_code"] == ["1.004873", "1.000894"]
    assert edited["changes"]["channel"] == ["direct", "post"]
    assert edited["restamped"] == [doc_id]
    with closing(db.connect(ws.db_path)) as conn:
        stamp = get_stamp(conn, doc_id)
        assert stamp is not None and stamp.fields.owner_id == other_owner
        assert stamp.fields.procedure_code == "1.000894"
        (entry,) = [e for e in audit.entries(conn, f"dossier:{code}")
                    if e.action == "dossier.edit"]
        assert entry.details["changes"]["owner_id"] == [CITIZEN_ID, other_owner]

    assert code in cli(ws, "overdue").stdout
    refused = cli(ws, "dossier", "cancel", code, "-r", "  ", check=False)
    assert refused.exit_code != 0 and "Ghi lý do hủy hồ sơ." in refused.output
    cli(ws, "dossier", "cancel", code, "-r", "Công dân rút hồ sơ")
    assert code not in cli(ws, "overdue").stdout
    again = cli(ws, "dossier", "cancel", code, "-r", "lần hai", check=False)
    assert again.exit_code != 0 and "đã hủy" in again.output
    with closing(db.connect(ws.db_path)) as conn:
        assert [e.details for e in audit.entries(conn, f"dossier:{code}")
                if e.action == "dossier.cancel"] == [{"reason": "Công dân rút hồ sơ"}]


def test_ingest_prints_the_number_of_every_archived_file(tmp_path: Path, cli: RunCli) -> None:
    from tests.intake_kit import tiny_scan

    ws = init_workspace(tmp_path / "ws")
    (ws.inbox / "mot.jpg").write_bytes(tiny_scan(3))
    (ws.inbox / "hai.jpg").write_bytes(tiny_scan(4))
    out = cli(ws, "ingest", str(ws.inbox)).stdout
    with closing(db.connect(ws.db_path)) as conn:
        numbers = {r[0]: r[1] for r in conn.execute("SELECT original_name, id FROM documents")}
    assert set(numbers) == {"mot.jpg", "hai.jpg"}
    for name, doc_id in numbers.items():
        assert any(name in line and line.endswith(f"→ #{doc_id}") for line in out.splitlines()), out


def test_merge_moves_documents_and_cancels_the_duplicate(tmp_path: Path, cli: RunCli) -> None:
    ws = init_workspace(tmp_path / "ws")
    doc_id = small_archive(ws)  # in DOSSIER
    with open_context(ws, ADMIN_ACTOR) as ctx:
        counter.new_dossier(ctx, "1.004873", CITIZEN_ID, code=OTHER)
        counter.add_note(ctx, DOSSIER, "Bản trùng, gộp lại")
    cli(ws, "assign", str(doc_id), DOSSIER)  # stamped with DOSSIER's code
    out = cli(ws, "dossier", "merge", DOSSIER, OTHER).stdout
    assert f"tài liệu chuyển: #{doc_id}" in out
    with closing(db.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT dossier_code FROM documents WHERE id = ?",
                            (doc_id,)).fetchone()[0] == OTHER
        row = conn.execute("SELECT cancelled_at, cancel_reason FROM dossiers WHERE code = ?",
                           (DOSSIER,)).fetchone()
        assert row[0] and row[1] == f"Đã gộp vào hồ sơ {OTHER}"
        stamp = get_stamp(conn, doc_id)
        assert stamp is not None and stamp.fields.code == OTHER
        assert [e.action for e in audit.entries(conn, f"dossier:{OTHER}")
                if e.action == "dossier.merge"] == ["dossier.merge"]
    with open_context(ws, ADMIN_ACTOR) as ctx:
        assert [n.body for n in counter.notes(ctx, OTHER)] == ["Bản trùng, gộp lại"]
    again = cli(ws, "dossier", "merge", DOSSIER, OTHER, check=False)
    assert again.exit_code != 0 and "đã hủy" in again.output


def test_result_add_again_applies_the_metadata_or_says_why(tmp_path: Path,
                                                          cli: RunCli) -> None:
    from tests import scans

    ws = init_workspace(tmp_path / "ws")
    small_archive(ws)
    code = cli(ws, "dossier", "new", "-p", "1.000894", "-o", CITIZEN_ID, "--json"
               ).json()["dossier"]["code"]
    pdf = scans.write_pdf([scans.render_page("clean", 9, max_lines=2)], tmp_path / "kq.pdf")
    first = cli(ws, "result", "add", str(pdf), "-d", code, "--valid-to", "31/12/2030")
    assert f"Đã lưu kết quả {code}-KQ1" in first.stdout
    again = cli(ws, "result", "add", str(pdf), "-d", code, "--valid-to", "31/12/2035",
                "--name", "Giấy chứng nhận kết hôn")
    assert "Tệp đã có trong kho" in again.stdout and "đã cập nhật" in again.stdout
    with closing(db.connect(ws.db_path)) as conn:
        row = conn.execute("SELECT m.valid_to, m.name, m.result_code, d.id FROM document_meta m"
                           " JOIN documents d ON d.id = m.document_id WHERE d.dossier_code = ?",
                           (code,)).fetchall()
        assert [tuple(r)[:3] for r in row] == [("2035-12-31", "Giấy chứng nhận kết hôn",
                                                f"{code}-KQ1")]
        stamp = get_stamp(conn, row[0][3])
        assert stamp is not None and stamp.fields.valid_to == "2035-12-31"  # re-stamped
    bad = cli(ws, "result", "add", str(pdf), "-d", code, "--valid-to", "31/13/2035",
              check=False)
    assert bad.exit_code != 0 and "31/13/2035" in bad.output


def test_a_code_never_issued_files_nothing_and_the_desk_says_why(tmp_path: Path,
                                                                 cli: RunCli) -> None:
    """A scan in an inbox folder named after a code the counter never issued, one in a
    folder whose name is no dossier code, and one whose text names an unissued code are
    archived in no dossier; no dossier is made up; the ingest line, the desk, the document
    list and the document page say why; filing one by hand clears its reason."""
    from motcua.services import documents
    from tests.intake_kit import tiny_scan
    from tests.web_kit import client_for, make_officers

    ws = init_workspace(tmp_path / "ws")
    (ws.inbox / NEVER_ISSUED).mkdir()
    (ws.inbox / NEVER_ISSUED / "don.jpg").write_bytes(tiny_scan(1))
    (ws.inbox / "may-quet-1").mkdir()
    (ws.inbox / "may-quet-1" / "to-khai.jpg").write_bytes(tiny_scan(2))
    (ws.inbox / "giay-hen.jpg").write_bytes(tiny_scan(3, f"Mã hồ sơ: {OTHER}", width=1900))

    out = cli(ws, "ingest", str(ws.inbox)).stdout
    assert f"«{NEVER_ISSUED}» mang mã hồ sơ chưa được cấp" in out
    assert "«may-quet-1» không phải là mã hồ sơ" in out
    assert f"ghi mã hồ sơ {OTHER} nhưng mã này chưa được cấp" in out
    with closing(db.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0] == 0
        rows = {r["original_name"]: r for r in conn.execute("SELECT * FROM documents")}
    assert {n: (r["dossier_code"], r["unfiled_reason"]) for n, r in rows.items()} == {
        "don.jpg": (None, "folder_unknown_code"),
        "to-khai.jpg": (None, "folder_not_a_code"),
        "giay-hen.jpg": (None, "text_unknown_code")}

    with open_context(ws, ADMIN_ACTOR) as ctx:
        desk = counter.desk(ctx)
        assert desk.unfiled == 3
        assert {r["original_name"] for r in desk.misfiled} == set(rows)
        listed = documents.find_documents(ctx, unassigned=True).documents
        assert all(d.unfiled_reason for d in listed) and len(listed) == 3
        # The counter now issues OTHER and files the appointment slip under it by hand.
        counter.add_owner(ctx, CITIZEN_ID, "Nguyễn Văn Hưởng")
        counter.new_dossier(ctx, "1.004873", CITIZEN_ID, code=OTHER)
        documents.assign(ctx, rows["giay-hen.jpg"]["id"], OTHER)
        assert documents.view(ctx, rows["giay-hen.jpg"]["id"]).unfiled_reason == ""
        assert len(counter.desk(ctx).misfiled) == 2

    make_officers(ws)
    with client_for(ws, "tiepnhan") as client:
        page = client.get("/ban-lam-viec").text
        assert "Tài liệu chưa gắn được vào hồ sơ" in page
        assert f"Thư mục «{NEVER_ISSUED}» mang mã hồ sơ chưa được cấp" in page
        doc_page = client.get(f"/documents/{rows['to-khai.jpg']['id']}").text
        assert "«may-quet-1» không phải là mã hồ sơ" in doc_page
        due = client.get("/dossiers", params={"status": "due_today"})
        assert due.status_code == 200 and "Đến hạn hôm nay" in due.text
