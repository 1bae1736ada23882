"""The vocabulary of declarative collector specs (the data; the engine lives in engine.py).

A collector is described, not programmed: which call lists the items, where the items are
in each page, how to name them (id, ARN), which per-item detail calls complete them, whether
their tags are read in bulk, and whether the service is global.  One generic engine then
paginates, retries and records the outcome for every collector the same way, and the test
for the IAM policy can read every operation the scanner may call straight from these specs.

This module defines types only; the explicit registry is :mod:`scanner.collectors.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.aws.errors import ErrorKind

Item = dict[str, Any]


@dataclass(frozen=True)
class Scope:
    """Where a collector runs: one account, one region (``global`` for global services).

    ``api_region`` is the region the client talks to (a global service is called in its
    partition's home region); ``regions`` are all regions in the scan, which the Route 53
    collector needs to know which SageMaker hostnames matter.
    """

    account_id: str
    region: str
    api_region: str
    partition: str
    regions: tuple[str, ...]
    org_wide: bool = False
    """Organizations only: list every account of the organization with its OU path (an
    organization scan reads this once, in the management or delegated-admin account), not
    only the scanned account's own path."""


@dataclass(frozen=True)
class Detail:
    """One per-item call that completes an item.

    - ``params`` maps request parameter -> jmespath over the item; ``constants`` are fixed.
    - ``result`` is a jmespath over the response (``None``: the whole response).
    - ``key`` stores the result under that field; ``None`` *replaces* the item with the
      result (``DescribeNotebookInstance`` output is the resource).
    - ``paginate`` collects ``result`` from every page into one list.
    - ``when`` limits the call to items it returns True for.
    """

    operation: str
    params: Mapping[str, str]
    result: str | None = None
    key: str | None = None
    constants: Mapping[str, Any] = field(default_factory=dict)
    paginate: bool = False
    when: Callable[[Item, Scope], bool] | None = None


# The Resource Groups Tagging API: one paginated call answers the tags of every resource of
# a type in a region (botocore's service name; its IAM action prefix is ``tag``).
TAGGING_SERVICE = "resourcegroupstaggingapi"
TAGGING_OPERATION = "GetResources"
TAGGING_PAGE_SIZE = 100
"""``ResourcesPerPage`` for GetResources: AWS's maximum."""


@dataclass(frozen=True)
class BulkTags:
    """Read the tags of every item of an :class:`Output` with one paginated
    ``resourcegroupstaggingapi:GetResources`` (``ResourceTypeFilters=[resource_type]``) in
    the scope's region, instead of one call per item.

    - ``resource_type`` is the ``service:resource-type`` of the items' ARNs
      (``sagemaker:notebook-instance``).
    - ``arn`` is a jmespath over the item once its details ran (the describe output for a
      Studio member); the item's tags are the ones GetResources lists for that ARN.
    - ``key`` is where the tags are stored: a list of ``{Key, Value}``, the shape
      ``ListTags`` gives.  AWS: GetResources "returns all the tagged or previously tagged
      resources" and "does not return untagged resources", so an item absent from a
      complete answer has no tags (``[]``).
    - ``fallback`` is the per-item detail that reads the same tags (``sagemaker:ListTags``),
      used for this output in this scope only when GetResources is denied.  Any other
      GetResources failure fails the collector: never read as "no tags".
    """

    resource_type: str
    arn: str
    fallback: Detail
    key: str = "Tags"


@dataclass(frozen=True)
class Output:
    """One resource type produced from the pages of a :class:`Source`.

    ``id`` / ``arn`` are jmespaths over the item.  ``arn_template`` builds an ARN where AWS
    does not return one (``{partition} {region} {account} {id}`` are filled in).
    ``id_prefix`` is stripped from the id (Route 53's ``/hostedzone/``).  ``bulk_tags``
    completes every item with its tags after the details ran.  ``transform`` rewrites the
    finished item (decode IAM policy documents).
    """

    type: str
    items: str
    id: str
    arn: str | None = None
    arn_template: str | None = None
    id_prefix: str = ""
    details: tuple[Detail, ...] = ()
    bulk_tags: BulkTags | None = None
    transform: Callable[[Item], Item] | None = None


@dataclass(frozen=True)
class Source:
    """One list call (paginated where the API allows) and what to make of its pages."""

    operation: str
    outputs: tuple[Output, ...]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """Describe, once each, the resources that other collectors' records name.

    Some resources have no listing that says which of them matter: nothing lists the KMS
    keys notebooks use, the notebooks name them (``KmsKeyId``).  A collector with a lookup
    runs after the collectors producing the ``refs`` types in the same scope, takes the
    distinct values its jmespaths find in their records (a string or a list of strings),
    and calls ``operation`` once per value, passing it as ``param``.  The record's id is the
    value as written (a key id, key ARN, alias name or alias ARN: DescribeKey accepts each),
    so enrichment joins on it exactly; ``result`` is where the resource is in the answer,
    ``arn`` a jmespath over it.

    ``missing_codes`` are AWS error codes that mean "no such resource": a fact about that
    value, recorded as its record ``{"Missing": {"Code", "Message"}}`` so the rule can say
    what it means, instead of failing the collector.  Every other error fails the collector
    in that scope, as for any collector.
    """

    type: str
    operation: str
    param: str
    refs: Mapping[str, str]
    result: str
    arn: str | None = None
    missing_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Record:
    """One collected resource, ready for :meth:`Snapshot.add`."""

    type: str
    id: str
    arn: str | None
    data: Item


# A step that cannot be said declaratively (Organizations' walk up the parent chain).  It
# gets a call function ``(operation, params) -> response`` and the records made so far.
CallFn = Callable[[str, Mapping[str, Any]], Item]
PagesFn = Callable[[str, Mapping[str, Any]], list[Item]]
Extra = Callable[[CallFn, PagesFn, Scope, list[Record]], list[Record]]


@dataclass(frozen=True)
class CollectorSpec:
    """A named collector: one service, its sources, and how to judge its failures.

    ``not_collected_kinds``: error kinds that mean "legitimately unavailable to these
    credentials" for this collector (Organizations from a member account) and are recorded
    as ``not_collected`` instead of ``error``.  ``extra_operations`` / ``extra_types`` list what
    ``extra`` may call and produce, so the IAM policy test and the outcomes see them too.
    ``lookup`` describes resources other collectors' records name (:class:`Lookup`); such a
    collector usually has no ``sources``.
    """

    name: str
    service: str
    sources: tuple[Source, ...]
    is_global: bool = False
    extra: Extra | None = None
    extra_operations: tuple[str, ...] = ()
    extra_types: tuple[str, ...] = ()
    not_collected_kinds: frozenset[ErrorKind] = frozenset()
    lookup: Lookup | None = None

    @property
    def resource_types(self) -> list[str]:
        """Every type this collector produces, in spec order."""
        types = [out.type for src in self.sources for out in src.outputs]
        types += list(self.extra_types)
        return types + ([self.lookup.type] if self.lookup is not None else [])

    @property
    def input_types(self) -> frozenset[str]:
        """Types whose records this collector reads (its lookup's ``refs``): it runs after
        the collectors producing them in the same scope."""
        return frozenset(self.lookup.refs) if self.lookup is not None else frozenset()

    @property
    def operations(self) -> list[str]:
        """Every ``service:Operation`` this collector may call (the tagging API's included)."""
        ops = [op for src in self.sources for op in _source_operations(src)]
        ops += list(self.extra_operations)
        ops += [self.lookup.operation] if self.lookup is not None else []
        named = [f"{self.service}:{op}" for op in ops]
        if any(out.bulk_tags is not None for src in self.sources for out in src.outputs):
            named.append(f"{TAGGING_SERVICE}:{TAGGING_OPERATION}")
        return list(dict.fromkeys(named))


def _source_operations(src: Source) -> list[str]:
    ops = [src.operation]
    for out in src.outputs:
        ops += [d.operation for d in out.details]
        if out.bulk_tags is not None:
            ops.append(out.bulk_tags.fallback.operation)
    return ops
