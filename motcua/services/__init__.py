"""What staff do, shared by the CLI, the web page and the API.

A service function takes a `Context` (the workspace, an open connection it does not
leak, the acting officer) plus plain arguments and returns a frozen dataclass with
`as_dict()`. It never prints and never imports click or starlette: the CLI's `--json`,
the web page and the API render the same dict.

    with open_context(ws, actor) as ctx:
        view = documents.view(ctx, 12)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from motcua import db
from motcua.workspace import Workspace


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


@contextmanager
def open_context(ws: Workspace, actor: Actor) -> Iterator[Context]:
    """A context whose connection is always closed, whatever happens inside."""
    conn = db.connect(ws.db_path)
    try:
        yield Context(ws=ws, conn=conn, actor=actor)
    finally:
        conn.close()
