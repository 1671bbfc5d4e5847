"""Documents: search, show, assign, stamp, reindex, doc meta, result add."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from motcua import labels
from motcua.cli._base import Context, command, group, json_option, print_json, with_context

if TYPE_CHECKING:
    from motcua.services.documents import DocumentView, StampOutcome


@command()
@click.argument("query", metavar="TỪ_KHÓA")
@click.option("--dossier", help="Chỉ tìm trong hồ sơ có mã này.")
@click.option("--owner", help="Chỉ tìm tài liệu của chủ sở hữu (số định danh / mã số thuế).")
@click.option("--procedure", help="Mã thủ tục hành chính.")
@click.option("--type", "doc_type", help="Mã loại giấy tờ.")
@click.option("--from", "date_from", help="Từ ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--to", "date_to", help="Đến ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Số kết quả tối đa.")
@json_option
@with_context
def search(sc: Context, query: str, dossier: str | None, owner: str | None,
           procedure: str | None, doc_type: str | None, date_from: str | None,
           date_to: str | None, limit: int, as_json: bool) -> None:
    """Tìm công dân, giấy tờ, hồ sơ: họ tên, số định danh, mã số thuế, mã hồ sơ, mã kết quả,
    số ký hiệu văn bản hoặc từ khóa (không phân biệt dấu; khớp đúng dấu được xếp trước)."""
    from motcua.services.search import search as find

    found = find(sc, query, limit=limit, dossier=dossier, owner=owner, procedure=procedure,
                 doc_type=doc_type, date_from=date_from, date_to=date_to)
    if as_json:
        print_json(found)
        return
    for person in found.people:
        click.echo(f"Chủ hồ sơ: {person.name} ({person.kind_label}, {person.id}) — "
                   f"{person.dossiers} hồ sơ, {person.documents} tài liệu"
                   + (f"; xem: motcua owner show {person.link_id}" if person.link_id else ""))
    if not found.documents:
        click.echo("Không có tài liệu nào khớp." if found.people
                   else "Không tìm thấy kết quả nào.")
        return
    click.echo(f"Tìm theo: {found.kind_label}")
    for n, doc in enumerate(found.documents, start=1):
        click.secho(f"{n}. {doc.title} (tài liệu {doc.document_id}, "
                    f"hồ sơ {doc.dossier_code or 'chưa gán'})", bold=True)
        owners = ", ".join(f"{o.name or ''} ({o.id})".strip() for o in doc.owners)
        if owners:
            click.echo(f"   Chủ sở hữu: {owners}")
        where = f"   Khớp: {', '.join(doc.matched_labels)}"
        if doc.best_page:
            where += (f" — trang {doc.best_page}/{doc.page_count}"
                      f", {doc.matching_pages} trang khớp")
        click.echo(where)
        styled = "".join(click.style(text, fg="yellow", bold=True) if matched else text
                         for text, matched in doc.snippet)
        if styled:
            click.echo(f"   {styled}")


def _print_document(doc: DocumentView) -> None:
    click.secho(f"Tài liệu {doc.id}: {doc.original_name}", bold=True)
    click.echo(f"  Trạng thái: {doc.state_label}   Nhận lúc: {doc.ingested_at_local}")
    click.echo(f"  Hồ sơ: {doc.dossier_code or 'chưa gán'}")
    click.echo(f"  Bản gốc: {doc.original['path']}")
    click.echo(f"     SHA-256 {doc.original['sha256']}")
    if doc.archival["path"]:
        click.echo(f"  Bản lưu trữ PDF/A: {doc.archival['path']}")
        click.echo(f"     SHA-256 {doc.archival['sha256']}")
    if doc.stamp:
        click.echo(f"  Bản đóng dấu “{doc.stamp['kind']}”: {doc.stamp['operator']}, "
                   f"{doc.stamp['stamped_at_local']}")
    for page in doc.pages:
        conf = ("đã có sẵn chữ" if page.confidence is None
                else f"độ tin cậy {page.confidence:.0f}")
        flag = "  ⚠ cần quét lại" if page.needs_rescan else ""
        click.echo(f"  Trang {page.page}: {conf}{flag}")
    for ident in doc.identifiers:
        click.echo(f"  {ident.kind_label} (ứng viên): {ident.value} — trang {ident.page}")


@command()
@click.argument("target", metavar="SỐ_HOẶC_MÃ")
@json_option
@with_context
def show(sc: Context, target: str, as_json: bool) -> None:
    """Xem hồ sơ lưu trữ của một tài liệu (số tài liệu) hoặc một hồ sơ (mã hồ sơ)."""
    from motcua.services import documents

    found = documents.show(sc, target)
    if as_json:
        views = [d.as_dict() for d in found.documents]
        print_json(views[0] if target.strip().isdigit() else views)
        return
    for doc in found.documents:
        _print_document(doc)


def _stamp_line(outcome: StampOutcome) -> None:
    if outcome.warning:
        click.secho(f"Cảnh báo: {outcome.warning}", fg="yellow", err=True)
    else:
        click.echo(f"Đã đóng dấu “{outcome.kind}” cho tài liệu {outcome.document_id}: "
                   f"{outcome.stamped_path}")


@command()
@click.argument("document_id", metavar="SỐ_TÀI_LIỆU", type=int)
@click.argument("dossier", metavar="MÃ_HỒ_SƠ")
@click.option("--move", is_flag=True,
              help="Xác nhận chuyển tài liệu đang thuộc hồ sơ khác sang hồ sơ MÃ_HỒ_SƠ.")
@json_option
@with_context
def assign(sc: Context, document_id: int, dossier: str, move: bool, as_json: bool) -> None:
    """Gán tài liệu SỐ_TÀI_LIỆU vào hồ sơ MÃ_HỒ_SƠ (đóng dấu lại, lập chỉ mục lại).

    MÃ_HỒ_SƠ phải là mã hồ sơ đã cấp; tài liệu đang thuộc hồ sơ khác chỉ được chuyển
    khi có --move."""
    from motcua.services import documents

    done = documents.assign(sc, document_id, dossier, move=move)
    if as_json:
        print_json(done)
        return
    click.echo(f"Đã gán tài liệu {done.document_id} vào hồ sơ {done.dossier_code}.")


@command()
@click.argument("documents", metavar="TÀI_LIỆU...", nargs=-1)
@click.option("--missing", is_flag=True, help="Đóng dấu mọi tài liệu chưa có dấu số hóa.")
@json_option
@with_context
def stamp(sc: Context, documents: tuple[str, ...], missing: bool, as_json: bool) -> None:
    """Đóng (lại) dấu số hóa cho TÀI_LIỆU (số tài liệu, mã kết quả, SHA-256 hoặc tệp)."""
    from motcua.services import documents as svc

    done = svc.stamp(sc, documents, missing=missing)
    if as_json:
        print_json(done)
        return
    if done.all_stamped:
        click.echo("Mọi tài liệu đã có dấu số hóa.")
    for outcome in done.stamps:
        _stamp_line(outcome)


@command()
@json_option
@with_context
def reindex(sc: Context, as_json: bool) -> None:
    """Xây dựng lại chỉ mục tìm kiếm từ cơ sở dữ liệu."""
    from motcua.services import documents

    total = documents.count_indexable(sc)
    with click.progressbar(length=total, label="Đang lập chỉ mục", file=sys.stderr) as bar:
        last = [0]

        def advance(done: int, _total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        done = documents.reindex(sc, progress=advance)
    if as_json:
        print_json(done)
        return
    click.echo(f"Đã lập chỉ mục lại {done.documents} tài liệu, {done.pages} trang.")


@group()
def doc() -> None:
    """Tài liệu số hóa: siêu dữ liệu."""


@doc.command("meta")
@click.argument("file_id", metavar="TÀI_LIỆU")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ (xem procedures list).")
@click.option("--owner", "owner_id", default=None, help="Mã định danh chủ sở hữu.")
@click.option("--name", default=None, help="Tên giấy tờ.")
@click.option("--number", "number_symbol", default=None, help="Số, ký hiệu.")
@click.option("--issued", "issue_date", default=None,
              help="Ngày ban hành (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--issuer", "issuing_body", default=None, help="Cơ quan ban hành.")
@click.option("--summary", default=None, help="Trích yếu.")
@click.option("--valid-from", default=None, help="Hiệu lực từ ngày.")
@click.option("--valid-to", default=None, help="Hiệu lực đến ngày.")
@click.option("--scope", "validity_scope", default=None, help="Phạm vi hiệu lực.")
@json_option
@with_context
def doc_meta(sc: Context, file_id: str, as_json: bool, **changes: str | None) -> None:
    """Ghi siêu dữ liệu của tài liệu (giá trị rỗng "" để xóa một trường)."""
    from motcua.services import documents

    got = documents.set_meta(sc, file_id, changes)
    if as_json:
        print_json(got.meta)
        return
    if got.stamp is not None:
        _stamp_line(got.stamp)
    click.echo(f"Tài liệu #{got.document_id}:")
    for key, label, value in got.fields:
        shown = labels.vi_date(value) if key in ("issue_date", "valid_from", "valid_to") \
            else value
        click.echo(f"  {label}: {shown or '-'}")


@group()
def result() -> None:
    """Kết quả giải quyết thủ tục (bản điện tử)."""


@result.command("add")
@click.argument("file", metavar="TỆP", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dossier", "-d", "dossier_code", required=True, help="Mã hồ sơ.")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ.")
@click.option("--name", default=None, help="Tên giấy tờ kết quả.")
@click.option("--number", "number_symbol", default=None, help="Số, ký hiệu.")
@click.option("--issued", "issue_date", default=None,
              help="Ngày ban hành (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--issuer", "issuing_body", default=None, help="Cơ quan ban hành.")
@click.option("--valid-from", default=None, help="Hiệu lực từ ngày.")
@click.option("--valid-to", default=None, help="Hiệu lực đến ngày.")
@click.option("--scope", "validity_scope", default=None, help="Phạm vi hiệu lực.")
@click.option("--no-stamp", is_flag=True, help="Không tạo bản đóng dấu “KẾT QUẢ ĐIỆN TỬ”.")
@json_option
@with_context
def result_add(sc: Context, file: Path, dossier_code: str, no_stamp: bool, as_json: bool,
               **meta: str | None) -> None:
    """Lưu kết quả (giữ nguyên từng byte), cấp mã <mã hồ sơ>-KQ<n>."""
    from motcua.services import documents

    added = documents.add_result(sc, file, dossier_code, meta, stamp=not no_stamp)
    if as_json:
        print_json(added)
        return
    if added.new_file:
        click.echo(f"Đã lưu kết quả {added.result_code} (tài liệu #{added.document_id}).")
    else:
        given = any(v is not None for v in meta.values())
        click.echo(f"Tệp đã có trong kho: kết quả {added.result_code} (tài liệu "
                   f"#{added.document_id})" + ("; đã cập nhật thông tin đi kèm." if given
                                              else "; không có gì thay đổi."))
    if added.stamp is not None:
        if added.stamp.warning:
            click.secho(f"Cảnh báo: {added.stamp.warning}", fg="yellow", err=True)
        else:
            click.echo(f"  Bản đóng dấu “KẾT QUẢ ĐIỆN TỬ”: {added.stamp.stamped_path}")


COMMANDS: list[Any] = [search, show, assign, stamp, reindex, doc, result]
