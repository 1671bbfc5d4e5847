"""Benchmark: argon2id password hashing cost on this machine.

Times hash + verify for a few (time cost, memory, lanes) settings around the one motcua
uses (`motcua.services.accounts.ARGON2_*`), and prints milliseconds per hash and the
ratio to a one-pass 8 MiB baseline measured in the same run. The target is 50-500 ms per
hash: slow enough that a stolen database cannot be guessed quickly, fast enough that a
login is not noticeably slow and two officers logging in at once do not wait.

    .venv/bin/python bench/argon2.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named like the library: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402

from motcua.services import accounts  # noqa: E402

TARGET_MS = (50.0, 500.0)
SETTINGS: list[tuple[int, int, int]] = [  # (time_cost, memory KiB, parallelism)
    (1, 8 * 1024, 1),  # baseline
    (2, 32 * 1024, 1),
    (3, 64 * 1024, 1),
    (2, 64 * 1024, 2),
    (4, 64 * 1024, 1),
    (3, 128 * 1024, 1),
]


def per_hash_ms(time_cost: int, memory: int, lanes: int, rounds: int) -> float:
    ph = PasswordHasher(time_cost=time_cost, memory_cost=memory, parallelism=lanes)
    password = "mật khẩu thử nghiệm 2025"
    ph.verify(ph.hash(password), password)  # warm up (allocator, first-call costs)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        ph.hash(password)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    chosen = (accounts.ARGON2_TIME_COST, accounts.ARGON2_MEMORY_KIB, accounts.ARGON2_PARALLELISM)
    settings = SETTINGS if chosen in SETTINGS else [*SETTINGS, chosen]
    baseline = per_hash_ms(*SETTINGS[0], args.rounds)
    print(f"{'t':>2} {'MiB':>5} {'lanes':>5} {'ms/hash':>8} {'ratio':>6}  in target")
    for setting in settings:
        ms = baseline if setting == SETTINGS[0] else per_hash_ms(*setting, args.rounds)
        t, m, p = setting
        inside = TARGET_MS[0] <= ms <= TARGET_MS[1]
        mark = " <- motcua" if setting == chosen else ""
        print(f"{t:>2} {m // 1024:>5} {p:>5} {ms:>8.1f} {ms / baseline:>6.1f}  "
              f"{'yes' if inside else 'no'}{mark}")
    ms = per_hash_ms(*chosen, args.rounds)
    verdict = "inside" if TARGET_MS[0] <= ms <= TARGET_MS[1] else "OUTSIDE"
    print(f"motcua's setting: {ms:.1f} ms per hash, {verdict} the {TARGET_MS[0]:.0f}-"
          f"{TARGET_MS[1]:.0f} ms target")


if __name__ == "__main__":
    main()
