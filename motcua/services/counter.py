"""The counter (Bộ phận Một cửa): owners, dossiers received and resolved, reuse of
documents already in the warehouse, overdue dossiers and their apology letters.

"Where is receive?" — `receive` here: the code, automatic reuse, the due date in working
days, form 01 naming the receiving officer. The due dates of dossiers made without one
(`dossier new`, an interrupted receipt) are completed by `sync_lifecycle` before any
reading that depends on them (`overdue`, the reports), once per call.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from motcua import db, labels
from motcua.archive import audit
from motcua.errors import UserError
from motcua.services import Context, Result, plain, ratings
from motcua.services.access import Permission, require
from motcua.services.documents import StampOutcome, reindex_one, restamp

log = logging.getLogger(__name__)

CHANNELS = tuple(labels.CHANNELS)


# ---- owners --------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerAdded(Result):
    id: str
    kind: str
    kind_label: str
    name: str


def add_owner(ctx: Context, owner_id: str, name: str) -> OwnerAdded:
    """A citizen (personal ID, checked) or an organisation (tax code, checked)."""
    from motcua.archive.owners import add_owner as write_owner
    from motcua.archive.settings import warehouse_settings

    require(ctx.actor.roles, Permission.RECEIVE)
    o = write_owner(ctx.conn, owner_id, name, ctx.audit_name,
                    warehouse_settings(ctx.ws).mst_check_digit)
    return OwnerAdded(o.id, o.kind, labels.label(labels.OWNER_KINDS, o.kind), o.name)


def _refresh_dossiers(ctx: Context, codes: tuple[str, ...] | list[str]) -> None:
    """The dossiers' documents (own and reused) carry their owner, procedure and codes in
    the search index: bring those entries up to date in the same operation."""
    from motcua.archive.indexing import documents_of_dossier, refresh_documents

    refresh_documents(ctx.ws, ctx.conn,
                      [d for code in codes for d in documents_of_dossier(ctx.conn, code)])


def rename_owner(ctx: Context, owner_id: str, name: str) -> OwnerAdded:
    """Correct an owner's misspelt name (audited); their documents are found by the new
    name at once."""
    from motcua.archive.indexing import documents_of_owner, refresh_documents
    from motcua.archive.owners import rename_owner as write_name

    require(ctx.actor.roles, Permission.RECEIVE)
    o = write_name(ctx.conn, owner_id, name, ctx.audit_name)
    refresh_documents(ctx.ws, ctx.conn, documents_of_owner(ctx.conn, o.id))
    return OwnerAdded(o.id, o.kind, labels.label(labels.OWNER_KINDS, o.kind), o.name)


@dataclass(frozen=True)
class OwnerView(Result):
    owner: dict[str, Any]
    dossiers: tuple[dict[str, Any], ...]
    documents: tuple[dict[str, Any], ...]


def owner_view(ctx: Context, owner_id: str) -> OwnerView:
    """An owner, their dossiers and their documents; viewing is audited (personal data)."""
    from motcua.archive.owners import owner_record

    require(ctx.actor.roles, Permission.VIEW)
    rec = owner_record(ctx.conn, owner_id)
    audit.record(ctx.conn, "view", f"owner:{rec['owner']['id']}", ctx.audit_name, {})
    owner = rec["owner"] | {"kind_label": labels.label(labels.OWNER_KINDS,
                                                       rec["owner"]["kind"])}
    dossiers = tuple(d | {"received_at_local": labels.vi_datetime(d["received_at"], ctx.zone)}
                     for d in rec["dossiers"])
    return OwnerView(owner, dossiers, tuple(rec["documents"]))


# ---- dossiers: view and list -----------------------------------------------------------


@dataclass(frozen=True)
class DossierView(Result):
    """One dossier for `dossier show` and the web's dossier page. `dossier` is None for a
    code that only documents carry (seen in a folder name or in OCR text)."""

    code: str
    dossier: dict[str, Any] | None
    documents: tuple[dict[str, Any], ...]
    reused: tuple[dict[str, Any], ...]
    missing_types: tuple[str, ...]
    missing_names: tuple[str, ...]


def _dossier_dict(ctx: Context, code: str) -> dict[str, Any] | None:
    from motcua.counter.lifecycle import get_record

    row = ctx.conn.execute("SELECT d.created_at, o.kind AS owner_kind FROM dossiers d"
                           " LEFT JOIN owners o ON o.id = d.owner_id WHERE d.code = ?",
                           (code,)).fetchone()
    if row is None:
        return None
    rec = get_record(ctx.conn, code)
    zone = ctx.zone
    return rec.as_dict() | {
        "created_at": row["created_at"], "owner_kind": row["owner_kind"],
        "channel_label": labels.label(labels.CHANNELS, rec.channel),
        "status_label": labels.label(labels.DOSSIER_STATUS, rec.status),
        "outcome_label": labels.label(labels.OUTCOMES, rec.outcome),
        "received_at_local": labels.vi_datetime(rec.received_at, zone),
        "resolved_at_local": labels.vi_datetime(rec.resolved_at, zone),
        "due_date_local": labels.vi_date(rec.due_date),
    }


def dossier_view(ctx: Context, code: str, *, record_view: bool = True) -> DossierView:
    """A dossier: its lifecycle, documents, reused documents and missing components."""
    from motcua.archive.reuse import missing_types

    require(ctx.actor.roles, Permission.VIEW)
    code = code.strip()
    dossier = _dossier_dict(ctx, code)
    documents = tuple(dict(r) | {"state_label": labels.label(labels.DOCUMENT_STATES,
                                                            r["state"]),
                                 "ingested_at_local": labels.vi_datetime(r["ingested_at"],
                                                                         ctx.zone)}
                      for r in ctx.conn.execute(
        "SELECT d.id, d.original_name, d.state, d.page_count, d.ingested_at, d.dossier_source,"
        " m.role, m.type_code, m.name, m.valid_to, m.result_code,"
        " (SELECT COUNT(*) FROM pages p WHERE p.document_id = d.id AND p.needs_rescan = 1)"
        " AS rescan FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id"
        " WHERE d.dossier_code = ? ORDER BY d.id", (code,)))
    if dossier is None and not documents:
        raise UserError(f"Không có hồ sơ mã {code}.", f"no dossier {code}")
    reused = tuple(dict(r) | {"status_label": labels.label(labels.REUSE_STATUS, r["status"])}
                   for r in ctx.conn.execute(
        "SELECT r.document_id, r.type_code, r.status, r.mode, r.actor, r.created_at,"
        " r.attached_at, m.name, m.valid_to, d.original_name, d.dossier_code AS origin"
        " FROM reuses r JOIN documents d ON d.id = r.document_id"
        " LEFT JOIN document_meta m ON m.document_id = r.document_id"
        " WHERE r.dossier_code = ? ORDER BY r.id", (code,)))
    missing: tuple[str, ...] = ()
    if dossier and dossier["procedure_code"]:
        try:
            missing = tuple(missing_types(ctx.conn, code,
                                          ctx.catalogue.get(dossier["procedure_code"])))
        except UserError:
            missing = ()
    if record_view:
        audit.record(ctx.conn, "view", f"dossier:{code}", ctx.audit_name, {})
    return DossierView(code, dossier, documents, reused, missing,
                       tuple(ctx.catalogue.type_name(t) for t in missing))


@dataclass(frozen=True)
class DossierRow(Result):
    code: str
    procedure_code: str | None
    procedure_name: str | None
    field: str | None
    channel: str | None
    channel_label: str
    owner_id: str | None
    owner_name: str | None
    received_at: str | None
    received_at_local: str
    created_at: str
    due_date: str | None
    status: str
    status_label: str
    documents: int
    rescan: int


@dataclass(frozen=True)
class DossierList(Result):
    dossiers: tuple[DossierRow, ...]
    unassigned: tuple[dict[str, Any], ...]  # documents in no dossier (newest first)


def dossier_list(ctx: Context, *, owner_id: str | None = None,
                 procedure_code: str | None = None, newest_first: bool = False,
                 limit: int | None = None, unassigned: int = 0) -> DossierList:
    """Dossiers, oldest receipt first (newest first for the web page), with their
    document counts; times are UTC in the database, so one sort orders them."""
    require(ctx.actor.roles, Permission.VIEW)
    sql = ("SELECT s.code, s.procedure_code, s.procedure_name, s.field, s.channel,"
           " s.owner_id, o.name AS owner_name, s.received_at, s.created_at, s.due_date,"
           " s.resolved_at,"
           " (SELECT COUNT(*) FROM documents d WHERE d.dossier_code = s.code) AS documents,"
           " (SELECT COUNT(*) FROM pages p JOIN documents d ON d.id = p.document_id"
           "  WHERE d.dossier_code = s.code AND p.needs_rescan = 1) AS rescan"
           " FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id WHERE 1 = 1")
    args: list[Any] = []
    if owner_id:
        sql += " AND s.owner_id = ?"
        args.append(owner_id.strip())
    if procedure_code:
        sql += " AND s.procedure_code = ?"
        args.append(procedure_code.strip())
    order = "DESC" if newest_first else ""
    sql += f" ORDER BY COALESCE(s.received_at, s.created_at) {order}, s.code {order}"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    rows = tuple(DossierRow(
        r["code"], r["procedure_code"], r["procedure_name"], r["field"], r["channel"],
        labels.label(labels.CHANNELS, r["channel"]), r["owner_id"], r["owner_name"],
        r["received_at"], labels.vi_datetime(r["received_at"], ctx.zone), r["created_at"],
        r["due_date"], "resolved" if r["resolved_at"] else "pending",
        labels.DOSSIER_STATUS["resolved" if r["resolved_at"] else "pending"],
        r["documents"], r["rescan"]) for r in ctx.conn.execute(sql, args))
    loose: tuple[dict[str, Any], ...] = ()
    if unassigned:
        loose = tuple(dict(r) | {"ingested_at_local": labels.vi_datetime(r["ingested_at"],
                                                                         ctx.zone)}
                      for r in ctx.conn.execute(
            "SELECT id, original_name, page_count, ingested_at FROM documents"
            " WHERE dossier_code IS NULL ORDER BY id DESC LIMIT ?", (unassigned,)))
    return DossierList(rows, loose)


# ---- dossiers: new, receive, resolve, import -----------------------------------------------


@dataclass(frozen=True)
class ReuseSummary(Result):
    mode: str
    attached: tuple[dict[str, Any], ...]
    proposed: tuple[dict[str, Any], ...]
    missing: tuple[str, ...]
    missing_names: tuple[str, ...]


def _reuse_summary(ctx: Context, outcome: Any) -> ReuseSummary:
    def named(c: Any) -> dict[str, Any]:
        return plain(c.as_dict()) | {"type_name": ctx.catalogue.type_name(c.type_code)}

    return ReuseSummary(outcome.mode, tuple(named(c) for c in outcome.attached),
                        tuple(named(c) for c in outcome.proposed), tuple(outcome.missing),
                        tuple(ctx.catalogue.type_name(t) for t in outcome.missing))


def _channel(channel: str) -> str:
    if channel not in labels.CHANNELS:
        raise UserError(
            f"Kênh tiếp nhận “{channel}” không hợp lệ; chọn online (trực tuyến), "
            "direct (trực tiếp) hoặc post (bưu chính).", f"bad channel {channel!r}")
    return channel


@dataclass(frozen=True)
class DossierCreated(Result):
    dossier: dict[str, Any]
    reuse: ReuseSummary


def new_dossier(ctx: Context, procedure_code: str, owner_id: str, channel: str = "direct",
                code: str | None = None) -> DossierCreated:
    """A dossier without a receipt (no due date until one is known); reuse runs."""
    from motcua.archive.settings import warehouse_settings
    from motcua.counter.dossiers import new_dossier as make

    require(ctx.actor.roles, Permission.RECEIVE)
    made = make(ctx.ws, ctx.conn, ctx.catalogue, procedure_code=procedure_code,
                owner_id=owner_id, channel=_channel(channel), actor=ctx.audit_name,
                auto_reuse_mode=warehouse_settings(ctx.ws).auto_reuse, code=code)
    _refresh_dossiers(ctx, [made.dossier.code])
    return DossierCreated(made.dossier.as_dict(), _reuse_summary(ctx, made.reuse))


@dataclass(frozen=True)
class Receipt(Result):
    docx: str
    pdf: str | None
    title: str = labels.ISSUED_KINDS["tiep-nhan"]  # form 02's when a paper is missing
    missing: tuple[str, ...] = ()  # required papers not handed over (form 02 lists them)


@dataclass(frozen=True)
class ReceiveOutcome(Result):
    record: dict[str, Any]
    reuse: ReuseSummary
    receipt: Receipt | None
    return_time: str          # the time of day printed with the appointment date
    received_at_local: str

    def as_dict(self) -> dict[str, Any]:
        """The record's fields at the top, as `dossier receive --json` always printed."""
        return plain(self.record) | {"reuse": self.reuse.as_dict(),
                                     "receipt": self.receipt.as_dict() if self.receipt
                                     else None}


def _moment(ctx: Context, at: str | datetime | None, label: str) -> datetime | None:
    """A moment typed by a person: the centre's wall clock unless it carries an offset."""
    if at is None or (isinstance(at, str) and not at.strip()):
        return None
    if isinstance(at, datetime):
        return at
    return labels.parse_datetime(at, label)


def receive(ctx: Context, procedure_code: str, owner_id: str, channel: str, *,
            at: str | datetime | None = None, code: str | None = None,
            print_receipt: bool = True, pdf: bool = True,
            papers: list[str] | None = None) -> ReceiveOutcome:
    """Receive a dossier at the counter (or back-fill a paper one with `at`): its code,
    automatic reuse, the due date, and form 01 naming the acting officer as receiver.
    `papers` (`TYPE[:HÌNH THỨC[:SỐ LƯỢNG]]`) are what was handed over, recorded and listed
    on form 01 with the missing ones apart; without them form 01 lists the procedure's
    required papers as received (the officer checked them in)."""
    from motcua.archive.settings import warehouse_settings
    from motcua.counter import lifecycle as lc
    from motcua.reports.forms import print_receipt as print_form
    from motcua.services.forms import parse_paper

    require(ctx.actor.roles, Permission.RECEIVE)
    parsed = [parse_paper(p, ctx) for p in papers] if papers else None
    moment = _moment(ctx, at, "thời điểm tiếp nhận (--at)")
    got = lc.receive(ctx.ws, ctx.conn, ctx.catalogue, ctx.calendar,
                     procedure_code=procedure_code, owner_id=owner_id,
                     channel=_channel(channel), actor=ctx.audit_name, at=moment, code=code,
                     auto_reuse_mode=warehouse_settings(ctx.ws).auto_reuse)
    _refresh_dossiers(ctx, [got.record.code])
    receipt = None
    if parsed is not None:  # what was handed over, as the counter's page records it
        if print_receipt:
            handed = _hand_over(ctx, got.record.code, parsed, pdf=pdf)
            receipt = Receipt(handed.form.docx, handed.form.pdf, handed.form.title,
                              handed.missing)
        else:
            _record_papers(ctx, got.record.code, parsed)
    elif print_receipt:
        made = print_form(ctx.ws, ctx.conn, ctx.catalogue, got.record.code, pdf=pdf,
                          receiver=ctx.operator if ctx.actor.kind == "user" else None,
                          rating=ratings.printed_link(ctx, got.record.code))
        receipt = Receipt(str(made.docx), str(made.pdf) if made.pdf else None)
    return ReceiveOutcome(got.record.as_dict(), _reuse_summary(ctx, got.reuse), receipt,
                          lc.lifecycle_settings(ctx.ws).return_time,
                          labels.vi_datetime(got.record.received_at, ctx.zone))


@dataclass(frozen=True)
class ResolveOutcome(Result):
    record: dict[str, Any]
    result_code: str
    document_id: int
    outcome: str
    outcome_label: str
    stamp: StampOutcome | None
    indexed: bool

    def as_dict(self) -> dict[str, Any]:
        return plain(self.record) | {"result_code": self.result_code,
                                     "document_id": self.document_id,
                                     "stamp": self.stamp.as_dict() if self.stamp else None}


def resolve(ctx: Context, code: str, result_file: Path, *, at: str | datetime | None = None,
            stamp: bool = True) -> ResolveOutcome:
    """Record a dossier's result (stored byte for byte) and when it came: early, on time
    or late. The "KẾT QUẢ ĐIỆN TỬ" stamp follows the one policy of `documents.restamp`:
    a failure is a warning, the result stands."""
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.RECEIVE)
    moment = _moment(ctx, at, "thời điểm có kết quả (--at)")
    done = lc.resolve(ctx.ws, ctx.conn, code, result_file, ctx.audit_name, moment)
    stamped = restamp(ctx, done.document_id, strict=False) \
        if stamp and result_file.suffix.lower() == ".pdf" else None
    indexed = reindex_one(ctx, done.document_id)
    ratings.after_handling(ctx, done.record.code, "return")
    return ResolveOutcome(done.record.as_dict(), done.result_code, done.document_id,
                          done.outcome, labels.OUTCOMES[done.outcome], stamped, indexed)


@dataclass(frozen=True)
class ImportOutcome(Result):
    inserted: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    bad: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        """Counts and the bad rows, as `dossier import --json` always printed."""
        return {"inserted": len(self.inserted), "updated": len(self.updated),
                "unchanged": len(self.unchanged), "bad": list(self.bad)}


def import_dossiers(ctx: Context, csv_file: Path, mapping_file: Path) -> ImportOutcome:
    """Dossiers from the province's system (CSV with a column mapping)."""
    from motcua.counter.dossier_import import import_csv, load_mapping

    require(ctx.actor.roles, Permission.RECEIVE)
    mapping = load_mapping(mapping_file)
    rep = import_csv(ctx.conn, csv_file, mapping, ctx.catalogue, ctx.calendar,
                     ctx.audit_name)
    _refresh_dossiers(ctx, [*rep.inserted, *rep.updated])
    return ImportOutcome(tuple(rep.inserted), tuple(rep.updated), tuple(rep.unchanged),
                         tuple(b.as_dict() for b in rep.bad))


# ---- procedures and reuse ----------------------------------------------------------------


@dataclass(frozen=True)
class Procedures(Result):
    procedures: tuple[dict[str, Any], ...]
    document_types: dict[str, str]


def procedures(ctx: Context) -> Procedures:
    """The procedure catalogue of the workspace."""
    require(ctx.actor.roles, Permission.VIEW)
    cat = ctx.catalogue
    return Procedures(tuple(p.as_dict() for p in cat.procedures), dict(cat.document_types))


@dataclass(frozen=True)
class ReusableDocuments(Result):
    owner_id: str
    documents: tuple[dict[str, Any], ...]


def reusable(ctx: Context, owner_id: str, type_code: str | None = None,
             on: str | date | None = None) -> ReusableDocuments:
    """An owner's documents still valid (today, or on the day given)."""
    from motcua.archive.owners import get_owner
    from motcua.archive.reuse import find_valid

    require(ctx.actor.roles, Permission.VIEW)
    owner = get_owner(ctx.conn, owner_id)
    day = on if isinstance(on, date) else labels.parse_optional_day(on, "ngày xét")
    found = find_valid(ctx.conn, owner.id, type_code, day or today(ctx))
    return ReusableDocuments(owner.id, tuple(
        c.as_dict() | {"type_name": ctx.catalogue.type_name(c.type_code)} for c in found))


@dataclass(frozen=True)
class ReuseAttached(Result):
    document_id: int
    dossier_code: str
    status: str


def attach_reuse(ctx: Context, doc_ref: str, dossier_code: str) -> ReuseAttached:
    """Attach a document already in the warehouse to a dossier, without rescanning."""
    from motcua.archive.documents import resolve_document
    from motcua.archive.indexing import refresh_documents
    from motcua.archive.reuse import attach

    require(ctx.actor.roles, Permission.REUSE)
    r = attach(ctx.conn, resolve_document(ctx.conn, doc_ref), dossier_code.strip(),
               ctx.audit_name)
    refresh_documents(ctx.ws, ctx.conn, [r.document_id])  # found under the new dossier
    return ReuseAttached(r.document_id, r.dossier_code, r.status)


# ---- overdue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueDossier(Result):
    record: dict[str, Any]
    days_late: int
    apology: dict[str, Any] | None
    apology_done: bool


@dataclass(frozen=True)
class OverdueReport(Result):
    on: date
    overdue: tuple[OverdueDossier, ...]
    letters: tuple[dict[str, Any], ...]
    already_had: tuple[str, ...]
    letters_asked: bool

    def as_dict(self) -> dict[str, Any]:
        """As `overdue --json` always printed: each dossier's fields at the top."""
        return {"on": self.on.isoformat(),
                "overdue": [plain(o.record) | {"days_late": o.days_late,
                                               "apology": o.apology}
                            for o in self.overdue],
                "letters": list(self.letters), "already_had": list(self.already_had)}


def today(ctx: Context) -> date:
    """Today on the centre's wall clock, not the machine's."""
    return datetime.now(ctx.zone).date()


def overdue(ctx: Context, on: str | date | None = None, *, letters: bool = False,
            reason: str | None = None, extension_days: int | None = None,
            pdf: bool = True) -> OverdueReport:
    """Pending dossiers past their due date; with `letters`, form 04 for each that has
    none yet (a dossier that already had one is never given a second)."""
    from motcua.counter import lifecycle as lc
    from motcua.reports.forms import issue_apology_letters

    require(ctx.actor.roles, Permission.VIEW)
    if letters:
        require(ctx.actor.roles, Permission.RECEIVE)
    day = on if isinstance(on, date) else \
        labels.parse_optional_day(on, "ngày xét (--on)") or today(ctx)
    lc.sync_lifecycle(ctx.conn, ctx.catalogue, ctx.calendar)
    late = lc.overdue(ctx.conn, day)
    made: list[Any] = []
    skipped: list[str] = []
    if letters:
        made, skipped = issue_apology_letters(
            ctx.ws, ctx.conn, ctx.calendar, day, ctx.audit_name, reason=reason,
            extension_days=extension_days, pdf=pdf)
    rows = []
    for r in late:
        apology = lc.get_apology(ctx.conn, r.code)
        rows.append(OverdueDossier(r.as_dict(), r.days_late(day),
                                   apology.as_dict() if apology else None,
                                   bool(apology and apology.done)))
    return OverdueReport(day, tuple(rows), tuple(dict(x.__dict__) for x in made),
                         tuple(skipped), letters)


# ---- the counter's web desk and receiving page -------------------------------------------


@dataclass(frozen=True)
class Desk(Result):
    """The counts of the counter's desk (each links to a filtered list) and the dossiers
    that need the officer today."""

    on: date
    due_today: int
    overdue: int
    received_today: int
    unfiled: int          # documents archived in no dossier
    rescan_pages: int
    quarantined: int
    inbox_waiting: int    # pending, processing or held (incomplete / retrying)
    watcher_pid: int | None
    late: tuple[dict[str, Any], ...]     # overdue dossiers, oldest due first
    found: tuple[dict[str, Any], ...]    # dossiers matching the desk's lookup
    query: str
    # Documents that named a dossier the counter never issued (or sat in a folder that is
    # no dossier code), newest first, with the reason: the officer files them by hand.
    misfiled: tuple[dict[str, Any], ...] = ()


def _fold(text: str) -> str:
    from motcua.index.normalize import fold_diacritics

    return fold_diacritics(text).lower()


def desk(ctx: Context, query: str = "", *, on: date | None = None) -> Desk:
    """The desk: what is due, late and new today, what waits in the intake, whether the
    watcher runs; `query` finds dossiers by code or owner name (diacritics optional)."""
    from motcua.counter import lifecycle as lc
    from motcua.ingest.status import WAITING, watcher_pid

    require(ctx.actor.roles, Permission.VIEW)
    day = on or today(ctx)
    lc.sync_lifecycle(ctx.conn, ctx.catalogue, ctx.calendar)
    conn = ctx.conn
    iso = day.isoformat()

    def one(sql: str, *args: Any) -> int:
        return int(conn.execute(sql, args).fetchone()[0])

    due_today = one("SELECT COUNT(*) FROM dossiers WHERE resolved_at IS NULL"
                    " AND cancelled_at IS NULL AND due_date = ?", iso)
    late_count = one("SELECT COUNT(*) FROM dossiers WHERE resolved_at IS NULL"
                     " AND cancelled_at IS NULL AND due_date < ?", iso)
    received = one("SELECT COUNT(*) FROM dossiers WHERE received_on = ?", iso)
    unfiled = one("SELECT COUNT(*) FROM documents WHERE dossier_code IS NULL")
    rescan = one("SELECT COUNT(*) FROM pages WHERE needs_rescan = 1")
    quarantined = one("SELECT COUNT(*) FROM intake WHERE state IN ('quarantined', 'refused')")
    marks = ", ".join("?" for _ in WAITING)
    waiting = one(f"SELECT COUNT(*) FROM intake WHERE state IN ({marks})", *WAITING)
    late = []
    for r in lc.overdue(conn, day, limit=50):
        apology = lc.get_apology(conn, r.code)
        late.append(r.as_dict() | {"days_late": r.days_late(day),
                                   "due_date_local": labels.vi_date(r.due_date),
                                   "apology_done": bool(apology and apology.done)})
    query = query.strip()[:100]
    found = _desk_lookup(ctx, query) if query else []
    misfiled = tuple(
        {"id": r["id"], "original_name": r["original_name"],
         "reason": labels.unfiled_reason(r["unfiled_reason"], r["unfiled_hint"])}
        for r in conn.execute(
            "SELECT id, original_name, unfiled_reason, unfiled_hint FROM documents"
            " WHERE dossier_code IS NULL AND unfiled_reason IS NOT NULL"
            " ORDER BY id DESC LIMIT 20"))
    return Desk(day, due_today, late_count, received, unfiled, rescan, quarantined, waiting,
                watcher_pid(ctx.ws), tuple(late), tuple(found), query, misfiled)


def _desk_lookup(ctx: Context, query: str, limit: int = 30) -> list[dict[str, Any]]:
    """Dossiers (newest receipt first) whose code holds `query`, whose owner has that ID,
    or whose owner's or procedure's name holds it, diacritics optional. Every dossier is
    looked at (SQLite calls the fold for each row): an old dossier is found too."""
    conn = ctx.conn
    conn.create_function("motcua_fold", 1, lambda t: _fold(t) if t else "",
                         deterministic=True)
    folded = _fold(query)
    needle = "%" + folded.replace("\\", "").replace("%", "").replace("_", "") + "%"
    # Procedures are few: matched here, in Python, against the catalogue's names.
    procedures = [p.code for p in ctx.catalogue.procedures if folded in _fold(p.name)][:200]
    marks = ", ".join("?" for _ in procedures) or "NULL"
    # Owners are folded once each (a subquery SQLite runs once), not once per dossier.
    rows = conn.execute(
        "SELECT s.code, s.owner_id, o.name AS owner_name, s.procedure_name, s.due_date,"
        " s.resolved_at, s.cancelled_at"
        " FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id"
        " WHERE s.code LIKE ? OR s.owner_id = ?"
        " OR s.owner_id IN (SELECT id FROM owners WHERE motcua_fold(name) LIKE ?)"
        f" OR s.procedure_code IN ({marks})"
        " ORDER BY COALESCE(s.received_at, s.created_at) DESC, s.code DESC LIMIT ?",
        (f"%{query}%", query.replace(" ", ""), needle, *procedures, limit)).fetchall()
    return [{"code": r["code"], "owner_id": r["owner_id"], "owner_name": r["owner_name"],
             "procedure_name": r["procedure_name"], "due_date": r["due_date"],
             "due_date_local": labels.vi_date(r["due_date"]), "status": _row_status(r),
             "status_label": labels.DOSSIER_STATUS[_row_status(r)]} for r in rows]


def find_procedures(ctx: Context, query: str, limit: int = 20) -> tuple[dict[str, Any], ...]:
    """Procedures whose code or name holds `query` (diacritics optional), with the names
    of the components each requires."""
    require(ctx.actor.roles, Permission.VIEW)
    needle = _fold(query.strip())
    out = []
    for p in ctx.catalogue.procedures:
        if not needle or needle in _fold(f"{p.code} {p.name} {p.field}"):
            out.append(p.as_dict() | {"components": [
                {"type_code": t, "name": ctx.catalogue.type_name(t)} for t in p.requires]})
            if len(out) >= limit:
                break
    return tuple(out)


@dataclass(frozen=True)
class OwnerLookup(Result):
    """What the receiving page says while an ID is typed: valid or why not; the owner
    when already known, with documents the warehouse could reuse."""

    raw: str
    owner_id: str | None
    kind: str | None
    problem: str
    known: bool
    name: str
    address: str
    phone: str
    reusable: tuple[dict[str, Any], ...]


def check_owner_id(ctx: Context, raw: str) -> str:
    """A personal ID or tax code checked as `owner add` checks it, with the workspace's
    tax-code setting; UserError says what is wrong."""
    from motcua.archive.ids import classify_owner_id
    from motcua.archive.settings import warehouse_settings

    return classify_owner_id(raw, warehouse_settings(ctx.ws).mst_check_digit).value


def check_dossier_code(raw: str) -> str:
    """A dossier code in the form `<agency>-YYMMDD-XXXX`; UserError otherwise."""
    from motcua.archive.ids import validate_dossier_code

    return validate_dossier_code(raw)


@dataclass(frozen=True)
class OwnerRef(Result):
    id: str
    kind: str
    name: str


def find_owner(ctx: Context, owner_id: str) -> OwnerRef | None:
    """The owner registered under `owner_id` (already checked), or None."""
    from motcua.archive.owners import find_owner as lookup

    require(ctx.actor.roles, Permission.VIEW)
    found = lookup(ctx.conn, owner_id)
    return OwnerRef(found.id, found.kind, found.name) if found else None


def dossier_exists(ctx: Context, code: str) -> bool:
    from motcua.archive.records import dossier_exists as exists

    require(ctx.actor.roles, Permission.VIEW)
    return exists(ctx.conn, code)


def owner_lookup(ctx: Context, raw_id: str) -> OwnerLookup:
    """Check an owner ID through the same validation as `owner add` (archive.ids)."""
    from motcua.archive.ids import classify_owner_id
    from motcua.archive.settings import warehouse_settings

    require(ctx.actor.roles, Permission.VIEW)
    raw = raw_id.strip()[:40]
    if not raw:
        return OwnerLookup(raw, None, None, "", False, "", "", "", ())
    try:
        parsed = classify_owner_id(raw, warehouse_settings(ctx.ws).mst_check_digit)
    except UserError as exc:
        return OwnerLookup(raw, None, None, exc.message, False, "", "", "", ())
    row = ctx.conn.execute("SELECT name, address, phone FROM owners WHERE id = ?",
                           (parsed.value,)).fetchone()
    if row is None:
        return OwnerLookup(raw, parsed.value, parsed.kind, "", False, "", "", "", ())
    found = reusable(ctx, parsed.value).documents
    return OwnerLookup(raw, parsed.value, parsed.kind, "", True, row["name"] or "",
                       row["address"] or "", row["phone"] or "", found)


@dataclass(frozen=True)
class CounterReceipt(Result):
    """A dossier received at the counter's page and the form handed over: 01 when
    every required component was handed in (or reused), else 02 listing what is missing."""

    code: str
    due_date: str
    due_date_local: str
    received: tuple[dict[str, Any], ...]
    missing: tuple[str, ...]
    form: Any  # forms.FormIssued


def _papers_of(ctx: Context, code: str) -> list[Any]:
    """The papers recorded as handed over for a dossier (the latest list)."""
    from motcua.reports.forms import ReceivedPaper, recorded_papers

    for e in reversed(audit.entries(ctx.conn, f"dossier:{code}")):
        if e.action == "dossier.papers":
            return [ReceivedPaper(p["type_code"], p["form"], int(p["copies"]))
                    for p in e.details["papers"]]
    return list(recorded_papers(ctx.conn, code) or [])


def _record_papers(ctx: Context, code: str, papers: list[Any]) -> None:
    audit.record(ctx.conn, "dossier.papers", f"dossier:{code}", ctx.audit_name,
                 {"papers": [{"type_code": p.type_code, "form": p.form, "copies": p.copies}
                             for p in papers]})


def _hand_over(ctx: Context, code: str, papers: list[Any], *, pdf: bool) -> CounterReceipt:
    """Record the papers, then issue form 01 if nothing required is missing, else 02."""
    from motcua.counter import lifecycle as lc
    from motcua.reports.forms import received_components
    from motcua.services import forms

    _record_papers(ctx, code, papers)
    rec = lc.get_record(ctx.conn, code)
    lines, missing = received_components(ctx.conn, ctx.catalogue, rec, papers)
    if missing:
        issued = forms.supplement(ctx, code, requirements=[f"Bổ sung {m}" for m in missing],
                                  pdf=pdf)
    else:
        issued = forms.receipt(ctx, code, [f"{p.type_code}:{p.form}:{p.copies}"
                                           for p in papers], pdf=pdf)
    return CounterReceipt(code, rec.due_date or "", labels.vi_date(rec.due_date),
                          tuple(lines), tuple(missing), issued)


def _paper(ctx: Context, type_code: str, form: str, copies: int) -> Any:
    from motcua.services.forms import paper

    return paper(ctx, type_code, form, copies)


def receive_at_counter(ctx: Context, procedure_code: str, owner_id: str, channel: str,
                       papers: list[tuple[str, str, int]], *, owner_name: str = "",
                       address: str = "", phone: str = "", pdf: bool = True
                       ) -> CounterReceipt:
    """The counter's page: register the owner if new (with address and phone), receive
    the dossier, record the papers handed over (type, original or copy, count) and issue
    form 01, or form 02 when a required component is missing."""
    from motcua.archive.owners import find_owner, set_contact

    require(ctx.actor.roles, Permission.RECEIVE)
    proc = ctx.catalogue.get(procedure_code.strip())
    parsed = [_paper(ctx, t, f, n) for t, f, n in papers]
    lookup = owner_lookup(ctx, owner_id)
    if lookup.problem:
        raise UserError(lookup.problem, f"bad owner id {owner_id!r}")
    if lookup.owner_id is None:
        raise UserError("Chưa nhập số định danh hoặc mã số thuế của chủ hồ sơ.", "no owner")
    if find_owner(ctx.conn, lookup.owner_id) is None:
        if not owner_name.strip():
            raise UserError("Chủ hồ sơ chưa có trong kho: nhập họ tên để đăng ký.",
                            "new owner without name")
        add_owner(ctx, lookup.owner_id, owner_name.strip())
    if address.strip() or phone.strip():
        set_contact(ctx.conn, lookup.owner_id, ctx.audit_name,
                    address=address.strip() or None, phone=phone.strip() or None)
    got = receive(ctx, proc.code, lookup.owner_id, channel, print_receipt=False)
    handed = _hand_over(ctx, got.record["code"], parsed, pdf=pdf)
    ratings.after_handling(ctx, handed.code, "receive")
    return handed


def complete_papers(ctx: Context, code: str, papers: list[tuple[str, str, int]], *,
                    pdf: bool = True) -> CounterReceipt:
    """Papers handed in later (after form 02): added to those already recorded; form 01
    when the dossier is then complete, else a new form 02."""
    require(ctx.actor.roles, Permission.RECEIVE)
    have = {p.type_code: p for p in _papers_of(ctx, code)}
    for t, f, n in papers:
        have[t] = _paper(ctx, t, f, n)
    if not have:
        raise UserError("Chưa đánh dấu giấy tờ nào đã nhận.", "no papers")
    return _hand_over(ctx, code, list(have.values()), pdf=pdf)


# ---- the dossier page: forms issued, notes, apology -----------------------------------------


def issued_forms(ctx: Context, code: str) -> tuple[dict[str, Any], ...]:
    """Forms issued for a dossier (newest first), from the audit log and the apology."""
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.VIEW)
    out: list[dict[str, Any]] = []
    for e in reversed(audit.entries(ctx.conn, f"dossier:{code}")):
        if e.action == "form.issue" and (e.details.get("pdf") or e.details.get("docx")):
            kind = str(e.details.get("kind", ""))
            out.append({"seq": e.seq, "form": e.details.get("form"), "kind": kind,
                        "title": labels.label(labels.ISSUED_KINDS, kind),
                        "at_local": labels.vi_datetime(e.at, ctx.zone), "actor": e.actor,
                        "has_pdf": bool(e.details.get("pdf"))})
    apology = lc.get_apology(ctx.conn, code)
    if apology and apology.done:
        out.append({"seq": 0, "form": "04", "kind": "xin-loi",
                    "title": labels.label(labels.ISSUED_KINDS, "xin-loi"),
                    "at_local": labels.vi_datetime(apology.created_at, ctx.zone),
                    "actor": "", "has_pdf": bool(apology.pdf_path)})
    return tuple(out)


def issued_form_file(ctx: Context, code: str, seq: int) -> Path:
    """The PDF (else DOCX) of one form issued for the dossier (`seq` of its audit entry;
    0 = the apology letter)."""
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.VIEW)
    rel: str | None = None
    if seq == 0:
        apology = lc.get_apology(ctx.conn, code)
        if apology and apology.done:
            rel = apology.pdf_path or apology.docx_path
    else:
        for e in audit.entries(ctx.conn, f"dossier:{code}"):
            if e.seq == seq and e.action == "form.issue":
                rel = e.details.get("pdf") or e.details.get("docx")
    if not rel:
        raise UserError("Không có phiếu này trong hồ sơ.", f"no form {seq} for {code}")
    path = (ctx.ws.root / rel).resolve()
    if not path.is_relative_to(ctx.ws.root.resolve()) or not path.is_file():
        raise UserError("Không tìm thấy tệp của phiếu.", f"form file missing: {rel}")
    return path


def apology(ctx: Context, code: str, *, pdf: bool = True) -> OverdueReport:
    """Form 04 for one overdue dossier (never a second letter)."""
    from motcua.counter import lifecycle as lc
    from motcua.reports.forms import issue_apology_letters

    require(ctx.actor.roles, Permission.RECEIVE)
    day = today(ctx)
    lc.sync_lifecycle(ctx.conn, ctx.catalogue, ctx.calendar)
    rec = lc.get_record(ctx.conn, code.strip())
    if rec.code not in {r.code for r in lc.overdue(ctx.conn, day)}:
        raise UserError(f"Hồ sơ {rec.code} không quá hạn: không lập thư xin lỗi (Mẫu 04).",
                        f"dossier {rec.code} not overdue")
    made, skipped = issue_apology_letters(ctx.ws, ctx.conn, ctx.calendar, day,
                                          ctx.audit_name, pdf=pdf, only=rec.code)
    if not made:
        raise UserError(f"Hồ sơ {rec.code} đã có thư xin lỗi (Mẫu 04): không lập thư thứ hai.",
                        f"dossier {rec.code} already has an apology")
    return OverdueReport(day, (), tuple(dict(x.__dict__) for x in made), tuple(skipped), True)


@dataclass(frozen=True)
class Note(Result):
    id: int
    author: str
    body: str
    created_at: str
    created_at_local: str


MAX_NOTE = 2000


def add_note(ctx: Context, code: str, body: str) -> Note:
    """A note on a dossier, with its author and time; audited."""
    from motcua import db
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.RECEIVE)
    rec = lc.get_record(ctx.conn, code.strip())
    text = body.strip()
    if not text:
        raise UserError("Ghi chú đang trống.", "empty note")
    if len(text) > MAX_NOTE:
        raise UserError(f"Ghi chú dài quá {MAX_NOTE} ký tự.", "note too long")
    at = db.now()
    with db.transaction(ctx.conn):
        cur = ctx.conn.execute("INSERT INTO dossier_notes (dossier_code, author, body,"
                               " created_at) VALUES (?, ?, ?, ?)",
                               (rec.code, ctx.audit_name, text, at))
        audit.record(ctx.conn, "dossier.note", f"dossier:{rec.code}", ctx.audit_name,
                     {"note_id": cur.lastrowid})
    return Note(int(cur.lastrowid or 0), ctx.audit_name, text, at,
                labels.vi_datetime(at, ctx.zone))


def notes(ctx: Context, code: str) -> tuple[Note, ...]:
    require(ctx.actor.roles, Permission.VIEW)
    return tuple(Note(r["id"], r["author"], r["body"], r["created_at"],
                      labels.vi_datetime(r["created_at"], ctx.zone))
                 for r in ctx.conn.execute(
        "SELECT id, author, body, created_at FROM dossier_notes WHERE dossier_code = ?"
        " ORDER BY id", (code.strip(),)))


def timing(ctx: Context, record: dict[str, Any] | None) -> tuple[str, str]:
    """(code, Vietnamese label) of where a dossier stands: early / on time / late once
    resolved; pending, or overdue past its due date."""
    if not record:
        return "", ""
    if record.get("resolved_at"):
        outcome = record.get("outcome") or "on_time"
        return outcome, labels.label(labels.OUTCOMES, outcome)
    due = record.get("due_date")
    if due and date.fromisoformat(due) < today(ctx):
        return "overdue", "quá hạn"
    return "pending", labels.DOSSIER_STATUS["pending"]


def counter_components(ctx: Context, code: str) -> tuple[tuple[dict[str, Any], ...],
                                                         tuple[str, ...]]:
    """The procedure's components as the counter sees them (received on paper, reused
    from the warehouse, or missing), and the names of the missing ones: the same reading
    as forms 01 and 02."""
    from motcua.counter import lifecycle as lc
    from motcua.reports.forms import received_components

    require(ctx.actor.roles, Permission.VIEW)
    rec = lc.get_record(ctx.conn, code.strip())
    try:
        proc = ctx.catalogue.get(rec.procedure_code or "")
    except UserError:
        return (), ()
    papers = _papers_of(ctx, rec.code)
    lines, missing = received_components(ctx.conn, ctx.catalogue, rec, papers or None)
    got = {line["type_code"]: line for line in lines}
    rows = tuple({"type_code": t, "name": ctx.catalogue.type_name(t), "received": t in got,
                  "form": got[t]["form"] if t in got else "",
                  "copies": got[t]["copies"] if t in got else 0} for t in proc.requires)
    return rows, tuple(missing)


# ---- repairing a dossier: edit, cancel -------------------------------------------------------


@dataclass(frozen=True)
class DossierEdited(Result):
    code: str
    changes: dict[str, list[Any]]   # field -> [before, after]
    restamped: tuple[int, ...]      # documents whose stamp carries the changed values


def _restamp_dossier(ctx: Context, code: str) -> tuple[int, ...]:
    """Re-stamp the dossier's stamped documents: the stamp's QR carries the procedure
    and the owner. A stamp that fails is a warning (the one policy of restamp)."""
    done = []
    for (doc_id,) in ctx.conn.execute(
            "SELECT d.id FROM documents d JOIN stamps s ON s.document_id = d.id"
            " WHERE d.dossier_code = ? ORDER BY d.id", (code,)).fetchall():
        restamp(ctx, int(doc_id), strict=False)
        done.append(int(doc_id))
    return tuple(done)


def edit_dossier(ctx: Context, code: str, *, procedure_code: str | None = None,
                 owner_id: str | None = None, channel: str | None = None) -> DossierEdited:
    """Correct a dossier's procedure, owner or channel: one audit entry with the values
    before and after; the due date follows a new procedure; stamps are redone."""
    from motcua import db
    from motcua.archive.owners import find_owner
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.RECEIVE)
    rec = lc.get_record(ctx.conn, code.strip())
    updates: dict[str, Any] = {}
    changes: dict[str, list[Any]] = {}
    if procedure_code and procedure_code.strip() != (rec.procedure_code or ""):
        if rec.resolved_at:
            raise UserError(f"Hồ sơ {rec.code} đã giải quyết: không đổi thủ tục được.",
                            "procedure change after resolution")
        proc = ctx.catalogue.get(procedure_code.strip())
        updates |= {"procedure_code": proc.code, "procedure_name": proc.name,
                    "field": proc.field, "processing_days": proc.processing_days}
        if rec.received_on:
            due = ctx.calendar.due_date(date.fromisoformat(rec.received_on),
                                        proc.processing_days)
            updates["due_date"] = due.isoformat()
            changes["due_date"] = [rec.due_date, due.isoformat()]
        changes["procedure_code"] = [rec.procedure_code, proc.code]
    if owner_id and owner_id.strip() != (rec.owner_id or ""):
        lookup = owner_lookup(ctx, owner_id)
        if lookup.problem or lookup.owner_id is None:
            raise UserError(lookup.problem or "Mã chủ hồ sơ trống.", "bad owner id")
        if find_owner(ctx.conn, lookup.owner_id) is None:
            raise UserError(f"Chủ hồ sơ {lookup.owner_id} chưa có trong kho: đăng ký trước "
                            "(motcua owner add).", "unknown owner")
        if lookup.owner_id != rec.owner_id:
            updates["owner_id"] = lookup.owner_id
            changes["owner_id"] = [rec.owner_id, lookup.owner_id]
    if channel and channel != rec.channel:
        updates["channel"] = _channel(channel)
        changes["channel"] = [rec.channel, channel]
    if not updates:
        raise UserError(f"Không có gì thay đổi trong hồ sơ {rec.code}.", "nothing to edit")
    columns = ", ".join(f"{k} = ?" for k in updates)
    with db.transaction(ctx.conn):
        ctx.conn.execute(f"UPDATE dossiers SET {columns} WHERE code = ?",
                         (*updates.values(), rec.code))
        audit.record(ctx.conn, "dossier.edit", f"dossier:{rec.code}", ctx.audit_name,
                     {"changes": changes})
    restamped = _restamp_dossier(ctx, rec.code) if \
        {"procedure_code", "owner_id"} & set(changes) else ()
    return DossierEdited(rec.code, changes, restamped)


@dataclass(frozen=True)
class DossierCancelled(Result):
    code: str
    reason: str
    cancelled_at: str


def cancel_dossier(ctx: Context, code: str, reason: str) -> DossierCancelled:
    """Cancel a pending dossier with a reason (audited); it leaves the overdue list."""
    from motcua import db
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.RECEIVE)
    rec = lc.get_record(ctx.conn, code.strip())
    why = reason.strip()
    if not why:
        raise UserError("Ghi lý do hủy hồ sơ.", "cancel without reason")
    if rec.resolved_at:
        raise UserError(f"Hồ sơ {rec.code} đã giải quyết: không hủy được.",
                        "cancel after resolution")
    row = ctx.conn.execute("SELECT cancelled_at FROM dossiers WHERE code = ?",
                           (rec.code,)).fetchone()
    if row["cancelled_at"]:
        raise UserError(f"Hồ sơ {rec.code} đã hủy lúc "
                        f"{labels.vi_datetime(row['cancelled_at'], ctx.zone)}.",
                        "already cancelled")
    at = db.now()
    with db.transaction(ctx.conn):
        ctx.conn.execute("UPDATE dossiers SET cancelled_at = ?, cancel_reason = ?"
                         " WHERE code = ?", (at, why[:1000], rec.code))
        audit.record(ctx.conn, "dossier.cancel", f"dossier:{rec.code}", ctx.audit_name,
                     {"reason": why[:1000]})
    return DossierCancelled(rec.code, why[:1000], at)


def cancellation(ctx: Context, code: str) -> tuple[str, str] | None:
    """(when, in the centre's time; why) if the dossier was cancelled."""
    row = ctx.conn.execute("SELECT cancelled_at, cancel_reason FROM dossiers WHERE code = ?",
                           (code,)).fetchone()
    if row is None or not row["cancelled_at"]:
        return None
    return labels.vi_datetime(row["cancelled_at"], ctx.zone), row["cancel_reason"] or ""


@dataclass(frozen=True)
class DossiersMerged(Result):
    source: str
    target: str
    documents: tuple[int, ...]   # moved from source to target (re-stamped, reindexed)
    reuses: int                  # reuse links carried over


def merge_dossiers(ctx: Context, source: str, target: str) -> DossiersMerged:
    """Fold dossier `source` (made by mistake, a duplicate) into `target`: its documents,
    reuse links and notes move; `source` is cancelled naming `target`; both audited."""
    from motcua import db
    from motcua.counter import lifecycle as lc

    require(ctx.actor.roles, Permission.RECEIVE)
    src = lc.get_record(ctx.conn, source.strip())
    dst = lc.get_record(ctx.conn, target.strip())
    if src.code == dst.code:
        raise UserError("Hai mã hồ sơ trùng nhau: không có gì để gộp.", "merge into itself")
    for rec in (src, dst):
        if cancellation(ctx, rec.code):
            raise UserError(f"Hồ sơ {rec.code} đã hủy: không gộp được.", "merge cancelled")
    if src.resolved_at:
        raise UserError(f"Hồ sơ {src.code} đã giải quyết: không gộp vào hồ sơ khác được.",
                        "merge resolved source")
    conn = ctx.conn
    moved = tuple(int(r[0]) for r in conn.execute(
        "SELECT id FROM documents WHERE dossier_code = ? ORDER BY id", (src.code,)))
    reason = f"Đã gộp vào hồ sơ {dst.code}"
    with db.transaction(conn):
        conn.execute("UPDATE documents SET dossier_code = ?, dossier_source = 'manual',"
                     " updated_at = ? WHERE dossier_code = ?", (dst.code, db.now(), src.code))
        carried = conn.execute(
            "UPDATE reuses SET dossier_code = ? WHERE dossier_code = ? AND document_id NOT IN"
            " (SELECT document_id FROM reuses WHERE dossier_code = ?)",
            (dst.code, src.code, dst.code)).rowcount
        conn.execute("DELETE FROM reuses WHERE dossier_code = ?", (src.code,))
        conn.execute("UPDATE dossier_notes SET dossier_code = ? WHERE dossier_code = ?",
                     (dst.code, src.code))
        conn.execute("UPDATE dossiers SET cancelled_at = ?, cancel_reason = ? WHERE code = ?",
                     (db.now(), reason, src.code))
        details = {"source": src.code, "target": dst.code, "documents": list(moved)}
        audit.record(conn, "dossier.merge", f"dossier:{src.code}", ctx.audit_name, details)
        audit.record(conn, "dossier.merge", f"dossier:{dst.code}", ctx.audit_name, details)
        for doc_id in moved:
            audit.record(conn, "assign", f"document:{doc_id}", ctx.audit_name,
                         {"dossier_code": dst.code, "moved_from": src.code})
    for doc_id in moved:
        if conn.execute("SELECT 1 FROM stamps WHERE document_id = ?", (doc_id,)).fetchone():
            restamp(ctx, doc_id, strict=False)
        reindex_one(ctx, doc_id)
    return DossiersMerged(src.code, dst.code, moved, max(carried, 0))


@dataclass(frozen=True)
class OwnerCorrected(Result):
    id: str
    name: str
    address: str
    phone: str


def correct_owner(ctx: Context, owner_id: str, *, name: str | None = None,
                  address: str | None = None, phone: str | None = None) -> OwnerCorrected:
    """Correct an owner's name, address or phone (None leaves one as it is); each change
    is an audit entry naming the old and new value."""
    from motcua.archive.owners import get_owner, set_contact

    require(ctx.actor.roles, Permission.RECEIVE)
    conn = ctx.conn
    current = get_owner(conn, owner_id)
    if name is not None:
        name = " ".join(name.split())
        if not name:
            raise UserError("Tên chủ sở hữu không được để trống.", "empty owner name")
        if name != current.name:
            with db.transaction(conn):
                conn.execute("UPDATE owners SET name = ? WHERE id = ?", (name, current.id))
                audit.record(conn, "owner.rename", f"owner:{current.id}", ctx.audit_name,
                             {"old": current.name, "new": name})
    contact = set_contact(conn, current.id, ctx.audit_name, address=address, phone=phone)
    return OwnerCorrected(current.id, name or current.name, contact["address"],
                          contact["phone"])


def owner_contact(ctx: Context, owner_id: str) -> dict[str, str]:
    """The owner's address and phone as recorded ("" when none)."""
    require(ctx.actor.roles, Permission.VIEW)
    row = ctx.conn.execute("SELECT address, phone FROM owners WHERE id = ?",
                           (owner_id.strip(),)).fetchone()
    return {"address": (row["address"] or "") if row else "",
            "phone": (row["phone"] or "") if row else ""}


@dataclass(frozen=True)
class DossierPage(Result):
    dossiers: tuple[DossierRow, ...]
    has_more: bool


def find_dossiers(ctx: Context, *, status: str = "", procedure: str = "", field: str = "",
                  owner: str = "", date_from: str = "", date_to: str = "",
                  limit: int = 50, offset: int = 0) -> DossierPage:
    """Dossiers filtered for the list page (newest receipt first): status (pending,
    overdue, resolved), procedure code or name, field, owner ID or name, receipt days
    (dd/mm/yyyy or ISO, in the centre's zone)."""
    from datetime import timedelta

    require(ctx.actor.roles, Permission.VIEW)
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    open_ = "s.resolved_at IS NULL AND s.cancelled_at IS NULL"
    if status == "pending":
        where.append(open_)
    elif status == "resolved":
        where.append("s.resolved_at IS NOT NULL")
    elif status == "cancelled":
        where.append("s.cancelled_at IS NOT NULL")
    elif status == "overdue":
        where.append(f"{open_} AND s.due_date < ?")
        args.append(today(ctx).isoformat())
    elif status == "due_today":
        where.append(f"{open_} AND s.due_date = ?")
        args.append(today(ctx).isoformat())
    elif status:  # one of labels.DOSSIER_FILTERS
        raise UserError("Trạng thái hồ sơ không hợp lệ.", f"bad status {status!r}")
    if procedure:
        where.append("(s.procedure_code = ? OR s.procedure_name LIKE ?)")
        args += [procedure, f"%{procedure}%"]
    if field:
        where.append("s.field LIKE ?")
        args.append(f"%{field}%")
    if owner:
        where.append("(s.owner_id = ? OR o.name LIKE ?)")
        args += [owner.replace(" ", ""), f"%{owner}%"]
    zone = ctx.zone
    for value, op, label, shift in ((date_from, ">=", "ngày bắt đầu", 0),
                                    (date_to, "<", "ngày kết thúc", 1)):
        day = labels.parse_optional_day(value, label)
        if day is not None:
            moment = datetime.combine(day + timedelta(days=shift), datetime.min.time(),
                                      tzinfo=zone)
            where.append(f"COALESCE(s.received_at, s.created_at) {op} ?")
            args.append(moment.astimezone(UTC).isoformat(timespec="seconds"))
    # The page's rows are chosen first; only they get their document counts (counting
    # for every dossier before sorting costs seconds over a large warehouse).
    order = "COALESCE(s.received_at, s.created_at) DESC, s.code DESC"
    sql = ("SELECT s.code, s.procedure_code, s.procedure_name, s.field, s.channel,"
           " s.owner_id, o.name AS owner_name, s.received_at, s.created_at, s.due_date,"
           " s.resolved_at, s.cancelled_at,"
           " (SELECT COUNT(*) FROM documents d WHERE d.dossier_code = s.code) AS documents,"
           " (SELECT COUNT(*) FROM pages p JOIN documents d ON d.id = p.document_id"
           "  WHERE d.dossier_code = s.code AND p.needs_rescan = 1) AS rescan"
           " FROM (SELECT s.code FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id"
           " WHERE " + " AND ".join(where) + f" ORDER BY {order} LIMIT ? OFFSET ?) AS page"
           " JOIN dossiers s ON s.code = page.code LEFT JOIN owners o ON o.id = s.owner_id"
           f" ORDER BY {order}")
    rows = ctx.conn.execute(sql, [*args, limit + 1, offset]).fetchall()
    found = tuple(DossierRow(
        r["code"], r["procedure_code"], r["procedure_name"], r["field"], r["channel"],
        labels.label(labels.CHANNELS, r["channel"]), r["owner_id"], r["owner_name"],
        r["received_at"], labels.vi_datetime(r["received_at"], zone), r["created_at"],
        r["due_date"], _row_status(r), labels.DOSSIER_STATUS[_row_status(r)],
        r["documents"], r["rescan"]) for r in rows[:limit])
    return DossierPage(found, len(rows) > limit)


def _row_status(row: sqlite3.Row) -> str:
    if row["cancelled_at"]:
        return "cancelled"
    return "resolved" if row["resolved_at"] else "pending"
