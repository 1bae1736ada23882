"""Wildcard matching for IAM actions, resources and ``*Like`` condition values.

IAM globs know two wildcards: ``*`` (any run of characters, possibly empty) and ``?`` (exactly one
character).  Translating them into a regular expression invites catastrophic backtracking on a
hostile pattern such as ``a*a*a*a*…b``, and a scanner that reads other people's policies must not be
stalled by one.  So a pattern is compiled once into literal *segments* separated by stars and
matched greedily: the first segment is anchored at the start, the last at the end, and each middle
segment is placed at its leftmost occurrence.  Leftmost placement is always safe (it leaves the most
text for the rest), so there is no backtracking; segments without ``?`` are located with
``str.find``, which CPython implements in linear time.

A pattern is kept as tokens rather than a string so that a policy variable such as ``${*}``
can contribute a *literal* star that is not a wildcard (see :mod:`scanner.iam.variables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

ANY_ONE = object()
"""Token standing for ``?`` inside a segment."""

Segment = tuple[str | object, ...]


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled wildcard pattern: literal segments separated by ``*`` tokens.

    ``segments`` has one more element than there are stars; ``has_star`` tells an exact
    pattern (one segment, no star) from one with wildcards.
    """

    segments: tuple[Segment, ...]
    ignore_case: bool = False
    lengths: tuple[int, ...] = ()  # characters each segment consumes (filled by from_tokens)

    @property
    def has_star(self) -> bool:
        return len(self.segments) > 1

    @property
    def is_literal(self) -> bool:
        """True when the pattern contains neither ``*`` nor ``?``."""
        return not self.has_star and all(isinstance(p, str) for p in self.segments[0])

    def matches(self, text: str) -> bool:
        """True when ``text`` matches the whole pattern."""
        if self.ignore_case:
            text = text.lower()
        return _match_segments(self.segments, self.lengths, text)


STAR = object()
"""Token standing for ``*`` in a token stream passed to :func:`from_tokens`."""


def from_tokens(tokens: list[str | object], ignore_case: bool = False) -> Glob:
    """Build a glob from literal strings, :data:`STAR` and :data:`ANY_ONE` tokens."""
    segments: list[Segment] = []
    current: list[str | object] = []
    for tok in tokens:
        if tok is STAR:
            segments.append(_merge(current))
            current = []
        elif tok is ANY_ONE:
            current.append(ANY_ONE)
        else:
            assert isinstance(tok, str)
            current.append(tok.lower() if ignore_case else tok)
    segments.append(_merge(current))
    return Glob(tuple(segments), ignore_case, tuple(_seg_len(seg) for seg in segments))


def _merge(parts: list[str | object]) -> Segment:
    """Join adjacent literal strings so each segment alternates text and ``?``."""
    out: list[str | object] = []
    for p in parts:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + p
        elif not (isinstance(p, str) and p == ""):
            out.append(p)
    return tuple(out)


def tokenize(pattern: str) -> list[str | object]:
    """Split a pattern string into literal text, :data:`STAR` and :data:`ANY_ONE`."""
    tokens: list[str | object] = []
    buf: list[str] = []
    for ch in pattern:
        if ch == "*" or ch == "?":
            if buf:
                tokens.append("".join(buf))
                buf = []
            tokens.append(STAR if ch == "*" else ANY_ONE)
        else:
            buf.append(ch)
    if buf:
        tokens.append("".join(buf))
    return tokens


@lru_cache(maxsize=65536)
def compile_glob(pattern: str, ignore_case: bool = False) -> Glob:
    """Compile (and cache) a pattern string where ``*`` and ``?`` are wildcards."""
    return from_tokens(tokenize(pattern), ignore_case)


def glob_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Convenience: does ``text`` match ``pattern``?"""
    return compile_glob(pattern, ignore_case).matches(text)


def _seg_len(seg: Segment) -> int:
    return sum(len(p) if isinstance(p, str) else 1 for p in seg)


def _seg_at(seg: Segment, text: str, pos: int) -> bool:
    """Does ``seg`` match ``text`` starting exactly at ``pos``?"""
    for part in seg:
        if isinstance(part, str):
            if not text.startswith(part, pos):
                return False
            pos += len(part)
        else:
            if pos >= len(text):
                return False
            pos += 1
    return True


def _seg_find(seg: Segment, text: str, start: int, end: int) -> int:
    """Leftmost position >= start where ``seg`` matches wholly inside ``text[:end]``; -1 if none."""
    n = _seg_len(seg)
    if len(seg) == 1 and isinstance(seg[0], str):
        return text.find(seg[0], start, end)
    # Anchor on the longest literal piece to skip quickly, then verify around it.
    offset = 0
    anchor = ""
    anchor_off = 0
    for part in seg:
        if isinstance(part, str) and len(part) > len(anchor):
            anchor, anchor_off = part, offset
        offset += len(part) if isinstance(part, str) else 1
    pos = start
    while pos + n <= end:
        if anchor:
            hit = text.find(anchor, pos + anchor_off, end - (n - anchor_off - len(anchor)))
            if hit < 0:
                return -1
            pos = hit - anchor_off
        if _seg_at(seg, text, pos):
            return pos
        pos += 1
    return -1


def _match_segments(segments: tuple[Segment, ...], lengths: tuple[int, ...], text: str) -> bool:
    first = segments[0]
    if len(segments) == 1:
        return lengths[0] == len(text) and _seg_at(first, text, 0)
    last = segments[-1]
    head, tail = lengths[0], lengths[-1]
    if head + tail > len(text):
        return False
    if not _seg_at(first, text, 0) or not _seg_at(last, text, len(text) - tail):
        return False
    pos, end = head, len(text) - tail
    for seg, size in zip(segments[1:-1], lengths[1:-1], strict=True):
        if not seg:
            continue
        found = _seg_find(seg, text, pos, end)
        if found < 0:
            return False
        pos = found + size
    return True
