"""The content-addressed file store and its one way of writing a file durably.

Every file enters the store the same way: written to a temporary path on the
same filesystem, fsynced, its SHA-256 verified, renamed into place, and the
directory fsynced. Only then may the database record it. A file that is in
the store but not in the database (a crash between rename and commit) is
adopted by the next attempt, never written twice.

Layout under <workspace>/store:
    originals/ab/<sha256>.<ext>   the bytes the clerk dropped, unchanged
    archival/ab/<sha256>.pdf      the OCR'd PDF/A, named after its original's hash
    tmp/                          scratch; emptied at start-up
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from motcua.errors import TransientError, disk_full

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def original_relpath(sha256: str, extension: str) -> str:
    return f"store/originals/{sha256[:2]}/{sha256}{extension.lower()}"


def archival_relpath(original_sha256: str) -> str:
    return f"store/archival/{original_sha256[:2]}/{original_sha256}.pdf"


def durable_copy(source: Path, dest: Path, tmp_dir: Path, expected_sha256: str | None) -> str:
    """Copy `source` to `dest` durably and return the SHA-256 of what landed.

    If `dest` already exists with the expected hash (an earlier attempt crashed after
    its rename), it is kept as it is. If `expected_sha256` is given and the copy does
    not match it (the source changed under us), nothing is renamed and
    TransientError is raised.
    """
    if expected_sha256 is not None and dest.exists() and sha256_file(dest) == expected_sha256:
        return expected_sha256
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=".incoming-")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with source.open("rb") as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        written = digest.hexdigest()
        # Read back what the disk holds, not what we meant to write.
        on_disk = sha256_file(tmp)
        if on_disk != written or (expected_sha256 is not None and written != expected_sha256):
            raise TransientError(
                "Tệp thay đổi trong lúc sao chép; sẽ thử lại.",
                f"checksum mismatch copying {source}: expected {expected_sha256}, "
                f"read {written}, on disk {on_disk}",
            )
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        return written
    except OSError as exc:
        full = disk_full(exc, f"writing {dest}")
        if full is not None:
            raise full from exc
        raise TransientError(
            "Không ghi được tệp vào kho lưu trữ (không có quyền hoặc lỗi đĩa); sẽ thử lại.",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def process_tmp(tmp_root: Path) -> Path:
    """This process's scratch folder, `tmp/<pid>/`: what a killed process leaves there is
    removed by the next run's recovery (`motcua.ingest.pipeline.recover`), and nothing a
    live process is still writing ever is."""
    path = tmp_root / str(os.getpid())
    path.mkdir(parents=True, exist_ok=True)
    return path


def durable_move_into_store(produced: Path, dest: Path) -> str:
    """Move a file we produced (already in the store's tmp dir) into place durably."""
    with produced.open("rb+") as fh:
        os.fsync(fh.fileno())
    digest = sha256_file(produced)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(produced, dest)
    fsync_dir(dest.parent)
    if sha256_file(dest) != digest:
        raise TransientError(
            "Tệp trong kho lưu trữ bị hỏng ngay sau khi ghi; sẽ thử lại.",
            f"checksum of {dest} changed after rename",
        )
    return digest


def clear_tmp(tmp_dir: Path) -> int:
    """Remove leftovers of interrupted writes. Returns how many entries were removed."""
    if not tmp_dir.exists():
        return 0
    removed = 0
    for entry in tmp_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed
