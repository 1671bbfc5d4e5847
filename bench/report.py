"""Report benchmark: the quarterly numbers over 100,000 generated dossiers.

Generates a workspace with N dossiers received over 15 months (with their scanned
components, results, reuses and apology letters), then times `quarter_numbers` for one
quarter (Biểu 06 by field, digitization and reuse figures, apology count; the PDF
conversion is not included) against two baselines measured in the same run:

* a bare `SELECT COUNT(*)` scan of the dossiers table (SQLite's floor for one pass);
* the same Biểu 06 table computed in pure Python over all dossier rows fetched from
  SQLite (what a naive report would do).

    .venv/bin/python bench/report.py                 # 100,000 dossiers
    .venv/bin/python bench/report.py --dossiers 20000 --quarter 2025Q4
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from motcua import db  # noqa: E402
from motcua.archive.catalogue import load_catalogue  # noqa: E402
from motcua.counter.workdays import load_calendar  # noqa: E402
from motcua.reports.numbers import (  # noqa: E402
    NO_FIELD,
    RATINGS_SQL,
    indicators,
    quarter_numbers,
    ratings_by_officer,
)
from motcua.reports.periods import parse_quarter  # noqa: E402
from motcua.workspace import init_workspace  # noqa: E402
from tests.dossier_gen import generate, load  # noqa: E402

TARGET_SECONDS = 3.0


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def python_table(conn: Any, start: str, end: str) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {}
    for _code, fld, channel, rec, res, due in conn.execute(
            "SELECT code, field, channel, received_on, resolved_on, due_date FROM dossiers"):
        if rec is None or rec > end or (res is not None and res < start):
            continue
        row = table.setdefault(fld or "", Counter())
        row["carried_over" if rec < start else
            "online" if channel == "online" else "direct_post"] += 1
        if res is not None and res <= end:
            row["resolved"] += 1
            row["early" if due and res < due else "late" if due and res > due
                else "on_time"] += 1
        else:
            row["pending"] += 1
            row["overdue" if due and due < end else "within"] += 1
    return table


def add_ratings(conn: Any, gen: Any) -> None:
    """Citizens' ratings for about 60% of the resolved dossiers (issue 17)."""
    rnd = random.Random(17)
    levels = ("very_satisfied", "satisfied", "satisfied", "dissatisfied")
    rows = [(d["code"], rnd.choice(levels), d["resolved_at"], d["resolved_on"])
            for d in gen.dossiers if d["resolved_on"] and rnd.random() < 0.6]
    with db.transaction(conn):
        conn.executemany("INSERT INTO ratings (dossier_code, level, channel, rated_at,"
                         " rated_on) VALUES (?, ?, 'kiosk', ?, ?)", rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dossiers", type=int, default=100_000)
    ap.add_argument("--quarter", default="2025Q3")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the generated workspace")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-report-"))
    try:
        ws = init_workspace(tmp / "ws")
        cat, cal = load_catalogue(ws), load_calendar(ws)
        t0 = time.perf_counter()
        gen = generate(list(cat.procedures), cal, n=args.dossiers, start=date(2024, 11, 1),
                       end=date(2026, 1, 31), seed=2025, owners=max(500, args.dossiers // 20))
        conn = db.connect(ws.db_path)
        load(conn, gen)
        add_ratings(conn, gen)
        conn.execute("ANALYZE")
        print(f"generated {len(gen.dossiers):,} dossiers, {len(gen.documents):,} documents, "
              f"{len(gen.reuses):,} reuses, {len(gen.apologies):,} apologies "
              f"in {time.perf_counter() - t0:.1f} s")
        period = parse_quarter(args.quarter)
        s, e = period.start.isoformat(), period.end.isoformat()

        base_count, n = timed(lambda: conn.execute("SELECT COUNT(*) FROM dossiers")
                              .fetchone()[0], args.runs)
        base_scan, _ = timed(lambda: conn.execute(
            "SELECT COUNT(*) FROM dossiers WHERE field IS NOT NULL AND channel IS NOT NULL")
            .fetchone()[0], args.runs)
        base_py, table = timed(lambda: python_table(conn, s, e), args.runs)
        report_s, numbers = timed(lambda: quarter_numbers(conn, period), args.runs)
        ind_s, _ = timed(lambda: indicators(conn, period, cal), max(1, args.runs // 2))
        officers_s, _ = timed(lambda: ratings_by_officer(conn, period), max(1, args.runs // 2))
        params = {"start": s, "end": e, "no_field": NO_FIELD}
        ratings_s, _ = timed(lambda: conn.execute(RATINGS_SQL, params).fetchall(), args.runs)

        py_total = sum(r["resolved"] + r["pending"] for r in table.values())
        assert py_total == numbers.total.received_total, (py_total, numbers.total)
        t = numbers.total
        print(f"{period.label} ({period.range_vi}): {t.received_total:,} dossiers in the "
              f"table, {t.resolved_total:,} resolved, {t.pending_total:,} pending; "
              f"{numbers.digitization_total.received:,} received in the period")
        print(f"baseline SELECT COUNT(*) of {n:,} rows:      {base_count * 1000:8.1f} ms")
        print(f"baseline full-row scan (2 columns):          {base_scan * 1000:8.1f} ms")
        print(f"baseline Biểu 06 in pure Python:             {base_py * 1000:8.1f} ms")
        print(f"quarterly numbers (Biểu 06 + digitization):  {report_s * 1000:8.1f} ms  "
              f"= {report_s:.3f} s (target <= {TARGET_SECONDS:.0f} s: "
              f"{'met' if report_s <= TARGET_SECONDS else 'MISSED'})")
        print(f"  ratio to COUNT(*) scan: {report_s / base_count:.1f}x; to full-row scan: "
              f"{report_s / base_scan:.1f}x; to pure Python Biểu 06: "
              f"{report_s / base_py:.2f}x")
        print(f"indicators for the same period (incl. processing time): {ind_s:.3f} s")
        r = numbers.ratings_total
        print(f"ratings (in the numbers above): {r.rated:,} of {r.resolved:,} resolved rated; "
              f"their part of the numbers: {ratings_s * 1000:.1f} ms = "
              f"{ratings_s / base_scan:.1f}x the full-row scan; "
              f"per officer (the leader's page): {officers_s * 1000:.1f} ms = "
              f"{officers_s / base_scan:.1f}x the full-row scan")
        conn.close()
    finally:
        if args.keep:
            print(f"workspace kept at {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
