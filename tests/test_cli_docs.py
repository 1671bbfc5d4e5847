"""The command line a clerk sees: every command has help and is in the README, click's
own words (usage errors, help headings, the help and version options) are Vietnamese,
and library warnings go to the log file, not the console, unless -v."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from motcua.cli import main
from motcua.errors import ExitCode
from motcua.workspace import Workspace
from tests.conftest import ROOT, RunCli

README = (ROOT / "README.md").read_text(encoding="utf-8")
# click's English, as it would reach the screen untranslated.
ENGLISH = re.compile(r"Usage:|Options:|Commands:|Error:|Missing|Invalid value|No such|"
                     r"Try '|Got unexpected|is not one of|is not a valid|does not exist|"
                     r"Show this message|Show the version|, version |\[OPTIONS\]|"
                     r"\bTEXT\b|\bINTEGER\b|required\]")


def walk(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, path)


COMMANDS = list(walk(main))


@pytest.mark.quick
@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(path: str, cmd: click.Command) -> None:
    assert cmd.help and cmd.help.strip(), f"motcua {path} has no help text"
    assert f"motcua {path}" in README, f"motcua {path} is not documented in README.md"


@pytest.mark.quick
def test_every_option_has_help() -> None:
    for path, cmd in [("", main), *COMMANDS]:
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"motcua {path} {param.opts[0]} has no help"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, as on a clerk's terminal."""
    return subprocess.run([sys.executable, "-m", "motcua", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=120)


USAGE_ERRORS = [
    (["dossier", "receive", "-p", "1.004873"], "Thiếu tùy chọn '--owner' / '-o'."),
    (["--bogus"], "Không có tùy chọn '--bogus'."),
    (["search", "x", "--limit", "abc"],
     "Giá trị không hợp lệ cho '--limit': 'abc' không phải là số hợp lệ."),
    (["search", "x", "--limit", "0"], "Giá trị không hợp lệ cho '--limit'"),
    (["dossier", "receive", "-p", "1", "-o", "2", "-c", "fax"],
     "'fax' không thuộc các giá trị 'online', 'direct', 'post'."),
    (["ingest"], "Thiếu đối số 'ĐƯỜNG_DẪN...'."),
    (["search", "a", "b"], "Thừa đối số (b)"),
    (["khong-co"], "Không có lệnh 'khong-co'."),
    (["dossier"], "Cách dùng: motcua dossier [TÙY CHỌN] LỆNH [ĐỐI SỐ]..."),
    (["ingest", "/khong/co/tep"], "Không có '/khong/co/tep'."),
    (["import", str(ROOT / "README.md")],
     f"'{ROOT / 'README.md'}' là một tệp, ở đây cần một thư mục."),
    (["search"], "Thiếu đối số 'TỪ_KHÓA'."),
]


@pytest.mark.parametrize("args,expected", USAGE_ERRORS, ids=[" ".join(a) for a, _ in
                                                              USAGE_ERRORS])
def test_usage_errors_are_vietnamese(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = run(*args, cwd=tmp_path)
    shown = proc.stdout + proc.stderr
    assert expected in shown, shown
    assert not ENGLISH.search(shown), shown
    if args != ["dossier"]:  # a group without a command shows its help
        assert proc.returncode == ExitCode.USAGE, shown
        assert "Lỗi:" in proc.stderr and "Xem hướng dẫn: motcua" in proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["dossier", "-h"],
                                  ["dossier", "receive", "--help"], ["search", "-h"],
                                  ["render", "-h"], ["report", "quarterly", "-h"]])
def test_help_is_vietnamese(args: list[str]) -> None:
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Cách dùng: motcua")
    assert "Tùy chọn:" in proc.stdout and "Xem hướng dẫn này rồi thoát." in proc.stdout
    assert not ENGLISH.search(proc.stdout), proc.stdout
    if args in (["--help"], ["dossier", "-h"]):
        assert "Lệnh:" in proc.stdout


def test_version_is_vietnamese() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("motcua, phiên bản ")
    assert "Xem phiên bản rồi thoát." in run("-h").stdout


def test_our_errors_keep_their_exit_codes(workspace: Workspace, cli: RunCli) -> None:
    bad = cli(workspace, "show", "999", check=False)
    assert bad.exit_code == ExitCode.USER_ERROR and "Lỗi: Không có tài liệu số 999" in bad.stderr
    nowhere = run("status", cwd=workspace.root.parent)
    assert nowhere.returncode == ExitCode.USER_ERROR
    assert "Không tìm thấy kho làm việc" in nowhere.stderr


LIBRARY_WARNING = """
import logging, sys
from motcua.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    logging.getLogger("fontTools.subset").warning("glyph %s missing", "x")
    logging.getLogger("ocrmypdf").info("chatter the file does not want")
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_library_warnings_go_to_the_log_not_the_console(workspace: Workspace,
                                                        verbose: bool) -> None:
    args = ["-w", str(workspace.root), *(["-v"] if verbose else []), "status", "--json"]
    proc = subprocess.run([sys.executable, "-c", LIBRARY_WARNING, *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)  # stdout is the JSON alone
    assert ("glyph x missing" in proc.stderr) is verbose, proc.stderr
    lines = [json.loads(line) for line in
             (workspace.logs / "motcua.log").read_text(encoding="utf-8").splitlines()]
    warned = [e for e in lines if e["logger"] == "fontTools.subset"]
    assert [(e["level"], e["msg"]) for e in warned] == [("WARNING", "glyph x missing")]
    assert not any(e["logger"] == "ocrmypdf" for e in lines)
