"""`motcua token`: API tokens for other systems (add, list, revoke); quản trị only.

Who acts: the account of `--as LOGIN` / MOTCUA_USER with its roles (it must hold quản
trị), else the OS account running the command, recorded as such.
"""

from __future__ import annotations

from typing import Any

import click

from motcua import labels
from motcua.cli._base import Context, group, json_option, print_json, with_context
from motcua.services.access import Scope

SCOPE_HELP = ", ".join(s.value for s in Scope)


def _when(ctx: Context, value: str | None, empty: str) -> str:
    return labels.vi_datetime(value, ctx.zone) if value else empty


@group("token")
def token() -> None:
    """Mã truy cập API cho hệ thống khác (thêm, xem, thu hồi); chỉ quản trị."""


@token.command("add")
@click.argument("name")
@click.option("--scopes", "-s", "scopes", multiple=True, required=True,
              help=f"Phạm vi được phép ({SCOPE_HELP}); ngăn cách bằng dấu phẩy.")
@click.option("--allow-ip", "allow_ips", multiple=True,
              help="Chỉ nhận lời gọi từ địa chỉ hoặc mạng này (ví dụ 10.0.0.5 hoặc "
                   "10.0.0.0/24); lặp lại được.")
@click.option("--expires", default=None, metavar="dd/mm/yyyy",
              help="Ngày hết hạn (hết ngày đó theo giờ của trung tâm).")
@click.option("--rate", "rate", type=int, default=None,
              help="Số lượt gọi tối đa mỗi phút (mặc định 120).")
@json_option
@with_context
def token_add(ctx: Context, name: str, scopes: tuple[str, ...], allow_ips: tuple[str, ...],
              expires: str | None, rate: int | None, as_json: bool) -> None:
    """Tạo mã truy cập NAME; mã chỉ hiện một lần, hãy chép ngay."""
    from motcua.services import tokens

    made = tokens.create(
        ctx, name, scopes, allow_ips=allow_ips, expires=expires,
        rate_per_minute=rate if rate is not None else tokens.DEFAULT_RATE_PER_MINUTE)
    if as_json:
        print_json(made)
        return
    view = made.view
    click.echo(f"Đã tạo mã truy cập “{view.name}” — phạm vi: {', '.join(view.scopes)}.")
    click.echo("Mã truy cập (chỉ hiện lần này, kho chỉ giữ bản băm; hãy chép ngay):")
    click.echo(f"  {made.token}")
    click.echo("Gửi kèm mỗi lời gọi: Authorization: Bearer <mã truy cập>")


@token.command("list")
@json_option
@with_context
def token_list(ctx: Context, as_json: bool) -> None:
    """Liệt kê mã truy cập (không bao giờ in lại mã)."""
    from motcua.services import tokens

    found = tokens.list_tokens(ctx)
    if as_json:
        print_json([t.as_dict() for t in found])
        return
    if not found:
        click.echo("Chưa có mã truy cập nào. Tạo bằng: motcua token add TÊN --scopes ...")
        return
    for t in found:
        state = f"đã thu hồi {_when(ctx, t.revoked_at, '')}" if t.revoked_at else \
            f"hết hạn {_when(ctx, t.expires_at, '')}" if t.expires_at else "không hết hạn"
        ips = ", ".join(t.allow_ips) or "mọi địa chỉ"
        click.echo(f"{t.name}  {t.prefix}…  [{', '.join(t.scopes)}]  {ips}  "
                   f"{t.rate_per_minute} lượt/phút  {state}  "
                   f"dùng lần cuối: {_when(ctx, t.last_used_at, 'chưa dùng')}")


@token.command("revoke")
@click.argument("name")
@with_context
def token_revoke(ctx: Context, name: str) -> None:
    """Thu hồi mã truy cập NAME: bị từ chối ngay từ lời gọi tiếp theo."""
    from motcua.services import tokens

    done = tokens.revoke(ctx, name)
    click.echo(f"Đã thu hồi mã truy cập “{done.name}” lúc {_when(ctx, done.revoked_at, '')}; "
               "mọi lời gọi dùng mã này bị từ chối ngay.")


COMMANDS: list[Any] = [token]
