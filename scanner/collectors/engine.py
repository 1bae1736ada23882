"""The one generic engine that runs any :class:`CollectorSpec` in one scope.

A collector in a scope either completes or fails as a whole: resources are gathered into a
local list and handed back only when every list page and every detail call succeeded.  A
half-listed type must never look complete, so on any failure the partial records are
dropped and the outcome says ``error`` (or ``not_collected`` where the spec defines that
failure as legitimate), with the failing operation and AWS's error code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import jmespath

from scanner.aws.errors import classify
from scanner.aws.session import ClientFactory
from scanner.collectors.normalize import MalformedResponse, jsonable
from scanner.collectors.paging import call, pages
from scanner.collectors.specs import CollectorSpec, Detail, Item, Output, Record, Scope
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus


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


def _collect_output(
    caller: _Caller, operation: str, output: Output, page_list: list[Item], scope: Scope
) -> list[Record]:
    records: list[Record] = []
    for page in page_list:
        items = _required(output.items, page, operation)
        if not isinstance(items, list):
            raise _malformed(operation, f"{output.type}: {output.items!r} is not a list")
        for item in items:
            if not isinstance(item, dict):
                raise _malformed(operation, f"{output.type}: an item is not an object")
            record = _build_record(output, item, scope)
            data = item
            for detail in output.details:
                data = _run_detail(caller, detail, data, scope)
            data = jsonable(data)
            if output.transform is not None:
                data = output.transform(data)
            records.append(replace(record, data=data))
    return records


def collect_records(spec: CollectorSpec, client: Any, scope: Scope) -> list[Record]:
    """Every record ``spec`` produces in ``scope``; raises on the first failure."""
    caller = _Caller(client)
    records: list[Record] = []
    for source in spec.sources:
        page_list = caller.pages(source.operation, source.params)
        for output in source.outputs:
            records += _collect_output(caller, source.operation, output, page_list, scope)
    if spec.extra is not None:
        records += spec.extra(caller.call, caller.pages, scope, records)
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


def run_collector(
    spec: CollectorSpec, factory: ClientFactory, scope: Scope
) -> tuple[CollectorOutcome, list[Record]]:
    """Run ``spec`` in ``scope``: exactly one outcome, and records only when it is ``ok``."""
    started = time.monotonic()

    def outcome(status: OutcomeStatus, count: int = 0, **error: Any) -> CollectorOutcome:
        elapsed = round(time.monotonic() - started, 3)
        return scope_outcome(spec, scope, status, resource_count=count, duration_s=elapsed, **error)

    operation: str | None = None
    try:
        client = factory.client(spec.service, scope.api_region)
        records = collect_records(spec, client, scope)
    except _OperationFailed as failed:
        operation, exc = failed.operation, failed.cause
    except Exception as exc_:  # noqa: BLE001 - recorded as an error outcome, never silenced
        exc = exc_
    else:
        return outcome(OutcomeStatus.OK, len(records)), records
    info = classify(exc)
    status = (
        OutcomeStatus.NOT_COLLECTED
        if info.kind in spec.not_collected_kinds
        else OutcomeStatus.ERROR
    )
    return (
        outcome(status, error_code=info.code, error_message=info.message, operation=operation),
        [],
    )
