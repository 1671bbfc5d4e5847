"""Ingest benchmark: archival OCR against bare Tesseract, measured in the same run.

For each quality (clean, office, poor) it generates multi-page scanner PDFs
(one JPEG per page, tests/scans.py), then times on the same page images:

- ``bare``: ``tesseract page.jpg out -l vie`` (plain text), ``--workers`` at a time;
- ``archival``: ``motcua.ocr.make_archival`` in a process pool of ``--workers``,
  one file per worker (the last files in flight share the free cores for their
  pages, as the pipeline does);
- ``pipeline`` (unless ``--no-pipeline``): ``motcua.ingest.ingest_paths`` on a
  fresh workspace: hashing, store, OCR, database, index.

It prints pages per minute, the ratio of wall time to bare Tesseract's, the
CER of the text pdftotext (default mode) extracts from the archived PDF next
to bare Tesseract's own CER, and diacritic accuracy.

    .venv/bin/python bench/ingest.py                       # 4×2 + 1×10 pages per quality
    .venv/bin/python bench/ingest.py --sizes 2,2,2,2,2,2 --qualities office
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from motcua.ocr import OcrOutcome, OcrSettings, make_archival  # noqa: E402
from tests import scans  # noqa: E402


@dataclass(frozen=True)
class Doc:
    pdf: Path
    page_jpegs: tuple[Path, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Score:
    edits: int
    chars: int
    diacritics: float

    @property
    def cer(self) -> float:
        return 100.0 * self.edits / max(1, self.chars)


def generate(folder: Path, quality: scans.Quality, sizes: Sequence[int], seed: int) -> list[Doc]:
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    docs = []
    for i, n in enumerate(sizes):
        pages = scans.render_document(n, quality, seed=seed * 100 + i)
        pdf = scans.write_pdf(pages, folder / f"{quality}-{i:02d}-{n}p.pdf")
        # Bare Tesseract reads the very JPEG bytes the PDF carries.
        jpegs = [
            scans.write_jpeg(page, folder / "pages" / f"{pdf.stem}-{k + 1}.jpg")
            for k, page in enumerate(pages)
        ]
        docs.append(Doc(pdf, tuple(jpegs), tuple(p.text for p in pages)))
    return docs


def score(pairs: Sequence[tuple[str, str]]) -> Score:
    edits = chars = 0
    for ref, hyp in pairs:
        r, h = scans.normalise(ref), scans.normalise(hyp)
        edits += scans.levenshtein(r, h)
        chars += len(r)
    ref_all = "\n".join(r for r, _ in pairs)
    hyp_all = "\n".join(h for _, h in pairs)
    return Score(edits, chars, scans.diacritic_accuracy(ref_all, hyp_all))


def pdftotext_pages(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\f")


# --- the three contenders ----------------------------------------------------------


def run_bare(
    docs: Sequence[Doc], workers: int, language: str, out_dir: Path
) -> tuple[float, Score]:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    jobs = [(jpeg, text) for d in docs for jpeg, text in zip(d.page_jpegs, d.texts, strict=True)]

    def one(jpeg: Path) -> str:
        base = out_dir / jpeg.stem
        subprocess.run(
            ["tesseract", str(jpeg), str(base), "-l", language],
            env=env,
            capture_output=True,
            check=True,
        )
        return base.with_suffix(".txt").read_text(encoding="utf-8")

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        texts = list(pool.map(one, [j for j, _ in jobs]))
    wall = time.perf_counter() - start
    return wall, score([(ref, hyp) for (_, ref), hyp in zip(jobs, texts, strict=True)])


def _warm() -> int:
    # Imports and OCRmyPDF's plugin set-up happen once per worker process in
    # the pipeline too; keep them out of the per-file comparison.
    import ocrmypdf  # noqa: F401

    import motcua.ocr.plugin  # noqa: F401

    return os.getpid()


def run_archival(
    docs: Sequence[Doc], workers: int, language: str, out_dir: Path
) -> tuple[float, Score, list[OcrOutcome]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    queue = sorted(docs, key=lambda d: -len(d.texts))  # long files first: no lone tail
    outputs: dict[Future[OcrOutcome], Doc] = {}
    results: dict[Path, OcrOutcome] = {}
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_warm_wait, range(workers)))
        start = time.perf_counter()
        pending = list(queue)
        while pending or outputs:
            while pending and len(outputs) < workers:
                doc = pending.pop(0)
                jobs = 1 if pending else workers - len(outputs)
                settings = OcrSettings(language=language, jobs=jobs)
                fut = pool.submit(
                    make_archival, doc.pdf, "application/pdf", out_dir / doc.pdf.name, settings
                )
                outputs[fut] = doc
            done, _ = wait(outputs, return_when=FIRST_COMPLETED)
            for fut in done:
                results[outputs.pop(fut).pdf] = fut.result()
        wall = time.perf_counter() - start
    pairs = []
    for doc in docs:
        pages = pdftotext_pages(out_dir / doc.pdf.name)
        pairs += list(zip(doc.texts, pages, strict=False))
    return wall, score(pairs), [results[d.pdf] for d in docs]


def _warm_wait(_: int) -> int:
    time.sleep(0.3)  # keep each worker busy so every one of them gets warmed
    return _warm()


def run_pipeline(
    docs: Sequence[Doc], workers: int, language: str, root: Path
) -> tuple[float, Score] | None:
    try:
        from motcua.ingest import ingest_paths
        from motcua.workspace import init_workspace
    except ImportError as exc:  # the pipeline is still being written
        print(f"  (pipeline mode skipped: {exc})")
        return None
    ws = init_workspace(root / "ws")
    config = ws.root / "motcua.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("# jobs = 2", f"jobs = {workers}").replace(
            'language = "vie"', f'language = "{language}"'
        ),
        encoding="utf-8",
    )
    ws = init_workspace(root / "ws")
    drop = root / "drop"
    drop.mkdir()
    for doc in docs:
        shutil.copy2(doc.pdf, drop / doc.pdf.name)
    start = time.perf_counter()
    outcomes = ingest_paths(ws, [drop])
    wall = time.perf_counter() - start
    bad = [o for o in outcomes if o.state != "done"]
    if bad:
        print(f"  pipeline: {len(bad)} files not done: {bad[:3]}")
    from motcua.archive import store

    pairs = []
    for doc in docs:
        sha = hashlib.sha256(doc.pdf.read_bytes()).hexdigest()
        archived = ws.absolute(store.archival_relpath(sha))
        if archived.exists():
            pairs += list(zip(doc.texts, pdftotext_pages(archived), strict=False))
    return wall, score(pairs)


# --- main -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--qualities", default="clean,office,poor")
    ap.add_argument("--sizes", default="2,2,2,2,10", help="pages per generated file")
    ap.add_argument("--workers", type=int, default=2, help="files (and bare pages) at a time")
    ap.add_argument("--language", default="vie")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-pipeline", action="store_true", help="skip the full ingest pipeline")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; best wall time counts")
    ap.add_argument("--keep", type=Path, help="keep generated and archived files here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    qualities: list[scans.Quality] = [q for q in scans.QUALITIES if q in args.qualities.split(",")]

    print(
        f"load at start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; "
        f"files {sizes} per quality; {args.workers} at a time; -l {args.language}"
    )
    rows: list[tuple[str, ...]] = []
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-")) if args.keep is None else args.keep
    try:
        for quality in qualities:
            qdir = tmp / quality
            t0 = time.perf_counter()
            docs = generate(qdir / "scans", quality, sizes, args.seed)
            n = sum(len(d.texts) for d in docs)
            print(
                f"\n[{quality}] {len(docs)} files, {n} pages generated"
                f" in {time.perf_counter() - t0:.1f} s"
            )
            # Rounds alternate the contenders so a neighbour's burst of work
            # hits both; the best wall time of each is compared.
            bare_walls, arch_walls, pipe_walls = [], [], []
            pipe: Score | None = None
            for r in range(args.repeat):
                rdir = qdir / f"round{r}"
                wall, bare = run_bare(docs, args.workers, args.language, rdir / "bare")
                bare_walls.append(wall)
                print(
                    f"  bare tesseract  {wall:6.1f} s  CER {bare.cer:5.2f}%"
                    f"  diacritics {bare.diacritics:5.1f}%"
                )
                wall, arch, outcomes = run_archival(
                    docs, args.workers, args.language, rdir / "archival"
                )
                arch_walls.append(wall)
                flagged = sum(p.needs_rescan for o in outcomes for p in o.pages)
                confs = [p.confidence for o in outcomes for p in o.pages if p.confidence]
                print(
                    f"  make_archival   {wall:6.1f} s  CER {arch.cer:5.2f}%"
                    f"  diacritics {arch.diacritics:5.1f}%  ratio {wall / bare_walls[-1]:.2f}"
                    f"  mean conf {sum(confs) / max(1, len(confs)):.1f}"
                    f"  flagged {flagged}/{n}"
                )
                if not args.no_pipeline:
                    res = run_pipeline(docs, args.workers, args.language, rdir / "pipeline")
                    if res is not None:
                        wall, pipe = res
                        pipe_walls.append(wall)
                        print(
                            f"  ingest_paths    {wall:6.1f} s  CER {pipe.cer:5.2f}%"
                            f"  ratio {wall / bare_walls[-1]:.2f}"
                        )
                print(f"  (load {os.getloadavg()[0]:.2f})")
            bare_wall, arch_wall = min(bare_walls), min(arch_walls)
            line: tuple[str, ...] = (
                quality,
                str(n),
                f"{60 * n / arch_wall:.0f}",
                f"{arch_wall / bare_wall:.2f}",
                f"{arch.cer:.2f}",
                f"{bare.cer:.2f}",
                f"{arch.diacritics:.1f}",
                f"{bare.diacritics:.1f}",
            )
            if pipe_walls and pipe is not None:
                pipe_wall = min(pipe_walls)
                line += (
                    f"{60 * n / pipe_wall:.0f}",
                    f"{pipe_wall / bare_wall:.2f}",
                    f"{pipe.cer:.2f}",
                )
            rows.append(line)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    head = (
        "quality",
        "pages",
        "arch p/min",
        "arch/bare",
        "arch CER%",
        "bare CER%",
        "arch diac%",
        "bare diac%",
        "pipe p/min",
        "pipe/bare",
        "pipe CER%",
    )
    widths = [max(len(h), 6) for h in head]
    print("\n" + "  ".join(h.rjust(w) for h, w in zip(head, widths, strict=False)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=False)))
    print(f"load at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
