"""Web page benchmark: latency and size of the staff pages over a large workspace.

Builds a workspace of N documents (default 100,000, one page of ~120 words each, in
20,000 dossiers of 10,000 owners) directly in SQLite plus its index (built as
`motcua reindex` builds it), starts a
real `motcua serve`, logs in as a counter officer and times each page over loopback
(so the figure is the server's time plus a local round trip). The account page, which
touches no archive data, is measured in the same run as the baseline.

    .venv/bin/python bench/web.py                  # 100,000 documents
    .venv/bin/python bench/web.py --docs 20000 --runs 30
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's own folder would shadow packages (bench/argon2.py): the repository instead.
sys.path[0] = str(ROOT)

from motcua import db  # noqa: E402
from motcua.archive.catalogue import load_catalogue  # noqa: E402
from motcua.archive.indexing import rebuild  # noqa: E402
from motcua.index import open_engine  # noqa: E402
from motcua.workspace import Workspace, init_workspace  # noqa: E402
from tests.web_kit import http_login, make_officers, serving  # noqa: E402

TARGET_P95_MS = 150.0
TARGET_KB = 300.0
_TEXT = ("hồ sơ tiếp nhận giải quyết thủ tục hành chính ủy ban nhân dân xã Gia Lộc "
         "đề nghị cấp bản sao trích lục khai sinh kết hôn chứng thực chữ ký hộ tịch "
         "đất đai xây dựng bưu chính trả kết quả đúng hạn Nguyễn Trần Lê Phạm Văn Thị "
         "Minh Hương Lan Bình An")
WORDS = _TEXT.split(" ")


def build(ws: Workspace, docs: int, seed: int = 11) -> tuple[str, str]:
    """Rows straight into SQLite, then the index; returns a dossier code and an owner
    name to ask for."""
    rng = random.Random(seed)
    now = db.now()
    owners = [(f"0{rng.randrange(10**10, 10**11)}", f"{rng.choice(WORDS[-10:-4])} "
               f"Văn {rng.choice(WORDS[-4:])} {i}") for i in range(max(1, docs // 10))]
    codes = [f"000.00.07.H47-{20 + i // 10000}{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d}"
             f"-{i % 10000:04d}"
             for i in range(max(1, docs // 5))]
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    with closing(db.connect(ws.db_path)) as conn, db.transaction(conn):
        conn.executemany("INSERT INTO owners (id, kind, name, created_at)"
                         " VALUES (?, 'citizen', ?, ?)", [(o, n, now) for o, n in owners])
        conn.executemany(
            "INSERT INTO dossiers (code, created_at, owner_id, procedure_code,"
            " procedure_name, field, received_at) VALUES (?, ?, ?, '1.001193',"
            " 'Đăng ký khai sinh', 'Hộ tịch', ?)",
            [(c, now, owners[i % len(owners)][0],
              (start + datetime.timedelta(minutes=37 * i)).isoformat(timespec="seconds"))
             for i, c in enumerate(codes)])
        rows, pages, metas = [], [], []
        for i in range(1, docs + 1):
            at = (start + datetime.timedelta(minutes=5 * i)).isoformat(timespec="seconds")
            code = codes[i % len(codes)] if i % 50 else None
            rows.append((i, f"{i:064x}", f"scan_{i:06d}.pdf", "application/pdf", 100_000,
                         f"store/originals/{i % 256:02x}/{i:064x}.pdf", 1, code,
                         "folder" if code else None, "indexed", at, at))
            pages.append((i, " ".join(rng.choices(WORDS, k=120)), 92.0))
            metas.append((i, owners[i % len(owners)][0], "giay_khai_sinh",
                          f"Giấy khai sinh {i}"))
        conn.executemany(
            "INSERT INTO documents (id, sha256, original_name, media_type, size,"
            " original_path, page_count, dossier_code, dossier_source, state, ingested_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO pages (document_id, page_no, text, confidence,"
                         " ocr_done, needs_rescan) VALUES (?, 1, ?, ?, 1, 0)", pages)
        conn.executemany("INSERT INTO document_meta (document_id, owner_id, type_code, name,"
                         " updated_at) VALUES (?, ?, ?, ?, ?)", [(*m, now) for m in metas])
    # The index as `motcua reindex` builds it, from those rows.
    engine = open_engine(ws.index_dir, ws.config.index.engine, rebuild=True)
    try:
        with closing(db.connect(ws.db_path)) as conn:
            rebuild(conn, engine, type_names=load_catalogue(ws).document_types)
    finally:
        engine.close()
    return codes[len(codes) // 2 + 1], owners[len(owners) // 3][1]


def measure(client: object, path: str, runs: int) -> tuple[float, float, int]:
    times = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(path)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        size = len(r.content)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        make_officers(ws)
        t0 = time.perf_counter()
        code, owner_name = build(ws, args.docs)
        print(f"built {args.docs:,} documents in {time.perf_counter() - t0:.1f} s")
        with serving(ws) as url:
            client = http_login(url, "tiepnhan")  # closed with the server below
            pages = {
                "account (baseline)": "/account",
                "search: word": "/?q=khai+sinh",
                "search: owner name, no diacritics": "/?q=" + owner_name.split()[0],
                "dossier page": f"/dossiers/{code}",
                "dossier list (filtered)": "/dossiers?status=pending&field=H%E1%BB%99",
                "document list (unassigned)": "/documents?unassigned=1",
                "document page": "/documents/50000" if args.docs >= 50000 else "/documents/1",
                "desk": "/ban-lam-viec",
                "desk: find a dossier by owner name": "/ban-lam-viec?q="
                + owner_name.split()[-1],
            }
            results = {name: measure(client, path, args.runs) for name, path in pages.items()}
        base = results["account (baseline)"][1]
        print(f"{'page':38} {'median ms':>10} {'p95 ms':>8} {'x base':>8} {'KB':>7}  ok")
        for name, (median, p95, size) in results.items():
            ok = p95 <= TARGET_P95_MS and size / 1024 <= TARGET_KB
            print(f"{name:38} {median:10.1f} {p95:8.1f} {p95 / base:8.1f} "
                  f"{size / 1024:7.1f}  {'yes' if ok else 'NO'}")
        print(f"targets: p95 <= {TARGET_P95_MS:.0f} ms, <= {TARGET_KB:.0f} KB per page")


if __name__ == "__main__":
    main()
