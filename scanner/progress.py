"""Progress reporting seam: collectors report units of work, the CLI decides how to show them.

Collectors must not know whether they run under a terminal (rich progress bar), in the
nightly job (JSON log lines) or in a test (nothing).  They receive a :class:`Progress`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from scanner.inert import one_line

if TYPE_CHECKING:
    from rich.progress import TaskID


class Progress(Protocol):
    """Receives coarse progress events from long-running stages."""

    def start(self, stage: str, total: int) -> None:
        """A stage with ``total`` units of work begins."""

    def advance(self, stage: str, label: str) -> None:
        """One unit of ``stage`` finished; ``label`` says which."""

    def finish(self, stage: str) -> None:
        """The stage is done."""


class NullProgress:
    """Progress sink that shows nothing (tests, library use)."""

    def start(self, stage: str, total: int) -> None:
        return None

    def advance(self, stage: str, label: str) -> None:
        return None

    def finish(self, stage: str) -> None:
        return None


class LogProgress:
    """Progress as log lines: for non-TTY output and the JSON logs of the nightly job."""

    def __init__(self) -> None:
        self._log = logging.getLogger("scanner.progress")
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}

    def start(self, stage: str, total: int) -> None:
        self._totals[stage] = total
        self._done[stage] = 0
        self._log.info("%s: %d units", stage, total, extra={"stage": stage, "total": total})

    def advance(self, stage: str, label: str) -> None:
        self._done[stage] = self._done.get(stage, 0) + 1
        self._log.debug(
            "%s: %s (%d/%d)",
            stage,
            label,
            self._done[stage],
            self._totals.get(stage, 0),
            extra={"stage": stage, "unit": label},
        )

    def finish(self, stage: str) -> None:
        self._log.info("%s: done", stage, extra={"stage": stage})


class RichProgress:
    """A rich progress bar per stage, for interactive terminals."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
        )
        self._tasks: dict[str, TaskID] = {}

    def start(self, stage: str, total: int) -> None:
        if not self._tasks:
            self._bar.start()
        self._tasks[stage] = self._bar.add_task(stage, total=total)

    def advance(self, stage: str, label: str) -> None:
        from rich.markup import escape

        task = self._tasks.get(stage)
        if task is not None:
            # The label names AWS scopes; rich reads a description as markup.
            text = escape(one_line(f"{stage}: {label}"))
            self._bar.update(task, advance=1, description=text)

    def finish(self, stage: str) -> None:
        task = self._tasks.pop(stage, None)
        if task is not None:
            self._bar.remove_task(task)
        if not self._tasks:
            self._bar.stop()
