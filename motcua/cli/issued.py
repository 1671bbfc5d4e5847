"""Documents the centre issues: render, templates, number."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from motcua.services import open_context

if TYPE_CHECKING:
    from motcua.services.issued import Rendered


@command("render")
# LOẠI and NỘI_DUNG are checked by the service, so a wrong kind or a missing file is told
# in the service's own words
@click.argument("kind", metavar="LOẠI")
@click.argument("spec_path", metavar="NỘI_DUNG", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
              help="Tên tệp ra (không cần đuôi): ghi OUT.docx và OUT.pdf; mặc định tên tệp "
                   "nội dung trong thư mục hiện tại.")
@click.option("--number", "number", default=None,
              help="Số văn bản: một số, hoặc “auto” để lấy số tiếp theo trong sổ; "
                   "bỏ trống là bản dự thảo.")
@click.option("--sign", "sign_p12", type=click.Path(path_type=Path), default=None,
              help="Ký số PDF bằng chứng thư PKCS#12 (.p12/.pfx).")
@click.option("--password", "password", envvar="MOTCUA_SIGN_PASSWORD", default=None,
              help="Mật khẩu của tệp .p12 (hoặc biến môi trường MOTCUA_SIGN_PASSWORD).")
@click.option("--archive/--no-archive", "archive", default=True,
              help="Lưu văn bản đã có số vào kho và chỉ mục tìm kiếm (mặc định: có).")
@json_option
def render_cmd(kind: str, spec_path: Path, output: Path | None, number: str | None,
               sign_p12: Path | None, password: str | None, archive: bool,
               as_json: bool) -> None:
    """Soạn văn bản LOẠI từ tệp NỘI_DUNG (YAML/JSON): DOCX và PDF/A có ô ký số.

    LOẠI: quyet-dinh, ke-hoach, quyet-dinh-ke-hoach, bao-cao, tiep-nhan (Mẫu 01), bo-sung
    (02), tu-choi (03), xin-loi (04), dung-giai-quyet (05), kiem-soat (06), so-theo-doi
    (07). Văn bản đã có số được lưu vào kho (nguyên bản PDF) và chỉ mục tìm kiếm; bản dự
    thảo (chưa có số) thì không."""
    from motcua.services import issued

    issued.check_kind(kind)
    output = output or Path(spec_path.stem)

    num = issued.parse_number(number)
    ws = optional_workspace(required=num == "auto")
    secret = password.encode() if password else None
    result: Rendered
    if ws is None:
        result = issued.render(None, kind, spec_path, output, number=num, sign_p12=sign_p12,
                               sign_password=secret, archive=archive)
    else:
        with open_context(ws, get_actor(ws)) as sc:
            result = issued.render(sc, kind, spec_path, output, number=num,
                                   sign_p12=sign_p12, sign_password=secret, archive=archive)
    if as_json:
        print_json(result)
        return
    what = result.type_name.lower()
    if result.metadata.get("number") is None:  # a draft: "/QĐ-UBND" alone says nothing
        click.echo(f"Đã soạn dự thảo {what} (chưa có số)")
    else:
        click.echo(f"Đã soạn {what} số {result.number_symbol}")
    click.echo(f"  DOCX: {result.docx}")
    click.echo(f"  PDF/A: {result.pdf} ({result.page_count} trang, ô ký số ở trang "
               f"{result.field_page}{', đã ký số' if result.signed else ''})")
    if result.document_id is not None:
        click.echo(f"  Đã lưu vào kho: tài liệu số {result.document_id} "
                   "(tìm được bằng motcua search)")


@group("templates")
def templates_group() -> None:
    """Các mẫu văn bản (DOCX): xem danh sách, xuất ra để sửa."""


@templates_group.command("list")
@json_option
def templates_list(as_json: bool) -> None:
    """Liệt kê các mẫu; mẫu của kho làm việc (thư mục templates/) thay mẫu có sẵn."""
    from motcua.services import issued

    rows = issued.templates(optional_workspace(required=False))
    if as_json:
        print_json([t.as_dict() for t in rows])
        return
    for t in rows:
        where = f"mẫu riêng của kho: {t.path}" if t.overridden else "mẫu có sẵn"
        click.echo(f"{t.name:28} {where}")


@templates_group.command("export")
@click.argument("name", metavar="TÊN_MẪU")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
              help="Tệp hoặc thư mục đích (mặc định: thư mục templates/ của kho làm việc).")
def templates_export(name: str, output: Path | None) -> None:
    """Xuất mẫu có sẵn TÊN_MẪU ra để sửa; đặt vào <kho>/templates/ để dùng thay mẫu gốc."""
    from motcua.services import issued

    target = issued.export_template(optional_workspace(required=output is None), name,
                                    output)
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
    from motcua.services import issued

    taken = issued.take_number(sc, type_code, year=year, document=document, unit=unit)
    if as_json:
        print_json(taken)
        return
    click.echo(f"Số: {taken.text}")


@number_group.command("list")
@click.option("--year", type=int, default=None, help="Chỉ năm này.")
@json_option
@with_context
def number_list(sc: Context, year: int | None, as_json: bool) -> None:
    """Liệt kê các số đã cấp."""
    from motcua.services import issued

    got = issued.numbers(sc, year)
    if as_json:
        print_json([{k: v for k, v in r.items() if k != "taken_at_local"}
                    for r in got.numbers])
        return
    if not got.numbers:
        click.echo(f"Chưa cấp số nào{f' trong năm {year}' if year else ''}.")
        return
    click.echo(f"{'Năm':4}  {'Số, ký hiệu':17} {'Cấp lúc':16}  Văn bản")
    for r in got.numbers:
        click.echo(f"{r['year']}  {int(r['number']):02d}/{r['symbol']:14} "
                   f"{r['taken_at_local']}  {r['document']}")


COMMANDS: list[Any] = [render_cmd, templates_group, number_group]
