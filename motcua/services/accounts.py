"""Staff accounts: users and their roles, passwords (argon2id), login throttling and the
web's server-side sessions. Every change and every login attempt is an audit entry.

Passwords are checked against a policy (at least 10 characters, not in the shipped list
of common passwords, not the login name) and stored only as argon2id hashes. A login
fails the same way, and takes the same time, whether the account exists or not.

Throttling: after `max_failures` failed logins for one account, or from one client
address, within `lockout_minutes`, further attempts are refused until the oldest of
those failures leaves the window. Refused attempts do not count, so a locked account
opens again on time even while someone keeps trying.

Sessions: the cookie carries a random token; the database keeps only its SHA-256, the
user, a CSRF token and the creation and last-seen times. A session ends at logout
(row deleted), after `idle_minutes` without a request, or `absolute_hours` after login.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from motcua import db
from motcua.archive import audit
from motcua.errors import UserError
from motcua.services import Actor, Context
from motcua.services.access import ALL_ROLES, Permission, Role, require
from motcua.workspace import Workspace

# Chosen with bench/argon2.py on the centre's kind of machine (2 cores): about 170-190 ms
# per hash there, inside the 50-500 ms target, with one lane so two logins at once do not
# starve each other. Stored hashes carry their own parameters; a hash made with older
# ones is upgraded at the next successful login.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # longer input is refused before hashing (no hashing DoS)
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MAX_NAME_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


# ---- settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class WebSettings:
    """`[web]` in motcua.toml."""

    idle_minutes: float = 30.0
    absolute_hours: float = 12.0
    max_failures: int = 5
    lockout_minutes: float = 15.0
    upload_max_mb: int = 200  # largest scan the upload page takes, in MB


def web_settings(ws: Workspace) -> WebSettings:
    raw = ws.config.section("web")
    defaults = WebSettings()
    values: dict[str, Any] = {}
    for key, default in asdict(defaults).items():
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise UserError(f"motcua.toml: [web] {key} = “{value}” không hợp lệ; "
                            "hãy ghi một số dương.", f"bad [web] {key} {value!r}")
        values[key] = int(value) if isinstance(default, int) else float(value)
    unknown = sorted(set(raw) - set(values))
    if unknown:
        raise UserError(f"motcua.toml: khóa không hợp lệ “web.{unknown[0]}”.",
                        f"unknown config key web.{unknown[0]}")
    return WebSettings(**values)


# ---- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class UserView:
    id: int
    login: str
    full_name: str
    title: str
    roles: tuple[str, ...]
    active: bool
    created_at: str
    changed_at: str
    last_login_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def actor(self) -> Actor:
        return Actor(login=self.login, full_name=self.full_name, kind="user", title=self.title,
                     roles=frozenset(self.roles), user_id=self.id)


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie, never stored
    csrf_token: str
    actor: Actor

    def as_dict(self) -> dict[str, Any]:
        return {"login": self.actor.login}


@dataclass(frozen=True)
class Session:
    id_hash: str
    csrf_token: str
    actor: Actor
    created_at: str
    last_seen_at: str


class LoginFailed(UserError):
    """Wrong login name or password (the two are never told apart)."""


class LoginLocked(UserError):
    """Too many failures for this account or address: refused for a while."""


class SessionExpired(UserError):
    """The session ended by idle or absolute expiry; `reason` is "idle" or "absolute"."""

    def __init__(self, message: str, detail: str, reason: str) -> None:
        super().__init__(message, detail)
        self.reason = reason


# ---- passwords ----------------------------------------------------------------------


def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                          parallelism=ARGON2_PARALLELISM)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, login: str = "") -> str | None:
    """Why `password` is refused (Vietnamese), or None if it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Mật khẩu dài quá {MAX_PASSWORD_LENGTH} ký tự."
    folded = password.casefold()
    if folded in common_passwords():
        return "Mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác."
    if len(set(folded)) < 4:
        return "Mật khẩu lặp lại quá ít ký tự khác nhau; hãy chọn mật khẩu khác."
    if login and login.casefold() in folded:
        return "Mật khẩu không được chứa tên đăng nhập."
    return None


def check_password_policy(password: str, login: str = "") -> None:
    problem = password_problem(password, login)
    if problem:
        raise UserError(problem, "password refused by policy")


@cache
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so that a wrong login name
    # costs the same time as a wrong password.
    return hasher().hash(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A random password for a new account (quickstart), 16 URL-safe characters."""
    while True:
        candidate = secrets.token_urlsafe(12)
        if password_problem(candidate) is None:
            return candidate


# ---- users ----------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def normalise_login(login: str) -> str:
    return login.strip().casefold()


def _check_login(login: str) -> str:
    login = normalise_login(login)
    if not LOGIN_PATTERN.match(login):
        raise UserError("Tên đăng nhập phải dài 2–40 ký tự, chỉ gồm chữ không dấu, số, "
                        "dấu chấm, gạch dưới hoặc gạch ngang, bắt đầu bằng chữ hoặc số.",
                        f"bad login {login!r}")
    return login


def parse_roles(roles: list[str] | tuple[str, ...] | set[str] | frozenset[str]) -> tuple[str, ...]:
    """Role codes, validated and sorted; at least one."""
    chosen: set[str] = set()
    for role in roles:
        code = role.strip()
        if not code:
            continue
        try:
            chosen.add(Role(code).value)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise UserError(f"Vai trò “{code}” không có; chọn trong: {known}.",
                            f"unknown role {code!r}") from None
    if not chosen:
        raise UserError("Hãy chọn ít nhất một vai trò.", "no role given")
    return tuple(sorted(chosen))


def _text_field(value: str, what: str, required: bool) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise UserError(f"Hãy nhập {what}.", f"empty {what}")
    if len(value) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in value):
        raise UserError(f"{what.capitalize()} không hợp lệ (tối đa {MAX_NAME_LENGTH} ký tự).",
                        f"bad {what}")
    return value


def _user_from_row(conn: sqlite3.Connection, row: sqlite3.Row) -> UserView:
    roles = tuple(r[0] for r in conn.execute(
        "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", (row["id"],)))
    return UserView(id=row["id"], login=row["login"], full_name=row["full_name"],
                    title=row["title"], roles=roles, active=bool(row["active"]),
                    created_at=row["created_at"], changed_at=row["changed_at"],
                    last_login_at=row["last_login_at"])


def find_user(conn: sqlite3.Connection, login: str) -> UserView | None:
    row = conn.execute("SELECT * FROM users WHERE login = ?", (normalise_login(login),)
                       ).fetchone()
    return _user_from_row(conn, row) if row else None


def get_user(conn: sqlite3.Connection, login: str) -> UserView:
    user = find_user(conn, login)
    if user is None:
        raise UserError(f"Không có tài khoản “{login}”.", f"no user {login!r}")
    return user


def list_users(ctx: Context) -> list[UserView]:
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    rows = ctx.conn.execute("SELECT * FROM users ORDER BY active DESC, login").fetchall()
    return [_user_from_row(ctx.conn, row) for row in rows]


def add_user(ctx: Context, login: str, full_name: str, title: str, roles: list[str] |
             tuple[str, ...], password: str) -> UserView:
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    login = _check_login(login)
    full_name = _text_field(full_name, "họ tên", required=True)
    title = _text_field(title, "chức vụ", required=False)
    chosen = parse_roles(roles)
    check_password_policy(password, login)
    digest = hasher().hash(password)
    now = db.now()
    with db.transaction(ctx.conn):
        if ctx.conn.execute("SELECT 1 FROM users WHERE login = ?", (login,)).fetchone():
            raise UserError(f"Tài khoản “{login}” đã có.", f"duplicate user {login!r}")
        cur = ctx.conn.execute(
            "INSERT INTO users (login, full_name, title, active, password_hash, created_at,"
            " changed_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
            (login, full_name, title, digest, now, now))
        user_id = cur.lastrowid
        ctx.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
                             [(user_id, role) for role in chosen])
        audit.record(ctx.conn, "user_add", f"user:{login}", ctx.actor.audit_name,
                     {"full_name": full_name, "title": title, "roles": list(chosen)})
    return get_user(ctx.conn, login)


def set_password(ctx: Context, login: str, password: str) -> UserView:
    """Change a password: an administrator for anyone, an officer for themself.
    Every session of that account ends."""
    if normalise_login(login) != ctx.actor.login or ctx.actor.kind != "user":
        require(ctx.actor.roles, Permission.ADMIN_USERS)
    user = get_user(ctx.conn, login)
    check_password_policy(password, user.login)
    digest = hasher().hash(password)
    with db.transaction(ctx.conn):
        ctx.conn.execute("UPDATE users SET password_hash = ?, changed_at = ? WHERE id = ?",
                         (digest, db.now(), user.id))
        ctx.conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user.id,))
        audit.record(ctx.conn, "user_passwd", f"user:{user.login}", ctx.actor.audit_name, {})
    return get_user(ctx.conn, login)


def change_own_password(ctx: Context, current: str, new: str, confirm: str,
                        client: str, settings: WebSettings) -> NewSession:
    """An officer changes their own password, proving the current one (wrong guesses
    count towards the login lock: a stolen session cannot try passwords freely). Every
    session of the account ends, a thief's too; the officer gets a fresh one."""
    if ctx.actor.kind != "user" or ctx.actor.user_id is None:
        raise UserError("Chỉ tài khoản cán bộ mới đổi được mật khẩu ở đây.", "not a user")
    row = ctx.conn.execute("SELECT * FROM users WHERE id = ? AND active = 1",
                           (ctx.actor.user_id,)).fetchone()
    if row is None:
        raise UserError("Tài khoản không còn hoạt động.", "user gone or disabled")
    now = _now()
    until = lock_until(ctx.conn, row["login"], client, settings, now)
    if until is not None:
        raise LoginLocked(_locked_message(until, now), "password change locked")
    try:
        ok = len(current) <= MAX_PASSWORD_LENGTH and hasher().verify(row["password_hash"],
                                                                     current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with db.transaction(ctx.conn):
            ctx.conn.execute("INSERT INTO login_attempts (login, client, at, ok)"
                             " VALUES (?, ?, ?, 0)", (row["login"], client, _iso(now)))
            audit.record(ctx.conn, "user_passwd_failed", f"user:{row['login']}",
                         ctx.actor.audit_name, {"client": client})
        raise UserError("Mật khẩu hiện tại không đúng.", "current password wrong")
    if new != confirm:
        raise UserError("Hai lần nhập mật khẩu mới không khớp nhau.", "password mismatch")
    if new == current:
        raise UserError("Mật khẩu mới phải khác mật khẩu hiện tại.", "password unchanged")
    check_password_policy(new, row["login"])
    digest = hasher().hash(new)
    user = _user_from_row(ctx.conn, row)
    with db.transaction(ctx.conn):
        ctx.conn.execute("UPDATE users SET password_hash = ?, changed_at = ? WHERE id = ?",
                         (digest, db.now(), user.id))
        ctx.conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user.id,))
        session = _create_session(ctx.conn, user, client, _now())
        audit.record(ctx.conn, "user_passwd", f"user:{user.login}", ctx.actor.audit_name,
                     {"client": client, "own": True})
    return session


def set_roles(ctx: Context, login: str, roles: list[str] | tuple[str, ...]) -> UserView:
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    user = get_user(ctx.conn, login)
    chosen = parse_roles(roles)
    with db.transaction(ctx.conn):
        _keep_an_admin(ctx.conn, user, Role.ADMIN.value in chosen and user.active)
        ctx.conn.execute("DELETE FROM user_roles WHERE user_id = ?", (user.id,))
        ctx.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
                             [(user.id, role) for role in chosen])
        ctx.conn.execute("UPDATE users SET changed_at = ? WHERE id = ?", (db.now(), user.id))
        audit.record(ctx.conn, "user_roles", f"user:{user.login}", ctx.actor.audit_name,
                     {"before": list(user.roles), "after": list(chosen)})
    return get_user(ctx.conn, login)


def disable_user(ctx: Context, login: str) -> UserView:
    """Disable an account (kept for the audit trail, never deleted); its sessions end."""
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    user = get_user(ctx.conn, login)
    if ctx.actor.kind == "user" and user.login == ctx.actor.login:
        raise UserError("Không thể tự khóa tài khoản của chính mình.", "self-disable refused")
    with db.transaction(ctx.conn):
        _keep_an_admin(ctx.conn, user, still_admin=False)
        ctx.conn.execute("UPDATE users SET active = 0, changed_at = ? WHERE id = ?",
                         (db.now(), user.id))
        ctx.conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user.id,))
        audit.record(ctx.conn, "user_disable", f"user:{user.login}", ctx.actor.audit_name, {})
    return get_user(ctx.conn, login)


def _keep_an_admin(conn: sqlite3.Connection, user: UserView, still_admin: bool) -> None:
    """Refuse to remove the last active administrator from the web (the OS account can
    always add another through the CLI, but a centre should not lock itself out)."""
    if still_admin or Role.ADMIN.value not in user.roles or not user.active:
        return
    others = conn.execute(
        "SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id"
        " WHERE u.active = 1 AND r.role = ? AND u.id != ?", (Role.ADMIN.value, user.id)
    ).fetchone()[0]
    if not others:
        raise UserError("Đây là tài khoản quản trị cuối cùng còn hoạt động; hãy cấp quyền "
                        "quản trị cho người khác trước.", "last active admin")


def actor_for_login(conn: sqlite3.Connection, login: str) -> Actor:
    """The actor for `--as LOGIN` / MOTCUA_USER: an active account."""
    user = get_user(conn, login)
    if not user.active:
        raise UserError(f"Tài khoản “{user.login}” đã bị khóa.", f"user {login!r} disabled")
    return user.actor()


def os_actor(os_login: str) -> Actor:
    """The OS account running the CLI without `--as`: every role, recorded as such."""
    return Actor(login=os_login, full_name=os_login, kind="os", roles=ALL_ROLES)


# ---- login and throttling -------------------------------------------------------------


def _client_actor(client: str) -> str:
    return f"web:{client or '?'}"


def _recent_failures(conn: sqlite3.Connection, column: str, value: str, since: str) -> list[str]:
    """Times of failures for this login or client inside the window and after its last
    success, newest first."""
    last_ok = conn.execute(f"SELECT MAX(at) FROM login_attempts WHERE {column} = ? AND ok = 1",
                           (value,)).fetchone()[0]
    start = max(since, last_ok) if last_ok else since
    return [r[0] for r in conn.execute(
        f"SELECT at FROM login_attempts WHERE {column} = ? AND ok = 0 AND at > ?"
        " ORDER BY at DESC", (value, start))]


def lock_until(conn: sqlite3.Connection, login: str, client: str,
               settings: WebSettings, now: datetime | None = None) -> datetime | None:
    """When the lock on this login or client ends, or None if it is not locked."""
    now = now or _now()
    window = timedelta(minutes=settings.lockout_minutes)
    since = _iso(now - window)
    ends: list[datetime] = []
    for column, value in (("login", normalise_login(login)), ("client", client)):
        failures = _recent_failures(conn, column, value, since)
        if len(failures) >= settings.max_failures:
            # Open again when the oldest failure that still makes the count leaves the window.
            oldest = datetime.fromisoformat(failures[settings.max_failures - 1])
            ends.append(oldest + window)
    return max(ends) if ends else None


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return ("Đăng nhập sai quá nhiều lần nên tạm thời bị khóa. "
            f"Hãy thử lại sau khoảng {minutes} phút, hoặc nhờ quản trị viên kiểm tra.")


def login(ctx: Context, login_name: str, password: str, client: str,
          settings: WebSettings) -> NewSession:
    """Check a login, record the attempt and start a session. Raises LoginLocked or
    LoginFailed (Vietnamese messages for the page)."""
    conn = ctx.conn
    key = normalise_login(login_name)[:100]
    subject = f"user:{key}"
    now = _now()
    until = lock_until(conn, key, client, settings, now)
    if until is not None:
        audit.record(conn, "login_refused", subject, _client_actor(client),
                     {"client": client, "locked_until": _iso(until)})
        raise LoginLocked(_locked_message(until, now), f"login locked for {key!r}/{client}")
    row = conn.execute("SELECT * FROM users WHERE login = ?", (key,)).fetchone()
    stored = row["password_hash"] if row is not None and row["password_hash"] else _dummy_hash()
    ph = hasher()
    try:
        ok = len(password) <= MAX_PASSWORD_LENGTH and ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if row is None or not row["active"] or not ok:
        reason = "unknown" if row is None else ("disabled" if not row["active"] else "password")
        with db.transaction(conn):
            conn.execute("INSERT INTO login_attempts (login, client, at, ok) VALUES (?, ?, ?, 0)",
                         (key, client, _iso(now)))
            audit.record(conn, "login_failed", subject, _client_actor(client),
                         {"client": client, "reason": reason})
            until = lock_until(conn, key, client, settings, now)
            if until is not None:
                audit.record(conn, "login_locked", subject, _client_actor(client),
                             {"client": client, "locked_until": _iso(until),
                              "failures": settings.max_failures})
        if until is not None:
            raise LoginLocked(_locked_message(until, now), f"login locked for {key!r}/{client}")
        raise LoginFailed("Tên đăng nhập hoặc mật khẩu không đúng.", f"login failed: {reason}")
    user = _user_from_row(conn, row)
    rehash = ph.check_needs_rehash(stored)
    new_hash = ph.hash(password) if rehash else None
    with db.transaction(conn):
        _prune(conn, now, settings)
        conn.execute("INSERT INTO login_attempts (login, client, at, ok) VALUES (?, ?, ?, 1)",
                     (key, client, _iso(now)))
        conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (_iso(now), user.id))
        if new_hash:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, user.id))
        session = _create_session(conn, user, client, now)
        audit.record(conn, "login_ok", subject, user.actor().audit_name, {"client": client})
    return session


def _prune(conn: sqlite3.Connection, now: datetime, settings: WebSettings) -> None:
    """Forget sessions past their limits (browsers closed without logging out) and login
    attempts older than a day: neither is needed any more, the audit log keeps the story."""
    conn.execute("DELETE FROM web_sessions WHERE created_at < ? OR last_seen_at < ?",
                 (_iso(now - timedelta(hours=settings.absolute_hours)),
                  _iso(now - timedelta(minutes=settings.idle_minutes))))
    horizon = max(timedelta(days=1), timedelta(minutes=settings.lockout_minutes))
    conn.execute("DELETE FROM login_attempts WHERE at < ?", (_iso(now - horizon),))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _create_session(conn: sqlite3.Connection, user: UserView, client: str,
                    now: datetime) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute("INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at,"
                 " last_seen_at, client) VALUES (?, ?, ?, ?, ?, ?)",
                 (_token_hash(token), user.id, csrf, _iso(now), _iso(now), client))
    return NewSession(token=token, csrf_token=csrf, actor=user.actor())


def start_session(ctx: Context, login_name: str, client: str = "") -> NewSession:
    """A session for an active account without a password check, for an administrator
    (the tests' permission matrix uses it). The web's login goes through `login`."""
    require(ctx.actor.roles, Permission.ADMIN_USERS)
    user = get_user(ctx.conn, login_name)
    if not user.active:
        raise UserError(f"Tài khoản “{user.login}” đã bị khóa.", "user disabled")
    with db.transaction(ctx.conn):
        session = _create_session(ctx.conn, user, client, _now())
        audit.record(ctx.conn, "session_start", f"user:{user.login}", ctx.actor.audit_name,
                     {"client": client})
    return session


def load_session(ctx: Context, token: str, settings: WebSettings) -> Session | None:
    """The live session for a cookie token, or None. Raises SessionExpired (and deletes
    the row) when it has passed its idle or absolute limit."""
    conn = ctx.conn
    if not token or len(token) > 200:
        return None
    id_hash = _token_hash(token)
    row = conn.execute(
        "SELECT s.*, u.active FROM web_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.id_hash = ?", (id_hash,)).fetchone()
    if row is None:
        return None
    now = _now()
    created = datetime.fromisoformat(row["created_at"])
    seen = datetime.fromisoformat(row["last_seen_at"])
    reason = None
    if now - created > timedelta(hours=settings.absolute_hours):
        reason = "absolute"
    elif now - seen > timedelta(minutes=settings.idle_minutes):
        reason = "idle"
    if reason or not row["active"]:
        with db.transaction(conn):
            conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))
        if reason is None:
            return None
        raise SessionExpired(expiry_message(reason, settings), f"session expired ({reason})",
                             reason)
    user = _user_from_row(conn, conn.execute("SELECT * FROM users WHERE id = ?",
                                             (row["user_id"],)).fetchone())
    # Touch last_seen at most every 1/10 of the idle limit: a write per page is not needed.
    if (now - seen).total_seconds() >= min(60.0, settings.idle_minutes * 6):
        with db.transaction(conn):
            conn.execute("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?",
                         (_iso(now), id_hash))
    return Session(id_hash=id_hash, csrf_token=row["csrf_token"], actor=user.actor(),
                   created_at=row["created_at"], last_seen_at=row["last_seen_at"])


def expiry_message(reason: str, settings: WebSettings) -> str:
    """What the login page says after a session ended by itself ("idle"/"absolute")."""
    if reason == "idle":
        return ("Phiên làm việc đã hết hạn vì không thao tác quá "
                f"{_minutes_text(settings.idle_minutes)}. Hãy đăng nhập lại.")
    return (f"Phiên làm việc đã quá {_hours_text(settings.absolute_hours)} kể từ khi "
            "đăng nhập. Hãy đăng nhập lại.")


def _minutes_text(minutes: float) -> str:
    if minutes >= 1:
        return f"{minutes:g} phút"
    return f"{round(minutes * 60)} giây"


def _hours_text(hours: float) -> str:
    return f"{hours:g} giờ" if hours >= 1 else _minutes_text(hours * 60)


def end_session(ctx: Context, session: Session) -> None:
    """Drop a session without an audit entry: the old one replaced at a new login."""
    with db.transaction(ctx.conn):
        ctx.conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (session.id_hash,))


def logout(ctx: Context, session: Session, client: str) -> None:
    conn = ctx.conn
    with db.transaction(conn):
        conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (session.id_hash,))
        audit.record(conn, "logout", f"user:{session.actor.login}", session.actor.audit_name,
                     {"client": client})

