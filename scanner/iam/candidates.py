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
from collections.abc import Iterable
from datetime import UTC, datetime

from scanner.iam.conditions import Condition

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


def _numbers(values: Iterable[float]) -> list[float]:
    points = sorted(set(values))
    out = {p + d for p in points for d in (-1.0, 0.0, 1.0)}
    out.update((a + b) / 2 for a, b in itertools.pairwise(points))
    return sorted(out)


def _num_text(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def _ip_points(cidr: str) -> list[str]:
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return []
    first, last = int(net.network_address), int(net.broadcast_address)
    top = (1 << net.max_prefixlen) - 1
    make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    return [str(make(p)) for p in (first - 1, first, last, last + 1) if 0 <= p <= top]


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _as_epoch(text: str) -> float | None:
    num = _as_float(text)
    if num is not None:
        return num
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


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
                num = _as_float(raw)
                if num is not None:
                    numbers.append(num)
            elif cond.operator.startswith("Date"):
                when = _as_epoch(raw)
                if when is not None:
                    dates.append(when)
            elif cond.operator == "Bool":
                out += ["true", "false"]
            elif cond.operator in IP_OPERATORS:
                out += _ip_points(raw)
    if numbers or any(c.operator.startswith("Numeric") for c in conditions):
        out += [_num_text(x) for x in _numbers(numbers or [0.0])]
    if dates or any(c.operator.startswith("Date") for c in conditions):
        out += [
            datetime.fromtimestamp(x, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for x in _numbers(dates or [0.0])
            if x >= 0
        ]
    return list(dict.fromkeys(out))


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
    return [v for v in dict.fromkeys(out) if v not in approved]
