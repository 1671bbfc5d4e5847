"""The e-data warehouse: IDs, catalogue, owners, dossiers, metadata, reuse, fixity, audit."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from reportlab.pdfgen import canvas

from motcua import db
from motcua.archive import audit
from motcua.archive.catalogue import load_catalogue
from motcua.archive.documents import set_meta
from motcua.archive.fixity import verify_store
from motcua.archive.ids import (
    classify_owner_id,
    next_dossier_code,
    validate_citizen_id,
    validate_tax_code,
)
from motcua.archive.owners import add_owner
from motcua.archive.reuse import attach, find_valid
from motcua.archive.stamp import stamp_document
from motcua.cli import main
from motcua.counter.dossiers import new_dossier
from motcua.errors import UserError
from motcua.workspace import Workspace, init_workspace
from tests.conftest import run_cli
from tests.test_warehouse_helpers import copy_variant, insert_archived, make_pdfa

ALICE = "001190012345"  # born 1990, female
BOB = "079085001111"  # born 1985, male
ORG = "0314409058"


def tiny_pdf(path: Path, text: str) -> Path:
    c = canvas.Canvas(str(path))
    c.drawString(72, 720, text)
    c.save()
    return path


@pytest.fixture()
def wh(tmp_path: Path) -> tuple[Workspace, sqlite3.Connection]:
    ws = init_workspace(tmp_path / "ws")
    conn = db.connect(ws.db_path)
    add_owner(conn, ALICE, "Trần Thị An", "test")
    add_owner(conn, BOB, "Lê Văn Bình", "test")
    return ws, conn


def add_doc(ws: Workspace, conn: sqlite3.Connection, tmp: Path, name: str, owner: str,
            type_code: str, valid_to: str | None = None, valid_from: str | None = None,
            dossier: str | None = None) -> int:
    pdf = tiny_pdf(tmp / f"{name}.pdf", f"{name} {owner} {type_code}")
    doc_id = insert_archived(ws, conn, pdf, dossier, text=f"{name} {type_code}")
    set_meta(conn, doc_id, "test", {"type_code": type_code, "owner_id": owner, "name": name,
                                    "valid_to": valid_to, "valid_from": valid_from})
    return doc_id


# ---------------------------------------------------------------------------------------
# Identifiers


@pytest.mark.parametrize(("raw", "expected"), [
    ("00119001234", "phải có đúng 12 chữ số (đang có 11)"),
    ("0011900123456", "phải có đúng 12 chữ số (đang có 13)"),
    ("00119001234O", "không phải số: 'O'"),
    ("000190012345", "mã tỉnh phải từ 001 đến 096"),
    ("001890012345", "thế kỷ 19"),
    ("001499012345", "năm trong tương lai"),
])
def test_citizen_id_messages_say_what_is_wrong(raw: str, expected: str) -> None:
    with pytest.raises(UserError) as err:
        validate_citizen_id(raw)
    assert expected in err.value.message


def test_valid_ids_and_tax_codes() -> None:
    assert validate_citizen_id(" 001 190 012 345 ") == ALICE
    assert validate_citizen_id("001305012345") == "001305012345"  # girl born 2005
    assert classify_owner_id(ORG).kind == "organisation"
    assert validate_tax_code("0100109106") == "0100109106"
    with pytest.raises(UserError, match="không thể là 000"):
        validate_tax_code("0100109106-000")
    assert classify_owner_id("0314409058-001").value == "0314409058-001"
    assert classify_owner_id(ALICE).kind == "citizen"
    with pytest.raises(UserError, match="chữ số kiểm tra"):
        validate_tax_code("0314409057")
    assert validate_tax_code("0314409057", check_digit=False) == "0314409057"
    with pytest.raises(UserError, match="đúng 3 chữ số sau dấu gạch"):
        validate_tax_code("0314409058-01")
    with pytest.raises(UserError, match="10 chữ số trước dấu gạch"):
        validate_tax_code("031440905-001")


def test_dossier_codes_follow_a_per_day_sequence(wh: tuple[Workspace, sqlite3.Connection]
                                                 ) -> None:
    ws, conn = wh
    cat = load_catalogue(ws)
    day = datetime(2025, 7, 16, 9, 30).astimezone()
    codes = [new_dossier(ws, conn, cat, procedure_code="1.000656", owner_id=ALICE,
                         channel="direct", actor="t", received_at=day).dossier.code
             for _ in range(3)]
    assert codes == [f"000.00.07.H47-250716-000{i}" for i in (1, 2, 3)]
    other = new_dossier(ws, conn, cat, procedure_code="1.000656", owner_id=ALICE,
                        channel="online", actor="t",
                        received_at=datetime(2025, 7, 17, 8).astimezone()).dossier
    assert other.code == "000.00.07.H47-250717-0001" and other.field == "Hộ tịch"
    with db.transaction(conn):
        assert next_dossier_code(conn, "000.00.07.H47", date(2025, 7, 16)).endswith("-0004")
    with pytest.raises(UserError, match="không đúng dạng"):
        new_dossier(ws, conn, cat, procedure_code="1.000656", owner_id=ALICE,
                    channel="direct", actor="t", code="H47-250716-1")
    with pytest.raises(UserError, match="Không có thủ tục"):
        new_dossier(ws, conn, cat, procedure_code="9.999", owner_id=ALICE,
                    channel="direct", actor="t")


def test_catalogue_is_copied_to_the_workspace_and_listed(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    runner = CliRunner()
    res = runner.invoke(main, ["-w", str(ws.root), "procedures", "list", "--json"])
    assert res.exit_code == 0, res.output
    assert (ws.root / "procedures.toml").is_file()
    import json

    data = json.loads(res.output)
    names = {p["name"] for p in data["procedures"]}
    assert {"Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"} <= names
    for p in data["procedures"]:
        assert p["processing_days"] >= 1 and set(p["reusable"]) <= set(p["requires"])
    # Staff edit it: a bad edit is refused with the field named.
    text = (ws.root / "procedures.toml").read_text(encoding="utf-8")
    (ws.root / "procedures.toml").write_text(text.replace('processing_days = 7\n', ''),
                                             encoding="utf-8")
    res = runner.invoke(main, ["-w", str(ws.root), "procedures", "list"])
    assert res.exit_code == 1 and "thiếu trường “processing_days”" in res.output


# ---------------------------------------------------------------------------------------
# Reuse


def test_reuse_finds_only_valid_documents_of_owner_and_type(
        wh: tuple[Workspace, sqlite3.Connection], tmp_path: Path) -> None:
    ws, conn = wh
    today = date.today()
    good = add_doc(ws, conn, tmp_path, "cccd-an", ALICE, "cccd", valid_to=f"{today.year + 5}-01-01")
    old = add_doc(ws, conn, tmp_path, "cccd-an-cu", ALICE, "cccd", valid_to="2020-01-01")
    add_doc(ws, conn, tmp_path, "cccd-an-sau", ALICE, "cccd", valid_from=f"{today.year + 1}-01-01")
    birth = add_doc(ws, conn, tmp_path, "khai-sinh-an", ALICE, "giay_khai_sinh")
    add_doc(ws, conn, tmp_path, "cccd-binh", BOB, "cccd", valid_to=f"{today.year + 5}-01-01")
    assert [c.document_id for c in find_valid(conn, ALICE, "cccd")] == [good]
    assert {c.document_id for c in find_valid(conn, ALICE)} == {good, birth}
    assert find_valid(conn, ALICE, "xac_nhan_tinh_trang_hon_nhan") == []
    # On a past day the expired card was still valid.
    assert {c.document_id for c in find_valid(conn, ALICE, "cccd", on=date(2019, 6, 1))} == {
        good, old}


def test_reuse_attach_records_each_reuse_and_refuses_bad_ones(
        wh: tuple[Workspace, sqlite3.Connection], tmp_path: Path) -> None:
    ws, conn = wh
    cat = load_catalogue(ws)
    good = add_doc(ws, conn, tmp_path, "cccd-an", ALICE, "cccd", valid_to="2099-01-01")
    expired = add_doc(ws, conn, tmp_path, "cccd-an-cu", ALICE, "cccd", valid_to="2020-01-01")
    bobs = add_doc(ws, conn, tmp_path, "cccd-binh", BOB, "cccd")
    d = new_dossier(ws, conn, cat, procedure_code="2.000815", owner_id=ALICE,
                    channel="direct", actor="t", auto_reuse_mode="off").dossier
    r = attach(conn, good, d.code, "Cán bộ A")
    assert r.status == "attached" and r.mode == "manual"
    row = conn.execute("SELECT * FROM reuses WHERE dossier_code = ?", (d.code,)).fetchone()
    assert (row["document_id"], row["actor"], row["status"]) == (good, "Cán bộ A", "attached")
    assert row["attached_at"]
    log = audit.entries(conn, f"document:{good}")
    assert log[-1].action == "reuse.attach" and log[-1].details["dossier"] == d.code
    attach(conn, good, d.code, "Cán bộ A")  # idempotent: no second reuse
    assert conn.execute("SELECT COUNT(*) FROM reuses").fetchone()[0] == 1
    with pytest.raises(UserError, match="hết hiệu lực"):
        attach(conn, expired, d.code, "t")
    with pytest.raises(UserError, match="không thể tái sử dụng"):
        attach(conn, bobs, d.code, "t")


@pytest.mark.parametrize("mode", ["attach", "propose"])
def test_automatic_reuse_on_dossier_creation(wh: tuple[Workspace, sqlite3.Connection],
                                            tmp_path: Path, mode: str) -> None:
    ws, conn = wh
    (ws.root / "motcua.toml").write_text(
        (ws.root / "motcua.toml").read_text(encoding="utf-8")
        + f'\n[warehouse]\nauto_reuse = "{mode}"\n', encoding="utf-8")
    cccd = add_doc(ws, conn, tmp_path, "cccd-an", ALICE, "cccd", valid_to="2099-01-01")
    add_doc(ws, conn, tmp_path, "xn-hon-nhan-cu", ALICE, "xac_nhan_tinh_trang_hon_nhan",
            valid_to="2021-01-01")
    runner = CliRunner()
    res = runner.invoke(main, ["-w", str(ws.root), "dossier", "new", "-p", "1.000894",
                               "-o", ALICE, "--json"])
    assert res.exit_code == 0, res.output
    import json

    out = json.loads(res.output)
    code = out["dossier"]["code"]
    reuse = out["reuse"]
    got = reuse["attached"] if mode == "attach" else reuse["proposed"]
    assert [c["document_id"] for c in got] == [cccd]
    assert reuse["attached" if mode == "propose" else "proposed"] == []
    expected_missing = ["to_khai_ket_hon", "xac_nhan_tinh_trang_hon_nhan"]
    if mode == "propose":
        expected_missing.insert(1, "cccd")
    assert reuse["missing"] == expected_missing
    row = conn.execute("SELECT status, mode FROM reuses WHERE dossier_code = ?",
                       (code,)).fetchone()
    assert tuple(row) == ("attached" if mode == "attach" else "proposed", "auto")
    text = runner.invoke(main, ["-w", str(ws.root), "dossier", "show", code]).output
    assert "Chưa số hóa (chưa có bản điện tử trong kho): Tờ khai đăng ký kết hôn" in text
    if mode == "propose":
        res = runner.invoke(main, ["-w", str(ws.root), "reuse", "attach", str(cccd),
                                   "--dossier", code])
        assert res.exit_code == 0, res.output
        assert conn.execute("SELECT status FROM reuses WHERE dossier_code = ?",
                            (code,)).fetchone()[0] == "attached"
    plain = runner.invoke(main, ["-w", str(ws.root), "dossier", "new", "-p", "1.000894",
                                 "-o", ALICE])
    assert "Chưa số hóa (chưa có bản điện tử trong kho): Tờ khai đăng ký kết hôn" in plain.output
    assert ("Tái sử dụng: #" if mode == "attach" else "Đề xuất tái sử dụng: #") in plain.output


# ---------------------------------------------------------------------------------------
# Fixity


def test_a_single_flipped_byte_in_any_stored_file_is_reported(
        wh: tuple[Workspace, sqlite3.Connection], tmp_path: Path) -> None:
    ws, conn = wh
    pdfa = make_pdfa(tmp_path, "scan", ocr=False)
    # The original differs from the archival copy, so the three stored files are distinct.
    original = copy_variant(pdfa, tmp_path / "original.pdf", "as scanned")
    doc_id = insert_archived(ws, conn, original, archival=pdfa)
    stamp_document(ws, conn, doc_id, "t")
    other = insert_archived(ws, conn, tiny_pdf(tmp_path / "b.pdf", "b"))
    assert verify_store(ws, conn).ok
    paths = [r[0] for r in conn.execute(
        "SELECT original_path FROM documents UNION ALL SELECT archival_path FROM documents"
        " UNION ALL SELECT stamped_path FROM stamps")]
    assert len(set(paths)) == 5
    for rel in set(paths):
        path = ws.root / rel
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        report = verify_store(ws, conn)
        assert [(p.kind, p.path) for p in report.problems] == [("corrupt", rel)]
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    assert verify_store(ws, conn).ok
    victim = ws.root / paths[0]
    saved = victim.read_bytes()
    victim.unlink()
    stray = ws.store / "originals" / "zz" / "stray.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"%PDF-1.4 stray")
    res = CliRunner().invoke(main, ["-w", str(ws.root), "verify"])
    assert res.exit_code == 2
    assert f"THIẾU: {paths[0]}" in res.output and "THỪA" in res.output
    victim.write_bytes(saved)
    stray.unlink()
    # Sampling checks a part; every run is in the history.
    sample = verify_store(ws, conn, sample_percent=40)
    assert sample.files_checked == 2 and sample.ok
    runs = conn.execute("SELECT sample_percent, missing, corrupt, orphaned FROM fixity_runs"
                        " ORDER BY id").fetchall()
    assert len(runs) == 1 + 5 + 1 + 1 + 1
    assert tuple(runs[-2]) == (100.0, 1, 0, 1) and tuple(runs[-1]) == (40.0, 0, 0, 0)
    assert other


# ---------------------------------------------------------------------------------------
# Audit


def _tamper(conn: sqlite3.Connection, sql: str, args: tuple[object, ...] = ()) -> None:
    """What someone with the database file could do: drop the guards and edit."""
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    conn.execute(sql, args)


def _log(conn: sqlite3.Connection, n: int) -> None:
    for i in range(n):
        audit.record(conn, "view", f"dossier:{i}", "Cán bộ A", {"i": i, "ghi chú": "xem hồ sơ"})


def test_audit_log_is_append_only_and_chained(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    conn = db.connect(ws.db_path)
    _log(conn, 5)
    assert audit.verify(conn) == []
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq = 2")
    res = CliRunner().invoke(main, ["-w", str(ws.root), "audit", "verify"])
    assert res.exit_code == 0 and "toàn vẹn: 5 mục" in res.output


def test_edited_entry_is_detected(tmp_path: Path) -> None:
    conn = db.connect(init_workspace(tmp_path / "ws").db_path)
    _log(conn, 5)
    _tamper(conn, "UPDATE audit_log SET details = ? WHERE seq = 3",
            ('{"ghi chú":"xem hồ sơ","i":99}',))
    problems = audit.verify(conn)
    assert [(p.seq, p.kind) for p in problems] == [(3, "altered")]
    assert "số 3 đã bị sửa" in problems[0].message


def test_edited_entry_with_recomputed_hash_breaks_the_chain(tmp_path: Path) -> None:
    conn = db.connect(init_workspace(tmp_path / "ws").db_path)
    _log(conn, 5)
    row = conn.execute("SELECT * FROM audit_log WHERE seq = 2").fetchone()
    forged = audit.entry_hash(row["prev_hash"], 2, row["at"], row["action"], "dossier:X",
                              row["actor"], {"i": 1, "ghi chú": "xem hồ sơ"})
    _tamper(conn, "UPDATE audit_log SET subject = 'dossier:X', hash = ? WHERE seq = 2",
            (forged,))
    assert [(p.seq, p.kind) for p in audit.verify(conn)] == [(3, "broken_chain")]


def test_deleted_entries_are_detected(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    conn = db.connect(ws.db_path)
    _log(conn, 6)
    _tamper(conn, "DELETE FROM audit_log WHERE seq = 3")
    kinds = [(p.seq, p.kind) for p in audit.verify(conn)]
    assert (3, "missing") in kinds and (4, "broken_chain") in kinds
    res = CliRunner().invoke(main, ["-w", str(ws.root), "audit", "verify"])
    assert res.exit_code == 2 and "Thiếu mục nhật ký số 3" in res.output
    # Removing the last entries leaves a valid chain, but not the recorded head.
    conn2 = db.connect(init_workspace(tmp_path / "ws2").db_path)
    _log(conn2, 6)
    _tamper(conn2, "DELETE FROM audit_log WHERE seq >= 5")
    problems = audit.verify(conn2)
    assert [(p.seq, p.kind) for p in problems] == [(6, "head_mismatch")]
    assert "số 5 đến 6" in problems[0].message


def test_metadata_changes_and_views_are_audited(wh: tuple[Workspace, sqlite3.Connection],
                                                tmp_path: Path) -> None:
    ws, conn = wh
    doc_id = add_doc(ws, conn, tmp_path, "cccd-an", ALICE, "cccd", valid_to="2030-01-01")
    runner = CliRunner()
    res = runner.invoke(main, ["-w", str(ws.root), "doc", "meta", str(doc_id),
                               "--valid-to", "31/12/2035", "--number", "001190012345"])
    assert res.exit_code == 0, res.output
    assert "hiệu lực đến ngày: 31/12/2035" in res.output
    last = audit.entries(conn, f"document:{doc_id}")[-1]
    assert last.action == "meta.update"
    assert last.details["valid_to"] == {"old": "2030-01-01", "new": "2035-12-31"}
    res = runner.invoke(main, ["-w", str(ws.root), "doc", "meta", str(doc_id),
                               "--valid-to", "31/02/2035"])
    assert res.exit_code == 1 and "ngày không tồn tại" in res.output
    res = runner.invoke(main, ["-w", str(ws.root), "doc", "meta", str(doc_id), "--type", "xyz"])
    assert res.exit_code == 1 and "không có trong danh mục" in res.output
    runner.invoke(main, ["-w", str(ws.root), "owner", "show", ALICE])
    assert audit.entries(conn, f"owner:{ALICE}")[-1].action == "view"
    assert audit.verify(conn) == []


def _make_dossiers(root: str, n: int) -> list[str]:
    from motcua.workspace import load_workspace

    ws = load_workspace(Path(root))
    conn = db.connect(ws.db_path)
    cat = load_catalogue(ws)
    day = datetime(2025, 9, 2, 10).astimezone()
    return [new_dossier(ws, conn, cat, procedure_code="2.000815", owner_id=ALICE,
                        channel="direct", actor="t", received_at=day).dossier.code
            for _ in range(n)]


def test_two_processes_never_get_the_same_dossier_code(
        wh: tuple[Workspace, sqlite3.Connection]) -> None:
    import multiprocessing

    ws, _ = wh
    load_catalogue(ws)  # write procedures.toml once, before the race
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        batches = pool.starmap(_make_dossiers, [(str(ws.root), 15)] * 3)
    codes = [c for b in batches for c in b]
    assert len(codes) == len(set(codes)) == 45
    assert sorted(codes) == [f"000.00.07.H47-250902-{i:04d}" for i in range(1, 46)]


# ---------------------------------------------------------------------------------------
# The commands staff type, end to end


def test_cli_owner_result_list_verify_export(wh: tuple[Workspace, sqlite3.Connection],
                                             tmp_path: Path) -> None:
    import json

    import bagit

    ws, conn = wh

    def cli(*args: str, code: int = 0) -> str:
        res = run_cli(ws, *args, check=False)
        assert res.exit_code == code, res.output
        return res.output

    # A bad personal ID is refused with what is wrong, and nothing is stored.
    out = cli("owner", "add", "00119001234", "--name", "Sai Số", code=1)
    assert "12 chữ số" in out
    assert conn.execute("SELECT COUNT(*) FROM owners").fetchone()[0] == 2

    made = json.loads(cli("dossier", "new", "-p", "1.000894", "-o", ALICE, "--json"))
    code = made["dossier"]["code"]
    listed = json.loads(cli("dossier", "list", "--owner", ALICE, "--json"))
    assert [d["code"] for d in listed] == [code]
    assert json.loads(cli("dossier", "list", "--owner", BOB, "--json")) == []

    result = tiny_pdf(tmp_path / "giay-chung-nhan.pdf", "GIAY CHUNG NHAN KET HON")
    out = cli("result", "add", str(result), "--dossier", code, "--type", "giay_chung_nhan_ket_hon",
              "--name", "Giấy chứng nhận kết hôn", "--valid-to", "31/12/2030")
    assert f"{code}-KQ1" in out and "KẾT QUẢ ĐIỆN TỬ" in out
    row = conn.execute("SELECT d.original_path, m.valid_to, m.owner_id FROM documents d"
                       " JOIN document_meta m ON m.document_id = d.id WHERE m.result_code = ?",
                       (f"{code}-KQ1",)).fetchone()
    assert (ws.root / row[0]).read_bytes() == result.read_bytes()  # byte for byte
    assert (row[1], row[2]) == ("2030-12-31", ALICE)  # owner from the dossier
    owner = json.loads(cli("owner", "show", ALICE, "--json"))
    assert code in json.dumps(owner, ensure_ascii=False)

    # verify: whole store, a sample, and the history of both runs.
    assert json.loads(cli("verify", "--json"))["problems"] == []
    sample = json.loads(cli("verify", "--sample", "50", "--json"))
    assert sample["problems"] == []
    runs = json.loads(cli("verify", "--history", "--json"))
    assert [r["sample_percent"] for r in runs] == [50.0, 100.0]  # newest first
    stored = sum(1 for p in ws.store.rglob("*")
                 if p.is_file() and "tmp" not in p.relative_to(ws.store).parts)
    assert runs[1]["files_checked"] == stored and 0 < runs[0]["files_checked"] <= stored
    assert cli("verify", "--history").splitlines()[0].startswith("#2 ")

    # export by owner and of everything: valid bags holding the result's bytes.
    for args, name in ((["--owner", ALICE], "an"), (["--all"], "tat-ca")):
        cli("export", str(tmp_path / name), *args)
        bag = bagit.Bag(str(tmp_path / name))
        assert bag.is_valid()
        meta = json.loads((tmp_path / name / "data" / "metadata.json").read_text("utf-8"))
        assert code in json.dumps(meta, ensure_ascii=False)
    cli("export", str(tmp_path / "hai"), "--owner", ALICE, "--all", code=1)
