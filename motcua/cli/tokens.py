"""`motcua token`: API tokens for other systems (add, list, revoke); quản trị only.

Who acts: the account of `--as LOGIN` / MOTCUA_USER with its real roles (it must hold
quản trị), else the OS account running the command, recorded as such.
"""

from __future__ import annotations

from typing import Any

import click

from motcua.cli._base import get_workspace, group, json_option, print_json
from motcua.services import Context, accounts, open_context
from motcua.services.access import Scope
from motcua.workspace import Workspace

SCOPE_HELP = ", ".join(s.value for s in Scope)


def _run(action: Any) -> Any:
    ws: Workspace = get_workspace()
    root = click.get_current_context().find_root().ensure_object(dict)
    login = (root.get("login") or "").strip()
    with open_context(ws, accounts.os_actor("?")) as bare:
        actor = accounts.actor_for_login(bare.conn, login) if login else None
        if actor is None:
            from motcua.services import os_actor

            actor = os_actor()
        return action(Context(ws, bare.conn, actor), ws)


def _when(ws: Workspace, value: str | None, empty: str) -> str:
    return accounts.local_time(ws, value) if value else empty


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
def token_add(name: str, scopes: tuple[str, ...], allow_ips: tuple[str, ...],
              expires: str | None, rate: int | None, as_json: bool) -> None:
    """Tạo mã truy cập NAME; mã chỉ hiện một lần, hãy chép ngay."""
    from motcua.services import tokens

    made = _run(lambda c, ws: tokens.create(
        c, name, scopes, allow_ips=allow_ips, expires=expires,
        rate_per_minute=rate if rate is not None else tokens.DEFAULT_RATE_PER_MINUTE))
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
def token_list(as_json: bool) -> None:
    """Liệt kê mã truy cập (không bao giờ in lại mã)."""
    from motcua.services import tokens

    found, ws = _run(lambda c, ws: (tokens.list_tokens(c), ws))
    if as_json:
        print_json([t.as_dict() for t in found])
        return
    if not found:
        click.echo("Chưa có mã truy cập nào. Tạo bằng: motcua token add TÊN --scopes ...")
        return
    for t in found:
        state = f"đã thu hồi {_when(ws, t.revoked_at, '')}" if t.revoked_at else \
            f"hết hạn {_when(ws, t.expires_at, '')}" if t.expires_at else "không hết hạn"
        ips = ", ".join(t.allow_ips) or "mọi địa chỉ"
        click.echo(f"{t.name}  {t.prefix}…  [{', '.join(t.scopes)}]  {ips}  "
                   f"{t.rate_per_minute} lượt/phút  {state}  "
                   f"dùng lần cuối: {_when(ws, t.last_used_at, 'chưa dùng')}")


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Thu hồi mã truy cập NAME: bị từ chối ngay từ lời gọi tiếp theo."""
    from motcua.services import tokens

    done, ws = _run(lambda c, ws: (tokens.revoke(c, name), ws))
    click.echo(f"Đã thu hồi mã truy cập “{done.name}” lúc {_when(ws, done.revoked_at, '')}; "
               "mọi lời gọi dùng mã này bị từ chối ngay.")


COMMANDS: list[Any] = [token]
