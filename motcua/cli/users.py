"""`motcua user`: officers' accounts (add, list, passwd, set-roles, disable).

A password never goes on the command line (it would stay in the shell's history and in
the process list): it is typed twice at a hidden prompt, or read from the first line of
standard input with `--password-stdin` (for scripts such as quickstart.sh).

Who acts: the account named by MOTCUA_USER (it must hold the quản trị role), else the
OS account running the command, recorded as such in the audit log.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Any, NoReturn

import click

from motcua import labels
from motcua.errors import MotcuaError, UserError
from motcua.services import Actor, Context, accounts, open_context
from motcua.workspace import Workspace, find_workspace


def _fail(exc: MotcuaError) -> NoReturn:
    click.secho(f"Lỗi: {exc.message}", fg="red", err=True)
    sys.exit(1)


def _workspace(ctx: click.Context) -> Workspace:
    obj = ctx.find_root().ensure_object(dict)
    if "workspace" not in obj:
        try:
            obj["workspace"] = find_workspace(obj.get("workspace_path"))
        except MotcuaError as exc:
            _fail(exc)
    ws: Workspace = obj["workspace"]
    return ws


def _actor(ctx: Context) -> Actor:
    login = os.environ.get("MOTCUA_USER", "").strip()
    if login:
        return accounts.actor_for_login(ctx.conn, login)
    try:
        os_login = getpass.getuser()
    except Exception:  # no login name (containers)
        os_login = "?"
    return accounts.os_actor(os_login)


def _run(ctx: click.Context, action: Any) -> Any:
    """Run `action(context)` as the CLI's actor; our errors become a Vietnamese line."""
    ws = _workspace(ctx)
    try:
        with open_context(ws, Actor("?", "?", kind="os")) as bare:
            context = Context(ws, bare.conn, _actor(bare))
            return action(context)
    except MotcuaError as exc:
        _fail(exc)


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
    problem = accounts.password_problem(password, login)
    if problem:
        raise UserError(problem, "password refused by policy")
    return password


def _roles_vi(roles: tuple[str, ...] | list[str]) -> str:
    return ", ".join(labels.label(labels.ROLES, r) for r in roles) or "(không có)"


ROLE_HELP = "Vai trò: " + ", ".join(f"{code} ({label})" for code, label in labels.ROLES.items())


@click.group("user")
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
@click.pass_context
def user_add(ctx: click.Context, login: str, full_name: str, title: str,
             roles: tuple[str, ...], password_stdin: bool) -> None:
    """Thêm tài khoản LOGIN (mật khẩu được hỏi, không ghi trên dòng lệnh)."""

    def action(c: Context) -> accounts.UserView:
        accounts.parse_roles(_role_codes(roles))  # refuse a wrong role before the prompt
        password = _read_password(password_stdin, accounts.normalise_login(login))
        return accounts.add_user(c, login, full_name, title, _role_codes(roles), password)

    made: accounts.UserView = _run(ctx, action)
    click.echo(f"Đã thêm tài khoản {made.login}: {made.full_name} — {_roles_vi(made.roles)}.")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Liệt kê tài khoản cán bộ."""
    ws = _workspace(ctx)
    found: list[accounts.UserView] = _run(ctx, accounts.list_users)
    if as_json:
        click.echo(json.dumps([u.as_dict() for u in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("Chưa có tài khoản nào. Thêm bằng: motcua user add TÊN --name ... --role ...")
        return
    for u in found:
        state = "đang hoạt động" if u.active else "đã khóa"
        last = accounts.local_time(ws, u.last_login_at) or "chưa đăng nhập"
        title = f", {u.title}" if u.title else ""
        click.echo(f"{u.login}  {u.full_name}{title}  [{_roles_vi(u.roles)}]  {state}  "
                   f"lần đăng nhập cuối: {last}")


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True,
              help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn thay vì hỏi.")
@click.pass_context
def user_passwd(ctx: click.Context, login: str, password_stdin: bool) -> None:
    """Đặt mật khẩu mới cho LOGIN; các phiên đăng nhập của tài khoản đó kết thúc."""

    def action(c: Context) -> accounts.UserView:
        target = accounts.get_user(c.conn, login)
        return accounts.set_password(c, target.login, _read_password(password_stdin,
                                                                      target.login))

    done: accounts.UserView = _run(ctx, action)
    click.echo(f"Đã đổi mật khẩu của tài khoản {done.login}.")


@user.command("set-roles")
@click.argument("login")
@click.option("--role", "-r", "roles", multiple=True, required=True,
              help=ROLE_HELP + " (lặp lại hoặc ngăn cách bằng dấu phẩy).")
@click.pass_context
def user_set_roles(ctx: click.Context, login: str, roles: tuple[str, ...]) -> None:
    """Đặt lại vai trò của LOGIN (thay cho các vai trò cũ)."""
    done: accounts.UserView = _run(
        ctx, lambda c: accounts.set_roles(c, login, _role_codes(roles)))
    click.echo(f"Tài khoản {done.login} nay có vai trò: {_roles_vi(done.roles)}.")


@user.command("disable")
@click.argument("login")
@click.pass_context
def user_disable(ctx: click.Context, login: str) -> None:
    """Khóa tài khoản LOGIN (giữ lại cho nhật ký, không xóa)."""
    done: accounts.UserView = _run(ctx, lambda c: accounts.disable_user(c, login))
    click.echo(f"Đã khóa tài khoản {done.login}; các phiên đăng nhập đã kết thúc.")
