"""The pages: module-level views over a checked `Call`, and the one route table.

Each view reads through the call's context (its connection, its officer). Access was
checked before the view runs, from the `Page.access` of its entry in `ROUTES`; a test
walks `ROUTES` for every role.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from motcua.errors import MotcuaError, UserError
from motcua.services import accounts
from motcua.services.access import Permission, record_view
from motcua.web import auth
from motcua.web.core import (
    INTAKE_STATES,
    MEDIA_TYPES,
    Call,
    Gate,
    Page,
    int_param,
    not_found,
    parse_day,
    range_problem,
    row,
    rows,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_PAGE = 50
# Downloadable files of a document: kind -> label.
FILE_KINDS: dict[str, str] = {
    "original": "bản gốc",
    "archival": "bản lưu trữ PDF/A",
    "stamped": "bản có dấu số hóa",
}
# Types a browser may show inline; anything else is sent as an attachment.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def _parse_day(value: str, label: str, errors: list[str]) -> date | None:
    if not value:
        return None
    day = parse_day(value)
    if day is None:
        errors.append(f"{label} “{value}” không hợp lệ; hãy chọn ngày trên lịch "
                      "hoặc viết dạng ngày/tháng/năm, ví dụ 16/07/2025.")
    return day


def store_file(call: Call, stored: str | None) -> Path | None:
    """The absolute path of a file recorded in the database, if it is a regular file
    inside the store (and not its scratch folder). Anything else is refused."""
    if not stored:
        return None
    ws = call.ws
    store = ws.store.resolve()
    tmp = ws.tmp.resolve()
    try:
        path = (ws.root / stored).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not path.is_relative_to(store) or path.is_relative_to(tmp) or not path.is_file():
        log.warning("refusing to serve %r: outside the store or not a regular file", stored)
        return None
    return path


# ---- search -----------------------------------------------------------------------


def search(call: Call) -> Response:
    from motcua.index import SearchFilters, open_engine

    params = call.request.query_params
    form = {key: params.get(key, "").strip()[:500]
            for key in ("q", "dossier", "owner", "from", "to")}
    errors: list[str] = []
    day_from = _parse_day(form["from"], "Ngày bắt đầu", errors)
    day_to = _parse_day(form["to"], "Ngày kết thúc", errors)
    # The date picker only shows ISO values: give back what it can display.
    form["from"] = day_from.isoformat() if day_from else form["from"]
    form["to"] = day_to.isoformat() if day_to else form["to"]
    if day_from and day_to and day_from > day_to:
        errors.append("Ngày bắt đầu đang sau ngày kết thúc; hãy đổi lại khoảng ngày.")
    page = int_param(params.get("page"), 1, 1, MAX_PAGE)
    searched = any(form.values())
    hits: list[Any] = []
    has_next = False
    ws = call.ws
    if searched and not errors:
        filters = SearchFilters(dossier_code=form["dossier"] or None,
                                owner_id=form["owner"] or None,
                                date_from=day_from, date_to=day_to)
        try:
            engine = open_engine(ws.index_dir, ws.config.index.engine)
            try:
                found = engine.search(form["q"], filters, limit=page * PAGE_SIZE + 1)
            finally:
                engine.close()
        except MotcuaError as exc:
            log.warning("search failed: %s", exc.detail)
            errors.append(exc.message)
        else:
            has_next = len(found) > page * PAGE_SIZE
            hits = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ctx = call.ctx
    total = ctx.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    known: dict[int, dict[str, Any]] = {}
    if hits:
        ids = sorted({h.document_id for h in hits})
        marks = ",".join("?" * len(ids))
        known = {r["id"]: r for r in rows(
            ctx, f"SELECT id, ingested_at, page_count, archival_path FROM documents"
            f" WHERE id IN ({marks})", ids)}
    recent = [] if searched else rows(
        ctx,
        "SELECT d.id, d.original_name, d.dossier_code, d.page_count, d.state,"
        " d.ingested_at, (SELECT COUNT(*) FROM pages p WHERE p.document_id = d.id"
        " AND p.needs_rescan = 1) AS rescan FROM documents d ORDER BY d.id DESC LIMIT 10")

    def page_url(n: int) -> str:
        url = call.request.url.include_query_params(page=n)
        return f"{url.path}?{url.query}"

    status = 400 if errors and searched else 200
    return call.render("search.html", {
        "active": "search", "form": form, "errors": errors, "searched": searched,
        "hits": hits, "known": known, "page": page, "has_next": has_next,
        "first_rank": (page - 1) * PAGE_SIZE + 1, "total_documents": total,
        "recent": recent,
        "prev_url": page_url(page - 1) if page > 1 else None,
        "next_url": page_url(page + 1) if has_next and page < MAX_PAGE else None,
    }, status)


# ---- one document ---------------------------------------------------------------------


def document(call: Call) -> Response:
    document_id: int = call.request.path_params["document_id"]
    ctx = call.ctx
    doc = row(ctx, "SELECT * FROM documents WHERE id = ?", (document_id,))
    if doc is None:
        raise not_found(f"Không có tài liệu số {document_id}.")
    pages = rows(ctx, "SELECT * FROM pages WHERE document_id = ? ORDER BY page_no",
                 (document_id,))
    identifiers = rows(ctx, "SELECT kind, value, page_no FROM identifiers WHERE document_id = ?"
                       " ORDER BY page_no, kind, value", (document_id,))
    meta = row(ctx, "SELECT m.*, o.name AS owner_name FROM document_meta m"
               " LEFT JOIN owners o ON o.id = m.owner_id WHERE m.document_id = ?",
               (document_id,))
    stamp = row(ctx, "SELECT kind, stamped_path, stamped_sha256, operator, stamped_at"
                " FROM stamps WHERE document_id = ?", (document_id,))
    intake = rows(ctx, "SELECT original_name, source_path, state, updated_at"
                  " FROM intake WHERE document_id = ? ORDER BY id", (document_id,))
    reused_in = rows(ctx, "SELECT dossier_code, status, created_at FROM reuses"
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
                          "present": store_file(call, stored) is not None})
    # The page shows the recognised text: a view of personal data like a download.
    _audit_view(call, document_id, "page")
    rescan = [p["page_no"] for p in pages if p["needs_rescan"]]
    return call.render("document.html", {
        "doc": doc, "pages": pages, "identifiers": identifiers, "meta": meta,
        "stamp": stamp, "files": files, "rescan": rescan, "intake": intake,
        "reused_in": reused_in, "threshold": call.ws.config.ocr.confidence_threshold,
    })


def download(call: Call) -> Response:
    request = call.request
    document_id: int = request.path_params["document_id"]
    kind: str = request.path_params["kind"]
    if kind not in FILE_KINDS:
        raise not_found("Không có loại tệp này.")
    ctx = call.ctx
    doc = row(ctx, "SELECT id, original_name, media_type, original_path, archival_path"
              " FROM documents WHERE id = ?", (document_id,))
    if doc is None:
        raise not_found(f"Không có tài liệu số {document_id}.")
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
        found = ctx.conn.execute("SELECT stamped_path FROM stamps WHERE document_id = ?",
                                 (document_id,)).fetchone()
        stored, media_type = (found[0] if found else None), "application/pdf"
        filename = f"{stem} (bản số hóa).pdf"
    path = store_file(call, stored)
    if path is None:
        raise not_found(f"Không tìm thấy {FILE_KINDS[kind]} của tài liệu "
                        f"{document_id} trong kho.")
    byte_range = request.headers.get("range")
    if byte_range is not None and range_problem(byte_range, path.stat().st_size):
        # Refused before any byte is read, so there is nothing to record.
        return Response("Không đọc được đoạn tệp được yêu cầu (Range).", status_code=416,
                        headers={"content-range": f"bytes */{path.stat().st_size}"},
                        media_type="text/plain; charset=utf-8")
    if request.method == "GET":
        # Every GET that sends bytes - the whole file or any range of it - is covered by
        # an entry naming the officer; a PDF viewer's further ranges within minutes
        # are the same view.
        _audit_view(call, document_id, kind)
    disposition = "inline" if media_type in INLINE_TYPES else "attachment"
    return FileResponse(path, media_type=media_type, filename=filename,
                        content_disposition_type=disposition,
                        headers={"cache-control": "private, no-store"})


def _audit_view(call: Call, document_id: int, what: str) -> None:
    try:
        record_view(call.ctx, f"document:{document_id}", what, {"client": call.client()})
    except Exception as exc:
        # Access to personal data must be on record: without the entry, no content.
        log.error("could not record view of document %s: %s", document_id, exc)
        raise HTTPException(503, "Không ghi được nhật ký truy cập; hãy thử lại sau ít phút."
                            ) from exc


# ---- dossiers -------------------------------------------------------------------------


def dossiers(call: Call) -> Response:
    listing = rows(
        call.ctx,
        "SELECT s.code, s.procedure_name, s.field, s.owner_id, s.received_at,"
        " s.created_at, o.name AS owner_name,"
        " (SELECT COUNT(*) FROM documents d WHERE d.dossier_code = s.code) AS documents,"
        " (SELECT COUNT(*) FROM pages p JOIN documents d ON d.id = p.document_id"
        "  WHERE d.dossier_code = s.code AND p.needs_rescan = 1) AS rescan"
        " FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id"
        " ORDER BY COALESCE(s.received_at, s.created_at) DESC, s.code DESC LIMIT 500")
    unassigned = rows(
        call.ctx, "SELECT id, original_name, page_count, ingested_at FROM documents"
        " WHERE dossier_code IS NULL ORDER BY id DESC LIMIT 100")
    return call.render("dossiers.html", {
        "active": "dossiers", "dossiers": listing, "unassigned": unassigned})


def dossier(call: Call) -> Response:
    code: str = call.request.path_params["code"]
    if len(code) > 100:
        raise not_found("Không có hồ sơ này.")
    found = row(call.ctx, "SELECT s.*, o.name AS owner_name, o.kind AS owner_kind"
                " FROM dossiers s LEFT JOIN owners o ON o.id = s.owner_id"
                " WHERE s.code = ?", (code,))
    documents = rows(
        call.ctx,
        "SELECT d.id, d.original_name, d.page_count, d.state, d.ingested_at,"
        " d.dossier_source, m.role, m.result_code, m.name AS meta_name,"
        " (SELECT COUNT(*) FROM pages p WHERE p.document_id = d.id"
        "  AND p.needs_rescan = 1) AS rescan"
        " FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id"
        " WHERE d.dossier_code = ? ORDER BY d.id", (code,))
    reused = rows(
        call.ctx,
        "SELECT r.document_id, r.status, r.mode, r.created_at, d.original_name,"
        " d.dossier_code AS origin FROM reuses r JOIN documents d ON d.id = r.document_id"
        " WHERE r.dossier_code = ? ORDER BY r.id", (code,))
    if found is None and not documents:
        raise not_found(f"Không có hồ sơ “{code}”.")
    return call.render("dossier.html", {
        "active": "dossiers", "code": code, "dossier": found, "documents": documents,
        "reused": reused})


# ---- intake status ----------------------------------------------------------------------


def status(call: Call) -> Response:
    from motcua.index import open_engine

    ctx = call.ctx
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    counts = {state: 0 for state in INTAKE_STATES}
    for state, n in ctx.conn.execute("SELECT state, COUNT(*) FROM intake GROUP BY state"):
        counts[state] = n
    waiting = rows(
        ctx, "SELECT original_name, source_path, state, attempts, last_error,"
        " next_attempt_at, created_at FROM intake"
        " WHERE state IN ('pending', 'processing', 'retry') ORDER BY created_at, id LIMIT 20")
    last_hour = ctx.conn.execute(
        "SELECT COUNT(*) FROM intake WHERE state = 'done' AND updated_at >= ?",
        (hour_ago,)).fetchone()[0]
    quarantined = rows(
        ctx, "SELECT original_name, state, reason_vi, last_error, quarantine_path,"
        " updated_at FROM intake WHERE state IN ('quarantined', 'refused')"
        " ORDER BY updated_at DESC, id DESC LIMIT 20")
    rescan = rows(
        ctx, "SELECT d.id, d.original_name, d.dossier_code, p.page_no, p.confidence"
        " FROM pages p JOIN documents d ON d.id = p.document_id"
        " WHERE p.needs_rescan = 1 ORDER BY d.id DESC, p.page_no LIMIT 200")
    documents, pages = ctx.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(page_count), 0) FROM documents").fetchone()
    for item in quarantined:
        item["file_name"] = Path(item["quarantine_path"]).name if item["quarantine_path"] \
            else item["original_name"]
    index_pages: int | None = None
    index_error = ""
    try:
        engine = open_engine(call.ws.index_dir, call.ws.config.index.engine)
        try:
            index_pages = engine.count()
        finally:
            engine.close()
    except MotcuaError as exc:
        index_error = exc.message
    return call.render("status.html", {
        "active": "status", "counts": counts, "waiting": waiting, "last_hour": last_hour,
        "quarantined": quarantined, "rescan": rescan, "documents": documents,
        "pages": pages, "index_pages": index_pages, "index_error": index_error,
        "quarantine_dir": call.ws.relative(call.ws.quarantine) + "/",
    })


# ---- users (quản trị) -----------------------------------------------------------------

USER_NOTICES = {
    "added": "Đã thêm tài khoản {login}.",
    "roles": "Đã đổi vai trò của tài khoản {login}.",
    "disabled": "Đã khóa tài khoản {login}; các phiên đăng nhập của tài khoản này đã kết thúc.",
}


def _users_page(call: Call, errors: list[str], form: dict[str, Any],
                status_code: int = 200) -> Response:
    notice = ""
    done = call.request.query_params.get("done", "")
    if done in USER_NOTICES:
        notice = USER_NOTICES[done].format(login=call.request.query_params.get("login", "")[:40])
    return call.render("users.html", {
        "active": "users", "users": accounts.list_users(call.ctx), "errors": errors,
        "form": form, "notice": notice,
    }, status_code)


def users(call: Call) -> Response:
    return _users_page(call, [], {"login": "", "full_name": "", "title": "", "roles": []})


def _done(call: Call, what: str, login: str) -> Response:
    url = call.path_for("users") + "?" + urlencode({"done": what, "login": login})
    return RedirectResponse(url, status_code=303)


def user_add(call: Call) -> Response:
    login, full_name = call.field("login", 100), call.field("full_name", 300)
    title, roles = call.field("title", 300), call.fields("roles")
    form: dict[str, Any] = {"login": login, "full_name": full_name, "title": title,
                            "roles": roles}
    password = call.field("password", accounts.MAX_PASSWORD_LENGTH + 1)
    confirm = call.field("password2", accounts.MAX_PASSWORD_LENGTH + 1)
    try:
        if password != confirm:
            raise UserError("Hai lần nhập mật khẩu không khớp nhau.", "password mismatch")
        user = accounts.add_user(call.ctx, login, full_name, title, roles, password)
    except UserError as exc:
        return _users_page(call, [exc.message], form, 400)
    return _done(call, "added", user.login)


def _target(call: Call) -> accounts.UserView:
    login: str = call.request.path_params["login"]
    user = accounts.find_user(call.ctx.conn, login) if len(login) <= 40 else None
    if user is None:
        raise not_found("Không có tài khoản này.")
    return user


def user_roles(call: Call) -> Response:
    user = _target(call)
    try:
        accounts.set_roles(call.ctx, user.login, call.fields("roles"))
    except UserError as exc:
        return _users_page(call, [exc.message], {"login": "", "full_name": "", "title": "",
                                                 "roles": []}, 400)
    return _done(call, "roles", user.login)


def user_disable(call: Call) -> Response:
    user = _target(call)
    try:
        accounts.disable_user(call.ctx, user.login)
    except UserError as exc:
        return _users_page(call, [exc.message], {"login": "", "full_name": "", "title": "",
                                                 "roles": []}, 400)
    return _done(call, "disabled", user.login)


# ---- the route table ------------------------------------------------------------------

ROUTES: tuple[Page, ...] = (
    Page("/login", "login", auth.login_page, Gate.PUBLIC),
    Page("/login", "login_post", auth.login_post, Gate.PUBLIC, ("POST",)),
    Page("/logout", "logout", auth.logout, Gate.LOGGED_IN, ("POST",)),
    Page("/account", "account", auth.account, Gate.LOGGED_IN),
    Page("/account", "account_password", auth.change_password, Gate.LOGGED_IN, ("POST",)),
    Page("/", "search", search, Permission.VIEW),
    Page("/documents/{document_id:docid}", "document", document, Permission.VIEW),
    Page("/documents/{document_id:docid}/{kind}", "download", download, Permission.VIEW),
    Page("/dossiers", "dossiers", dossiers, Permission.VIEW),
    Page("/dossiers/{code}", "dossier", dossier, Permission.VIEW),
    Page("/status", "status", status, Permission.INTAKE),
    Page("/users", "users", users, Permission.ADMIN_USERS),
    Page("/users", "user_add", user_add, Permission.ADMIN_USERS, ("POST",)),
    Page("/users/{login}/roles", "user_roles", user_roles, Permission.ADMIN_USERS, ("POST",)),
    Page("/users/{login}/disable", "user_disable", user_disable, Permission.ADMIN_USERS,
         ("POST",)),
)
