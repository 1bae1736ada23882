"""Atomic report writes: a crash or kill mid-write never leaves a truncated report behind.

Reports are private (files 0600, the directories made for them 0700, whatever the umask)
and a write that fails (a full disk) names the file and leaves nothing behind: see
:func:`scanner.private.write_atomic`.
"""

from __future__ import annotations

from pathlib import Path

from scanner.private import PRIVATE_FILE, make_private_dir, write_atomic

__all__ = ["make_private_dir", "write_bytes_atomic", "write_text_atomic"]


def write_text_atomic(path: Path, text: str, *, mode: int = PRIVATE_FILE) -> Path:
    """Write ``text`` (UTF-8, newlines as given) atomically: see :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_bytes_atomic(path: Path, body: bytes, *, mode: int = PRIVATE_FILE) -> Path:
    """Write ``body`` to a temp file beside ``path`` and rename it into place, so a reader
    (or a crash) never sees half a report."""
    return write_atomic(path, body, mode=mode)
