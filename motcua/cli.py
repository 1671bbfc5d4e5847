"""The `motcua` command line.

Thin: each command parses its options, finds the workspace, calls one function of
a subpackage and prints the outcome in Vietnamese. `--json` output is for scripts.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from motcua import db
from motcua.errors import MotcuaError
from motcua.workspace import Workspace, find_workspace, init_workspace

log = logging.getLogger("motcua")

F = TypeVar("F", bound=Callable[..., Any])


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def handle_errors(func: F) -> F:
    """Turn our errors into a Vietnamese message on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MotcuaError as exc:
            if exc.detail:
                log.debug("error detail: %s", exc.detail)
            click.secho(f"Lỗi: {exc.message}", fg="red", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def get_workspace(ctx: click.Context) -> Workspace:
    obj = ctx.ensure_object(dict)
    if "workspace" not in obj:
        obj["workspace"] = find_workspace(obj.get("workspace_path"))
    ws: Workspace = obj["workspace"]
    return ws


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    "workspace_path",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Thư mục kho làm việc (mặc định: $MOTCUA_WORKSPACE, rồi thư mục hiện tại).",
)
@click.option("--verbose", "-v", is_flag=True, help="In thêm nhật ký kỹ thuật (tiếng Anh).")
@click.version_option(package_name="motcua")
@click.pass_context
def main(ctx: click.Context, workspace_path: Path | None, verbose: bool) -> None:
    """motcua: số hóa, lưu trữ và tra cứu hồ sơ thủ tục hành chính của Bộ phận Một cửa."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(dict)["workspace_path"] = workspace_path


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@handle_errors
def init(directory: Path) -> None:
    """Tạo kho làm việc mới trong DIRECTORY."""
    ws = init_workspace(directory)
    click.echo(f"Đã tạo kho làm việc tại {ws.root}")
    click.echo(f"  Thư mục nhận tệp quét: {ws.inbox}")
    click.echo(f"  Cấu hình: {ws.config_path}")


def open_db(ws: Workspace) -> Any:
    return db.connect(ws.db_path)


# ---- spine: ingest / watch / search / show / assign / reindex (issue 2) ----
# ---- end spine ----

# ---- warehouse: owner / dossier / doc / result / reuse / verify / audit / export (issue 4) ----
# ---- end warehouse ----

# ---- templates: render / templates / number (issue 5) ----
# ---- end templates ----

# ---- lifecycle and reports (issue 6) ----
# ---- end lifecycle ----
