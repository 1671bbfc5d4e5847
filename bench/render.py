"""Benchmark: render documents (DOCX + PDF/A-2b + empty signature field).

Renders N documents (default 50, cycling through every example kind) with one warm
LibreOffice, then a few of the same documents with a cold `soffice --convert-to` per
document, in the same run, and prints seconds per document and the ratio.

    .venv/bin/python bench/render.py [--count 50] [--cold 5] [--out bench/out/render]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from motcua.templates import Converter, WarmOffice, load_spec, render  # noqa: E402
from motcua.templates.spec import KINDS  # noqa: E402


def run(count: int, cold: int, out: Path) -> None:
    specs = [load_spec(kind, ROOT / "examples" / f"{kind}.yaml") for kind in KINDS]
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    t0 = time.perf_counter()
    warm = WarmOffice()
    if not warm.available:
        sys.exit("python3-uno is not installed: no warm LibreOffice to measure")
    warm.start()
    startup = time.perf_counter() - t0
    converter = Converter(warm)
    warm_times: list[float] = []
    pages = 0
    try:
        for i in range(count):
            spec = specs[i % len(specs)]
            t = time.perf_counter()
            result = render(None, spec, out / f"warm-{i:03d}-{spec.kind}", converter=converter)
            warm_times.append(time.perf_counter() - t)
            pages += result.page_count
    finally:
        warm.close()

    cold_times: list[float] = []
    cold_conv = Converter(None)
    for i in range(cold):
        spec = specs[i % len(specs)]
        t = time.perf_counter()
        render(None, spec, out / f"cold-{i:03d}-{spec.kind}", converter=cold_conv)
        cold_times.append(time.perf_counter() - t)

    warm_mean = statistics.mean(warm_times)
    print(f"warm LibreOffice start-up: {startup:.2f} s (once)")
    print(f"warm: {count} documents ({pages} pages) in {sum(warm_times):.1f} s: "
          f"{warm_mean:.3f} s per document (median {statistics.median(warm_times):.3f}, "
          f"max {max(warm_times):.3f})")
    if cold_times:
        # compare like with like: the warm mean over the same kinds as the cold sample
        same = [warm_times[i] for i in range(min(cold, count))]
        cold_mean = statistics.mean(cold_times)
        print(f"cold soffice --convert-to per document: {cold} documents, "
              f"{cold_mean:.3f} s per document")
        print(f"ratio cold/warm (same documents): {cold_mean / statistics.mean(same):.1f}x; "
              f"warm incl. its start-up over {count} documents: "
              f"{(sum(warm_times) + startup) / count:.3f} s per document")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--cold", type=int, default=6)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "render")
    args = ap.parse_args()
    run(args.count, args.cold, args.out)


if __name__ == "__main__":
    main()
