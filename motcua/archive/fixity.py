"""Fixity: re-hash stored files against their recorded checksums.

Every run is a row of `fixity_runs` with its problems in `fixity_problems`:
missing (recorded, not on disk), corrupt (hash differs), orphaned (on disk under
store/originals|archival|stamped, recorded nowhere). The originals of batch scans split
at their cover sheets (`batches`) are recorded files like any other. `sample_percent`
< 100 re-hashes a random sample of the recorded files; the orphan scan always covers the
whole store.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from motcua import db
from motcua.archive import audit
from motcua.archive.store import sha256_file
from motcua.workspace import Workspace

STORE_AREAS = ("originals", "archival", "stamped")


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the workspace root
    sha256: str
    document_id: int | None  # None for a batch scan's original (split into documents)
    role: str  # "original" | "archival" | "stamped" | "batch"


@dataclass(frozen=True)
class Problem:
    kind: str  # "missing" | "corrupt" | "orphaned"
    path: str
    document_id: int | None
    expected_sha256: str | None
    actual_sha256: str | None


@dataclass(frozen=True)
class FixityReport:
    run_id: int
    sample_percent: float
    files_checked: int
    problems: tuple[Problem, ...]

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)

    @property
    def ok(self) -> bool:
        return not self.problems


def recorded_files(conn: sqlite3.Connection) -> list[StoredFile]:
    files = [StoredFile(r[0], r[1], r[2], "original") for r in conn.execute(
        "SELECT original_path, sha256, id FROM documents ORDER BY id")]
    files += [StoredFile(r[0], r[1], r[2], "archival") for r in conn.execute(
        "SELECT archival_path, archival_sha256, id FROM documents"
        " WHERE archival_path IS NOT NULL AND archival_sha256 IS NOT NULL ORDER BY id")]
    files += [StoredFile(r[0], r[1], r[2], "stamped") for r in conn.execute(
        "SELECT stamped_path, stamped_sha256, document_id FROM stamps ORDER BY document_id")]
    files += [StoredFile(r[0], r[1], None, "batch") for r in conn.execute(
        "SELECT original_path, sha256 FROM batches ORDER BY id")]
    return files


def verify_store(ws: Workspace, conn: sqlite3.Connection, sample_percent: float = 100.0,
                 actor: str = "motcua", rng: random.Random | None = None) -> FixityReport:
    if not 0 < sample_percent <= 100:
        raise ValueError("sample_percent must be in (0, 100]")
    started = db.now()
    files = recorded_files(conn)
    chosen = files
    if sample_percent < 100 and files:
        k = max(1, round(len(files) * sample_percent / 100))
        chosen = (rng or random.SystemRandom()).sample(files, k)
    problems: list[Problem] = []
    for f in chosen:
        path = ws.absolute(f.path)
        if not path.is_file():
            problems.append(Problem("missing", f.path, f.document_id, f.sha256, None))
            continue
        actual = sha256_file(path)
        if actual != f.sha256:
            problems.append(Problem("corrupt", f.path, f.document_id, f.sha256, actual))
    known = {f.path for f in files}
    for area in STORE_AREAS:
        base = ws.store / area
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = str(Path("store") / path.relative_to(ws.store))
            if rel not in known:
                problems.append(Problem("orphaned", rel, None, None, None))
    report_kinds = {k: sum(1 for p in problems if p.kind == k)
                    for k in ("missing", "corrupt", "orphaned")}
    with db.transaction(conn):
        cur = conn.execute(
            "INSERT INTO fixity_runs (started_at, finished_at, sample_percent, files_checked,"
            " missing, corrupt, orphaned) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (started, db.now(), sample_percent, len(chosen), report_kinds["missing"],
             report_kinds["corrupt"], report_kinds["orphaned"]),
        )
        run_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO fixity_problems (run_id, kind, path, document_id, expected_sha256,"
            " actual_sha256) VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, p.kind, p.path, p.document_id, p.expected_sha256, p.actual_sha256)
             for p in problems],
        )
        audit.record(conn, "verify", "store", actor,
                     {"run_id": run_id, "sample_percent": sample_percent,
                      "files_checked": len(chosen), **report_kinds})
    return FixityReport(run_id, sample_percent, len(chosen), tuple(problems))


def history(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, object]]:
    return [dict(r) for r in conn.execute(
        "SELECT * FROM fixity_runs ORDER BY id DESC LIMIT ?", (limit,))]
