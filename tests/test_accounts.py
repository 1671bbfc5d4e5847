"""Staff accounts: the service (real SQLite, real argon2id) and `motcua user` (click runner)."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from motcua import db
from motcua.archive import audit
from motcua.cli import main
from motcua.errors import UserError
from motcua.services import Context, accounts, open_context
from motcua.services.access import AccessDenied, mask_id, mask_ids_in_text
from motcua.workspace import Workspace, find_workspace, init_workspace
from tests.web_kit import ADMIN_ACTOR, make_officers, password_for

GOOD = "Sông-Hồng-chảy-mãi-2025"


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


def _conn(ws: Workspace) -> closing[sqlite3.Connection]:
    return closing(db.connect(ws.db_path))


def _actions(ws: Workspace) -> list[tuple[str, str, str]]:
    with _conn(ws) as conn:
        return [(e.action, e.subject, e.actor) for e in audit.entries(conn)]


def _with_config(ws: Workspace, **web: float) -> Workspace:
    text = ws.config_path.read_text(encoding="utf-8")
    for key, value in web.items():
        default = {"idle_minutes": 30, "absolute_hours": 12, "max_failures": 5,
                   "lockout_minutes": 15}[key]
        text = text.replace(f"{key} = {default}\n", f"{key} = {value}\n")
    ws.config_path.write_text(text, encoding="utf-8")
    return find_workspace(ws.root)


# ---- passwords ----------------------------------------------------------------------


@pytest.mark.parametrize("password, problem", [
    ("ngắn-quá", "ít nhất 10 ký tự"),
    ("1234567890", "quá phổ biến"),
    ("Password123", "quá phổ biến"),
    ("matkhau123", "quá phổ biến"),
    ("aaaaaaaaaaaa", "quá ít ký tự khác nhau"),
    ("QWERTYUIOP", "quá phổ biến"),
    ("abababababab", "quá ít ký tự khác nhau"),
    ("x" * 1025, "dài quá"),
    ("nguyenvana-2025-xyz", "chứa tên đăng nhập"),
])
def test_password_policy_refuses(password: str, problem: str) -> None:
    found = accounts.password_problem(password, "nguyenvana")
    assert found is not None and problem in found


def test_password_policy_accepts_and_list_is_shipped() -> None:
    assert accounts.password_problem(GOOD, "nguyenvana") is None
    assert accounts.password_problem(accounts.generate_password()) is None
    common = accounts.common_passwords()
    assert len(common) > 100 and "qwertyuiop" in common and "matkhau123" in common


def test_hash_is_argon2id_with_chosen_parameters(ws: Workspace) -> None:
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa")})
    with _conn(ws) as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE login = 'hoa'"
                              ).fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert f"m={accounts.ARGON2_MEMORY_KIB},t={accounts.ARGON2_TIME_COST}," \
           f"p={accounts.ARGON2_PARALLELISM}" in stored
    assert password_for("hoa") not in stored


# ---- users ----------------------------------------------------------------------------


def test_user_lifecycle_is_audited(ws: Workspace) -> None:
    with open_context(ws, ADMIN_ACTOR) as ctx:
        made = accounts.add_user(ctx, "  NguyenVanA ", "Nguyễn  Văn A", "Chuyên viên",
                                 ["chuyen_vien", "lanh_dao"], GOOD)
        assert made.login == "nguyenvana" and made.full_name == "Nguyễn Văn A"
        assert made.roles == ("chuyen_vien", "lanh_dao") and made.active
        with pytest.raises(UserError, match="đã có"):
            accounts.add_user(ctx, "nguyenvana", "X", "", ["lanh_dao"], GOOD)
        with pytest.raises(UserError, match="Vai trò “giam_doc” không có"):
            accounts.add_user(ctx, "bb", "B", "", ["giam_doc"], GOOD)
        with pytest.raises(UserError, match="Tên đăng nhập"):
            accounts.add_user(ctx, "tên có dấu", "B", "", ["lanh_dao"], GOOD)
        assert accounts.set_roles(ctx, "nguyenvana", ["tiep_nhan"]).roles == ("tiep_nhan",)
        accounts.set_password(ctx, "nguyenvana", "Trăng-rằm-tháng-tám-15")
        assert not accounts.disable_user(ctx, "nguyenvana").active
        assert [u.login for u in accounts.list_users(ctx)] == ["nguyenvana"]
        with pytest.raises(UserError, match="đã bị khóa"):
            accounts.actor_for_login(ctx.conn, "nguyenvana")
    who = ADMIN_ACTOR.audit_name
    assert _actions(ws) == [("user_add", "user:nguyenvana", who),
                            ("user_roles", "user:nguyenvana", who),
                            ("user_passwd", "user:nguyenvana", who),
                            ("user_disable", "user:nguyenvana", who)]
    with _conn(ws) as conn:
        assert audit.verify(conn) == []


def test_only_administrators_manage_accounts(ws: Workspace) -> None:
    make_officers(ws)
    with open_context(ws, ADMIN_ACTOR) as ctx:
        clerk = accounts.actor_for_login(ctx.conn, "chuyenvien")
        as_clerk = Context(ws, ctx.conn, clerk)
        for attempt in (lambda: accounts.list_users(as_clerk),
                        lambda: accounts.add_user(as_clerk, "moi", "Mới", "", ["lanh_dao"], GOOD),
                        lambda: accounts.set_roles(as_clerk, "chuyenvien", ["quan_tri"]),
                        lambda: accounts.disable_user(as_clerk, "quantri"),
                        lambda: accounts.set_password(as_clerk, "quantri", GOOD)):
            with pytest.raises(AccessDenied, match="không có quyền"):
                attempt()
        # An officer may change their own password.
        accounts.set_password(as_clerk, "chuyenvien", "Trăng-rằm-tháng-tám-15")
        # The last active administrator cannot be removed.
        admin = Context(ws, ctx.conn, accounts.actor_for_login(ctx.conn, "quantri"))
        with pytest.raises(UserError, match="chính mình"):
            accounts.disable_user(admin, "quantri")
        with pytest.raises(UserError, match="quản trị cuối cùng"):
            accounts.set_roles(admin, "quantri", ["lanh_dao"])
        accounts.set_roles(admin, "chuyenvien", ["chuyen_vien", "quan_tri"])
        accounts.set_roles(admin, "quantri", ["lanh_dao"])


# ---- login, throttling, sessions ----------------------------------------------------------


def _login(ws: Workspace, login: str, password: str, client: str = "10.0.0.5"
           ) -> accounts.NewSession:
    with open_context(ws, accounts.os_actor("web")) as ctx:
        return accounts.login(ctx, login, password, client, accounts.web_settings(ws))


def test_login_failures_lock_the_account_then_open_again(ws: Workspace) -> None:
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa")})
    for n in range(4):
        with pytest.raises(accounts.LoginFailed, match="không đúng"):
            _login(ws, "hoa", f"sai-mat-khau-{n}", client=f"10.0.0.{n}")
    with pytest.raises(accounts.LoginLocked, match="tạm thời bị khóa") as locked:
        _login(ws, "HOA", "sai-mat-khau-5", client="10.0.0.9")
    assert "15 phút" in locked.value.message
    # Even the right password is refused while locked, from any address.
    with pytest.raises(accounts.LoginLocked):
        _login(ws, "hoa", password_for("hoa"), client="10.9.9.9")
    actions = [a for a, _, _ in _actions(ws)]
    assert actions.count("login_failed") == 5 and actions.count("login_locked") == 1
    assert actions[-1] == "login_refused"
    failed = [e for e in _actions(ws) if e[0] == "login_failed"]
    assert {s for _, s, _ in failed} == {"user:hoa"} and failed[0][2] == "web:10.0.0.0"
    # Fifteen minutes later the oldest failures have left the window.
    with _conn(ws) as conn, db.transaction(conn):
        old = (datetime.now(UTC) - timedelta(minutes=16)).isoformat(timespec="seconds")
        conn.execute("UPDATE login_attempts SET at = ?", (old,))
    session = _login(ws, "hoa", password_for("hoa"))
    assert session.actor.login == "hoa" and session.actor.roles == frozenset({"chuyen_vien"})
    assert _actions(ws)[-1] == ("login_ok", "user:hoa", "Lê Thị Hoa (hoa)")
    with _conn(ws) as conn:
        assert audit.verify(conn) == []


def test_one_address_trying_many_accounts_is_locked(ws: Workspace) -> None:
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa")})
    for n in range(5):
        with pytest.raises((accounts.LoginFailed, accounts.LoginLocked)):
            _login(ws, f"khong-co-{n}", "mat-khau-bat-ky", client="10.1.1.1")
    with pytest.raises(accounts.LoginLocked):
        _login(ws, "hoa", password_for("hoa"), client="10.1.1.1")
    assert _login(ws, "hoa", password_for("hoa"), client="10.1.1.2").actor.login == "hoa"


def test_unknown_and_disabled_accounts_fail_like_a_wrong_password(ws: Workspace) -> None:
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa"),
                       "lan": (("quan_tri",), "Vũ Thị Lan")})
    with open_context(ws, ADMIN_ACTOR) as ctx:
        accounts.disable_user(ctx, "hoa")
    timings = []
    for login, password in (("hoa", password_for("hoa")), ("khongco", "mat-khau-bat-ky"),
                            ("lan", "sai-mat-khau-1")):
        start = time.perf_counter()
        with pytest.raises(accounts.LoginFailed) as failed:
            _login(ws, login, password, client=login)
        timings.append(time.perf_counter() - start)
        assert failed.value.message == "Tên đăng nhập hoặc mật khẩu không đúng."
    # Each ran a full argon2 verification (64 MiB, 3 passes cannot finish in 30 ms):
    # none answers at a glance, so timing does not tell which accounts exist.
    assert min(timings) > 0.03, timings


def test_session_idle_and_absolute_expiry(ws: Workspace) -> None:
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa")})
    settings = accounts.web_settings(_with_config(ws, idle_minutes=0.02))
    assert settings.idle_minutes == 0.02
    session = _login(ws, "hoa", password_for("hoa"))
    with open_context(ws, accounts.os_actor("web")) as ctx:
        live = accounts.load_session(ctx, session.token, settings)
        assert live is not None and live.actor.login == "hoa"
        assert accounts.load_session(ctx, session.token + "x", settings) is None
        time.sleep(1.5)
        with pytest.raises(accounts.SessionExpired, match="không thao tác quá 1 giây") as exc:
            accounts.load_session(ctx, session.token, settings)
        assert exc.value.reason == "idle"
        assert accounts.load_session(ctx, session.token, settings) is None  # row deleted
        again = _login(ws, "hoa", password_for("hoa"))
        with db.transaction(ctx.conn):
            ctx.conn.execute("UPDATE web_sessions SET created_at = ?", (
                (datetime.now(UTC) - timedelta(hours=13)).isoformat(timespec="seconds"),))
        with pytest.raises(accounts.SessionExpired, match="quá 12 giờ") as exc:
            accounts.load_session(ctx, again.token, accounts.WebSettings())
        assert exc.value.reason == "absolute"
    with _conn(ws) as conn:
        # Only hashes of tokens are stored.
        stored = {r[0] for r in conn.execute("SELECT id_hash FROM web_sessions")}
        assert session.token not in stored and again.token not in stored


def test_password_change_and_disable_end_sessions(ws: Workspace) -> None:
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa")})
    settings = accounts.WebSettings()
    first = _login(ws, "hoa", password_for("hoa"))
    with open_context(ws, ADMIN_ACTOR) as ctx:
        accounts.set_password(ctx, "hoa", GOOD)
        assert accounts.load_session(ctx, first.token, settings) is None
        second = _login(ws, "hoa", GOOD)
        accounts.disable_user(ctx, "hoa")
        assert accounts.load_session(ctx, second.token, settings) is None


def test_bad_web_settings_are_refused(ws: Workspace) -> None:
    bad = _with_config(ws, idle_minutes=-1)
    with pytest.raises(UserError, match=r"\[web\] idle_minutes"):
        accounts.web_settings(bad)


# ---- ID masking ---------------------------------------------------------------------------


def test_mask_ids() -> None:
    assert mask_id("030123456734") == "0301******34"
    assert mask_id("0301234567") == "0301****67"
    assert mask_ids_in_text("CCCD 001090012345, MST 0301234567-001, năm 2025") == \
        "CCCD 0010******45, MST 0301********01, năm 2025"


# ---- the CLI ------------------------------------------------------------------------------


def _cli(ws: Workspace, *args: str, input: str | None = None,
         env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-w", str(ws.root), *args], input=input, env=env)
    return result.exit_code, result.output


def test_cli_user_commands(ws: Workspace) -> None:
    code, out = _cli(ws, "user", "add", "lan", "--name", "Vũ Thị Lan", "--title", "Công chức",
                     "-r", "quản trị", "-r", "chuyen_vien", input=f"{GOOD}\n{GOOD}\n")
    assert code == 0, out
    assert "Đã thêm tài khoản lan: Vũ Thị Lan — Chuyên viên, Quản trị." in out
    assert GOOD not in out  # the prompt hides what is typed
    code, out = _cli(ws, "user", "add", "hoa", "--name", "Lê Thị Hoa", "-r", "tiep_nhan",
                     input=f"{GOOD}\nkhac-hoan-toan-2025\n")
    assert code == 1 and "Hai lần nhập mật khẩu không khớp nhau" in out
    code, out = _cli(ws, "user", "add", "hoa", "--name", "Lê Thị Hoa", "-r", "tiep_nhan",
                     "--password-stdin", input="123456789\n")
    assert code == 1 and "ít nhất 10 ký tự" in out
    code, out = _cli(ws, "user", "add", "hoa", "--name", "Lê Thị Hoa", "-r", "tiếp nhận",
                     "--password-stdin", input=f"{GOOD}\n")
    assert code == 0, out
    code, out = _cli(ws, "user", "add", "x1", "--name", "X", "-r", "giám đốc",
                     "--password-stdin", input=f"{GOOD}\n")
    assert code == 1 and "Vai trò “giám đốc” không có" in out
    code, out = _cli(ws, "user", "list")
    assert code == 0
    assert "lan  Vũ Thị Lan, Công chức  [Chuyên viên, Quản trị]  đang hoạt động" in out
    assert "hoa  Lê Thị Hoa  [Tiếp nhận]" in out and "chưa đăng nhập" in out
    code, out = _cli(ws, "user", "set-roles", "hoa", "-r", "tiep_nhan,lanh_dao")
    assert code == 0 and "Tài khoản hoa nay có vai trò: Lãnh đạo, Tiếp nhận." in out
    code, out = _cli(ws, "user", "passwd", "hoa", "--password-stdin",
                     input="Trăng-rằm-tháng-tám-15\n")
    assert code == 0 and "Đã đổi mật khẩu của tài khoản hoa." in out
    # Acting as an officer without the quản trị role: refused.
    code, out = _cli(ws, "user", "disable", "lan", env={"MOTCUA_USER": "hoa"})
    assert code == 3 and "không có quyền" in out  # ExitCode.ACCESS_DENIED
    code, out = _cli(ws, "user", "disable", "hoa", env={"MOTCUA_USER": "lan"})
    assert code == 0 and "Đã khóa tài khoản hoa" in out
    code, out = _cli(ws, "user", "list", "--json")
    listed = {u["login"]: u for u in json.loads(out)}
    assert listed["hoa"]["active"] is False and listed["hoa"]["roles"] == ["lanh_dao", "tiep_nhan"]
    assert "password_hash" not in listed["hoa"]
    actors = {(a, actor) for a, _, actor in _actions(ws)}
    assert ("user_disable", "Vũ Thị Lan (lan)") in actors
    assert any(a == "user_add" and actor.endswith(")") and "(os:" in actor for a, actor in actors)


def test_cli_has_no_password_option() -> None:
    for command in ("add", "passwd"):
        code = CliRunner().invoke(main, ["user", command, "--help"])
        assert code.exit_code == 0
        assert "--password-stdin" in code.output
        assert "--password " not in code.output and "--password=" not in code.output
    code = CliRunner().invoke(main, ["user", "add", "x", "--name", "X", "-r", "lanh_dao",
                                     "--password", "Sông-Hồng-chảy-mãi"])
    assert code.exit_code != 0


def test_cli_acts_as_the_named_officer_with_their_roles(ws: Workspace) -> None:
    """`--as` names an account: a metadata change is recorded under the officer's name,
    a role without the permission is refused (exit 3), an unknown login too, and the
    audit chain still verifies."""
    from tests.web_kit import small_archive

    doc_id = small_archive(ws)
    make_officers(ws, {"hoa": (("chuyen_vien",), "Lê Thị Hoa"),
                       "an": (("lanh_dao",), "Nguyễn Văn An")})
    code, out = _cli(ws, "--as", "hoa", "doc", "meta", str(doc_id), "--name", "Đơn đề nghị",
                     "--issued", "16/07/2025")
    assert code == 0, out
    code, out = _cli(ws, "doc", "meta", str(doc_id), "--name", "Đơn khác",
                     env={"MOTCUA_USER": "an"})
    assert code == 3 and "không có quyền" in out
    code, out = _cli(ws, "--as", "khongco", "doc", "meta", str(doc_id), "--name", "X")
    assert code == 1 and "Không có tài khoản “khongco”" in out
    changes = [(e.action, e.actor) for e in _actions_full(ws)
               if e.subject == f"document:{doc_id}"]
    assert changes and {actor for _, actor in changes} == {"Lê Thị Hoa (hoa)"}
    code, out = _cli(ws, "audit", "verify")
    assert code == 0, out


def _actions_full(ws: Workspace) -> list[audit.AuditEntry]:
    with _conn(ws) as conn:
        return list(audit.entries(conn))
