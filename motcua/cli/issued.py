"""Documents the centre issues: render, templates, number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from motcua.cli._base import (
    Context,
    command,
    get_actor,
    group,
    json_option,
    optional_workspace,
    print_json,
    with_context,
)
from motcua.errors import UserError
from motcua.services import open_context
from motcua.workspace import Workspace


@command("render")
@click.argument("kind", type=click.Choice(
    ["quyet-dinh", "ke-hoach", "quyet-dinh-ke-hoach", "bao-cao", "tiep-nhan", "xin-loi"]))
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False,
                                                             exists=True))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True,
              help="Tên tệp ra (không cần đuôi): ghi OUT.docx và OUT.pdf.")
@click.option("--number", "number", default=None,
              help="Số văn bản: một số, hoặc “auto” để lấy số tiếp theo trong sổ; "
                   "bỏ trống là bản dự thảo.")
@click.option("--sign", "sign_p12", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Ký số PDF bằng chứng thư PKCS#12 (.p12/.pfx).")
@click.option("--password", "password", envvar="MOTCUA_SIGN_PASSWORD", default=None,
              help="Mật khẩu của tệp .p12 (hoặc biến môi trường MOTCUA_SIGN_PASSWORD).")
@click.option("--archive/--no-archive", "archive", default=True,
              help="Lưu văn bản đã có số vào kho và chỉ mục tìm kiếm (mặc định: có).")
@json_option
@with_context
def render_cmd(sc: Context, kind: str, spec_path: Path, output: Path, number: str | None,
               sign_p12: Path | None, password: str | None, archive: bool,
               as_json: bool) -> None:
    """Soạn văn bản KIND từ tệp nội dung SPEC (YAML/JSON): DOCX và PDF/A có ô ký số.

    Văn bản đã có số được lưu vào kho (nguyên bản PDF) và chỉ mục tìm kiếm; bản dự thảo
    (chưa có số) thì không."""
    from motcua.templates import load_spec, render

    num: int | str | None = None
    if number is not None:
        if number.strip().lower() == "auto":
            num = "auto"
        elif number.strip().isdigit() and int(number) > 0:
            num = int(number)
        else:
            raise UserError(f"--number phải là một số hoặc “auto”, không phải “{number}”.",
                            f"bad --number {number}")
    ws = optional_workspace(required=num == "auto")
    spec = load_spec(kind, spec_path)
    result = render(ws, spec, output, number=num, sign_p12=sign_p12,
                    sign_password=password.encode() if password else None)
    document_id = None
    if archive and ws is not None and result.number is not None:
        document_id = _archive_issued(ws, result)
    if as_json:
        print_json(result.metadata() | {"document_id": document_id})
        return
    click.echo(f"Đã soạn {result.type_name.lower()} {result.number_symbol or ''}".rstrip())
    click.echo(f"  DOCX: {result.docx}")
    click.echo(f"  PDF/A: {result.pdf} ({result.page_count} trang, ô ký số ở trang "
               f"{result.field_page}{', đã ký số' if result.signed else ''})")
    if document_id is not None:
        click.echo(f"  Đã lưu vào kho: tài liệu số {document_id} (tìm được bằng motcua search)")


def _archive_issued(ws: Workspace, result: Any) -> int:
    """The rendered PDF into the archive, with its metadata, and into the search index."""

    with open_context(ws, get_actor(ws)) as sc:
        return _archive_in(sc, result)


def _archive_in(sc: Context, result: Any) -> int:
    from motcua.archive.documents import add_issued

    ws, conn = sc.ws, sc.conn
    document_id = add_issued(ws, conn, result.pdf, sc.audit_name, kind=result.kind, meta={
        "type_code": result.number_symbol.split("/", 1)[-1].split("-", 1)[0] or None,
        "name": f"{result.type_name} số {result.number_symbol}",
        "number_symbol": result.number_symbol,
        "issue_date": result.issue_date.isoformat(),
        "issuing_body": result.issuing_body,
        "summary": result.summary,
    })
    _index_quietly(sc, document_id)
    return document_id


@group("templates")
def templates_group() -> None:
    """Các mẫu văn bản (DOCX): xem danh sách, xuất ra để sửa."""


@templates_group.command("list")
@json_option
@with_context
def templates_list(sc: Context, as_json: bool) -> None:
    """Liệt kê các mẫu; mẫu của kho làm việc (thư mục templates/) thay mẫu có sẵn."""
    from motcua.templates import list_templates

    ws = optional_workspace(required=False)
    rows = list_templates(ws)
    if as_json:
        print_json([{"name": n, "path": str(p), "overridden": o} for n, p, o in rows])
        return
    for name, path, overridden in rows:
        where = f"mẫu riêng của kho: {path}" if overridden else "mẫu có sẵn"
        click.echo(f"{name:28} {where}")


@templates_group.command("export")
@click.argument("name")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
              help="Tệp hoặc thư mục đích (mặc định: thư mục templates/ của kho làm việc).")
@with_context
def templates_export(sc: Context, name: str, output: Path | None) -> None:
    """Xuất mẫu có sẵn NAME ra để sửa; đặt vào <kho>/templates/ để dùng thay mẫu gốc."""
    from motcua.templates import export_template

    ws = optional_workspace(required=output is None)
    if output is None:
        assert ws is not None
        output = ws.root / "templates"
        output.mkdir(parents=True, exist_ok=True)
    target = export_template(ws, name, output)
    click.echo(f"Đã xuất mẫu {name} ra {target}")


@group("number")
def number_group() -> None:
    """Sổ đăng ký số văn bản đi."""


@number_group.command("take")
@click.option("--type", "type_code", required=True,
              help="Ký hiệu loại văn bản: QĐ, KH, BC, TB, …; “CV” cho công văn.")
@click.option("--year", type=int, default=None, help="Năm (mặc định: năm nay).")
@click.option("--document", default="", help="Văn bản nhận số (ghi vào sổ).")
@click.option("--unit", default="", help="Đơn vị soạn thảo (ký hiệu công văn: UBND-VX).")
@json_option
@with_context
def number_take(sc: Context, type_code: str, year: int | None, document: str, unit: str,
                as_json: bool) -> None:
    """Lấy số tiếp theo cho cơ quan ban hành và năm (không bao giờ cấp trùng)."""
    from motcua.templates import take_for_workspace

    ws = sc.ws
    code = "" if type_code.upper() == "CV" else type_code
    taken = take_for_workspace(ws, code, year=year, document=document, unit=unit)
    if as_json:
        print_json({"number": taken.number, "text": taken.text, "year": taken.year,
                    "symbol": taken.symbol, "issuing_body": taken.issuing_body})
        return
    click.echo(f"Số: {taken.text}")


@number_group.command("list")
@click.option("--year", type=int, default=None, help="Chỉ năm này.")
@json_option
@with_context
def number_list(sc: Context, year: int | None, as_json: bool) -> None:
    """Liệt kê các số đã cấp."""
    from motcua.templates.numbering import list_numbers

    conn = sc.conn
    rows = list_numbers(conn, year)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        click.echo(f"{r['year']}  {int(r['number']):02d}/{r['symbol']:14} {r['taken_at']}  "
                   f"{r['document']}")


def _index_quietly(sc: Context, document_id: int) -> None:
    from motcua.archive.indexing import index_documents

    index_documents(sc.ws, sc.conn, [document_id])


COMMANDS: list[Any] = [render_cmd, templates_group, number_group]
