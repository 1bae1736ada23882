"""Calling AWS for the collectors: pagination everywhere, and a bounded page-level retry.

botocore already retries each HTTP call (``retries.max_attempts``, standard/adaptive
mode).  Throttling can outlast those attempts when many workers share an account's rate
limit, so each *page* gets a few more tries with backoff before the collector gives up and
records the throttling code.  Only throttling is retried here: access denied or an
unreachable endpoint will not get better by asking again.

Operations with a botocore paginator use it (with a page iterator whose request step goes
through the same retry); the few list calls without one are followed by hand on
``NextToken``/``nextToken``/``Marker``, with a guard against a service that repeats a token.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore import xform_name
from botocore.paginate import PageIterator

from scanner.aws.errors import is_throttling

# Extra tries per page after botocore's own attempts were all throttled.
PAGE_RETRIES = 2
PAGE_BACKOFF_S = 0.25
# A listing longer than this is a service bug (or a loop), not an estate.
MAX_PAGES = 10_000

# (request parameter, response field) pairs for hand-followed pagination.
_TOKEN_FIELDS = (("NextToken", "NextToken"), ("nextToken", "nextToken"), ("Marker", "NextMarker"))


class PaginationLoop(RuntimeError):
    """A service returned the same continuation token twice (or too many pages)."""


def with_page_retry(
    call: Callable[..., dict[str, Any]],
    kwargs: Mapping[str, Any],
    *,
    retries: int = PAGE_RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """``call(**kwargs)``, retried ``retries`` more times if it is still throttled."""
    attempt = 0
    while True:
        try:
            return call(**kwargs)
        except Exception as exc:
            if attempt >= retries or not is_throttling(exc):
                raise
            attempt += 1
            sleep(PAGE_BACKOFF_S * (2**attempt) * (0.5 + random.random() / 2))


class _RetryingPageIterator(PageIterator):  # type: ignore[misc]
    """botocore's page iterator with each page request wrapped in :func:`with_page_retry`."""

    def _make_request(self, current_kwargs: dict[str, Any]) -> dict[str, Any]:
        return with_page_retry(self._method, current_kwargs)


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    return response


def call(client: Any, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """One (non-paginated) call by its API name, with the page-level retry."""
    method = getattr(client, xform_name(operation))
    return _strip(with_page_retry(method, params))


def pages(client: Any, operation: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every page of ``operation``; a single-element list when the API does not paginate."""
    method_name = xform_name(operation)
    if client.can_paginate(method_name):
        paginator = client.get_paginator(method_name)
        paginator.PAGE_ITERATOR_CLS = _RetryingPageIterator
        return [_strip(dict(p)) for p in paginator.paginate(**params)]
    return _manual_pages(client, operation, method_name, params)


def _manual_pages(
    client: Any, operation: str, method_name: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    input_shape = client.meta.service_model.operation_model(operation).input_shape
    members = set(input_shape.members) if input_shape is not None else set()
    token_fields = [(req, resp) for req, resp in _TOKEN_FIELDS if req in members]
    method = getattr(client, method_name)
    out: list[dict[str, Any]] = []
    kwargs = dict(params)
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = _strip(with_page_retry(method, kwargs))
        out.append(page)
        token = next(((req, page[resp]) for req, resp in token_fields if page.get(resp)), None)
        if token is None:
            return out
        if token[1] in seen:
            raise PaginationLoop(f"{operation} returned the continuation token twice")
        seen.add(token[1])
        kwargs[token[0]] = token[1]
    raise PaginationLoop(f"{operation} returned more than {MAX_PAGES} pages")
