"""Integrity and data exchange: verify, audit, export, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from motcua.cli._base import Context, command, group, json_option, print_json, with_context
from motcua.errors import ExitCode


@command()
@click.option("--sample", "sample_percent", type=click.FloatRange(0, 100, min_open=True),
              default=100.0, show_default=True, help="Kiểm tra ngẫu nhiên PERCENT % số tệp.")
@click.option("--history", "show_history", is_flag=True, help="Xem các lần kiểm tra trước.")
@json_option
@with_context
def verify(sc: Context, sample_percent: float, show_history: bool, as_json: bool) -> None:
    """Kiểm tra tính toàn vẹn các tệp trong kho (tính lại SHA-256)."""
    from motcua.services import integrity

    if show_history:
        runs = integrity.fixity_history(sc).runs
        if as_json:
            print_json([{k: v for k, v in r.items() if k != "started_at_local"}
                        for r in runs])
            return
        for r in runs:
            click.echo(f"#{r['id']} {r['started_at_local']}  {r['sample_percent']:g}%  "
                       f"{r['files_checked']} tệp  thiếu {r['missing']}  hỏng {r['corrupt']}"
                       f"  thừa {r['orphaned']}")
        return
    report = integrity.verify_store(sc, sample_percent)
    if as_json:
        print_json(report)
    else:
        for p in report.problems:
            click.echo(f"{p['kind_label']}: {p['path']}"
                       + (f" (tài liệu #{p['document_id']})" if p["document_id"] else ""))
        click.echo(f"Đã kiểm tra {report.files_checked} tệp: thiếu {report.missing}, "
                   f"hỏng {report.corrupt}, thừa {report.orphaned}.")
    if not report.ok:
        sys.exit(ExitCode.PROBLEMS_FOUND)


@group()
def audit() -> None:
    """Nhật ký kiểm tra (chỉ ghi thêm, nối chuỗi băm)."""


@audit.command("verify")
@json_option
@with_context
def audit_verify(sc: Context, as_json: bool) -> None:
    """Kiểm tra nhật ký không bị sửa hoặc xóa."""
    from motcua.services import integrity

    check = integrity.verify_audit(sc)
    if as_json:
        print_json(check)
    else:
        for p in check.problems:
            click.secho(p["message"], fg="red")
        if check.problems:
            click.echo(f"Nhật ký KHÔNG toàn vẹn: {len(check.problems)} vấn đề.")
        else:
            click.echo(f"Nhật ký toàn vẹn: {check.entries} mục, chuỗi băm khớp.")
    if not check.ok:
        sys.exit(ExitCode.PROBLEMS_FOUND)


@audit.command("log")
@click.option("--subject", default=None, help="Ví dụ document:12, dossier:<mã>, owner:<mã>.")
@json_option
@with_context
def audit_log_cmd(sc: Context, subject: str | None, as_json: bool) -> None:
    """Xem nhật ký (giờ của trung tâm)."""
    from motcua.services import integrity

    rows = integrity.audit_log(sc, subject).entries
    if as_json:
        print_json([{k: v for k, v in e.as_dict().items()
                     if k not in ("at_local", "action_label")} for e in rows])
        return
    for e in rows:
        click.echo(f"{e.seq:>6} {e.at_local}  {e.action_label:<24} {e.subject:<40} {e.actor}")


@command("export")
@click.argument("out", metavar="THƯ_MỤC", type=click.Path(path_type=Path, file_okay=False))
@click.option("--owner", "owner_id", default=None, help="Xuất dữ liệu của một chủ sở hữu.")
@click.option("--dossier", "dossier_code", default=None, help="Xuất một hồ sơ.")
@click.option("--all", "everything", is_flag=True, help="Xuất toàn bộ kho.")
@json_option
@with_context
def export_cmd(sc: Context, out: Path, owner_id: str | None, dossier_code: str | None,
               everything: bool, as_json: bool) -> None:
    """Xuất gói BagIt (tệp + metadata.json) vào THƯ_MỤC."""
    from motcua.services import integrity

    done = integrity.export_bag(sc, out, owner_id=owner_id, dossier_code=dossier_code,
                                everything=everything)
    if as_json:
        print_json(done)
        return
    click.echo(f"Đã xuất {done.documents} tài liệu, {done.files} tệp, {done.dossiers} hồ sơ, "
               f"{done.owners} chủ sở hữu vào {done.path}")


@command("import")
@click.argument("bag", metavar="GÓI", type=click.Path(path_type=Path, file_okay=False, exists=True))
@json_option
@with_context
def import_cmd(sc: Context, bag: Path, as_json: bool) -> None:
    """Nhập GÓI BagIt (kiểm tra mọi mã SHA-256 trước khi nhận)."""
    from motcua.services import integrity

    done = integrity.import_bag(sc, bag)
    if as_json:
        print_json(done)
        return
    click.echo(f"Đã nhập {done.documents} tài liệu mới ({done.skipped_documents} đã có), "
               f"{done.dossiers} hồ sơ, {done.owners} chủ sở hữu; {done.files} tệp.")


COMMANDS: list[Any] = [verify, audit, export_cmd, import_cmd]
