"""The one-stop forms of a dossier (Thông tư 03/2025): `dossier receipt | supplement |
refuse | stop | control-sheet | register`, and `owner contact` (address and phone
printed on them). The commands join the `dossier` and `owner` groups of `counter`;
`coversheet` (cover sheets that split a batch scan) is a command of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from motcua.cli._base import (
    Context,
    command,
    json_option,
    paper_option,
    print_json,
    with_context,
)
from motcua.cli.counter import dossier, owner

_NO_PDF = click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX, không tạo PDF/A.")


def _print(made: Any, as_json: bool) -> None:
    if as_json:
        print_json(made)
        return
    what = f" cho hồ sơ {made.dossier_code}" if made.dossier_code else ""
    click.echo(f"Đã lập {made.title}{what}.")
    click.echo(f"  {'PDF/A' if made.pdf else 'DOCX'}: {made.pdf or made.docx}"
               + (" (sẵn sàng ký số)" if made.pdf else ""))


@dossier.command("receipt")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@paper_option
@_NO_PDF
@json_option
@with_context
def dossier_receipt(sc: Context, code: str, papers: tuple[str, ...], no_pdf: bool,
                    as_json: bool) -> None:
    """Lập lại Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01, hai liên)."""
    from motcua.services import forms

    _print(forms.receipt(sc, code, list(papers), pdf=not no_pdf), as_json)


@dossier.command("supplement")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@click.option("--require", "requirements", multiple=True, metavar="NỘI DUNG",
              help="Nội dung cần bổ sung, hoàn thiện (lặp lại cho mỗi nội dung). Không "
                   "ghi: các thành phần hồ sơ còn thiếu theo danh mục.")
@click.option("--reason", default="", help="Lý do.")
@_NO_PDF
@json_option
@with_context
def dossier_supplement(sc: Context, code: str, requirements: tuple[str, ...], reason: str,
                       no_pdf: bool, as_json: bool) -> None:
    """Lập Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02)."""
    from motcua.services import forms

    _print(forms.supplement(sc, code, requirements=list(requirements), reason=reason,
                            pdf=not no_pdf), as_json)


@dossier.command("refuse")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@click.option("--reason", required=True, help="Lý do từ chối tiếp nhận, giải quyết.")
@_NO_PDF
@json_option
@with_context
def dossier_refuse(sc: Context, code: str, reason: str, no_pdf: bool, as_json: bool) -> None:
    """Lập Phiếu từ chối tiếp nhận, giải quyết hồ sơ (Mẫu 03)."""
    from motcua.services import forms

    _print(forms.refuse(sc, code, reason=reason, pdf=not no_pdf), as_json)


@dossier.command("stop")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@click.option("--reason", required=True, help="Lý do dừng giải quyết.")
@click.option("--number", default=None,
              help="Số thông báo, hoặc “auto” lấy từ sổ đăng ký; bỏ trống là bản dự thảo.")
@_NO_PDF
@json_option
@with_context
def dossier_stop(sc: Context, code: str, reason: str, number: str | None, no_pdf: bool,
                 as_json: bool) -> None:
    """Lập Thông báo dừng giải quyết hồ sơ (Mẫu 05)."""
    from motcua.services import forms

    _print(forms.stop(sc, code, reason=reason, number=number, pdf=not no_pdf), as_json)


@dossier.command("control-sheet")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@_NO_PDF
@json_option
@with_context
def dossier_control_sheet(sc: Context, code: str, no_pdf: bool, as_json: bool) -> None:
    """Lập Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu 06): các bước, thời gian,
    người thực hiện."""
    from motcua.services import forms

    _print(forms.control_sheet(sc, code, pdf=not no_pdf), as_json)


@dossier.command("register")
@click.option("--from", "date_from", required=True,
              help="Từ ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--to", "date_to", required=True, help="Đến ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@_NO_PDF
@json_option
@with_context
def dossier_register(sc: Context, date_from: str, date_to: str, no_pdf: bool,
                     as_json: bool) -> None:
    """Lập Sổ theo dõi hồ sơ (Mẫu 07, A4 ngang) cho các hồ sơ tiếp nhận trong kỳ."""
    from motcua.services import forms

    _print(forms.register(sc, date_from, date_to, pdf=not no_pdf), as_json)


@owner.command("contact")
@click.argument("owner_id", metavar="MÃ_ĐỊNH_DANH")
@click.option("--address", default=None, help="Địa chỉ (in trên các mẫu một cửa).")
@click.option("--phone", default=None, help="Số điện thoại.")
@json_option
@with_context
def owner_contact(sc: Context, owner_id: str, address: str | None, phone: str | None,
                  as_json: bool) -> None:
    """Ghi địa chỉ, số điện thoại của chủ sở hữu."""
    from motcua.services import forms

    got = forms.set_owner_contact(sc, owner_id, address=address, phone=phone)
    if as_json:
        print_json(got)
        return
    click.echo(f"Chủ sở hữu {got.owner_id}: địa chỉ {got.address or '—'}; "
               f"điện thoại {got.phone or '—'}")


@command("coversheet")
@click.argument("codes", metavar="MÃ_HỒ_SƠ...", nargs=-1, required=True)
@click.option("-o", "--output", "output", required=True, metavar="TỆP.pdf",
              type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp PDF ghi các tờ bìa (mỗi hồ sơ một trang A4).")
@json_option
@with_context
def coversheet(sc: Context, codes: tuple[str, ...], output: Path, as_json: bool) -> None:
    """In tờ bìa hồ sơ để quét cả chồng: mỗi hồ sơ một trang A4 có mã hồ sơ dạng mã QR
    lớn và dạng chữ, chủ hồ sơ, thủ tục, ngày tiếp nhận. Đặt mỗi tờ bìa ngay trước các
    trang của hồ sơ đó; khi nhận tệp quét, motcua tách tệp tại mỗi tờ bìa (hoặc Giấy tiếp
    nhận Mẫu 01) và lưu từng phần vào đúng hồ sơ."""
    from motcua.services import forms

    got = forms.cover_sheets(sc, list(codes), output)
    if as_json:
        print_json(got)
        return
    click.echo(f"Đã in {len(got.codes)} tờ bìa hồ sơ vào {got.path}:")
    for code in got.codes:
        click.echo(f"  - {code}")


# `coversheet` is a command of its own; the others live in the dossier and owner groups.
COMMANDS: list[Any] = [coversheet]
