"""The staff web page: a Starlette app that reads the workspace's database, store and index.

Every request opens its own database connection and, for searches, its own index
reader, so documents committed by the watcher in another process show up at once.
Nothing here changes the archive; downloads are recorded in the audit log as views.

There is no login: the app refuses requests whose Host is not in `allowed_hosts`
(by default the loopback names, which also blocks DNS-rebinding pages in the
staff's browser) and `motcua serve` binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua import db
from motcua.errors import MotcuaError
from motcua.workspace import Workspace

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_SIZE = 20
MAX_PAGE = 50
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
     "object-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "SAMEORIGIN"),
)

# ---- Vietnamese labels ------------------------------------------------------

INTAKE_STATES: dict[str, str] = {
    "pending": "Đang chờ",
    "processing": "Đang xử lý",
    "retry": "Chờ thử lại",
    "done": "Đã lưu trữ",
    "duplicate": "Trùng (đã có trong kho)",
    "quarantined": "Đã cách ly",
    "refused": "Từ chối",
    "vanished": "Tệp đã biến mất",
}
DOCUMENT_STATES: dict[str, str] = {
    "stored": "Đã lưu bản gốc, chưa nhận dạng chữ",
    "archived": "Đã số hóa, chưa lập chỉ mục",
    "indexed": "Đã số hóa, tra cứu được",
}
DOSSIER_SOURCES: dict[str, str] = {
    "folder": "theo thư mục nhận",
    "text": "mã hồ sơ tìm thấy trong nội dung",
    "manual": "gán thủ công",
    "import": "nhập từ gói dữ liệu",
}
IDENTIFIER_KINDS: dict[str, str] = {
    "citizen_id": "Số định danh cá nhân",
    "tax_code": "Mã số thuế",
    "dossier_code": "Mã hồ sơ",
}
CHANNELS: dict[str, str] = {"online": "Trực tuyến", "direct": "Trực tiếp", "post": "Bưu chính"}
MEDIA_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "Ảnh JPEG",
    "image/png": "Ảnh PNG",
    "image/tiff": "Ảnh TIFF",
}
OWNER_KINDS: dict[str, str] = {"citizen": "Cá nhân", "organisation": "Tổ chức"}

# Downloadable files of a document: column holding the stored path, label.
FILE_KINDS: dict[str, str] = {
    "original": "bản gốc",
    "archival": "bản lưu trữ PDF/A",
    "stamped": "bản có dấu số hóa",
}
# Types a browser may show inline; anything else is sent as an attachment.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


# ---- formatting filters -----------------------------------------------------


def vi_datetime(value: str | None, zone: tzinfo | None = None) -> str:
    """An ISO timestamp (UTC in the database) as `dd/mm/yyyy HH:MM` in the centre's zone."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%d/%m/%Y %H:%M")
    # Staff read the centre's time, whatever zone the server runs in.
    return moment.astimezone(zone or DEFAULT_ZONE).strftime("%d/%m/%Y %H:%M")


def vi_date(value: str | date | None) -> str:
    if not value:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        return date.fromisoformat(value[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return value


def vi_decimal(value: float | None, digits: int = 1) -> str:
    """Vietnamese number format: comma before decimals, dot between thousands."""
    if value is None:
        return ""
    text = f"{value:,.{digits}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def vi_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{vi_decimal(size / 1024)} KB"
    return f"{vi_decimal(size / (1024 * 1024))} MB"


DEFAULT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _templates(zone: tzinfo = DEFAULT_ZONE) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(vi_datetime=lambda value: vi_datetime(value, zone), vi_date=vi_date,
                       vi_decimal=vi_decimal, vi_size=vi_size)
    env.globals.update(INTAKE_STATES=INTAKE_STATES, DOCUMENT_STATES=DOCUMENT_STATES,
                       DOSSIER_SOURCES=DOSSIER_SOURCES, IDENTIFIER_KINDS=IDENTIFIER_KINDS,
                       CHANNELS=CHANNELS, MEDIA_TYPES=MEDIA_TYPES, OWNER_KINDS=OWNER_KINDS)
    return Jinja2Templates(env=env)


# ---- host check and security headers ----------------------------------------


def host_name(header: str) -> str:
    """The host part of a Host header, without port or IPv6 brackets, lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class GuardMiddleware:
    """Refuse unknown Host headers; add security headers to every response."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.allowed = frozenset(h.lower().strip("[]") for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = host_name(Headers(scope=scope).get("host", ""))
        if not self.allow_any and host not in self.allowed:
            response = PlainTextResponse(
                "Địa chỉ máy chủ không được phép. Hãy mở trang bằng địa chỉ đã cấu hình "
                "(ví dụ http://127.0.0.1:8080).", status_code=400)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # The policy is for our pages; a PDF is left to the browser's own viewer.
                is_html = headers.get("content-type", "").startswith("text/html")
                for name, value in SECURITY_HEADERS:
                    if name not in headers and (is_html or name == "x-content-type-options"):
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def allowed_hosts_for(bind: str, extra: Sequence[str] = ()) -> list[str]:
    """Host names the page answers to when bound to `bind`: the loopback names, the bound
    address, and `extra` (the machine's name on the centre's network). Bound to every
    interface, it answers to any name: the centre's network is then the only guard."""
    if bind in ("0.0.0.0", "::", ""):
        return ["*"]
    allowed = [*DEFAULT_ALLOWED_HOSTS]
    for name in (bind, *extra):
        name = name.strip().lower().strip("[]")
        if name and name not in allowed:
            allowed.append(name)
    return allowed


def is_loopback(bind: str) -> bool:
    return bind.strip("[]") in DEFAULT_ALLOWED_HOSTS or bind.startswith("127.")


# ---- helpers ------------------------------------------------------------------


@contextmanager
def _connect(ws: Workspace) -> Iterator[sqlite3.Connection]:
    with closing(db.connect(ws.db_path)) as conn:
        yield conn


def parse_day(value: str) -> date | None:
    """A date as the browser's date picker sends it (2025-07-16) or as people write it
    in Vietnam (16/07/2025, 16-7-2025, 16.7.2025). None if it is not a real date."""
    value = value.strip()
    try:
        if len(value) == 10 and value[4] == "-":
            return date.fromisoformat(value)
        parts = value.replace("-", "/").replace(".", "/").split("/")
        if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
            day, month, year = (int(p) for p in parts)
            return date(year, month, day)
    except ValueError:
        return None
    return None


def _parse_day(value: str, label: str, errors: list[str]) -> date | None:
    if not value:
        return None
    day = parse_day(value)
    if day is None:
        errors.append(f"{label} “{value}” không hợp lệ; hãy chọn ngày trên lịch "
                      "hoặc viết dạng ngày/tháng/năm, ví dụ 16/07/2025.")
    return day


def _int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value else default
    except ValueError:
        number = default
    return max(low, min(high, number))


def store_file(ws: Workspace, stored: str | None) -> Path | None:
    """The absolute path of a file recorded in the database, if it is a regular file
    inside the store (and not its scratch folder). Anything else is refused."""
    if not stored:
        return None
    store = ws.store.resolve()
    tmp = ws.tmp.resolve()
    try:
        path = (ws.root / stored).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(store) or path.is_relative_to(tmp) or not path.is_file():
        log.warning("refusing to serve %r: outside the store or not a regular file", stored)
        return None
    return path


def _not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


def _rows(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, args)]


def _row(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
    row = conn.execute(sql, args).fetchone()
    return dict(row) if row is not None else None


# ---- the app --------------------------------------------------------------------


def create_app(ws: Workspace, *, allowed_hosts: Sequence[str] = DEFAULT_ALLOWED_HOSTS,
               debug: bool = False) -> Starlette:
    """The staff web page for workspace `ws`.

    `allowed_hosts` are the names the page may be reached by (Host header);
    `("*",)` allows any, for a deployment behind the centre's own proxy.
    """
    from motcua.archive.settings import centre_zone

    templates = _templates(centre_zone(ws))

    def path_for(request: Request, name: str, **params: Any) -> str:
        quoted = {k: quote(str(v), safe="") for k, v in params.items()}
        root = request.scope.get("root_path", "")
        return root + str(request.app.url_path_for(name, **quoted))

    def render(request: Request, name: str, context: dict[str, Any],
               status_code: int = 200) -> Response:
        context = {
            "agency": ws.config.agency.name,
            "path_for": lambda route, **params: path_for(request, route, **params),
            "active": "",
            **context,
        }
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    # -- search -----------------------------------------------------------------

    def search_page(request: Request) -> Response:
        from motcua.index import SearchFilters
        from motcua.services import Actor, Context
        from motcua.services.access import ALL_ROLES
        from motcua.services.search import search

        params = request.query_params
        form = {key: params.get(key, "").strip()
                for key in ("q", "dossier", "owner", "from", "to")}
        errors: list[str] = []
        day_from = _parse_day(form["from"], "Ngày bắt đầu", errors)
        day_to = _parse_day(form["to"], "Ngày kết thúc", errors)
        # The date picker only shows ISO values: give back what it can display.
        form["from"] = day_from.isoformat() if day_from else form["from"]
        form["to"] = day_to.isoformat() if day_to else form["to"]
        if day_from and day_to and day_from > day_to:
            errors.append("Ngày bắt đầu đang sau ngày kết thúc; hãy đổi lại khoảng ngày.")
        page = _int_param(params.get("page"), 1, 1, MAX_PAGE)
        searched = any(form.values())
        hits: list[Any] = []
        has_next = False
        kind_label = ""
        if searched and not errors:
            filters = SearchFilters(dossier_code=form["dossier"] or None,
                                    owner_id=form["owner"] or None,
                                    date_from=day_from, date_to=day_to)
            # No accounts on this page yet: it serves the loopback like the CLI's OS user.
            actor = Actor("web", "Trang tra cứu", kind="service", roles=ALL_ROLES)
            try:
                with _connect(ws) as sconn:
                    found = search(Context(ws, sconn, actor), form["q"], filters,
                                   limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            except MotcuaError as exc:
                log.warning("search failed: %s", exc.detail)
                errors.append(exc.message)
            else:
                has_next = found.has_more
                hits = list(found.documents)
                kind_label = found.kind_label
        with _connect(ws) as conn:
            total = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            known: dict[int, dict[str, Any]] = {}
            if hits:
                ids = sorted({h.document_id for h in hits})
                marks = ",".join("?" * len(ids))
                known = {r["id"]: r for r in _rows(
                    conn, f"SELECT id, ingested_at, archival_path FROM documents"
                    f" WHERE id IN ({marks})", ids)}
            recent = [] if searched else _rows(
                conn,
                "SELECT d.id, d.original_name, d.dossier_code, d.page_count, d.state,"
                " d.ingested_at, (SELECT COUNT(*) FROM pages p WHERE p.document_id = d.id"
                " AND p.needs_rescan = 1) AS rescan FROM documents d ORDER BY d.id DESC LIMIT 10")

        def page_url(n: int) -> str:
            url = request.url.include_query_params(page=n)
            return f"{url.path}?{url.query}"

        status = 400 if errors and searched else 200
        return render(request, "search.html", {
            "active": "search", "form": form, "errors": errors, "searched": searched,
            "hits": hits, "known": known, "page": page, "has_next": has_next,
            "kind_label": kind_label,
            "first_rank": (page - 1) * PAGE_SIZE + 1, "total_documents": total,
            "recent": recent,
            "prev_url": page_url(page - 1) if page > 1 else None,
            "next_url": page_url(page + 1) if has_next and page < MAX_PAGE else None,
        }, status)

    # -- one document ---------------------------------------------------------------

    def document_page(request: Request) -> Response:
        document_id: int = request.path_params["document_id"]
        with _connect(ws) as conn:
            doc = _row(conn, "SELECT * FROM documents WHERE id = ?", (document_id,))
            if doc is None:
                raise _not_found(f"Không có tài liệu số {document_id}.")
            pages = _rows(conn, "SELECT * FROM pages WHERE document_id = ? ORDER BY page_no",
                          (document_id,))
            identifiers = _rows(
                conn, "SELECT kind, value, page_no FROM identifiers WHERE document_id = ?"
                " ORDER BY page_no, kind, value", (document_id,))
            meta = _row(conn, "SELECT m.*, o.name AS owner_name FROM document_meta m"
                        " LEFT JOIN owners o ON o.id = m.owner_id WHERE m.document_id = ?",
                        (document_id,))
            stamp = _row(conn, "SELECT kind, stamped_path, stamped_sha256, operator, stamped_at"
                         " FROM stamps WHERE document_id = ?", (document_id,))
            intake = _rows(conn, "SELECT original_name, source_path, state, updated_at"
                           " FROM intake WHERE document_id = ? ORDER BY id", (document_id,))
            reused_in = _rows(conn, "SELECT dossier_code, status, created_at FROM reuses"
                              " WHERE document_id = ? ORDER BY id", (document_id,))
        files = []
        for kind, label in FILE_KINDS.items():
            if kind == "original":
                stored, digest = doc["original_path"], doc["sha256"]
            elif kind == "archival":
                stored, digest = doc["archival_path"], doc["archival_sha256"]
            else:
                stored = stamp["stamped_path"] if stamp else None
                digest = stamp["stamped_sha256"] if stamp else None
            if stored:
                files.append({"kind": kind, "label": label, "sha256": digest,
                              "present": store_file(ws, stored) is not None})
        rescan = [p["page_no"] for p in pages if p["needs_rescan"]]
        return render(request, "document.html", {
            "doc": doc, "pages": pages, "identifiers": identifiers, "meta": meta,
            "stamp": stamp, "files": files, "rescan": rescan, "intake": intake,
            "reused_in": reused_in, "threshold": ws.config.ocr.confidence_threshold,
        })

    def download(request: Request) -> Response:
        document_id: int = request.path_params["document_id"]
        kind: str = request.path_params["kind"]
        if kind not in FILE_KINDS:
            raise _not_found("Không có loại tệp này.")
        with _connect(ws) as conn:
            doc = _row(conn, "SELECT id, original_name, media_type, original_path, archival_path"
                       " FROM documents WHERE id = ?", (document_id,))
            if doc is None:
                raise _not_found(f"Không có tài liệu số {document_id}.")
            stem = Path(doc["original_name"]).stem or f"tai-lieu-{document_id}"
            if kind == "original":
                stored = doc["original_path"]
                media_type = doc["media_type"] if doc["media_type"] in MEDIA_TYPES \
                    else "application/octet-stream"
                filename = doc["original_name"]
            elif kind == "archival":
                stored, media_type = doc["archival_path"], "application/pdf"
                filename = f"{stem} (PDF-A).pdf"
            else:
                row = conn.execute("SELECT stamped_path FROM stamps WHERE document_id = ?",
                                   (document_id,)).fetchone()
                stored, media_type = (row[0] if row else None), "application/pdf"
                filename = f"{stem} (bản số hóa).pdf"
            path = store_file(ws, stored)
            if path is None:
                raise _not_found(f"Không tìm thấy {FILE_KINDS[kind]} của tài liệu "
                                 f"{document_id} trong kho.")
            # One entry per view: not for HEAD, nor for each further byte range a PDF
            # viewer fetches after the first.
            byte_range = request.headers.get("range", "").replace(" ", "")
            if request.method == "GET" and (not byte_range or byte_range.startswith("bytes=0-")):
                _audit_view(conn, document_id, kind, request)
        disposition = "inline" if media_type in INLINE_TYPES else "attachment"
        return FileResponse(path, media_type=media_type, filename=filename,
                            content_disposition_type=disposition,
                            headers={"cache-control": "private, no-store"})

    def _audit_view(conn: sqlite3.Connection, document_id: int, kind: str,
                    request: Request) -> None:
        from motcua.archive import audit

        client = request.client.host if request.client else ""
        try:
            audit.record(conn, "view", f"document:{document_id}", "web",
                         {"file": kind, "client": client})
        except sqlite3.Error as exc:  # the archive stays readable if the log is busy
            log.warning("could not record view of document %s: %s", document_id, exc)

    # -- dossiers -----------------------------------------------------------------

    def dossier_list(request: Request) -> Response:
        with _connect(ws) as conn:
            dossiers = _rows(
                conn,
                "SELECT s.code, s.procedure_name, s.field, s.owner_id, s.received_at,"
                " s.created_at, o.name AS owner_name,"
                " (SELECT COUNT(*) FROM documents d WHERE d.dossier_code = s.code) AS documents,"
                " (SELECT COUNT(*) FROM pages p JOIN documents d ON d.id = p.document_id"
                "  WHERE d.dossier_code = s.code AND p.needs_rescan = 1) AS rescan"
                " FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id"
                " ORDER BY COALESCE(s.received_at, s.created_at) DESC, s.code DESC LIMIT 500")
            unassigned = _rows(
                conn, "SELECT id, original_name, page_count, ingested_at FROM documents"
                " WHERE dossier_code IS NULL ORDER BY id DESC LIMIT 100")
        return render(request, "dossiers.html", {
            "active": "dossiers", "dossiers": dossiers, "unassigned": unassigned})

    def dossier_page(request: Request) -> Response:
        code: str = request.path_params["code"]
        with _connect(ws) as conn:
            dossier = _row(conn, "SELECT s.*, o.name AS owner_name, o.kind AS owner_kind"
                           " FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id"
                           " WHERE s.code = ?", (code,))
            documents = _rows(
                conn,
                "SELECT d.id, d.original_name, d.page_count, d.state, d.ingested_at,"
                " d.dossier_source, m.role, m.result_code, m.name AS meta_name,"
                " (SELECT COUNT(*) FROM pages p WHERE p.document_id = d.id"
                "  AND p.needs_rescan = 1) AS rescan"
                " FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id"
                " WHERE d.dossier_code = ? ORDER BY d.id", (code,))
            reused = _rows(
                conn,
                "SELECT r.document_id, r.status, r.mode, r.created_at, d.original_name,"
                " d.dossier_code AS origin FROM reuses r JOIN documents d ON d.id = r.document_id"
                " WHERE r.dossier_code = ? ORDER BY r.id", (code,))
        if dossier is None and not documents:
            raise _not_found(f"Không có hồ sơ “{code}”.")
        return render(request, "dossier.html", {
            "active": "dossiers", "code": code, "dossier": dossier, "documents": documents,
            "reused": reused})

    # -- status ---------------------------------------------------------------------

    def status_page(request: Request) -> Response:
        from motcua.index import open_engine

        hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
        with _connect(ws) as conn:
            counts = {state: 0 for state in INTAKE_STATES}
            for state, n in conn.execute("SELECT state, COUNT(*) FROM intake GROUP BY state"):
                counts[state] = n
            waiting = _rows(
                conn, "SELECT original_name, source_path, state, attempts, last_error,"
                " next_attempt_at, created_at FROM intake"
                " WHERE state IN ('pending', 'processing', 'retry') ORDER BY created_at, id"
                " LIMIT 20")
            last_hour = conn.execute(
                "SELECT COUNT(*) FROM intake WHERE state = 'done' AND updated_at >= ?",
                (hour_ago,)).fetchone()[0]
            quarantined = _rows(
                conn, "SELECT original_name, state, reason_vi, last_error, quarantine_path,"
                " updated_at FROM intake WHERE state IN ('quarantined', 'refused')"
                " ORDER BY updated_at DESC, id DESC LIMIT 20")
            rescan = _rows(
                conn, "SELECT d.id, d.original_name, d.dossier_code, p.page_no, p.confidence"
                " FROM pages p JOIN documents d ON d.id = p.document_id"
                " WHERE p.needs_rescan = 1 ORDER BY d.id DESC, p.page_no LIMIT 200")
            documents, pages = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(page_count), 0) FROM documents").fetchone()
        for row in quarantined:
            row["file_name"] = Path(row["quarantine_path"]).name if row["quarantine_path"] \
                else row["original_name"]
        index_pages: int | None = None
        index_error = ""
        try:
            engine = open_engine(ws.index_dir, ws.config.index.engine)
            try:
                index_pages = engine.count()
            finally:
                engine.close()
        except MotcuaError as exc:
            index_error = exc.message
        return render(request, "status.html", {
            "active": "status", "counts": counts, "waiting": waiting, "last_hour": last_hour,
            "quarantined": quarantined, "rescan": rescan, "documents": documents,
            "pages": pages, "index_pages": index_pages, "index_error": index_error,
            "quarantine_dir": ws.relative(ws.quarantine) + "/",
        })

    # -- errors -------------------------------------------------------------------

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            title = "Không tìm thấy trang"
            message = exc.detail if exc.detail and exc.detail != "Not Found" else \
                "Địa chỉ này không có trong trang tra cứu."
        elif exc.status_code == 405:
            title, message = "Thao tác không được phép", "Trang này chỉ để xem."
        else:
            title, message = "Yêu cầu không hợp lệ", "Không thực hiện được yêu cầu."
        return render(request, "error.html", {"title": title, "message": message},
                      exc.status_code)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web request failed: %s", request.url.path, exc_info=exc)
        if isinstance(exc, MotcuaError):
            message = exc.message
        else:
            message = ("Đã có lỗi khi xử lý yêu cầu. Hãy thử lại; nếu vẫn lỗi, "
                       "báo cho cán bộ kỹ thuật.")
        return render(request, "error.html", {"title": "Có lỗi xảy ra", "message": message},
                      500)

    routes = [
        Route("/", search_page, name="search"),
        Route("/documents/{document_id:int}", document_page, name="document"),
        Route("/documents/{document_id:int}/{kind}", download, name="download"),
        Route("/dossiers", dossier_list, name="dossiers"),
        Route("/dossiers/{code}", dossier_page, name="dossier"),
        Route("/status", status_page, name="status"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        debug=debug,
        routes=routes,
        middleware=[Middleware(GuardMiddleware, allowed_hosts=tuple(allowed_hosts))],
        exception_handlers={HTTPException: http_error, 500: server_error,
                            MotcuaError: server_error},
    )
