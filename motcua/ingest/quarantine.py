"""Quarantine: a file we cannot archive is set aside with a reason beside it; nothing is deleted."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from motcua.archive.store import fsync_dir
from motcua.ingest.names import fit_name, safe_text, visible

REASON_SUFFIX = ".reason.txt"


def _free_name(folder: Path, name: str) -> Path:
    """A name in `folder` free for the file and its reason file. A long name (a scanned
    application's 80 Vietnamese characters are 240 bytes) is shortened so that
    `<name>.reason.txt` still fits in 255 bytes; the full name is in the reason file
    and the database row."""
    base = fit_name(name, REASON_SUFFIX)
    candidate = folder / base
    stem, suffix = Path(base).stem, Path(base).suffix
    n = 1
    while os.path.lexists(candidate) or os.path.lexists(
            candidate.with_name(candidate.name + REASON_SUFFIX)):
        candidate = folder / fit_name(f"{stem} ({n}){suffix}", REASON_SUFFIX)
        n += 1
    return candidate


def _write_durably(path: Path, text: str) -> None:
    tmp = path.with_name(f".{os.getpid()}.reason.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def quarantine_file(
    source: Path, quarantine_dir: Path, reason_vi: str, detail: str, *, move: bool
) -> Path:
    """Put `source` into `quarantine_dir` with `<name>.reason.txt` beside it.

    `move` takes the file out of the inbox; otherwise (a file given on the command line
    from elsewhere) a copy is quarantined and the source is left where it was.
    Returns the quarantined file's path.
    """
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    # The printable form: a quarantined file's name is UTF-8 without control characters,
    # so the database row names it exactly (the original name is in the reason file).
    dest = _free_name(quarantine_dir, visible(source.name))
    reason = dest.with_name(dest.name + REASON_SUFFIX)
    # Reason first: if we die between the two steps, the reason is there without its
    # file (harmless) rather than a file without its reason.
    _write_durably(
        reason,
        f"{safe_text(reason_vi)}\n\nTệp gốc: {visible(source)}\nĐặt trong thư mục cách ly với tên: "
        f"{visible(dest.name)}\nChi tiết kỹ thuật: {safe_text(detail)}\n",
    )
    if move:
        try:
            os.replace(source, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Inbox on another filesystem (network share): copy durably, then remove.
            shutil.copy2(source, dest)
            with dest.open("rb+") as fh:
                os.fsync(fh.fileno())
            source.unlink()
    else:
        shutil.copy2(source, dest)
        with dest.open("rb+") as fh:
            os.fsync(fh.fileno())
    fsync_dir(quarantine_dir)
    return dest
