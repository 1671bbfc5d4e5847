"""Vietnamese words for every code people see, one word per code.

Codes stay English in the database and in JSON; screens, CLI lines and documents show
these labels. The CLI and the web page must agree, so neither keeps labels of its own.
"""

from __future__ import annotations

# ---- accounts: roles ----
ROLES: dict[str, str] = {
    "tiep_nhan": "Tiếp nhận",
    "chuyen_vien": "Chuyên viên",
    "lanh_dao": "Lãnh đạo",
    "quan_tri": "Quản trị",
}
# ---- end accounts ----


def label(table: dict[str, str], code: str | None) -> str:
    """The Vietnamese word for `code`, or the code itself when it has none (never blank)."""
    if not code:
        return ""
    return table.get(code, code)
