"""HTTP for the integrations: urllib3 with its ``Retry``, one policy for what may be repeated.

Notification webhooks and the ticketing targets talk HTTP through here.  Retries are
urllib3's own (bounded, exponential backoff, ``Retry-After`` honoured and capped); what this
module adds is the one decision urllib3 cannot make: **which requests may be repeated**.

- A *repeatable* request (a read, a search, a PUT/PATCH that sets a state) is retried on
  connection errors, read timeouts, 429 and 5xx.
- A *create* (or any request whose repetition would leave a second copy: a new issue, a
  comment) is retried only when it cannot have been applied: a connection that never
  opened, or a 429 (the server refused it).  A read timeout, a broken connection or a 5xx
  after it was sent leaves it **uncertain** (:attr:`HttpError.uncertain`): it may have
  been applied, and only the caller can find out (the ticket ledger searches for it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

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
from scanner.logs import redact

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

USER_AGENT = f"privatelink-scanner/{__version__}"
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 30.0
"""A ``Retry-After`` longer than this is cut to it: a server asking for an hour must not
hold the nightly job (the next sync catches up)."""
DETAIL_CHARS = 300  # characters of a failed response's body quoted in an error


class BoundedRetry(Retry):
    """urllib3's ``Retry`` with ``Retry-After`` capped at :data:`MAX_RETRY_AFTER`."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_RETRY_AFTER)


def retry_policy(retries: int, backoff: float, *, repeatable: bool) -> Retry:
    """The retry policy of a repeatable request, or of a create (module docstring)."""
    return BoundedRetry(
        total=retries,
        connect=retries,
        read=retries if repeatable else 0,
        other=retries if repeatable else 0,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES if repeatable else (429,),
        allowed_methods=None,  # every verb: whether to repeat is decided above, not by verb
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=0,
        raise_on_redirect=False,
    )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<body>`` with ``secret`` (a receiver recomputes it
    over the raw body and rejects an old timestamp, so a captured request cannot be
    replayed later)."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, run_id: str, secret: str | None) -> dict[str, str]:
    """The headers of a scanner webhook POST: JSON, the run id, and with a secret the
    timestamp and its signature (every retry sends the same ones)."""
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


def describe(error: BaseException, timeout: float, retries: int) -> str:
    """What went wrong, in words that cannot contain the URL (urllib3's own messages name
    the host and the path, so only the types and the OS's reason are used)."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        return f"gave up after {retries} retries: {describe(error.reason, timeout, retries)}"
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


def _sent(error: BaseException) -> bool:
    """Whether the request may have reached the server (anything but a failed connect)."""
    reason = error.reason if isinstance(error, MaxRetryError) else error
    return not isinstance(reason, (ConnectTimeoutError, NameResolutionError, SSLError))


class HttpError(Exception):
    """A request that did not succeed.

    ``status`` is the final HTTP status (None: no response at all); ``uncertain`` is True
    when the request may nevertheless have been applied (see the module docstring);
    ``retryable`` is True for a failure of the service (5xx, 429, no response) rather than
    of this request (a 4xx: fix the config or the data, repeating will not help).
    """

    def __init__(self, message: str, *, status: int | None = None, uncertain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.uncertain = uncertain

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class Response:
    """A successful response: status, headers and the body."""

    status: int
    headers: dict[str, str]
    data: bytes

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON (a proxy's HTML page answering 200)
        is an :class:`HttpError`, never a crash, and *uncertain*: something accepted the
        request, so a create may have happened."""
        if not self.data.strip():
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            raise HttpError(
                f"the response is not JSON: {redact(_detail(self.data))}",
                status=self.status,
                uncertain=True,
            ) from None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _detail(data: bytes) -> str:
    return re.sub(r"\s+", " ", data[:DETAIL_CHARS].decode("utf-8", "replace")).strip()


class JsonClient:
    """JSON requests to one service: base URL, fixed headers, timeout and retries."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str],
        timeout: float,
        retries: int,
        backoff: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def close(self) -> None:
        self.pool.clear()

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """``path`` under the base URL (a full URL, as in a ``Link`` header, is kept)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        if params:
            clean = {k: v for k, v in params.items() if v is not None}
            url += ("&" if "?" in url else "?") + urlencode(clean, doseq=True)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        repeatable: bool = True,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request (with the retries its kind allows); a 2xx Response or HttpError."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent_headers = dict(self.headers)
        if data is not None:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        try:
            response = self.pool.request(
                method,
                self.url(path, params),
                body=data,
                headers=sent_headers,
                retries=retry_policy(self.retries, self.backoff, repeatable=repeatable),
                redirect=False,
            )
        except HTTPError as exc:
            raise HttpError(
                redact(f"{method} {path}: {describe(exc, self.timeout, self.retries)}"),
                uncertain=not repeatable and _sent(exc),
            ) from None
        if 200 <= response.status < 300:
            headers_out = {k.lower(): v for k, v in response.headers.items()}
            return Response(response.status, headers_out, response.data)
        detail = _detail(response.data)
        if 300 <= response.status < 400:
            detail = "redirects are not followed"
        # Masked whole: the path may be a secret URL (a webhook's), the body may echo
        # credentials back.  Errors reach the terminal and the ledger, not only the logs.
        raise HttpError(
            redact(f"{method} {path}: HTTP {response.status}" + (f": {detail}" if detail else "")),
            status=response.status,
            uncertain=not repeatable and response.status >= 500,
        )
