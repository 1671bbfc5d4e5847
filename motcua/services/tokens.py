"""API tokens: how other systems (the provincial one-stop system, agencies' software)
authenticate to `/api/v1`.

A quản trị creates a token with a name, scopes (`access.Scope`), an optional IP
allow-list, an optional expiry and a rate limit. The token is shown once; the database
keeps only its SHA-256. Every API call looks the token up again (no cache), so a revoked
or expired token is refused at the very next call.

Why SHA-256 and not argon2 as for passwords: a token is 32 random bytes (256 bits)
made by `secrets`, so no guessing attack exists for a slow hash to slow down; argon2
earns its cost only on low-entropy secrets people choose. A fast, unsalted hash also
lets the token be found by an indexed equality lookup, where a salted slow hash would
need an id beside the secret and tens of milliseconds of CPU on every call (and hand
anyone able to send requests a cheap way to load the server).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from motcua import db, labels
from motcua.archive import audit
from motcua.errors import UserError
from motcua.services import Actor, Context, Result
from motcua.services.access import AccessDenied, Permission, Scope, require, scope_roles

TOKEN_PREFIX = "mct_"
DEFAULT_RATE_PER_MINUTE = 120
MAX_RATE_PER_MINUTE = 100_000
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
ScopeText = str | Scope
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TokenRefused(UserError):
    """The token is missing, unknown, revoked or expired (HTTP 401)."""


class AddressRefused(AccessDenied):
    """The token is valid but the caller's address is not on its allow-list (HTTP 403)."""


@dataclass(frozen=True)
class TokenView(Result):
    """A token as `token list` shows it (never the token itself)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    allow_ips: tuple[str, ...]
    rate_per_minute: int
    expires_at: str | None
    created_at: str
    created_by: str
    revoked_at: str | None
    last_used_at: str | None

    @property
    def actor(self) -> Actor:
        """Who the audit log names for this token's calls: "API (token:NAME)"."""
        return Actor(login=self.name, full_name="API", kind="token",
                     roles=scope_roles({Scope(s) for s in self.scopes}))

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and not self.expired(now)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= now

    def allows_address(self, client: str) -> bool:
        if not self.allow_ips:
            return True
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False  # no address (a test client) or a name: not on any list
        # Bound to "::", an IPv4 caller shows as ::ffff:a.b.c.d; match its IPv4 form too.
        mapped = getattr(address, "ipv4_mapped", None)
        candidates = [address, mapped] if mapped is not None else [address]
        return any(a in ipaddress.ip_network(n, strict=False)
                   for n in self.allow_ips for a in candidates
                   if a.version == ipaddress.ip_network(n, strict=False).version)


@dataclass(frozen=True)
class NewToken(Result):
    """A token just made: `token` is shown this once and stored nowhere."""

    token: str
    view: TokenView


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Scopes from `--scopes a,b` (repeatable); unknown ones are refused by name."""
    found: list[Scope] = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            part = part.strip().lower()
            if not part:
                continue
            try:
                scope = Scope(part)
            except ValueError:
                known = ", ".join(s.value for s in Scope)
                raise UserError(f"Phạm vi “{part}” không có; chọn trong: {known}.",
                                f"unknown scope {part!r}") from None
            if scope not in found:
                found.append(scope)
    if not found:
        raise UserError("Hãy nêu ít nhất một phạm vi (--scopes), ví dụ read-warehouse.",
                        "no scopes")
    return tuple(sorted(found))


def parse_networks(values: Iterable[str]) -> tuple[str, ...]:
    """IP addresses or networks (CIDR) of an allow-list, normalised."""
    nets: list[str] = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                net: IpNetwork = ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise UserError(
                    f"Địa chỉ IP “{part}” không hợp lệ; viết dạng 10.0.0.5 hoặc mạng "
                    "10.0.0.0/24.", f"bad ip network {part!r}") from None
            if str(net) not in nets:
                nets.append(str(net))
    return tuple(nets)


def _check_name(name: str) -> str:
    value = name.strip().lower()
    if not _NAME.fullmatch(value):
        raise UserError(
            f"Tên mã truy cập “{name}” không hợp lệ: 1–40 ký tự, chữ thường không dấu, "
            "chữ số, dấu chấm, gạch ngang hoặc gạch dưới (ví dụ mot-cua-tinh).",
            f"bad token name {name!r}")
    return value


def expiry_moment(ctx: Context, expires: str | date | datetime | None) -> datetime | None:
    """When a token stops working: a day (dd/mm/yyyy) means through the end of that day
    on the centre's clock; a datetime is taken as is (aware)."""
    if expires is None or (isinstance(expires, str) and not expires.strip()):
        return None
    if isinstance(expires, datetime):
        if expires.tzinfo is None:
            raise ValueError("expiry must be an aware datetime")
        return expires.astimezone(UTC)
    day = expires if isinstance(expires, date) else labels.parse_day(expires, "ngày hết hạn")
    return datetime.combine(day + timedelta(days=1), time(0), ctx.zone).astimezone(UTC)


def _view(row: dict[str, object]) -> TokenView:
    def words(value: object) -> tuple[str, ...]:
        return tuple(str(value or "").split())

    def opt(value: object) -> str | None:
        return str(value) if value else None

    return TokenView(
        id=int(str(row["id"])), name=str(row["name"]), prefix=str(row["prefix"]),
        scopes=words(row["scopes"]), allow_ips=words(row["allow_ips"]),
        rate_per_minute=int(str(row["rate_per_minute"])),
        expires_at=opt(row["expires_at"]),
        created_at=str(row["created_at"]), created_by=str(row["created_by"]),
        revoked_at=opt(row["revoked_at"]),
        last_used_at=opt(row["last_used_at"]))


def _get(ctx: Context, name: str) -> TokenView:
    row = ctx.conn.execute("SELECT * FROM api_tokens WHERE name = ?",
                           (name.strip().lower(),)).fetchone()
    if row is None:
        raise UserError(f"Không có mã truy cập tên “{name}”.", f"no token {name!r}")
    return _view(dict(row))


def create(ctx: Context, name: str, scopes: Iterable[str], *, allow_ips: Iterable[str] = (),
           expires: str | date | datetime | None = None,
           rate_per_minute: int = DEFAULT_RATE_PER_MINUTE) -> NewToken:
    """A new token (only quản trị); audited without the token, which is returned once."""
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    name = _check_name(name)
    wanted = parse_scopes(scopes)
    nets = parse_networks(allow_ips)
    if not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
        raise UserError(f"Giới hạn số lượt gọi mỗi phút phải từ 1 đến {MAX_RATE_PER_MINUTE}.",
                        f"rate {rate_per_minute} out of range")
    until = expiry_moment(ctx, expires)
    now = datetime.now(UTC)
    if until is not None and until <= now:
        raise UserError("Ngày hết hạn đã qua; hãy chọn một ngày từ hôm nay trở đi.",
                        "expiry in the past")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = db.now()
    with db.transaction(ctx.conn):
        if ctx.conn.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone():
            raise UserError(f"Đã có mã truy cập tên “{name}” (kể cả đã thu hồi, để nhật ký "
                            "không lẫn); hãy chọn tên khác.", f"token {name!r} exists")
        ctx.conn.execute(
            "INSERT INTO api_tokens (name, token_hash, prefix, scopes, allow_ips,"
            " rate_per_minute, expires_at, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, hash_token(token), token[:len(TOKEN_PREFIX) + 6],
             " ".join(s.value for s in wanted), " ".join(nets), rate_per_minute,
             until.isoformat(timespec="seconds") if until else None, created,
             ctx.audit_name))
        audit.record(ctx.conn, "token.add", f"token:{name}", ctx.audit_name,
                     {"scopes": [s.value for s in wanted], "allow_ips": list(nets),
                      "rate_per_minute": rate_per_minute,
                      "expires_at": until.isoformat(timespec="seconds") if until else None})
    return NewToken(token, _get(ctx, name))


def list_tokens(ctx: Context) -> list[TokenView]:
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    return [_view(dict(r)) for r in ctx.conn.execute("SELECT * FROM api_tokens ORDER BY id")]


def revoke(ctx: Context, name: str) -> TokenView:
    """Revoke a token: refused from its next call on (tokens are read on every call)."""
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    token = _get(ctx, name)
    if token.revoked_at is not None:
        return token
    with db.transaction(ctx.conn):
        ctx.conn.execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                         (db.now(), ctx.audit_name, token.id))
        audit.record(ctx.conn, "token.revoke", f"token:{token.name}", ctx.audit_name, {})
    return _get(ctx, token.name)


def authenticate(ctx: Context, token: str, client: str) -> TokenView:
    """The token behind `Authorization: Bearer …`, if it is known, not revoked, not
    expired and the caller's address is allowed. Reads the database every time."""
    refused = TokenRefused(
        "Mã truy cập không hợp lệ, đã bị thu hồi hoặc đã hết hạn.",
        "missing, unknown, revoked or expired token")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise refused
    row = ctx.conn.execute("SELECT * FROM api_tokens WHERE token_hash = ?",
                           (hash_token(token),)).fetchone()
    if row is None:
        raise refused
    found = _view(dict(row))
    if not found.active(datetime.now(UTC)):
        raise TokenRefused(refused.message, f"token {found.name} revoked or expired")
    if not found.allows_address(client):
        raise AddressRefused(
            "Địa chỉ máy gọi không nằm trong danh sách được phép của mã truy cập này.",
            f"client {client!r} not in allow-list of token {found.name}")
    return found


def mark_used(conn_ctx: Context, token: TokenView) -> None:
    """Remember when a token was last used (inside the call's audit transaction)."""
    conn_ctx.conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                          (db.now(), token.id))


def record_call(ctx: Context, token: TokenView, subject: str, details: dict[str, Any]
                ) -> None:
    """One `api.call` audit entry and the token's last use, in one transaction: no
    entry, no content (the caller answers 503 if this raises)."""
    with db.transaction(ctx.conn):
        audit.record(ctx.conn, "api.call", subject, ctx.audit_name, details)
        mark_used(ctx, token)


def anonymous_actor(client: str) -> Actor:
    """Who reads the token table while a call is authenticated: nobody yet, no role."""
    return Actor(login=client or "?", full_name="API", kind="token")
