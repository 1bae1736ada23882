"""Cooperative cancellation: how SIGTERM stops a scan that runs in another thread.

A signal is delivered to the main thread only.  ``scanner scan`` runs its scan there, so a
``KeyboardInterrupt`` unwinds it; but its collector worker threads, and the whole scan of
the scheduler daemon (which runs in APScheduler's worker thread), never see that exception.
They stop through this flag instead: the signal handler calls :func:`request`, and the scan
calls :func:`check` where stopping is safe:

- before every HTTP request botocore sends (a ``before-send`` hook installed with the
  read-only guard, so retries are covered too): once asked to stop, *no new AWS call
  leaves the process*;
- between the phases of a run (collected, evaluated, stored, reported), so a stop never
  leaves half a phase behind.

:class:`Interrupted` derives from ``KeyboardInterrupt``, not ``Exception``: the collectors'
``except Exception`` (which records AWS errors as collector outcomes) must not swallow it,
and everything that already handles Ctrl-C (the run recorded ``interrupted``, exit 130)
handles it unchanged.
"""

from __future__ import annotations

import threading

_stop = threading.Event()
_reason = ""


class Interrupted(KeyboardInterrupt):
    """The scan was asked to stop; raised at the next safe point."""


def request(reason: str) -> None:
    """Ask the running scan (any thread) to stop at its next safe point."""
    global _reason
    _reason = reason
    _stop.set()


def requested() -> bool:
    """True once a stop has been asked for (until :func:`reset`)."""
    return _stop.is_set()


def check() -> None:
    """Raise :class:`Interrupted` if a stop has been asked for."""
    if _stop.is_set():
        raise Interrupted(_reason or "stop requested")


def wait(seconds: float | None = None) -> bool:
    """Sleep up to ``seconds`` (None: until asked), waking early on a stop request; True
    if one came."""
    return _stop.wait(seconds)


def reset() -> None:
    """Forget a stop request (a new process state: tests, and the daemon's next life)."""
    global _reason
    _reason = ""
    _stop.clear()
