"""Hostile inputs dropped into a running watcher: each is handled as specified and the
service stays up and keeps archiving good files (issue 3)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pikepdf
import pytest

from motcua.workspace import init_workspace
from tests.intake_kit import (
    WatchProcess,
    query,
    sha256,
    store_problems,
    tiny_pdf,
    tiny_scan,
    wait_for,
)

DOSSIER = "000.00.07.H47-250716-0007"


def _encrypted(tmp: Path) -> bytes:
    plain = tmp / "plain.pdf"
    plain.write_bytes(tiny_pdf([42]))
    out = tmp / "enc.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="mk", owner="mk"))
    return out.read_bytes()


@pytest.mark.parametrize("mode", ["native", "poll"])
def test_hostile_inputs_while_running(tmp_path: Path, mode: str) -> None:
    ws = init_workspace(tmp_path / "ws")
    outside = tmp_path / "ngoai"
    outside.mkdir()
    (outside / "that.jpg").write_bytes(tiny_scan(77))
    (outside / "thu-muc").mkdir()
    (outside / "thu-muc" / "trong.jpg").write_bytes(tiny_scan(78))

    watcher = WatchProcess(ws, "--stable-seconds", "1", "--incomplete-grace", "4",
                           "--rescan-minutes", "0.05",
                           "--poll" if mode == "poll" else "--no-poll")
    wait_for(lambda: "Đang theo dõi" in watcher.output(), 60, "watcher start", watcher)
    good = {"tot-1.jpg": tiny_scan(1)}
    (ws.inbox / "tot-1.jpg").write_bytes(good["tot-1.jpg"])

    pdf = tiny_pdf([10, 11])
    jpg = tiny_scan(12)
    bad = {
        "hong.pdf": b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n",
        "cut.pdf": pdf[: len(pdf) // 2],
        "cut.jpg": jpg[: len(jpg) // 2],
        "mat-khau.pdf": _encrypted(tmp_path),
        "rong.jpg": b"",
        "nham-duoi.pdf": tiny_scan(13),  # a JPEG named .pdf
    }
    for name, data in bad.items():
        (ws.inbox / name).write_bytes(data)
    (ws.inbox / "lien-ket.jpg").symlink_to(outside / "that.jpg")
    (ws.inbox / "thu-muc-lien-ket").symlink_to(outside / "thu-muc")
    os.mkfifo(ws.inbox / "ong.pdf")
    # A hidden folder made while running (a Mac's .Trashes, a NAS's .snapshot): not ours.
    (ws.inbox / ".Trashes").mkdir()
    (ws.inbox / ".Trashes" / "rac.jpg").write_bytes(tiny_scan(15))

    # Deleted before it is taken.
    (ws.inbox / "xoa.jpg").write_bytes(tiny_scan(14))
    time.sleep(0.3)
    (ws.inbox / "xoa.jpg").unlink()

    # Replaced while being written: the first writer's half file is never taken; the
    # complete file that replaced it is, once.
    first, final = tiny_pdf([20, 21, 22]), tiny_pdf([30, 31])
    target = ws.inbox / "thay.pdf"
    with target.open("wb") as fh:
        fh.write(first[: len(first) // 2])
        fh.flush()
        time.sleep(0.5)
        staged = tmp_path / "thay.pdf"
        staged.write_bytes(final)
        staged.replace(target)
        time.sleep(0.5)
        fh.write(first[len(first) // 2 :])  # goes to the replaced (now unlinked) file
    good["thay.pdf"] = final

    (ws.inbox / DOSSIER).mkdir()
    good[f"{DOSSIER}/tot-2.jpg"] = tiny_scan(2)
    (ws.inbox / DOSSIER / "tot-2.jpg").write_bytes(good[f"{DOSSIER}/tot-2.jpg"])

    def settled() -> bool:
        rows = query(ws, "SELECT state FROM intake")
        return (sum(r[0] == "done" for r in rows) == 3
                and sum(r[0] == "quarantined" for r in rows) == len(bad)
                and sum(r[0] == "refused" for r in rows) == 3)

    wait_for(settled, 240, "every hostile input handled", watcher)

    # Still up, still archiving.
    good["tot-3.jpg"] = tiny_scan(3)
    (ws.inbox / "tot-3.jpg").write_bytes(good["tot-3.jpg"])
    wait_for(lambda: query(ws, "SELECT COUNT(*) FROM intake WHERE state = 'done'")[0][0] == 4,
             120, "a good file after the hostile ones", watcher)
    time.sleep(4)  # a few full rescans: refused links are not queued again and again
    assert watcher.alive()
    assert watcher.stop(signal.SIGTERM) == 0

    docs = {r["sha256"] for r in query(ws, "SELECT sha256 FROM documents")}
    assert docs == {sha256(d) for d in good.values()}
    assert sha256(first) not in docs and sha256(first[: len(first) // 2]) not in docs

    rows = query(ws, "SELECT * FROM intake ORDER BY id")
    by_name: dict[str, list[str]] = {}
    for r in rows:
        by_name.setdefault(Path(r["source_path"]).name, []).append(r["state"])
    for name in bad:
        assert by_name[name] == ["quarantined"], (name, by_name.get(name))
        assert (ws.quarantine / name).read_bytes() == bad[name]  # nothing lost
        reason = (ws.quarantine / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert "Chi tiết kỹ thuật" in reason
    reasons = {r["original_name"]: r["reason_vi"] for r in rows if r["state"] == "quarantined"}
    assert "hỏng" in reasons["hong.pdf"]
    assert "cắt cụt" in reasons["cut.pdf"]
    assert "hỏng hoặc không đầy đủ" in reasons["cut.jpg"]
    assert "mật khẩu" in reasons["mat-khau.pdf"]
    assert "rỗng" in reasons["rong.jpg"]
    assert "nội dung lại là ảnh JPEG" in reasons["nham-duoi.pdf"]
    for name in ("lien-ket.jpg", "thu-muc-lien-ket", "ong.pdf"):
        assert by_name[name] == ["refused"], name  # recorded once, not followed
        assert os.path.lexists(ws.inbox / name)
    assert by_name.get("xoa.jpg", ["vanished"]) == ["vanished"]
    assert "rac.jpg" not in by_name and (ws.inbox / ".Trashes" / "rac.jpg").exists()
    assert by_name["thay.pdf"] == ["done"]
    assert (outside / "that.jpg").exists() and (outside / "thu-muc" / "trong.jpg").exists()
    assert store_problems(ws) == []
