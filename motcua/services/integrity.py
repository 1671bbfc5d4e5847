"""Integrity and exchange: fixity of the store, the audit log (verify, read), BagIt
export and import."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from motcua import labels
from motcua.errors import UserError
from motcua.services import Context, Result
from motcua.services.access import Permission, require


@dataclass(frozen=True)
class FixityResult(Result):
    run_id: int
    files_checked: int
    problems: tuple[dict[str, Any], ...]
    missing: int
    corrupt: int
    orphaned: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "files_checked": self.files_checked,
                "problems": list(self.problems)}


def verify_store(ctx: Context, sample_percent: float = 100.0) -> FixityResult:
    """Recompute the SHA-256 of every stored file (or a random sample)."""
    from motcua.archive.fixity import verify_store as run

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    report = run(ctx.ws, ctx.conn, sample_percent, ctx.audit_name)
    problems = tuple(dict(p.__dict__) | {"kind_label": labels.FIXITY_PROBLEMS[p.kind]}
                     for p in report.problems)
    return FixityResult(report.run_id, report.files_checked, problems,
                        report.count("missing"), report.count("corrupt"),
                        report.count("orphaned"))


@dataclass(frozen=True)
class FixityHistory(Result):
    runs: tuple[dict[str, Any], ...]


def fixity_history(ctx: Context) -> FixityHistory:
    """The previous checks, with their start in the centre's zone."""
    from motcua.archive.fixity import history

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    return FixityHistory(tuple(
        r | {"started_at_local": labels.vi_datetime(str(r["started_at"]), ctx.zone)}
        for r in history(ctx.conn)))


@dataclass(frozen=True)
class AuditCheck(Result):
    entries: int
    problems: tuple[dict[str, Any], ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit(ctx: Context) -> AuditCheck:
    """No audit entry changed or removed: the hash chain and the head match."""
    from motcua.archive import audit

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    problems = audit.verify(ctx.conn)
    count = ctx.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    return AuditCheck(int(count), tuple(asdict(p) for p in problems))


@dataclass(frozen=True)
class AuditEntryView(Result):
    seq: int
    at: str
    at_local: str
    action: str
    action_label: str
    subject: str
    actor: str
    details: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class AuditLog(Result):
    entries: tuple[AuditEntryView, ...]


def audit_log(ctx: Context, subject: str | None = None,
              limit: int | None = None) -> AuditLog:
    """The audit entries (of one subject: document:12, dossier:<code>, owner:<id>)."""
    from motcua.archive import audit

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    return AuditLog(tuple(
        AuditEntryView(e.seq, e.at, labels.vi_datetime(e.at, ctx.zone, seconds=True),
                       e.action, labels.label(labels.AUDIT_ACTIONS, e.action), e.subject,
                       e.actor, e.details, e.hash)
        for e in audit.entries(ctx.conn, subject, limit)))


@dataclass(frozen=True)
class Exported(Result):
    path: str
    owners: int
    dossiers: int
    documents: int
    files: int


def export_bag(ctx: Context, out: Path, *, owner_id: str | None = None,
               dossier_code: str | None = None, everything: bool = False) -> Exported:
    """A BagIt package (files + metadata.json) of one owner, one dossier or everything."""
    from motcua.archive.bags import export_bag as export

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    if sum(x is not None and x is not False for x in (owner_id, dossier_code, everything)) != 1:
        raise UserError("Chọn đúng một trong --owner, --dossier hoặc --all.", "bad scope")
    done = export(ctx.ws, ctx.conn, out, ctx.audit_name, owner=owner_id, dossier=dossier_code)
    return Exported(str(done.path), done.owners, done.dossiers, done.documents, done.files)


@dataclass(frozen=True)
class Imported(Result):
    owners: int
    dossiers: int
    documents: int
    skipped_documents: int
    files: int
    indexed: int


def import_bag(ctx: Context, bag: Path) -> Imported:
    """A BagIt package in, every SHA-256 checked before anything is taken."""
    from motcua.archive.bags import import_bag as load

    require(ctx.actor.roles, Permission.ADMIN_DATA)
    done = load(ctx.ws, ctx.conn, bag, ctx.audit_name)
    return Imported(done.owners, done.dossiers, done.documents, done.skipped_documents,
                    done.files, done.indexed)
