"""What staff do, shared by the CLI, the web page and the API.

A service function takes a `Context` (the workspace, an open connection it does not
leak, the acting officer) plus plain arguments and returns a frozen dataclass with
`as_dict()`. It never prints and never imports click or starlette: the CLI's `--json`,
the web page and the API render the same dict.

    with open_context(ws, actor) as ctx:
        view = documents.view(ctx, 12)
"""

from __future__ import annotations

import getpass
import pwd
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from motcua import db
from motcua.workspace import Workspace

if TYPE_CHECKING:
    from motcua.archive.catalogue import Catalogue
    from motcua.counter.workdays import WorkCalendar


@dataclass(frozen=True)
class Actor:
    """Who does it: an officer's account, the OS account running the CLI, a service
    account (the watcher) or an API token. `login` is what the audit log records."""

    login: str
    full_name: str
    kind: str = "user"  # user | os | service | token
    title: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None

    @property
    def audit_name(self) -> str:
        """The name written into audit entries: full name and login, or the OS account."""
        if self.kind == "user":
            return f"{self.full_name} ({self.login})"
        return f"{self.full_name} ({self.kind}:{self.login})"


@dataclass(frozen=True)
class Context:
    ws: Workspace
    conn: sqlite3.Connection
    actor: Actor

    # cached_property writes the instance __dict__ directly, so it works on a frozen
    # dataclass: each is read once per context (one command, one request).
    @cached_property
    def zone(self) -> ZoneInfo:
        """The centre's time zone: every time shown to people is in it."""
        from motcua.archive.settings import centre_zone

        return centre_zone(self.ws)

    @cached_property
    def catalogue(self) -> Catalogue:
        from motcua.archive.catalogue import load_catalogue

        return load_catalogue(self.ws)

    @cached_property
    def calendar(self) -> WorkCalendar:
        from motcua.counter.workdays import load_calendar

        return load_calendar(self.ws)

    @property
    def audit_name(self) -> str:
        """Who the audit log says did it."""
        return self.actor.audit_name

    @property
    def operator(self) -> str:
        """The name printed as "Người số hóa" on stamps and as the receiving officer on
        forms: the officer's full name; for the OS account, the configured operator."""
        if self.actor.kind == "user":
            return self.actor.full_name
        from motcua.archive.settings import stamp_operator

        return stamp_operator(self.ws)


class Result:
    """Base of every service result (a frozen dataclass): `as_dict()` is what `--json`
    prints and what a web page renders, with paths, dates and enums as plain strings."""

    def as_dict(self) -> dict[str, Any]:
        if not is_dataclass(self):
            raise TypeError(f"{type(self).__name__} is not a dataclass")
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}


def plain(value: Any) -> Any:
    """A value as JSON can hold it."""
    if isinstance(value, Result):
        return value.as_dict()
    if is_dataclass(value) and not isinstance(value, type):
        as_dict = getattr(value, "as_dict", None)
        return plain(as_dict() if callable(as_dict) else asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [plain(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, sqlite3.Row):
        return {k: plain(value[k]) for k in value.keys()}  # noqa: SIM118 (a Row iterates values)
    return value


def os_actor() -> Actor:
    """The OS account running the command, recorded as such; it holds every role (it can
    read the workspace files anyway)."""
    from motcua.services.access import ALL_ROLES

    try:
        login = getpass.getuser()
    except Exception:  # no login name (containers without a passwd entry)
        login = "?"
    try:
        full_name = pwd.getpwnam(login).pw_gecos.split(",")[0].strip() or login
    except KeyError:
        full_name = login
    return Actor(login=login, full_name=full_name, kind="os",
                 roles=frozenset(str(r) for r in ALL_ROLES))


def resolve_cli_actor(ws: Workspace, login: str | None) -> Actor:
    """The CLI's actor: `--as LOGIN` / `MOTCUA_USER`, else the OS account.

    The one place where a login becomes an Actor for the CLI: a named login must be an
    active staff account (services.accounts), and acts with that account's roles and
    full name; a name that is no account is refused rather than recorded as typed."""
    if not login or not login.strip():
        return os_actor()
    from motcua.services import accounts

    with open_context(ws, os_actor()) as ctx:
        return accounts.actor_for_login(ctx.conn, login)


def connect(ws: Workspace) -> sqlite3.Connection:
    """A connection for a front end that keeps its own (one per thread, closed by it),
    such as the API's token lookups; everything else uses `open_context`."""
    return db.connect(ws.db_path)


class CatalogueCache:
    """The procedure catalogue for one process, read again only when its file changes:
    parsing the TOML costs milliseconds, which a call with a tight latency target should
    not pay every time. A clerk's edit is seen at the next call (size or mtime changes)."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._entry: tuple[tuple[int, int], Any] | None = None

    def seed(self, ctx: Context) -> None:
        """Give `ctx` the cached catalogue (read again if the file changed)."""
        from motcua.archive.catalogue import catalogue_path, load_catalogue

        try:
            st = catalogue_path(ctx.ws).stat()
        except OSError:
            return  # absent: Context.catalogue creates it from the shipped one
        key = (st.st_mtime_ns, st.st_size)
        with self._lock:
            entry = self._entry
        if entry is None or entry[0] != key:
            entry = (key, load_catalogue(ctx.ws))
            with self._lock:
                self._entry = entry
        # Context.catalogue is a cached_property: it reads the instance dict first.
        ctx.__dict__["catalogue"] = entry[1]


@contextmanager
def open_context(ws: Workspace, actor: Actor) -> Iterator[Context]:
    """A context whose connection is always closed, whatever happens inside."""
    conn = db.connect(ws.db_path)
    try:
        yield Context(ws=ws, conn=conn, actor=actor)
    finally:
        conn.close()
