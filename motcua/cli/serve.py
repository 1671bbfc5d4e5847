"""serve: the staff web page."""

from __future__ import annotations

from typing import Any

import click

from motcua.cli._base import command, get_workspace


@command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe. Trang không có đăng nhập: giữ 127.0.0.1, hoặc chỉ mở "
                   "trong mạng nội bộ của trung tâm.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Cổng lắng nghe.")
@click.option("--allow-host", "allow_hosts", multiple=True,
              help="Tên máy hoặc địa chỉ khác được dùng để mở trang (có thể lặp lại).")
def serve(host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Mở trang tra cứu cho cán bộ (tìm kiếm, tài liệu, hồ sơ, tình trạng tiếp nhận)."""
    import uvicorn

    from motcua.web import allowed_hosts_for, create_app, is_loopback

    ws = get_workspace()
    app = create_app(ws, allowed_hosts=allowed_hosts_for(host, allow_hosts))
    if not is_loopback(host):
        click.secho("Cảnh báo: trang tra cứu không có đăng nhập. Chỉ mở trong mạng nội bộ của "
                    "trung tâm, không để lộ ra Internet.", fg="yellow", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Trang tra cứu đang chạy tại http://{shown}:{port}/ — nhấn Ctrl+C để dừng.")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False,
                proxy_headers=False)
    click.echo("Đã dừng trang tra cứu.")


COMMANDS: list[Any] = [serve]
