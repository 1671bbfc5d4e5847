"""Documents the centre issues: render a Quyết định / Kế hoạch / Báo cáo / form from a
spec (DOCX and PDF/A with a signature field), archive and index the numbered ones; the
templates; the register of outgoing numbers.

Rendering and the templates also work outside a workspace (a draft with the default
agency): those functions take `ctx=None` then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motcua import labels
from motcua.errors import UserError
from motcua.services import Context, Result
from motcua.services.access import Permission, require
from motcua.workspace import Workspace

KINDS = tuple(labels.ISSUED_KINDS)


def check_kind(kind: str) -> None:
    """A kind of document the templates know, or a Vietnamese message listing them."""
    if kind not in labels.ISSUED_KINDS:
        raise UserError(f"Loại văn bản “{kind}” không có. Các loại: "
                        f"{', '.join(labels.ISSUED_KINDS)}.", f"bad kind {kind!r}")


def parse_number(text: str | None, option: str = "--number") -> int | str | None:
    """The one reading of a document number typed by a person: a positive number, or
    "auto" for the next one in the register; nothing means a draft."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if value.lower() == "auto":
        return "auto"
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise UserError(f"{option} phải là một số hoặc “auto”, không phải “{text}”.",
                    f"bad {option} {text!r}")


@dataclass(frozen=True)
class Rendered(Result):
    metadata: dict[str, Any]     # what the renderer records about the document
    docx: str
    pdf: str
    page_count: int
    field_page: int
    signed: bool
    type_name: str
    number_symbol: str | None
    document_id: int | None      # in the archive when numbered and archived

    def as_dict(self) -> dict[str, Any]:
        """The renderer's metadata and the archive's id, as `render --json` printed."""
        return dict(self.metadata) | {"document_id": self.document_id}


def archive_issued(ctx: Context, result: Any) -> int:
    """A rendered, numbered PDF into the archive with its metadata, and into the index.
    The type code is the symbol's first part after the number (`12/QĐ-UBND` → QĐ)."""
    from motcua.archive.documents import add_issued
    from motcua.archive.indexing import index_documents

    symbol: str = result.number_symbol
    document_id = add_issued(ctx.ws, ctx.conn, result.pdf, ctx.audit_name, kind=result.kind,
                             meta={
        "type_code": symbol.split("/", 1)[-1].split("-", 1)[0] or None,
        "name": f"{result.type_name} số {symbol}",
        "number_symbol": symbol,
        "issue_date": result.issue_date.isoformat(),
        "issuing_body": result.issuing_body,
        "summary": result.summary,
    })
    index_documents(ctx.ws, ctx.conn, [document_id])
    return document_id


def render(ctx: Context | None, kind: str, spec_path: Path, output: Path, *,
           number: str | int | None = None, sign_p12: Path | None = None,
           sign_password: bytes | None = None, archive: bool = True) -> Rendered:
    """Render document KIND from the spec file (YAML/JSON). A numbered document is
    archived (its PDF byte for byte) and indexed unless `archive` is False; a draft (no
    number) never is. Without a workspace (`ctx` None) only drafts and given numbers."""
    from motcua.templates import load_spec
    from motcua.templates import render as render_spec

    check_kind(kind)
    num = parse_number(number) if isinstance(number, str) else number
    if ctx is not None:
        require(ctx.actor.roles, Permission.ISSUE)
    elif num == "auto":
        from motcua.errors import WorkspaceNotFound

        raise WorkspaceNotFound("Lấy số tự động cần kho làm việc (sổ đăng ký số).",
                                "number auto without workspace")
    ws: Workspace | None = ctx.ws if ctx is not None else None
    spec = load_spec(kind, spec_path)
    result = render_spec(ws, spec, output, number=num, sign_p12=sign_p12,
                         sign_password=sign_password)
    document_id = None
    if archive and ctx is not None and result.number is not None:
        document_id = archive_issued(ctx, result)
    return Rendered(result.metadata(), str(result.docx), str(result.pdf), result.page_count,
                    result.field_page, bool(result.signed), result.type_name,
                    result.number_symbol, document_id)


@dataclass(frozen=True)
class Template(Result):
    name: str
    path: str
    overridden: bool  # the workspace's own copy replaces the shipped one


def templates(ws: Workspace | None) -> tuple[Template, ...]:
    """The templates: the shipped ones, or the workspace's own copies."""
    from motcua.templates import list_templates

    return tuple(Template(n, str(p), o) for n, p, o in list_templates(ws))


def export_template(ws: Workspace | None, name: str, output: Path | None = None) -> Path:
    """A shipped template out for editing; put it in <workspace>/templates/ to use it."""
    from motcua.templates import export_template as export

    if output is None:
        if ws is None:
            raise UserError("Hãy nêu nơi ghi (-o) khi không có kho làm việc.", "no output")
        output = ws.root / "templates"
        output.mkdir(parents=True, exist_ok=True)
    return Path(export(ws, name, output))


@dataclass(frozen=True)
class TakenNumber(Result):
    number: int
    text: str
    year: int
    symbol: str
    issuing_body: str


def take_number(ctx: Context, type_code: str, *, year: int | None = None,
                document: str = "", unit: str = "") -> TakenNumber:
    """The next number for the issuing body and year (never given twice). "CV" is a
    công văn (no type code in its symbol)."""
    from motcua.templates import take_for_workspace

    require(ctx.actor.roles, Permission.ISSUE)
    code = "" if type_code.strip().upper() == "CV" else type_code.strip()
    taken = take_for_workspace(ctx.ws, code, year=year, document=document, unit=unit)
    return TakenNumber(taken.number, taken.text, taken.year, taken.symbol,
                       taken.issuing_body)


@dataclass(frozen=True)
class NumberRegister(Result):
    numbers: tuple[dict[str, Any], ...]


def numbers(ctx: Context, year: int | None = None) -> NumberRegister:
    """The numbers given so far (oldest first), with the time in the centre's zone."""
    from motcua.templates.numbering import list_numbers

    require(ctx.actor.roles, Permission.VIEW)
    return NumberRegister(tuple(
        r | {"taken_at_local": labels.vi_datetime(r["taken_at"], ctx.zone)}
        for r in list_numbers(ctx.conn, year)))
