"""The index directory: which engine made it, creating and wiping it, error messages."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from motcua.errors import TransientError, UserError

MARKER = "motcua-index.json"
# Bump when the fields or the tokenisation change: older indexes must be rebuilt.
LAYOUT_VERSION = 3  # 3: one entry per document, its warehouse fields, word pairs

REINDEX_HINT = "Hãy chạy `motcua reindex` để dựng lại chỉ mục từ kho lưu trữ."


def unreadable(path: Path, kind: str, exc: BaseException | str) -> UserError:
    return UserError(
        f"Không đọc được chỉ mục tìm kiếm tại {path}. {REINDEX_HINT}",
        f"{kind} index at {path} unreadable: {exc}",
    )


def writer_busy(path: Path, kind: str, exc: BaseException | str) -> TransientError:
    return TransientError(
        f"Chỉ mục tìm kiếm tại {path} đang được một tiến trình khác ghi; hãy thử lại sau.",
        f"{kind} index writer lock busy at {path}: {exc}",
    )


def prepare(path: Path, kind: str, rebuild: bool) -> bool:
    """Check or create the index directory; True if the engine must create a new index."""
    if rebuild:
        wipe(path)
    marker = path / MARKER
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        path.mkdir(parents=True, exist_ok=True)
        _write_marker(marker, kind)
        return True
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
        made_by, version = info["engine"], info["version"]
    except FileNotFoundError as exc:
        raise unreadable(path, kind, f"no {MARKER}: not a motcua index") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise unreadable(path, kind, exc) from exc
    if made_by != kind:
        raise UserError(
            f"Chỉ mục tìm kiếm tại {path} được tạo bằng bộ máy {made_by}, "
            f"nhưng cấu hình đang dùng {kind}. {REINDEX_HINT}",
            f"index engine mismatch at {path}: on disk {made_by}, requested {kind}",
        )
    if version != LAYOUT_VERSION:
        raise UserError(
            f"Chỉ mục tìm kiếm tại {path} có định dạng cũ. {REINDEX_HINT}",
            f"index layout {version} at {path}, expected {LAYOUT_VERSION}",
        )
    return False


def wipe(path: Path) -> None:
    """Delete an index directory; refuse one that does not look like an index."""
    if not path.exists():
        return
    if not path.is_dir() or any(p.is_dir() for p in path.iterdir()):
        # Index directories are flat; a subfolder means the path is wrong
        # and deleting it could destroy the archive.
        raise UserError(
            f"Thư mục {path} không phải là chỉ mục tìm kiếm; không xóa.",
            f"refusing to wipe {path}: not a flat index directory",
        )
    shutil.rmtree(path)


def _write_marker(marker: Path, kind: str) -> None:
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"engine": kind, "version": LAYOUT_VERSION}), encoding="utf-8")
    os.replace(tmp, marker)
