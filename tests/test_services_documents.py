"""services.documents over a real ingested scan (real Tesseract, real SQLite, real index):
the one document view, assign/stamp/metadata naming the acting officer, search with
both date forms, file confinement, permissions, and the CLI printing the same dict."""

from __future__ import annotations

import shutil
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from motcua import db
from motcua.archive import audit, records
from motcua.archive.stamp import get_stamp, read_xmp_fields
from motcua.errors import ExitCode, UserError
from motcua.services import Actor, open_context, os_actor, resolve_cli_actor
from motcua.services import documents as svc
from motcua.services.access import AccessDenied, Role
from motcua.services.search import search
from motcua.workspace import Workspace, init_workspace
from tests import scans
from tests.conftest import RunCli, add_officer

DOSSIER = "000.00.07.H47-250716-0001"
OFFICER = Actor(login="lan.nguyen", full_name="Nguyễn Thị Lan", kind="user",
                roles=frozenset({Role.COUNTER, Role.SPECIALIST}))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One scan through the real pipeline, once per module; each test gets a copy."""
    from motcua.ingest import ingest_paths

    ws = init_workspace(tmp_path_factory.mktemp("template") / "ws")
    page = scans.render_page("clean", seed=7, header=False, max_lines=4,
                             extra_lines=["Số định danh cá nhân: 031320001234"])
    jpg = scans.write_jpeg(page, ws.root / "giay-to.jpg")
    (outcome,) = ingest_paths(ws, [jpg])
    assert outcome.state == "done" and outcome.document_id is not None
    return ws.root, outcome.document_id


@pytest.fixture
def doc(ingested: tuple[Path, int], tmp_path: Path) -> tuple[Workspace, int]:
    root, document_id = ingested
    shutil.copytree(root, tmp_path / "ws", symlinks=True)
    return init_workspace(tmp_path / "ws"), document_id


def test_view_is_one_dict_for_cli_and_web(doc: tuple[Workspace, int], cli: RunCli) -> None:
    ws, doc_id = doc
    with open_context(ws, os_actor()) as ctx:
        view = svc.view(ctx, doc_id)
    assert view.state == "indexed" and view.state_label == "đã số hóa, tra cứu được"
    day, clock = view.ingested_at_local.split(" ")
    assert len(day.split("/")) == 3 and len(clock) == 5  # dd/mm/yyyy HH:MM, centre time
    assert [f.kind for f in view.files] == ["original", "archival", "stamped"]
    assert all(f.present for f in view.files)
    assert view.pages and view.pages[0].page == 1
    assert any(i.value == "031320001234" and i.kind_label == "Số định danh cá nhân"
               for i in view.identifiers)
    assert view.stamp is not None and view.stamp["kind"] == "BẢN SỐ HÓA"

    printed = cli(ws, "show", str(doc_id), "--json").json()
    assert printed == view.as_dict()
    text = cli(ws, "show", str(doc_id)).stdout
    assert f"Nhận lúc: {view.ingested_at_local}" in text and "T" not in day
    assert "đã số hóa, tra cứu được" in text

    conn = db.connect(ws.db_path)
    try:
        views = [e for e in audit.entries(conn, f"document:{doc_id}") if e.action == "view"]
    finally:
        conn.close()
    assert len(views) == 3  # the service call and the two `show`s
    assert all(e.actor.endswith(f"(os:{os_actor().login})") for e in views)


def test_assign_names_the_officer_on_audit_and_stamp(doc: tuple[Workspace, int],
                                                      cli: RunCli) -> None:
    ws, doc_id = doc
    add_officer(ws, "lan.nguyen", "Nguyễn Thị Lan")
    with closing(db.connect(ws.db_path)) as conn, db.transaction(conn):
        records.ensure_dossier(conn, DOSSIER)  # issued: `assign` never makes one up
    cli(ws, "--as", "lan.nguyen", "assign", str(doc_id), DOSSIER)
    conn = db.connect(ws.db_path)
    try:
        (entry,) = [e for e in audit.entries(conn, f"document:{doc_id}") if e.action == "assign"]
        assert entry.actor == "Nguyễn Thị Lan (lan.nguyen)" and entry.details == {
            "dossier_code": DOSSIER}
        stamp = get_stamp(conn, doc_id)
        assert stamp is not None and stamp.fields.operator == "Nguyễn Thị Lan"
        assert stamp.fields.code == DOSSIER
        assert read_xmp_fields(ws.absolute(stamp.stamped_path)).dossier_code == DOSSIER
    finally:
        conn.close()
    # reindexed: the dossier filter finds it at once
    found = cli(ws, "search", "định danh", "--dossier", DOSSIER, "--json").json()
    assert {h["document_id"] for h in found["documents"]} == {doc_id}

    # The same through the service, with an officer's Actor given directly.
    with open_context(ws, OFFICER) as ctx:
        done = svc.assign(ctx, doc_id, DOSSIER)
        assert done.stamp.kind == "BẢN SỐ HÓA" and done.stamp.warning is None
        stamp = get_stamp(ctx.conn, doc_id)
        assert stamp is not None and stamp.fields.operator == "Nguyễn Thị Lan"
        last = audit.entries(ctx.conn, f"document:{doc_id}")[-1]
        assert last.actor == "Nguyễn Thị Lan (lan.nguyen)"
        with pytest.raises(UserError, match="không đúng dạng"):
            svc.assign(ctx, doc_id, "HS-1")
        with pytest.raises(UserError, match="Không có tài liệu số 999"):
            svc.assign(ctx, 999, DOSSIER)


def test_search_reads_both_date_forms_and_refuses_a_missing_day(
        doc: tuple[Workspace, int], cli: RunCli) -> None:
    ws, doc_id = doc
    today = date.today()
    for text in (today.strftime("%d/%m/%Y"), today.isoformat()):
        hits = cli(ws, "search", "định danh", "--from", text, "--json").json()["documents"]
        assert [h["document_id"] for h in hits] == [doc_id]
    assert cli(ws, "search", "định danh", "--to", "01/01/2001", "--json").json()[
        "documents"] == []
    bad = cli(ws, "search", "định danh", "--from", "31/02/2025", check=False)
    assert bad.exit_code == ExitCode.USER_ERROR
    assert "ngày không tồn tại" in bad.stderr and "31/02/2025" in bad.stderr
    with open_context(ws, os_actor()) as ctx:
        with pytest.raises(UserError, match="sau ngày kết thúc"):
            search(ctx, "định danh", date_from="02/01/2025", date_to="2025-01-01")
        result = search(ctx, "dinh danh", limit=1)
        assert result.total_documents == 1 and result.documents[0].has_archival
        assert "«" in result.documents[0].snippet_text() and not result.has_more
        assert result.as_dict()["documents"][0]["document_id"] == doc_id
        assert "<mark>" in result.as_dict()["documents"][0]["snippet"]


def test_metadata_change_restamps_and_is_audited(doc: tuple[Workspace, int],
                                                 cli: RunCli) -> None:
    ws, doc_id = doc
    with open_context(ws, OFFICER) as ctx:
        before = get_stamp(ctx.conn, doc_id)
        got = svc.set_meta(ctx, str(doc_id), {"number_symbol": "07/GKS", "valid_to":
                                              "31/12/2035", "name": None})
        assert got.changed and got.meta["valid_to"] == "2035-12-31"
        assert got.stamp is not None and got.stamp.warning is None
        after = get_stamp(ctx.conn, doc_id)
        assert before is not None and after is not None
        assert after.stamped_sha256 != before.stamped_sha256  # the QR carries the fields
        (entry,) = [e for e in audit.entries(ctx.conn, f"document:{doc_id}")
                    if e.action == "meta.update"]
        assert entry.actor == "Nguyễn Thị Lan (lan.nguyen)"
        unchanged = svc.set_meta(ctx, str(doc_id), {"name": None})
        assert not unchanged.changed and unchanged.stamp is None
        with pytest.raises(UserError, match="ngày không tồn tại"):
            svc.set_meta(ctx, str(doc_id), {"valid_from": "30/02/2030"})
    shown = cli(ws, "doc", "meta", str(doc_id)).stdout
    assert "hiệu lực đến ngày: 31/12/2035" in shown and "số, ký hiệu: 07/GKS" in shown


def test_files_are_confined_to_the_store(doc: tuple[Workspace, int]) -> None:
    ws, doc_id = doc
    with open_context(ws, OFFICER) as ctx:
        got = svc.file_of(ctx, doc_id, "archival")
        assert got.path.is_file() and got.filename.endswith("(PDF-A).pdf")
        assert audit.entries(ctx.conn, f"document:{doc_id}")[-1].action == "download"
        outside = ws.root / "motcua.toml"
        ctx.conn.execute("UPDATE documents SET archival_path = ? WHERE id = ?",
                         (f"store/../{outside.name}", doc_id))
        with pytest.raises(UserError, match="Không tìm thấy bản lưu trữ PDF/A"):
            svc.file_of(ctx, doc_id, "archival")
        view = svc.view(ctx, doc_id, record_view=False)
        assert [f.present for f in view.files] == [True, False, True]
        with pytest.raises(UserError, match="Không có loại tệp"):
            svc.file_of(ctx, doc_id, "../../etc/passwd")


def test_roles_are_checked_at_the_service(doc: tuple[Workspace, int]) -> None:
    ws, doc_id = doc
    leader = Actor(login="truong", full_name="Trần Văn Trưởng", roles=frozenset({Role.LEADER}))
    nobody = Actor(login="x", full_name="x", roles=frozenset())
    with open_context(ws, leader) as ctx:
        assert svc.view(ctx, doc_id).id == doc_id  # read-only is allowed
        for change in (lambda: svc.assign(ctx, doc_id, DOSSIER),
                       lambda: svc.set_meta(ctx, str(doc_id), {"name": "x"}),
                       lambda: svc.stamp(ctx, [str(doc_id)]),
                       lambda: svc.reindex(ctx)):
            with pytest.raises(AccessDenied) as err:
                change()
            assert err.value.exit_code == ExitCode.ACCESS_DENIED
    with open_context(ws, nobody) as ctx, pytest.raises(AccessDenied):
        svc.view(ctx, doc_id)


def test_reindex_and_stamp_missing(doc: tuple[Workspace, int], cli: RunCli) -> None:
    ws, doc_id = doc
    with open_context(ws, os_actor()) as ctx:
        done = svc.reindex(ctx)
        assert (done.documents, done.pages) == (1, 1)
        assert search(ctx, "định danh").documents[0].document_id == doc_id
        assert svc.stamp(ctx, missing=True).all_stamped
        with pytest.raises(UserError, match="--missing"):
            svc.stamp(ctx)
    out = cli(ws, "reindex", "--json").json()
    assert out == {"documents": 1, "pages": 1}


def test_cli_actor_is_the_os_account_unless_named(doc: tuple[Workspace, int],
                                                   cli: RunCli) -> None:
    ws, doc_id = doc
    os_user = resolve_cli_actor(ws, None)
    assert os_user.kind == "os" and os_user.roles and os_user.audit_name.endswith(
        f"(os:{os_user.login})")
    add_officer(ws, "hoa", "Lê Thị Hoa", ("lanh_dao",))
    named = resolve_cli_actor(ws, " hoa ")
    assert (named.kind, named.login, named.audit_name, named.roles) == (
        "user", "hoa", "Lê Thị Hoa (hoa)", frozenset({"lanh_dao"}))
    with pytest.raises(UserError):
        resolve_cli_actor(ws, "khong-co-ai")
    # the officer's roles hold on the command line too: a leader may read, not assign
    assert cli(ws, "--as", "hoa", "show", str(doc_id)).exit_code == 0
    refused = cli(ws, "assign", str(doc_id), DOSSIER, env={"MOTCUA_USER": "hoa"}, check=False)
    assert refused.exit_code == ExitCode.ACCESS_DENIED and "không có quyền" in refused.stderr
    unknown = cli(ws, "--as", "khong-co-ai", "show", str(doc_id), check=False)
    assert unknown.exit_code == ExitCode.USER_ERROR
