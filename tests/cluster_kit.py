"""A real OCR cluster for tests and the bench: a private redis-server on a Unix socket in
a temporary folder (no persistence, never the system's), `motcua worker` subprocesses,
a workspace configured for Celery, and a small corpus of generated scans."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from motcua import db
from motcua.workspace import Workspace, init_workspace
from tests.intake_kit import wait_for
from tests.scans import render_document, write_pdf

ROOT = Path(__file__).resolve().parents[1]
AGENCY = "000.00.07.H47"


class RedisServer:
    """redis-server on `<folder>/redis.sock`, nothing written to disk; stop() and start()
    again give a fresh instance (its queue forgotten), as a restarted broker would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(self.socket.exists, 20, "redis-server's socket")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
            self.proc = None
        self.socket.unlink(missing_ok=True)


def celery_workspace(root: Path, broker_url: str, *, visibility_timeout: int = 3600,
                     retry_seconds: int = 2) -> Workspace:
    ws = init_workspace(root)
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[workers]\nbackend = "celery"\nbroker_url = "{broker_url}"\n'
                 f"visibility_timeout = {visibility_timeout}\nretry_seconds = {retry_seconds}\n")
    return init_workspace(root)


class WorkerProcess:
    """`motcua worker` as a real subprocess in its own session (a machine of its own)."""

    def __init__(self, ws: Workspace, log_dir: Path, *, concurrency: int = 1,
                 env: dict[str, str] | None = None) -> None:
        self.out_path = log_dir / f"worker-{time.monotonic_ns()}.out"
        self.out = self.out_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "motcua", "-w", str(ws.root), "worker",
             "--concurrency", str(concurrency)],
            stdout=self.out, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def pool_pids(self) -> list[int]:
        """The worker's pool processes (its children)."""
        return children(self.pid)

    def stop(self, timeout: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole worker (its session): a machine that loses power."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)
        self.out.close()


def children(pid: int) -> list[int]:
    """The processes `pid` started, from any of its threads: OCRmyPDF runs Tesseract from
    a thread pool, and /proc lists a child under the thread that spawned it."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def dossier_code(n: int) -> str:
    return f"{AGENCY}-2504{n % 28 + 1:02d}-{n:04d}"


def make_corpus(folder: Path, count: int = 20, *, lines: int = 3) -> dict[str, bytes]:
    """`count` one-page scans (a few lines each, so OCR stays light), half of them filed
    in a folder named after their dossier, the other half naming it in their text;
    returns relative path -> bytes."""
    files: dict[str, bytes] = {}
    for n in range(count):
        code = dossier_code(n)
        pages = render_document(1, "clean", seed=7000 + n, max_lines=lines,
                                extra_lines=(f"Mã hồ sơ: {code}",) if n % 2 else ())
        rel = f"{code}/scan-{n:02d}.pdf" if n % 2 == 0 else f"scan-{n:02d}.pdf"
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_pdf(pages, target)
        files[rel] = target.read_bytes()
    return files


def issue_dossiers(ws: Workspace, count: int = 20) -> None:
    """The corpus's dossiers, as the counter would have issued them (intake files a
    document only under an issued dossier)."""
    from motcua.archive.records import ensure_dossier

    conn = db.connect(ws.db_path)
    try:
        with db.transaction(conn):
            for n in range(count):
                ensure_dossier(conn, dossier_code(n))
    finally:
        conn.close()


def place(corpus: Path, inbox: Path) -> None:
    """Copy the corpus into an inbox (each file written whole, then renamed)."""
    for src in sorted(p for p in corpus.rglob("*") if p.is_file()):
        dest = inbox / src.relative_to(corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)


def records(ws: Workspace) -> dict[str, dict[str, object]]:
    """What the archive holds, by original's SHA-256: name, page texts, identifiers,
    dossier link (ids and times left out: they differ between runs by nature)."""
    conn = db.connect(ws.db_path)
    try:
        out: dict[str, dict[str, object]] = {}
        for doc in conn.execute("SELECT * FROM documents ORDER BY sha256"):
            pages = [tuple(r) for r in conn.execute(
                "SELECT page_no, text, confidence, needs_rescan FROM pages WHERE document_id = ?"
                " ORDER BY page_no", (doc["id"],))]
            ids = sorted(tuple(r) for r in conn.execute(
                "SELECT kind, value, page_no FROM identifiers WHERE document_id = ?",
                (doc["id"],)))
            out[doc["sha256"]] = {
                "name": doc["original_name"], "state": doc["state"],
                "pages": pages, "identifiers": ids,
                "dossier": (doc["dossier_code"], doc["dossier_source"],
                            doc["unfiled_reason"]),
            }
        return out
    finally:
        conn.close()
