"""Files the scanner creates, created private whatever the umask, and written atomically.

History, reports and snapshots name every resource and its weaknesses: files are 0600 and
the directories made for them 0700, set explicitly (``umask 000`` in an operator's shell
would otherwise leave them world-readable or worse).  A file another user's process must
read (the metrics textfile node_exporter reads) asks for its mode.

One module below every writer (store, reports, metrics), so each uses the same code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dir(path: Path) -> Path:
    """``path`` and any missing parents, each created 0700 whatever the umask (an existing
    directory keeps its mode: the operator chose it)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another writer
            continue
        os.chmod(directory, PRIVATE_DIR)
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty, mode 0600, unless it exists (then it is left as it is)."""
    if path.exists():
        return
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def write_atomic(path: Path, body: bytes, *, mode: int = PRIVATE_FILE) -> Path:
    """Write ``body`` to a temp file beside ``path`` (``.NAME.*.tmp``: node_exporter and
    report globs skip it), flush it to disk and rename it into place, so a reader, a kill
    or a power cut never sees half a file.

    A failed write (a full disk) leaves no temp file and raises :class:`OSError` naming
    ``path`` (``write(2)`` itself names no file).
    """
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
