"""A progress bar for long work (bulk `do`, `docs --pdf`, `import`, `export ledger`, audits): drawn
by rich on the terminal (stderr) when stdout is a terminal and the output is not --json; nothing
otherwise, so that a pipe, a file or a JSON reader sees exactly the same output as without it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.commands.app import App

Advance = Callable[[str], None]  # called once per unit of work done, with what it was (an item key …)


def wanted(app: App) -> bool:
    """Whether a bar is drawn: stdout is a terminal and the output is for people."""
    return not app.as_json and sys.stdout.isatty()


@contextlib.contextmanager
def progress(app: App, description: str, total: int | None) -> Iterator[Advance]:
    """`advance(what)` moves the bar one step; the bar goes away at the end (transient)."""
    if not wanted(app):
        yield lambda what: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[what]}"))
    with Progress(*columns, console=Console(file=sys.stderr, force_terminal=sys.stderr.isatty() or None),
                  transient=True) as bar:
        task = bar.add_task(description, total=total, what="")
        yield lambda what: bar.update(task, advance=1, what=what)
