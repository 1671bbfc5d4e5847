"""The counter: owners, dossiers (new, receive, resolve, import, show, list), procedures,
reuse, overdue."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from motcua import labels
from motcua.cli._base import (
    Context,
    command,
    group,
    json_option,
    paper_option,
    print_json,
    with_context,
)
from motcua.errors import ExitCode

if TYPE_CHECKING:
    from motcua.services.counter import ReuseSummary


def _day(value: str | None) -> str:
    return labels.vi_date(value) or "—"


@group()
def owner() -> None:
    """Chủ sở hữu dữ liệu: công dân (số định danh cá nhân) hoặc tổ chức (mã số thuế)."""


@owner.command("add")
@click.argument("owner_id", metavar="MÃ_ĐỊNH_DANH")
@click.option("--name", "-n", required=True, help="Họ tên công dân hoặc tên tổ chức.")
@click.option("--address", default=None, help="Địa chỉ (in trên các mẫu một cửa).")
@click.option("--phone", default=None, help="Số điện thoại.")
@json_option
@with_context
def owner_add(sc: Context, owner_id: str, name: str, address: str | None, phone: str | None,
              as_json: bool) -> None:
    """Thêm chủ sở hữu (kiểm tra mã định danh)."""
    from motcua.services import counter, forms

    o = counter.add_owner(sc, owner_id, name)
    if address is not None or phone is not None:
        forms.set_owner_contact(sc, o.id, address=address, phone=phone)
    if as_json:
        print_json(o)
        return
    click.echo(f"Đã ghi chủ sở hữu {o.id} ({o.kind_label}): {o.name}")


@owner.command("rename")
@click.argument("owner_id", metavar="MÃ_ĐỊNH_DANH")
@click.option("--name", "-n", required=True, help="Họ tên đúng của công dân / tên tổ chức.")
@json_option
@with_context
def owner_rename(sc: Context, owner_id: str, name: str, as_json: bool) -> None:
    """Sửa họ tên chủ sở hữu (ghi nhật ký); tìm kiếm theo tên mới ngay."""
    from motcua.services import counter

    o = counter.rename_owner(sc, owner_id, name)
    if as_json:
        print_json(o)
        return
    click.echo(f"Đã sửa tên chủ sở hữu {o.id}: {o.name}")


@owner.command("show")
@click.argument("owner_id", metavar="MÃ_ĐỊNH_DANH")
@json_option
@with_context
def owner_show(sc: Context, owner_id: str, as_json: bool) -> None:
    """Xem chủ sở hữu, hồ sơ và giấy tờ trong kho."""
    from motcua.services import counter

    rec = counter.owner_view(sc, owner_id)
    if as_json:
        print_json(rec)
        return
    o = rec.owner
    click.echo(f"{o['id']}  {o['kind_label']}: {o['name']}")
    click.echo(f"Hồ sơ ({len(rec.dossiers)}):")
    for d in rec.dossiers:
        click.echo(f"  {d['code']}  {d['procedure_code']} {d['procedure_name']}  "
                   f"nhận {d['received_at_local'] or '—'}")
    click.echo(f"Giấy tờ trong kho ({len(rec.documents)}):")
    for doc in rec.documents:
        valid = f"hiệu lực đến {_day(doc['valid_to'])}" if doc["valid_to"] \
            else "không thời hạn"
        name = doc["name"] or doc["original_name"]
        click.echo(f"  #{doc['id']}  {doc['type_code'] or '-'}  {name}  ({valid})"
                   + (f"  {doc['result_code']}" if doc["result_code"] else ""))


@group()
def dossier() -> None:
    """Hồ sơ thủ tục hành chính."""


def _print_reuse(reuse: ReuseSummary) -> None:
    for c in reuse.attached:
        click.echo(f"  Tái sử dụng: #{c['document_id']} {c['type_name']}"
                   + (f" (hiệu lực đến {_day(c['valid_to'])})" if c["valid_to"] else ""))
    for c in reuse.proposed:
        click.echo(f"  Đề xuất tái sử dụng: #{c['document_id']} {c['type_name']}"
                   f" — xác nhận bằng “motcua reuse attach {c['document_id']} --dossier …”")
    if reuse.missing:
        click.echo("  Chưa số hóa (chưa có bản điện tử trong kho): "
                   + "; ".join(reuse.missing_names))
    else:
        click.echo("  Đã có bản điện tử của mọi thành phần hồ sơ theo danh mục.")


@dossier.command("new")
@click.option("--procedure", "-p", "procedure_code", required=True, help="Mã thủ tục.")
@click.option("--owner", "-o", "owner_id", required=True, help="Mã định danh chủ sở hữu.")
@click.option("--channel", "-c", type=click.Choice(list(labels.CHANNELS)),
              default="direct", show_default=True, help="Kênh tiếp nhận.")
@click.option("--code", default=None, help="Mã hồ sơ có sẵn (mặc định: cấp tự động).")
@json_option
@with_context
def dossier_new(sc: Context, procedure_code: str, owner_id: str, channel: str,
                code: str | None, as_json: bool) -> None:
    """Tạo hồ sơ mới; tự động tái sử dụng giấy tờ còn hiệu lực của chủ sở hữu."""
    from motcua.services import counter

    made = counter.new_dossier(sc, procedure_code, owner_id, channel, code)
    if as_json:
        print_json(made)
        return
    click.echo(f"Đã tạo hồ sơ {made.dossier['code']}: {made.dossier['procedure_name']}")
    _print_reuse(made.reuse)


@dossier.command("show")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@json_option
@with_context
def dossier_show(sc: Context, code: str, as_json: bool) -> None:
    """Xem hồ sơ: giấy tờ, giấy tờ tái sử dụng, thành phần còn thiếu."""
    from motcua.services import counter

    rec = counter.dossier_view(sc, code)
    if as_json:
        print_json(rec)
        return
    click.echo(f"Hồ sơ {rec.code}")
    d = rec.dossier
    if d is not None:
        click.echo(f"  Thủ tục: {d['procedure_code'] or '-'} {d['procedure_name'] or ''}")
        click.echo(f"  Lĩnh vực: {d['field'] or '-'}   Kênh: {d['channel_label'] or '-'}")
        click.echo(f"  Chủ sở hữu: {d['owner_id'] or '-'}   "
                   f"Ngày nhận: {d['received_at_local'] or '-'}")
        if d["due_date"]:
            state = d["outcome_label"] or d["status_label"]
            click.echo(f"  Hẹn trả: {_day(d['due_date'])}   Tình trạng: {state}")
    click.echo(f"  Tài liệu ({len(rec.documents)}):")
    for doc in rec.documents:
        label = doc["result_code"] or sc.catalogue.type_name(doc["type_code"] or "-")
        click.echo(f"    #{doc['id']}  {label}  {doc['name'] or doc['original_name']}")
    for r in rec.reused:
        click.echo(f"    #{r['document_id']}  tái sử dụng ({r['status_label']}): "
                   f"{sc.catalogue.type_name(r['type_code'] or '-')}")
    if rec.missing_types:
        click.echo("  Chưa số hóa (chưa có bản điện tử trong kho): "
                   + "; ".join(rec.missing_names))


@dossier.command("list")
@click.option("--owner", "-o", "owner_id", default=None, help="Lọc theo chủ sở hữu.")
@click.option("--procedure", "-p", "procedure_code", default=None, help="Lọc theo thủ tục.")
@json_option
@with_context
def dossier_list(sc: Context, owner_id: str | None, procedure_code: str | None,
                 as_json: bool) -> None:
    """Liệt kê hồ sơ."""
    from motcua.services import counter

    found = counter.dossier_list(sc, owner_id=owner_id, procedure_code=procedure_code)
    if as_json:
        print_json([d.as_dict() for d in found.dossiers])
        return
    for d in found.dossiers:
        click.echo(f"{d.code}  {d.procedure_code or '-'} {d.procedure_name or ''}  "
                   f"chủ sở hữu {d.owner_id or '-'}  {d.channel_label}  "
                   f"nhận {d.received_at_local or '—'}")
    click.echo(f"Tổng cộng: {len(found.dossiers)} hồ sơ")


@dossier.command("edit")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@click.option("--procedure", "-p", "procedure_code", default=None, help="Mã thủ tục mới.")
@click.option("--owner", "-o", "owner_id", default=None, help="Mã định danh chủ hồ sơ mới.")
@click.option("--channel", "-c", type=click.Choice(list(labels.CHANNELS)), default=None,
              help="Kênh tiếp nhận mới.")
@json_option
@with_context
def dossier_edit(sc: Context, code: str, procedure_code: str | None, owner_id: str | None,
                 channel: str | None, as_json: bool) -> None:
    """Sửa thủ tục, chủ hồ sơ hoặc kênh tiếp nhận của hồ sơ MÃ_HỒ_SƠ (ghi nhật ký, đóng dấu lại)."""
    from motcua.services import counter

    done = counter.edit_dossier(sc, code, procedure_code=procedure_code, owner_id=owner_id,
                                channel=channel)
    if as_json:
        print_json(done)
        return
    for name, (before, after) in done.changes.items():
        click.echo(f"{name}: {before or '—'} → {after}")
    click.echo(f"Đã sửa hồ sơ {done.code}; đóng dấu lại {len(done.restamped)} tài liệu.")


@dossier.command("cancel")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@click.option("--reason", "-r", required=True, help="Lý do hủy hồ sơ.")
@json_option
@with_context
def dossier_cancel(sc: Context, code: str, reason: str, as_json: bool) -> None:
    """Hủy hồ sơ MÃ_HỒ_SƠ chưa giải quyết, ghi lý do (ghi nhật ký)."""
    from motcua.services import counter

    done = counter.cancel_dossier(sc, code, reason)
    if as_json:
        print_json(done)
        return
    click.echo(f"Đã hủy hồ sơ {done.code}. Lý do: {done.reason}")


@dossier.command("merge")
@click.argument("source", metavar="HỒ_SƠ_GỘP")
@click.argument("target", metavar="HỒ_SƠ_GIỮ")
@json_option
@with_context
def dossier_merge(sc: Context, source: str, target: str, as_json: bool) -> None:
    """Gộp hồ sơ HỒ_SƠ_GỘP vào hồ sơ HỒ_SƠ_GIỮ: chuyển tài liệu, giấy tờ tái sử dụng và ghi chú;
    HỒ_SƠ_GỘP bị hủy với lý do "đã gộp" (ghi nhật ký, đóng dấu lại)."""
    from motcua.services import counter

    done = counter.merge_dossiers(sc, source, target)
    if as_json:
        print_json(done)
        return
    numbers = ", ".join(f"#{n}" for n in done.documents) or "không có"
    click.echo(f"Đã gộp hồ sơ {done.source} vào {done.target}; tài liệu chuyển: {numbers}.")


@dossier.command("receive")
@click.option("--procedure", "-p", "procedure_code", required=True, help="Mã thủ tục.")
@click.option("--owner", "-o", "owner_id", required=True,
              help="Mã định danh chủ hồ sơ (số định danh cá nhân / mã số thuế).")
@click.option("--channel", "-c", type=click.Choice(list(labels.CHANNELS)),
              required=True, help="Kênh tiếp nhận: trực tuyến, trực tiếp, bưu chính.")
@click.option("--at", "at_text", default=None,
              help="Thời điểm tiếp nhận (nhập bù hồ sơ giấy), ví dụ “16/07/2025 08:30”.")
@click.option("--code", default=None, help="Mã hồ sơ có sẵn (mặc định: cấp tự động).")
@paper_option
@click.option("--no-print", is_flag=True, help="Không in Giấy tiếp nhận (Mẫu 01).")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX của Mẫu 01, không tạo PDF/A.")
@json_option
@with_context
def dossier_receive(sc: Context, procedure_code: str, owner_id: str, channel: str,
                    at_text: str | None, code: str | None, papers: tuple[str, ...],
                    no_print: bool, no_pdf: bool, as_json: bool) -> None:
    """Tiếp nhận hồ sơ tại Bộ phận Một cửa: cấp mã, tính ngày hẹn trả, in Mẫu 01 (hoặc
    Mẫu 02 khi giấy tờ ghi bằng --paper còn thiếu thành phần bắt buộc)."""
    from motcua.services import counter

    got = counter.receive(sc, procedure_code, owner_id, channel, at=at_text, code=code,
                          print_receipt=not no_print, pdf=not no_pdf,
                          papers=list(papers) or None)
    if as_json:
        print_json(got)
        return
    rec = got.record
    click.echo(f"Đã tiếp nhận hồ sơ {rec['code']}: {rec['procedure_name']}")
    click.echo(f"  Chủ hồ sơ: {rec['owner_name']} ({rec['owner_id']})")
    click.echo(f"  Thời điểm tiếp nhận: {got.received_at_local}")
    click.echo(f"  Thời hạn giải quyết: {rec['processing_days']} ngày làm việc")
    click.echo(f"  Hẹn trả kết quả: {got.return_time} ngày {_day(rec['due_date'])}")
    _print_reuse(got.reuse)
    if got.receipt is not None and got.receipt.missing:
        click.echo("  Còn thiếu giấy tờ phải bổ sung: " + "; ".join(got.receipt.missing))
    if got.receipt is not None:
        click.echo(f"  {got.receipt.title}: "
                   f"{got.receipt.pdf or got.receipt.docx}"
                   + ("" if got.receipt.pdf is None else " (sẵn sàng ký số)"))


@dossier.command("resolve")
@click.argument("code", metavar="MÃ_HỒ_SƠ")
@click.option("--result", "result_file", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Tệp kết quả giải quyết (thường là PDF đã ký số).")
@click.option("--at", "at_text", default=None,
              help="Thời điểm có kết quả, ví dụ “18/07/2025 15:00” (mặc định: bây giờ).")
@click.option("--no-stamp", is_flag=True, help="Không tạo bản đóng dấu “KẾT QUẢ ĐIỆN TỬ”.")
@json_option
@with_context
def dossier_resolve(sc: Context, code: str, result_file: Path, at_text: str | None,
                    no_stamp: bool, as_json: bool) -> None:
    """Ghi nhận kết quả giải quyết hồ sơ: trước hạn, đúng hạn hay quá hạn."""
    from motcua.services import counter

    done = counter.resolve(sc, code, result_file, at=at_text, stamp=not no_stamp)
    if done.stamp is not None and done.stamp.warning:
        click.secho(f"Cảnh báo: {done.stamp.warning}", fg="yellow", err=True)
    if as_json:
        print_json(done)
        return
    rec = done.record
    colour = {"early": "green", "on_time": "green", "late": "red"}[done.outcome]
    click.echo(f"Đã ghi nhận kết quả {done.result_code} cho hồ sơ {rec['code']}.")
    click.echo(f"  Hẹn trả: {_day(rec['due_date'])}; có kết quả: {_day(rec['resolved_on'])}")
    click.secho(f"  Kết quả: {done.outcome_label}", fg=colour)
    if done.outcome == "late":
        click.echo("  Hồ sơ quá hạn: cần văn bản xin lỗi (Mẫu 04) nếu chưa có.")


@dossier.command("import")
@click.argument("csv_file", metavar="TỆP_CSV",
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--mapping", "-m", "mapping_file", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Tệp ánh xạ cột (TOML), xem examples/import-mapping.toml.")
@json_option
@with_context
def dossier_import_cmd(sc: Context, csv_file: Path, mapping_file: Path,
                       as_json: bool) -> None:
    """Nhập hồ sơ từ tệp CSV xuất từ Hệ thống thông tin giải quyết TTHC của tỉnh."""
    from motcua.services import counter

    rep = counter.import_dossiers(sc, csv_file, mapping_file)
    if as_json:
        print_json(rep)
    else:
        click.echo(f"Thêm mới {len(rep.inserted)} hồ sơ, cập nhật {len(rep.updated)}, "
                   f"không đổi {len(rep.unchanged)}, dòng lỗi {len(rep.bad)}.")
        for bad in rep.bad:
            click.secho(f"  Dòng {bad['line']}" + (f" ({bad['code']})" if bad["code"] else "")
                        + f": {bad['reason']}", fg="red")
    if rep.bad:
        sys.exit(ExitCode.PROBLEMS_FOUND)


@group()
def procedures() -> None:
    """Danh mục thủ tục hành chính (procedures.toml trong kho làm việc)."""


@procedures.command("list")
@json_option
@with_context
def procedures_list(sc: Context, as_json: bool) -> None:
    """Liệt kê thủ tục: mã, tên, lĩnh vực, thời hạn, thành phần hồ sơ."""
    from motcua.services import counter

    got = counter.procedures(sc)
    if as_json:
        print_json(got)
        return
    for p in got.procedures:
        click.echo(f"{p['code']}  {p['name']}  [{p['field']}]  "
                   f"{p['processing_days']} ngày làm việc")
        for t in p["requires"]:
            mark = " (tái sử dụng được)" if t in p["reusable"] else ""
            click.echo(f"    - {sc.catalogue.type_name(t)} [{t}]{mark}")


@group()
def reuse() -> None:
    """Tái sử dụng giấy tờ đã số hóa."""


@reuse.command("find")
@click.option("--owner", "-o", "owner_id", required=True, help="Mã định danh chủ sở hữu.")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ.")
@click.option("--on", "on_text", default=None,
              help="Còn hiệu lực vào ngày này (mặc định: hôm nay).")
@json_option
@with_context
def reuse_find(sc: Context, owner_id: str, type_code: str | None, on_text: str | None,
               as_json: bool) -> None:
    """Giấy tờ còn hiệu lực của chủ sở hữu."""
    from motcua.services import counter

    found = counter.reusable(sc, owner_id, type_code, on_text)
    if as_json:
        print_json(list(found.documents))
        return
    if not found.documents:
        click.echo("Không có giấy tờ nào còn hiệu lực.")
    for c in found.documents:
        valid = f"hiệu lực đến {_day(c['valid_to'])}" if c["valid_to"] else "không thời hạn"
        click.echo(f"#{c['document_id']}  {c['type_name']}  {c['name'] or ''}"
                   f"  {c['number_symbol'] or ''}  ({valid})")


@reuse.command("attach")
@click.argument("doc_ref", metavar="TÀI_LIỆU")
@click.option("--dossier", "-d", "dossier_code", required=True, help="Mã hồ sơ mới.")
@json_option
@with_context
def reuse_attach(sc: Context, doc_ref: str, dossier_code: str, as_json: bool) -> None:
    """Gắn một giấy tờ trong kho vào hồ sơ, không cần quét lại."""
    from motcua.services import counter

    r = counter.attach_reuse(sc, doc_ref, dossier_code)
    if as_json:
        print_json(r)
        return
    click.echo(f"Đã gắn tài liệu #{r.document_id} vào hồ sơ {r.dossier_code} (tái sử dụng).")


@command("overdue")
@click.option("--letters", is_flag=True,
              help="Tạo văn bản xin lỗi (Mẫu 04) cho hồ sơ quá hạn chưa có văn bản.")
@click.option("--on", "on_text", default=None,
              help="Xét quá hạn tại ngày này (DD/MM/YYYY; mặc định: hôm nay).")
@click.option("--reason", default=None, help="Lý do chậm ghi trong văn bản xin lỗi.")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Số ngày làm việc gia hạn (ngày hẹn trả mới).")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX của Mẫu 04, không tạo PDF/A.")
@json_option
@with_context
def overdue_cmd(sc: Context, letters: bool, on_text: str | None, reason: str | None,
                days: int | None, no_pdf: bool, as_json: bool) -> None:
    """Liệt kê hồ sơ đang giải quyết đã quá ngày hẹn trả."""
    from motcua.services import counter

    rep = counter.overdue(sc, on_text, letters=letters, reason=reason, extension_days=days,
                          pdf=not no_pdf)
    if as_json:
        print_json(rep)
        return
    on = labels.vi_date(rep.on)
    if not rep.overdue:
        click.echo(f"Không có hồ sơ quá hạn tính đến ngày {on}.")
        return
    click.echo(f"{len(rep.overdue)} hồ sơ quá hạn tính đến ngày {on}:")
    for o in rep.overdue:
        r, apology = o.record, o.apology
        note = (f"đã xin lỗi ngày {_day(apology['issued_on'])}" if apology and o.apology_done
                else "văn bản xin lỗi chưa tạo xong" if apology else "chưa xin lỗi")
        click.echo(f"  {r['code']}  {r['procedure_name']}  {r['owner_name'] or r['owner_id']}"
                   f"  hẹn {_day(r['due_date'])}  quá {o.days_late} ngày lịch  ({note})")
    if rep.letters_asked:
        click.echo(f"Đã tạo {len(rep.letters)} văn bản xin lỗi (Mẫu 04); "
                   f"{len(rep.already_had)} hồ sơ đã có văn bản từ trước, không tạo lại.")
        for x in rep.letters:
            click.echo(f"  {x['dossier_code']}: hẹn trả mới {_day(x['new_due'])}  "
                       f"{x['pdf'] or x['docx']}")


COMMANDS: list[Any] = [owner, dossier, procedures, reuse, overdue_cmd]
