"""Citizens rate the handling of their dossier (Điều 31 Nghị định 118/2025/NĐ-CP): at the
counter, on a screen facing them (the kiosk), or later through a one-use link printed on
form 01.

The kiosk. A quản trị adds a device by name and gets a pairing code, shown once; typed
into the tablet's `/kiosk/ghep` page, it is exchanged for the device token the tablet
keeps in a cookie (the code then stops working). As for API tokens (services.tokens),
only the SHA-256 of a code or token is stored: they are 192 random bits, nothing to
slow down a guess of.

Which dossier a kiosk shows. A counter is an officer's place: each officer chooses, at
the desk, the kiosk facing his or her counter (`counter_kiosks`, one per officer, kept
across logins). When that officer hands over a receipt (receiving at the counter) or a
result (resolving), the dossier becomes the kiosk's prompt (`rating_prompts`, one per
kiosk, replaced by the next one) until it is rated, skipped, or `kiosk_seconds` pass;
the kiosk then returns to its neutral screen. It never shows a list, only that dossier's
code and what was done.

The link. Printing form 01 issues a link token (128 random bits, SHA-256 stored) that
expires after `link_days` days and works once; an unknown, forged, used or expired token
gets the same answer, which says nothing about any dossier. The rating page behind a
valid token shows only the dossier's code.

A rating is stored per dossier (one only), with the level, the province's criteria,
an optional comment, the channel and the officers who received and returned the
dossier (as the audit log names them); nothing about the citizen. The citizen-facing
functions authenticate by the device token or the link token, not by a role (like
`tokens.authenticate`); everything staff do checks `access.require`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from motcua import db, labels
from motcua.archive import audit
from motcua.errors import UserError
from motcua.services import Context, Result
from motcua.services.access import Permission, permissions_of, require
from motcua.workspace import Workspace

DEVICE_PREFIX = "mck_"
PAIRING_PREFIX = "mcp_"
MAX_COMMENT = 1000
DEFAULT_CRITERIA = (
    "Thái độ, tinh thần phục vụ của công chức",
    "Hướng dẫn kê khai, hoàn thiện hồ sơ",
    "Thời gian giải quyết so với giấy hẹn",
)
LINK_PATH = "/danh-gia/"


class RatingRefused(UserError):
    """A link or device that does not work, or a rating that cannot be taken (HTTP 404 for
    links: never saying which)."""


LINK_REFUSED = ("Đường dẫn đánh giá không hợp lệ, đã được sử dụng hoặc đã hết hạn. Nếu cần, "
                "hãy đánh giá tại Bộ phận Một cửa.")


@dataclass(frozen=True)
class RatingSettings:
    """The `[ratings]` section of motcua.toml."""

    link_base: str = ""        # the address citizens reach, e.g. https://motcua.xa.vn;
    #                            empty: no link is printed on form 01
    link_days: int = 30        # a printed link works this many days
    kiosk_seconds: int = 120   # a kiosk shows a dossier this long, then its neutral screen
    criteria: tuple[str, ...] = DEFAULT_CRITERIA


def rating_settings(ws: Workspace) -> RatingSettings:
    raw = ws.config.section("ratings")
    base = str(raw.get("link_base", "")).strip().rstrip("/")
    if base and not base.startswith(("http://", "https://")):
        raise UserError("motcua.toml: [ratings] link_base phải là địa chỉ bắt đầu bằng "
                        "http:// hoặc https://.", f"bad link_base {base!r}")
    days, seconds = raw.get("link_days", 30), raw.get("kiosk_seconds", 120)
    if not isinstance(days, int) or not 1 <= days <= 365:
        raise UserError("motcua.toml: [ratings] link_days phải là số ngày từ 1 đến 365.",
                        f"bad link_days {days!r}")
    if not isinstance(seconds, int) or not 5 <= seconds <= 3600:
        raise UserError("motcua.toml: [ratings] kiosk_seconds phải là số giây từ 5 đến 3600.",
                        f"bad kiosk_seconds {seconds!r}")
    criteria = raw.get("criteria", list(DEFAULT_CRITERIA))
    if not isinstance(criteria, list) or len(criteria) > 10 or not all(
            isinstance(c, str) and c.strip() and len(c) <= 200 for c in criteria):
        raise UserError("motcua.toml: [ratings] criteria phải là danh sách tiêu chí (tối đa "
                        "10), ví dụ [\"Thái độ phục vụ\"].", "bad criteria")
    return RatingSettings(base, days, seconds, tuple(c.strip() for c in criteria))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


@contextmanager
def _atomic(ctx: Context) -> Iterator[None]:
    """A transaction of its own, or the caller's when one is open."""
    if ctx.conn.in_transaction:
        yield
    else:
        with db.transaction(ctx.conn):
            yield


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# ---- devices (quản trị) --------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceView(Result):
    id: int
    name: str
    created_at: str
    created_by: str
    paired_at: str | None
    revoked_at: str | None
    last_seen_at: str | None
    counters: tuple[str, ...]  # the officers whose counter it faces

    @property
    def active(self) -> bool:
        return self.paired_at is not None and self.revoked_at is None


@dataclass(frozen=True)
class NewDevice(Result):
    """A device just added: `pairing_code` is shown this once, typed into the tablet."""

    pairing_code: str
    view: DeviceView


def _device(ctx: Context, row: Any) -> DeviceView:
    counters = tuple(r[0] for r in ctx.conn.execute(
        "SELECT u.full_name || ' (' || u.login || ')' FROM counter_kiosks k"
        " JOIN users u ON u.id = k.user_id WHERE k.device_id = ? ORDER BY u.login",
        (row["id"],)))
    return DeviceView(int(row["id"]), row["name"], row["created_at"], row["created_by"],
                      row["paired_at"], row["revoked_at"], row["last_seen_at"], counters)


def _check_name(name: str) -> str:
    value = " ".join(name.split())
    if not 1 <= len(value) <= 60:
        raise UserError("Tên màn hình đánh giá dài từ 1 đến 60 ký tự (ví dụ “Quầy số 1”).",
                        f"bad device name {name!r}")
    return value


def add_device(ctx: Context, name: str) -> NewDevice:
    """A new kiosk (quản trị): its pairing code is returned once and stored as a hash."""
    require(ctx.actor.roles, Permission.KIOSKS)
    value = _check_name(name)
    code = PAIRING_PREFIX + secrets.token_urlsafe(24)
    with db.transaction(ctx.conn):
        if ctx.conn.execute("SELECT 1 FROM rating_devices WHERE name = ?",
                            (value,)).fetchone():
            raise UserError(f"Đã có màn hình đánh giá tên “{value}”; hãy chọn tên khác.",
                            f"device {value!r} exists")
        ctx.conn.execute("INSERT INTO rating_devices (name, token_hash, created_at, created_by)"
                         " VALUES (?, ?, ?, ?)", (value, _hash(code), db.now(),
                                                  ctx.audit_name))
        audit.record(ctx.conn, "rating.device_add", f"kiosk:{value}", ctx.audit_name, {})
    row = ctx.conn.execute("SELECT * FROM rating_devices WHERE name = ?", (value,)).fetchone()
    return NewDevice(code, _device(ctx, row))


def list_devices(ctx: Context) -> list[DeviceView]:
    """The kiosks (quản trị sees all; a counter officer chooses among the active ones)."""
    granted = permissions_of(ctx.actor.roles)
    if Permission.KIOSKS not in granted and Permission.RECEIVE not in granted:
        require(ctx.actor.roles, Permission.KIOSKS)
    return [_device(ctx, r) for r in ctx.conn.execute(
        "SELECT * FROM rating_devices ORDER BY name")]


def revoke_device(ctx: Context, device_id: int) -> DeviceView:
    """The kiosk stops working at its next request; its counters choose another."""
    require(ctx.actor.roles, Permission.KIOSKS)
    row = ctx.conn.execute("SELECT * FROM rating_devices WHERE id = ?", (device_id,)).fetchone()
    if row is None:
        raise UserError("Không có màn hình đánh giá này.", f"no device {device_id}")
    if row["revoked_at"] is None:
        with db.transaction(ctx.conn):
            ctx.conn.execute("UPDATE rating_devices SET revoked_at = ?, token_hash = NULL"
                             " WHERE id = ?", (db.now(), device_id))
            ctx.conn.execute("DELETE FROM rating_prompts WHERE device_id = ?", (device_id,))
            ctx.conn.execute("DELETE FROM counter_kiosks WHERE device_id = ?", (device_id,))
            audit.record(ctx.conn, "rating.device_revoke", f"kiosk:{row['name']}",
                         ctx.audit_name, {})
    return _device(ctx, ctx.conn.execute("SELECT * FROM rating_devices WHERE id = ?",
                                         (device_id,)).fetchone())


@dataclass(frozen=True)
class Paired(Result):
    """A tablet just paired: `token` goes into its cookie and is stored nowhere else."""

    token: str
    name: str


def pair(ctx: Context, pairing_code: str) -> Paired:
    """Exchange a pairing code (once) for the device token the tablet keeps."""
    code = pairing_code.strip()
    refused = RatingRefused("Mã ghép thiết bị không đúng hoặc đã được dùng.",
                            "unknown or used pairing code")
    if not code.startswith(PAIRING_PREFIX) or len(code) > 100:
        raise refused
    token = DEVICE_PREFIX + secrets.token_urlsafe(24)
    with db.transaction(ctx.conn):
        row = ctx.conn.execute(
            "SELECT * FROM rating_devices WHERE token_hash = ? AND paired_at IS NULL"
            " AND revoked_at IS NULL", (_hash(code),)).fetchone()
        if row is None:
            raise refused
        ctx.conn.execute("UPDATE rating_devices SET token_hash = ?, paired_at = ? WHERE id = ?",
                         (_hash(token), db.now(), row["id"]))
        audit.record(ctx.conn, "rating.device_pair", f"kiosk:{row['name']}",
                     f"Màn hình đánh giá (kiosk:{row['name']})", {})
    return Paired(token, row["name"])


def device_for(ctx: Context, token: str) -> DeviceView | None:
    """The paired, not revoked kiosk holding `token`, or None."""
    if not token.startswith(DEVICE_PREFIX) or len(token) > 100:
        return None
    row = ctx.conn.execute(
        "SELECT * FROM rating_devices WHERE token_hash = ? AND paired_at IS NOT NULL"
        " AND revoked_at IS NULL", (_hash(token),)).fetchone()
    return _device(ctx, row) if row is not None else None


# ---- the counter: which kiosk faces it, what it shows -----------------------------------


def choose_kiosk(ctx: Context, device_id: int | None) -> DeviceView | None:
    """The acting officer's counter faces this kiosk from now on (None: no kiosk)."""
    require(ctx.actor.roles, Permission.RECEIVE)
    if ctx.actor.user_id is None:
        raise UserError("Chỉ tài khoản cán bộ mới chọn được màn hình đánh giá tại quầy.",
                        "not an officer's account")
    device = None
    if device_id is not None:
        row = ctx.conn.execute("SELECT * FROM rating_devices WHERE id = ?",
                               (device_id,)).fetchone()
        if row is None or row["paired_at"] is None or row["revoked_at"] is not None:
            raise UserError("Màn hình đánh giá này chưa được ghép hoặc đã bị thu hồi.",
                            f"device {device_id} not active")
        device = _device(ctx, row)
    with db.transaction(ctx.conn):
        ctx.conn.execute("DELETE FROM counter_kiosks WHERE user_id = ?", (ctx.actor.user_id,))
        if device is not None:
            ctx.conn.execute("INSERT INTO counter_kiosks (user_id, device_id, chosen_at)"
                             " VALUES (?, ?, ?)", (ctx.actor.user_id, device.id, db.now()))
        audit.record(ctx.conn, "rating.kiosk_choose", f"kiosk:{device.name if device else '-'}",
                     ctx.audit_name, {})
    return device


def my_kiosk(ctx: Context) -> int | None:
    """The kiosk the acting officer's counter faces."""
    if ctx.actor.user_id is None:
        return None
    row = ctx.conn.execute("SELECT device_id FROM counter_kiosks WHERE user_id = ?",
                           (ctx.actor.user_id,)).fetchone()
    return int(row[0]) if row else None


def handling_officers(ctx: Context, code: str) -> tuple[str | None, str | None]:
    """Who received and who returned the dossier, as the audit log names them."""
    found: dict[str, str] = {}
    for e in audit.entries(ctx.conn, f"dossier:{code}"):
        if e.action in ("dossier.receive", "dossier.resolve"):
            found[e.action] = e.actor
    return found.get("dossier.receive"), found.get("dossier.resolve")


def after_handling(ctx: Context, code: str, event: str) -> None:
    """Called by the counter when the acting officer hands over a receipt (`receive`) or
    a result (`return`): the dossier becomes the prompt of the officer's kiosk, unless it
    is rated already; a rating made at receipt gets its returning officer."""
    rated = ctx.conn.execute("SELECT 1 FROM ratings WHERE dossier_code = ?",
                             (code,)).fetchone()
    if rated:
        if event == "return":
            ctx.conn.execute("UPDATE ratings SET returned_by = ? WHERE dossier_code = ?",
                             (handling_officers(ctx, code)[1], code))
        return
    device = my_kiosk(ctx)
    if device is None:
        return
    now = _now()
    until = now + timedelta(seconds=rating_settings(ctx.ws).kiosk_seconds)
    ctx.conn.execute(
        "INSERT INTO rating_prompts (device_id, dossier_code, event, shown_at, until)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
        " dossier_code = excluded.dossier_code, event = excluded.event,"
        " shown_at = excluded.shown_at, until = excluded.until",
        (device, code, event, _iso(now), _iso(until)))


@dataclass(frozen=True)
class Prompt(Result):
    """What a kiosk shows: one dossier's code, what was just done, the criteria."""

    dossier_code: str
    event: str
    event_label: str
    seconds_left: int
    criteria: tuple[str, ...]


def kiosk_prompt(ctx: Context, device: DeviceView) -> Prompt | None:
    """The dossier the kiosk shows now, if any (also records that the kiosk is alive)."""
    now = _now()
    # A kiosk polls every few seconds: its last sighting is written once a minute at most.
    ctx.conn.execute("UPDATE rating_devices SET last_seen_at = ? WHERE id = ?"
                     " AND (last_seen_at IS NULL OR last_seen_at < ?)",
                     (_iso(now), device.id, _iso(now - timedelta(minutes=1))))
    row = ctx.conn.execute(
        "SELECT p.* FROM rating_prompts p WHERE p.device_id = ? AND p.until > ?"
        " AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.dossier_code = p.dossier_code)",
        (device.id, _iso(now))).fetchone()
    if row is None:
        return None
    left = int((datetime.fromisoformat(row["until"]) - now).total_seconds())
    return Prompt(row["dossier_code"], row["event"],
                  labels.label(labels.RATING_EVENTS, row["event"]), max(left, 1),
                  rating_settings(ctx.ws).criteria)


def dismiss(ctx: Context, device: DeviceView) -> None:
    """The citizen declined: the kiosk returns to its neutral screen (the dossier stays
    unrated; the printed link still works)."""
    ctx.conn.execute("DELETE FROM rating_prompts WHERE device_id = ?", (device.id,))


# ---- storing a rating ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rated(Result):
    dossier_code: str
    level: str
    level_label: str
    channel: str


def _checked(ctx: Context, level: str, criteria: dict[str, str], comment: str
             ) -> tuple[str, dict[str, str], str]:
    if level not in labels.RATING_LEVELS:
        raise UserError("Hãy chọn một mức đánh giá: rất hài lòng, hài lòng hoặc không hài "
                        "lòng.", f"bad level {level!r}")
    known = rating_settings(ctx.ws).criteria
    kept: dict[str, str] = {}
    for name, value in criteria.items():
        if name not in known or value not in labels.RATING_LEVELS:
            raise UserError("Tiêu chí đánh giá không hợp lệ.", f"bad criterion {name!r}")
        kept[name] = value
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        raise UserError(f"Ý kiến dài quá {MAX_COMMENT} ký tự.", "comment too long")
    return level, kept, text


def _store(ctx: Context, code: str, level: str, criteria: dict[str, str], comment: str,
           channel: str, who: str) -> Rated:
    """Insert the rating (inside the caller's transaction); one per dossier."""
    if ctx.conn.execute("SELECT 1 FROM ratings WHERE dossier_code = ?", (code,)).fetchone():
        raise RatingRefused("Hồ sơ này đã được đánh giá. Xin cảm ơn ông/bà.",
                            f"dossier {code} already rated")
    now = _now()
    received_by, returned_by = handling_officers(ctx, code)
    ctx.conn.execute(
        "INSERT INTO ratings (dossier_code, level, criteria, comment, channel, rated_at,"
        " rated_on, received_by, returned_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (code, level, json.dumps(criteria, ensure_ascii=False, sort_keys=True), comment,
         channel, _iso(now), now.astimezone(ctx.zone).date().isoformat(), received_by,
         returned_by))
    # Who rated is not known and not recorded: the audit names the channel only.
    audit.record(ctx.conn, "rating.add", f"dossier:{code}", who, {"channel": channel})
    return Rated(code, level, labels.RATING_LEVELS[level], channel)


def rate_at_kiosk(ctx: Context, device: DeviceView, code: str, level: str,
                  criteria: dict[str, str] | None = None, comment: str = "") -> Rated:
    """The citizen's rating on the kiosk, for the dossier it shows now (and no other)."""
    level, kept, text = _checked(ctx, level, criteria or {}, comment)
    with db.transaction(ctx.conn):
        row = ctx.conn.execute(
            "SELECT dossier_code FROM rating_prompts WHERE device_id = ? AND until > ?",
            (device.id, _iso(_now()))).fetchone()
        if row is None or row[0] != code:
            raise RatingRefused("Phiên đánh giá đã kết thúc. Xin cảm ơn ông/bà.",
                                f"kiosk {device.name} shows no dossier {code}")
        done = _store(ctx, code, level, kept, text, "kiosk",
                      f"Công dân (kiosk:{device.name})")
        ctx.conn.execute("DELETE FROM rating_prompts WHERE device_id = ?", (device.id,))
    return done


# ---- the printed link -----------------------------------------------------------------------


@dataclass(frozen=True)
class RatingLink(Result):
    """A link printed on form 01: `token` exists only on the paper."""

    dossier_code: str
    token: str
    url: str          # link_base + /danh-gia/<token> (the path alone without link_base)
    expires_at: str
    expires_on_local: str  # dd/mm/yyyy


def issue_link(ctx: Context, code: str) -> RatingLink | None:
    """A new link for the dossier (the previous one stops working), or None when it is
    rated already. Called when form 01 is printed."""
    require(ctx.actor.roles, Permission.RECEIVE)
    if ctx.conn.execute("SELECT 1 FROM ratings WHERE dossier_code = ?", (code,)).fetchone():
        return None
    settings = rating_settings(ctx.ws)
    token = secrets.token_urlsafe(16)
    now = _now()
    until = now + timedelta(days=settings.link_days)
    with _atomic(ctx):
        _save_link(ctx, code, token, now, until)
    return RatingLink(code, token, settings.link_base + LINK_PATH + token, _iso(until),
                      labels.vi_date(until.astimezone(ctx.zone).date().isoformat()))


def _save_link(ctx: Context, code: str, token: str, now: datetime, until: datetime) -> None:
    ctx.conn.execute(
        "INSERT INTO rating_links (dossier_code, token_hash, created_at, expires_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (dossier_code) DO UPDATE SET"
        " token_hash = excluded.token_hash, created_at = excluded.created_at,"
        " expires_at = excluded.expires_at, used_at = NULL",
        (code, _hash(token), _iso(now), _iso(until)))
    audit.record(ctx.conn, "rating.link", f"dossier:{code}", ctx.audit_name,
                 {"expires_at": _iso(until)})


def printed_link(ctx: Context, code: str) -> tuple[str, str] | None:
    """(link, expiry dd/mm/yyyy) for form 01; None when the dossier is rated already, or
    when `[ratings] link_base` (the address citizens can reach) is not set: a link no
    citizen can open is not printed."""
    if not rating_settings(ctx.ws).link_base:
        return None
    link = issue_link(ctx, code)
    return (link.url, link.expires_on_local) if link else None


@dataclass(frozen=True)
class LinkView(Result):
    """What the page behind a valid link may show: the dossier's code, the criteria."""

    dossier_code: str
    criteria: tuple[str, ...]


def _link_row(ctx: Context, token: str) -> Any:
    """The link's row if the token is known, unused, unexpired and its dossier unrated;
    otherwise one refusal, the same for every case."""
    refused = RatingRefused(LINK_REFUSED, "unknown, used or expired rating link")
    if not 10 <= len(token) <= 64 or not all(c.isalnum() or c in "-_" for c in token):
        raise refused
    row = ctx.conn.execute("SELECT * FROM rating_links WHERE token_hash = ?",
                           (_hash(token),)).fetchone()
    if row is None or row["used_at"] is not None or \
            datetime.fromisoformat(row["expires_at"]) <= _now() or \
            ctx.conn.execute("SELECT 1 FROM ratings WHERE dossier_code = ?",
                             (row["dossier_code"],)).fetchone():
        raise refused
    return row


def link_view(ctx: Context, token: str) -> LinkView:
    row = _link_row(ctx, token)
    return LinkView(row["dossier_code"], rating_settings(ctx.ws).criteria)


def rate_by_link(ctx: Context, token: str, level: str, criteria: dict[str, str] | None = None,
                 comment: str = "") -> Rated:
    """The citizen's rating through the printed link; the link is then used up."""
    level, kept, text = _checked(ctx, level, criteria or {}, comment)
    with db.transaction(ctx.conn):
        row = _link_row(ctx, token)
        done = _store(ctx, row["dossier_code"], level, kept, text, "link",
                      "Công dân (đường dẫn đánh giá)")
        ctx.conn.execute("UPDATE rating_links SET used_at = ? WHERE dossier_code = ?",
                         (db.now(), row["dossier_code"]))
        ctx.conn.execute("DELETE FROM rating_prompts WHERE dossier_code = ?",
                         (row["dossier_code"],))
    return done


# ---- the leader's view ----------------------------------------------------------------------


@dataclass(frozen=True)
class RatingsPage(Result):
    """The period's ratings per field and per officer (the leader's internal view)."""

    period_label: str
    range_vi: str
    quarter: str
    by_field: tuple[dict[str, Any], ...]
    total: dict[str, Any]
    by_officer: tuple[dict[str, Any], ...]
    satisfied_rate_text: str
    summary: str
    formula: str
    warnings: tuple[str, ...]


def leader_view(ctx: Context, quarter: str) -> RatingsPage:
    from motcua.archive.settings import local_now
    from motcua.reports.numbers import SATISFACTION_FORMULA, quarter_numbers, ratings_by_officer
    from motcua.reports.periods import choose_period
    from motcua.reports.quarterly import open_period_warning, ratings_paragraph

    require(ctx.actor.roles, Permission.RATINGS)
    period = choose_period(quarter=quarter)
    numbers = quarter_numbers(ctx.conn, period)

    def row(r: Any) -> dict[str, Any]:
        return r.as_dict() | {"satisfied_rate_text": labels.vi_percent(r.satisfied_rate)}

    warning = open_period_warning(period, local_now(ctx.ws).date(), labels.vi_date)
    t = numbers.ratings_total
    return RatingsPage(period.label, f"{labels.vi_date(period.start.isoformat())} – "
                       f"{labels.vi_date(period.end.isoformat())}", quarter,
                       tuple(row(r) for r in numbers.ratings), row(t),
                       tuple(row(r) for r in ratings_by_officer(ctx.conn, period)),
                       labels.vi_percent(t.satisfied_rate), ratings_paragraph(t),
                       SATISFACTION_FORMULA, (warning,) if warning else ())
