"""What every command shares: the click classes, error → exit code, `--json`, and the
services context opened (and always closed) around a command.

Commands import their service module inside the function: `motcua --help` and the
shell completion stay fast (importing the OCR pipeline or the document renderer costs
seconds), and a command pays only for what it uses.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from motcua.errors import MotcuaError, WorkspaceNotFound
from motcua.services import Actor, Context, Result, open_context, plain, resolve_cli_actor
from motcua.workspace import Workspace, find_workspace

log = logging.getLogger("motcua")

F = TypeVar("F", bound=Callable[..., Any])


class Command(click.Command):
    """A `motcua` command (the Vietnamese help is set up in `motcua.cli.vi`)."""


class Group(click.Group):
    """A `motcua` command group; its commands and subgroups are of these classes too.

    The root group turns our errors into a Vietnamese line and the error's exit code,
    for every command below it (one place, not a decorator on each command)."""

    command_class = Command
    group_class = type  # a subgroup is of the same class as its parent

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.parent is not None:
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except MotcuaError as exc:
            report_error(exc)
            ctx.exit(int(exc.exit_code))
        except click.UsageError as exc:  # click's own checks speak English
            _usage_error(exc, ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is not None:
            return super().parse_args(ctx, args)
        try:  # the root's own options (`motcua --bogus`)
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage_error(exc, ctx)
            raise  # not reached: ctx.exit raises


def _usage_error(exc: click.UsageError, ctx: click.Context) -> None:
    where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
    click.secho(f"Lỗi: {vi_usage(exc.format_message())}", fg="red", err=True)
    click.echo(f"Xem cách dùng: {where} --help", err=True)
    ctx.exit(exc.exit_code)


# click's usage messages (click 8) and their Vietnamese; what is not matched is shown as is
_USAGE_VI: tuple[tuple[str, str], ...] = (
    (r"No such option '([^']+)'\. Did you mean '([^']+)'\?",
     r"Không có tùy chọn “\1”. Có phải ý bạn là “\2”?"),
    (r"No such option:? '?([^' ]+)'?\.?", r"Không có tùy chọn “\1”."),
    (r"No such command '([^']+)'\. \(Did you mean one of: (.*)\?\)",
     r"Không có lệnh “\1”. Có phải ý bạn là một trong: \2?"),
    (r"No such command '([^']+)'\.", r"Không có lệnh “\1”."),
    (r"Missing argument '([^']+)'\.", r"Thiếu đối số \1."),
    (r"Missing option (.+)\.", r"Thiếu tùy chọn \1."),
    (r"Option '([^']+)' requires an argument\.", r"Tùy chọn “\1” cần một giá trị."),
    (r"Got unexpected extra arguments? \((.*)\)", r"Thừa đối số: \1."),
    (r"Invalid value for '([^']+)': '(.*)' is not one of (.*)\.",
     r"Giá trị “\2” của \1 không hợp lệ; chọn một trong: \3."),
    (r"Invalid value for '([^']+)': '(.*)' is not a valid integer\.",
     r"Giá trị “\2” của \1 phải là số nguyên."),
    (r"Invalid value for '([^']+)': '(.*)' is not a valid float\.",
     r"Giá trị “\2” của \1 phải là số."),
    (r"Invalid value for '([^']+)': (?:File|Path|Directory) '(.*)' does not exist\.",
     r"\1: không có “\2”."),
    (r"Invalid value for '([^']+)': (.*)", r"Giá trị của \1 không hợp lệ: \2"),
)


def vi_usage(message: str) -> str:
    """A click usage message in Vietnamese (the clerk reads it)."""
    import re

    for pattern, vi in _USAGE_VI:
        got = re.fullmatch(pattern, message.strip(), flags=re.S)
        if got:
            return got.expand(vi)
    return message


def command(name: str | None = None, **kwargs: Any) -> Callable[[F], Command]:
    """`click.command` making our Command class."""
    return click.command(name, cls=Command, **kwargs)


def group(name: str | None = None, **kwargs: Any) -> Callable[[F], Group]:
    """`click.group` making our Group class."""
    return click.group(name, cls=Group, **kwargs)


def report_error(exc: MotcuaError) -> None:
    """The clerk reads the Vietnamese message; the English detail goes to the log."""
    if exc.detail:
        log.info("error detail: %s", exc.detail)
    click.secho(f"Lỗi: {exc.message}", fg="red", err=True)


def handle_errors(func: F) -> F:
    """Our errors become a Vietnamese message on stderr and the error's exit code (for a
    function run outside the root group, such as a callback of the watcher)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MotcuaError as exc:
            report_error(exc)
            sys.exit(int(exc.exit_code))

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    """`--json`: print the command's result as JSON (its `as_dict()`), for scripts."""
    return click.option("--json", "as_json", is_flag=True,
                        help="In kết quả dạng JSON.")(func)


def print_json(data: Any) -> None:
    """One JSON printer: a service result prints its `as_dict()`."""
    if isinstance(data, Result):
        data = data.as_dict()
    click.echo(json.dumps(plain(data), ensure_ascii=False, indent=2, default=str))


def get_workspace(ctx: click.Context | None = None) -> Workspace:
    """The workspace of `-w`, $MOTCUA_WORKSPACE or the current folder (found once)."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().ensure_object(dict)
    if "workspace" not in obj:
        obj["workspace"] = find_workspace(obj.get("workspace_path"))
    ws: Workspace = obj["workspace"]
    return ws


def optional_workspace(required: bool) -> Workspace | None:
    """For commands that also work outside a workspace (templates): None, with a note."""
    try:
        return get_workspace()
    except WorkspaceNotFound:
        if required:
            raise
        click.secho("Chú ý: không có kho làm việc, dùng thông tin cơ quan mặc định.",
                    fg="yellow", err=True)
        return None


def get_actor(ws: Workspace, ctx: click.Context | None = None) -> Actor:
    """Who acts: `--as LOGIN` / MOTCUA_USER, else the OS account."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().ensure_object(dict)
    if "actor" not in obj:
        obj["actor"] = resolve_cli_actor(ws, obj.get("login"))
    actor: Actor = obj["actor"]
    return actor


def with_context(func: F) -> F:
    """Run the command with a services Context (workspace, connection, actor) as its
    first argument; the connection is closed however the command ends."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ws = get_workspace()
        with open_context(ws, get_actor(ws)) as sc:
            return func(sc, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


__all__ = [
    "Command",
    "Context",
    "Group",
    "command",
    "get_workspace",
    "group",
    "handle_errors",
    "json_option",
    "optional_workspace",
    "print_json",
    "with_context",
]
