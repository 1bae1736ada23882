"""Finite candidate values for condition keys: the core of the existential path search.

The question "is there *any* request context, outside the approved endpoints, that is
allowed?" ranges over infinitely many contexts.  It becomes finite because every operator
only compares a request value with the policy's own values: two request values that relate
identically to every policy value are indistinguishable.  So per key it suffices to try the
policy's own values (for patterns: a string matching the pattern), the points just around
them (for numbers, dates and CIDR ranges), one fresh value unlike any of them, and absence.
That decides string, ARN and IP operators exactly, and numeric and date operators too, since
midpoints between neighbouring policy values are included.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from scanner.iam.conditions import Condition, parse_date, parse_network, parse_number

FRESH = "zz-fresh-value"
FRESH_IPS = ("192.0.2.77", "2001:db8:ffff::77")
IP_OPERATORS = frozenset({"IpAddress", "NotIpAddress"})
Candidate = tuple[str, ...] | None
"""One candidate for a key: its values, or None for "absent from the request"."""

_STRINGISH = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "BinaryEquals",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
}


def witness(pattern: str) -> str:
    """A string matching an IAM glob (``*`` -> nothing, ``?`` -> ``0``)."""
    return pattern.replace("*", "").replace("?", "0")


_PATTERN_OPERATORS = frozenset({"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"})
MAX_JOINT_STATES = 2048
_STAR, _ONE = -1, -2


def _pattern_tokens(pattern: str) -> tuple[int | str, ...]:
    return tuple(_STAR if c == "*" else _ONE if c == "?" else c for c in pattern)


def _closure(tokens: tuple[int | str, ...], positions: Iterable[int]) -> frozenset[int]:
    """NFA positions reachable without consuming a character (a star may match nothing)."""
    out = set(positions)
    todo = list(out)
    while todo:
        pos = todo.pop()
        if pos < len(tokens) and tokens[pos] == _STAR and pos + 1 not in out:
            out.add(pos + 1)
            todo.append(pos + 1)
    return frozenset(out)


def _step(tokens: tuple[int | str, ...], state: frozenset[int], ch: str) -> frozenset[int]:
    nxt: set[int] = set()
    for pos in state:
        if pos < len(tokens):
            tok = tokens[pos]
            if tok == _STAR:
                nxt.add(pos)
            elif tok in (_ONE, ch):
                nxt.add(pos + 1)
    return _closure(tokens, nxt)


@lru_cache(maxsize=4096)
def joint_witnesses(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """One string for every combination of the patterns that some string matches exactly.

    Each pattern's own witness decides it alone; two patterns on one key can need a string
    matching both (``vpce-a*`` allowed, ``*b`` not denied: ``vpce-ab``) or one but not the
    other.  A breadth-first search over the product of the patterns' automata finds a
    shortest string for every reachable set of matched patterns, over the patterns' own
    characters plus one character none of them uses; it is exact, and bounded by
    :data:`MAX_JOINT_STATES` (beyond which the strings found so far are returned).
    """
    toks = [_pattern_tokens(p) for p in patterns]
    used = {c for t in toks for c in t if isinstance(c, str)}
    alphabet = [*sorted(used), next(c for c in map(chr, range(48, 0x3000)) if c not in used)]
    start = tuple(_closure(t, (0,)) for t in toks)
    seen = {start: ""}
    queue = deque([start])
    found: dict[tuple[bool, ...], str] = {}
    while queue:
        state = queue.popleft()
        text = seen[state]
        found.setdefault(tuple(len(t) in st for t, st in zip(toks, state, strict=True)), text)
        for ch in alphabet:
            nxt = tuple(_step(t, st, ch) for t, st in zip(toks, state, strict=True))
            if nxt not in seen and len(seen) < MAX_JOINT_STATES:
                seen[nxt] = text + ch
                queue.append(nxt)
    return tuple(dict.fromkeys(found.values()))


def _numbers(values: Iterable[float]) -> list[float]:
    points = sorted(set(values))
    out = {p + d for p in points for d in (-1.0, 0.0, 1.0)}
    out.update((a + b) / 2 for a, b in itertools.pairwise(points))
    return sorted(out)


def _num_text(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def _ip_points(cidr: str) -> list[str]:
    net = parse_network(cidr)
    if net is None:
        return []
    first, last = int(net.network_address), int(net.broadcast_address)
    top = (1 << net.max_prefixlen) - 1
    make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    return [str(make(p)) for p in (first - 1, first, last, last + 1) if 0 <= p <= top]


def _finite(num: float | None) -> float | None:
    """``inf`` and ``nan`` compare with nothing usefully and break formatting: no candidate."""
    return num if num is not None and math.isfinite(num) else None


def _date_text(epoch: float) -> str:
    """ISO 8601 where ``datetime`` can represent the instant (``9999-12-31T23:59:59Z`` plus a
    second cannot be), else epoch seconds, which date operators accept too."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return _num_text(epoch)


def scalar_candidates(conditions: Iterable[Condition], resolve: dict[str, str]) -> list[str]:
    """Candidate single values for one key, given every condition that tests it.

    ``resolve`` maps a policy value containing variables to its text where the variables are
    fixed (by the principal), so the search tries the value the policy really compares with.
    """
    ip_key = any(c.operator in IP_OPERATORS for c in conditions)
    # A key tested as an address always carries one (aws:SourceIp): a non-address fresh value
    # would satisfy every NotIpAddress and no IpAddress, a request AWS never sees.
    out: list[str] = list(FRESH_IPS) if ip_key else [FRESH]
    numbers: list[float] = []
    dates: list[float] = []
    for cond in conditions:
        for value in cond.values:
            raw = resolve.get(value.raw, value.raw)
            if cond.operator in _STRINGISH:
                out.append(raw)
                out.append(witness(raw))
            elif cond.operator.startswith("Numeric"):
                num = _finite(parse_number(raw))
                if num is not None:
                    numbers.append(num)
            elif cond.operator.startswith("Date"):
                when = _finite(parse_date(raw))
                if when is not None:
                    dates.append(when)
            elif cond.operator == "Bool":
                out += ["true", "false"]
            elif cond.operator in IP_OPERATORS:
                out += _ip_points(raw)
    out += _joint(conditions, resolve)
    if numbers or any(c.operator.startswith("Numeric") for c in conditions):
        out += [_num_text(x) for x in _numbers(numbers or [0.0])]
    if dates or any(c.operator.startswith("Date") for c in conditions):
        out += [_date_text(x) for x in _numbers(dates or [0.0]) if x >= 0]
    return list(dict.fromkeys(out))


def _joint(
    conditions: Iterable[Condition], resolve: dict[str, str], lower: bool = False
) -> list[str]:
    """Joint witnesses when one key meets several case-sensitive patterns, at least one with a
    wildcard (with one pattern, or only literals, the values and witnesses are exact)."""
    texts = [
        resolve.get(v.raw, v.raw)
        for c in conditions
        if c.operator in _PATTERN_OPERATORS
        for v in c.values
    ]
    patterns = tuple(sorted({t.lower() if lower else t for t in texts if "${" not in t}))
    if len(patterns) < 2 or not any("*" in p or "?" in p for p in patterns):
        return []
    return list(joint_witnesses(patterns))


def key_candidates(conditions: list[Condition], resolve: dict[str, str]) -> list[Candidate]:
    """Candidates for one key: absent first, then single values; multi-valued keys (tested
    with ``ForAllValues:``/``ForAnyValue:``) also get the empty set and all values at once."""
    singles = scalar_candidates(conditions, resolve)
    out: list[Candidate] = [None]
    out += [(v,) for v in singles]
    if any(c.qualifier for c in conditions):
        out.append(())
        out.append(tuple(singles))
    return out


def network_candidates(
    conditions: list[Condition], prefix: str, approved: frozenset[str], resolve: dict[str, str]
) -> list[str]:
    """Values of ``aws:SourceVpce`` / ``aws:SourceVpc`` a request *outside* the approved set can
    carry: a foreign id, plus any policy value (or pattern witness) that is not approved.
    Ids are lower-case as AWS issues them.  ``resolve`` is as for :func:`scalar_candidates`."""
    fresh = f"{prefix}0f0e0d0c0b0a09080"
    out = [fresh]
    for cond in conditions:
        for value in cond.values:
            raw = resolve.get(value.raw, value.raw).lower()
            for text in (raw, witness(raw)):
                if text and "${" not in text:
                    out.append(text)
    out += _joint(conditions, resolve, lower=True)
    return [v for v in dict.fromkeys(out) if v not in approved]
