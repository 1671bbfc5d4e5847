"""Celery bench: pages per hour through `motcua worker` processes against the local pool
on the same cores, measured in the same run, and what one page costs.

One corpus of generated scanner PDFs (tests/scans.py, "office" quality, full A4 pages)
is ingested by a fresh workspace in each mode, the coordinator in this process:

- ``local-1`` / ``local-2``: the local process pool with `[ocr] jobs` = 1 / 2 (its CPU
  includes the pool's start-up, as each `ingest` run pays it);
- ``celery-1`` / ``celery-2``: `[workers] backend = "celery"`, a private redis-server on
  a Unix socket, and 1 / 2 `motcua worker --concurrency 1` processes.

Printed per mode: wall time, pages per hour, the ratio to the local mode on the same
number of cores (the Celery overhead; target ≤ 1.10), the workers' CPU seconds per page
(OCR: what a worker core spends, from which N machines' throughput follows) and the
coordinator's CPU seconds, SQLite write statements and commits per page (what the
single writer must keep up with).

    .venv/bin/python bench/celery.py                    # 8 files × 2 pages
    .venv/bin/python bench/celery.py --files 4 --pages 1 --modes local-1,celery-1
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file's name is the library's: its folder must not shadow the `celery` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from motcua import db  # noqa: E402
from motcua.ingest import ingest_paths  # noqa: E402
from motcua.ingest.status import workers_status  # noqa: E402
from motcua.workspace import Workspace, init_workspace  # noqa: E402
from tests import scans  # noqa: E402
from tests.cluster_kit import RedisServer, WorkerProcess, celery_workspace  # noqa: E402
from tests.intake_kit import wait_for  # noqa: E402


@dataclass(frozen=True)
class Run:
    mode: str
    cores: int
    wall: float
    pages: int
    worker_cpu: float  # OCR processes: pool workers or `motcua worker`s, with Tesseract
    coordinator_cpu: float
    writes: int  # INSERT/UPDATE/DELETE statements of the coordinator
    commits: int

    @property
    def pages_per_hour(self) -> float:
        return self.pages * 3600.0 / self.wall


class _Counter:
    writes = 0
    commits = 0

    def trace(self, sql: str) -> None:
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            self.writes += 1
        elif head in ("COMMIT", "END"):
            self.commits += 1


@contextmanager
def counted_writes() -> Iterator[_Counter]:
    """Count the coordinator's SQLite writes (every connection `db.connect` opens)."""
    counter = _Counter()
    real = db.connect

    def connect(path: Path) -> sqlite3.Connection:
        conn = real(path)
        conn.set_trace_callback(counter.trace)
        return conn

    db.connect = connect  # type: ignore[assignment]
    try:
        yield counter
    finally:
        db.connect = real  # type: ignore[assignment]


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a live process, its live children and every child they reaped
    (Tesseract, Ghostscript), from /proc: a running worker's cost so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat (11-14 after the name).
    own = sum(int(f) for f in fields[11:15]) / TICKS
    return own + sum(tree_cpu(int(c)) for c in children)


def sqlite_commits_per_second(folder: Path, n: int = 300) -> float:
    """Small durable commits (WAL, synchronous=FULL, as `db.connect` opens it) on this
    disk: the ceiling of a single writer, against which the coordinator's commits per
    page are read."""
    conn = db.connect(folder / "commit-probe.db")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, v TEXT)")
        start = time.perf_counter()
        for i in range(n):
            with db.transaction(conn):
                conn.execute("INSERT INTO probe (v) VALUES (?)", (f"row {i}",))
        return n / (time.perf_counter() - start)
    finally:
        conn.close()


def generate(folder: Path, files: int, pages: int) -> int:
    folder.mkdir(parents=True)
    for n in range(files):
        scans.write_pdf(scans.render_document(pages, "office", seed=900 + n),
                        folder / f"scan-{n:02d}.pdf")
    return files * pages


def set_jobs(ws: Workspace, jobs: int) -> Workspace:
    text = ws.config_path.read_text(encoding="utf-8").replace("# jobs = 2", f"jobs = {jobs}")
    ws.config_path.write_text(text, encoding="utf-8")
    return init_workspace(ws.root)


def ingest(ws: Workspace, corpus: Path) -> tuple[float, float, _Counter]:
    drop = ws.root.parent / f"drop-{ws.root.name}"
    shutil.copytree(corpus, drop)
    self_before = cpu(resource.RUSAGE_SELF)
    with counted_writes() as counter:
        start = time.perf_counter()
        outcomes = ingest_paths(ws, [drop])
        wall = time.perf_counter() - start
    bad = [o for o in outcomes if o.state != "done"]
    if bad:
        raise SystemExit(f"{len(bad)} files not archived: {bad[:2]}")
    return wall, cpu(resource.RUSAGE_SELF) - self_before, counter


def run_local(base: Path, corpus: Path, pages: int, cores: int) -> Run:
    ws = set_jobs(init_workspace(base / f"local-{cores}"), cores)
    children_before = cpu(resource.RUSAGE_CHILDREN)
    wall, coordinator, counter = ingest(ws, corpus)
    workers = cpu(resource.RUSAGE_CHILDREN) - children_before  # the pool, shut down
    return Run(f"local-{cores}", cores, wall, pages, workers, coordinator,
               counter.writes, counter.commits)


def run_celery(base: Path, corpus: Path, pages: int, cores: int) -> Run:
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="motcua-bench-redis-"))).start()
    ws = celery_workspace(base / f"celery-{cores}", redis.url)
    workers = [WorkerProcess(ws, base) for _ in range(cores)]
    try:
        wait_for(lambda: len(workers_status(ws)["workers"]) == cores, 120, "workers")
        # From the workers' own counters: what the run cost, not their start-up.
        before = sum(tree_cpu(w.pid) for w in workers)
        try:
            wall, coordinator, counter = ingest(ws, corpus)
        except SystemExit:
            code = redis.proc.poll() if redis.proc else None
            print(f"redis-server exit status {code}; its log ends:\n"
                  + redis.log.read_text(errors="replace")[-1500:], flush=True)
            raise
        spent = sum(tree_cpu(w.pid) for w in workers) - before
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
        if not os.environ.get("KEEP_REDIS_LOG"):
            shutil.rmtree(redis.folder, ignore_errors=True)
    return Run(f"celery-{cores}", cores, wall, pages, spent, coordinator,
               counter.writes, counter.commits)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--pages", type=int, default=2, help="pages per file")
    ap.add_argument("--modes", default="local-1,celery-1,local-2,celery-2")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of all modes, interleaved; each mode's fastest counts "
                         "(other load on the machine comes and goes)")
    ap.add_argument("--keep", type=Path, help="keep the workspaces here")
    ap.add_argument("--sqlite-only", action="store_true",
                    help="only the durable-commit rate of SQLite on this disk")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    base = args.keep or Path(tempfile.mkdtemp(prefix="motcua-bench-celery-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        commits = sqlite_commits_per_second(base)
        print(f"SQLite durable commits on this disk: {commits:.0f}/s", flush=True)
        if args.sqlite_only:
            return 0
        corpus = base / "corpus"
        pages = generate(corpus, args.files, args.pages)
        print(f"corpus: {args.files} files, {pages} pages (office quality, A4 300 dpi); "
              f"{os.cpu_count()} cores on this machine, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        runs: dict[str, Run] = {}
        for round_no in range(args.repeat):
            where = base / f"round-{round_no}"
            where.mkdir()
            for mode in args.modes.split(","):
                kind, cores = mode.split("-")
                runner = run_local if kind == "local" else run_celery
                run = runner(where, corpus, pages, int(cores))
                if mode not in runs or run.wall < runs[mode].wall:
                    runs[mode] = run
                print(f"  {mode:9} {run.wall:7.1f} s  {run.pages_per_hour:7.0f} pages/h  "
                      f"OCR CPU {run.worker_cpu / pages:5.2f} s/page  coordinator CPU "
                      f"{run.coordinator_cpu / pages:5.2f} s/page, {run.writes / pages:5.1f} "
                      f"writes and {run.commits / pages:4.1f} commits per page", flush=True)
        print("Celery overhead (wall time against the local pool on the same cores):")
        for cores in (1, 2):
            local, remote = runs.get(f"local-{cores}"), runs.get(f"celery-{cores}")
            if local and remote:
                ratio = remote.wall / local.wall
                print(f"  {cores} core(s): celery/local = {ratio:.3f} "
                      f"({'ok' if ratio <= 1.10 else 'OVER'} against the 1.10 target)")
        if "celery-1" in runs:
            per_page = runs["celery-1"].worker_cpu / pages
            coord = max(r.coordinator_cpu for r in runs.values()) / pages
            print(f"One worker core: {3600 / per_page:.0f} pages/h at {per_page:.2f} CPU s/page;"
                  f" N worker cores ≈ N × that, until the coordinator's "
                  f"{coord:.3f} CPU s/page saturates one core at {3600 / coord:.0f} pages/h.")
            per_page_commits = max(r.commits for r in runs.values()) / pages
            print(f"SQLite as the single writer: {per_page_commits:.1f} commits per page "
                  f"against {commits:.0f} durable commits/s is "
                  f"{commits * 3600 / per_page_commits:.0f} pages/h of commit capacity.")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
