"""The `motcua` command line.

Thin: each command parses its options, finds the workspace, calls one function of
a subpackage and prints the outcome in Vietnamese. `--json` output is for scripts.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from motcua import db
from motcua.errors import MotcuaError
from motcua.workspace import Workspace, find_workspace, init_workspace

log = logging.getLogger("motcua")

F = TypeVar("F", bound=Callable[..., Any])


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def handle_errors(func: F) -> F:
    """Turn our errors into a Vietnamese message on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MotcuaError as exc:
            if exc.detail:
                log.debug("error detail: %s", exc.detail)
            click.secho(f"Lỗi: {exc.message}", fg="red", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def get_workspace(ctx: click.Context) -> Workspace:
    obj = ctx.ensure_object(dict)
    if "workspace" not in obj:
        obj["workspace"] = find_workspace(obj.get("workspace_path"))
    ws: Workspace = obj["workspace"]
    return ws


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    "workspace_path",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Thư mục kho làm việc (mặc định: $MOTCUA_WORKSPACE, rồi thư mục hiện tại).",
)
@click.option("--verbose", "-v", is_flag=True, help="In thêm nhật ký kỹ thuật (tiếng Anh).")
@click.version_option(package_name="motcua")
@click.pass_context
def main(ctx: click.Context, workspace_path: Path | None, verbose: bool) -> None:
    """motcua: số hóa, lưu trữ và tra cứu hồ sơ thủ tục hành chính của Bộ phận Một cửa."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(dict)["workspace_path"] = workspace_path


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@handle_errors
def init(directory: Path) -> None:
    """Tạo kho làm việc mới trong DIRECTORY."""
    ws = init_workspace(directory)
    click.echo(f"Đã tạo kho làm việc tại {ws.root}")
    click.echo(f"  Thư mục nhận tệp quét: {ws.inbox}")
    click.echo(f"  Cấu hình: {ws.config_path}")


def open_db(ws: Workspace) -> Any:
    return db.connect(ws.db_path)


# ---- spine: ingest / watch / search / show / assign / reindex (issue 2) ----


_STATE_VI = {
    "done": "đã lưu trữ",
    "duplicate": "trùng",
    "quarantined": "cách ly",
    "refused": "từ chối",
    "vanished": "đã mất",
    "retry": "sẽ thử lại",
    "processing": "đang xử lý",
    "pending": "đang chờ",
}


def _print_outcome(outcome: Any) -> None:
    colour = {"done": "green", "duplicate": "yellow", "quarantined": "red",
              "refused": "red", "retry": "yellow"}.get(outcome.state)
    click.secho(f"[{_STATE_VI.get(outcome.state, outcome.state)}] {outcome.source}", fg=colour)
    click.echo(f"    {outcome.message}")


def _summary(outcomes: list[Any]) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    parts = [f"{n} {_STATE_VI.get(state, state)}" for state, n in sorted(counts.items())]
    return f"Tổng cộng {len(outcomes)} tệp: " + (", ".join(parts) if parts else "không có tệp nào")


@main.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Số hóa các tệp hoặc thư mục PATHS (mỗi tệp một lần).

    Tệp trong thư mục nhận (inbox) được lấy đi sau khi lưu trữ xong; tệp ở nơi khác
    được giữ nguyên tại chỗ.
    """
    from motcua.ingest import expand, ingest_paths
    from motcua.ingest.logs import setup_logging
    from motcua.ingest.progress import batch_progress

    ws = get_workspace(ctx)
    setup_logging(ws, verbose=logging.getLogger().isEnabledFor(logging.DEBUG))
    if as_json:
        outcomes = ingest_paths(ws, list(paths))
    else:
        # A bar in a terminal, numbered plain lines otherwise (issue 3).
        with batch_progress(sum(1 for _ in expand(paths))) as report:
            outcomes = ingest_paths(ws, list(paths), progress=report)
    if as_json:
        _echo_json([o.__dict__ for o in outcomes])
    else:
        click.echo(_summary(outcomes))
    if any(o.state in ("quarantined", "refused", "retry") for o in outcomes):
        sys.exit(2)


@main.command()
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
@click.pass_context
@handle_errors
def watch(ctx: click.Context, poll: bool | None, stable_seconds: float | None,
          rescan_minutes: float | None, incomplete_grace: float | None,
          until_idle: bool) -> None:
    """Theo dõi thư mục nhận và số hóa mọi tệp được đặt vào (Ctrl+C để dừng)."""
    from motcua.ingest.logs import setup_logging
    from motcua.ingest.watch import DEFAULT_INCOMPLETE_GRACE, Watcher

    ws = get_workspace(ctx)
    log_file = setup_logging(ws, verbose=logging.getLogger().isEnabledFor(logging.DEBUG))
    watcher = Watcher(
        ws, poll=poll, stable_seconds=stable_seconds, rescan_minutes=rescan_minutes,
        incomplete_grace=DEFAULT_INCOMPLETE_GRACE if incomplete_grace is None
        else incomplete_grace,
        until_idle=until_idle, progress=_print_outcome)
    mode = "dò định kỳ (thư mục mạng)" if watcher.poll else "sự kiện hệ thống"
    click.echo(f"Đang theo dõi {ws.inbox} ({mode}) — nhấn Ctrl+C để dừng. Nhật ký: {log_file}")
    watcher.run()
    click.echo("Đã dừng theo dõi.")


def _parse_date(value: str | None, name: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        from motcua.errors import UserError

        raise UserError(f"Ngày {name} “{value}” không hợp lệ; hãy viết dạng NĂM-THÁNG-NGÀY, "
                        "ví dụ 2025-07-16.", str(exc)) from exc


@main.command()
@click.argument("query")
@click.option("--dossier", help="Chỉ tìm trong hồ sơ có mã này.")
@click.option("--owner", help="Chỉ tìm tài liệu của chủ sở hữu (số định danh / mã số thuế).")
@click.option("--procedure", help="Mã thủ tục hành chính.")
@click.option("--type", "doc_type", help="Mã loại giấy tờ.")
@click.option("--from", "date_from", help="Từ ngày (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Đến ngày (YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.pass_context
@handle_errors
def search(ctx: click.Context, query: str, dossier: str | None, owner: str | None,
           procedure: str | None, doc_type: str | None, date_from: str | None,
           date_to: str | None, limit: int, as_json: bool) -> None:
    """Tìm công dân, giấy tờ, hồ sơ: họ tên, số định danh, mã số thuế, mã hồ sơ, mã kết quả,
    số ký hiệu văn bản hoặc từ khóa (không phân biệt dấu; khớp đúng dấu được xếp trước)."""
    import getpass

    from motcua.index import SearchFilters
    from motcua.services import Actor, open_context
    from motcua.services.access import ALL_ROLES
    from motcua.services.search import search as search_documents

    ws = get_workspace(ctx)
    filters = SearchFilters(
        dossier_code=dossier, owner_id=owner, procedure_code=procedure, doc_type=doc_type,
        date_from=_parse_date(date_from, "--from"), date_to=_parse_date(date_to, "--to"))
    login = getpass.getuser()
    with open_context(ws, Actor(login, login, kind="os", roles=frozenset(ALL_ROLES))) as sctx:
        found = search_documents(sctx, query, filters, limit=limit)
    if as_json:
        _echo_json(found.as_dict())
        return
    if not found.documents:
        click.echo("Không tìm thấy kết quả nào.")
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


def _document_record(conn: Any, ws: Workspace, document_id: int) -> dict[str, Any]:
    from motcua.archive import records

    doc = records.by_id(conn, document_id)
    if doc is None:
        from motcua.errors import UserError

        raise UserError(f"Không có tài liệu số {document_id}.", "no such document")
    pages = records.pages_of(conn, document_id)
    return {
        "id": doc["id"],
        "original_name": doc["original_name"],
        "media_type": doc["media_type"],
        "size": doc["size"],
        "state": doc["state"],
        "dossier_code": doc["dossier_code"],
        "dossier_source": doc["dossier_source"],
        "ingested_at": doc["ingested_at"],
        "original": {"path": str(ws.absolute(doc["original_path"])), "sha256": doc["sha256"]},
        "archival": {"path": str(ws.absolute(doc["archival_path"])) if doc["archival_path"]
                     else None, "sha256": doc["archival_sha256"]},
        "pages": [{"page": p["page_no"], "confidence": p["confidence"],
                   "ocr_done": bool(p["ocr_done"]), "needs_rescan": bool(p["needs_rescan"])}
                  for p in pages],
        "identifiers": [{"kind": i["kind"], "value": i["value"], "page": i["page_no"]}
                        for i in records.identifiers_of(conn, document_id)],
    }


_KIND_VI = {"citizen_id": "Số định danh cá nhân", "tax_code": "Mã số thuế",
            "dossier_code": "Mã hồ sơ"}


def _print_document(rec: dict[str, Any]) -> None:
    click.secho(f"Tài liệu {rec['id']}: {rec['original_name']}", bold=True)
    click.echo(f"  Trạng thái: {rec['state']}   Nhận lúc: {rec['ingested_at']}")
    click.echo(f"  Hồ sơ: {rec['dossier_code'] or 'chưa gán'}")
    click.echo(f"  Bản gốc: {rec['original']['path']}")
    click.echo(f"     SHA-256 {rec['original']['sha256']}")
    if rec["archival"]["path"]:
        click.echo(f"  Bản lưu trữ PDF/A: {rec['archival']['path']}")
        click.echo(f"     SHA-256 {rec['archival']['sha256']}")
    for page in rec["pages"]:
        conf = ("đã có sẵn chữ" if page["confidence"] is None
                else f"độ tin cậy {page['confidence']:.0f}")
        flag = "  ⚠ cần quét lại" if page["needs_rescan"] else ""
        click.echo(f"  Trang {page['page']}: {conf}{flag}")
    for ident in rec["identifiers"]:
        click.echo(f"  {_KIND_VI.get(ident['kind'], ident['kind'])} (ứng viên): {ident['value']}"
                   f" — trang {ident['page']}")


@main.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.pass_context
@handle_errors
def show(ctx: click.Context, target: str, as_json: bool) -> None:
    """Xem hồ sơ lưu trữ của một tài liệu (số tài liệu) hoặc một hồ sơ (mã hồ sơ)."""
    from motcua.errors import UserError

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        if target.isdigit():
            ids = [int(target)]
        else:
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM documents WHERE dossier_code = ? ORDER BY id", (target,))]
            if not ids:
                raise UserError(f"Không có tài liệu nào thuộc hồ sơ “{target}”.",
                                "no documents for dossier")
        recs = [_document_record(conn, ws, i) for i in ids]
    if as_json:
        _echo_json(recs if len(recs) > 1 or not target.isdigit() else recs[0])
        return
    for rec in recs:
        _print_document(rec)


@main.command()
@click.argument("document_id", type=int)
@click.argument("dossier")
@click.pass_context
@handle_errors
def assign(ctx: click.Context, document_id: int, dossier: str) -> None:
    """Gán tài liệu DOCUMENT_ID vào hồ sơ DOSSIER."""
    from motcua.archive import audit, records
    from motcua.archive.extract import is_dossier_code
    from motcua.archive.indexing import refresh_documents
    from motcua.archive.stamp import stamp_document
    from motcua.errors import UserError

    ws = get_workspace(ctx)
    if not is_dossier_code(dossier):
        raise UserError(
            f"Mã hồ sơ “{dossier}” không đúng dạng <mã cơ quan>-YYMMDD-XXXX, "
            "ví dụ 000.00.07.H47-250716-0001.", "bad dossier code")
    with open_db(ws) as conn:
        if records.by_id(conn, document_id) is None:
            raise UserError(f"Không có tài liệu số {document_id}.", "no such document")
        with db.transaction(conn):
            records.assign_dossier(conn, document_id, dossier, "manual")
            audit.record(conn, "assign", f"document:{document_id}", _actor(ws),
                         {"dossier_code": dossier})
        # The stamp and its QR print the dossier code: make them say the new one.
        stamp_document(ws, conn, document_id)
        refresh_documents(ws, conn, [document_id])
    click.echo(f"Đã gán tài liệu {document_id} vào hồ sơ {dossier}.")


@main.command()
@click.argument("documents", nargs=-1)
@click.option("--missing", is_flag=True, help="Đóng dấu mọi tài liệu chưa có dấu số hóa.")
@click.pass_context
@handle_errors
def stamp(ctx: click.Context, documents: tuple[str, ...], missing: bool) -> None:
    """Đóng (lại) dấu số hóa cho tài liệu DOCUMENTS (số tài liệu, mã kết quả, SHA-256 hoặc tệp)."""
    from motcua.archive.documents import resolve_document
    from motcua.archive.stamp import stamp_document
    from motcua.errors import UserError

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        ids = [resolve_document(conn, ref) for ref in documents]
        if missing:
            ids += [r[0] for r in conn.execute(
                "SELECT id FROM documents WHERE archival_path IS NOT NULL AND id NOT IN"
                " (SELECT document_id FROM stamps) ORDER BY id")]
        if not ids and not missing:
            raise UserError("Hãy nêu tài liệu cần đóng dấu, hoặc dùng --missing.",
                            "nothing to stamp")
        if not ids:
            click.echo("Mọi tài liệu đã có dấu số hóa.")
        for document_id in dict.fromkeys(ids):
            rec = stamp_document(ws, conn, document_id)
            click.echo(f"Đã đóng dấu “{rec.kind}” cho tài liệu {document_id}: {rec.stamped_path}")


@main.command()
@click.pass_context
@handle_errors
def reindex(ctx: click.Context) -> None:
    """Xây dựng lại chỉ mục tìm kiếm từ cơ sở dữ liệu."""
    from motcua.archive.indexing import rebuild, type_names
    from motcua.index import open_engine

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        total = conn.execute(
            "SELECT COUNT(*) FROM documents WHERE state IN ('archived', 'indexed')").fetchone()[0]
        # rebuild=True: a damaged index cannot be opened to be cleared, so start afresh.
        engine = open_engine(ws.index_dir, ws.config.index.engine, rebuild=True)
        try:
            with click.progressbar(length=total, label="Đang lập chỉ mục",
                                   file=sys.stderr) as bar:
                last = [0]

                def advance(done: int, _total: int) -> None:
                    bar.update(done - last[0])
                    last[0] = done

                pages = rebuild(conn, engine, progress=advance, type_names=type_names(ws))
        finally:
            engine.close()
    click.echo(f"Đã lập chỉ mục lại {total} tài liệu, {pages} trang.")


# ---- end spine ----

# ---- intake service: status / logs (issue 3) ----


@main.command()
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.option("--recent", default=10, show_default=True,
              help="Số mục gần đây hiển thị (cách ly, thử lại).")
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool, recent: int) -> None:
    """Tình trạng hàng đợi: số tệp theo trạng thái, tốc độ 1 giờ qua, tệp chờ lâu nhất,
    trang cần quét lại, tệp bị cách ly gần đây."""
    from motcua.ingest.status import collect, render_text

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        data = collect(ws, conn, recent=recent)
    if as_json:
        _echo_json(data)
        return
    for line in render_text(data):
        click.echo(line)

# ---- end intake service ----

# ---- web: serve ----


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ lắng nghe. Trang không có đăng nhập: giữ 127.0.0.1, hoặc chỉ mở "
                   "trong mạng nội bộ của trung tâm.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Cổng lắng nghe.")
@click.option("--allow-host", "allow_hosts", multiple=True,
              help="Tên máy hoặc địa chỉ khác được dùng để mở trang (có thể lặp lại).")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Mở trang tra cứu cho cán bộ (tìm kiếm, tài liệu, hồ sơ, tình trạng tiếp nhận)."""
    import uvicorn

    from motcua.web import allowed_hosts_for, create_app, is_loopback

    ws = get_workspace(ctx)
    app = create_app(ws, allowed_hosts=allowed_hosts_for(host, allow_hosts))
    if not is_loopback(host):
        click.secho("Cảnh báo: trang tra cứu không có đăng nhập. Chỉ mở trong mạng nội bộ của "
                    "trung tâm, không để lộ ra Internet.", fg="yellow", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Trang tra cứu đang chạy tại http://{shown}:{port}/ — nhấn Ctrl+C để dừng.")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False,
                proxy_headers=False)
    click.echo("Đã dừng trang tra cứu.")


# ---- end web ----

# ---- warehouse: owner / dossier / doc / result / reuse / verify / audit / export (issue 4) ----
def _actor(ws: Workspace) -> str:
    """Who did it, for the audit log: the configured operator and the OS account."""
    import getpass

    from motcua.archive.settings import stamp_operator

    try:
        user = getpass.getuser()
    except Exception:  # no login name (containers)
        user = "?"
    return f"{stamp_operator(ws)} ({user})"


def _dossier_line(d: Any) -> str:
    from motcua.archive.dossiers import CHANNELS

    channel = CHANNELS.get(d.channel or "", d.channel or "")
    return (f"{d.code}  {d.procedure_code or '-'} {d.procedure_name or ''}  "
            f"chủ sở hữu {d.owner_id or '-'}  {channel}  nhận {(d.received_at or '')[:10]}")


@main.group()
def owner() -> None:
    """Chủ sở hữu dữ liệu: công dân (số định danh cá nhân) hoặc tổ chức (mã số thuế)."""


@owner.command("add")
@click.argument("owner_id")
@click.option("--name", "-n", required=True, help="Họ tên công dân hoặc tên tổ chức.")
@click.pass_context
@handle_errors
def owner_add(ctx: click.Context, owner_id: str, name: str) -> None:
    """Thêm chủ sở hữu (kiểm tra mã định danh)."""
    from motcua.archive.owners import KIND_LABELS, add_owner
    from motcua.archive.settings import warehouse_settings

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        o = add_owner(conn, owner_id, name, _actor(ws), warehouse_settings(ws).mst_check_digit)
    click.echo(f"Đã ghi chủ sở hữu {o.id} ({KIND_LABELS[o.kind]}): {o.name}")


@owner.command("rename")
@click.argument("owner_id")
@click.option("--name", "-n", required=True, help="Họ tên đúng của công dân / tên tổ chức.")
@click.pass_context
@handle_errors
def owner_rename(ctx: click.Context, owner_id: str, name: str) -> None:
    """Sửa họ tên chủ sở hữu (ghi nhật ký); tìm kiếm theo tên mới ngay."""
    from motcua.archive.indexing import documents_of_owner, refresh_documents
    from motcua.archive.owners import rename_owner

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        o = rename_owner(conn, owner_id, name, _actor(ws))
        refresh_documents(ws, conn, documents_of_owner(conn, o.id))
    click.echo(f"Đã sửa tên chủ sở hữu {o.id}: {o.name}")


@owner.command("show")
@click.argument("owner_id")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def owner_show(ctx: click.Context, owner_id: str, as_json: bool) -> None:
    """Xem chủ sở hữu, hồ sơ và giấy tờ trong kho."""
    from motcua.archive import audit
    from motcua.archive.owners import KIND_LABELS, owner_record

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        rec = owner_record(conn, owner_id)
        audit.record(conn, "view", f"owner:{rec['owner']['id']}", _actor(ws), {})
    if as_json:
        _echo_json(rec)
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


@main.group()
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
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def dossier_new(ctx: click.Context, procedure_code: str, owner_id: str, channel: str,
                code: str | None, as_json: bool) -> None:
    """Tạo hồ sơ mới; tự động tái sử dụng giấy tờ còn hiệu lực của chủ sở hữu."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.dossiers import new_dossier
    from motcua.archive.settings import warehouse_settings

    ws = get_workspace(ctx)
    catalogue = load_catalogue(ws)
    with open_db(ws) as conn:
        made = new_dossier(ws, conn, catalogue, procedure_code=procedure_code,
                           owner_id=owner_id, channel=channel, actor=_actor(ws),
                           auto_reuse_mode=warehouse_settings(ws).auto_reuse, code=code)
        _refresh_dossier(ws, conn, made.dossier.code)
    if as_json:
        _echo_json({"dossier": made.dossier.as_dict(), "reuse": {
            "mode": made.reuse.mode,
            "attached": [c.as_dict() for c in made.reuse.attached],
            "proposed": [c.as_dict() for c in made.reuse.proposed],
            "missing": list(made.reuse.missing)}})
        return
    click.echo(f"Đã tạo hồ sơ {made.dossier.code}: {made.dossier.procedure_name}")
    _print_reuse(made.reuse, catalogue)


def _refresh_dossier(ws: Workspace, conn: Any, code: str) -> None:
    """A dossier's documents (own and reused) carry its owner and procedure in the index."""
    from motcua.archive.indexing import documents_of_dossier, refresh_documents

    refresh_documents(ws, conn, documents_of_dossier(conn, code))


@dossier.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def dossier_show(ctx: click.Context, code: str, as_json: bool) -> None:
    """Xem hồ sơ: giấy tờ, giấy tờ tái sử dụng, thành phần còn thiếu."""
    from motcua.archive import audit
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.dossiers import dossier_record

    ws = get_workspace(ctx)
    catalogue = load_catalogue(ws)
    with open_db(ws) as conn:
        rec = dossier_record(conn, catalogue, code)
        audit.record(conn, "view", f"dossier:{code}", _actor(ws), {})
    if as_json:
        _echo_json(rec)
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
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def dossier_list(ctx: click.Context, owner_id: str | None, procedure_code: str | None,
                 as_json: bool) -> None:
    """Liệt kê hồ sơ."""
    from motcua.archive.dossiers import list_dossiers

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        rows = list_dossiers(conn, owner_id, procedure_code)
    if as_json:
        _echo_json([d.as_dict() for d in rows])
        return
    for d in rows:
        click.echo(_dossier_line(d))
    click.echo(f"Tổng cộng: {len(rows)} hồ sơ")


@main.group()
def doc() -> None:
    """Tài liệu số hóa: siêu dữ liệu."""


@doc.command("meta")
@click.argument("file_id")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ (xem procedures list).")
@click.option("--owner", "owner_id", default=None, help="Mã định danh chủ sở hữu.")
@click.option("--name", default=None, help="Tên giấy tờ.")
@click.option("--number", "number_symbol", default=None, help="Số, ký hiệu.")
@click.option("--issued", "issue_date", default=None, help="Ngày ban hành (DD/MM/YYYY).")
@click.option("--issuer", "issuing_body", default=None, help="Cơ quan ban hành.")
@click.option("--summary", default=None, help="Trích yếu.")
@click.option("--valid-from", default=None, help="Hiệu lực từ ngày.")
@click.option("--valid-to", default=None, help="Hiệu lực đến ngày.")
@click.option("--scope", "validity_scope", default=None, help="Phạm vi hiệu lực.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def doc_meta(ctx: click.Context, file_id: str, as_json: bool, **changes: str | None) -> None:
    """Ghi siêu dữ liệu của tài liệu (giá trị rỗng "" để xóa một trường)."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.documents import get_meta, resolve_document, set_meta
    from motcua.archive.indexing import refresh_documents
    from motcua.archive.stamp import get_stamp, stamp_document

    ws = get_workspace(ctx)
    catalogue = load_catalogue(ws)
    with open_db(ws) as conn:
        document_id = resolve_document(conn, file_id)
        if any(v is not None for v in changes.values()):
            set_meta(conn, document_id, _actor(ws), changes, catalogue.document_types)
            if get_stamp(conn, document_id) is not None:
                stamp_document(ws, conn, document_id)  # the QR must carry the new fields
            refresh_documents(ws, conn, [document_id])
        meta = get_meta(conn, document_id)
    if as_json:
        _echo_json(meta.as_dict())
        return
    from motcua.archive.documents import FIELD_LABELS

    click.echo(f"Tài liệu #{document_id}:")
    for key, label in FIELD_LABELS.items():
        click.echo(f"  {label}: {getattr(meta, key) or '-'}")


@main.group()
def result() -> None:
    """Kết quả giải quyết thủ tục (bản điện tử)."""


@result.command("add")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dossier", "-d", "dossier_code", required=True, help="Mã hồ sơ.")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ.")
@click.option("--name", default=None, help="Tên giấy tờ kết quả.")
@click.option("--number", "number_symbol", default=None, help="Số, ký hiệu.")
@click.option("--issued", "issue_date", default=None, help="Ngày ban hành (DD/MM/YYYY).")
@click.option("--issuer", "issuing_body", default=None, help="Cơ quan ban hành.")
@click.option("--valid-from", default=None, help="Hiệu lực từ ngày.")
@click.option("--valid-to", default=None, help="Hiệu lực đến ngày.")
@click.option("--scope", "validity_scope", default=None, help="Phạm vi hiệu lực.")
@click.option("--no-stamp", is_flag=True, help="Không tạo bản đóng dấu “KẾT QUẢ ĐIỆN TỬ”.")
@click.pass_context
@handle_errors
def result_add(ctx: click.Context, file: Path, dossier_code: str, no_stamp: bool,
               **meta: str | None) -> None:
    """Lưu kết quả (giữ nguyên từng byte), cấp mã <mã hồ sơ>-KQ<n>."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.documents import add_result
    from motcua.archive.stamp import stamp_document

    ws = get_workspace(ctx)
    catalogue = load_catalogue(ws)
    with open_db(ws) as conn:
        added = add_result(ws, conn, file, dossier_code, _actor(ws), meta,
                           catalogue.document_types)
        stamped = None
        if not no_stamp and file.suffix.lower() == ".pdf":
            stamped = stamp_document(ws, conn, added.document_id)
        _index_quietly(ws, conn, added.document_id)
    click.echo(f"Đã lưu kết quả {added.result_code} (tài liệu #{added.document_id}).")
    if stamped:
        click.echo(f"  Bản đóng dấu “KẾT QUẢ ĐIỆN TỬ”: {stamped.stamped_path}")


def _index_quietly(ws: Workspace, conn: Any, document_id: int) -> None:
    from motcua.archive.bags import index_documents

    index_documents(ws, conn, [document_id])


@main.group()
def procedures() -> None:
    """Danh mục thủ tục hành chính (procedures.toml trong kho làm việc)."""


@procedures.command("list")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def procedures_list(ctx: click.Context, as_json: bool) -> None:
    """Liệt kê thủ tục: mã, tên, lĩnh vực, thời hạn, thành phần hồ sơ."""
    from motcua.archive.catalogue import load_catalogue

    ws = get_workspace(ctx)
    catalogue = load_catalogue(ws)
    if as_json:
        _echo_json({"procedures": [p.as_dict() for p in catalogue.procedures],
                    "document_types": catalogue.document_types})
        return
    for p in catalogue.procedures:
        click.echo(f"{p.code}  {p.name}  [{p.field}]  {p.processing_days} ngày làm việc")
        for t in p.requires:
            mark = " (tái sử dụng được)" if t in p.reusable else ""
            click.echo(f"    - {catalogue.type_name(t)} [{t}]{mark}")


@main.group()
def reuse() -> None:
    """Tái sử dụng giấy tờ đã số hóa."""


@reuse.command("find")
@click.option("--owner", "-o", "owner_id", required=True, help="Mã định danh chủ sở hữu.")
@click.option("--type", "type_code", default=None, help="Mã loại giấy tờ.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def reuse_find(ctx: click.Context, owner_id: str, type_code: str | None, as_json: bool) -> None:
    """Giấy tờ còn hiệu lực của chủ sở hữu."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.owners import get_owner
    from motcua.archive.reuse import find_valid

    ws = get_workspace(ctx)
    catalogue = load_catalogue(ws)
    with open_db(ws) as conn:
        get_owner(conn, owner_id)
        found = find_valid(conn, owner_id.strip(), type_code)
    if as_json:
        _echo_json([c.as_dict() for c in found])
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
@click.pass_context
@handle_errors
def reuse_attach(ctx: click.Context, doc_ref: str, dossier_code: str) -> None:
    """Gắn một giấy tờ trong kho vào hồ sơ, không cần quét lại."""
    from motcua.archive.documents import resolve_document
    from motcua.archive.indexing import refresh_documents
    from motcua.archive.reuse import attach

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        r = attach(conn, resolve_document(conn, doc_ref), dossier_code, _actor(ws))
        refresh_documents(ws, conn, [r.document_id])
    click.echo(f"Đã gắn tài liệu #{r.document_id} vào hồ sơ {r.dossier_code} (tái sử dụng).")


@main.command()
@click.option("--sample", "sample_percent", type=click.FloatRange(0, 100, min_open=True),
              default=100.0, show_default=True, help="Kiểm tra ngẫu nhiên PERCENT % số tệp.")
@click.option("--history", "show_history", is_flag=True, help="Xem các lần kiểm tra trước.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def verify(ctx: click.Context, sample_percent: float, show_history: bool, as_json: bool) -> None:
    """Kiểm tra tính toàn vẹn các tệp trong kho (tính lại SHA-256)."""
    from motcua.archive.fixity import history, verify_store

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        if show_history:
            runs = history(conn)
            if as_json:
                _echo_json(runs)
            for r in [] if as_json else runs:
                click.echo(f"#{r['id']} {_vi_time(ws, str(r['started_at']))}  "
                           f"{r['sample_percent']:g}%  "
                           f"{r['files_checked']} tệp  thiếu {r['missing']}  hỏng {r['corrupt']}"
                           f"  thừa {r['orphaned']}")
            return
        report = verify_store(ws, conn, sample_percent, _actor(ws))
    if as_json:
        _echo_json({"run_id": report.run_id, "files_checked": report.files_checked,
                    "problems": [p.__dict__ for p in report.problems]})
    else:
        labels = {"missing": "THIẾU", "corrupt": "HỎNG", "orphaned": "THỪA (không có trong CSDL)"}
        for p in report.problems:
            click.echo(f"{labels[p.kind]}: {p.path}"
                       + (f" (tài liệu #{p.document_id})" if p.document_id else ""))
        click.echo(f"Đã kiểm tra {report.files_checked} tệp: thiếu {report.count('missing')}, "
                   f"hỏng {report.count('corrupt')}, thừa {report.count('orphaned')}.")
    if not report.ok:
        sys.exit(2)


@main.group()
def audit() -> None:
    """Nhật ký kiểm tra (chỉ ghi thêm, nối chuỗi băm)."""


@audit.command("verify")
@click.pass_context
@handle_errors
def audit_verify(ctx: click.Context) -> None:
    """Kiểm tra nhật ký không bị sửa hoặc xóa."""
    from motcua.archive import audit as audit_log

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        problems = audit_log.verify(conn)
        count = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    for p in problems:
        click.secho(p.message, fg="red")
    if problems:
        click.echo(f"Nhật ký KHÔNG toàn vẹn: {len(problems)} vấn đề.")
        sys.exit(2)
    click.echo(f"Nhật ký toàn vẹn: {count} mục, chuỗi băm khớp.")


@audit.command("log")
@click.option("--subject", default=None, help="Ví dụ document:12, dossier:<mã>, owner:<mã>.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def audit_log_cmd(ctx: click.Context, subject: str | None, as_json: bool) -> None:
    """Xem nhật ký."""
    from motcua.archive import audit as audit_log

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        rows = audit_log.entries(conn, subject)
    if as_json:
        _echo_json([e.__dict__ for e in rows])
        return
    for e in rows:
        click.echo(f"{e.seq:>6} {e.at}  {e.action:<14} {e.subject:<40} {e.actor}")


@main.command("export")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--owner", "owner_id", default=None, help="Xuất dữ liệu của một chủ sở hữu.")
@click.option("--dossier", "dossier_code", default=None, help="Xuất một hồ sơ.")
@click.option("--all", "everything", is_flag=True, help="Xuất toàn bộ kho.")
@click.pass_context
@handle_errors
def export_cmd(ctx: click.Context, out: Path, owner_id: str | None, dossier_code: str | None,
               everything: bool) -> None:
    """Xuất gói BagIt (tệp + metadata.json) vào thư mục OUT."""
    from motcua.archive.bags import export_bag
    from motcua.errors import UserError

    if sum(x is not None and x is not False for x in (owner_id, dossier_code, everything)) != 1:
        raise UserError("Chọn đúng một trong --owner, --dossier hoặc --all.", "bad scope")
    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        done = export_bag(ws, conn, out, _actor(ws), owner=owner_id, dossier=dossier_code)
    click.echo(f"Đã xuất {done.documents} tài liệu, {done.files} tệp, {done.dossiers} hồ sơ, "
               f"{done.owners} chủ sở hữu vào {done.path}")


@main.command("import")
@click.argument("bag", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.pass_context
@handle_errors
def import_cmd(ctx: click.Context, bag: Path) -> None:
    """Nhập gói BagIt (kiểm tra mọi mã SHA-256 trước khi nhận)."""
    from motcua.archive.bags import import_bag

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        done = import_bag(ws, conn, bag, _actor(ws))
    click.echo(f"Đã nhập {done.documents} tài liệu mới ({done.skipped_documents} đã có), "
               f"{done.dossiers} hồ sơ, {done.owners} chủ sở hữu; {done.files} tệp.")


# ---- end warehouse ----

# ---- templates: render / templates / number (issue 5) ----
def _templates_ws(ctx: click.Context, required: bool) -> Workspace | None:
    from motcua.errors import WorkspaceNotFound

    try:
        return get_workspace(ctx)
    except WorkspaceNotFound:
        if required:
            raise
        click.secho("Chú ý: không có kho làm việc, dùng thông tin cơ quan mặc định.",
                    fg="yellow", err=True)
        return None


@main.command("render")
@click.argument("kind", type=click.Choice(
    ["quyet-dinh", "ke-hoach", "quyet-dinh-ke-hoach", "bao-cao", "tiep-nhan", "xin-loi"]))
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False,
                                                             exists=True))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True,
              help="Tên tệp ra (không cần đuôi): ghi OUT.docx và OUT.pdf.")
@click.option("--number", "number", default=None,
              help="Số văn bản: một số, hoặc “auto” để lấy số tiếp theo trong sổ; "
                   "bỏ trống là bản dự thảo.")
@click.option("--sign", "sign_p12", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Ký số PDF bằng chứng thư PKCS#12 (.p12/.pfx).")
@click.option("--password", "password", envvar="MOTCUA_SIGN_PASSWORD", default=None,
              help="Mật khẩu của tệp .p12 (hoặc biến môi trường MOTCUA_SIGN_PASSWORD).")
@click.option("--archive/--no-archive", "archive", default=True,
              help="Lưu văn bản đã có số vào kho và chỉ mục tìm kiếm (mặc định: có).")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.pass_context
@handle_errors
def render_cmd(ctx: click.Context, kind: str, spec_path: Path, output: Path, number: str | None,
               sign_p12: Path | None, password: str | None, archive: bool,
               as_json: bool) -> None:
    """Soạn văn bản KIND từ tệp nội dung SPEC (YAML/JSON): DOCX và PDF/A có ô ký số.

    Văn bản đã có số được lưu vào kho (nguyên bản PDF) và chỉ mục tìm kiếm; bản dự thảo
    (chưa có số) thì không."""
    from motcua.errors import UserError
    from motcua.templates import load_spec, render

    num: int | str | None = None
    if number is not None:
        if number.strip().lower() == "auto":
            num = "auto"
        elif number.strip().isdigit() and int(number) > 0:
            num = int(number)
        else:
            raise UserError(f"--number phải là một số hoặc “auto”, không phải “{number}”.",
                            f"bad --number {number}")
    ws = _templates_ws(ctx, required=num == "auto")
    spec = load_spec(kind, spec_path)
    result = render(ws, spec, output, number=num, sign_p12=sign_p12,
                    sign_password=password.encode() if password else None)
    document_id = None
    if archive and ws is not None and result.number is not None:
        document_id = _archive_issued(ws, result)
    if as_json:
        _echo_json(result.metadata() | {"document_id": document_id})
        return
    click.echo(f"Đã soạn {result.type_name.lower()} {result.number_symbol or ''}".rstrip())
    click.echo(f"  DOCX: {result.docx}")
    click.echo(f"  PDF/A: {result.pdf} ({result.page_count} trang, ô ký số ở trang "
               f"{result.field_page}{', đã ký số' if result.signed else ''})")
    if document_id is not None:
        click.echo(f"  Đã lưu vào kho: tài liệu số {document_id} (tìm được bằng motcua search)")


def _archive_issued(ws: Workspace, result: Any) -> int:
    """The rendered PDF into the archive, with its metadata, and into the search index."""
    from motcua.archive.documents import add_issued

    with open_db(ws) as conn:
        document_id = add_issued(ws, conn, result.pdf, _actor(ws), kind=result.kind, meta={
            "type_code": result.number_symbol.split("/", 1)[-1].split("-", 1)[0] or None,
            "name": f"{result.type_name} số {result.number_symbol}",
            "number_symbol": result.number_symbol,
            "issue_date": result.issue_date.isoformat(),
            "issuing_body": result.issuing_body,
            "summary": result.summary,
        })
        _index_quietly(ws, conn, document_id)
    return document_id


@main.group("templates")
def templates_group() -> None:
    """Các mẫu văn bản (DOCX): xem danh sách, xuất ra để sửa."""


@templates_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def templates_list(ctx: click.Context, as_json: bool) -> None:
    """Liệt kê các mẫu; mẫu của kho làm việc (thư mục templates/) thay mẫu có sẵn."""
    from motcua.templates import list_templates

    ws = _templates_ws(ctx, required=False)
    rows = list_templates(ws)
    if as_json:
        _echo_json([{"name": n, "path": str(p), "overridden": o} for n, p, o in rows])
        return
    for name, path, overridden in rows:
        where = f"mẫu riêng của kho: {path}" if overridden else "mẫu có sẵn"
        click.echo(f"{name:28} {where}")


@templates_group.command("export")
@click.argument("name")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
              help="Tệp hoặc thư mục đích (mặc định: thư mục templates/ của kho làm việc).")
@click.pass_context
@handle_errors
def templates_export(ctx: click.Context, name: str, output: Path | None) -> None:
    """Xuất mẫu có sẵn NAME ra để sửa; đặt vào <kho>/templates/ để dùng thay mẫu gốc."""
    from motcua.templates import export_template

    ws = _templates_ws(ctx, required=output is None)
    if output is None:
        assert ws is not None
        output = ws.root / "templates"
        output.mkdir(parents=True, exist_ok=True)
    target = export_template(ws, name, output)
    click.echo(f"Đã xuất mẫu {name} ra {target}")


@main.group("number")
def number_group() -> None:
    """Sổ đăng ký số văn bản đi."""


@number_group.command("take")
@click.option("--type", "type_code", required=True,
              help="Ký hiệu loại văn bản: QĐ, KH, BC, TB, …; “CV” cho công văn.")
@click.option("--year", type=int, default=None, help="Năm (mặc định: năm nay).")
@click.option("--document", default="", help="Văn bản nhận số (ghi vào sổ).")
@click.option("--unit", default="", help="Đơn vị soạn thảo (ký hiệu công văn: UBND-VX).")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def number_take(ctx: click.Context, type_code: str, year: int | None, document: str, unit: str,
                as_json: bool) -> None:
    """Lấy số tiếp theo cho cơ quan ban hành và năm (không bao giờ cấp trùng)."""
    from motcua.templates import take_for_workspace

    ws = get_workspace(ctx)
    code = "" if type_code.upper() == "CV" else type_code
    taken = take_for_workspace(ws, code, year=year, document=document, unit=unit)
    if as_json:
        _echo_json({"number": taken.number, "text": taken.text, "year": taken.year,
                    "symbol": taken.symbol, "issuing_body": taken.issuing_body})
        return
    click.echo(f"Số: {taken.text}")


@number_group.command("list")
@click.option("--year", type=int, default=None, help="Chỉ năm này.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def number_list(ctx: click.Context, year: int | None, as_json: bool) -> None:
    """Liệt kê các số đã cấp."""
    from motcua.templates.numbering import list_numbers

    ws = get_workspace(ctx)
    with open_db(ws) as conn:
        rows = list_numbers(conn, year)
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['year']}  {int(r['number']):02d}/{r['symbol']:14} {r['taken_at']}  "
                   f"{r['document']}")


# ---- end templates ----

# ---- lifecycle and reports (issue 6) ----


def _lifecycle_env(ws: Workspace) -> tuple[Any, Any]:
    """The workspace catalogue and working-day calendar."""
    from motcua.archive.catalogue import load_catalogue
    from motcua.archive.workdays import load_calendar

    return load_catalogue(ws), load_calendar(ws)


def _vi_time(ws: Workspace, iso: str) -> str:
    """A UTC timestamp of the database as the centre's `dd/mm/yyyy HH:MM`."""
    from datetime import datetime as _datetime

    from motcua.archive.settings import centre_zone

    return _datetime.fromisoformat(iso).astimezone(centre_zone(ws)).strftime(
        "%d/%m/%Y %H:%M")


def _vi_day(iso: str | None) -> str:
    from datetime import date as _date

    return _date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else "—"


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
@click.pass_context
@handle_errors
def dossier_receive(ctx: click.Context, procedure_code: str, owner_id: str, channel: str,
                    at_text: str | None, code: str | None, no_print: bool, no_pdf: bool,
                    as_json: bool) -> None:
    """Tiếp nhận hồ sơ tại Bộ phận Một cửa: cấp mã, tính ngày hẹn trả, in Mẫu 01."""
    from motcua.archive import lifecycle as lc
    from motcua.archive.settings import warehouse_settings
    from motcua.reports.forms import print_receipt

    ws = get_workspace(ctx)
    catalogue, calendar = _lifecycle_env(ws)
    at = lc.parse_datetime(at_text, "--at") if at_text else None
    with open_db(ws) as conn:
        got = lc.receive(ws, conn, catalogue, calendar, procedure_code=procedure_code,
                         owner_id=owner_id, channel=channel, actor=_actor(ws), at=at,
                         code=code, auto_reuse_mode=warehouse_settings(ws).auto_reuse)
        _refresh_dossier(ws, conn, got.record.code)
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
        _echo_json(data)
        return
    settings = lc.lifecycle_settings(ws)
    click.echo(f"Đã tiếp nhận hồ sơ {rec.code}: {rec.procedure_name}")
    click.echo(f"  Chủ hồ sơ: {rec.owner_name} ({rec.owner_id})")
    click.echo(f"  Thời điểm tiếp nhận: {lc.parse_datetime(rec.received_at or ''):%H:%M %d/%m/%Y}")
    click.echo(f"  Thời hạn giải quyết: {rec.processing_days} ngày làm việc")
    click.echo(f"  Hẹn trả kết quả: {settings.return_time} ngày {_vi_day(rec.due_date)}")
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
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def dossier_resolve(ctx: click.Context, code: str, result_file: Path, at_text: str | None,
                    no_stamp: bool, as_json: bool) -> None:
    """Ghi nhận kết quả giải quyết hồ sơ: trước hạn, đúng hạn hay quá hạn."""
    from motcua.archive import lifecycle as lc

    ws = get_workspace(ctx)
    at = lc.parse_datetime(at_text, "--at") if at_text else None
    with open_db(ws) as conn:
        done = lc.resolve(ws, conn, code, result_file, _actor(ws), at)
        if not no_stamp and result_file.suffix.lower() == ".pdf":
            from motcua.archive.stamp import stamp_document

            try:
                stamp_document(ws, conn, done.document_id)
            except MotcuaError as exc:
                click.secho(f"Cảnh báo: chưa tạo được bản đóng dấu “KẾT QUẢ ĐIỆN TỬ” "
                            f"({exc.message}).", fg="yellow", err=True)
        _index_quietly(ws, conn, done.document_id)
    rec = done.record
    if as_json:
        _echo_json(rec.as_dict() | {"result_code": done.result_code,
                                    "document_id": done.document_id})
        return
    colour = {"early": "green", "on_time": "green", "late": "red"}[done.outcome]
    click.echo(f"Đã ghi nhận kết quả {done.result_code} cho hồ sơ {rec.code}.")
    click.echo(f"  Hẹn trả: {_vi_day(rec.due_date)}; có kết quả: {_vi_day(rec.resolved_on)}")
    click.secho(f"  Kết quả: {lc.OUTCOME_VI[done.outcome]}", fg=colour)
    if done.outcome == "late":
        click.echo("  Hồ sơ quá hạn: cần văn bản xin lỗi (Mẫu 04) nếu chưa có.")


@dossier.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--mapping", "-m", "mapping_file", required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Tệp ánh xạ cột (TOML), xem examples/import-mapping.toml.")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.pass_context
@handle_errors
def dossier_import_cmd(ctx: click.Context, csv_file: Path, mapping_file: Path,
                       as_json: bool) -> None:
    """Nhập hồ sơ từ tệp CSV xuất từ Hệ thống thông tin giải quyết TTHC của tỉnh."""
    from motcua.archive.dossier_import import import_csv, load_mapping

    ws = get_workspace(ctx)
    catalogue, calendar = _lifecycle_env(ws)
    mapping = load_mapping(mapping_file)
    with open_db(ws) as conn:
        rep = import_csv(conn, csv_file, mapping, catalogue, calendar, _actor(ws))
        from motcua.archive.indexing import documents_of_dossier, refresh_documents

        refresh_documents(ws, conn, [d for code in (*rep.inserted, *rep.updated)
                                     for d in documents_of_dossier(conn, code)])
    if as_json:
        _echo_json(rep.as_dict())
    else:
        click.echo(f"Thêm mới {len(rep.inserted)} hồ sơ, cập nhật {len(rep.updated)}, "
                   f"không đổi {len(rep.unchanged)}, dòng lỗi {len(rep.bad)}.")
        for bad in rep.bad:
            click.secho(f"  Dòng {bad.line}" + (f" ({bad.code})" if bad.code else "")
                        + f": {bad.reason}", fg="red")
    if rep.bad:
        sys.exit(2)


@main.command("overdue")
@click.option("--letters", is_flag=True,
              help="Tạo văn bản xin lỗi (Mẫu 04) cho hồ sơ quá hạn chưa có văn bản.")
@click.option("--on", "on_text", default=None, help="Xét quá hạn tại ngày này (mặc định: hôm nay).")
@click.option("--reason", default=None, help="Lý do chậm ghi trong văn bản xin lỗi.")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Số ngày làm việc gia hạn (ngày hẹn trả mới).")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX của Mẫu 04, không tạo PDF/A.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def overdue_cmd(ctx: click.Context, letters: bool, on_text: str | None, reason: str | None,
                days: int | None, no_pdf: bool, as_json: bool) -> None:
    """Liệt kê hồ sơ đang giải quyết đã quá ngày hẹn trả."""
    from motcua.archive import lifecycle as lc
    from motcua.reports.forms import issue_apology_letters
    from motcua.reports.periods import parse_day

    ws = get_workspace(ctx)
    catalogue, calendar = _lifecycle_env(ws)
    # today on the centre's wall clock ([warehouse] timezone), not the machine's
    today = parse_day(on_text, "Ngày xét") if on_text else lc.local_today(ws)
    with open_db(ws) as conn:
        lc.sync_lifecycle(conn, catalogue, calendar)
        late = lc.overdue(conn, today)
        letters_out: list[Any] = []
        skipped: list[str] = []
        if letters:
            letters_out, skipped = issue_apology_letters(
                ws, conn, calendar, today, _actor(ws), reason=reason, extension_days=days,
                pdf=not no_pdf)
        has_letter = {r.code: lc.get_apology(conn, r.code) for r in late}
    if as_json:
        _echo_json({"on": today.isoformat(),
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
        note = (f"đã xin lỗi ngày {_vi_day(apology.issued_on)}" if apology and apology.done
                else "văn bản xin lỗi chưa tạo xong" if apology else "chưa xin lỗi")
        click.echo(f"  {r.code}  {r.procedure_name}  {r.owner_name or r.owner_id}  "
                   f"hẹn {_vi_day(r.due_date)}  quá {r.days_late(today)} ngày  ({note})")
    if letters:
        click.echo(f"Đã tạo {len(letters_out)} văn bản xin lỗi (Mẫu 04); "
                   f"{len(skipped)} hồ sơ đã có văn bản từ trước, không tạo lại.")
        for x in letters_out:
            click.echo(f"  {x.dossier_code}: hẹn trả mới {_vi_day(x.new_due)}  "
                       f"{x.pdf or x.docx}")


@main.group()
def report() -> None:
    """Báo cáo định kỳ (Nghị định 09/2019) và chỉ số phục vụ (Quyết định 766)."""


@report.command("quarterly")
@click.option("--quarter", "-q", default=None, help="Quý, ví dụ 2025Q3 (15/6–14/9/2025).")
@click.option("--year", type=int, default=None, help="Năm báo cáo (15/12 năm trước–14/12).")
@click.option("--from", "date_from", default=None, help="Kỳ tự chọn: từ ngày (YYYY-MM-DD).")
@click.option("--to", "date_to", default=None, help="Kỳ tự chọn: đến ngày (YYYY-MM-DD).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Ghi số liệu Biểu 06 ra tệp CSV.")
@click.option("--json", "as_json", is_flag=True, help="In số liệu dạng JSON (không tạo văn bản).")
@click.option("--output", "-o", "out", type=click.Path(path_type=Path), default=None,
              help="Tên tệp báo cáo (không đuôi); mặc định reports/bao-cao-<kỳ>.")
@click.option("--number", default=None, help="Số văn bản, hoặc “auto” lấy từ sổ đăng ký.")
@click.option("--no-pdf", is_flag=True, help="Chỉ tạo DOCX, không tạo PDF/A.")
@click.pass_context
@handle_errors
def report_quarterly(ctx: click.Context, quarter: str | None, year: int | None,
                     date_from: str | None, date_to: str | None, csv_path: Path | None,
                     as_json: bool, out: Path | None, number: str | None,
                     no_pdf: bool) -> None:
    """Báo cáo kết quả giải quyết TTHC (Biểu 06 theo lĩnh vực), số hóa, xin lỗi, biểu đồ."""
    from motcua.archive import lifecycle as lc
    from motcua.reports.numbers import quarter_numbers
    from motcua.reports.periods import choose_period
    from motcua.reports.quarterly import (
        DEFINITIONS_VI,
        default_output,
        pct,
        render_quarterly,
        to_json,
        write_csv,
    )

    ws = get_workspace(ctx)
    period = choose_period(quarter=quarter, year=year, date_from=date_from, date_to=date_to)
    catalogue, calendar = _lifecycle_env(ws)
    with open_db(ws) as conn:
        lc.sync_lifecycle(conn, catalogue, calendar)
        numbers = quarter_numbers(conn, period)
    if as_json:
        if csv_path:
            write_csv(numbers, csv_path)
        click.echo(to_json(numbers))
        return
    num: int | str | None = None
    if number is not None:
        num = "auto" if number == "auto" else int(number) if number.isdigit() else number
    made = render_quarterly(ws, numbers, out or default_output(ws, numbers), pdf=not no_pdf,
                            csv_path=csv_path, number=num)
    t = numbers.total
    click.echo(f"Báo cáo {period.label} ({period.range_vi}):")
    click.echo(f"  Nhận giải quyết {t.received_total} (kỳ trước chuyển qua {t.carried_over}, "
               f"trực tuyến {t.received_online}, trực tiếp và bưu chính "
               f"{t.received_direct_post})")
    click.echo(f"  Đã giải quyết {t.resolved_total} (trước hạn {t.resolved_early}, đúng hạn "
               f"{t.resolved_on_time}, quá hạn {t.resolved_late}); tỷ lệ đúng hạn "
               f"{pct(t.on_time_rate)}")
    click.echo(f"  Đang giải quyết {t.pending_total} (trong hạn {t.pending_within}, quá hạn "
               f"{t.pending_overdue}); văn bản xin lỗi trong kỳ: {numbers.apologies}")
    click.echo(f"  Số liệu tính trong {numbers.seconds:.2f} giây.")
    click.echo("Cách tính:")
    for line in DEFINITIONS_VI[1:4]:
        click.echo(f"  - {line}")
    click.echo(f"Văn bản: {made.pdf or made.docx}" + ("" if made.pdf is None
                                                       else " (sẵn sàng ký số)"))
    click.echo(f"  DOCX: {made.docx}")
    click.echo(f"  Biểu đồ: {made.chart}")
    if made.csv:
        click.echo(f"  CSV: {made.csv}")


@report.command("indicators")
@click.option("--month", default=None, help="Tháng, ví dụ 2025-09 (kỳ 15/8–14/9/2025).")
@click.option("--calendar-month", is_flag=True,
              help="Tính theo tháng dương lịch (ngày 1 đến cuối tháng) thay vì kỳ 15–14.")
@click.option("--quarter", "-q", default=None, help="Hoặc một quý, ví dụ 2025Q3.")
@click.option("--from", "date_from", default=None, help="Kỳ tự chọn: từ ngày.")
@click.option("--to", "date_to", default=None, help="Kỳ tự chọn: đến ngày.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@click.pass_context
@handle_errors
def report_indicators(ctx: click.Context, month: str | None, calendar_month: bool,
                      quarter: str | None, date_from: str | None, date_to: str | None,
                      as_json: bool) -> None:
    """Chỉ số phục vụ người dân (Quyết định 766) mà Kho dữ liệu tính được, kèm công thức."""
    from motcua.archive import lifecycle as lc
    from motcua.reports.numbers import PROCESSING_TIME_FORMULA, indicator_lines, indicators
    from motcua.reports.periods import choose_period, parse_month
    from motcua.reports.quarterly import pct

    ws = get_workspace(ctx)
    if month is not None and calendar_month:
        period = parse_month(month, calendar=True)
    else:
        period = choose_period(quarter=quarter, month=month, date_from=date_from,
                               date_to=date_to)
    catalogue, calendar = _lifecycle_env(ws)
    with open_db(ws) as conn:
        lc.sync_lifecycle(conn, catalogue, calendar)
        ind = indicators(conn, period, calendar)
    if as_json:
        data = ind.as_dict()
        data["processing_time_formula"] = PROCESSING_TIME_FORMULA
        _echo_json(data)
        return
    click.echo(f"Chỉ số {period.label} ({period.range_vi}):")
    for _key, name, value, num, den, formula in indicator_lines(
            ind.numbers.total, ind.numbers.digitization_total):
        click.echo(f"  {name}: {pct(value)} ({num}/{den})")
        click.echo(f"      = {formula}")
    click.echo("  Thời gian giải quyết trung bình theo thủ tục (ngày làm việc):")
    click.echo(f"      = {PROCESSING_TIME_FORMULA}")
    if not ind.procedures:
        click.echo("      (không có hồ sơ giải quyết trong kỳ)")
    for p in ind.procedures:
        legal = f"quy định {p.legal_days} ngày" if p.legal_days is not None else "chưa rõ hạn"
        avg = f"{p.average_working_days:.1f}".replace(".", ",")
        click.echo(f"    {p.procedure_code}  {p.procedure_name}: {avg} ngày "
                   f"({legal}; {p.resolved} hồ sơ, {p.on_time} đúng hạn)")


# ---- end lifecycle ----
