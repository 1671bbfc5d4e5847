"""Generated dossiers for the lifecycle and report tests and for bench/report.py.

`generate` makes plain Python records (one dict per dossier, document, reuse, apology)
from a seed; `load` writes them into a workspace database with bulk INSERTs. The tests
recount every number from the records with plain loops, never with the report's SQL.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from motcua import db, labels
from motcua.archive.catalogue import Procedure
from motcua.counter.workdays import WorkCalendar

AGENCY = "000.00.07.H47"
CHANNELS = ("online", "direct", "post")
CENTRE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the default [warehouse] timezone


@dataclass
class Generated:
    owners: list[dict[str, Any]] = field(default_factory=list)
    dossiers: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)  # with "role"
    reuses: list[dict[str, Any]] = field(default_factory=list)
    apologies: list[dict[str, Any]] = field(default_factory=list)


def citizen_id(i: int) -> str:
    province = 1 + i % 96
    return f"{province:03d}{i % 2}{50 + i % 50:02d}{i:06d}"


def generate(procedures: list[Procedure], calendar: WorkCalendar, *, n: int,
             start: date, end: date, seed: int = 7, owners: int = 500,
             with_documents: bool = True) -> Generated:
    """`n` dossiers received between `start` and `end` (inclusive) at random moments,
    weekends and holidays included (online submissions); resolved early, on time or late,
    or still pending; a few without field or due date."""
    rnd = random.Random(seed)
    out = Generated()
    for i in range(owners):
        out.owners.append({"id": citizen_id(i + 1), "kind": "citizen",
                           "name": f"Nguyễn Văn Thử {i + 1}"})
    span = (end - start).days + 1
    per_day: dict[date, int] = {}
    doc_id = 0
    owner_docs: dict[str, list[int]] = {}
    for _ in range(n):
        proc = procedures[rnd.randrange(len(procedures))]
        day = start + timedelta(days=rnd.randrange(span))
        channel = rnd.choice(CHANNELS)
        if not calendar.is_working_day(day) and channel != "online" and rnd.random() < 0.7:
            channel = "online"  # mostly online at weekends, but not only
        received = datetime(day.year, day.month, day.day, rnd.randrange(7, 18),
                            rnd.randrange(60), rnd.randrange(60), tzinfo=CENTRE_TZ)
        seq = per_day.get(day, 0) + 1
        per_day[day] = seq
        code = f"{AGENCY}-{day:%y%m%d}-{seq:04d}"
        fld: str | None = proc.field
        due: date | None = calendar.due_date(received, proc.processing_days)
        days: int | None = proc.processing_days
        proc_code, proc_name = proc.code, proc.name
        roll = rnd.random()
        if roll < 0.01:
            fld = None  # no field recorded
        elif roll < 0.02:
            # a procedure unknown to the catalogue (imported): no due date
            due, days = None, None
            proc_code, proc_name = "9.999999", "Thủ tục ngoài danh mục"
        assert due is None or due >= day
        resolved: datetime | None = None
        if rnd.random() > 0.12:  # 12% never resolved
            last = (due or day) + timedelta(days=rnd.choice((0, 0, 0, 1, 3, 12, 40)))
            k = rnd.randrange((last - day).days + 1)
            rday = day + timedelta(days=k)
            if rnd.random() < 0.25 and due is not None:
                rday = due  # exactly on the due date
            hh = rnd.randrange(7, 18)
            resolved = datetime(rday.year, rday.month, rday.day, hh, rnd.randrange(60),
                                tzinfo=CENTRE_TZ)
            if resolved < received:
                resolved = received + timedelta(minutes=30)
        owner = out.owners[rnd.randrange(len(out.owners))]["id"]
        out.dossiers.append({
            "code": code, "procedure_code": proc_code, "procedure_name": proc_name,
            "field": fld, "channel": channel, "owner_id": owner,
            "received_at": labels.utc_iso(received),
            "received_on": received.date().isoformat(), "processing_days": days,
            "due_date": due.isoformat() if due else None,
            "resolved_at": labels.utc_iso(resolved) if resolved else None,
            "resolved_on": resolved.date().isoformat() if resolved else None,
        })
        if not with_documents:
            continue
        # components: 0-3 scans (0 for ~15% of dossiers), reuse of earlier documents
        for _ in range(rnd.choice((0, 1, 1, 2, 2, 3)) if rnd.random() > 0.15 else 0):
            doc_id += 1
            out.documents.append({"id": doc_id, "dossier_code": code, "role": "component",
                                  "owner_id": owner, "meta": rnd.random() < 0.7})
            owner_docs.setdefault(owner, []).append(doc_id)
        earlier = [d for d in owner_docs.get(owner, []) if out.documents[d - 1]["dossier_code"]
                   != code]
        if earlier and rnd.random() < 0.4:
            for d in rnd.sample(earlier, min(len(earlier), rnd.choice((1, 1, 2)))):
                out.reuses.append({"document_id": d, "dossier_code": code,
                                   "status": "attached" if rnd.random() < 0.85 else "proposed",
                                   "created_at": received.isoformat(timespec="seconds")})
        if resolved is not None and rnd.random() < 0.8:
            doc_id += 1
            out.documents.append({"id": doc_id, "dossier_code": code, "role": "result",
                                  "owner_id": owner, "meta": True})
        if due is not None and (resolved is None or resolved.date() > due) and \
                rnd.random() < 0.5:
            issued = due + timedelta(days=1)
            # every 25th reservation was left unfinished by a run that died: no letter yet
            done = len(out.apologies) % 25 != 24
            out.apologies.append({"dossier_code": code, "original_due": due.isoformat(),
                                  "new_due": (due + timedelta(days=5)).isoformat(),
                                  "issued_on": issued.isoformat(),
                                  "docx_path": f"issued/xin-loi/{code}.docx" if done else None})
    return out


def load(conn: sqlite3.Connection, gen: Generated) -> None:
    """Bulk-insert the generated rows (one transaction)."""
    now = db.now()
    with db.transaction(conn):
        conn.executemany("INSERT OR IGNORE INTO owners (id, kind, name, created_at)"
                         " VALUES (?, ?, ?, ?)",
                         [(o["id"], o["kind"], o["name"], now) for o in gen.owners])
        cols = ("code", "procedure_code", "procedure_name", "field", "channel", "owner_id",
                "received_at", "received_on", "processing_days", "due_date", "resolved_at",
                "resolved_on")
        conn.executemany(
            f"INSERT INTO dossiers (created_at, {', '.join(cols)}) VALUES"
            f" (?, {', '.join('?' * len(cols))})",
            [(now, *(d[c] for c in cols)) for d in gen.dossiers])
        conn.executemany(
            "INSERT INTO documents (id, sha256, original_name, media_type, size, original_path,"
            " dossier_code, dossier_source, state, ingested_at, updated_at)"
            " VALUES (?, ?, ?, 'application/pdf', 1, ?, ?, 'manual', 'archived', ?, ?)",
            [(d["id"], f"{d['id']:064x}", f"doc{d['id']}.pdf", f"store/x/{d['id']}.pdf",
              d["dossier_code"], now, now) for d in gen.documents])
        conn.executemany(
            "INSERT INTO document_meta (document_id, role, type_code, owner_id, name,"
            " result_code, updated_at) VALUES (?, ?, 'cccd', ?, 'Giấy tờ', ?, ?)",
            [(d["id"], d["role"], d["owner_id"],
              f"{d['dossier_code']}-KQ{d['id']}" if d["role"] == "result" else None, now)
             for d in gen.documents if d["meta"]])
        conn.executemany(
            "INSERT OR IGNORE INTO reuses (document_id, dossier_code, type_code, status, mode,"
            " actor, created_at, attached_at) VALUES (?, ?, 'cccd', ?, 'auto', 'test', ?, ?)",
            [(r["document_id"], r["dossier_code"], r["status"], r["created_at"],
              r["created_at"] if r["status"] == "attached" else None) for r in gen.reuses])
        conn.executemany(
            "INSERT INTO apologies (dossier_code, original_due, new_due, reason, issued_on,"
            " docx_path, actor, created_at) VALUES (?, ?, ?, 'Chậm do xác minh', ?, ?, 'test', ?)",
            [(a["dossier_code"], a["original_due"], a["new_due"], a["issued_on"],
              a["docx_path"], now) for a in gen.apologies])
