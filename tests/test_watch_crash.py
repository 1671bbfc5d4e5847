"""kill -9 at random moments and at every named step: nothing lost, nothing taken twice,
no orphan or partial file, no row stuck (issue 3). bench/crash.py runs the big version."""

from __future__ import annotations

from pathlib import Path

from bench.crash import run_crash


def test_watcher_survives_repeated_sigkill(tmp_path: Path) -> None:
    report = run_crash(tmp_path, n=20, kills=6, seed=7, verbose=False)
    assert report["problems"] == []
    assert report["kills_landed"] + report["runs_that_exited_before_the_kill"] == 6
    assert report["kills_landed"] >= 5
    assert report["crash_point_kills"] >= 1 and report["timed_kills"] >= 1
    assert report["intake_rows"].keys() <= {"done"}
