"""Sessions in other accounts: ``sts:AssumeRole`` with credentials that refresh themselves.

An organization scan can run for an hour or more; assumed credentials last
``duration_seconds``.  Credentials fetched once would expire mid-scan and every later call
in that account would fail, so each account's session carries botocore's
``DeferredRefreshableCredentials``: botocore calls :func:`_fetcher`'s function again when
the credentials come within its refresh window of their expiry (15 minutes advisory, 10
mandatory), under its own lock, for every client made from the session.

The AssumeRole call itself goes through a client of the base :class:`ClientFactory`, so it
carries the read-only guard (``sts:AssumeRole`` changes nothing in any account and is on
the allowlist), the retry settings and the scanner's user agent.  Each set of credentials
is registered with the log redactor as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.credentials import DeferredRefreshableCredentials

from scanner.aws.session import ClientFactory
from scanner.logs import register_secret


@dataclass(frozen=True)
class RoleTarget:
    """How to reach one account: the role, and what AssumeRole is sent with."""

    role_arn: str
    session_name: str
    external_id: str | None = None
    duration_seconds: int = 3600

    def params(self) -> dict[str, Any]:
        """The AssumeRole request."""
        out: dict[str, Any] = {
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.duration_seconds,
        }
        if self.external_id is not None:
            out["ExternalId"] = self.external_id
        return out


def _fetcher(base: ClientFactory, role: RoleTarget) -> Callable[[], dict[str, str]]:
    """The refresh function botocore calls for fresh credentials (the first time included)."""

    def fetch() -> dict[str, str]:
        # botocore's own retries (the client's retry mode and attempts) cover throttling.
        answer = base.client("sts", base.default_region).assume_role(**role.params())
        creds = answer["Credentials"]
        register_secret(str(creds["SecretAccessKey"]))
        register_secret(str(creds["SessionToken"]))
        expiry = creds["Expiration"]
        return {
            "access_key": str(creds["AccessKeyId"]),
            "secret_key": str(creds["SecretAccessKey"]),
            "token": str(creds["SessionToken"]),
            "expiry_time": expiry.isoformat() if hasattr(expiry, "isoformat") else str(expiry),
        }

    return fetch


def assumed_session(base: ClientFactory, role: RoleTarget) -> boto3.Session:
    """A boto3 Session whose credentials come from assuming ``role`` and refresh themselves.

    Nothing is called yet: the first client call (or :func:`ensure_credentials`) assumes.
    """
    core = botocore.session.Session()
    core._credentials = DeferredRefreshableCredentials(
        refresh_using=_fetcher(base, role), method="sts-assume-role"
    )
    return boto3.Session(botocore_session=core, region_name=base.default_region)


def ensure_credentials(session: boto3.Session) -> None:
    """Assume now (raises the AssumeRole error: AccessDenied, a role that does not exist)."""
    credentials = session.get_credentials()
    if credentials is None:  # pragma: no cover - an assumed session always has a provider
        raise RuntimeError("the session has no credentials")
    credentials.get_frozen_credentials()


def account_factory(base: ClientFactory, role: RoleTarget | None) -> ClientFactory:
    """The factory for one account: the base one for the credentials' own account, else a
    new one over an assumed, self-refreshing session (same config, same guard)."""
    if role is None:
        return base
    return ClientFactory(base.config, session=assumed_session(base, role), register=False)
