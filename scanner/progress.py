"""Progress reporting seam: collectors report units of work, the CLI decides how to show them.

Collectors must not know whether they run under a terminal (rich progress bar), in the
nightly job (JSON log lines) or in a test (nothing).  They receive a :class:`Progress`.
"""

from __future__ import annotations

from typing import Protocol


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
