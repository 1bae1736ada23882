"""Classify what went wrong in an AWS call, so a failure is recorded rather than guessed at.

The collectors never decide "is this an access problem, throttling or an outage?" by
matching strings themselves: they ask :func:`classify`.  Keeping the table of codes in one
place means the page-level retry (throttling only), the Organizations collector
(access denied means *not collected*, not *failed*) and the snapshot's ``error_code`` all
agree on what an error is.

Two failures get words of their own, because the fix is the user's, not AWS's:

- access denied names the IAM permission the scanner's policy lacks (:func:`with_permission`:
  ``tag:GetResources``, not botocore's ``resourcegroupstaggingapi:GetResources``);
- credentials AWS rejects as expired or unknown (``ExpiredToken``, ``InvalidClientTokenId``,
  ``UnrecognizedClientException``, EC2's ``RequestExpired`` / ``AuthFailure``...) are
  :attr:`ErrorKind.CREDENTIALS`, whatever the protocol spells them: every later call with
  them fails alike, so the engine stops calling AWS for that account and the CLI says once
  what to do (:data:`CREDENTIALS_ADVICE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from scanner.aws.guard import ReadOnlyViolation, iam_action


class ErrorKind(StrEnum):
    """Broad families of failure; collectors react to the family, not the exact code."""

    ACCESS_DENIED = "access_denied"
    THROTTLED = "throttled"
    NOT_IN_USE = "not_in_use"
    UNREACHABLE = "unreachable"
    CREDENTIALS = "credentials"
    READ_ONLY_VIOLATION = "read_only_violation"
    SERVICE = "service"
    UNEXPECTED = "unexpected"


# Codes AWS services use for "slow down".  botocore retries most of them itself; the ones
# that survive botocore's bounded attempts get a bounded page-level retry and then become
# an ``error`` outcome carrying the code.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "LimitExceededException",
    }
)

# "These credentials may not read this": the exact code differs per service protocol.
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "Forbidden",
        "ForbiddenException",
    }
)

# "The service is not set up for this account": Organizations from a standalone account.
NOT_IN_USE_CODES = frozenset({"AWSOrganizationsNotInUseException"})

# "AWS does not accept these credentials at all": expired session credentials (query and
# REST-XML protocols say ExpiredToken, JSON ones ExpiredTokenException, EC2 RequestExpired,
# which is also its answer to a clock more than 15 minutes off) and keys AWS does not know
# or signatures it cannot verify (InvalidClientTokenId, UnrecognizedClientException, EC2's
# AuthFailure, a wrong secret's SignatureDoesNotMatch).  botocore retries none of them.
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)

CREDENTIALS_ADVICE = (
    "renew the scanner's AWS credentials (a new role session, aws sso login, fresh keys), "
    "check the machine's clock, and scan again"
)
"""What the CLI says once when AWS rejected the credentials themselves."""


# botocore's own "no usable credentials": none found, half a pair, a refresh that failed
# (credential_process, an SSO token that expired or cannot be read).
_CREDENTIAL_FAILURES = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)
_CREDENTIAL_EXCEPTIONS = frozenset(cls.__name__ for cls in _CREDENTIAL_FAILURES) | {
    "UnauthorizedSSOTokenError",
    "SSOTokenLoadError",
}

# An error body can be a whole HTML page (a proxy, a stand-in server); keep the snapshot lean.
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class ErrorInfo:
    """What the snapshot records about a failed call."""

    kind: ErrorKind
    code: str
    message: str


def kind_for_code(code: str) -> ErrorKind:
    """The kind of an AWS error code (or of a botocore exception class name, as recorded)."""
    if code in CREDENTIAL_CODES or code in _CREDENTIAL_EXCEPTIONS:
        return ErrorKind.CREDENTIALS
    if code in THROTTLING_CODES:
        return ErrorKind.THROTTLED
    if code in NOT_IN_USE_CODES:
        return ErrorKind.NOT_IN_USE
    if code in ACCESS_DENIED_CODES or code.startswith("AccessDenied"):
        return ErrorKind.ACCESS_DENIED
    return ErrorKind.SERVICE


def _short(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 3] + "..."


def classify(exc: BaseException) -> ErrorInfo:
    """Map any exception raised while collecting to a kind, a code and a message.

    The code of a :class:`ClientError` is AWS's own (``AccessDenied``); for failures that
    never produced an AWS answer the exception's class name is the code, so a report can
    still say *what* happened (``EndpointConnectionError``, ``ReadTimeoutError``).
    """
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(err.get("Code") or (f"HTTP{status}" if status else "ClientError"))
        message = str(err.get("Message") or exc)
        return ErrorInfo(kind_for_code(code), code, _short(message))
    if isinstance(exc, ReadOnlyViolation):
        return ErrorInfo(ErrorKind.READ_ONLY_VIOLATION, "ReadOnlyViolation", str(exc))
    if isinstance(exc, _CREDENTIAL_FAILURES):
        return ErrorInfo(ErrorKind.CREDENTIALS, type(exc).__name__, _short(str(exc)))
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        # EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError (connection);
        # ReadTimeoutError, ConnectionClosedError (HTTP client)
        return ErrorInfo(ErrorKind.UNREACHABLE, type(exc).__name__, _short(str(exc)))
    if isinstance(exc, BotoCoreError):  # ParamValidationError among them
        return ErrorInfo(ErrorKind.SERVICE, type(exc).__name__, str(exc))
    return ErrorInfo(ErrorKind.UNEXPECTED, type(exc).__name__, _short(str(exc) or repr(exc)))


def is_throttling(exc: BaseException) -> bool:
    """True when ``exc`` is AWS asking us to slow down."""
    return isinstance(exc, ClientError) and classify(exc).kind is ErrorKind.THROTTLED


def permission_note(operation: str) -> str:
    """The words appended to an access-denied message for ``operation`` (``service:Op``)."""
    return f"[IAM permission needed: {iam_action(operation)}]"


def with_permission(info: ErrorInfo, operation: str) -> ErrorInfo:
    """``info`` whose message names the IAM permission ``operation`` (botocore's
    ``service:Operation``) needs, when access was denied; otherwise ``info`` unchanged.

    AWS's own message names the action only sometimes (IAM, STS and most JSON services do;
    EC2's ``UnauthorizedOperation`` says "You are not authorized to perform this operation"),
    and never with the scanner's context, so the report and the CLI always say which
    permission to add to the scanner's policy.  Idempotent: a message that already carries
    the note is kept as is.
    """
    if info.kind is not ErrorKind.ACCESS_DENIED:
        return info
    note = permission_note(operation)
    if note in info.message:
        return info
    return ErrorInfo(info.kind, info.code, f"{info.message} {note}".strip())
