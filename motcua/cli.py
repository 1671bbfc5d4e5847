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
    from motcua.ingest import ingest_paths

    ws = get_workspace(ctx)
    outcomes = ingest_paths(ws, list(paths), progress=None if as_json else _print_outcome)
    if as_json:
        _echo_json([o.__dict__ for o in outcomes])
    else:
        click.echo(_summary(outcomes))
    if any(o.state in ("quarantined", "refused", "retry") for o in outcomes):
        sys.exit(2)


@main.command()
@click.option("--poll", is_flag=True, default=None,
              help="Dò thư mục định kỳ thay vì chờ sự kiện (dùng cho thư mục mạng).")
@click.option("--stable-seconds", type=float, default=None,
              help="Chỉ nhận tệp đã không đổi trong số giây này.")
@click.pass_context
@handle_errors
def watch(ctx: click.Context, poll: bool | None, stable_seconds: float | None) -> None:
    """Theo dõi thư mục nhận và số hóa mọi tệp được đặt vào (Ctrl+C để dừng)."""
    from motcua.ingest.watch import Watcher

    ws = get_workspace(ctx)
    click.echo(f"Đang theo dõi {ws.inbox} — nhấn Ctrl+C để dừng.")
    Watcher(ws, poll=poll, stable_seconds=stable_seconds, progress=_print_outcome).run()
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
    """Tìm kiếm toàn văn (không phân biệt dấu; khớp đúng dấu được xếp trước)."""
    from motcua.index import SearchFilters, open_engine

    ws = get_workspace(ctx)
    filters = SearchFilters(
        dossier_code=dossier, owner_id=owner, procedure_code=procedure, doc_type=doc_type,
        date_from=_parse_date(date_from, "--from"), date_to=_parse_date(date_to, "--to"))
    engine = open_engine(ws.index_dir, ws.config.index.engine)
    try:
        hits = engine.search(query, filters, limit=limit)
    finally:
        engine.close()
    if as_json:
        _echo_json([{"document_id": h.document_id, "page": h.page_no, "score": h.score,
                     "dossier_code": h.dossier_code, "file": h.original_name,
                     "snippet": h.snippet_text("<b>", "</b>")} for h in hits])
        return
    if not hits:
        click.echo("Không tìm thấy kết quả nào.")
        return
    for n, hit in enumerate(hits, start=1):
        click.secho(f"{n}. {hit.original_name} — trang {hit.page_no} (tài liệu {hit.document_id}"
                    f", hồ sơ {hit.dossier_code or 'chưa gán'})", bold=True)
        styled = "".join(click.style(text, fg="yellow", bold=True) if matched else text
                         for text, matched in hit.snippet)
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
        conf = "đã có sẵn chữ" if page["confidence"] is None else f"độ tin cậy {page['confidence']:.0f}"
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
    from motcua.archive import records
    from motcua.archive.extract import is_dossier_code
    from motcua.archive.indexing import index_document
    from motcua.errors import UserError
    from motcua.index import open_engine

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
        engine = open_engine(ws.index_dir, ws.config.index.engine)
        try:
            index_document(conn, engine, document_id)
        finally:
            engine.close()
    click.echo(f"Đã gán tài liệu {document_id} vào hồ sơ {dossier}.")


@main.command()
@click.pass_context
@handle_errors
def reindex(ctx: click.Context) -> None:
    """Xây dựng lại chỉ mục tìm kiếm từ cơ sở dữ liệu."""
    from motcua.archive.indexing import rebuild
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

                pages = rebuild(conn, engine, progress=advance)
        finally:
            engine.close()
    click.echo(f"Đã lập chỉ mục lại {total} tài liệu, {pages} trang.")


# ---- end spine ----

# ---- intake service: status / logs (issue 3) ----
# ---- end intake service ----

# ---- warehouse: owner / dossier / doc / result / reuse / verify / audit / export (issue 4) ----
# ---- end warehouse ----

# ---- templates: render / templates / number (issue 5) ----
# ---- end templates ----

# ---- lifecycle and reports (issue 6) ----
# ---- end lifecycle ----
