"""Field-level drift of one resource between two runs, as readable paths with before/after.

DeepDiff does the comparing; this module only prepares its input and reads its output.

Before: both records go through :func:`~scanner.history.canonical.for_diff` (volatile fields
gone, embedded policy JSON parsed), then the two trees are *aligned* so that DeepDiff's
structural comparison means what a reviewer means by drift:

* a list of dicts whose elements carry an identity key (:data:`IDENTITY_KEYS`: ``Sid``,
  tag ``Key``, ``PolicyName``, ...) becomes a mapping keyed by that identity, so reordering
  is no drift and an added statement reads ``Statement[Sid=X]``, not ``Statement[3]``.  The
  key must identify the elements on *both* sides, or the two sides would get different
  shapes; with no such key the list is compared by index;
* a list of scalars (condition values, Action lists, SubnetIds) becomes one opaque leaf
  compared as a multiset (order is no drift), reported once at the list's path with the
  members added and removed.

After: each DeepDiff level becomes a :class:`PathChange` whose path is relative to the
record's ``data`` (``arn`` for the ARN itself) and whose values are plain JSON again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from deepdiff import DeepDiff
from deepdiff.model import DiffLevel
from deepdiff.operator import BaseOperator

from scanner.history.canonical import canonical_bytes, for_diff

# Identity keys of list elements, most specific first (statements, tags, inline and managed
# policies, policy versions, security groups, principals, routes, associations, ...).
IDENTITY_KEYS: Final[tuple[str, ...]] = (
    "Sid",
    "Key",
    "PolicyName",
    "PolicyArn",
    "VersionId",
    "GroupId",
    "GroupName",
    "RoleName",
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
    "RouteTableAssociationId",
    "SubnetId",
    "VpcId",
    "Id",
    "Name",
)

_LIST_CHANGED: Final = "scalar_list_changed"  # our DeepDiff report type for multiset leaves
_AFTER_ONLY: Final = frozenset({"dictionary_item_added", "iterable_item_added"})
_BEFORE_ONLY: Final = frozenset({"dictionary_item_removed", "iterable_item_removed"})
_BOTH: Final = frozenset({"values_changed", "type_changes", _LIST_CHANGED})


@dataclass(frozen=True)
class PathChange:
    """One drifted field: ``before`` is None when it was added, ``after`` when removed.

    ``added``/``removed`` name the members that changed in a list of scalars (for instance
    the endpoint id dropped from an ``aws:sourceVpce`` condition), so a reviewer need not
    compare two long lists by eye.
    """

    path: str
    before: Any
    after: Any
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; empty ``added``/``removed`` are left out to keep reports short."""
        out: dict[str, Any] = {"path": self.path, "before": self.before, "after": self.after}
        if self.added:
            out["added"] = list(self.added)
        if self.removed:
            out["removed"] = list(self.removed)
        return out


@dataclass(frozen=True)
class _Ident:
    """The path step to a list element matched by identity: renders ``[Key=value]``."""

    key: str
    value: str | int

    def render(self) -> str:
        return f"[{self.key}={self.value}]"


class _Keyed(dict[_Ident, Any]):
    """A list of dicts aligned by identity (a distinct type, so it turns back into a list)."""


@dataclass(frozen=True, eq=False)
class _Bag:
    """A list of scalars as one leaf: DeepDiff hands it to :class:`_BagOperator`."""

    items: tuple[Any, ...]


class _Missing:
    """The side of an alignment where a key or list element does not exist."""


_MISSING: Final = _Missing()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _token(value: Any) -> bytes:
    """Equality token for multiset members: ``1``, ``1.0``, ``True`` and ``"1"`` all differ."""
    return canonical_bytes(value)


def _counts(items: Iterable[Any]) -> Counter[bytes]:
    return Counter(_token(v) for v in items)


# ------------------------------------------------------------------ alignment (pre-processing)


def _align(a: Any, b: Any) -> tuple[Any, Any]:
    """Both versions of one node, normalised so that corresponding parts have the same shape."""
    if isinstance(a, dict) and isinstance(b, dict):
        return _align_mappings(a, b, dict)
    if isinstance(a, list) and isinstance(b, list):
        return _align_lists(a, b)
    return _alone(a), _alone(b)


def _alone(value: Any) -> Any:
    """A node with no counterpart: aligned with itself, so list keys qualify on it alone."""
    return _align(value, value)[0] if isinstance(value, dict | list) else value


def _align_mappings(
    a: dict[Any, Any], b: dict[Any, Any], factory: Callable[[], dict[Any, Any]]
) -> tuple[dict[Any, Any], dict[Any, Any]]:
    out_a, out_b = factory(), factory()
    for key in [*a, *(k for k in b if k not in a)]:
        x, y = _align(a.get(key, _MISSING), b.get(key, _MISSING))
        if key in a:
            out_a[key] = x
        if key in b:
            out_b[key] = y
    return out_a, out_b


def _align_lists(a: list[Any], b: list[Any]) -> tuple[Any, Any]:
    both = [*a, *b]
    if all(_is_scalar(v) for v in both):
        return _Bag(tuple(a)), _Bag(tuple(b))
    if all(isinstance(v, dict) for v in both):
        key = next((k for k in IDENTITY_KEYS if _identifies(a, k) and _identifies(b, k)), None)
        if key is not None:
            return _align_mappings(_by_identity(a, key), _by_identity(b, key), _Keyed)
    return _align_by_index(a, b)


def _identifies(items: list[dict[str, Any]], key: str) -> bool:
    """Every element has ``key`` with a distinct string or integer value (vacuous if empty)."""
    values = [item.get(key) for item in items]
    usable = all(isinstance(v, str | int) and not isinstance(v, bool) for v in values)
    return usable and len(set(values)) == len(values)


def _by_identity(items: list[dict[str, Any]], key: str) -> dict[_Ident, Any]:
    return {_Ident(key, item[key]): item for item in items}


def _align_by_index(a: list[Any], b: list[Any]) -> tuple[list[Any], list[Any]]:
    pairs = [
        _align(a[i] if i < len(a) else _MISSING, b[i] if i < len(b) else _MISSING)
        for i in range(max(len(a), len(b)))
    ]
    # Only the longer list's tail is missing on the other side, so indexes stay true.
    return [x for x, _ in pairs if x is not _MISSING], [y for _, y in pairs if y is not _MISSING]


class _BagOperator(BaseOperator):
    """Compares a :class:`_Bag` as a multiset and reports it as one change at its own path.

    Also catches a bag against anything else (a scalar that became a list), so such a change
    is one entry at that path instead of DeepDiff's per-element report.
    """

    def match(self, level: DiffLevel) -> bool:
        return isinstance(level.t1, _Bag) or isinstance(level.t2, _Bag)

    def give_up_diffing(self, level: DiffLevel, diff_instance: DeepDiff) -> bool:
        t1, t2 = level.t1, level.t2
        same = (
            isinstance(t1, _Bag) and isinstance(t2, _Bag) and _counts(t1.items) == _counts(t2.items)
        )
        if not same:
            # DeepDiff's documented hook for operators; it ships unannotated.
            diff_instance.custom_report_result(_LIST_CHANGED, level)  # type: ignore[no-untyped-call]
        return True


# ------------------------------------------------------------------ reading DeepDiff's output


def _plain(value: Any) -> Any:
    """An aligned value as plain JSON again (identity mappings and bags back to lists)."""
    if isinstance(value, _Bag):
        return list(value.items)
    if isinstance(value, _Keyed):
        return [_plain(v) for v in value.values()]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _render(steps: list[Any]) -> str:
    """DeepDiff's path steps as ``A.B[Key=v][0].C``, relative to ``data`` when under it."""
    if len(steps) > 1 and steps[0] == "data":
        steps = steps[1:]
    text = ""
    for step in steps:
        if isinstance(step, _Ident):
            text += step.render()
        elif isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _members(value: Any) -> list[Any] | None:
    """A value as multiset members: a list of scalars, or a non-null scalar as one member."""
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        return value
    if value is not None and _is_scalar(value):
        return [value]
    return None


def _missing_from(left: list[Any], right: list[Any]) -> tuple[Any, ...]:
    """Members of ``left`` not matched by a member of ``right`` (multiset), in ``left``'s order."""
    spare = _counts(right)
    out = []
    for value in left:
        token = _token(value)
        if spare[token]:
            spare[token] -= 1
        else:
            out.append(value)
    return tuple(out)


def _change(report_type: str, level: DiffLevel) -> PathChange:
    if report_type not in _AFTER_ONLY | _BEFORE_ONLY | _BOTH:
        # Alignment leaves DeepDiff only dicts, lists, scalars and bags, so nothing else can
        # be reported; failing beats silently dropping drift.
        raise RuntimeError(f"unexpected DeepDiff report type {report_type!r}")
    before = None if report_type in _AFTER_ONLY else _plain(level.t1)
    after = None if report_type in _BEFORE_ONLY else _plain(level.t2)
    old, new = _members(before), _members(after)
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    if report_type == _LIST_CHANGED and old is not None and new is not None:
        added, removed = _missing_from(new, old), _missing_from(old, new)
    return PathChange(_render(level.path(output_format="list")), before, after, added, removed)


def diff_paths(
    resource_type: str, before: dict[str, Any], after: dict[str, Any]
) -> list[PathChange]:
    """The field-level changes from ``before`` to ``after`` (records ``{"arn", "data"}``).

    Volatile fields never show, formatting-only policy rewrites and reorderings are no
    change; the result is sorted by path, so two runs over the same pair agree.
    """
    old, new = _align(for_diff(resource_type, before), for_diff(resource_type, after))
    diff = DeepDiff(
        old,
        new,
        view="tree",
        custom_operators=[_BagOperator()],
        # Always descend: by default DeepDiff reports a whole dict as replaced when few keys
        # are shared, which would hide which fields changed.
        threshold_to_diff_deeper=0,
        # AWS keys are data, not Python attributes: never skip "__"-prefixed ones.
        ignore_private_variables=False,
    )
    changes = [_change(rtype, level) for rtype, levels in diff.tree.items() for level in levels]
    return sorted(changes, key=lambda c: c.path)
