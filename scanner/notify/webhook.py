"""Webhook delivery: one JSON POST per cycle, retried a bounded number of times.

The POST is retried (on connection errors, 429 and 5xx) although POST is not idempotent in
general: **a receiver must be idempotent on the run id** (in the body as ``run_id`` and in
the ``X-Scanner-Run-Id`` header), since a request whose response was lost arrives twice.
Redirects are not followed: a signed body is for the URL configured, nowhere else.

With a signing secret the request carries ``X-Scanner-Timestamp`` (unix seconds) and
``X-Scanner-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``; a receiver
recomputes it over the raw body and rejects an old timestamp, so a captured request cannot
be replayed later.  Every retry sends the same timestamp and signature.

The URL is a secret (a Slack hook URL carries its token in the path), so errors never quote
it, nor anything urllib3 says about it, and its path and query are registered for masking
too: urllib3 logs retries with the path alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.util import Retry

from scanner.config import WebhookTarget
from scanner.logs import redact, register_secret
from scanner.notify.delivery import DeliveryError
from scanner.notify.message import Message
from scanner.notify.render import json_document, slack_payload
from scanner.secrets import http_url, resolve
from scanner.webclient import RETRY_STATUSES, BoundedRetry, describe, signed_headers

RETRIES = 3
"""Retries after the first attempt (so at most four POSTs)."""
BACKOFF_FACTOR = 0.5
"""urllib3 backoff: no wait before the first retry, then 1 s, 2 s."""
_DETAIL = 200  # characters of a failed response's body quoted in the error


def retry_policy() -> Retry:
    return BoundedRetry(
        total=RETRIES,
        backoff_factor=BACKOFF_FACTOR,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"POST"}),
        raise_on_status=False,
        redirect=0,
        raise_on_redirect=False,
    )


def body_for(target: WebhookTarget, message: Message) -> bytes:
    doc = slack_payload(message) if target.format == "slack" else json_document(message)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def register_url(url: str) -> None:
    """Mask the URL's parts that urllib3 logs or quotes on their own (the whole URL is
    registered when it is read)."""
    parts = urllib3.util.parse_url(url)
    for piece in (parts.auth, parts.path, parts.query, parts.request_uri, parts.fragment):
        register_secret(piece)


def _scrub(text: str, url: str) -> str:
    """``text`` with the URL and its path and query masked, then every registered secret."""
    parts = urllib3.util.parse_url(url)
    for piece in (url, parts.request_uri, parts.path, parts.query, parts.auth):
        if piece and len(piece) > 1:
            text = text.replace(piece, "***")
    return redact(text)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body``; the final status when it is 2xx, else :class:`DeliveryError`."""
    pool = urllib3.PoolManager(
        retries=retry_policy(), timeout=urllib3.Timeout(connect=timeout, read=timeout)
    )
    try:
        response = pool.request("POST", url, body=body, headers=headers, redirect=False)
    except HTTPError as exc:
        raise DeliveryError(_scrub(describe(exc, timeout, RETRIES), url)) from None
    finally:
        pool.clear()
    if 200 <= response.status < 300:
        return response.status
    detail = re.sub(r"\s+", " ", response.data[:_DETAIL].decode("utf-8", "replace")).strip()
    extra = f": {_scrub(detail, url)}" if detail else ""
    if 300 <= response.status < 400:
        extra = " (redirects are not followed)"
    raise DeliveryError(f"HTTP {response.status}{extra}", status=response.status)


def send(target: WebhookTarget, message: Message, base_dir: str | Path) -> int:
    """Deliver ``message`` to ``target``; the HTTP status (2xx), else DeliveryError or
    :class:`~.secrets.SecretError`."""
    url = resolve(target, "url", base_dir)
    secret = resolve(target, "secret", base_dir)
    if url is None or not http_url(url):
        raise DeliveryError(
            f"the URL from {target.url_env or target.url_file} is not an http(s) URL"
        )
    register_url(url)
    body = body_for(target, message)
    return post(url, body, signed_headers(body, message.run_id, secret), target.timeout)
