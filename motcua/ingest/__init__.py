"""Intake: files from the inbox (or the command line) into the pipeline, once each."""

from motcua.ingest.pipeline import (
    Outcome,
    expand,
    ingest_paths,
    is_ignored,
    due_ids,
    process_pending,
    recover,
    register,
)

__all__ = [
    "Outcome",
    "expand",
    "ingest_paths",
    "is_ignored",
    "due_ids",
    "process_pending",
    "recover",
    "register",
]
