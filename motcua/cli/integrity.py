"""Integrity and data exchange: verify, audit, export, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from motcua import labels
from motcua.cli._base import (
    Context,
    command,
    group,
    json_option,
    print_json,
    with_context,
)
from motcua.errors import ExitCode, UserError


@command()
@click.option("--sample", "sample_percent", type=click.FloatRange(0, 100, min_open=True),
              default=100.0, show_default=True, help="Kiểm tra ngẫu nhiên PERCENT % số tệp.")
@click.option("--history", "show_history", is_flag=True, help="Xem các lần kiểm tra trước.")
@json_option
@with_context
def verify(sc: Context, sample_percent: float, show_history: bool, as_json: bool) -> None:
    """Kiểm tra tính toàn vẹn các tệp trong kho (tính lại SHA-256)."""
    from motcua.archive.fixity import history, verify_store

    ws = sc.ws
    conn = sc.conn
    if show_history:
        runs = history(conn)
        if as_json:
            print_json(runs)
        for r in [] if as_json else runs:
            click.echo(f"#{r['id']} {labels.vi_datetime(str(r['started_at']), sc.zone)}  "
                       f"{r['sample_percent']:g}%  "
                       f"{r['files_checked']} tệp  thiếu {r['missing']}  hỏng {r['corrupt']}"
                       f"  thừa {r['orphaned']}")
        return
    report = verify_store(ws, conn, sample_percent, sc.audit_name)
    if as_json:
        print_json({"run_id": report.run_id, "files_checked": report.files_checked,
                    "problems": [p.__dict__ for p in report.problems]})
    else:
        for p in report.problems:
            click.echo(f"{labels.FIXITY_PROBLEMS[p.kind]}: {p.path}"
                       + (f" (tài liệu #{p.document_id})" if p.document_id else ""))
        click.echo(f"Đã kiểm tra {report.files_checked} tệp: thiếu {report.count('missing')}, "
                   f"hỏng {report.count('corrupt')}, thừa {report.count('orphaned')}.")
    if not report.ok:
        sys.exit(ExitCode.PROBLEMS_FOUND)


@group()
def audit() -> None:
    """Nhật ký kiểm tra (chỉ ghi thêm, nối chuỗi băm)."""


@audit.command("verify")
@with_context
def audit_verify(sc: Context) -> None:
    """Kiểm tra nhật ký không bị sửa hoặc xóa."""
    from motcua.archive import audit as audit_log

    conn = sc.conn
    problems = audit_log.verify(conn)
    count = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    for p in problems:
        click.secho(p.message, fg="red")
    if problems:
        click.echo(f"Nhật ký KHÔNG toàn vẹn: {len(problems)} vấn đề.")
        sys.exit(ExitCode.PROBLEMS_FOUND)
    click.echo(f"Nhật ký toàn vẹn: {count} mục, chuỗi băm khớp.")


@audit.command("log")
@click.option("--subject", default=None, help="Ví dụ document:12, dossier:<mã>, owner:<mã>.")
@json_option
@with_context
def audit_log_cmd(sc: Context, subject: str | None, as_json: bool) -> None:
    """Xem nhật ký."""
    from motcua.archive import audit as audit_log

    conn = sc.conn
    rows = audit_log.entries(conn, subject)
    if as_json:
        print_json([e.__dict__ for e in rows])
        return
    for e in rows:
        click.echo(f"{e.seq:>6} {e.at}  {e.action:<14} {e.subject:<40} {e.actor}")


@command("export")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--owner", "owner_id", default=None, help="Xuất dữ liệu của một chủ sở hữu.")
@click.option("--dossier", "dossier_code", default=None, help="Xuất một hồ sơ.")
@click.option("--all", "everything", is_flag=True, help="Xuất toàn bộ kho.")
@with_context
def export_cmd(sc: Context, out: Path, owner_id: str | None, dossier_code: str | None,
               everything: bool) -> None:
    """Xuất gói BagIt (tệp + metadata.json) vào thư mục OUT."""
    from motcua.archive.bags import export_bag

    if sum(x is not None and x is not False for x in (owner_id, dossier_code, everything)) != 1:
        raise UserError("Chọn đúng một trong --owner, --dossier hoặc --all.", "bad scope")
    ws = sc.ws
    conn = sc.conn
    done = export_bag(ws, conn, out, sc.audit_name, owner=owner_id, dossier=dossier_code)
    click.echo(f"Đã xuất {done.documents} tài liệu, {done.files} tệp, {done.dossiers} hồ sơ, "
               f"{done.owners} chủ sở hữu vào {done.path}")


@command("import")
@click.argument("bag", type=click.Path(path_type=Path, file_okay=False, exists=True))
@with_context
def import_cmd(sc: Context, bag: Path) -> None:
    """Nhập gói BagIt (kiểm tra mọi mã SHA-256 trước khi nhận)."""
    from motcua.archive.bags import import_bag

    ws = sc.ws
    conn = sc.conn
    done = import_bag(ws, conn, bag, sc.audit_name)
    click.echo(f"Đã nhập {done.documents} tài liệu mới ({done.skipped_documents} đã có), "
               f"{done.dossiers} hồ sơ, {done.owners} chủ sở hữu; {done.files} tệp.")


COMMANDS: list[Any] = [verify, audit, export_cmd, import_cmd]
