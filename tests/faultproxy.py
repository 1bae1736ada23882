"""A small HTTP proxy in front of moto's server that injects genuine AWS errors.

Why: collector failure handling must be tested over the wire, through botocore's real
retry and error parsing, not with patched clients.  The proxy forwards every request to
moto unchanged except those for operations it was told to fail, which get the error body
the service's protocol really uses (EC2 XML, query XML, JSON with ``__type``).  It counts
requests per operation so a test can assert that retries are bounded without timing.

It can also answer an operation with a given HTTP 200 body (:meth:`FaultProxy.answer`), to
test what the scanner does with a well-formed reply that lacks fields it relies on, and
hold every reply for ``delay`` seconds (a slow AWS, so a test can stop a scan mid-way);
``arrivals`` keeps the monotonic time each request arrived, to show when calls stopped.

Operations are recognised by ``Action=`` (EC2/query protocols, form body or query string),
``X-Amz-Target`` (JSON protocols), or, for REST and CBOR services, the last path segment
matched by a rule registered with :meth:`FaultProxy.fail_path`.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EC2_API_VERSION = "2016-11-15"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Fault:
    """The error to answer with."""

    code: str
    status: int
    message: str = "injected by faultproxy"


ACCESS_DENIED = Fault("AccessDenied", 403, "User is not authorized to perform this operation")
THROTTLING = Fault("Throttling", 400, "Rate exceeded")


class FaultProxy:
    """Threaded proxy on 127.0.0.1; use as a context manager or call :meth:`stop`."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.faults: dict[str, Fault] = {}
        self.answers: dict[str, tuple[bytes, str]] = {}
        self.path_faults: list[tuple[str, re.Pattern[str], Fault]] = []
        self.counts: Counter[str] = Counter()
        self.delay = 0.0
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, operation: str, fault: Fault) -> None:
        """Answer every request for ``operation`` (API name, e.g. DescribeVpcEndpoints)."""
        self.faults[operation] = fault

    def answer(self, operation: str, body: str, content_type: str = "text/xml") -> None:
        """Answer every request for ``operation`` with HTTP 200 and ``body`` (not forwarded)."""
        self.answers[operation] = (body.encode(), content_type)

    def fail_path(self, operation: str, pattern: str, fault: Fault) -> None:
        """Answer requests whose path matches ``pattern``; counted as ``operation``."""
        self.path_faults.append((operation, re.compile(pattern), fault))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ---------------------------------------------------------------
    def _identify(self, path: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        """(operation, protocol) of a request; operation may be "" when unknown."""
        target = headers.get("x-amz-target")
        if target:
            return target.rsplit(".", 1)[-1], "json"
        for op, pattern, _ in self.path_faults:
            if pattern.search(path):
                return op, "rest"
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        form = form or parse_qs(urlsplit(path).query)
        if "Action" in form:
            protocol = "ec2" if form.get("Version") == [EC2_API_VERSION] else "query"
            return form["Action"][0], protocol
        return "", "rest"

    def _fault_for(self, operation: str) -> Fault | None:
        for op, _, fault in self.path_faults:
            if op == operation:
                return fault
        return self.faults.get(operation)

    @staticmethod
    def error_body(fault: Fault, protocol: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers AWS uses for an error in ``protocol``."""
        if protocol == "json":
            body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
            return body, {
                "Content-Type": "application/x-amz-json-1.1",
                "x-amzn-ErrorType": fault.code,
            }
        if protocol == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{fault.code}</Code>"
                f"<Message>{fault.message}</Message></Error></Errors>"
                "<RequestID>faultproxy</RequestID></Response>"
            )
        else:
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
                f"<Message>{fault.message}</Message></Error>"
                "<RequestId>faultproxy</RequestId></ErrorResponse>"
            )
        return xml.encode(), {"Content-Type": "text/xml"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                operation, protocol = proxy._identify(self.path, headers, body)
                with proxy._lock:
                    proxy.counts[operation] += 1
                    proxy.arrivals.append((time.monotonic(), operation))
                if proxy.delay:
                    time.sleep(proxy.delay)
                canned = proxy.answers.get(operation)
                if canned is not None:
                    self._reply(200, [("Content-Type", canned[1])], canned[0])
                    return
                fault = proxy._fault_for(operation)
                if fault is not None:
                    payload, extra = proxy.error_body(fault, protocol)
                    self._reply(fault.status, list(extra.items()), payload)
                    return
                conn = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
                try:
                    fwd = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    fwd["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
                    conn.request(self.command, self.path, body=body or None, headers=fwd)
                    resp = conn.getresponse()
                    data = resp.read()
                    kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                    self._reply(resp.status, kept, data)
                finally:
                    conn.close()

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        return Handler
