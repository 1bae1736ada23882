"""The snapshot: one versioned, self-describing document of everything collected.

Collection writes a snapshot; everything after it (enrichment, rules, IAM analysis,
reports) reads only the snapshot.  That is what lets ``scanner scan --snapshot FILE``
re-evaluate a stored estate offline, and what drift detection will compare.

Layout (JSON, stored gzip-compressed)::

    {
      "schema_version": 1,
      "tool_version": "0.1.0",
      "started_at": "...Z", "finished_at": "...Z",
      "partition": "aws",
      "accounts": ["111122223333"],
      "regions": ["us-west-2"],
      "account_regions": {"111122223333": ["us-west-2"]},   (when accounts differ)
      "collectors": [CollectorOutcome, ...],
      "resources": {account: {region: {type: {id: {"arn": str|null, "data": {...}}}}}}
    }

Global services (IAM, Route 53 hosted zones, Organizations) use the region ``"global"``.
``data`` keeps AWS's own field names (``DirectInternetAccess``, ``PrivateDnsEnabled``) so a
rule reads like the API reference; collectors add nothing under other names except where
a second call supplies a field (``EnableDnsSupport`` from ``DescribeVpcAttribute``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.errors import InputError, decode_json

SCHEMA_VERSION = 1
GLOBAL_REGION = "global"
MISSING_KEY = "Missing"
"""A looked-up resource's ``data`` key saying the value that named it names nothing
(``{"Missing": {"Code", "Message"}}``): AWS answered NotFound for it, a fact, not a failure."""


class OutcomeStatus(StrEnum):
    """How one collector fared in one (account, region) scope.

    - ``ok``: every page was read.
    - ``error``: collection failed (AccessDenied, throttled past retries, endpoint down,
      malformed answer).  Every rule that depends on these resource types reports ERROR for
      the scope and the scan exits 3.
    - ``not_collected``: the data is legitimately unavailable to these credentials and the
      product defines what that means (Organizations SCPs from a member account).
    - ``disabled``: the user turned this collector off in config; rules say so in evidence.
    """

    OK = "ok"
    ERROR = "error"
    NOT_COLLECTED = "not_collected"
    DISABLED = "disabled"


@dataclass
class CollectorOutcome:
    """Result of one collector in one scope, kept in the snapshot as evidence."""

    collector: str
    account_id: str
    region: str
    resource_types: list[str]
    status: OutcomeStatus
    resource_count: int = 0
    error_code: str | None = None
    error_message: str | None = None
    operation: str | None = None
    duration_s: float = 0.0
    source_account: str | None = None
    """Set when the data was read once in another account for this one: a member's
    Organizations data, read in the management account of an organization scan."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = str(self.status)
        if self.source_account is None:  # as every snapshot before organization scans
            del out["source_account"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectorOutcome:
        data = dict(data)
        data["status"] = OutcomeStatus(data["status"])
        return cls(**data)


# resources -> account -> region -> type -> id -> record
_RESOURCE_DEPTH = 4


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} is not a list of strings")
    return value


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("account_regions is not an object")
    return value


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
# In a JSON text: a surrogate escape, or a surrogate encoded as UTF-8 (which json.loads of
# bytes accepts): the cheap test of whether a snapshot read needs :func:`whole_text` at all.
_MAY_HOLD_SURROGATES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def whole_text(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD (dict keys too).

    JSON's ``"\\ud800"`` decodes to a lone surrogate: AWS's JSON APIs can return one in a
    name or tag (moto's SageMaker does), and a snapshot file can hold one.  No UTF-8
    writer can encode it, so the history store, the CSV, HTML and XLSX reports and the
    ticket bodies would each fail on it mid-run.  It is replaced once, where data enters
    the snapshot, as a UTF-8 decoder replaces bytes it cannot decode.  A JSON document kept
    as text (an endpoint's ``PolicyDocument``) is decoded later, by enrichment, so its lone
    surrogate *escapes* become ``\\ufffd`` escapes here."""
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            value = _LONE_SURROGATE.sub("\ufffd", value)
        if "\\u" in value:
            value = _LONE_ESCAPE.sub(r"\\ufffd", value)
        return value
    if isinstance(value, dict):
        return {whole_text(k): whole_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_text(v) for v in value]
    return value


def _resource_tree(node: Any, where: str, depth: int) -> Any:
    """``node`` checked down to each record, so a hand-edited or truncated snapshot is an
    InputError when it is read, not a KeyError inside enrichment or a rule later."""
    if not isinstance(node, dict):
        raise ValueError(f"{where} is not an object")
    if depth == 0:
        if not isinstance(node.get("data"), dict) or not isinstance(node.get("arn"), str | None):
            raise ValueError(f"{where} needs data (an object) and arn (a string or null)")
        return node
    for key, child in node.items():
        _resource_tree(child, f"{where}.{key}", depth - 1)
    return node


def utc_now() -> str:
    """ISO-8601 UTC timestamp with a ``Z`` suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Resource:
    """One normalized resource as handed to enrichment and rules."""

    account_id: str
    region: str
    type: str
    id: str
    arn: str | None
    data: dict[str, Any]


@dataclass
class Snapshot:
    """In-memory form of the snapshot document (see module docstring)."""

    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    partition: str = "aws"
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    tool_version: str = __version__
    schema_version: int = SCHEMA_VERSION
    collectors: list[CollectorOutcome] = field(default_factory=list)
    resources: dict[str, dict[str, dict[str, dict[str, dict[str, Any]]]]] = field(
        default_factory=dict
    )
    account_regions: dict[str, list[str]] = field(default_factory=dict)
    """The regions scanned in each account, where an organization scan's accounts differ
    (per-account ``regions``, or each account's own enabled regions); an account not
    listed was scanned in :attr:`regions`."""

    _by_account: dict[str, list[CollectorOutcome]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _indexed: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    def outcomes_of(self, account_id: str) -> list[CollectorOutcome]:
        """Every outcome of one account.  Indexed: an organization's snapshot holds tens of
        thousands of outcomes and every rule asks per scope, so a scan of the whole list per
        question would make evaluation grow with accounts squared.  The index is rebuilt
        whenever outcomes were added (or the list replaced)."""
        key = (id(self.collectors), len(self.collectors))
        if self._indexed != key:
            self._by_account = {}
            for o in self.collectors:
                self._by_account.setdefault(o.account_id, []).append(o)
            self._indexed = key
        return self._by_account.get(account_id, [])

    def regions_of(self, account_id: str) -> list[str]:
        """The regions scanned in one account."""
        return self.account_regions.get(account_id, self.regions)

    # -- building ---------------------------------------------------------------------
    def add(
        self,
        account_id: str,
        region: str,
        rtype: str,
        rid: str,
        data: dict[str, Any],
        arn: str | None = None,
    ) -> None:
        """Store one resource, replacing any earlier record with the same key (text made
        whole: :func:`whole_text`)."""
        rid, arn, data = whole_text(rid), whole_text(arn), whole_text(data)
        bucket = self.resources.setdefault(account_id, {}).setdefault(region, {})
        bucket.setdefault(rtype, {})[rid] = {"arn": arn, "data": data}

    def record(self, outcome: CollectorOutcome) -> None:
        """Keep a collector's outcome."""
        self.collectors.append(outcome)

    # -- reading ----------------------------------------------------------------------
    def iter_resources(
        self,
        rtype: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> Iterator[Resource]:
        """All resources, optionally filtered, in a deterministic order."""
        for acct in sorted(self.resources):
            if account_id is not None and acct != account_id:
                continue
            for reg in sorted(self.resources[acct]):
                if region is not None and reg != region:
                    continue
                for typ in sorted(self.resources[acct][reg]):
                    if rtype is not None and typ != rtype:
                        continue
                    for rid, rec in sorted(self.resources[acct][reg][typ].items()):
                        yield Resource(acct, reg, typ, rid, rec.get("arn"), rec["data"])

    def get(self, account_id: str, region: str, rtype: str, rid: str) -> Resource | None:
        """One resource by key, or None."""
        rec = self.resources.get(account_id, {}).get(region, {}).get(rtype, {}).get(rid)
        if rec is None:
            return None
        return Resource(account_id, region, rtype, rid, rec.get("arn"), rec["data"])

    def outcomes_for(self, rtype: str, account_id: str, region: str) -> list[CollectorOutcome]:
        """Outcomes of the collectors that produce ``rtype`` in this scope.

        A global type (region ``"global"``) answers for every region of the account.
        """
        return [
            o
            for o in self.outcomes_of(account_id)
            if rtype in o.resource_types and o.region in (region, GLOBAL_REGION)
        ]

    def failed_outcomes(self) -> list[CollectorOutcome]:
        """Collectors that failed: their presence makes a scan incomplete (exit 3)."""
        return [o for o in self.collectors if o.status is OutcomeStatus.ERROR]

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "partition": self.partition,
            "accounts": self.accounts,
            "regions": self.regions,
            **({"account_regions": self.account_regions} if self.account_regions else {}),
            "collectors": [o.to_dict() for o in self.collectors],
            "resources": self.resources,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<snapshot>") -> Snapshot:
        """Build from a document, refusing a schema version this build does not understand."""
        if not isinstance(data, dict):
            raise InputError("a snapshot must be a JSON object", path=source)
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InputError(
                f"snapshot schema_version {version!r} is not supported by this scanner "
                f"(it reads version {SCHEMA_VERSION}); re-collect or upgrade the scanner",
                path=source,
            )
        try:
            return cls(
                accounts=_strings(data["accounts"], "accounts"),
                regions=_strings(data["regions"], "regions"),
                account_regions={
                    str(k): _strings(v, f"account_regions.{k}")
                    for k, v in _mapping(data.get("account_regions", {})).items()
                },
                partition=data.get("partition", "aws"),
                started_at=data["started_at"],
                finished_at=data.get("finished_at"),
                tool_version=data.get("tool_version", "unknown"),
                schema_version=version,
                collectors=[CollectorOutcome.from_dict(o) for o in data["collectors"]],
                resources=_resource_tree(data["resources"], "resources", _RESOURCE_DEPTH),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"snapshot is malformed: {exc!r}", path=source) from None

    def save(self, path: str | Path) -> Path:
        """Write gzip JSON atomically (temp file + rename): a kill never leaves half a file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as gz:
                gz.write(json.dumps(self.to_dict(), sort_keys=True, default=str).encode())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        """Read a snapshot written by :meth:`save` (plain JSON is accepted too)."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read snapshot: {exc.strerror}", path=str(p)) from None
        try:
            text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"snapshot is not valid gzip: {exc}", path=str(p)) from None
        try:
            doc = decode_json(text, "snapshot", str(p))
            if _MAY_HOLD_SURROGATES.search(text):
                doc = whole_text(doc)
            return cls.from_dict(doc, source=str(p))
        except UnicodeDecodeError as exc:
            problem = f"snapshot is not UTF-8 JSON: {exc.reason} at byte {exc.start}"
            raise InputError(problem, path=str(p)) from None
        except RecursionError:
            raise InputError("snapshot is nested too deeply to be one", path=str(p)) from None
