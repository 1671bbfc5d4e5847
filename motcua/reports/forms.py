"""The seven one-stop forms (Thông tư 03/2025/TT-VPCP), fed from a dossier's rows:

01 receipt and appointment (`print_receipt`), 02 request to complete the dossier
(`issue_supplement`), 03 refusal (`issue_refusal`), 04 apology and new appointment for a
late dossier (`issue_apology_letters`), 05 notice that processing stops
(`issue_stop_notice`), 06 control sheet of the dossier's steps (`issue_control_sheet`,
from the audit log and the dossier's rows), 07 register of the dossiers of a period
(`issue_register`, A4 landscape). Each `*_data` function builds the spec (templates
schema) and is usable on its own; forms 02, 03 and 05 (and a form 01 listing the papers
the officer received) are recorded in the audit log under the dossier (`form.issue`),
so that form 06 lists them as steps, form 07 notes them and form 02 knows what was
received.

Files go to `<workspace>/issued/<kind>/<dossier code>.{docx,pdf}` (the register:
`issued/so-theo-doi/<from>_<to>`). With `pdf=False` only the DOCX is written (no
LibreOffice): used by tests and by `--no-pdf`. The officer named on a form is the one
acting (`officer=` / `receiver=`), else the configured receiver / operator.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from motcua.archive import audit
from motcua.archive.catalogue import Catalogue
from motcua.archive.reuse import reuses_of
from motcua.archive.settings import centre_zone, local_now
from motcua.counter import lifecycle as lc
from motcua.counter.workdays import WorkCalendar
from motcua.errors import MotcuaError, UserError
from motcua.templates import KIND_INFO, Converter, find_template, render, render_docx, validate
from motcua.templates.render import FORM_NUMBERS, paper_profile
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
        result = render(ws, spec, out, converter=converter)
        return Rendered(result.docx, result.pdf)
    docx = out.with_suffix(".docx")
    number = spec.data.get("number")  # a draft without the register: a given number only
    render_docx(spec, ws.config.agency, docx, number=number if isinstance(number, int) else None,
                template=find_template(ws, KIND_INFO[kind].template),
                profile=paper_profile(ws, spec)[0])
    return Rendered(docx, None)


def _addressee(owner_name: str | None, owner_id: str | None) -> str:
    """"Ông/Bà <name>" for a citizen; an organisation (tax code) by its name."""
    name = owner_name or owner_id or "người nộp hồ sơ"
    oid = owner_id or ""
    if "-" in oid or len(oid) == 10:
        return name
    return f"Ông/Bà {name}"


def officer_name(ws: Workspace, officer: str | None = None) -> str:
    """The officer printed on a form: the one acting, else the configured receiver
    (`[lifecycle] receiver`, default the operator)."""
    name = " ".join((officer or "").split()) or lc.lifecycle_settings(ws).receiver
    if not name:
        raise UserError("Chưa biết họ tên cán bộ ký phiếu: ghi [lifecycle] receiver hoặc "
                        "[ingest] operator trong motcua.toml, hoặc chỉ rõ cán bộ thực hiện.",
                        "no officer name")
    return name


def _person(actor: str) -> str:
    """`Lê Thị Cúc (root)` (operator and OS account, as the audit log keeps it) ->
    the person's name."""
    return actor.split(" (", 1)[0].strip()


def _contact(conn: sqlite3.Connection, owner_id: str | None) -> tuple[str, str]:
    if not owner_id:
        return "", ""
    row = conn.execute("SELECT address, phone FROM owners WHERE id = ?", (owner_id,)).fetchone()
    return (row["address"] or "", row["phone"] or "") if row else ("", "")


def _applicant(conn: sqlite3.Connection, rec: lc.LifecycleRecord) -> dict[str, str]:
    address, phone = _contact(conn, rec.owner_id)
    return {"name": rec.owner_name or rec.owner_id or "", "id_number": rec.owner_id or "",
            "address": address, "phone": phone}


def _received_time(ws: Workspace, rec: lc.LifecycleRecord) -> datetime:
    received = lc.centre_time(ws, datetime.fromisoformat(rec.received_at)) if \
        rec.received_at else local_now(ws)
    return received.replace(tzinfo=None)


@dataclass(frozen=True)
class ReceivedPaper:
    """One component handed over at the counter: its type, original or copy, count."""

    type_code: str
    form: str = "Bản chính"
    copies: int = 1


REUSED_FORM = "Bản điện tử tái sử dụng từ Kho dữ liệu"


def received_components(conn: sqlite3.Connection, catalogue: Catalogue,
                        rec: lc.LifecycleRecord,
                        papers: list[ReceivedPaper] | None = None
                        ) -> tuple[list[dict[str, Any]], list[str]]:
    """(components received, names of those the procedure requires that are missing).

    Received = the papers the officer lists (`papers`), else the dossier's own
    digitized components (one line per type, counted) as originals; plus the documents
    reused from the warehouse. Missing = required types neither received nor reused.
    A dossier still without any digitized component and no list from the officer (the
    receipt printed at the counter before scanning) counts the required papers that the
    warehouse did not supply as handed over, one original each: the officer checked them
    in; `papers` says otherwise."""
    if papers is None:
        papers = recorded_papers(conn, rec.code)
    own: dict[str, int] = {}
    for row in conn.execute(
            "SELECT m.type_code, COUNT(*) AS n FROM documents d JOIN document_meta m"
            " ON m.document_id = d.id WHERE d.dossier_code = ? AND m.role = 'component'"
            " AND m.type_code IS NOT NULL GROUP BY m.type_code ORDER BY MIN(d.id)",
            (rec.code,)):
        own[row["type_code"]] = int(row["n"])
    lines: list[dict[str, Any]] = []
    have: set[str] = set()
    if papers is not None:
        for p in papers:
            lines.append({"name": catalogue.type_name(p.type_code), "form": p.form,
                          "copies": p.copies, "type_code": p.type_code})
            have.add(p.type_code)
    elif not own:
        reused = {r["type_code"] for r in reuses_of(conn, rec.code) if r["status"] == "attached"}
        try:
            required = catalogue.get(rec.procedure_code or "").requires
        except MotcuaError:
            required = ()
        for type_code in required:
            if type_code not in reused:
                lines.append({"name": catalogue.type_name(type_code), "form": "Bản chính",
                              "copies": 1, "type_code": type_code})
                have.add(type_code)
    else:
        for type_code, n in own.items():
            lines.append({"name": catalogue.type_name(type_code), "form": "Bản chính",
                          "copies": n, "type_code": type_code})
            have.add(type_code)
    for r in reuses_of(conn, rec.code):
        if r["status"] == "attached" and r["type_code"] and r["type_code"] not in have:
            lines.append({"name": catalogue.type_name(r["type_code"]), "form": REUSED_FORM,
                          "copies": 1, "type_code": r["type_code"]})
            have.add(r["type_code"])
    missing: list[str] = []
    try:
        proc = catalogue.get(rec.procedure_code or "")
        missing = [catalogue.type_name(t) for t in proc.requires if t not in have]
    except MotcuaError:
        pass  # a procedure outside the catalogue: nothing is known to be missing
    return lines, missing


def recorded_papers(conn: sqlite3.Connection, code: str) -> list[ReceivedPaper] | None:
    """The papers the officer last listed on a form 01 of this dossier (audit log), if
    any: what was received at the counter, whatever has been scanned since."""
    for e in reversed(audit.entries(conn, f"dossier:{code}")):
        if e.action == "form.issue" and e.details.get("form") == "01" and \
                e.details.get("papers") is not None:
            return [ReceivedPaper(p["type_code"], p["form"], int(p["copies"]))
                    for p in e.details["papers"]]
    return None


def receipt_data(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue,
                 rec: lc.LifecycleRecord, receiver: str | None = None, *,
                 papers: list[ReceivedPaper] | None = None) -> dict[str, Any]:
    """Form 01 content for a received dossier; `receiver` is the officer at the counter
    (default: `[lifecycle] receiver`, else the operator)."""
    settings = lc.lifecycle_settings(ws)
    received = _received_time(ws, rec)
    due = date.fromisoformat(rec.due_date) if rec.due_date else received.date()
    documents, missing = received_components(conn, catalogue, rec, papers)
    if not documents:
        raise UserError(
            f"Hồ sơ {rec.code} chưa có thành phần nào được tiếp nhận: không lập Giấy tiếp nhận "
            "(Mẫu 01). Số hóa các giấy tờ đã nhận, hoặc lập Phiếu yêu cầu bổ sung (Mẫu 02).",
            "receipt without components")
    return {
        "date": received.date(),
        "dossier_code": rec.code,
        "applicant": _applicant(conn, rec),
        "request": rec.procedure_name or rec.procedure_code or "",
        "documents": [{k: v for k, v in d.items() if k != "type_code"} for d in documents],
        "missing": missing,
        "sets": 1,
        "processing_days": rec.processing_days or 0,
        "received_at": received,
        "appointment_at": max(lc.appointment_datetime(due, settings), received.replace(
            second=0, microsecond=0)),
        "return_place": settings.return_place,
        "receiver": officer_name(ws, receiver),
    }


def _issue(ws: Workspace, conn: sqlite3.Connection, kind: str, data: dict[str, Any],
           out: Path, actor: str, subject: str, details: dict[str, Any], *, pdf: bool,
           converter: Converter | None) -> Rendered:
    """Render a form and record it in the audit log (form 06 lists it as a step)."""
    done = render_form(ws, kind, data, out, pdf=pdf, converter=converter)
    audit.record(conn, "form.issue", subject, actor, {
        "form": FORM_NUMBERS[kind], "kind": kind, **details,
        "docx": ws.relative(done.docx), "pdf": ws.relative(done.pdf) if done.pdf else None})
    return done


def print_receipt(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue, code: str,
                  *, pdf: bool = True, converter: Converter | None = None,
                  receiver: str | None = None, papers: list[ReceivedPaper] | None = None,
                  actor: str | None = None, rating: tuple[str, str] | None = None
                  ) -> Rendered:
    """Form 01 of a received dossier (two copies: one kept, one handed over); signed by
    `receiver` (the officer at the counter), else the configured one. The receipt is
    part of the receiving, which the audit log already holds (`dossier.receive`); a list
    of `papers` the officer gives is recorded (by `actor`) for the forms that follow.
    `rating` is (link, last day dd/mm/yyyy) of the rating link printed on it."""
    rec = lc.get_record(conn, code)
    data = receipt_data(ws, conn, catalogue, rec, receiver, papers=papers)
    if rating is not None:  # the citizen's one-use rating link (services.ratings)
        data["rating_link"], data["rating_until"] = rating
    done = render_form(ws, "tiep-nhan", data, issued_dir(ws, "tiep-nhan") / _safe(rec.code),
                       pdf=pdf, converter=converter)
    if papers is not None:  # the officer's own list is a fact to keep: forms 02 read it
        audit.record(conn, "form.issue", f"dossier:{rec.code}", actor or data["receiver"], {
            "form": "01", "kind": "tiep-nhan",
            "papers": [{"type_code": p.type_code, "form": p.form, "copies": p.copies}
                       for p in papers],
            "missing": data["missing"], "docx": ws.relative(done.docx),
            "pdf": ws.relative(done.pdf) if done.pdf else None})
    return done


def _request_heading(ws: Workspace, conn: sqlite3.Connection, rec: lc.LifecycleRecord,
                     issued_on: date | None) -> dict[str, Any]:
    """The lines forms 02 and 03 open with: date, dossier, applicant, request, receipt."""
    return {
        "date": issued_on or local_now(ws).date(),
        "dossier_code": rec.code,
        "applicant": _applicant(conn, rec),
        "request": rec.procedure_name or rec.procedure_code or "",
        "received_at": _received_time(ws, rec),
    }


def supplement_data(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue,
                    rec: lc.LifecycleRecord, *, requirements: list[str] | None = None,
                    reason: str = "", officer: str | None = None,
                    issued_on: date | None = None) -> dict[str, Any]:
    """Form 02: by default the components the procedure requires and the dossier lacks."""
    if requirements is None:
        _, missing = received_components(conn, catalogue, rec)
        requirements = [f"Bổ sung {name}" for name in missing]
    if not requirements:
        raise UserError(f"Hồ sơ {rec.code} đã đủ thành phần theo danh mục: không có gì để yêu "
                        "cầu bổ sung. Ghi rõ nội dung cần hoàn thiện nếu có.",
                        "nothing to supplement")
    return {
        **_request_heading(ws, conn, rec, issued_on),
        "requirements": requirements,
        "reason": reason or "hồ sơ chưa đầy đủ, chưa hợp lệ theo quy định của thủ tục",
        "officer": officer_name(ws, officer),
    }


def issue_supplement(ws: Workspace, conn: sqlite3.Connection, catalogue: Catalogue,
                     code: str, actor: str, *, requirements: list[str] | None = None,
                     reason: str = "", officer: str | None = None, pdf: bool = True,
                     converter: Converter | None = None) -> Rendered:
    rec = lc.get_record(conn, code)
    data = supplement_data(ws, conn, catalogue, rec, requirements=requirements,
                           reason=reason, officer=officer or _person(actor))
    return _issue(ws, conn, "bo-sung", data, issued_dir(ws, "bo-sung") / _safe(rec.code),
                  actor, f"dossier:{rec.code}", {"requirements": data["requirements"],
                                                 "reason": data["reason"]},
                  pdf=pdf, converter=converter)


def refusal_data(ws: Workspace, conn: sqlite3.Connection, rec: lc.LifecycleRecord, *,
                 reason: str, officer: str | None = None,
                 issued_on: date | None = None) -> dict[str, Any]:
    """Form 03: the dossier is refused, with the reason."""
    if not reason.strip():
        raise UserError("Cần ghi rõ lý do từ chối tiếp nhận, giải quyết hồ sơ (Mẫu 03).",
                        "refusal without reason")
    return {
        **_request_heading(ws, conn, rec, issued_on),
        "reason": reason,
        "officer": officer_name(ws, officer),
    }


def issue_refusal(ws: Workspace, conn: sqlite3.Connection, code: str, actor: str, *,
                  reason: str, officer: str | None = None, pdf: bool = True,
                  converter: Converter | None = None) -> Rendered:
    rec = lc.get_record(conn, code)
    data = refusal_data(ws, conn, rec, reason=reason, officer=officer or _person(actor))
    return _issue(ws, conn, "tu-choi", data, issued_dir(ws, "tu-choi") / _safe(rec.code),
                  actor, f"dossier:{rec.code}", {"reason": reason}, pdf=pdf,
                  converter=converter)


def stop_data(ws: Workspace, rec: lc.LifecycleRecord, *, reason: str,
              issued_on: date | None = None) -> dict[str, Any]:
    """Form 05: processing of the dossier stops, with the reason (a numbered notice)."""
    if not reason.strip():
        raise UserError("Cần ghi rõ lý do dừng giải quyết hồ sơ (Mẫu 05).", "stop without reason")
    if rec.resolved_at:
        raise UserError(f"Hồ sơ {rec.code} đã có kết quả giải quyết: không thể thông báo dừng "
                        "giải quyết.", "stop a resolved dossier")
    addressee = _addressee(rec.owner_name, rec.owner_id)
    return {
        "date": issued_on or local_now(ws).date(),
        "addressee": addressee,
        "dossier_code": rec.code,
        "applicant_name": addressee.replace("Ông/Bà", "ông/bà"),
        "procedure": rec.procedure_name or rec.procedure_code or "",
        "received_on": date.fromisoformat(rec.received_on) if rec.received_on
        else local_now(ws).date(),
        "reason": reason,
        "recipients": [addressee],
        "archive": "VT, TTPVHCC",
    }


def issue_stop_notice(ws: Workspace, conn: sqlite3.Connection, code: str, actor: str, *,
                      reason: str, number: int | str | None = None, pdf: bool = True,
                      converter: Converter | None = None) -> Rendered:
    rec = lc.get_record(conn, code)
    data = stop_data(ws, rec, reason=reason)
    if number is not None:
        data["number"] = number
    return _issue(ws, conn, "dung-giai-quyet", data,
                  issued_dir(ws, "dung-giai-quyet") / _safe(rec.code), actor,
                  f"dossier:{rec.code}", {"reason": reason}, pdf=pdf, converter=converter)


FORM_STEP_VI = {
    "01": "Lập lại Giấy tiếp nhận hồ sơ (Mẫu 01) theo giấy tờ đã nhận",
    "02": "Yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02)",
    "03": "Từ chối tiếp nhận, giải quyết hồ sơ (Mẫu 03)",
    "05": "Thông báo dừng giải quyết hồ sơ (Mẫu 05)",
}


@dataclass(frozen=True)
class Step:
    at: datetime  # the centre's wall clock, naive
    step: str
    officer: str
    result: str = ""


def dossier_steps(ws: Workspace, conn: sqlite3.Connection, code: str) -> list[Step]:
    """The dossier's steps in time order, from its rows and the audit log: received,
    components digitized and reused, forms issued, apology, result."""
    zone = centre_zone(ws)

    def local(iso: str) -> datetime:
        moment = datetime.fromisoformat(iso)
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(zone).replace(tzinfo=None)

    rec = lc.get_record(conn, code)
    steps: list[Step] = []
    received_logged = False
    for e in audit.entries(conn, f"dossier:{rec.code}"):
        if e.action == "dossier.receive":
            received_logged = True
            at = e.details.get("received_at") or e.at
            steps.append(Step(local(at), "Tiếp nhận hồ sơ", _person(e.actor)))
        elif e.action == "form.issue" and e.details.get("form") in FORM_STEP_VI:
            steps.append(Step(local(e.at), FORM_STEP_VI[e.details["form"]], _person(e.actor),
                              str(e.details.get("reason") or "")))
        elif e.action == "dossier.resolve":
            outcome = lc.OUTCOME_VI.get(str(e.details.get("outcome")), "")
            at = rec.resolved_at or e.at
            steps.append(Step(local(at), "Có kết quả giải quyết", _person(e.actor),
                              outcome[:1].upper() + outcome[1:]))
    if not received_logged and rec.received_at:  # imported or made by `dossier new`
        steps.append(Step(local(rec.received_at), "Tiếp nhận hồ sơ", ""))
    docs = conn.execute(
        "SELECT d.id, d.ingested_at, d.original_name, m.role, m.name FROM documents d"
        " LEFT JOIN document_meta m ON m.document_id = d.id WHERE d.dossier_code = ?"
        " ORDER BY d.id", (rec.code,)).fetchall()
    for d in docs:
        who = next((_person(e.actor) for e in audit.entries(conn, f"document:{d['id']}")
                    if e.action in ("ingest", "result.add", "assign")), "")
        if d["role"] == "result":
            continue  # the result is the "Có kết quả" step
        steps.append(Step(local(d["ingested_at"]), "Số hóa thành phần hồ sơ", who,
                          d["name"] or d["original_name"]))
    for r in reuses_of(conn, rec.code):
        if r["status"] == "attached":
            steps.append(Step(local(r["attached_at"] or r["created_at"]),
                              "Tái sử dụng giấy tờ từ Kho dữ liệu", _person(r["actor"]),
                              r["name"] or r["type_code"] or ""))
    apology = lc.get_apology(conn, rec.code)
    if apology is not None and apology.docx_path:
        steps.append(Step(local(apology.created_at), "Văn bản xin lỗi, hẹn lại ngày trả "
                          "(Mẫu 04)", _person(apology_actor(conn, rec.code)),
                          f"Hẹn lại ngày {_dmy(date.fromisoformat(apology.new_due))}"))
    steps.sort(key=lambda s: s.at)
    return steps


def apology_actor(conn: sqlite3.Connection, code: str) -> str:
    row = conn.execute("SELECT actor FROM apologies WHERE dossier_code = ?", (code,)).fetchone()
    return str(row["actor"]) if row else ""


def _dmy(day: date) -> str:
    from motcua.templates.rules import short_date

    return short_date(day)


def control_sheet_data(ws: Workspace, conn: sqlite3.Connection, code: str, *,
                       officer: str | None = None, issued_on: date | None = None
                       ) -> dict[str, Any]:
    """Form 06: the dossier's steps with their times and officers."""
    rec = lc.get_record(conn, code)
    steps = dossier_steps(ws, conn, rec.code)
    if not steps:
        raise UserError(f"Hồ sơ {rec.code} chưa có bước xử lý nào được ghi nhận.",
                        "no steps")
    return {
        "date": issued_on or local_now(ws).date(),
        "dossier_code": rec.code,
        "applicant": _applicant(conn, rec),
        "procedure": rec.procedure_name or rec.procedure_code or "",
        "received_at": _received_time(ws, rec),
        "due": date.fromisoformat(rec.due_date) if rec.due_date else None,
        "steps": [{"step": s.step, "at": s.at, "officer": s.officer, "result": s.result}
                  for s in steps],
        "officer": officer_name(ws, officer),
    }


def issue_control_sheet(ws: Workspace, conn: sqlite3.Connection, code: str, *,
                        officer: str | None = None, pdf: bool = True,
                        converter: Converter | None = None) -> Rendered:
    data = control_sheet_data(ws, conn, code, officer=officer)
    return render_form(ws, "kiem-soat", data,
                       issued_dir(ws, "kiem-soat") / _safe(data["dossier_code"]), pdf=pdf,
                       converter=converter)


def _register_note(conn: sqlite3.Connection, rec: lc.LifecycleRecord) -> str:
    forms = {str(e.details.get("form")) for e in audit.entries(conn, f"dossier:{rec.code}")
             if e.action == "form.issue"}
    notes = []
    if "03" in forms:
        notes.append("Từ chối (Mẫu 03)")
    if "05" in forms:
        notes.append("Dừng giải quyết (Mẫu 05)")
    if "02" in forms:
        notes.append("Yêu cầu bổ sung (Mẫu 02)")
    apology = lc.get_apology(conn, rec.code)
    if apology is not None and apology.docx_path:
        notes.append(f"Xin lỗi, hẹn lại {_dmy(date.fromisoformat(apology.new_due))}")
    return "; ".join(notes)


def register_data(ws: Workspace, conn: sqlite3.Connection, start: date, end: date, *,
                  officer: str | None = None, issued_on: date | None = None
                  ) -> dict[str, Any]:
    """Form 07: every dossier received from `start` to `end` (both included), in the
    order received."""
    codes = [r[0] for r in conn.execute(
        "SELECT code FROM dossiers WHERE received_on BETWEEN ? AND ?"
        " ORDER BY received_at, code", (start.isoformat(), end.isoformat()))]
    entries = []
    for code in codes:
        rec = lc.get_record(conn, code)
        address, phone = _contact(conn, rec.owner_id)
        outcome = lc.OUTCOME_VI.get(rec.outcome or "", "")
        entries.append({
            "dossier_code": rec.code,
            "procedure": rec.procedure_name or rec.procedure_code or "",
            "applicant": rec.owner_name or rec.owner_id or "",
            "contact": "; ".join(x for x in (address, phone) if x),
            "received_at": _received_time(ws, rec),
            "due": date.fromisoformat(rec.due_date) if rec.due_date else None,
            "resolved_on": date.fromisoformat(rec.resolved_on) if rec.resolved_on else None,
            "result": outcome[:1].upper() + outcome[1:],
            "note": _register_note(conn, rec),
        })
    return {"date": issued_on or local_now(ws).date(), "period_from": start,
            "period_to": end, "entries": entries, "officer": officer_name(ws, officer)}


def issue_register(ws: Workspace, conn: sqlite3.Connection, start: date, end: date, *,
                   officer: str | None = None, pdf: bool = True,
                   converter: Converter | None = None) -> Rendered:
    data = register_data(ws, conn, start, end, officer=officer)
    out = issued_dir(ws, "so-theo-doi") / f"{start.isoformat()}_{end.isoformat()}"
    return render_form(ws, "so-theo-doi", data, out, pdf=pdf, converter=converter)


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
                          converter: Converter | None = None, lock_wait: float = 600.0,
                          only: str | None = None
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
            if only is not None and rec.code != only:
                continue  # one dossier's letter, from its page
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
