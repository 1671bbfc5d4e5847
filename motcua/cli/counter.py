"""The counter: owners, dossiers (new, receive, resolve, import, show, list), procedures,
reuse, overdue."""

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
from motcua.errors import ExitCode, MotcuaError


def _day(value: str | None) -> str:
    return labels.vi_date(value) or "—"


def _dossier_line(d: Any) -> str:
    from motcua.archive.dossiers import CHANNELS

    channel = CHANNELS.get(d.channel or "", d.channel or "")
    return (f"{d.code}  {d.procedure_code or '-'} {d.procedure_name or ''}  "
            f"chủ sở hữu {d.owner_id or '-'}  {channel}  nhận {(d.received_at or '')[:10]}")


@group()
def owner() -> None:
    """Chủ sở hữu dữ liệu: công dân (số định danh cá nhân) hoặc tổ chức (mã số thuế)."""


@owner.command("add")
@click.argument("owner_id")
@click.option("--name", "-n", required=True, help="Họ tên công dân hoặc tên tổ chức.")
@with_context
def owner_add(sc: Context, owner_id: str, name: str) -> None:
    """Thêm chủ sở hữu (kiểm tra mã định danh)."""
    from motcua.archive.owners import KIND_LABELS, add_owner
    from motcua.archive.settings import warehouse_settings

    ws = sc.ws
    conn = sc.conn
    o = add_owner(conn, owner_id, name, sc.audit_name, warehouse_settings(ws).mst_check_digit)
    click.echo(f"Đã ghi chủ sở hữu {o.id} ({KIND_LABELS[o.kind]}): {o.name}")


@owner.command("show")
@click.argument("owner_id")
@json_option
@with_context
def owner_show(sc: Context, owner_id: str, as_json: bool) -> None:
    """Xem chủ sở hữu, hồ sơ và giấy tờ trong kho."""
    from motcua.archive import audit
    from motcua.archive.owners import KIND_LABELS, owner_record

    conn = sc.conn
    rec = owner_record(conn, owner_id)
    audit.record(conn, "view", f"owner:{rec['owner']['id']}", sc.audit_name, {})
    if as_json:
        print_json(rec)
        return
    o = rec["owner"]
    click.echo(f"{o['id']}  {KIND_LABELS[o['kind']]}: {o['name']}")
    click.echo(f"Hồ sơ ({len(rec['dossiers'])}):")
    for d in rec["dossiers"]:
        click.echo(f"  {d['code']}  {d['procedure_code']} {d['procedure_name']}")
    click.echo(f"Giấy tờ trong kho ({len(rec['documents'])}):")
    for doc in rec["documents"]:
        valid = f"hiệu lực đến {doc['valid_to']}" if doc["valid_to"] else "không thời hạn"
        name = doc["name"] or doc["original_name"]
        click.echo(f"  #{doc['id']}  {doc['type_code'] or '-'}  {name}  ({valid})"
                   + (f"  {doc['result_code']}" if doc["result_code"] else ""))


@group()
def dossier() -> None:
    """Hồ sơ thủ tục hành chính."""


def _print_reuse(outcome: Any, catalogue: Any) -> None:
    for c in outcome.attached:
        click.echo(f"  Tái sử dụng: #{c.document_id} {catalogue.type_name(c.type_code)}"
                   + (f" (hiệu lực đến {c.valid_to})" if c.valid_to else ""))
    for c in outcome.proposed:
        click.echo(f"  Đề xuất tái sử dụng: #{c.document_id} {catalogue.type_name(c.type_code)}"
                   f" — xác nhận bằng “motcua reuse attach {c.document_id} --dossier …”")
    if outcome.missing:
        click.echo("  Còn thiếu: " + "; ".join(catalogue.type_name(t) for t in outcome.missing))
    else:
        click.echo("  Đã đủ thành phần hồ sơ theo danh mục.")


@dossier.command("new")
@click.option("--procedure", "-p", "procedure_code", required=True, help="Mã thủ tục.")
@click.option("--owner", "-o", "owner_id", required=True, help="Mã định danh chủ sở hữu.")
@click.option("--channel", "-c", type=click.Choice(["online", "direct", "post"]),
              default="direct", show_default=True, help="Kênh tiếp nhận.")
@click.option("--code", default=None, help="Mã hồ sơ có sẵn (mặc định: cấp tự động).")
@json_option
@with_context
def dossier_new(sc: Context, procedure_code: str, owner_id: str, channel: str,
                code: str | None, as_json: bool) -> None:
    """Tạo hồ sơ mới; tự động tái sử dụng giấy tờ còn hiệu lực của chủ sở hữu."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.dossiers import new_dossier
    from motcua.archive.settings import warehouse_settings

    ws = sc.ws
    catalogue = load_catalogue(ws)
    conn = sc.conn
    made = new_dossier(ws, conn, catalogue, procedure_code=procedure_code,
                       owner_id=owner_id, channel=channel, actor=sc.audit_name,
                       auto_reuse_mode=warehouse_settings(ws).auto_reuse, code=code)
    if as_json:
        print_json({"dossier": made.dossier.as_dict(), "reuse": {
            "mode": made.reuse.mode,
            "attached": [c.as_dict() for c in made.reuse.attached],
            "proposed": [c.as_dict() for c in made.reuse.proposed],
            "missing": list(made.reuse.missing)}})
        return
    click.echo(f"Đã tạo hồ sơ {made.dossier.code}: {made.dossier.procedure_name}")
    _print_reuse(made.reuse, catalogue)


@dossier.command("show")
@click.argument("code")
@json_option
@with_context
def dossier_show(sc: Context, code: str, as_json: bool) -> None:
    """Xem hồ sơ: giấy tờ, giấy tờ tái sử dụng, thành phần còn thiếu."""
    from motcua.archive import audit
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.dossiers import dossier_record

    ws = sc.ws
    catalogue = load_catalogue(ws)
    conn = sc.conn
    rec = dossier_record(conn, catalogue, code)
    audit.record(conn, "view", f"dossier:{code}", sc.audit_name, {})
    if as_json:
        print_json(rec)
        return
    d = rec["dossier"]
    click.echo(f"Hồ sơ {d['code']}")
    click.echo(f"  Thủ tục: {d['procedure_code'] or '-'} {d['procedure_name'] or ''}")
    click.echo(f"  Lĩnh vực: {d['field'] or '-'}   Kênh: {d['channel'] or '-'}")
    click.echo(f"  Chủ sở hữu: {d['owner_id'] or '-'}   Ngày nhận: {d['received_at'] or '-'}")
    click.echo(f"  Tài liệu ({len(rec['documents'])}):")
    for doc in rec["documents"]:
        label = doc["result_code"] or catalogue.type_name(doc["type_code"] or "-")
        click.echo(f"    #{doc['id']}  {label}  {doc['name'] or doc['original_name']}")
    for r in rec["reused"]:
        status = "đã gắn" if r["status"] == "attached" else "đề xuất"
        click.echo(f"    #{r['document_id']}  tái sử dụng ({status}): "
                   f"{catalogue.type_name(r['type_code'] or '-')}")
    if rec["missing_types"]:
        click.echo("  Còn thiếu: " + "; ".join(catalogue.type_name(t)
                                             for t in rec["missing_types"]))


@dossier.command("list")
@click.option("--owner", "-o", "owner_id", default=None, help="Lọc theo chủ sở hữu.")
@click.option("--procedure", "-p", "procedure_code", default=None, help="Lọc theo thủ tục.")
@json_option
@with_context
def dossier_list(sc: Context, owner_id: str | None, procedure_code: str | None,
                 as_json: bool) -> None:
    """Liệt kê hồ sơ."""
    from motcua.archive.dossiers import list_dossiers

    conn = sc.conn
    rows = list_dossiers(conn, owner_id, procedure_code)
    if as_json:
        print_json([d.as_dict() for d in rows])
        return
    for d in rows:
        click.echo(_dossier_line(d))
    click.echo(f"Tổng cộng: {len(rows)} hồ sơ")


@group()
def procedures() -> None:
    """Danh mục thủ tục hành chính (procedures.toml trong kho làm việc)."""


@procedures.command("list")
@json_option
@with_context
def procedures_list(sc: Context, as_json: bool) -> None:
    """Liệt kê thủ tục: mã, tên, lĩnh vực, thời hạn, thành phần hồ sơ."""
    from motcua.archive.catalogue import load_catalogue

    ws = sc.ws
    catalogue = load_catalogue(ws)
    if as_json:
        print_json({"procedures": [p.as_dict() for p in catalogue.procedures],
                    "document_types": catalogue.document_types})
        return
    for p in catalogue.procedures:
        click.echo(f"{p.code}  {p.name}  [{p.field}]  {p.processing_days} ngày làm việc")
        for t in p.requires:
            mark = " (tái sử dụng được)" if t in p.reusable else ""
            click.echo(f"    - {catalogue.type_name(t)} [{t}]{mark}")


@group()
def reuse() -> None:
    """Tái sử dụng giấy tờ đã số hóa."""


@reuse.command("find")
@click.option("--owner", "-o", "owner_id", required=True, help="Mã định danh chủ sở hữu.")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ.")
@json_option
@with_context
def reuse_find(sc: Context, owner_id: str, type_code: str | None, as_json: bool) -> None:
    """Giấy tờ còn hiệu lực của chủ sở hữu."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.owners import get_owner
    from motcua.archive.reuse import find_valid

    ws = sc.ws
    catalogue = load_catalogue(ws)
    conn = sc.conn
    get_owner(conn, owner_id)
    found = find_valid(conn, owner_id.strip(), type_code)
    if as_json:
        print_json([c.as_dict() for c in found])
        return
    if not found:
        click.echo("Không có giấy tờ nào còn hiệu lực.")
    for c in found:
        valid = f"hiệu lực đến {c.valid_to}" if c.valid_to else "không thời hạn"
        click.echo(f"#{c.document_id}  {catalogue.type_name(c.type_code)}  {c.name or ''}"
                   f"  {c.number_symbol or ''}  ({valid})")


@reuse.command("attach")
@click.argument("doc_ref")
@click.option("--dossier", "-d", "dossier_code", required=True, help="Mã hồ sơ mới.")
@with_context
def reuse_attach(sc: Context, doc_ref: str, dossier_code: str) -> None:
    """Gắn một giấy tờ trong kho vào hồ sơ, không cần quét lại."""
    from motcua.archive.documents import resolve_document
    from motcua.archive.reuse import attach

    conn = sc.conn
    r = attach(conn, resolve_document(conn, doc_ref), dossier_code, sc.audit_name)
    click.echo(f"Đã gắn tài liệu #{r.document_id} vào hồ sơ {r.dossier_code} (tái sử dụng).")




@dossier.command("receive")
@click.option("--procedure", "-p", "procedure_code", required=True, help="Mã thủ tục.")
@click.option("--owner", "-o", "owner_id", required=True,
              help="Mã định danh chủ hồ sơ (số định danh cá nhân / mã số thuế).")
@click.option("--channel", "-c", type=click.Choice(["online", "direct", "post"]),
              required=True, help="Kênh tiếp nhận: trực tuyến, trực tiếp, bưu chính.")
@click.option("--at", "at_text", default=None,
              help="Thời điểm tiếp nhận (nhập bù hồ sơ giấy), ví dụ “2025-07-16 08:30”.")
@click.option("--code", default=None, help="Mã hồ sơ có sẵn (mặc định: cấp tự động).")
@click.option("--no-print", is_flag=True, help="Không in Giấy tiếp nhận (Mẫu 01).")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX của Mẫu 01, không tạo PDF/A.")
@click.option("--json", "as_json", is_flag=True, help="In hồ sơ vừa tiếp nhận dạng JSON.")
@with_context
def dossier_receive(sc: Context, procedure_code: str, owner_id: str, channel: str,
                    at_text: str | None, code: str | None, no_print: bool, no_pdf: bool,
                    as_json: bool) -> None:
    """Tiếp nhận hồ sơ tại Bộ phận Một cửa: cấp mã, tính ngày hẹn trả, in Mẫu 01."""
    from motcua.archive import lifecycle as lc
    from motcua.archive.settings import warehouse_settings
    from motcua.reports.forms import print_receipt

    ws = sc.ws
    catalogue, calendar = sc.catalogue, sc.calendar
    at = lc.parse_datetime(at_text, "--at") if at_text else None
    conn = sc.conn
    got = lc.receive(ws, conn, catalogue, calendar, procedure_code=procedure_code,
                     owner_id=owner_id, channel=channel, actor=sc.audit_name, at=at,
                     code=code, auto_reuse_mode=warehouse_settings(ws).auto_reuse)
    receipt = None if no_print else print_receipt(ws, conn, catalogue, got.record.code,
                                                  pdf=not no_pdf)
    rec = got.record
    if as_json:
        data = rec.as_dict()
        data["reuse"] = {"attached": [c.as_dict() for c in got.reuse.attached],
                         "proposed": [c.as_dict() for c in got.reuse.proposed],
                         "missing": list(got.reuse.missing)}
        data["receipt"] = None if receipt is None else {
            "docx": str(receipt.docx), "pdf": str(receipt.pdf) if receipt.pdf else None}
        print_json(data)
        return
    settings = lc.lifecycle_settings(ws)
    click.echo(f"Đã tiếp nhận hồ sơ {rec.code}: {rec.procedure_name}")
    click.echo(f"  Chủ hồ sơ: {rec.owner_name} ({rec.owner_id})")
    click.echo(f"  Thời điểm tiếp nhận: {lc.parse_datetime(rec.received_at or ''):%H:%M %d/%m/%Y}")
    click.echo(f"  Thời hạn giải quyết: {rec.processing_days} ngày làm việc")
    click.echo(f"  Hẹn trả kết quả: {settings.return_time} ngày {_day(rec.due_date)}")
    _print_reuse(got.reuse, catalogue)
    if receipt is not None:
        click.echo(f"  Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01): "
                   f"{receipt.pdf or receipt.docx}" + ("" if receipt.pdf is None
                                                       else " (sẵn sàng ký số)"))


@dossier.command("resolve")
@click.argument("code")
@click.option("--result", "result_file", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Tệp kết quả giải quyết (thường là PDF đã ký số).")
@click.option("--at", "at_text", default=None,
              help="Thời điểm có kết quả, ví dụ “2025-07-18 15:00” (mặc định: bây giờ).")
@click.option("--no-stamp", is_flag=True, help="Không tạo bản đóng dấu “KẾT QUẢ ĐIỆN TỬ”.")
@json_option
@with_context
def dossier_resolve(sc: Context, code: str, result_file: Path, at_text: str | None,
                    no_stamp: bool, as_json: bool) -> None:
    """Ghi nhận kết quả giải quyết hồ sơ: trước hạn, đúng hạn hay quá hạn."""
    from motcua.archive import lifecycle as lc

    ws = sc.ws
    at = lc.parse_datetime(at_text, "--at") if at_text else None
    conn = sc.conn
    done = lc.resolve(ws, conn, code, result_file, sc.audit_name, at)
    if not no_stamp and result_file.suffix.lower() == ".pdf":
        from motcua.archive.stamp import stamp_document

        try:
            stamp_document(ws, conn, done.document_id)
        except MotcuaError as exc:
            click.secho(f"Cảnh báo: chưa tạo được bản đóng dấu “KẾT QUẢ ĐIỆN TỬ” "
                        f"({exc.message}).", fg="yellow", err=True)
    _index_quietly(sc, done.document_id)
    rec = done.record
    if as_json:
        print_json(rec.as_dict() | {"result_code": done.result_code,
                                    "document_id": done.document_id})
        return
    colour = {"early": "green", "on_time": "green", "late": "red"}[done.outcome]
    click.echo(f"Đã ghi nhận kết quả {done.result_code} cho hồ sơ {rec.code}.")
    click.echo(f"  Hẹn trả: {_day(rec.due_date)}; có kết quả: {_day(rec.resolved_on)}")
    click.secho(f"  Kết quả: {lc.OUTCOME_VI[done.outcome]}", fg=colour)
    if done.outcome == "late":
        click.echo("  Hồ sơ quá hạn: cần văn bản xin lỗi (Mẫu 04) nếu chưa có.")


@dossier.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--mapping", "-m", "mapping_file", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Tệp ánh xạ cột (TOML), xem examples/import-mapping.toml.")
@json_option
@with_context
def dossier_import_cmd(sc: Context, csv_file: Path, mapping_file: Path,
                       as_json: bool) -> None:
    """Nhập hồ sơ từ tệp CSV xuất từ Hệ thống thông tin giải quyết TTHC của tỉnh."""
    from motcua.archive.dossier_import import import_csv, load_mapping

    catalogue, calendar = sc.catalogue, sc.calendar
    mapping = load_mapping(mapping_file)
    conn = sc.conn
    rep = import_csv(conn, csv_file, mapping, catalogue, calendar, sc.audit_name)
    if as_json:
        print_json(rep.as_dict())
    else:
        click.echo(f"Thêm mới {len(rep.inserted)} hồ sơ, cập nhật {len(rep.updated)}, "
                   f"không đổi {len(rep.unchanged)}, dòng lỗi {len(rep.bad)}.")
        for bad in rep.bad:
            click.secho(f"  Dòng {bad.line}" + (f" ({bad.code})" if bad.code else "")
                        + f": {bad.reason}", fg="red")
    if rep.bad:
        sys.exit(ExitCode.PROBLEMS_FOUND)


@command("overdue")
@click.option("--letters", is_flag=True,
              help="Tạo văn bản xin lỗi (Mẫu 04) cho hồ sơ quá hạn chưa có văn bản.")
@click.option("--on", "on_text", default=None, help="Xét quá hạn tại ngày này (mặc định: hôm nay).")
@click.option("--reason", default=None, help="Lý do chậm ghi trong văn bản xin lỗi.")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Số ngày làm việc gia hạn (ngày hẹn trả mới).")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX của Mẫu 04, không tạo PDF/A.")
@json_option
@with_context
def overdue_cmd(sc: Context, letters: bool, on_text: str | None, reason: str | None,
                days: int | None, no_pdf: bool, as_json: bool) -> None:
    """Liệt kê hồ sơ đang giải quyết đã quá ngày hẹn trả."""
    from motcua.archive import lifecycle as lc
    from motcua.reports.forms import issue_apology_letters
    from motcua.reports.periods import parse_day

    ws = sc.ws
    catalogue, calendar = sc.catalogue, sc.calendar
    # today on the centre's wall clock ([warehouse] timezone), not the machine's
    today = parse_day(on_text, "Ngày xét") if on_text else lc.local_today(ws)
    conn = sc.conn
    lc.sync_lifecycle(conn, catalogue, calendar)
    late = lc.overdue(conn, today)
    letters_out: list[Any] = []
    skipped: list[str] = []
    if letters:
        letters_out, skipped = issue_apology_letters(
            ws, conn, calendar, today, sc.audit_name, reason=reason, extension_days=days,
            pdf=not no_pdf)
    has_letter = {r.code: lc.get_apology(conn, r.code) for r in late}
    if as_json:
        print_json({"on": today.isoformat(),
                    "overdue": [r.as_dict() | {"days_late": r.days_late(today),
                                               "apology": a.as_dict() if a else None}
                                for r in late for a in [has_letter[r.code]]],
                    "letters": [x.__dict__ for x in letters_out], "already_had": skipped})
        return
    if not late:
        click.echo(f"Không có hồ sơ quá hạn tính đến ngày {today:%d/%m/%Y}.")
        return
    click.echo(f"{len(late)} hồ sơ quá hạn tính đến ngày {today:%d/%m/%Y}:")
    for r in late:
        apology = has_letter[r.code]
        note = (f"đã xin lỗi ngày {_day(apology.issued_on)}" if apology and apology.done
                else "văn bản xin lỗi chưa tạo xong" if apology else "chưa xin lỗi")
        click.echo(f"  {r.code}  {r.procedure_name}  {r.owner_name or r.owner_id}  "
                   f"hẹn {_day(r.due_date)}  quá {r.days_late(today)} ngày  ({note})")
    if letters:
        click.echo(f"Đã tạo {len(letters_out)} văn bản xin lỗi (Mẫu 04); "
                   f"{len(skipped)} hồ sơ đã có văn bản từ trước, không tạo lại.")
        for x in letters_out:
            click.echo(f"  {x.dossier_code}: hẹn trả mới {_day(x.new_due)}  "
                       f"{x.pdf or x.docx}")


def _index_quietly(sc: Context, document_id: int) -> None:
    from motcua.archive.indexing import index_documents

    index_documents(sc.ws, sc.conn, [document_id])


COMMANDS: list[Any] = [owner, dossier, procedures, reuse, overdue_cmd]
