"""Error classification, the page-level retry, and how the engine turns failures into outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from scanner.aws.errors import MAX_MESSAGE_CHARS, ErrorKind, classify, is_throttling
from scanner.aws.guard import ReadOnlyViolation
from scanner.aws.session import ClientFactory
from scanner.collectors.engine import run_collector
from scanner.collectors.normalize import MalformedResponse, decode_policy_document
from scanner.collectors.paging import PAGE_RETRIES, with_page_retry
from scanner.collectors.specs import CollectorSpec, Output, Scope, Source
from scanner.config import Config
from scanner.model.snapshot import OutcomeStatus
from tests.collectkit import REGION


def client_error(code: str, message: str = "nope", status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "SomeOperation")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AccessDenied", ErrorKind.ACCESS_DENIED),
        ("AccessDeniedException", ErrorKind.ACCESS_DENIED),
        ("UnauthorizedOperation", ErrorKind.ACCESS_DENIED),
        ("Throttling", ErrorKind.THROTTLED),
        ("ThrottlingException", ErrorKind.THROTTLED),
        ("RequestLimitExceeded", ErrorKind.THROTTLED),
        ("AWSOrganizationsNotInUseException", ErrorKind.NOT_IN_USE),
        ("InvalidVpcID.NotFound", ErrorKind.SERVICE),
        ("InternalError", ErrorKind.SERVICE),
    ],
)
def test_client_errors_are_classified_by_code(code: str, kind: ErrorKind) -> None:
    info = classify(client_error(code, "the message"))
    assert (info.kind, info.code, info.message) == (kind, code, "the message")


def test_client_error_without_a_code_is_named_by_its_http_status() -> None:
    err = ClientError({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 502}}, "Op")
    assert classify(err).code == "HTTP502"


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (EndpointConnectionError(endpoint_url="http://x"), ErrorKind.UNREACHABLE,
         "EndpointConnectionError"),
        (ReadTimeoutError(endpoint_url="http://x"), ErrorKind.UNREACHABLE, "ReadTimeoutError"),
        (NoCredentialsError(), ErrorKind.CREDENTIALS, "NoCredentialsError"),
        (ReadOnlyViolation("ec2:CreateVpc"), ErrorKind.READ_ONLY_VIOLATION, "ReadOnlyViolation"),
        (KeyError("Vpcs"), ErrorKind.UNEXPECTED, "KeyError"),
        (MalformedResponse("bad"), ErrorKind.UNEXPECTED, "MalformedResponse"),
    ],
)  # fmt: skip
def test_non_aws_failures_are_named_by_exception_type(
    exc: BaseException, kind: ErrorKind, code: str
) -> None:
    info = classify(exc)
    assert (info.kind, info.code) == (kind, code)
    assert info.message


def test_long_messages_are_truncated() -> None:
    info = classify(client_error("500", "<html>" + "x" * 5000))
    assert len(info.message) == MAX_MESSAGE_CHARS
    assert info.message.endswith("...")


def test_is_throttling_only_for_throttling_client_errors() -> None:
    assert is_throttling(client_error("Throttling"))
    assert not is_throttling(client_error("AccessDenied"))
    assert not is_throttling(RuntimeError("Throttling"))


class Flaky:
    """A plain callable failing ``failures`` times with ``error`` before answering."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return {"ok": kwargs}


def test_page_retry_recovers_from_throttling_within_its_bound() -> None:
    flaky = Flaky(PAGE_RETRIES, client_error("Throttling"))
    assert with_page_retry(flaky, {"a": 1}, sleep=lambda _: None) == {"ok": {"a": 1}}
    assert flaky.calls == PAGE_RETRIES + 1


def test_page_retry_gives_up_after_its_bound() -> None:
    flaky = Flaky(PAGE_RETRIES + 1, client_error("Throttling"))
    with pytest.raises(ClientError):
        with_page_retry(flaky, {}, sleep=lambda _: None)
    assert flaky.calls == PAGE_RETRIES + 1


def test_page_retry_does_not_retry_access_denied() -> None:
    flaky = Flaky(1, client_error("AccessDenied"))
    with pytest.raises(ClientError):
        with_page_retry(flaky, {}, sleep=lambda _: None)
    assert flaky.calls == 1


def test_policy_documents_decode_from_every_form() -> None:
    doc = {"Version": "2012-10-17", "Statement": []}
    assert decode_policy_document(doc) == doc
    assert decode_policy_document('{"Version": "2012-10-17", "Statement": []}') == doc
    assert decode_policy_document("%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D") == doc  # fmt: skip
    with pytest.raises(MalformedResponse):
        decode_policy_document("not json")


SCOPE = Scope("123456789012", REGION, REGION, "aws", (REGION,))


def test_unexpected_exception_becomes_error_outcome_with_its_type(moto: Any) -> None:
    """A spec whose items are not a list (a malformed answer) fails the collector loudly."""
    spec = CollectorSpec(
        "broken", "ec2", (Source("DescribeVpcs", (Output("ec2:vpc", "Vpcs[0]", "VpcId"),)),)
    )
    outcome, records = run_collector(spec, ClientFactory(Config()), SCOPE)
    assert outcome.status is OutcomeStatus.ERROR
    assert outcome.error_code == "MalformedResponse"
    assert outcome.resource_types == ["ec2:vpc"]
    assert records == []


def test_not_collected_kinds_apply_only_to_their_collector(moto: Any) -> None:
    """Organizations-not-in-use is ``not_collected`` where the spec says so, else ``error``."""
    source = (Source("DescribeOrganization", (Output("organizations:organization",
                                                     "[Organization]", "Id"),)),)  # fmt: skip
    lenient = CollectorSpec("a", "organizations", source, not_collected_kinds=frozenset({"not_in_use"}))  # fmt: skip
    strict = CollectorSpec("b", "organizations", source)
    factory = ClientFactory(Config())
    assert run_collector(lenient, factory, SCOPE)[0].status is OutcomeStatus.NOT_COLLECTED
    failed = run_collector(strict, factory, SCOPE)[0]
    assert failed.status is OutcomeStatus.ERROR
    assert failed.error_code == "AWSOrganizationsNotInUseException"
    assert failed.operation == "DescribeOrganization"
