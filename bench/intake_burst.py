"""A burst of files into a running `motcua watch`: files per second, against baselines.

Generates N unique one-line scans (tiny 300 dpi JPEGs, so that the intake, not OCR,
is what is measured as far as possible), then in the same run:

1. watch: a fresh workspace, `motcua watch` running; the N files are moved into the
   inbox at once; timed from the drop to the last file committed 'done';
2. ingest: the same files through `motcua ingest` on a fresh workspace's inbox
   (the same pipeline without the watcher: events, stability delay, queueing);
3. tesseract: bare `tesseract` on the same images, as many at a time as the pipeline's
   OCR jobs, one thread each (the floor any pipeline sits on).

Prints files per second for each and the ratios. Checks that every file was archived
exactly once.

    .venv/bin/python bench/intake_burst.py --files 1000 [--poll] [--skip-tesseract]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from motcua.workspace import init_workspace  # noqa: E402
from tests.intake_kit import (  # noqa: E402
    WatchProcess,
    archived_once,
    count_state,
    query,
    sha256,
    store_problems,
    tiny_scan,
    wait_for,
)


def _stage(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_watch(workdir: Path, files: dict[str, bytes], *, poll: bool) -> dict[str, object]:
    ws = init_workspace(workdir / "watch-ws")
    staging = workdir / "watch-staging"
    _stage(staging, files)
    watcher = WatchProcess(ws, "--stable-seconds", "1", "--poll" if poll else "--no-poll",
                           log_dir=workdir)
    wait_for(lambda: "Đang theo dõi" in watcher.output(), 60, "watcher start", watcher)
    time.sleep(1.5)
    start = time.monotonic()
    for name in files:
        (staging / name).replace(ws.inbox / name)
    dropped = time.monotonic() - start
    n = len(files)
    wait_for(lambda: count_state(ws, "done") >= n, 120 + 5.0 * n, "burst archived", watcher,
             interval=0.2)
    seconds = time.monotonic() - start
    code = watcher.stop()
    problems = archived_once(ws, {sha256(d): d for d in files.values()}) + store_problems(ws)
    if code != 0:
        problems.append(f"watcher exited {code}")
    ocr = query(ws, "SELECT SUM(ocr_seconds) FROM documents")[0][0] or 0.0
    return {"seconds": round(seconds, 2), "files_per_second": round(n / seconds, 2),
            "drop_seconds": round(dropped, 2), "ocr_cpu_seconds": round(ocr, 1),
            "problems": problems}


def run_ingest(workdir: Path, files: dict[str, bytes]) -> dict[str, object]:
    ws = init_workspace(workdir / "ingest-ws")
    _stage(ws.inbox, files)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "motcua", "-w", str(ws.root), "ingest",
                           "--json", str(ws.inbox)], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    seconds = time.monotonic() - start
    problems = archived_once(ws, {sha256(d): d for d in files.values()})
    if proc.returncode != 0:
        problems.append(f"ingest exited {proc.returncode}: {proc.stderr[-500:]}")
    return {"seconds": round(seconds, 2), "files_per_second": round(len(files) / seconds, 2),
            "problems": problems}


def run_tesseract(workdir: Path, files: dict[str, bytes], jobs: int,
                  lang: str) -> dict[str, object]:
    folder = workdir / "tesseract"
    _stage(folder, files)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(name: str) -> None:
        subprocess.run(["tesseract", str(folder / name), "-", "-l", lang], env=env,
                       capture_output=True, check=True)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, files))
    seconds = time.monotonic() - start
    return {"seconds": round(seconds, 2), "files_per_second": round(len(files) / seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--poll", action="store_true", help="the watcher polls (network share)")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-tesseract", action="store_true")
    opts = parser.parse_args()

    files = {f"quet-{i:05d}.jpg": tiny_scan(200_000 + i) for i in range(opts.files)}
    workdir = Path(tempfile.mkdtemp(prefix="motcua-burst-"))
    jobs = init_workspace(workdir / "probe").config.ocr.jobs
    report: dict[str, object] = {"files": opts.files, "ocr_jobs": jobs,
                                 "mode": "poll" if opts.poll else "native"}
    try:
        print(f"watch: {opts.files} files dropped at once ...", flush=True)
        watch = run_watch(workdir, files, poll=opts.poll)
        report["watch"] = watch
        if not opts.skip_ingest:
            print("baseline: motcua ingest on the same files ...", flush=True)
            report["ingest"] = run_ingest(workdir, files)
        if not opts.skip_tesseract:
            print("baseline: bare tesseract on the same images ...", flush=True)
            report["tesseract"] = run_tesseract(workdir, files, jobs, "vie")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for base in ("ingest", "tesseract"):
        if base in report:
            ratio = watch["seconds"] / report[base]["seconds"]  # type: ignore[index,operator]
            report[f"ratio_watch_to_{base}"] = round(ratio, 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    problems = list(watch["problems"])  # type: ignore[call-overload]
    if "ingest" in report:
        problems += report["ingest"]["problems"]  # type: ignore[index]
    print("RESULT:", "OK" if not problems else f"FAILED: {problems[:10]}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
