"""Intake: files from the inbox (or the command line) into the pipeline, once each."""

from motcua.ingest.pipeline import (
    Outcome,
    due_ids,
    expand,
    ingest_paths,
    is_ignored,
    process_pending,
    recover,
    register,
)

__all__ = [
    "Outcome",
    "due_ids",
    "expand",
    "ingest_paths",
    "is_ignored",
    "process_pending",
    "recover",
    "register",
]
