"""Where each value of a JSON document starts, so semantic errors can name a line and column.

``json.loads`` reports syntax errors with a position but forgets positions once parsing
succeeds.  A policy that parses but says ``"Effect": "Alow"`` deserves the same precision,
so after a successful parse we walk the (known-valid) text once and record the start of every
value and every object key by its path, e.g. ``("Statement", 0, "Effect")``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import suppress

scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

Path = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


class Positions:
    """Offsets of values and keys in a JSON text, convertible to (line, column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.values: dict[Path, int] = {}
        self.keys: dict[Path, int] = {}
        # Best effort: a position we could not record is reported without one.
        with suppress(ValueError, IndexError, AttributeError, RecursionError):
            self._value(self._skip(0), ())

    def line_col(self, path: Path, key: bool = False) -> tuple[int | None, int | None]:
        """1-based line and column of the value (or key) at ``path``, nearest ancestor if unknown."""
        table = self.keys if key else self.values
        probe = path
        while probe not in table and probe:
            probe = probe[:-1]
            table = self.values
        offset = table.get(probe)
        if offset is None:
            return None, None
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, col

    def _skip(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()  # type: ignore[union-attr]

    def _value(self, pos: int, path: Path) -> int:
        self.values[path] = pos
        ch = self.text[pos]
        if ch == "{":
            pos = self._skip(pos + 1)
            if self.text[pos] == "}":
                return pos + 1
            while True:
                key_start = pos
                key, pos = scanstring(self.text, pos + 1)
                self.keys[(*path, key)] = key_start
                pos = self._skip(pos)
                pos = self._skip(pos + 1)  # the colon
                pos = self._skip(self._value(pos, (*path, key)))
                if self.text[pos] == "}":
                    return pos + 1
                pos = self._skip(pos + 1)  # the comma
        if ch == "[":
            pos = self._skip(pos + 1)
            if self.text[pos] == "]":
                return pos + 1
            index = 0
            while True:
                pos = self._skip(self._value(pos, (*path, index)))
                index += 1
                if self.text[pos] == "]":
                    return pos + 1
                pos = self._skip(pos + 1)
        if ch == '"':
            return scanstring(self.text, pos + 1)[1]
        match = _SCALAR.match(self.text, pos)
        if match is None:
            raise ValueError(f"unexpected character at {pos}")
        return match.end()
