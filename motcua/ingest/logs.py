"""Logging for the long-running intake: JSON lines in a rotating file, readable console.

The file `<workspace>/logs/motcua.log` holds one JSON object per line (time, level,
logger, pid, message and any structured fields passed with `extra=`), so that a
technician can grep it or load it into a spreadsheet; it rotates at a fixed size so
a service left running for months never fills the disk. The console stays for people.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from motcua.workspace import Workspace

LOG_NAME = "motcua.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 10

# Attributes every LogRecord has; anything else came from `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, pid, msg, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_path(ws: Workspace) -> Path:
    return ws.logs / LOG_NAME


class _OursOrWarnings(logging.Filter):
    """The file takes motcua's own records at their logger's level, and other libraries'
    (OCRmyPDF, pikepdf, fontTools…) from WARNING up: those are for the technician, in
    the file, not on the clerk's console."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".", 1)[0] == "motcua" or record.levelno >= logging.WARNING


def _file_handlers(logger: logging.Logger) -> list[logging.FileHandler]:
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


def setup_logging(ws: Workspace, *, verbose: bool = False) -> Path:
    """Send log records to the workspace's rotating JSON-lines file: motcua's own, and
    other libraries' warnings.

    The file handler sits on the root logger. A console handler already installed (by
    `motcua -v`) keeps printing everything with `verbose`, warnings otherwise; when none
    is installed, and the command line installs none without -v, nothing reaches the
    console. Calling this twice does not add a second file handler.
    """
    ws.logs.mkdir(parents=True, exist_ok=True)
    path = log_path(ws)
    logger = logging.getLogger("motcua")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger()
    for handler in _file_handlers(root) + _file_handlers(logger):
        if Path(handler.baseFilename) == path.absolute():
            return path
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
        errors="backslashreplace")  # a file name that is not UTF-8 never loses a line
    file_handler.setFormatter(JsonLinesFormatter())
    file_handler.addFilter(_OursOrWarnings())
    root.addHandler(file_handler)
    console_level = logging.DEBUG if verbose else logging.WARNING
    if not root.handlers or root.handlers == [file_handler]:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(console)
    for console_handler in root.handlers:
        if isinstance(console_handler, logging.StreamHandler) and not isinstance(
                console_handler, logging.FileHandler):
            console_handler.setLevel(console_level)
    return path


def worker_logging(path: str | None, level: int) -> None:
    """In an OCR worker: write to the intake process's log file without ever rotating it.

    If each process rotated the file on its own, lines would be lost or land in the
    wrong file. A WatchedFileHandler appends one line per write (atomic under O_APPEND)
    and reopens the file after the intake process has rotated it. The worker's console
    stays silent, as the clerk's does without -v."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    logging.getLogger("motcua").setLevel(level)
    if path is None:
        root.addHandler(logging.NullHandler())
        return
    watched = logging.handlers.WatchedFileHandler(path, encoding="utf-8",
                                                  errors="backslashreplace")
    watched.setFormatter(JsonLinesFormatter())
    watched.addFilter(_OursOrWarnings())
    root.addHandler(watched)
