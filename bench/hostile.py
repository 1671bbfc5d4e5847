"""The hostile corpus (tests/hostile_corpus.py), one kind at a time, each through its own
`motcua ingest` in a fresh workspace: what happened, why, how long, how much memory.

Memory is the kernel's own accounting: `wait4` returns the peak resident set of the
`ingest` process and every process it waited for (the tools it runs itself); OCR workers
are children of the fork server, so "worker" is the OCR worker's own `ru_maxrss`
(Tesseract and Ghostscript included), as it logged it. Runs as root drop the
file-mode override (setpriv), so that the unreadable file is really unreadable.

    .venv/bin/python bench/hostile.py            # a Markdown table, then a summary
    .venv/bin/python bench/hostile.py --kind pdf-javascript --kind font-fpdf2
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from motcua.ingest import names  # noqa: E402
from motcua.workspace import init_workspace, load_workspace  # noqa: E402
from tests.hostile_corpus import TEST_LIMITS, Kind, kinds, start_during  # noqa: E402
from tests.intake_kit import permission_prefix, query  # noqa: E402


def run_kind(kind: Kind, workdir: Path) -> dict[str, object]:
    ws = init_workspace(workdir / kind.name)
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write(TEST_LIMITS)
    ws = load_workspace(ws.root)
    expected = kind.make(ws.inbox)
    threads = start_during([kind], ws.inbox)
    started = time.monotonic()
    proc = subprocess.Popen(
        [*(permission_prefix() or ()), sys.executable, "-m", "motcua", "-w", str(ws.root),
         "ingest", "--incomplete-grace", "10", str(ws.inbox)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    for t in threads:
        t.join()
    rows = query(ws, "SELECT * FROM intake ORDER BY id")
    worker = 0
    log_file = ws.logs / "motcua.log"
    if log_file.exists():
        for line in log_file.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("event") == "worker_peak":
                worker = max(worker, int(entry["peak_rss_kb"]))
    states = [r["state"] for r in rows]
    ok = len(rows) == len(expected) and all(
        r["state"] in expected.get(os.fsdecode(os.fsencode(
            names.from_row(r["source_path"], r["source_bytes"]).relative_to(ws.inbox))), ())
        for r in rows) and all(r["attempts"] == 1 for r in rows)
    reasons = [r["reason_vi"] or "" for r in rows if r["reason_vi"]]
    for row in rows:
        if row["state"] == "done" and row["document_id"] is not None:
            for entry in query(ws, "SELECT details FROM audit_log WHERE action = 'ingest'"
                               " AND subject = ?", (f"document:{row['document_id']}",)):
                changes = json.loads(entry["details"]).get("archival_changes")
                if changes:
                    reasons.append("archival copy: " + "; ".join(changes))
    return {
        "kind": kind.name,
        "group": kind.group,
        "outcome": "+".join(sorted(set(states))),
        "as_expected": ok and b"Traceback" not in err,
        "exit": proc.returncode,
        "reason": reasons[0] if reasons else "",
        "seconds": round(seconds, 1),
        "peak_kb": usage.ru_maxrss,
        "worker_kb": worker,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    opts = parser.parse_args()
    selected = [k for k in kinds() if not opts.kind or k.name in opts.kind]
    workdir = Path(tempfile.mkdtemp(prefix="motcua-hostile-"))
    results = []
    try:
        for kind in selected:
            results.append(run_kind(kind, workdir))
            if not opts.json:
                print(f"  {kind.name}: {results[-1]['outcome']} "
                      f"({results[-1]['seconds']} s)", file=sys.stderr, flush=True)
    finally:
        for path in workdir.rglob("*"):  # mode-000 inputs must not stop the clean-up
            if not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(workdir, ignore_errors=True)
    if opts.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print("| kind | class | outcome | reason (Vietnamese, first words) | time s "
              "| peak MiB (ingest) | worker MiB |")
        print("|---|---|---|---|---|---|---|")
        for r in results:
            reason = str(r["reason"]).replace("|", "/")
            reason = reason if len(reason) <= 90 else reason[:89] + "…"
            worker = f"{int(r['worker_kb']) / 1024:.0f}" if r["worker_kb"] else "—"
            flag = "" if r["as_expected"] else " **UNEXPECTED**"
            print(f"| {r['kind']} | {r['group']} | {r['outcome']}{flag} | {reason} "
                  f"| {r['seconds']} | {int(r['peak_kb']) / 1024:.0f} | {worker} |")
    bad = [r["kind"] for r in results if not r["as_expected"]]
    peak = max(int(r["peak_kb"]) for r in results) / 1024
    print(f"\n{len(results)} kinds, {len(results) - len(bad)} as expected"
          f"{' (unexpected: ' + ', '.join(map(str, bad)) + ')' if bad else ''}; "
          f"highest peak {peak:.0f} MiB", file=sys.stderr if opts.json else sys.stdout)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
