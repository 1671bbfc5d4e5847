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
