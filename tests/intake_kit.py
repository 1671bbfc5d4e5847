"""Shared by the watcher tests and the intake benchmarks: tiny unique scans, a real
`motcua watch` subprocess, and a consistency check of the whole workspace."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import img2pdf
from PIL import Image, ImageDraw, ImageFont

from motcua import db
from motcua.archive.store import sha256_file
from motcua.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")


def tiny_scan(n: int, text: str | None = None, width: int = 1000) -> bytes:
    """A one-line 300 dpi JPEG, different bytes for every `n`: OCR takes well under a second."""
    font = ImageFont.truetype(str(FONT), 54)
    img = Image.new("L", (width, 160), 255)
    ImageDraw.Draw(img).text((40, 40), text or f"Hồ sơ số {n:05d} xã Gia Lộc", font=font, fill=0)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, dpi=(300, 300))
    return buf.getvalue()


def tiny_pdf(pages: Sequence[int]) -> bytes:
    """A scanner-style PDF, one tiny JPEG page per entry."""
    return bytes(img2pdf.convert([tiny_scan(n) for n in pages]))


def qr_scan(text: str) -> bytes:
    """A 300 dpi JPEG of a small sheet whose only content is a QR code of `text` (a cover
    sheet, as far as the split of batch scans is concerned)."""
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=12, border=4)
    buf.seek(0)
    with Image.open(buf) as qr:
        sheet = Image.new("L", (1000, 1000), 255)
        sheet.paste(qr.convert("L"), (100, 100))
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=90, dpi=(300, 300))
    return out.getvalue()


def tiny_batch(n: int, codes: Sequence[str]) -> bytes:
    """A batch scan: for each code, a QR sheet then one tiny page (different for every n)."""
    pages: list[bytes] = []
    for k, code in enumerate(codes):
        pages += [qr_scan(code), tiny_scan(n * 10 + k)]
    return bytes(img2pdf.convert(pages))


def split_once(ws: Workspace, batches: dict[str, bytes], parts_each: int
               ) -> tuple[list[str], frozenset[str]]:
    """Problems unless each batch scan (sha256 -> bytes) was split once, kept byte for
    byte, into `parts_each` parts each archived as one indexed document; and the parts'
    hashes (documents that are expected besides the plain inputs)."""
    problems: list[str] = []
    parts: set[str] = set()
    for digest, data in batches.items():
        rows = query(ws, "SELECT id, original_path FROM batches WHERE sha256 = ?", (digest,))
        if len(rows) != 1:
            problems.append(f"batch {digest[:12]} split {len(rows)} times")
            continue
        if ws.absolute(rows[0]["original_path"]).read_bytes() != data:
            problems.append(f"batch {digest[:12]} stored bytes differ")
        found = query(ws, "SELECT p.sha256, d.state FROM batch_parts p LEFT JOIN documents d"
                          " ON d.sha256 = p.sha256 WHERE p.batch_id = ?", (rows[0]["id"],))
        if len(found) != parts_each:
            problems.append(f"batch {digest[:12]}: {len(found)} parts, not {parts_each}")
        for part in found:
            parts.add(part["sha256"])
            if part["state"] != "indexed":
                problems.append(f"batch {digest[:12]}: part {part['sha256'][:12]} "
                                f"{part['state'] or 'not archived'}")
    return problems, frozenset(parts)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class WatchProcess:
    """`motcua watch` as a real subprocess in its own process group (as under systemd)."""

    def __init__(self, ws: Workspace, *args: str, env: dict[str, str] | None = None,
                 log_dir: Path | None = None, prefix: Sequence[str] = ()) -> None:
        self.ws = ws
        log_dir = log_dir or ws.root
        self.out_path = log_dir / f"watch-{time.monotonic_ns()}.out"
        self.out = self.out_path.open("wb")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "motcua", "-w", str(ws.root), "watch", *args],
            stdout=self.out, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 300) -> int:
        """Send `sig` to the watcher only (workers follow it), wait, return the exit code."""
        if self.alive():
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.kill_group()
            self.out.close()
        return code

    def kill_group(self) -> None:
        """SIGKILL everything left of the group (a power cut, or systemd cleaning up)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill_group()
            self.out.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             watcher: WatchProcess | None = None, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if watcher is not None and not watcher.alive():
            raise AssertionError(
                f"watcher died while waiting for {what}:\n{watcher.output()[-3000:]}")
        time.sleep(interval)
    tail = watcher.output()[-4000:] if watcher is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def query(ws: Workspace, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
    conn = db.connect(ws.db_path)
    try:
        return conn.execute(sql, tuple(params)).fetchall()
    finally:
        conn.close()


def states(ws: Workspace) -> dict[str, int]:
    return {r[0]: r[1] for r in query(ws, "SELECT state, COUNT(*) FROM intake GROUP BY state")}


def count_state(ws: Workspace, state: str) -> int:
    return states(ws).get(state, 0)


def store_problems(ws: Workspace) -> list[str]:
    """Everything wrong with the store and the queue, as sentences (empty when consistent):
    orphan, missing or corrupt stored files, leftovers in tmp, documents or intake rows
    stuck in an intermediate state."""
    problems: list[str] = []
    conn = db.connect(ws.db_path)
    try:
        stored = {str(p.relative_to(ws.root)) for sub in ("originals", "archival", "stamped")
                  for p in (ws.store / sub).rglob("*") if p.is_file()}
        referenced: set[str] = set()
        for row in conn.execute("SELECT id, state, original_path, sha256, archival_path,"
                                " archival_sha256 FROM documents"):
            if row["state"] != "indexed":
                problems.append(f"document {row['id']} stuck in state {row['state']}")
            for path, digest in ((row["original_path"], row["sha256"]),
                                 (row["archival_path"], row["archival_sha256"])):
                if not path:
                    problems.append(f"document {row['id']} lacks a file")
                    continue
                referenced.add(path)
                full = ws.absolute(path)
                if not full.exists():
                    problems.append(f"missing {path}")
                elif sha256_file(full) != digest:
                    problems.append(f"corrupt {path}")
        for row in conn.execute("SELECT id, original_path, sha256 FROM batches"):
            # A batch scan split at its cover sheets: its original is kept whole.
            referenced.add(row["original_path"])
            full = ws.absolute(row["original_path"])
            if not full.exists():
                problems.append(f"missing {row['original_path']}")
            elif sha256_file(full) != row["sha256"]:
                problems.append(f"corrupt {row['original_path']}")
        for row in conn.execute("SELECT d.id, s.stamped_path, s.stamped_sha256 FROM documents d"
                                " LEFT JOIN stamps s ON s.document_id = d.id"):
            if row["stamped_path"] is None:
                problems.append(f"document {row['id']} has no digitization stamp")
                continue
            referenced.add(row["stamped_path"])
            full = ws.absolute(row["stamped_path"])
            if not full.exists():
                problems.append(f"missing {row['stamped_path']}")
            elif sha256_file(full) != row["stamped_sha256"]:
                problems.append(f"corrupt {row['stamped_path']}")
        problems += [f"orphan {p}" for p in sorted(stored - referenced)]
        for state, n in conn.execute(
                "SELECT state, COUNT(*) FROM intake WHERE state IN ('pending', 'processing',"
                " 'retry') GROUP BY state"):
            problems.append(f"{n} intake rows stuck in {state}")
    finally:
        conn.close()
    problems += [f"leftover {p}" for p in ws.tmp.rglob("*") if p.is_file()]
    return problems


def archived_once(ws: Workspace, expected: dict[str, bytes], *,
                  also: frozenset[str] = frozenset(), duplicates: int = 0) -> list[str]:
    """Problems unless each expected original (sha256 -> bytes) is one document, stored
    byte for byte, and nothing else was archived (but the originals in `also`, at most
    once each, and `duplicates` rows taken as duplicates on purpose)."""
    problems: list[str] = []
    docs = query(ws, "SELECT sha256, original_path FROM documents")
    by_sha: dict[str, list[str]] = {}
    for row in docs:
        by_sha.setdefault(row["sha256"], []).append(row["original_path"])
    for digest, data in expected.items():
        paths = by_sha.get(digest, [])
        if len(paths) != 1:
            problems.append(f"{digest[:12]} archived {len(paths)} times")
        elif ws.absolute(paths[0]).read_bytes() != data:
            problems.append(f"{digest[:12]} stored bytes differ")
    extra = set(by_sha) - set(expected) - also
    if extra:
        problems.append(f"{len(extra)} unexpected documents")
    problems += [f"{d[:12]} archived {len(by_sha[d])} times" for d in also
                 if len(by_sha.get(d, [])) > 1]
    dup = query(ws, "SELECT COUNT(*) FROM intake WHERE state = 'duplicate'")[0][0] - duplicates
    if dup:
        problems.append(f"{dup} inputs taken twice (duplicate rows)")
    return problems


#: Run a command as root without the capabilities that let root ignore file modes, so
#: that a file with mode 000 or a folder with mode 555 fails for real, as it would for
#: the service's own account.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
          "--inh-caps=-dac_override,-dac_read_search"]


@functools.cache
def permission_prefix() -> tuple[str, ...] | None:
    """() when file modes already apply to us, the setpriv prefix when we are root and
    can drop the override, None when file modes cannot be made to apply."""
    if os.geteuid() != 0:
        return ()
    with tempfile.TemporaryDirectory() as tmp:
        locked = Path(tmp) / "locked"
        locked.write_bytes(b"x")
        locked.chmod(0)
        try:
            probe = subprocess.run([*NO_DAC, "test", "-r", str(locked)],
                                   capture_output=True, timeout=30)
        except OSError:
            return None
    return tuple(NO_DAC) if probe.returncode == 1 else None
