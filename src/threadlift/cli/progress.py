"""Progress of long commands on stderr: a spinner, the stage, a bar with counts.

Shown only when stderr is a terminal (:func:`threadlift.cli.common.on_terminal`) and
erased when the work ends, so pipes, logs and schedulers see exactly what they saw before.
A command wraps its work in :class:`Progress` and reports stages and counts::

    with Progress(total=len(files), unit="files") as progress:
        for path in files:
            progress.step(f"reading {path.name}")
            ...
            progress.advance()

Library functions take plain callbacks (``on_stage``, ``on_file``), so they know nothing
of terminals; the command binds them to ``step`` and ``advance``.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

import click

from threadlift.cli.common import on_terminal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class Progress:
    """A transient progress display on stderr; silent when stderr is not a terminal.

    Args:
        description: What is being done, shown beside the spinner until the first
            :meth:`step`.
        total: How many units the work has (a bar is drawn), or None (a count).
        unit: What is counted (``"files"``, ``"rows"``), shown after the count.
        console: Where to draw (tests pass a console forced to be a terminal); by default
            stderr, and nothing is drawn unless stderr is a terminal.
    """

    def __init__(
        self,
        description: str = "working",
        *,
        total: int | None = None,
        unit: str = "",
        console: Console | None = None,
    ) -> None:
        self._description = description
        self._total = total
        self._unit = unit
        self._console = console
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._done = 0

    @property
    def active(self) -> bool:
        """Whether the display is drawn (inside the ``with`` block, on a terminal)."""
        return self._bar is not None

    def __enter__(self) -> Progress:
        console = self._console if self._console is not None else stderr_console()
        if console is None or not console.is_terminal:
            return self
        from rich.progress import (
            BarColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            self._description, total=self._total, count=self._count(0, self._total)
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None

    def step(self, description: str, *, total: int | None = None) -> None:
        """Show a new stage; with ``total``, restart the count at 0 of ``total``."""
        if self._bar is None or self._task is None:
            return
        if total is None:
            self._bar.update(self._task, description=description)
        else:
            self._total = total
            self._done = 0
            self._bar.reset(self._task, total=total, description=description,
                            count=self._count(0, total))
        self._bar.refresh()  # a stage may take long: show it now, not at the next tick

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        if self._bar is None or self._task is None:
            return
        self._done += n
        self._bar.update(self._task, completed=self._done, count=self._count(self._done, self._total))

    def log(self, message: str) -> None:
        """Print a line on stderr (above the display when it is drawn)."""
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            click.echo(message, err=True)

    def _count(self, done: int, total: int | None) -> str:
        unit = f" {self._unit}" if self._unit else ""
        return f"{done:,}/{total:,}{unit}" if total is not None else f"{done:,}{unit}"


def stderr_console() -> Console | None:
    """A console on stderr when stderr is a terminal, else None (nothing is drawn)."""
    if not on_terminal():
        return None
    from rich.console import Console

    return Console(stderr=True)
