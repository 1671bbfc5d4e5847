"""Progress of batch work: a bar in a terminal, plain lines when the output is a file or
pipe. Presentation only, so it lives with the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

import click

from motcua import labels


class Outcome(Protocol):
    """What the pipeline reports for one file (`services.intake` passes it through)."""

    @property
    def state(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def document_id(self) -> int | None: ...
    @property
    def message(self) -> str: ...


_COLOUR = {"done": "green", "duplicate": "yellow", "quarantined": "red", "refused": "red",
           "retry": "yellow", "vanished": "yellow"}


def outcome_lines(outcome: Outcome) -> tuple[str, str]:
    # The document number is what the officer types next (show, assign): always printed.
    number = f" → #{outcome.document_id}" if outcome.document_id is not None else ""
    return (f"[{labels.label(labels.INTAKE_STATES, outcome.state)}] {outcome.source}{number}",
            f"    {outcome.message}")


@contextmanager
def batch_progress(
    total: int, *, label: str = "Đang số hóa", stream: TextIO | None = None
) -> Iterator[Callable[[Outcome], None]]:
    """Yield a callback to call with each file's outcome.

    In a terminal: a progress bar (rich) with the count, elapsed and remaining time; files
    that did not go well are printed above it. Otherwise: one plain line per file,
    numbered `[n/total]`, which a log or a script can read.
    """
    out = stream or sys.stdout
    if out.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        console = Console(file=out)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
            task = bar.add_task(label, total=total or None)

            def advance(outcome: Outcome) -> None:
                if outcome.state == "processing":  # a page of a long file, not the end
                    bar.update(task, description=f"{label}: {outcome.source} — "
                               f"{outcome.message.rstrip('.')}")
                    return
                bar.update(task, description=label)
                head, message = outcome_lines(outcome)
                colour = _COLOUR.get(outcome.state, "default")
                console.print(Text(head, style=colour))
                if outcome.state != "done":
                    console.print(Text(message))
                bar.advance(task)

            yield advance
        return

    count = 0

    def line(outcome: Outcome) -> None:
        nonlocal count
        if outcome.state == "processing":  # a page of a long file: no count of its own
            click.echo(f"    {outcome.source}: {outcome.message}", file=out)
            return
        count += 1
        head, message = outcome_lines(outcome)
        click.secho(f"[{count}/{total}] {head}", fg=_COLOUR.get(outcome.state), file=out)
        click.echo(message, file=out)

    yield line
