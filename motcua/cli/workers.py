"""worker: an OCR machine of a Celery cluster."""

from __future__ import annotations

from typing import Any

import click

from motcua.cli._base import command
from motcua.workspace import find_workspace


@command()
@click.option("--concurrency", "-c", type=click.IntRange(1, 256), default=None,
              help="Số tệp nhận dạng cùng lúc (mặc định: số nhân CPU của máy).")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None) -> None:
    """Chạy máy nhận dạng chữ: nhận việc OCR từ hàng đợi Redis ([workers] trong
    motcua.toml) cho kho làm việc dùng chung (Ctrl+C để dừng)."""
    from motcua.services.workers import WorkerSettings, run_worker

    obj = ctx.find_root().ensure_object(dict)
    # Not get_workspace(): many machines share this workspace, and its log file is the
    # coordinator's; a worker logs to its own standard error (the journal).
    ws = find_workspace(obj.get("workspace_path"))

    def started(settings: WorkerSettings) -> None:
        click.echo(f"Máy nhận dạng chữ đang chạy: {settings.concurrency} tiến trình, hàng đợi "
                   f"{settings.broker_url}, kho {settings.workspace} — nhấn Ctrl+C để dừng.")

    run_worker(ws, concurrency=concurrency, verbose=bool(obj.get("verbose")), started=started)
    click.echo("Đã dừng máy nhận dạng chữ.")


COMMANDS: list[Any] = [worker]
