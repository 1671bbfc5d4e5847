"""`/api/v1`: the JSON API for other systems (issue 16).

A Starlette sub-application mounted by `motcua.web.create_app`: authenticated by API
tokens (`motcua.services.tokens`), never by the web's sessions, so the web's session and
CSRF checks (which live in `web.app.dispatch`, per page) do not apply here. Endpoints are
declared in `endpoints.ENDPOINTS`; the OpenAPI 3.1 description at `/api/v1/openapi.json`
is generated from those declarations and the dataclasses of `models`.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from motcua.api.core import (
    ApiError,
    AuditFlusher,
    RateLimiter,
    TokenAuthMiddleware,
    error_response,
    openapi,
    starlette_endpoint,
)
from motcua.api.endpoints import ENDPOINTS
from motcua.workspace import Workspace

__all__ = ["ENDPOINTS", "create_api", "openapi_document"]

log = logging.getLogger(__name__)

PREFIX = "/api/v1"


def openapi_document(ws: Workspace | None = None) -> dict[str, Any]:
    title = "motcua API"
    if ws is not None:
        title = f"motcua API — {ws.config.agency.name}"
    return openapi(ENDPOINTS, title)


def create_api(ws: Workspace, limiter: RateLimiter | None = None) -> Starlette:
    # Generated once per app: the declarations do not change while it runs.
    spec = JSONResponse(openapi_document(ws)).body

    async def describe(request: Request) -> Response:
        return Response(spec, media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return error_response(ApiError(405, "method_not_allowed",
                                           "Địa chỉ này không nhận phương thức đó.",
                                           "method not allowed",
                                           dict(exc.headers or {})))
        return error_response(ApiError(exc.status_code, "not_found",
                                       "Không có địa chỉ này trong API.", "no such route"))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("API request failed: %s", request.url.path, exc_info=exc)
        return error_response(ApiError(500, "internal_error",
                                       "Đã có lỗi khi xử lý yêu cầu; hãy báo cho cán bộ kỹ "
                                       "thuật của trung tâm.", type(exc).__name__))

    routes = [Route("/openapi.json", describe, methods=["GET"], name="openapi")]
    flusher = AuditFlusher(ws)
    routes += [Route(e.path, starlette_endpoint(ws, e, flusher), methods=[e.method],
                     name=e.name) for e in ENDPOINTS]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TokenAuthMiddleware, ws=ws, limiter=limiter or RateLimiter())],
        exception_handlers={HTTPException: http_error, 500: server_error},
    )
