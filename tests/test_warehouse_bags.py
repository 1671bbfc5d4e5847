"""Export to BagIt and import into an empty workspace; tampered bags are refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

from motcua import db
from motcua.archive import audit
from motcua.archive.bags import export_bag, import_bag
from motcua.archive.catalogue import load_catalogue
from motcua.archive.documents import add_result, set_meta
from motcua.archive.fixity import verify_store
from motcua.archive.indexing import index_document
from motcua.archive.owners import add_owner
from motcua.archive.stamp import stamp_document
from motcua.cli import main
from motcua.counter.dossiers import new_dossier
from motcua.errors import UserError
from motcua.index import open_engine
from motcua.workspace import Workspace, init_workspace
from tests.test_warehouse import tiny_pdf
from tests.test_warehouse_helpers import LINES, insert_archived, make_pdfa

ALICE = "001190012345"


def _snapshot(conn: sqlite3.Connection) -> dict[str, object]:
    """Everything that must survive an export/import, keyed by content, not row ids."""
    docs = {}
    for d in conn.execute("SELECT * FROM documents ORDER BY sha256"):
        meta = conn.execute("SELECT * FROM document_meta WHERE document_id = ?",
                            (d["id"],)).fetchone()
        stamp = conn.execute("SELECT stamped_path, stamped_sha256, fields_json FROM stamps"
                             " WHERE document_id = ?", (d["id"],)).fetchone()
        docs[d["sha256"]] = {
            "row": {k: v for k, v in dict(d).items() if k not in ("id", "state", "updated_at")},
            "meta": {k: v for k, v in dict(meta).items() if k != "document_id"} if meta else None,
            "stamp": tuple(stamp) if stamp else None,
            "pages": [tuple(p) for p in conn.execute(
                "SELECT page_no, text, confidence FROM pages WHERE document_id = ?"
                " ORDER BY page_no", (d["id"],))],
        }
    return {
        "docs": docs,
        "owners": [tuple(r) for r in conn.execute("SELECT * FROM owners ORDER BY id")],
        "dossiers": [tuple(r) for r in conn.execute("SELECT * FROM dossiers ORDER BY code")],
        "reuses": sorted(
            (r["sha256"], r["dossier_code"], r["status"], r["mode"], r["actor"])
            for r in conn.execute("SELECT d.sha256, r.* FROM reuses r"
                                  " JOIN documents d ON d.id = r.document_id")),
    }


def _hits(ws: Workspace, conn: sqlite3.Connection, query: str) -> list[tuple[object, ...]]:
    engine = open_engine(ws.index_dir, ws.config.index.engine)
    try:
        hits = engine.search(query)
    finally:
        engine.close()
    sha = {r[0]: r[1] for r in conn.execute("SELECT id, sha256 FROM documents")}
    return [(sha[h.document_id], h.best_page, h.dossier_code, h.original_name, h.snippet_text())
            for h in hits]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, sqlite3.Connection, str]:
    tmp = tmp_path_factory.mktemp("src")
    ws = init_workspace(tmp / "ws")
    conn = db.connect(ws.db_path)
    add_owner(conn, ALICE, "Trần Thị An", "test")
    cat = load_catalogue(ws)
    first = new_dossier(ws, conn, cat, procedure_code="1.000656", owner_id=ALICE,
                        channel="direct", actor="test").dossier.code
    scan = make_pdfa(tmp, "giay-khai-sinh", ocr=False)
    text = "\n".join(t for _, t in LINES)
    cccd = insert_archived(ws, conn, scan, first, "cccd.pdf", text=text)
    set_meta(conn, cccd, "test", {"type_code": "cccd", "owner_id": ALICE,
                                  "name": "Căn cước công dân Trần Thị An",
                                  "valid_to": "2099-12-31", "issuing_body": "Bộ Công an"})
    stamp_document(ws, conn, cccd, "Lê Thị Thu Hà")
    second = new_dossier(ws, conn, cat, procedure_code="2.000815", owner_id=ALICE,
                         channel="online", actor="test").dossier.code  # reuses the cccd
    form = insert_archived(ws, conn, tiny_pdf(tmp / "ban-chinh.pdf", "Bằng tốt nghiệp"),
                           second, "ban-chinh.pdf", text="Bằng tốt nghiệp trung học phổ thông")
    set_meta(conn, form, "test", {"type_code": "ban_chinh_can_chung_thuc", "owner_id": ALICE})
    res = add_result(ws, conn, tiny_pdf(tmp / "ket-qua.pdf", "Ban sao chung thuc"), second,
                     "test", {"name": "Bản sao chứng thực", "valid_to": "2030-01-01"})
    stamp_document(ws, conn, res.document_id, "Lê Thị Thu Hà")
    engine = open_engine(ws.index_dir, ws.config.index.engine)
    try:
        for (doc_id,) in conn.execute("SELECT id FROM documents").fetchall():
            index_document(conn, engine, doc_id)
    finally:
        engine.close()
    return ws, conn, second


def test_export_dossier_then_import_into_empty_workspace(
        source: tuple[Workspace, sqlite3.Connection, str], tmp_path: Path) -> None:
    ws, conn, dossier = source
    bag_dir = tmp_path / "bag"
    res = CliRunner().invoke(main, ["-w", str(ws.root), "export", "--dossier", dossier,
                                    str(bag_dir)])
    assert res.exit_code == 0, res.output
    assert bagit.Bag(str(bag_dir)).is_valid()
    meta = json.loads((bag_dir / "data" / "metadata.json").read_text(encoding="utf-8"))
    assert {d["row"]["original_name"] for d in meta["documents"]} == {
        "cccd.pdf", "ban-chinh.pdf", "ket-qua.pdf"}  # the reused cccd comes along
    assert audit.entries(conn, f"dossier:{dossier}")[-1].action == "export"

    target = init_workspace(tmp_path / "empty")
    res = CliRunner().invoke(main, ["-w", str(target.root), "import", str(bag_dir)])
    assert res.exit_code == 0, res.output
    assert "Đã nhập 3 tài liệu mới" in res.output
    tconn = db.connect(target.db_path)
    before, after = _snapshot(conn), _snapshot(tconn)
    # Same checksums, rows, metadata, pages, stamps and reuses (the first dossier too,
    # as the reused document's home).
    assert after == before
    for rel, sha in tconn.execute("SELECT original_path, sha256 FROM documents UNION ALL"
                                  " SELECT archival_path, archival_sha256 FROM documents"
                                  " WHERE archival_path IS NOT NULL UNION ALL"
                                  " SELECT stamped_path, stamped_sha256 FROM stamps"):
        assert (target.root / rel).read_bytes() == (ws.root / rel).read_bytes()
        from motcua.archive.store import sha256_file
        assert sha256_file(target.root / rel) == sha
    assert verify_store(target, tconn).ok
    # Same search results.
    for query in ("Nguyễn Thị Hồng Nhung", "giay khai sinh", "bằng tốt nghiệp", "tran thi mai"):
        expected = _hits(ws, conn, query)
        assert expected, query
        assert _hits(target, tconn, query) == expected
    assert audit.verify(tconn) == []
    # Importing again changes nothing.
    again = import_bag(target, tconn, bag_dir, "test")
    assert again.documents == 0 and again.skipped_documents == 3
    assert _snapshot(tconn) == before


@pytest.mark.parametrize("how", ["payload", "metadata", "missing", "extra"])
def test_tampered_bag_is_refused(source: tuple[Workspace, sqlite3.Connection, str],
                                 tmp_path: Path, how: str) -> None:
    ws, conn, dossier = source
    bag_dir = tmp_path / "bag"
    export_bag(ws, conn, bag_dir, "test", dossier=dossier)
    files = sorted((bag_dir / "data" / "files").rglob("*.pdf"))
    if how == "payload":
        data = bytearray(files[0].read_bytes())
        data[len(data) // 2] ^= 0x01
        files[0].write_bytes(bytes(data))
    elif how == "metadata":
        path = bag_dir / "data" / "metadata.json"
        path.write_text(path.read_text(encoding="utf-8").replace("Trần Thị An", "Trần Thị Ân"),
                        encoding="utf-8")
    elif how == "missing":
        files[-1].unlink()
    else:
        (bag_dir / "data" / "files" / "them.pdf").write_bytes(b"%PDF-1.4")
    target = init_workspace(tmp_path / "empty")
    tconn = db.connect(target.db_path)
    with pytest.raises(UserError) as err:
        import_bag(target, tconn, bag_dir, "test")
    assert "Từ chối nhập gói dữ liệu" in err.value.message
    assert "Không có dữ liệu nào được nhập" in err.value.message
    assert tconn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
    assert tconn.execute("SELECT COUNT(*) FROM owners").fetchone()[0] == 0
    assert not any((target.store / "originals").rglob("*.pdf"))
    res = CliRunner().invoke(main, ["-w", str(target.root), "import", str(bag_dir)])
    assert res.exit_code == 1 and "Từ chối nhập" in res.output


def test_export_by_owner_and_all(source: tuple[Workspace, sqlite3.Connection, str],
                                 tmp_path: Path) -> None:
    ws, conn, _ = source
    by_owner = export_bag(ws, conn, tmp_path / "owner", "test", owner=ALICE)
    everything = export_bag(ws, conn, tmp_path / "all", "test")
    assert by_owner.documents == everything.documents == 3
    assert by_owner.dossiers == 2
    with pytest.raises(UserError, match="không trống"):
        export_bag(ws, conn, tmp_path / "all", "test")
    res = CliRunner().invoke(main, ["-w", str(ws.root), "export", str(tmp_path / "x")])
    assert res.exit_code == 1 and "Chọn đúng một" in res.output
