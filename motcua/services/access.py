"""Who may do what: the one table of roles and permissions the CLI, the web page and the
API all consult. Roles and permissions are English codes; their Vietnamese names are in
`motcua.labels`.

An actor holding no role at all is refused everything; the OS account running the CLI
without `--as` acts with every role (it can read the workspace files anyway).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from motcua.errors import ExitCode, UserError

if TYPE_CHECKING:
    from motcua.services import Context


class Role(StrEnum):
    COUNTER = "tiep_nhan"      # counter officer
    SPECIALIST = "chuyen_vien"  # specialist
    LEADER = "lanh_dao"        # leader
    ADMIN = "quan_tri"         # administrator


class Permission(StrEnum):
    VIEW = "view"                  # search, open documents and dossiers
    VIEW_IDS = "view_ids"          # see ID numbers unmasked
    INTAKE = "intake"              # upload / ingest scans, status of the inbox
    RECEIVE = "receive"            # receive dossiers, receipts, letters, resolve, assign
    EDIT_METADATA = "edit_metadata"
    REUSE = "reuse"                # attach reused documents
    REPORTS = "reports"            # quarterly report, indicators
    ISSUE = "issue"                # render and number issued documents
    ADMIN_USERS = "admin_users"
    ADMIN_DATA = "admin_data"      # export/import, verify, audit, settings, quarantine
    KIOSKS = "kiosks"              # pair / revoke the citizens' rating screens
    RATINGS = "ratings"            # ratings per officer (the leader's internal view)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTER: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.INTAKE,
                             Permission.RECEIVE, Permission.REUSE, Permission.ISSUE}),
    Role.SPECIALIST: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.EDIT_METADATA,
                                Permission.REUSE, Permission.ISSUE}),
    Role.LEADER: frozenset({Permission.VIEW, Permission.REPORTS, Permission.ISSUE,
                            Permission.RATINGS}),
    Role.ADMIN: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.ADMIN_USERS,
                           Permission.ADMIN_DATA, Permission.INTAKE, Permission.KIOSKS}),
}

ALL_ROLES = frozenset(Role)


class Scope(StrEnum):
    """What an API token (services.tokens) may do: other systems get scopes, not roles."""

    READ_WAREHOUSE = "read-warehouse"  # owners' reusable documents, metadata, PDFs, search
    READ_DOSSIERS = "read-dossiers"    # dossier status, due date, outcome, components
    WRITE_DOSSIERS = "write-dossiers"  # receive a dossier, attach a reused document
    REPORTS = "reports"                # Biểu 06 figures and indicators


# A token acts with the permissions of its scopes, through the same `require` the
# services call. Only read-warehouse and write-dossiers see ID numbers in full: they
# look owners up by them; read-dossiers gets statuses, not who the owner is.
SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.READ_WAREHOUSE: frozenset({Permission.VIEW, Permission.VIEW_IDS}),
    Scope.READ_DOSSIERS: frozenset({Permission.VIEW}),
    Scope.WRITE_DOSSIERS: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.RECEIVE,
                                     Permission.REUSE}),
    Scope.REPORTS: frozenset({Permission.REPORTS}),
}
# An Actor's `roles` holds a token's scopes as "scope:<scope>"; no account's role can
# look like that (user_roles has a CHECK on the four role codes).
SCOPE_PREFIX = "scope:"


def scope_roles(scopes: frozenset[Scope] | set[Scope]) -> frozenset[str]:
    return frozenset(SCOPE_PREFIX + s.value for s in scopes)


def permissions_of(roles: frozenset[str] | set[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        try:
            if role.startswith(SCOPE_PREFIX):
                granted |= SCOPE_PERMISSIONS[Scope(role[len(SCOPE_PREFIX):])]
            else:
                granted |= ROLE_PERMISSIONS[Role(role)]
        except ValueError:
            continue  # an unknown role grants nothing
    return frozenset(granted)


class AccessDenied(UserError):
    """The acting officer's roles do not allow this action (exit code / HTTP 403)."""

    exit_code = ExitCode.ACCESS_DENIED


def allowed(roles: frozenset[str] | set[str], permission: Permission) -> bool:
    return permission in permissions_of(roles)


def require(roles: frozenset[str] | set[str], permission: Permission) -> None:
    if not allowed(roles, permission):
        raise AccessDenied(
            "Tài khoản của bạn không có quyền thực hiện thao tác này.",
            f"permission {permission.value} not granted to roles {sorted(roles)}",
        )


# ---- personal data: masking ID numbers, recording who looked (NĐ 13/2023) ----

# Citizen IDs (CCCD 12 digits, old CMND 9), tax codes (10, or 13 with a branch suffix).
_ID_RUN = re.compile(r"(?<![0-9])(?:[0-9]{10}-[0-9]{3}|[0-9]{12}|[0-9]{10}|[0-9]{9}|[0-9]{13})"
                     r"(?![0-9])")


def mask_id(value: str | None) -> str:
    """An ID number with its middle hidden: `030123456734` -> `0301******34`. Short
    values (not an ID) are hidden whole."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def mask_ids_in_text(text: str | None) -> str:
    """Free text (OCR, snippets) with every ID-like digit run masked."""
    if not text:
        return ""
    return _ID_RUN.sub(lambda m: mask_id(m.group(0)), text)


def record_access(ctx: Context, action: str, subject: str, details: dict[str, Any],
                  within_minutes: float = 10.0) -> bool:
    """Audit that the acting officer viewed or downloaded `subject` (`action` "view" or
    "download"). A repeat by the same officer with the same details (the client address
    aside) within `within_minutes` is not a new entry: a PDF viewer fetches one file in
    many byte ranges, a page is reloaded. Returns whether an entry was written."""
    from motcua.archive import audit

    since = (datetime.now(UTC) - timedelta(minutes=within_minutes)).isoformat(
        timespec="seconds")
    actor = ctx.actor.audit_name
    same = {k: v for k, v in details.items() if k != "client"}
    recent = ctx.conn.execute(
        "SELECT details FROM audit_log WHERE subject = ? AND action = ? AND actor = ?"
        " AND at >= ? ORDER BY seq DESC LIMIT 50", (subject, action, actor, since)).fetchall()
    for (raw,) in recent:
        try:
            earlier = json.loads(raw)
        except ValueError:
            continue
        if isinstance(earlier, dict) and \
                {k: v for k, v in earlier.items() if k != "client"} == same:
            return False
    audit.record(ctx.conn, action, subject, actor, details)
    return True
