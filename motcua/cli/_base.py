"""What every command shares: the click classes, error → exit code, `--json`, and the
services context opened (and always closed) around a command.

Commands import their service module inside the function: `motcua --help` and the
shell completion stay fast (importing the OCR pipeline or the document renderer costs
seconds), and a command pays only for what it uses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from motcua.cli import vi
from motcua.errors import ExitCode, MotcuaError, WorkspaceNotFound
from motcua.services import Actor, Context, Result, open_context, plain, resolve_cli_actor
from motcua.workspace import Workspace, find_workspace

log = logging.getLogger("motcua")

F = TypeVar("F", bound=Callable[..., Any])


vi.install()


class _Vietnamese(click.Command):
    """Usage and help lines with Vietnamese placeholders; a usage error exits with
    ExitCode.USAGE (click's own 2 would read as "problems found")."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [vi.METAVARS.get(p) or vi.metavar(p) for p in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        opts = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and not isinstance(param, click.Argument):
                opts.append((vi.metavar(record[0]), record[1]))
        if opts:
            with formatter.section(vi.gettext("Options")):
                formatter.write_dl(opts)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = int(ExitCode.USAGE)  # type: ignore[misc]
            raise


class Command(_Vietnamese, click.Command):
    """A `motcua` command: Vietnamese help and usage errors (`motcua.cli.vi`)."""


class Group(_Vietnamese, click.Group):
    """A `motcua` command group; its commands and subgroups are of these classes too.

    The root group turns our errors into a Vietnamese line and the error's exit code,
    for every command below it (one place, not a decorator on each command)."""

    command_class = Command
    group_class = type  # a subgroup is of the same class as its parent

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # an unknown or missing subcommand
            exc.exit_code = int(ExitCode.USAGE)  # type: ignore[misc]
            raise
        except MotcuaError as exc:
            if ctx.parent is not None:
                raise
            report_error(exc)
            ctx.exit(int(exc.exit_code))


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
        from motcua.services.intake import log_to_workspace

        obj["workspace"] = find_workspace(obj.get("workspace_path"))
        log_to_workspace(obj["workspace"], verbose=bool(obj.get("verbose")))
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
    "json_option",
    "optional_workspace",
    "print_json",
    "with_context",
]


paper_option = click.option(
    "--paper", "papers", multiple=True, metavar="LOẠI[:HÌNH THỨC[:SỐ LƯỢNG]]",
    help="Giấy tờ công dân đã nộp, ví dụ “giay_chung_sinh:Bản sao:2” (lặp lại cho mỗi "
         "loại; hình thức: Bản chính, Bản sao, Bản sao có chứng thực). Không ghi: giấy tờ đã "
         "ghi nhận trước đó; chưa có thì coi như đã nhận đủ theo danh mục.")
