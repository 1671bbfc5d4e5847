"""The machinery of `/api/v1`: typed endpoint declarations, parameter and body checks,
token authentication (middleware), per-token rate limits, the audit entry of every call,
error bodies and the OpenAPI description generated from the declarations.

Order of a call: the middleware finds the token (401 if missing, unknown, revoked or
expired; 403 if the caller's address is not allowed) and takes one unit of its rate
(429 + Retry-After); then the endpoint checks the token's scope (403), parses the
parameters and body as declared (400), calls the services as the token's actor, and
records one `api.call` audit entry naming the token before any content leaves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args, get_origin, get_type_hints

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from motcua.api.models import Error
from motcua.api.schema import Schema, _is_optional, add_component, type_schema
from motcua.errors import MotcuaError, TransientError
from motcua.services import CatalogueCache, Context, connect, open_context
from motcua.services import tokens as token_service
from motcua.services.access import AccessDenied, Permission, allowed
from motcua.services.access import Scope as TokenScope
from motcua.services.tokens import AddressRefused, TokenRefused, TokenView
from motcua.workspace import Workspace

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
PUBLIC_PATHS = frozenset({"/openapi.json"})
API_VERSION = "1.0.0"
DAY_PATTERN = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"


class ApiError(Exception):
    """An answer other than success: HTTP status, code, Vietnamese message, English detail."""

    def __init__(self, status: int, code: str, message: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers or {}


def error_response(exc: ApiError) -> JSONResponse:
    body = asdict(Error(exc.code, exc.message, exc.detail))
    return JSONResponse(body, status_code=exc.status,
                        headers={"cache-control": "no-store", **exc.headers})


def from_motcua(exc: MotcuaError) -> ApiError:
    """Our errors as API answers: refused token 401, access 403, transient 503, else 400."""
    if isinstance(exc, TokenRefused):
        return ApiError(401, "token_invalid", exc.message, exc.detail,
                        {"www-authenticate": 'Bearer realm="motcua"'})
    if isinstance(exc, AccessDenied):
        return ApiError(403, "forbidden", exc.message, exc.detail)
    if isinstance(exc, TransientError):
        return ApiError(503, "try_again", exc.message, exc.detail, {"retry-after": "30"})
    return ApiError(400, "rejected", exc.message, exc.detail or "request refused")


def not_found(message: str, detail: str) -> ApiError:
    return ApiError(404, "not_found", message, detail)


# ---- declarations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A path or query parameter; `schema` holds its JSON Schema keywords (pattern,
    minimum, enum, format, …), checked here exactly as the description states them."""

    name: str
    where: Literal["path", "query"]
    description: str
    kind: type = str
    required: bool = False
    schema: tuple[tuple[str, Any], ...] = ()
    # Checked by the endpoint through archive.ids, exactly as the CLI checks it (with the
    # CLI's Vietnamese message); the pattern is only documentation then.
    checked_by_ids: bool = False

    def json_schema(self) -> Schema:
        base: Schema = {"type": "integer"} if self.kind is int else {"type": "string"}
        return {**base, **dict(self.schema)}


def param(name: str, where: Literal["path", "query"], description: str, kind: type = str,
          required: bool | None = None, checked_by_ids: bool = False, **schema: Any) -> Param:
    if kind is str:
        schema.setdefault("minLength", 1)  # an empty value is not "no filter"
        if schema.get("format") == "date":
            # Days the calendar and the reports can handle; others are refused up front.
            schema.setdefault("pattern", DAY_PATTERN)
    return Param(name, where, description, kind,
                 where == "path" if required is None else required,
                 tuple(sorted(schema.items())), checked_by_ids)


@dataclass(frozen=True)
class ApiCall:
    """One checked call as an endpoint sees it."""

    ctx: Context
    token: TokenView
    params: dict[str, Any]
    body: Any
    client: str

    def can(self, permission: Permission) -> bool:
        return allowed(self.ctx.actor.roles, permission)


Handler = Callable[[ApiCall], Any]


@dataclass(frozen=True)
class Endpoint:
    method: Literal["GET", "POST"]
    path: str
    name: str
    scope: TokenScope
    summary: str             # Vietnamese, one line
    handler: Handler
    response: type | None    # a dataclass; None: a file (media_type)
    status: int = 200
    params: tuple[Param, ...] = ()
    body: type | None = None
    media_type: str = "application/json"
    subject: Callable[[dict[str, Any]], str] | None = None  # audit subject from params
    description: str = ""


# ---- checking what was sent ---------------------------------------------------------------


def _bad(name: str, message: str, detail: str) -> ApiError:
    return ApiError(400, "bad_parameter", message, f"{name}: {detail}")


def check_value(name: str, label: str, value: Any, schema: Schema) -> Any:
    """A value against the JSON Schema keywords this API uses (type, enum, pattern,
    lengths, bounds, date and date-time formats); returns it parsed."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if value is None:
        if "null" in kinds:
            return None
        raise _bad(name, f"Thiếu giá trị “{label}”.", "null not allowed")
    if "integer" in kinds:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(name, f"“{label}” phải là một số nguyên.", "not an integer")
        if ("minimum" in schema and value < schema["minimum"]) or \
                ("maximum" in schema and value > schema["maximum"]):
            raise _bad(name, f"“{label}” nằm ngoài khoảng cho phép "
                             f"({schema.get('minimum', '…')}–{schema.get('maximum', '…')}).",
                       "out of range")
        return value
    if not isinstance(value, str):
        raise _bad(name, f"“{label}” phải là chuỗi ký tự.", "not a string")
    if len(value) < schema.get("minLength", 0):
        raise _bad(name, f"“{label}” đang để trống.", "too short")
    if len(value) > schema.get("maxLength", 1000):
        raise _bad(name, f"“{label}” dài quá {schema.get('maxLength', 1000)} ký tự.",
                   "too long")
    if "enum" in schema and value not in schema["enum"]:
        allowed_values = ", ".join(str(v) for v in schema["enum"] if v is not None)
        raise _bad(name, f"“{label}” phải là một trong: {allowed_values}.", "not in enum")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        raise _bad(name, f"“{label}” không đúng dạng.", f"does not match {schema['pattern']}")
    fmt = schema.get("format")
    if fmt == "date":
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise _bad(name, f"“{label}” phải là ngày dạng YYYY-MM-DD, ví dụ 2025-07-16.",
                       "not an ISO date") from None
    if fmt == "date-time":
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.]+"
                                r"([Zz]|[+-][0-9]{2}:[0-9]{2})", value):
                raise ValueError(value)
            moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise _bad(name, f"“{label}” phải là thời điểm ISO 8601 có múi giờ, ví dụ "
                             "2025-07-16T08:30:00+07:00.", "not an ISO date-time") from None
        return moment
    return value


def parse_params(endpoint: Endpoint, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in endpoint.params:
        source = request.path_params if p.where == "path" else request.query_params
        raw = source.get(p.name)
        if raw is None:
            if p.required:
                raise _bad(p.name, f"Thiếu tham số “{p.name}”.", "missing")
            out[p.name] = None
            continue
        if len(request.query_params.getlist(p.name)) > 1:
            raise _bad(p.name, f"Tham số “{p.name}” chỉ được nêu một lần.", "repeated")
        value: Any = raw
        if p.kind is int:
            if not re.fullmatch(r"-?[0-9]{1,19}", raw):
                raise _bad(p.name, f"“{p.name}” phải là một số nguyên.", "not an integer")
            value = int(raw)
        schema = p.json_schema()
        if p.checked_by_ids:
            schema.pop("pattern", None)
        out[p.name] = check_value(p.name, p.name, value, schema)
    return out


def parse_body(endpoint: Endpoint, raw: bytes | None) -> Any:
    """The JSON body as the declared dataclass: every field checked against its schema,
    no field that is not declared."""
    cls = endpoint.body
    if cls is None:
        return None
    if raw is None or len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", "Nội dung gửi lên quá lớn.", "body too large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_body", "Nội dung gửi lên phải là JSON hợp lệ (UTF-8).",
                       "body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_body", "Nội dung gửi lên phải là một đối tượng JSON.",
                       "body is not an object")
    components: dict[str, Schema] = {}
    add_component(cls, components)
    schema = components[cls.__name__]
    unknown = sorted(set(data) - set(schema["properties"]))
    if unknown:
        raise ApiError(400, "bad_body", f"Trường không được nhận: {', '.join(unknown)}.",
                       f"unknown fields {unknown}")
    values: dict[str, Any] = {}
    hints = get_type_hints(cls)
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING:
                raise _bad(f.name, f"Thiếu trường “{f.name}”.", "missing")
            values[f.name] = f.default
            continue
        prop = dict(schema["properties"][f.name])
        optional, inner = _is_optional(hints[f.name])
        if get_origin(inner) is Literal:
            prop["enum"] = list(get_args(inner)) + ([None] if optional else [])
        checked = check_value(f.name, f.name, data[f.name], prop)
        # Strings stay strings in the dataclass: the endpoint re-reads the parsed form.
        values[f.name] = data[f.name] if isinstance(checked, date | datetime) else checked
    return cls(**values)


# ---- rate limits --------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per API token, in this process's memory: `motcua serve` is one
    process, so the limit holds; a restart refills every bucket (acceptable for a limit
    that protects the server, not a quota). Capacity is one minute's calls."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # token id -> (level, at)

    def take(self, token_id: int, per_minute: int) -> float:
        """0 if the call may go ahead (one unit taken), else seconds until it may."""
        now = self._clock()
        refill = per_minute / 60.0
        with self._lock:
            level, at = self._buckets.get(token_id, (float(per_minute), now))
            level = min(float(per_minute), level + (now - at) * refill)
            if level >= 1.0:
                self._buckets[token_id] = (level - 1.0, now)
                return 0.0
            self._buckets[token_id] = (level, now)
            return (1.0 - level) / refill


# ---- the middleware ------------------------------------------------------------------------


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class TokenAuthMiddleware:
    """Every request but the OpenAPI description needs `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, ws: Workspace, limiter: RateLimiter) -> None:
        self.app = app
        self.ws = ws
        self.limiter = limiter
        self._local = threading.local()  # the loop's thread (a test client may use more)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        kind, _, raw = header.partition(" ")
        client = client_of(scope)
        try:
            if kind.lower() != "bearer" or not raw.strip():
                raise TokenRefused("Thiếu mã truy cập: gửi tiêu đề Authorization: Bearer "
                                   "<mã truy cập>.", "no bearer token")
            token = self._authenticate(raw.strip(), client)
        except (TokenRefused, AddressRefused) as exc:
            log.info("API call refused (%s) from %s: %s", route_path(scope), client, exc.detail)
            await error_response(from_motcua(exc))(scope, receive, send)
            return
        except MotcuaError as exc:
            await error_response(from_motcua(exc))(scope, receive, send)
            return
        except sqlite3.Error as exc:
            log.error("token lookup failed: %s", exc)
            self._close()
            await error_response(ApiError(
                503, "try_again", "Kho đang bận; hãy thử lại sau ít giây.",
                f"token lookup failed: {exc}", {"retry-after": "5"}))(scope, receive, send)
            return
        wait = self.limiter.take(token.id, token.rate_per_minute)
        if wait > 0:
            log.warning("token %s over its rate (%d/min)", token.name, token.rate_per_minute)
            seconds = max(1, math.ceil(wait))
            await error_response(ApiError(
                429, "rate_limited",
                f"Mã truy cập này đã gọi quá {token.rate_per_minute} lượt mỗi phút; "
                f"hãy thử lại sau {seconds} giây.",
                f"rate limit {token.rate_per_minute}/min exceeded",
                {"retry-after": str(seconds)}))(scope, receive, send)
            return
        scope.setdefault("state", {})["api_token"] = token
        await self.app(scope, receive, send)

    def _authenticate(self, raw: str, client: str) -> TokenView:
        """One indexed SELECT on a connection this middleware keeps for the event loop's
        thread, run on that thread: no thread hop and no new connection per call. Each
        lookup is its own read transaction, so it holds no snapshot between calls and
        sees a revoke committed a moment before. Readers never wait for writers in WAL
        mode; a short busy timeout bounds the rare wait for a WAL recovery."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.ws)
            conn.execute("PRAGMA busy_timeout=2000")
            self._local.conn = conn
        ctx = Context(self.ws, conn, token_service.anonymous_actor(client))
        return token_service.authenticate(ctx, raw, client)

    def _close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


# ---- running an endpoint ------------------------------------------------------------------


CATALOGUES = CatalogueCache()


class AuditFlusher:
    """Makes the audit entries of read calls durable within `interval` seconds.

    A read call's `api.call` entry is committed before any content leaves, but with
    `synchronous=NORMAL`: the commit is in the WAL (it survives the process being
    killed) without waiting for its own fsync, which on a busy disk costs 10-25 ms, half
    of a call's budget. This thread fsyncs the WAL file at most `interval` after such a
    commit (and any durable commit in between syncs it too), so a power cut can lose at
    most the last second's read entries. Calls that change the archive keep the full
    fsync of every commit."""

    def __init__(self, ws: Workspace, interval: float = 1.0) -> None:
        self.wal = ws.db_path.with_name(ws.db_path.name + "-wal")
        self.interval = interval
        self._dirty = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def mark(self) -> None:
        self._dirty.set()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="api-audit-fsync",
                                                daemon=True)
                self._thread.start()

    def flush(self) -> None:
        self._dirty.clear()
        try:
            with open(self.wal, "rb") as wal:
                os.fsync(wal.fileno())
        except FileNotFoundError:
            pass  # checkpointed and removed: the entries are in the (synced) database
        except OSError as exc:
            log.error("could not fsync the audit entries of API reads: %s", exc)

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            time.sleep(self.interval)
            self.flush()


def to_response(endpoint: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if not is_dataclass(result) or isinstance(result, type):
        raise TypeError(f"{endpoint.name} returned {type(result).__name__}")
    return JSONResponse(asdict(result), status_code=endpoint.status,
                        headers={"cache-control": "no-store"})


def run_endpoint(ws: Workspace, endpoint: Endpoint, request: Request, token: TokenView,
                 raw_body: bytes | None, flusher: AuditFlusher) -> Response:
    client = client_of(request.scope)
    params: dict[str, Any] = {}
    with open_context(ws, token.actor) as ctx:
        try:
            CATALOGUES.seed(ctx)
            if endpoint.scope.value not in token.scopes:
                raise ApiError(403, "scope_missing",
                               f"Mã truy cập không có phạm vi “{endpoint.scope.value}” cần "
                               "cho lời gọi này.",
                               f"token {token.name} lacks scope {endpoint.scope.value}")
            params = parse_params(endpoint, request)
            body = parse_body(endpoint, raw_body)
            response = to_response(endpoint, endpoint.handler(
                ApiCall(ctx, token, params, body, client)))
        except ApiError as exc:
            response = error_response(exc)
        except MotcuaError as exc:
            log.info("API %s refused: %s", endpoint.name, exc.detail)
            response = error_response(from_motcua(exc))
        subject = f"api:{endpoint.name}"
        if endpoint.subject is not None and response.status_code < 400:
            subject = endpoint.subject(params)
        reading = endpoint.method == "GET"
        try:
            if reading:
                ctx.conn.execute("PRAGMA synchronous=NORMAL")  # see AuditFlusher
            token_service.record_call(ctx, token, subject, {
                "endpoint": endpoint.name, "method": endpoint.method,
                "path": request.url.path, "status": response.status_code,
                "client": client})
            if reading:
                flusher.mark()
        except Exception as exc:
            # No entry, no content: every call by another system must be on record.
            log.error("could not audit API call %s: %s", endpoint.name, exc)
            return error_response(ApiError(
                503, "try_again", "Không ghi được nhật ký truy cập; hãy thử lại sau ít phút.",
                "audit entry failed", {"retry-after": "30"}))
        return response


async def read_body(request: Request) -> bytes | None:
    """The request body, or None once it passes MAX_BODY_BYTES (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def starlette_endpoint(ws: Workspace, endpoint: Endpoint, flusher: AuditFlusher
                       ) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        token: TokenView = request.scope["state"]["api_token"]
        raw = await read_body(request) if endpoint.body is not None else b""
        return await run_in_threadpool(run_endpoint, ws, endpoint, request, token, raw,
                                       flusher)

    handle.__name__ = endpoint.name
    return handle


# ---- the OpenAPI description -----------------------------------------------------------------


def _error_content() -> Schema:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


ERROR_RESPONSES: dict[int, str] = {
    400: "Tham số hoặc nội dung không hợp lệ, hoặc yêu cầu bị từ chối (xem message).",
    401: "Thiếu mã truy cập, mã không đúng, đã thu hồi hoặc hết hạn.",
    403: "Mã truy cập không có phạm vi cần thiết, hoặc địa chỉ máy gọi không được phép.",
    404: "Không tìm thấy.",
    413: "Nội dung gửi lên quá lớn.",
    429: "Vượt giới hạn số lượt gọi mỗi phút của mã truy cập; xem Retry-After.",
    503: "Tạm thời không phục vụ được (kho đang bận); thử lại sau Retry-After giây.",
}


def openapi(endpoints: Sequence[Endpoint], title: str) -> dict[str, Any]:
    components: dict[str, Schema] = {}
    add_component(Error, components)
    paths: dict[str, dict[str, Any]] = {}
    retry_after = {"Retry-After": {"description": "Số giây cần chờ trước khi gọi lại.",
                                   "schema": {"type": "integer", "minimum": 1}}}
    for e in endpoints:
        if e.response is not None:
            success: Schema = {"application/json": {"schema": type_schema(e.response,
                                                                          components)}}
        else:
            success = {e.media_type: {"schema": {"type": "string",
                                                 "contentMediaType": e.media_type}}}
        responses: dict[str, Any] = {str(e.status): {"description": "Thành công.",
                                                     "content": success}}
        codes = [400, 401, 403, 404, 429, 503] + ([413] if e.body else [])
        for code in sorted(codes):
            entry: dict[str, Any] = {"description": ERROR_RESPONSES[code],
                                     "content": _error_content()}
            if code in (429, 503):
                entry["headers"] = retry_after
            responses[str(code)] = entry
        op: dict[str, Any] = {
            "operationId": e.name,
            "summary": e.summary,
            "description": (e.description + "\n\n" if e.description else "")
            + f"Phạm vi cần có: `{e.scope.value}`.",
            "tags": [e.scope.value],
            "security": [{"token": []}],
            "parameters": [{"name": p.name, "in": p.where, "required": p.required,
                            "description": p.description, "schema": p.json_schema()}
                           for p in e.params],
            "responses": responses,
        }
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": type_schema(e.body, components)}}}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": API_VERSION,
                 "description": "API JSON của kho dữ liệu điện tử motcua cho hệ thống khác "
                                "(hệ thống một cửa của tỉnh, phần mềm của cơ quan khác): tra "
                                "cứu giấy tờ tái sử dụng, tình trạng hồ sơ, kết quả, báo "
                                "cáo. Xác thực bằng mã truy cập (Bearer); thời điểm theo "
                                "ISO 8601 có múi giờ."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"token": {
                "type": "http", "scheme": "bearer",
                "description": "Mã truy cập do quản trị tạo bằng `motcua token add`."}},
        },
    }
