"""Intake: ingest, watch, status."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from motcua import labels
from motcua.cli._base import Context, command, get_workspace, json_option, print_json, with_context
from motcua.errors import ExitCode


def _verbose() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def print_outcome(outcome: Any) -> None:
    """One line per file the pipeline finished, coloured by how it ended."""
    colour = {"done": "green", "duplicate": "yellow", "quarantined": "red",
              "refused": "red", "retry": "yellow"}.get(outcome.state)
    click.secho(f"[{labels.label(labels.INTAKE_STATES, outcome.state)}] {outcome.source}",
                fg=colour)
    click.echo(f"    {outcome.message}")


def _summary(outcomes: list[Any]) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    parts = [f"{n} {labels.label(labels.INTAKE_STATES, state)}"
             for state, n in sorted(counts.items())]
    return f"Tổng cộng {len(outcomes)} tệp: " + (", ".join(parts) if parts else "không có tệp nào")


@command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True))
@json_option
def ingest(paths: tuple[Path, ...], as_json: bool) -> None:
    """Số hóa các tệp hoặc thư mục PATHS (mỗi tệp một lần).

    Tệp trong thư mục nhận (inbox) được lấy đi sau khi lưu trữ xong; tệp ở nơi khác
    được giữ nguyên tại chỗ.
    """
    from motcua.ingest import expand, ingest_paths
    from motcua.ingest.logs import setup_logging
    from motcua.ingest.progress import batch_progress

    ws = get_workspace()
    setup_logging(ws, verbose=_verbose())
    if as_json:
        outcomes = ingest_paths(ws, list(paths))
    else:
        # A bar in a terminal, numbered plain lines otherwise.
        with batch_progress(sum(1 for _ in expand(paths))) as report:
            outcomes = ingest_paths(ws, list(paths), progress=report)
    if as_json:
        print_json([o.__dict__ for o in outcomes])
    else:
        click.echo(_summary(outcomes))
    if any(o.state in ("quarantined", "refused", "retry") for o in outcomes):
        sys.exit(ExitCode.PROBLEMS_FOUND)


@command()
@click.option("--poll/--no-poll", default=None,
              help="Dò thư mục định kỳ thay vì chờ sự kiện (dùng cho thư mục mạng); "
                   "mặc định theo khóa ingest.poll.")
@click.option("--stable-seconds", type=float, default=None,
              help="Chỉ nhận tệp đã không đổi trong số giây này (mặc định: ingest.stable_seconds).")
@click.option("--rescan-minutes", type=float, default=None,
              help="Quét lại toàn bộ thư mục nhận sau mỗi số phút này "
                   "(mặc định: ingest.rescan_minutes).")
@click.option("--incomplete-grace", type=float, default=None,
              help="Tệp PDF/ảnh còn thiếu phần cuối được chờ thêm tối đa số giây này "
                   "trước khi xử lý (mặc định 120).")
@click.option("--until-idle", is_flag=True,
              help="Thoát (mã 0) khi thư mục nhận trống và không còn tệp nào đang chờ.")
def watch(poll: bool | None, stable_seconds: float | None, rescan_minutes: float | None,
          incomplete_grace: float | None, until_idle: bool) -> None:
    """Theo dõi thư mục nhận và số hóa mọi tệp được đặt vào (Ctrl+C để dừng)."""
    from motcua.ingest.logs import setup_logging
    from motcua.ingest.watch import DEFAULT_INCOMPLETE_GRACE, Watcher

    ws = get_workspace()
    log_file = setup_logging(ws, verbose=_verbose())
    watcher = Watcher(
        ws, poll=poll, stable_seconds=stable_seconds, rescan_minutes=rescan_minutes,
        incomplete_grace=DEFAULT_INCOMPLETE_GRACE if incomplete_grace is None
        else incomplete_grace,
        until_idle=until_idle, progress=print_outcome)
    mode = "dò định kỳ (thư mục mạng)" if watcher.poll else "sự kiện hệ thống"
    click.echo(f"Đang theo dõi {ws.inbox} ({mode}) — nhấn Ctrl+C để dừng. Nhật ký: {log_file}")
    watcher.run()
    click.echo("Đã dừng theo dõi.")


@command()
@json_option
@click.option("--recent", default=10, show_default=True,
              help="Số mục gần đây hiển thị (cách ly, thử lại).")
@with_context
def status(sc: Context, as_json: bool, recent: int) -> None:
    """Tình trạng hàng đợi: số tệp theo trạng thái, tốc độ 1 giờ qua, tệp chờ lâu nhất,
    trang cần quét lại, tệp bị cách ly gần đây."""
    from motcua.ingest.status import collect, render_text

    data = collect(sc.ws, sc.conn, recent=recent)
    if as_json:
        print_json(data)
        return
    for line in render_text(data):
        click.echo(line)


COMMANDS: list[Any] = [ingest, watch, status]
