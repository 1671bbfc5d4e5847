"""One-stop forms issued from the lifecycle: form 01 (receipt and appointment) and form 04
(apology and new appointment for a late dossier), rendered by the templates.

Files go to `<workspace>/issued/tiep-nhan/<dossier code>.{docx,pdf}` and
`<workspace>/issued/xin-loi/<dossier code>.{docx,pdf}`. With `pdf=False` only the DOCX
is written (no LibreOffice): used by tests and by `--no-pdf`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from motcua.archive import lifecycle as lc
from motcua.archive.catalogue import Catalogue
from motcua.archive.reuse import reuses_of
from motcua.archive.settings import local_now
from motcua.archive.workdays import WorkCalendar
from motcua.errors import MotcuaError
from motcua.templates import KIND_INFO, Converter, find_template, render, render_docx, validate
from motcua.workspace import Workspace


@dataclass(frozen=True)
class Rendered:
    docx: Path
    pdf: Path | None


def issued_dir(ws: Workspace, kind: str) -> Path:
    return ws.root / "issued" / kind


def _safe(code: str) -> str:
    """File name stem for a dossier code. Dots become underscores: the templates derive
    OUT.docx / OUT.pdf with Path.with_suffix, which would cut a dotted code short."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in code)


def render_form(ws: Workspace, kind: str, data: dict[str, Any], out: Path, *,
                pdf: bool = True, converter: Converter | None = None) -> Rendered:
    """Validate the spec and render it (DOCX, and the signed-ready PDF/A unless pdf=False)."""
    spec = validate(kind, data, source="")
    if pdf:
        result = render(ws, spec, out, number=None, converter=converter)
        return Rendered(result.docx, result.pdf)
    docx = out.with_suffix(".docx")
    render_docx(spec, ws.config.agency, docx, number=None,
                   template=find_template(ws, KIND_INFO[kind].template))
    return Rendered(docx, None)


def _addressee(owner_name: str | None, owner_id: str | None) -> str:
    """"Ông/Bà <name>" for a citizen; an organisation (tax code) by its name."""
    name = owner_name or owner_id or "người nộp hồ sơ"
    oid = owner_id or ""
    if "-" in oid or len(oid) == 10:
        return name
    return f"Ông/Bà {name}"


def receipt_data(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue,
                 rec: lc.LifecycleRecord, receiver: str | None = None) -> dict[str, Any]:
    """Form 01 content for a received dossier; `receiver` is the officer at the counter
    (default: `[lifecycle] receiver`)."""
    settings = lc.lifecycle_settings(ws)
    received = lc.centre_time(ws, datetime.fromisoformat(rec.received_at)) if rec.received_at \
        else local_now(ws)
    due = date.fromisoformat(rec.due_date) if rec.due_date else received.date()
    reused = {r["type_code"] for r in reuses_of(conn, rec.code) if r["status"] == "attached"}
    documents: list[dict[str, Any]] = []
    try:
        proc = catalogue.get(rec.procedure_code or "")
        for t in proc.requires:
            form = "Bản điện tử tái sử dụng từ Kho dữ liệu" if t in reused else "Bản chính"
            documents.append({"name": catalogue.type_name(t), "form": form, "copies": 1})
    except MotcuaError:
        pass
    if not documents:
        documents.append({"name": "Hồ sơ theo quy định của thủ tục", "form": "Bản chính",
                          "copies": 1})
    return {
        "date": received.date(),
        "dossier_code": rec.code,
        "applicant": {"name": rec.owner_name or rec.owner_id or "",
                      "id_number": rec.owner_id or ""},
        "request": rec.procedure_name or rec.procedure_code or "",
        "documents": documents,
        "sets": 1,
        "processing_days": rec.processing_days or 0,
        "received_at": received.replace(tzinfo=None),
        "appointment_at": lc.appointment_datetime(due, settings),
        "return_place": settings.return_place,
        "receiver": receiver or settings.receiver,
    }


def print_receipt(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue, code: str,
                  *, pdf: bool = True, converter: Converter | None = None,
                  receiver: str | None = None) -> Rendered:
    rec = lc.get_record(conn, code)
    out = issued_dir(ws, "tiep-nhan") / _safe(rec.code)
    return render_form(ws, "tiep-nhan", receipt_data(ws, conn, catalogue, rec, receiver), out,
                       pdf=pdf, converter=converter)


def apology_data(rec: lc.LifecycleRecord, *, issued_on: date, new_due: date,
                 reason: str) -> dict[str, Any]:
    """Form 04 content for a late dossier."""
    assert rec.due_date is not None and rec.received_on is not None
    return {
        "date": issued_on,
        "addressee": _addressee(rec.owner_name, rec.owner_id),
        "dossier_code": rec.code,
        "applicant_name": _addressee(rec.owner_name, rec.owner_id).replace("Ông/Bà", "ông/bà"),
        "procedure": rec.procedure_name or rec.procedure_code or "",
        "field": rec.field or "chưa xác định",
        "received_on": date.fromisoformat(rec.received_on),
        "original_due": date.fromisoformat(rec.due_date),
        "reason": reason,
        "new_due": new_due,
        "recipients": ["Như trên"],
    }


@dataclass(frozen=True)
class IssuedLetter:
    dossier_code: str
    new_due: str
    docx: str
    pdf: str | None


def issue_apology_letters(ws: Workspace, conn: sqlite3.Connection, calendar: WorkCalendar,
                          today: date, actor: str, *, reason: str | None = None,
                          extension_days: int | None = None, pdf: bool = True,
                          converter: Converter | None = None, lock_wait: float = 600.0
                          ) -> tuple[list[IssuedLetter], list[str]]:
    """Form 04 for each overdue dossier that has no letter yet.

    Returns (letters produced now, codes skipped because they already had one). The run
    holds the workspace's apology lock; each letter is reserved in `apologies` before
    rendering and completed after. A failed render frees the reservation again; one left
    by a run that died is taken over and rendered here.
    """
    settings = lc.lifecycle_settings(ws)
    reason = reason or settings.apology_reason
    days = extension_days or settings.apology_extension_days
    new_due = calendar.add_working_days(today, days)
    made: list[IssuedLetter] = []
    skipped: list[str] = []
    with lc.apology_run(ws, lock_wait) as run:
        for rec in lc.overdue(conn, today):
            claimed = lc.reserve_apology(conn, rec, issued_on=today, new_due=new_due,
                                         reason=reason, actor=actor, run=run)
            if claimed is None:
                skipped.append(rec.code)
                continue
            out = issued_dir(ws, "xin-loi") / _safe(rec.code)
            try:
                done = render_form(ws, "xin-loi", apology_data(rec, issued_on=today,
                                                               new_due=new_due, reason=reason),
                                   out, pdf=pdf, converter=converter)
            except BaseException as exc:
                lc.cancel_apology(conn, rec.code, actor, repr(exc))
                raise
            rel_docx = ws.relative(done.docx)
            rel_pdf = ws.relative(done.pdf) if done.pdf else None
            lc.complete_apology(conn, rec.code, rel_docx, rel_pdf)
            made.append(IssuedLetter(rec.code, new_due.isoformat(), rel_docx, rel_pdf))
    return made, skipped
