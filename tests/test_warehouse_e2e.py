"""End to end through the real pipeline: a scan dropped under its dossier folder is
ingested (OCR, PDF/A, index), described, stamped, reused, verified, exported, imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pikepdf.pdfa

from motcua import db
from motcua.archive import audit
from motcua.archive.fixity import verify_store
from motcua.archive.stamp import KIND_SCAN, read_xmp_fields, stamp_document
from motcua.index import open_engine
from motcua.ingest import ingest_paths
from motcua.workspace import init_workspace
from tests.conftest import run_cli
from tests.test_warehouse_helpers import make_scan_png

CODE = "000.00.07.H47-250716-0001"
CHILD_MOTHER = "031190001234"


def test_scan_to_stamped_reused_exported(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    folder = tmp_path / CODE
    folder.mkdir()
    make_scan_png(folder / "giay-khai-sinh.png")

    def cli(*args: str) -> str:
        return run_cli(ws, *args).output

    cli("owner", "add", CHILD_MOTHER, "--name", "Trần Thị Mai")
    # The counter issued the code; a scan in a folder named after it is filed there.
    cli("dossier", "new", "--code", CODE, "-p", "1.001193", "-o", CHILD_MOTHER)
    [outcome] = ingest_paths(ws, [folder])
    assert outcome.state == "done" and outcome.document_id is not None
    doc_id = outcome.document_id
    assert f"hồ sơ {CODE}" in outcome.message
    cli("doc", "meta", str(doc_id), "--type", "giay_khai_sinh", "--owner", CHILD_MOTHER,
        "--name", "Giấy khai sinh Nguyễn Thị Hồng Nhung", "--number", "07/GKS-UBND",
        "--issued", "05/01/2020", "--issuer", "UBND xã Gia Lộc")
    conn = db.connect(ws.db_path)
    rec = stamp_document(ws, conn, doc_id)
    assert rec.fields.kind == KIND_SCAN and rec.fields.code == CODE
    assert rec.fields.operator == ws.config.ingest.operator
    assert pikepdf.pdfa.validate_written(ws.root / rec.stamped_path, "2b").passed
    assert read_xmp_fields(ws.root / rec.stamped_path) == rec.fields
    # A later dossier of the same owner reuses the birth certificate automatically.
    out = cli("dossier", "new", "-p", "1.000894", "-o", CHILD_MOTHER)
    assert "Chưa số hóa" in out
    found = cli("reuse", "find", "--owner", CHILD_MOTHER, "--type", "giay_khai_sinh")
    assert f"#{doc_id}" in found
    later = conn.execute("SELECT code FROM dossiers WHERE code != ?", (CODE,)).fetchone()[0]
    cli("reuse", "attach", str(doc_id), "--dossier", later)
    assert "hỏng 0" in cli("verify")
    assert verify_store(ws, conn).ok
    assert "toàn vẹn" in cli("audit", "verify")
    bag = tmp_path / "bag"
    cli("export", "--dossier", later, str(bag))
    other = init_workspace(tmp_path / "other")
    res = run_cli(other, "import", str(bag))
    assert res.exit_code == 0, res.output

    def hits(root: Path) -> list[tuple[int, str | None, str]]:
        w = init_workspace(root)
        engine = open_engine(w.index_dir, w.config.index.engine)
        try:
            return [(h.best_page, h.dossier_code, h.snippet_text())
                    for h in engine.search("giay khai sinh")]
        finally:
            engine.close()

    assert hits(ws.root) and hits(other.root) == hits(ws.root)
    oconn = db.connect(other.db_path)
    assert audit.verify(oconn) == []
    assert verify_store(other, oconn).ok
    shutil.rmtree(bag)
