"""serve: the staff web page."""

from __future__ import annotations

from typing import Any

import click

from motcua.cli._base import command, get_workspace
from motcua.errors import UserError


@command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe. Giữ 127.0.0.1, hoặc mở trong mạng nội bộ của trung tâm "
                   "kèm TLS (--certfile/--keyfile hoặc máy chủ trung gian).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Cổng lắng nghe.")
@click.option("--allow-host", "allow_hosts", multiple=True,
              help="Tên máy hoặc địa chỉ khác được dùng để mở trang (có thể lặp lại).")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Chứng chỉ TLS (PEM): phục vụ qua HTTPS.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Khóa riêng của chứng chỉ TLS (PEM).")
@click.option("--behind-proxy", is_flag=True,
              help="Chạy sau máy chủ trung gian (Caddy, nginx) trên cùng máy: tin tiêu đề "
                   "X-Forwarded-For/-Proto từ 127.0.0.1.")
def serve(host: str, port: int, allow_hosts: tuple[str, ...], certfile: str | None,
          keyfile: str | None, behind_proxy: bool) -> None:
    """Mở trang tra cứu cho cán bộ (đăng nhập, tìm kiếm, tài liệu, hồ sơ, tài khoản)."""
    import uvicorn

    from motcua.web import allowed_hosts_for, create_app, is_loopback

    if bool(certfile) != bool(keyfile):
        raise UserError("Cần cả --certfile và --keyfile để bật HTTPS.", "tls half-configured")
    ws = get_workspace()
    app = create_app(ws, allowed_hosts=allowed_hosts_for(host, allow_hosts))
    tls = bool(certfile)
    if not is_loopback(host) and not tls:
        click.secho("Cảnh báo: trang đang mở trong mạng mà không có HTTPS; mật khẩu và dữ liệu "
                    "đi qua mạng không được mã hóa. Hãy dùng --certfile/--keyfile hoặc máy chủ "
                    "trung gian (xem README).", fg="yellow", err=True)
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    click.echo(f"Trang tra cứu đang chạy tại {scheme}://{shown}:{port}/ — nhấn Ctrl+C để dừng.")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False,
                proxy_headers=behind_proxy, forwarded_allow_ips="127.0.0.1",
                ssl_certfile=certfile, ssl_keyfile=keyfile)
    click.echo("Đã dừng trang tra cứu.")


COMMANDS: list[Any] = [serve]
