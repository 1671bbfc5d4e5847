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
    def message(self) -> str: ...


_COLOUR = {"done": "green", "duplicate": "yellow", "quarantined": "red", "refused": "red",
           "retry": "yellow", "vanished": "yellow"}


def outcome_lines(outcome: Outcome) -> tuple[str, str]:
    return (f"[{labels.label(labels.INTAKE_STATES, outcome.state)}] {outcome.source}",
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
                if outcome.state != "done":
                    head, message = outcome_lines(outcome)
                    colour = _COLOUR.get(outcome.state, "default")
                    console.print(Text(head, style=colour))
                    console.print(Text(message))
                bar.advance(task)

            yield advance
        return

    count = 0

    def line(outcome: Outcome) -> None:
        nonlocal count
        count += 1
        head, message = outcome_lines(outcome)
        click.secho(f"[{count}/{total}] {head}", fg=_COLOUR.get(outcome.state), file=out)
        click.echo(message, file=out)

    yield line
