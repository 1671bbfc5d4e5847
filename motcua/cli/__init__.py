"""The `motcua` command line: presentation only.

Each command parses its options, calls one function of `motcua.services` over a
Context (workspace, connection, acting officer) and prints the result in Vietnamese;
`--json` prints the result's `as_dict()`. One module per command group:

    intake     ingest, watch, status
    documents  search, show, assign, stamp, reindex, doc meta, result add
    counter    owner, dossier, procedures, reuse, overdue
    forms      dossier receipt/supplement/refuse/stop/control-sheet/register, owner contact,
               coversheet
    issued     render, templates, number
    reports    report quarterly / indicators
    users      user add / list / passwd / set-roles / disable
    integrity  verify, audit, export, import
    serve      the staff web page (and /api/v1)
    tokens     API tokens for other systems
    workers    worker (an OCR machine of a Celery cluster)

Exit codes are `motcua.errors.ExitCode`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from motcua.cli import (
    counter,
    documents,
    intake,
    integrity,
    issued,
    reports,
    serve,
    tokens,
    users,
    workers,
)
from motcua.cli import forms as _forms  # adds the forms to dossier/owner; coversheet
from motcua.cli._base import Group, command
from motcua.workspace import CONFIG_NAME, init_workspace


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    "workspace_path",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Thư mục kho làm việc (mặc định: $MOTCUA_WORKSPACE, rồi thư mục hiện tại).",
)
@click.option("--as", "login", envvar="MOTCUA_USER", default=None, metavar="TÊN_ĐĂNG_NHẬP",
              help="Cán bộ thực hiện (tên đăng nhập; hoặc biến môi trường MOTCUA_USER). "
                   "Mặc định: tài khoản hệ điều hành đang chạy lệnh.")
@click.option("--verbose", "-v", is_flag=True, help="In thêm nhật ký kỹ thuật (tiếng Anh).")
@click.version_option(package_name="motcua")
@click.pass_context
def main(ctx: click.Context, workspace_path: Path | None, login: str | None,
         verbose: bool) -> None:
    """motcua: số hóa, lưu trữ và tra cứu hồ sơ thủ tục hành chính của Bộ phận Một cửa."""
    root = logging.getLogger()
    if verbose:
        logging.basicConfig(level=logging.DEBUG,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    elif not root.handlers:
        # No console handler: technical lines (English) go to the workspace's log file
        # once the workspace is known; the NullHandler keeps Python's last-resort
        # handler from printing warnings on the clerk's screen.
        root.addHandler(logging.NullHandler())
        root.setLevel(logging.WARNING)
    obj = ctx.ensure_object(dict)
    obj["workspace_path"] = workspace_path
    obj["login"] = login
    obj["verbose"] = verbose


@command()
@click.argument("directory", metavar="THƯ_MỤC",
                type=click.Path(path_type=Path, file_okay=False), default=".")
def init(directory: Path) -> None:
    """Tạo kho làm việc mới trong THƯ_MỤC (mặc định: thư mục hiện tại)."""
    existed = (directory / CONFIG_NAME).exists()
    ws = init_workspace(directory)
    if existed:
        click.echo(f"Kho làm việc đã có tại {ws.root}: giữ nguyên cấu hình và dữ liệu.")
    else:
        click.echo(f"Đã tạo kho làm việc tại {ws.root}")
    click.echo(f"  Thư mục nhận tệp quét: {ws.inbox}")
    click.echo(f"  Cấu hình: {ws.config_path}")


main.add_command(init)
for _module in (intake, documents, counter, _forms, issued, reports, integrity, users, serve,
                tokens, workers):
    for _cmd in _module.COMMANDS:
        main.add_command(_cmd)

__all__ = ["main"]
