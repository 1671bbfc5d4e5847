"""What every view of the web page shares: the site (workspace, templates, settings), one
request as a view sees it (`Call`), the route table's entry type, form reading and the
display filters.

Views are plain module-level functions `view(call) -> Response`; `web.app` runs them
after it has found the session, checked the CSRF token and the route's permission.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import jinja2
from starlette.convertors import Convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from motcua import labels
from motcua.services import Actor, Context
from motcua.services.access import Permission, allowed, mask_id, mask_ids_in_text
from motcua.services.accounts import Session, WebSettings
from motcua.workspace import Workspace

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 64
# A result PDF posted from a dossier's page (multipart); the whole body stays in memory.
MAX_UPLOAD_BYTES = 32 * 1024 * 1024


class Gate(StrEnum):
    """Routes open without a permission: to anyone, or to any logged-in officer.

    PUBLIC pages (the login) send a logged-in officer on; CITIZEN pages (the rating
    kiosk, the printed rating link) serve whoever comes, logged in or not, and check
    their own credential (the kiosk's device token, the link's token). POSTs of both
    carry the form token of a SameSite=Strict cookie (double submit), as the login."""

    PUBLIC = "public"
    LOGGED_IN = "logged_in"
    CITIZEN = "citizen"


Access = Permission | Gate


@dataclass(frozen=True)
class Site:
    ws: Workspace
    templates: Jinja2Templates
    settings: WebSettings


@dataclass(frozen=True)
class Call:
    """One request as a view sees it: checked session, parsed form, open context."""

    request: Request
    site: Site
    ctx: Context  # actor: the officer, or the visitor (kind "web") on public pages
    session: Session | None
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ws(self) -> Workspace:
        return self.site.ws

    @property
    def actor(self) -> Actor:
        return self.ctx.actor

    def can(self, permission: Permission) -> bool:
        return self.session is not None and allowed(self.actor.roles, permission)

    def field(self, name: str, limit: int = 1000) -> str:
        """One text field of the posted form ("" if absent); too long is a 400."""
        values = self.form.get(name) or [""]
        value = values[0]
        if len(value) > limit:
            raise HTTPException(400, f"Trường “{name}” dài quá {limit} ký tự.")
        return value

    def fields(self, name: str) -> list[str]:
        return list(self.form.get(name, []))

    def client(self) -> str:
        return client_host(self.request)

    def path_for(self, route: str, **params: Any) -> str:
        quoted = {k: quote(str(v), safe="") for k, v in params.items()}
        root = self.request.scope.get("root_path", "")
        return root + str(self.request.app.url_path_for(route, **quoted))

    def render(self, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        see_ids = self.can(Permission.VIEW_IDS)
        base = {
            "agency": self.ws.config.agency.name,
            "path_for": self.path_for,
            "active": "",
            "user": self.actor if self.session else None,
            "csrf_token": self.session.csrf_token if self.session else "",
            "can": self.can,
            "Permission": Permission,
            # ID numbers in full only for roles that work with them (NĐ 13/2023).
            "show_id": (lambda v: v or "") if see_ids else mask_id,
            "show_text": (lambda v: v or "") if see_ids else mask_ids_in_text,
            "see_ids": see_ids,
        }
        return self.site.templates.TemplateResponse(
            self.request, name, {**base, **context}, status_code=status_code)


View = Callable[[Call], Response]


@dataclass(frozen=True)
class Page:
    """One entry of the route table: every route declares who may use it."""

    path: str
    name: str
    view: View
    access: Access
    methods: tuple[str, ...] = ("GET",)
    uploads: bool = False  # a multipart POST with files (read by views_archive.read_upload)


def client_host(request: Request) -> str:
    return request.client.host if request.client else ""


# ---- forms ----------------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, list[str]]:
    """A posted urlencoded form, bounded in size and strictly UTF-8; a body that breaks
    those rules is a 4xx with a Vietnamese reason, before any view runs."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await read_multipart(request)
    if kind != "application/x-www-form-urlencoded":
        # Our forms are all urlencoded: anything else carries no token we can read, so
        # it is refused as a request without CSRF token (403), unread.
        return {}
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise HTTPException(413, "Biểu mẫu gửi lên quá lớn.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "Biểu mẫu gửi lên quá lớn.")
    try:
        # A browser percent-encodes everything: raw non-ASCII bytes are not a form.
        text = bytes(body).decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "Biểu mẫu gửi lên có ký tự không hợp lệ.") from exc
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise HTTPException(400, "Biểu mẫu gửi lên có ký tự không hợp lệ.")
        form.setdefault(key, []).append(value)
    return form


async def read_multipart(request: Request) -> dict[str, list[str]]:
    """A posted multipart form: its text fields as a form, its files (at most one) kept in
    `request.state.uploads` as {field: (file name, bytes)}, never on a path a field names."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise HTTPException(411, "Trình duyệt không gửi kích thước tệp.")
    if int(declared) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"Tệp gửi lên quá lớn (tối đa "
                                 f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB).")
    form: dict[str, list[str]] = {}
    uploads: dict[str, tuple[str, bytes]] = {}
    try:
        async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS,
                                max_part_size=MAX_FORM_BYTES) as parsed:
            for key, value in parsed.multi_items():
                if isinstance(value, str):
                    if "\x00" in key or "\x00" in value:
                        raise HTTPException(400, "Biểu mẫu gửi lên có ký tự không hợp lệ.")
                    form.setdefault(key, []).append(value)
                else:
                    data = await value.read(MAX_UPLOAD_BYTES + 1)
                    if len(data) > MAX_UPLOAD_BYTES:
                        raise HTTPException(413, "Tệp gửi lên quá lớn.")
                    uploads[key] = (value.filename or "", data)
    except HTTPException:
        raise
    except Exception as exc:  # the multipart parser's own errors: a malformed body
        log.warning("multipart form refused: %s", exc)
        raise HTTPException(400, "Biểu mẫu gửi lên không đúng dạng.") from exc
    request.state.uploads = uploads
    return form


def safe_next(target: str | None) -> str:
    """A local path to go back to after login; anything else (another site) is "/"."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target) or len(target) > 2000:
        return "/"
    return target


# ---- URL converters --------------------------------------------------------------------


class DocumentIdConvertor(Convertor[int]):
    """A document number: up to 18 digits, so that every match fits SQLite's integer
    (a longer one is simply not a route: 404, never an overflow)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


# ---- display filters ----------------------------------------------------------------


def vi_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{labels.vi_decimal(size / 1024)} KB"
    return f"{labels.vi_decimal(size / (1024 * 1024))} MB"


def cap(text: str | None) -> str:
    """A label at the start of a cell or sentence: first letter upper case, the rest as
    it is (Jinja's `capitalize` would lower-case names)."""
    return (text[:1].upper() + text[1:]) if text else ""


def make_templates(zone: tzinfo) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(vi_datetime=lambda value: labels.vi_datetime(value, zone),
                       vi_date=labels.vi_date, vi_decimal=labels.vi_decimal, vi_size=vi_size,
                       vi_percent=labels.vi_percent,
                       cap=cap)
    # The one labels module: the CLI and the page say the same words.
    env.globals.update(INTAKE_STATES=labels.INTAKE_STATES,
                       DOSSIER_SOURCES=labels.DOSSIER_SOURCES,
                       MEDIA_TYPES=labels.MEDIA_TYPES, OWNER_KINDS=labels.OWNER_KINDS,
                       CHANNELS=labels.CHANNELS, ROLES=labels.ROLES,
                       role_label=lambda c: labels.label(labels.ROLES, c))
    return Jinja2Templates(env=env)


# ---- small helpers the views share ------------------------------------------------------


def int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value and len(value) < 10 else default
    except ValueError:
        number = default
    return max(low, min(high, number))


def not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


_RANGE = re.compile(r"^bytes=\s*((?:[0-9]*-[0-9]*)(?:\s*,\s*[0-9]*-[0-9]*)*)\s*$")


def range_problem(header: str, size: int) -> bool:
    """True when a Range header cannot be served for a file of `size` bytes (malformed,
    or no part inside the file): the answer is 416, and nothing is sent."""
    match = _RANGE.match(header)
    if not match:
        return True
    satisfiable = False
    for part in match.group(1).split(","):
        start, _, end = part.strip().partition("-")
        if not start and not end:
            return True
        if not start:  # suffix: the last N bytes
            if int(end) > 0 and size > 0:
                satisfiable = True
            continue
        if end and int(end) < int(start):
            return True
        if int(start) < size:
            satisfiable = True
    return not satisfiable
