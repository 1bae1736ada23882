"""The one generic engine that runs any :class:`CollectorSpec` in one scope.

A collector in a scope either completes or fails as a whole: resources are gathered into a
local list and handed back only when every list page and every detail call succeeded.  A
half-listed type must never look complete, so on any failure the partial records are
dropped and the outcome says ``error`` (or ``not_collected`` where the spec defines that
failure as legitimate), with the failing operation and AWS's error code.

Tags declared as :class:`~scanner.collectors.specs.BulkTags` are read with one paginated
``resourcegroupstaggingapi:GetResources`` per output and scope (none for an empty listing)
instead of one ``ListTags`` per item.  Denied, it falls back to the per-item detail for that
output in that scope, with one warning; any other failure of it fails the collector, since
tags read as "none" could turn a tag-scoped rule into a false PASS.

A :class:`~scanner.collectors.specs.Lookup` (the KMS keys notebooks name) is given the
records of its input types from the same scope (the fan-out runs it after their
collectors) and makes one call per distinct value they reference; an error code the lookup
declares "missing" is recorded on that value's record, any other error fails the collector
like any call.

An access-denied outcome's message names the IAM permission to grant
(:func:`scanner.aws.errors.with_permission`).  Once AWS rejects an account's credentials
themselves (expired, unknown: :attr:`ErrorKind.CREDENTIALS`), every later call with them
would fail the same way, so the account's collectors not yet started record that as their
``error`` outcome without calling AWS (:class:`_Rejected`): one failing call per unit in
flight, not one per remaining (region, collector).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jmespath

from scanner.aws.errors import ErrorInfo, ErrorKind, classify, with_permission
from scanner.aws.guard import iam_action
from scanner.aws.session import ClientFactory
from scanner.collectors.normalize import MalformedResponse, jsonable
from scanner.collectors.paging import call, pages
from scanner.collectors.specs import (
    TAGGING_OPERATION,
    TAGGING_PAGE_SIZE,
    TAGGING_SERVICE,
    BulkTags,
    CollectorSpec,
    Detail,
    Item,
    Lookup,
    Output,
    Record,
    Scope,
)
from scanner.model.snapshot import MISSING_KEY, CollectorOutcome, OutcomeStatus

log = logging.getLogger(__name__)

ClientFor = Callable[[str], Any]
"""A guarded client for a service in the scope's API region (``factory.client``)."""


class _OperationFailed(Exception):
    """Carries the name of the operation that failed alongside the original exception."""

    def __init__(self, operation: str, cause: BaseException) -> None:
        super().__init__(operation)
        self.operation = operation
        self.cause = cause


class _Caller:
    """Calls one service in one region, labelling every failure with its operation."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, operation: str, params: Mapping[str, Any]) -> Item:
        try:
            return call(self.client, operation, params)
        except Exception as exc:
            raise _OperationFailed(operation, exc) from exc

    def pages(self, operation: str, params: Mapping[str, Any]) -> list[Item]:
        try:
            return pages(self.client, operation, params)
        except Exception as exc:
            raise _OperationFailed(operation, exc) from exc


def _search(expression: str, data: Any, what: str) -> Any:
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:  # a bug in a spec, not in AWS
        raise MalformedResponse(f"{what}: jmespath {expression!r} failed: {exc}") from exc


def _malformed(operation: str, problem: str) -> _OperationFailed:
    return _OperationFailed(operation, MalformedResponse(problem))


def _required(expression: str, answer: Any, operation: str) -> Any:
    """What ``expression`` finds in ``answer``; absent is a malformed answer, not "none".

    jmespath gives ``None`` only when the field is missing (an empty list stays ``[]``), and
    reading a missing list as empty would store a listing that only looks complete.
    """
    found = _search(expression, answer, operation)
    if found is None:
        raise _malformed(operation, f"answer has no {expression}")
    return found


def _run_detail(caller: _Caller, detail: Detail, item: Item, scope: Scope) -> Item:
    if detail.when is not None and not detail.when(item, scope):
        return item
    params = dict(detail.constants)
    for name, expression in detail.params.items():
        value = _search(expression, item, detail.operation)
        if value is None:
            raise _malformed(detail.operation, f"item has no {expression} to pass as {name}")
        params[name] = value
    result: Any
    if detail.paginate:
        result = []
        for page in caller.pages(detail.operation, params):
            part = (
                page if detail.result is None else _required(detail.result, page, detail.operation)
            )
            if not isinstance(part, list):
                raise _malformed(detail.operation, f"{detail.result} is not a list")
            result.extend(part)
    else:
        response = caller.call(detail.operation, params)
        result = (
            response
            if detail.result is None
            else _required(detail.result, response, detail.operation)
        )
    if detail.key is None:
        if not isinstance(result, dict):
            raise _malformed(detail.operation, "detail is not an object")
        return dict(result)
    return {**item, detail.key: result}


def _build_record(output: Output, raw: Item, scope: Scope) -> Record:
    rid = _search(output.id, raw, output.type)
    if not isinstance(rid, str) or not rid:
        raise MalformedResponse(f"{output.type} item without an id at {output.id!r}")
    rid = rid.removeprefix(output.id_prefix)
    arn: str | None = None
    if output.arn is not None:
        found = _search(output.arn, raw, output.type)
        arn = str(found) if found else None
    elif output.arn_template is not None:
        arn = output.arn_template.format(
            partition=scope.partition, region=scope.region, account=scope.account_id, id=rid
        )
    return Record(output.type, rid, arn, raw)


@dataclass(frozen=True)
class _Run:
    """What one collector run in one scope shares: its spec, scope and clients."""

    spec: CollectorSpec
    scope: Scope
    caller: _Caller
    client_for: ClientFor | None


def _collect_output(
    run: _Run, operation: str, output: Output, page_list: list[Item]
) -> list[Record]:
    built: list[tuple[Record, Item]] = []
    for page in page_list:
        items = _required(output.items, page, operation)
        if not isinstance(items, list):
            raise _malformed(operation, f"{output.type}: {output.items!r} is not a list")
        for item in items:
            if not isinstance(item, dict):
                raise _malformed(operation, f"{output.type}: an item is not an object")
            record = _build_record(output, item, run.scope)
            data = item
            for detail in output.details:
                data = _run_detail(run.caller, detail, data, run.scope)
            built.append((record, data))
    datas = [data for _, data in built]
    if output.bulk_tags is not None and datas:  # an empty listing costs no tagging call
        datas = _bulk_tag(run, output, output.bulk_tags, datas)
    records: list[Record] = []
    for (record, _), data in zip(built, datas, strict=True):
        data = jsonable(data)
        if output.transform is not None:
            data = output.transform(data)
        records.append(replace(record, data=data))
    return records


# -- tags in bulk ---------------------------------------------------------------------------


def _bulk_tag(run: _Run, output: Output, bulk: BulkTags, datas: list[Item]) -> list[Item]:
    """``datas`` with their tags under ``bulk.key``: from GetResources, or per item from
    ``bulk.fallback`` where GetResources is denied."""
    arns: list[str] = []
    for data in datas:
        arn = _search(bulk.arn, data, TAGGING_OPERATION)
        if not isinstance(arn, str) or not arn:
            raise _malformed(
                TAGGING_OPERATION, f"{output.type} item has no {bulk.arn} to match tags by"
            )
        arns.append(arn)
    try:
        mapping = _tag_mapping(run, bulk)
    except _OperationFailed as failed:
        info = classify(failed.cause)
        if info.kind is not ErrorKind.ACCESS_DENIED:
            raise
        log.warning(
            "%s in account %s, region %s: %s was denied (%s; IAM action %s), so the tags of "
            "its %d %s are read one at a time with %s:%s",
            run.spec.name,
            run.scope.account_id,
            run.scope.region,
            f"{TAGGING_SERVICE}:{TAGGING_OPERATION}",
            info.code,
            iam_action(f"{TAGGING_SERVICE}:{TAGGING_OPERATION}"),
            len(datas),
            output.type,
            run.spec.service,
            bulk.fallback.operation,
        )
        return [_run_detail(run.caller, bulk.fallback, data, run.scope) for data in datas]
    return [
        {**data, bulk.key: _tags_of(arn, mapping, arns)}
        for data, arn in zip(datas, arns, strict=True)
    ]


def _tag_mapping(run: _Run, bulk: BulkTags) -> dict[str, list[Item]]:
    """ARN -> tags of every resource of ``bulk.resource_type`` GetResources lists (every
    page); a page without ``ResourceTagMappingList`` or an entry without its ARN or tags is
    malformed, never "untagged"."""
    if run.client_for is None:
        raise _malformed(TAGGING_OPERATION, "no tagging client was given to the engine")
    try:
        client = run.client_for(TAGGING_SERVICE)
    except Exception as exc:
        raise _OperationFailed(TAGGING_OPERATION, exc) from exc
    params = {"ResourceTypeFilters": [bulk.resource_type], "ResourcesPerPage": TAGGING_PAGE_SIZE}
    mapping: dict[str, list[Item]] = {}
    for page in _Caller(client).pages(TAGGING_OPERATION, params):
        entries = _required("ResourceTagMappingList", page, TAGGING_OPERATION)
        if not isinstance(entries, list):
            raise _malformed(TAGGING_OPERATION, "ResourceTagMappingList is not a list")
        for entry in entries:
            arn, tags = _tag_entry(entry)
            if mapping.get(arn, tags) != tags:
                raise _malformed(TAGGING_OPERATION, f"{arn} is listed twice with other tags")
            mapping[arn] = tags
    return mapping


def _tag_entry(entry: Any) -> tuple[str, list[Item]]:
    if not isinstance(entry, dict):
        raise _malformed(TAGGING_OPERATION, "a ResourceTagMapping is not an object")
    arn, tags = entry.get("ResourceARN"), entry.get("Tags")
    if not isinstance(arn, str) or not arn:
        raise _malformed(TAGGING_OPERATION, "a ResourceTagMapping has no ResourceARN")
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("Key"), str) for t in tags
    ):
        raise _malformed(TAGGING_OPERATION, f"{arn} has no list of tags with keys")
    return arn, [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]


def _tags_of(arn: str, mapping: dict[str, list[Item]], arns: list[str]) -> list[Item]:
    """The tags GetResources gave for ``arn``; ``[]`` when it is not listed (AWS lists only
    resources that are or were tagged).

    Matched exactly, else ignoring case: SageMaker is known to answer some ARNs in lower
    case (boto/boto3#4606: ``ListHyperParameterTuningJobs`` lowercases the job name, which
    ``ListTags`` then rejects), so a listed ``.../MyNotebook`` may come back from the
    tagging API as ``.../mynotebook``.  A case-insensitive match is taken only when it is
    unambiguous: one listed ARN of that spelling not matched exactly by another item, and
    one item of that spelling; otherwise the answer cannot be attributed and is malformed.
    """
    found = mapping.get(arn)
    if found is not None:
        return found
    folded = arn.casefold()
    exact = set(arns)
    candidates = [a for a in mapping if a.casefold() == folded and a not in exact]
    if not candidates:
        return []
    same_spelling = [a for a in exact if a.casefold() == folded and a not in mapping]
    if len(candidates) > 1 or len(same_spelling) > 1:
        raise _malformed(
            TAGGING_OPERATION, f"tags of {arn} are ambiguous: {sorted(candidates)} differ in case"
        )
    return mapping[candidates[0]]


def _referenced(lookup: Lookup, inputs: Sequence[Record]) -> list[str]:
    """The distinct values the lookup's ``refs`` find in ``inputs``, in first-seen order."""
    values: list[str] = []
    for rec in inputs:
        expression = lookup.refs.get(rec.type)
        if expression is None:
            continue
        found = _search(expression, rec.data, lookup.type)
        for value in found if isinstance(found, list) else [found]:
            if isinstance(value, str) and value:
                values.append(value)
    return list(dict.fromkeys(values))


def _look_up(caller: _Caller, lookup: Lookup, inputs: Sequence[Record]) -> list[Record]:
    """One ``lookup.operation`` per distinct referenced value (see :class:`Lookup`)."""
    records: list[Record] = []
    for value in _referenced(lookup, inputs):
        try:
            answer = caller.call(lookup.operation, {lookup.param: value})
        except _OperationFailed as failed:
            info = classify(failed.cause)
            if info.code not in lookup.missing_codes:
                raise
            missing = {MISSING_KEY: {"Code": info.code, "Message": info.message}}
            records.append(Record(lookup.type, value, None, missing))
            continue
        found = _required(lookup.result, answer, lookup.operation)
        if not isinstance(found, dict):
            raise _malformed(lookup.operation, f"{lookup.result} is not an object")
        arn = _search(lookup.arn, found, lookup.type) if lookup.arn else None
        records.append(
            Record(lookup.type, value, arn if isinstance(arn, str) else None, jsonable(found))
        )
    return records


def collect_records(
    spec: CollectorSpec,
    client: Any,
    scope: Scope,
    client_for: ClientFor | None = None,
    inputs: Sequence[Record] = (),
) -> list[Record]:
    """Every record ``spec`` produces in ``scope``; raises on the first failure.

    ``client`` is for ``spec.service``; ``client_for(service)`` gives a client for another
    service in the scope's API region (the tagging API for :class:`BulkTags`), and only specs
    that read tags in bulk need it.  ``inputs`` are the scope's records of the spec's
    ``input_types`` (what its :class:`Lookup` reads).
    """
    run = _Run(spec, scope, _Caller(client), client_for)
    records: list[Record] = []
    for source in spec.sources:
        page_list = run.caller.pages(source.operation, source.params)
        for output in source.outputs:
            records += _collect_output(run, source.operation, output, page_list)
    if spec.extra is not None:
        records += spec.extra(run.caller.call, run.caller.pages, scope, records)
    if spec.lookup is not None:
        records += _look_up(run.caller, spec.lookup, inputs)
    return records


def scope_outcome(
    spec: CollectorSpec, scope: Scope, status: OutcomeStatus, **details: Any
) -> CollectorOutcome:
    """The one outcome of ``spec`` in ``scope``; ``details`` are CollectorOutcome fields."""
    return CollectorOutcome(
        collector=spec.name,
        account_id=scope.account_id,
        region=scope.region,
        resource_types=spec.resource_types,
        status=status,
        **details,
    )


class _Rejected:
    """Client factories whose credentials AWS rejected in this process, with the first such
    failure: ``(service:Operation, ErrorInfo)``.  Weakly keyed, so a finished scan's
    factories (and the scheduler's next run, with new ones) start clean."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: weakref.WeakKeyDictionary[ClientFactory, tuple[str, ErrorInfo]] = (
            weakref.WeakKeyDictionary()
        )

    def mark(self, factory: ClientFactory, operation: str, info: ErrorInfo) -> None:
        with self._lock:
            self._first.setdefault(factory, (operation, info))

    def first(self, factory: ClientFactory) -> tuple[str, ErrorInfo] | None:
        with self._lock:
            return self._first.get(factory)


_REJECTED = _Rejected()


def _qualified(spec: CollectorSpec, operation: str) -> str:
    """botocore's ``service:Operation`` for an operation ``spec`` calls (the tagging API's
    GetResources is not the spec's service)."""
    for named in spec.operations:
        if named.partition(":")[2] == operation:
            return named
    return f"{spec.service}:{operation}"


def run_collector(
    spec: CollectorSpec, factory: ClientFactory, scope: Scope, inputs: Sequence[Record] = ()
) -> tuple[CollectorOutcome, list[Record]]:
    """Run ``spec`` in ``scope``: exactly one outcome, and records only when it is ``ok``.

    Not run at all when AWS already rejected ``factory``'s credentials (module docstring):
    the outcome is ``error`` with that code, no operation, and a message saying so.
    """
    started = time.monotonic()

    def outcome(status: OutcomeStatus, count: int = 0, **error: Any) -> CollectorOutcome:
        elapsed = round(time.monotonic() - started, 3)
        return scope_outcome(spec, scope, status, resource_count=count, duration_s=elapsed, **error)

    rejected = _REJECTED.first(factory)
    if rejected is not None:
        first_operation, first = rejected
        return (
            outcome(
                OutcomeStatus.ERROR,
                error_code=first.code,
                error_message=f"not called: AWS rejected these credentials earlier in this "
                f"scan ({first.code} on {first_operation}: {first.message})",
            ),
            [],
        )
    operation: str | None = None
    try:
        client = factory.client(spec.service, scope.api_region)
        records = collect_records(
            spec,
            client,
            scope,
            lambda service: factory.client(service, scope.api_region),
            inputs,
        )
    except _OperationFailed as failed:
        operation, exc = failed.operation, failed.cause
    except Exception as exc_:  # noqa: BLE001 - recorded as an error outcome, never silenced
        exc = exc_
    else:
        return outcome(OutcomeStatus.OK, len(records)), records
    info = classify(exc)
    named = _qualified(spec, operation) if operation is not None else spec.service
    if operation is not None:
        info = with_permission(info, named)
    if info.kind is ErrorKind.CREDENTIALS:
        _REJECTED.mark(factory, named, info)
    status = (
        OutcomeStatus.NOT_COLLECTED
        if info.kind in spec.not_collected_kinds
        else OutcomeStatus.ERROR
    )
    return (
        outcome(status, error_code=info.code, error_message=info.message, operation=operation),
        [],
    )
