"""The one-stop forms (Thông tư 03/2025/TT-VPCP) issued for a dossier by the acting
officer: form 01 again (with the papers actually received), 02 request to complete, 03
refusal, 05 stop notice, 06 control sheet, 07 register of a period; and the owner's
address and phone printed on them. Rendering is `motcua.reports.forms`; this layer
checks who may do it and names the acting officer on the form and in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from motcua import labels
from motcua.errors import UserError
from motcua.services import Context, Result, ratings
from motcua.services.access import Permission, require


@dataclass(frozen=True)
class FormIssued(Result):
    form: str  # "01" … "07"
    kind: str  # the template kind, e.g. "bo-sung"
    title: str  # Vietnamese name of the form
    dossier_code: str | None
    docx: str
    pdf: str | None


def _issued(kind: str, code: str | None, made: Any) -> FormIssued:
    from motcua.templates.render import FORM_NUMBERS

    return FormIssued(FORM_NUMBERS[kind], kind, labels.label(labels.ISSUED_KINDS, kind), code,
                      str(made.docx), str(made.pdf) if made.pdf else None)


def _officer(ctx: Context) -> str | None:
    """The officer's name for the form: a person's account names itself; the OS account
    falls back to the configured receiver."""
    return ctx.operator if ctx.actor.kind == "user" else None


PAPER_FORMS = ("Bản chính", "Bản sao", "Bản sao có chứng thực")


def paper(ctx: Context, type_code: str, form: str, copies: int) -> Any:
    """One paper handed over at the counter, checked: a type of the catalogue, one of
    PAPER_FORMS (any letter case), 1 to 99 copies. The web's checklist and the CLI's
    `--paper` both come here."""
    from motcua.reports.forms import ReceivedPaper

    if type_code not in ctx.catalogue.document_types:
        raise UserError(f"Loại giấy tờ “{type_code}” không có trong danh mục "
                        "(procedures.toml, mục [document_types]).", f"bad paper {type_code!r}")
    chosen = next((f for f in PAPER_FORMS if f.casefold() == form.strip().casefold()), None)
    if chosen is None:
        raise UserError(f"Hình thức “{form}” không hợp lệ; chọn: {', '.join(PAPER_FORMS)}.",
                        f"bad paper form {form!r}")
    if not 1 <= copies <= 99:
        raise UserError(f"Số lượng giấy tờ {type_code} phải là số từ 1 đến 99.",
                        f"bad copies {copies}")
    return ReceivedPaper(type_code, chosen, copies)


def parse_paper(text: str, ctx: Context) -> Any:
    """`TYPE[:HÌNH THỨC[:SỐ LƯỢNG]]` (e.g. `giay_chung_sinh:Bản sao:2`) -> ReceivedPaper."""
    parts = [p.strip() for p in text.split(":")]
    form = parts[1] if len(parts) > 1 and parts[1] else PAPER_FORMS[0]
    count = parts[2] if len(parts) > 2 and parts[2] else "1"
    if not count.isdigit():
        raise UserError(f"Số lượng “{count}” của giấy tờ {parts[0]} phải là số từ 1 đến 99.",
                        f"bad paper count {text!r}")
    return paper(ctx, parts[0], form, int(count))


def receipt(ctx: Context, code: str, papers: list[str] | None = None, *,
            pdf: bool = True) -> FormIssued:
    """Form 01 again, listing the papers the officer received (`TYPE:hình thức:số
    lượng`), the missing ones apart; without a list, what the dossier holds."""
    from motcua.reports.forms import print_receipt

    require(ctx.actor.roles, Permission.RECEIVE)
    parsed = [parse_paper(p, ctx) for p in papers] if papers else None
    made = print_receipt(ctx.ws, ctx.conn, ctx.catalogue, code, pdf=pdf,
                         receiver=_officer(ctx), papers=parsed, actor=ctx.audit_name,
                         rating=ratings.printed_link(ctx, code))
    return _issued("tiep-nhan", code, made)


def supplement(ctx: Context, code: str, *, requirements: list[str] | None = None,
               reason: str = "", pdf: bool = True) -> FormIssued:
    """Form 02: by default, the components the procedure requires and the dossier lacks."""
    from motcua.reports.forms import issue_supplement

    require(ctx.actor.roles, Permission.RECEIVE)
    made = issue_supplement(ctx.ws, ctx.conn, ctx.catalogue, code, ctx.audit_name,
                            requirements=requirements or None, reason=reason,
                            officer=_officer(ctx), pdf=pdf)
    return _issued("bo-sung", code, made)


def refuse(ctx: Context, code: str, *, reason: str, pdf: bool = True) -> FormIssued:
    """Form 03: the dossier is refused, with the reason."""
    from motcua.reports.forms import issue_refusal

    require(ctx.actor.roles, Permission.RECEIVE)
    made = issue_refusal(ctx.ws, ctx.conn, code, ctx.audit_name, reason=reason,
                         officer=_officer(ctx), pdf=pdf)
    return _issued("tu-choi", code, made)


def stop(ctx: Context, code: str, *, reason: str, number: str | None = None,
         pdf: bool = True) -> FormIssued:
    """Form 05: processing stops (a numbered notice, `--number auto` from the register)."""
    from motcua.reports.forms import issue_stop_notice
    from motcua.services.issued import parse_number

    require(ctx.actor.roles, Permission.RECEIVE)
    made = issue_stop_notice(ctx.ws, ctx.conn, code, ctx.audit_name, reason=reason,
                             number=parse_number(number), pdf=pdf)
    return _issued("dung-giai-quyet", code, made)


def control_sheet(ctx: Context, code: str, *, pdf: bool = True) -> FormIssued:
    """Form 06: the dossier's steps with their times and officers."""
    from motcua.reports.forms import issue_control_sheet

    require(ctx.actor.roles, Permission.VIEW)
    made = issue_control_sheet(ctx.ws, ctx.conn, code, officer=_officer(ctx), pdf=pdf)
    return _issued("kiem-soat", code, made)


def register(ctx: Context, start: str | date, end: str | date, *,
             pdf: bool = True) -> FormIssued:
    """Form 07: the dossiers received from `start` to `end` (both included)."""
    from motcua.reports.forms import issue_register

    require(ctx.actor.roles, Permission.VIEW)
    first = start if isinstance(start, date) else labels.parse_day(start, "--from")
    last = end if isinstance(end, date) else labels.parse_day(end, "--to")
    if last < first:
        raise UserError(f"Ngày cuối kỳ {labels.vi_date(last)} trước ngày đầu kỳ "
                        f"{labels.vi_date(first)}.", "register end before start")
    made = issue_register(ctx.ws, ctx.conn, first, last, officer=_officer(ctx), pdf=pdf)
    return _issued("so-theo-doi", None, made)


@dataclass(frozen=True)
class OwnerContact(Result):
    owner_id: str
    address: str
    phone: str


def set_owner_contact(ctx: Context, owner_id: str, *, address: str | None = None,
                      phone: str | None = None) -> OwnerContact:
    """The owner's address and phone, printed on the forms."""
    from motcua.archive.owners import set_contact

    require(ctx.actor.roles, Permission.RECEIVE)
    got = set_contact(ctx.conn, owner_id, ctx.audit_name, address=address, phone=phone)
    return OwnerContact(owner_id.strip(), got["address"], got["phone"])


@dataclass(frozen=True)
class CoverSheets(Result):
    path: str
    codes: tuple[str, ...]


def cover_sheets(ctx: Context, codes: list[str], out: Path) -> CoverSheets:
    """One A4 cover sheet per dossier (its code as a large QR code and in text, the
    owner, the procedure, the day received), to lead its papers in a batch scan."""
    from motcua.counter.lifecycle import get_record
    from motcua.templates.coversheet import Cover, write_covers

    require(ctx.actor.roles, Permission.RECEIVE)
    if not codes:
        raise UserError("Hãy nêu ít nhất một mã hồ sơ.", "no dossier code")
    covers = []
    for code in dict.fromkeys(c.strip() for c in codes):
        rec = get_record(ctx.conn, code)
        owner = rec.owner_name or ""
        if rec.owner_id:
            owner = f"{owner} ({rec.owner_id})" if owner else rec.owner_id
        covers.append(Cover(rec.code, owner or "—", rec.procedure_name or "—",
                            labels.vi_date(rec.received_on) or "—",
                            ctx.ws.config.agency.issuing_body))
    out = out.absolute()
    if not out.parent.is_dir():
        raise UserError(f"Không có thư mục {out.parent} để ghi tệp tờ bìa.",
                        f"no folder {out.parent}")
    write_covers(covers, out)
    return CoverSheets(str(out), tuple(c.code for c in covers))
