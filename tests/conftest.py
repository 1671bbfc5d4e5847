"""Shared fixtures: one fresh workspace, one way to run the `motcua` command.

`pytest -m quick` runs the pure-function tests only (no OCR, no LibreOffice): the
sub-minute inner loop beside the real-parts suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from motcua.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace (tests that need their own layout define `ws` themselves)."""
    return init_workspace(tmp_path / "ws")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def returncode(self) -> int:
        """As `subprocess.CompletedProcess` calls it."""
        return self.exit_code

    def json(self) -> Any:
        return json.loads(self.stdout)


RunCli = Callable[..., CliResult]


def run_cli(ws: Workspace | None, *args: str, env: dict[str, str] | None = None,
            check: bool = True, subprocess_: bool = False, tz: str | None = None) -> CliResult:
    """`motcua -w <ws> ARGS…`, in-process through click's runner (fast), or in a real
    subprocess with `subprocess_=True` (signals, the console's logging, `python -m`).
    `check` fails the test unless the exit code is 0."""
    base = ["-w", str(ws.root)] if ws is not None else []
    extra = dict(env or {})
    if tz is not None:
        extra["TZ"] = tz
    if subprocess_:
        proc = subprocess.run([sys.executable, "-m", "motcua", *base, *args],
                              capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, **extra}, timeout=600)
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    else:
        from motcua.cli import main

        got = CliRunner().invoke(main, [*base, *args], env=extra or None,
                                 catch_exceptions=False)
        result = CliResult(got.exit_code, got.stdout, got.stderr)
    if check:
        assert result.exit_code == 0, f"motcua {' '.join(args)}: {result.output}"
    return result


def add_officer(ws: Workspace, login: str, full_name: str,
                roles: tuple[str, ...] = ("tiep_nhan", "chuyen_vien")) -> str:
    """An active staff account (added by the OS account); returns its password."""
    from motcua.services import accounts, open_context, os_actor

    password = accounts.generate_password()
    with open_context(ws, os_actor()) as ctx:
        accounts.add_user(ctx, login, full_name, "", list(roles), password)
    return password


@pytest.fixture
def cli() -> RunCli:
    """The one CLI runner: `cli(ws, "show", "1", "--json")`."""
    return run_cli


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module for the Playwright tests (tests/web_kit.py)."""
    from tests.web_kit import launched_chromium

    with launched_chromium() as launched:
        yield launched
