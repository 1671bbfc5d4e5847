"""user: officers' accounts (add, list, passwd, set-roles, disable).

A password never goes on the command line (it would stay in the shell's history and in
the process list): it is typed twice at a hidden prompt, or read from the first line of
standard input with `--password-stdin` (for scripts such as quickstart.sh).

Who acts: `--as LOGIN` / MOTCUA_USER (an account holding the quản trị role), else the
OS account running the command, recorded as such in the audit log.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from motcua import labels
from motcua.cli._base import Context, group, json_option, print_json, with_context
from motcua.errors import UserError
from motcua.services import accounts


def _role_codes(values: tuple[str, ...]) -> list[str]:
    """Role codes from codes or their Vietnamese names ("tiep_nhan" or "tiếp nhận")."""
    by_label = {label.casefold(): code for code, label in labels.ROLES.items()}
    codes = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part:
                codes.append(by_label.get(part.casefold(), part))
    return codes


def _read_password(from_stdin: bool, login: str) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
    else:
        password = click.prompt(f"Mật khẩu mới cho {login}", hide_input=True,
                                show_default=False, default="", prompt_suffix=": ")
        again = click.prompt("Nhập lại mật khẩu", hide_input=True, show_default=False,
                             default="", prompt_suffix=": ")
        if password != again:
            raise UserError("Hai lần nhập mật khẩu không khớp nhau; chưa thay đổi gì.",
                            "password confirmation mismatch")
    accounts.check_password_policy(password, login)
    return password


def _roles_vi(roles: tuple[str, ...] | list[str]) -> str:
    return ", ".join(labels.label(labels.ROLES, r) for r in roles) or "(không có)"


ROLE_HELP = "Vai trò: " + ", ".join(f"{code} ({label})" for code, label in labels.ROLES.items())


@group("user")
def user() -> None:
    """Tài khoản cán bộ: thêm, xem, đổi mật khẩu, đổi vai trò, khóa."""


@user.command("add")
@click.argument("login")
@click.option("--name", "-n", "full_name", required=True, help="Họ tên cán bộ.")
@click.option("--title", "-t", default="", help="Chức vụ.")
@click.option("--role", "-r", "roles", multiple=True, required=True,
              help=ROLE_HELP + " (lặp lại hoặc ngăn cách bằng dấu phẩy).")
@click.option("--password-stdin", is_flag=True,
              help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn thay vì hỏi.")
@with_context
def user_add(ctx: Context, login: str, full_name: str, title: str, roles: tuple[str, ...],
             password_stdin: bool) -> None:
    """Thêm tài khoản LOGIN (mật khẩu được hỏi, không ghi trên dòng lệnh)."""
    codes = _role_codes(roles)
    accounts.parse_roles(codes)  # a wrong role is refused before the prompt
    password = _read_password(password_stdin, accounts.normalise_login(login))
    made = accounts.add_user(ctx, login, full_name, title, codes, password)
    click.echo(f"Đã thêm tài khoản {made.login}: {made.full_name} — {_roles_vi(made.roles)}.")


@user.command("list")
@json_option
@with_context
def user_list(ctx: Context, as_json: bool) -> None:
    """Liệt kê tài khoản cán bộ."""
    found = accounts.list_users(ctx)
    if as_json:
        print_json([u.as_dict() for u in found])
        return
    if not found:
        click.echo("Chưa có tài khoản nào. Thêm bằng: motcua user add TÊN --name ... --role ...")
        return
    for u in found:
        state = "đang hoạt động" if u.active else "đã khóa"
        last = labels.vi_datetime(u.last_login_at, ctx.zone) or "chưa đăng nhập"
        title = f", {u.title}" if u.title else ""
        click.echo(f"{u.login}  {u.full_name}{title}  [{_roles_vi(u.roles)}]  {state}  "
                   f"lần đăng nhập cuối: {last}")


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True,
              help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn thay vì hỏi.")
@with_context
def user_passwd(ctx: Context, login: str, password_stdin: bool) -> None:
    """Đặt mật khẩu mới cho LOGIN; các phiên đăng nhập của tài khoản đó kết thúc."""
    target = accounts.get_user(ctx.conn, login)
    done = accounts.set_password(ctx, target.login, _read_password(password_stdin,
                                                                    target.login))
    click.echo(f"Đã đổi mật khẩu của tài khoản {done.login}.")


@user.command("set-roles")
@click.argument("login")
@click.option("--role", "-r", "roles", multiple=True, required=True,
              help=ROLE_HELP + " (lặp lại hoặc ngăn cách bằng dấu phẩy).")
@with_context
def user_set_roles(ctx: Context, login: str, roles: tuple[str, ...]) -> None:
    """Đặt lại vai trò của LOGIN (thay cho các vai trò cũ)."""
    done = accounts.set_roles(ctx, login, _role_codes(roles))
    click.echo(f"Tài khoản {done.login} nay có vai trò: {_roles_vi(done.roles)}.")


@user.command("disable")
@click.argument("login")
@with_context
def user_disable(ctx: Context, login: str) -> None:
    """Khóa tài khoản LOGIN (giữ lại cho nhật ký, không xóa)."""
    done = accounts.disable_user(ctx, login)
    click.echo(f"Đã khóa tài khoản {done.login}; các phiên đăng nhập đã kết thúc.")


COMMANDS: list[Any] = [user]
