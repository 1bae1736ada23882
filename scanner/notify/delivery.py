"""What happened to one target's message: the value :func:`scanner.notify.send_all` returns.

A delivery failure is data, not an exception: a dead webhook must not fail the nightly
run, and the daemon records every target's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    """One target's outcome.

    ``ok`` is False only for a failure (``error`` says why, naming no secret); a target
    whose ``when`` said not to send is ``ok`` with ``skipped`` giving the reason.
    ``status`` is the final HTTP status of a webhook (None for email, or when no response
    came back).
    """

    name: str
    kind: str
    ok: bool
    error: str | None = None
    skipped: str | None = None
    status: int | None = None

    @property
    def sent(self) -> bool:
        """The message was accepted by the target."""
        return self.ok and self.skipped is None


class DeliveryError(Exception):
    """A target did not accept the message; the text is safe to log and to return."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
