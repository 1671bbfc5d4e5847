"""Who may do what: the one table of roles and permissions the CLI, the web page and the
API all consult. Roles and permissions are English codes; their Vietnamese names are in
`motcua.labels`.

An actor holding no role at all is refused everything; the OS account running the CLI
without `--as` acts with every role (it can read the workspace files anyway).
"""

from __future__ import annotations

from enum import StrEnum

from motcua.errors import ExitCode, UserError


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


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTER: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.INTAKE,
                             Permission.RECEIVE, Permission.ISSUE}),
    Role.SPECIALIST: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.EDIT_METADATA,
                                Permission.REUSE, Permission.ISSUE}),
    Role.LEADER: frozenset({Permission.VIEW, Permission.REPORTS, Permission.ISSUE}),
    Role.ADMIN: frozenset({Permission.VIEW, Permission.VIEW_IDS, Permission.ADMIN_USERS,
                           Permission.ADMIN_DATA, Permission.INTAKE}),
}

ALL_ROLES = frozenset(Role)


def permissions_of(roles: frozenset[str] | set[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        try:
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
