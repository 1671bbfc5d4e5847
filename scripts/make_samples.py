"""Write a few synthetic Vietnamese scans into a folder, for the demo workspace.

Usage: python scripts/make_samples.py DEMO/inbox
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import scans


def main(target: Path) -> None:
    dossier = target / "000.00.07.H47-250716-0001"
    dossier.mkdir(parents=True, exist_ok=True)
    scans.write_pdf(
        scans.render_document(2, "office", seed=1, extra_lines=["Số CCCD: 001090012345"]),
        dossier / "to-khai-dang-ky-khai-sinh.pdf",
    )
    scans.write_jpeg(
        scans.render_page("clean", seed=2, extra_lines=["Mã hồ sơ: 000.00.07.H47-250717-0003"]),
        target / "giay-xac-nhan-cu-tru.jpg",
    )
    scans.write_tiff(scans.render_document(2, "office", seed=3), target / "bien-ban.tif")
    print(f"Đã tạo 3 tệp quét mẫu trong {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo/inbox"))
