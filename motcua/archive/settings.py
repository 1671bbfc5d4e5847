"""The `[warehouse]` section of motcua.toml (read from `Config.extra`).

    [warehouse]
    # "attach": on `dossier new`, link the owner's valid reusable documents at once;
    # "propose": only list them (staff confirm with `motcua reuse attach`); "off".
    auto_reuse = "attach"
    # Check the 10th digit of organisation tax codes (rule is secondary; turn off if a
    # real code is refused).
    mst_check_digit = true
    # Optional: the name printed in the stamp, instead of [ingest] operator.
    operator = "..."
    # Time zone of received dates, dossier codes (YYMMDD) and stamp times.
    timezone = "Asia/Ho_Chi_Minh"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua.errors import UserError
from motcua.workspace import Workspace

AUTO_REUSE_MODES = ("attach", "propose", "off")


@dataclass(frozen=True)
class WarehouseSettings:
    auto_reuse: str = "attach"
    mst_check_digit: bool = True
    operator: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"


def warehouse_settings(ws: Workspace) -> WarehouseSettings:
    raw = ws.config.section("warehouse")
    mode = str(raw.get("auto_reuse", "attach"))
    if mode not in AUTO_REUSE_MODES:
        raise UserError(
            f"motcua.toml: [warehouse] auto_reuse = “{mode}” không hợp lệ; "
            "chỉ nhận “attach”, “propose” hoặc “off”.",
            f"bad auto_reuse {mode!r}",
        )
    operator = raw.get("operator")
    return WarehouseSettings(
        auto_reuse=mode,
        mst_check_digit=bool(raw.get("mst_check_digit", True)),
        operator=str(operator) if operator else None,
        timezone=str(raw.get("timezone", "Asia/Ho_Chi_Minh")),
    )


def centre_zone(ws: Workspace) -> ZoneInfo:
    """The centre's time zone, `[warehouse] timezone` (the machine may run in UTC)."""
    name = warehouse_settings(ws).timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(f"motcua.toml: múi giờ “{name}” không hợp lệ.",
                        f"bad timezone {name!r}") from exc


def local_now(ws: Workspace) -> datetime:
    """Now on the centre's wall clock."""
    return datetime.now(centre_zone(ws))


def stamp_operator(ws: Workspace) -> str:
    return warehouse_settings(ws).operator or ws.config.ingest.operator
