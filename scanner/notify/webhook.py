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

import hashlib
import hmac
import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Retry

from scanner import __version__
from scanner.config import WebhookTarget
from scanner.logs import redact, register_secret
from scanner.notify.delivery import DeliveryError
from scanner.notify.message import Message
from scanner.notify.render import json_document, slack_payload
from scanner.notify.secrets import http_url, resolve

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

USER_AGENT = f"privatelink-scanner/{__version__}"
RETRIES = 3
"""Retries after the first attempt (so at most four POSTs)."""
BACKOFF_FACTOR = 0.5
"""urllib3 backoff: no wait before the first retry, then 1 s, 2 s."""
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 30.0
"""A ``Retry-After`` longer than this is cut to it: a receiver asking for an hour must not
hold the nightly job (the next cycle sends a new message anyway)."""
_DETAIL = 200  # characters of a failed response's body quoted in the error


class BoundedRetry(Retry):
    """urllib3's ``Retry`` with ``Retry-After`` capped at :data:`MAX_RETRY_AFTER`."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_RETRY_AFTER)


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


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<body>`` with ``secret``."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def headers_for(body: bytes, run_id: str, secret: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Scanner-Run-Id": run_id,
    }
    if secret:
        timestamp = str(int(time.time()))
        headers["X-Scanner-Timestamp"] = timestamp
        headers["X-Scanner-Signature"] = f"sha256={sign(secret, timestamp, body)}"
    return headers


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


def describe(error: BaseException, timeout: float) -> str:
    """What went wrong, in words that cannot contain the URL (urllib3's own messages name
    the host and the path, so only the types and the OS's reason are used)."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        return f"gave up after {RETRIES} retries: {describe(error.reason, timeout)}"
    # NewConnectionError subclasses ConnectTimeoutError (urllib3 2): test it first.
    if isinstance(error, NameResolutionError):
        return "the host name does not resolve"
    if isinstance(error, NewConnectionError):
        cause = error.__cause__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else None
        return f"cannot connect: {reason or 'connection failed'}"
    if isinstance(error, ConnectTimeoutError):
        return f"no connection within {timeout:g}s"
    if isinstance(error, ReadTimeoutError):
        return f"no response within {timeout:g}s"
    if isinstance(error, SSLError):
        return f"TLS failed: {error.__cause__ or 'handshake error'}"
    if isinstance(error, ProtocolError):
        return "the connection broke before a response"
    return f"the request failed ({type(error).__name__})"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body``; the final status when it is 2xx, else :class:`DeliveryError`."""
    pool = urllib3.PoolManager(
        retries=retry_policy(), timeout=urllib3.Timeout(connect=timeout, read=timeout)
    )
    try:
        response = pool.request("POST", url, body=body, headers=headers, redirect=False)
    except HTTPError as exc:
        raise DeliveryError(_scrub(describe(exc, timeout), url)) from None
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
    return post(url, body, headers_for(body, message.run_id, secret), target.timeout)
