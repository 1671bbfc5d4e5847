"""Exceptions shared by every subpackage.

A user-facing error carries a Vietnamese sentence for the clerk (what is wrong
and what to do) and an English technical detail for the logs.
"""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    """What the `motcua` command's exit status means, one meaning per number.

    Scripts and systemd units read these; README's "Exit codes" lists them."""

    OK = 0
    USER_ERROR = 1        # could not do what was asked: bad input, missing data, refused
    PROBLEMS_FOUND = 2    # it ran, but some items failed (quarantined files, bad CSV rows)
    #                       or a check found problems (verify, audit verify)
    ACCESS_DENIED = 3     # the acting officer's roles do not allow the command
    TRY_AGAIN = 4         # a transient fault (tool crash, disk full, lock): run it again later
    USAGE = 64            # the command line itself is wrong (sysexits EX_USAGE)


class MotcuaError(Exception):
    """Base error: `message` is Vietnamese, for people; `detail` is English, for logs.
    `exit_code` is what the command line exits with when the error reaches it."""

    exit_code: ExitCode = ExitCode.USER_ERROR

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

    exit_code = ExitCode.TRY_AGAIN


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
