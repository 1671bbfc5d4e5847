"""The append-only audit log: ingest, metadata changes, views, exports, reuse.

Each entry is chained to the previous one: `hash = sha256(prev_hash + canonical JSON of
the entry)`, canonical JSON being `json.dumps(..., sort_keys=True, ensure_ascii=False,
separators=(",", ":"))` of {seq, at, action, subject, actor, details}. Triggers refuse
UPDATE and DELETE on `audit_log`; `audit_head` keeps the last sequence number and hash so
that removing the last entries (after dropping the triggers) is detected as well.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from motcua import db

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: str  # "altered" | "broken_chain" | "missing" | "head_mismatch"
    message: str  # Vietnamese, for people


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    action: str
    subject: str
    actor: str
    details: dict[str, Any]
    hash: str


def canonical(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def entry_hash(prev_hash: str, seq: int, at: str, action: str, subject: str, actor: str,
               details: dict[str, Any]) -> str:
    body = canonical({"seq": seq, "at": at, "action": action, "subject": subject,
                      "actor": actor, "details": details})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _append(conn: sqlite3.Connection, action: str, subject: str, actor: str,
            details: dict[str, Any]) -> None:
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    prev_seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    seq = prev_seq + 1
    at = db.now()
    # Round-trip so the stored JSON is exactly what was hashed.
    details = json.loads(canonical(details))
    digest = entry_hash(prev_hash, seq, at, action, subject, actor, details)
    conn.execute(
        "INSERT INTO audit_log (seq, at, action, subject, actor, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, action, subject, actor, canonical(details), prev_hash, digest),
    )
    conn.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        (seq, digest),
    )


def record(conn: sqlite3.Connection, action: str, subject: str, actor: str,
           details: dict[str, Any]) -> None:
    """Append one entry. Joins the caller's open transaction if there is one (so the entry
    commits or rolls back with the change it describes), else runs its own."""
    if conn.in_transaction:
        _append(conn, action, subject, actor, details)
    else:
        with db.transaction(conn):
            _append(conn, action, subject, actor, details)


def entries(conn: sqlite3.Connection, subject: str | None = None,
            limit: int | None = None) -> list[AuditEntry]:
    sql = "SELECT seq, at, action, subject, actor, details, hash FROM audit_log"
    args: list[Any] = []
    if subject is not None:
        sql += " WHERE subject = ?"
        args.append(subject)
    sql += " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return [
        AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])
        for r in conn.execute(sql, args)
    ]


def verify(conn: sqlite3.Connection) -> list[AuditProblem]:
    """Recompute the chain. An empty list means the log is intact."""
    problems: list[AuditProblem] = []
    prev_hash, expected_seq = GENESIS, 1
    rows = conn.execute(
        "SELECT seq, at, action, subject, actor, details, prev_hash, hash FROM audit_log "
        "ORDER BY seq"
    ).fetchall()
    for seq, at, action, subject, actor, details_text, stored_prev, stored_hash in rows:
        if seq != expected_seq:
            problems.append(AuditProblem(
                expected_seq, "missing",
                f"Thiếu mục nhật ký số {expected_seq}"
                + (f" đến {seq - 1}" if seq - 1 > expected_seq else "")
                + " (đã bị xóa).",
            ))
        try:
            details = json.loads(details_text)
        except ValueError:
            details = {"__unparseable__": details_text}
        if stored_prev != prev_hash:
            problems.append(AuditProblem(
                seq, "broken_chain",
                f"Mục nhật ký số {seq} không nối đúng với mục trước (chuỗi băm bị đứt).",
            ))
        recomputed = entry_hash(stored_prev, seq, at, action, subject, actor, details)
        if recomputed != stored_hash or canonical(details) != details_text:
            problems.append(AuditProblem(
                seq, "altered", f"Mục nhật ký số {seq} đã bị sửa nội dung sau khi ghi.",
            ))
        prev_hash, expected_seq = stored_hash, seq + 1
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    last_seq = expected_seq - 1
    if head is None:
        if rows:
            problems.append(AuditProblem(
                last_seq, "head_mismatch", "Mất bản ghi đầu chuỗi của nhật ký kiểm tra.",
            ))
    elif head[0] != last_seq or head[1] != prev_hash:
        if head[0] > last_seq:
            message = (f"Các mục nhật ký cuối cùng (số {last_seq + 1} đến {head[0]}) "
                       "đã bị xóa.")
        else:
            message = "Đầu chuỗi nhật ký không khớp với mục cuối cùng (nhật ký bị sửa)."
        problems.append(AuditProblem(head[0], "head_mismatch", message))
    return problems
