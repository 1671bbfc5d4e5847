"""Crash the watcher for real, many times, then check nothing was lost or taken twice.

Drops N unique scans (tiny JPEGs, some 2-page PDFs, some in dossier folders) into a
fresh workspace's inbox, in waves, and runs `motcua watch` M times, each run ended
by a SIGKILL:

* half of the runs are killed from outside at a random moment (0.3–4 s after start),
  with the whole process group, as a power cut would (OCR workers and Tesseract too);
* the other half kill themselves at a named step of the pipeline
  (MOTCUA_TEST_CRASH_AT): after a batch scan's parts are in the store and after the
  commit that splits it (every 11th input is a batch scan of two dossiers, each led by a
  QR sheet), between the original's rename into the store and its
  commit, after the commit, between the PDF/A's rename and its commit, after the
  stamped copy's commit, after the index commit, after the final commit but before
  the inbox copy is removed. Timing
  a kill from outside cannot hit those gaps reliably; this can.

With `--hostile` (the default from the command line) the hostile corpus of issue 9
(tests/hostile_corpus.py: odd names, lying formats, broken and malicious PDFs, bombs,
unembedded fonts, links, an unreadable file, same bytes under two names) is dropped
with the first wave, among the good files.

Then one last `motcua watch --until-idle` run, and the checks: every good input
archived exactly once, byte-identical; every hostile input settled as its kind says
(archived at most once, quarantined, refused in place, or a duplicate); no orphan,
missing, corrupt or partial file in the store; nothing left in tmp; no row stuck in an
intermediate state; inbox empty but for the inputs refused in place.

    .venv/bin/python bench/crash.py --files 200 --kills 50
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from motcua.ingest import names  # noqa: E402
from motcua.ingest.pipeline import CRASH_ENV  # noqa: E402
from motcua.workspace import Workspace, init_workspace, load_workspace  # noqa: E402
from tests.hostile_corpus import TEST_LIMITS, kinds  # noqa: E402
from tests.intake_kit import (  # noqa: E402
    WatchProcess,
    archived_once,
    permission_prefix,
    query,
    sha256,
    split_once,
    store_problems,
    tiny_batch,
    tiny_pdf,
    tiny_scan,
)

CRASH_POINTS = ("parts-written", "split", "original-renamed", "stored", "archival-renamed",
                "archived", "stamped", "index-committed", "done")
#: Every BATCH_EVERY-th input is a batch scan of two dossiers, each led by a QR sheet: it is
#: split (crash points "parts-written" and "split") into two documents.
BATCH_EVERY = 11
BATCH_SUFFIX = "-lo.pdf"
DOSSIERS = ("000.00.07.H47-250716-0001", "000.00.07.H47-250716-0002")


def _inputs(n: int, rng: random.Random) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for i in range(n):
        if i % BATCH_EVERY == 5:
            name, data = f"quet-{i:05d}{BATCH_SUFFIX}", tiny_batch(i, DOSSIERS)
        elif i % 7 == 3:
            name, data = f"ho-so-{i:05d}.pdf", tiny_pdf([100_000 + 2 * i, 100_001 + 2 * i])
        else:
            name, data = f"quet-{i:05d}.jpg", tiny_scan(i)
        if rng.random() < 0.15:
            name = f"{rng.choice(DOSSIERS)}/{name}"
        files.append((name, data))
    return files


def _drop(inbox: Path, batch: list[tuple[str, bytes]], rng: random.Random) -> None:
    staging = inbox.parent / "staging"
    staging.mkdir(exist_ok=True)
    for name, data in batch:
        dest = inbox / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if rng.random() < 0.5:
            dest.write_bytes(data)  # written in place, as a scanner does
        else:
            tmp = staging / Path(name).name
            tmp.write_bytes(data)
            tmp.replace(dest)  # moved in whole, as a copy tool does


Hostile = dict[Path, tuple[frozenset[str], bytes | None]]


def _drop_hostile(ws: Workspace) -> Hostile:
    """The static kinds of the hostile corpus, into the inbox: path -> (states, bytes)."""
    dropped: Hostile = {}
    for kind in kinds():
        if kind.during is not None:
            continue  # a writer racing the kills proves nothing more here
        if kind.name == "unreadable" and permission_prefix() is None:
            continue
        for rel, states in kind.make(ws.inbox).items():
            path = ws.inbox / rel
            data = None
            if path.is_file() and not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(0o600)
                data = path.read_bytes()
                path.chmod(mode)
            dropped[path] = (states, data)
    return dropped


def _hostile_problems(ws: Workspace, dropped: Hostile) -> list[str]:
    problems = []
    for path, (states, data) in dropped.items():
        rows = query(ws, "SELECT state, quarantine_path FROM intake WHERE source_path = ?"
                     " AND source_bytes IS ? ORDER BY id",
                     (names.db_text(path), names.raw_bytes(path)))
        label = names.visible(path.name)
        if not rows:
            problems.append(f"hostile {label}: never taken")
            continue
        final = rows[-1]["state"]
        if final not in states:
            problems.append(f"hostile {label}: {final}, expected {sorted(states)}")
        if final in ("refused",) and not os.path.lexists(path):
            problems.append(f"hostile {label}: refused but gone")
        if final == "quarantined" and data is not None and not any(
                q.is_file() and q.read_bytes() == data for q in ws.quarantine.iterdir()):
            problems.append(f"hostile {label}: quarantined bytes missing")
    return problems


def run_crash(workdir: Path, n: int, kills: int, *, seed: int = 1, stable: float = 0.5,
              verbose: bool = True, hostile: bool = False) -> dict[str, Any]:
    rng = random.Random(seed)
    ws = init_workspace(workdir / "ws")
    prefix: tuple[str, ...] = ()
    dropped: Hostile = {}
    if hostile:
        with ws.config_path.open("a", encoding="utf-8") as fh:
            fh.write(TEST_LIMITS)
        ws = load_workspace(ws.root)
        prefix = permission_prefix() or ()
        dropped = _drop_hostile(ws)
    files = _inputs(n, rng)
    expected = {sha256(data): data for name, data in files if not name.endswith(BATCH_SUFFIX)}
    batches = {sha256(data): data for name, data in files if name.endswith(BATCH_SUFFIX)}
    first = int(n * 0.6)
    waves = [files[:first]]
    rest = files[first:]
    spread = max(1, kills // 2)
    waves += [rest[i::spread] for i in range(spread)]
    args = ("--stable-seconds", str(stable), "--incomplete-grace", "5", "--rescan-minutes", "1")

    started = time.monotonic()
    landed = {"timed": 0, "crash_point": 0}
    by_point: dict[str, int] = {}
    no_kill = 0
    how = ""
    for k in range(kills):
        if waves:
            _drop(ws.inbox, waves.pop(0), rng)
        point = rng.choice(CRASH_POINTS) if k % 2 else None
        watcher = WatchProcess(ws, *args, env={CRASH_ENV: point} if point else None,
                               log_dir=workdir, prefix=prefix)
        if point is not None:
            try:
                code = watcher.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:  # the step was never reached: kill from outside
                code = None
            if code == -9:
                landed["crash_point"] += 1
                by_point[point] = by_point.get(point, 0) + 1
                watcher.kill_group()  # what systemd does to the rest of the unit
                watcher.out.close()
                how = f"crash point {point}"
            else:
                point = None
        if point is None:
            time.sleep(rng.uniform(0.3, 4.0))
            if watcher.alive():
                landed["timed"] += 1
                how = "SIGKILL (process group)"
            else:
                no_kill += 1
                how = f"exited by itself ({watcher.proc.returncode})"
            watcher.kill_group()
            watcher.out.close()
        if verbose:
            done = query(ws, "SELECT COUNT(*) FROM documents WHERE state = 'indexed'")[0][0]
            print(f"  run {k + 1:3d}/{kills}: {how:32s} indexed so far {done}/{n}", flush=True)
    for wave in waves:
        _drop(ws.inbox, wave, rng)

    final_started = time.monotonic()
    watcher = WatchProcess(ws, *args, "--until-idle", log_dir=workdir, prefix=prefix)
    final_code = watcher.wait(timeout=max(600.0, 3.0 * n))
    finished = time.monotonic()

    hostile_done = frozenset(hashlib.sha256(d).hexdigest() for _, d in dropped.values()
                             if d is not None)
    twins = sum(1 for states, _ in dropped.values() if "duplicate" in states) // 2
    split_problems, parts = split_once(ws, batches, len(DOSSIERS))
    problems = store_problems(ws) + split_problems + archived_once(
        ws, expected, also=hostile_done | parts, duplicates=twins)
    problems += _hostile_problems(ws, dropped)
    if final_code != 0:
        problems.append(f"final watcher exited {final_code}")
    kept = {p for p, (states, _) in dropped.items() if states == frozenset({"refused"})}
    left = [p for p in ws.inbox.rglob("*") if p.is_file() and p not in kept
            and not any(p.is_relative_to(k) for k in kept)]
    if left:
        problems.append(f"{len(left)} files left in the inbox")
    rows = query(ws, "SELECT state, COUNT(*) AS n, SUM(attempts) AS claims,"
                     " SUM(attempts > 1) AS retried FROM intake GROUP BY state")
    reclaimed = 0
    log_file = ws.logs / "motcua.log"
    for line in log_file.read_text(encoding="utf-8").splitlines() if log_file.exists() else []:
        entry = json.loads(line)
        if entry.get("msg", "").startswith("reclaimed "):
            reclaimed += int(entry["msg"].split()[1])
    return {
        "files": n,
        "hostile_inputs": len(dropped),
        "kills_requested": kills,
        "kills_landed": landed["timed"] + landed["crash_point"],
        "timed_kills": landed["timed"],
        "crash_point_kills": landed["crash_point"],
        "crash_points": by_point,
        "runs_that_exited_before_the_kill": no_kill,
        "intake_rows": {r["state"]: r["n"] for r in rows},
        "claims": sum(r["claims"] or 0 for r in rows),
        "rows_claimed_more_than_once": sum(r["retried"] or 0 for r in rows),
        "rows_reclaimed_from_dead_watchers": reclaimed,
        "seconds_total": round(finished - started, 1),
        "seconds_final_run": round(finished - final_started, 1),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    parser.add_argument("--no-hostile", dest="hostile", action="store_false",
                        help="good files only (without the hostile corpus of issue 9)")
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="motcua-crash-"))
    try:
        report = run_crash(workdir, opts.files, opts.kills, seed=opts.seed,
                           hostile=opts.hostile)
    finally:
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"workspace kept in {workdir}")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print("RESULT:", "OK" if not report["problems"] else "FAILED")
    return 0 if not report["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
