"""Exceptions shared by every subpackage.

A user-facing error carries a Vietnamese sentence for the clerk (what is wrong
and what to do) and an English technical detail for the logs.
"""

from __future__ import annotations

import errno


class MotcuaError(Exception):
    """Base error: `message` is Vietnamese, for people; `detail` is English, for logs."""

    def __init__(self, message: str, detail: str = "") -> None:
        # Both in args, so the error survives pickling out of an OCR worker process.
        super().__init__(message, detail)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message if not self.detail else f"{self.message} ({self.detail})"


class UserError(MotcuaError):
    """Bad input from the person at the keyboard: the command stops with exit code 1."""


class WorkspaceNotFound(UserError):
    pass


class BadInputFile(MotcuaError):
    """The file's content is the problem: it goes to quarantine, never retried."""


class TransientError(MotcuaError):
    """A tool crashed, the disk is full, a lock is held: retry later with back-off."""


class MachineFault(TransientError):
    """The machine, not the file, is the problem (disk full, quota): retried until it is
    mended, never counted against the file and never a reason for quarantine."""


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: OSError, where: str) -> MachineFault | None:
    """The MachineFault for an OSError that says the disk is full, else None."""
    if exc.errno not in DISK_FULL_ERRNOS:
        return None
    return MachineFault(
        "Ổ đĩa đã đầy, chưa lưu được tệp. Hãy giải phóng dung lượng; tệp vẫn nằm nguyên "
        "trong thư mục nhận và sẽ được xử lý lại.",
        f"disk full {where}: {exc}",
    )
