"""AWS session and the one client factory every AWS call goes through.

Why a factory: every client must carry the same retry/timeout settings, the scanner's user
agent and, above all, the read-only guard.  Making clients anywhere else would be a way
around the guard, so nothing outside this module calls ``boto3.client``.

Credentials follow the standard chain (environment, shared files, ``profile`` from config,
SSO, instance roles).  The endpoint is ``endpoint_url`` from config if set; otherwise
botocore itself honours ``AWS_ENDPOINT_URL`` (and per-service ``AWS_ENDPOINT_URL_<SVC>``).
``AWS_REGION`` is honoured as the default region, as other AWS SDKs do; botocore alone
reads only ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from scanner import __version__
from scanner.aws.guard import install_guard
from scanner.config import Config
from scanner.errors import InputError
from scanner.logs import register_secret

FALLBACK_REGION = "us-east-1"

# Where a partition's global services (IAM, Route 53, Organizations) are called.
_GLOBAL_REGION_BY_PREFIX = (("cn-", "cn-north-1"), ("us-gov-", "us-gov-west-1"))


def global_region_for(region: str) -> str:
    """The region to call global services in, for the partition ``region`` belongs to."""
    for prefix, global_region in _GLOBAL_REGION_BY_PREFIX:
        if region.startswith(prefix):
            return global_region
    return FALLBACK_REGION


def make_session(config: Config) -> boto3.Session:
    """A boto3 Session for ``config.profile`` (or the default chain), honouring ``AWS_REGION``.

    A missing profile is the user's input error (exit 2), not a collection failure.
    """
    try:
        return boto3.Session(
            profile_name=config.profile, region_name=os.environ.get("AWS_REGION") or None
        )
    except ProfileNotFound:
        raise InputError(
            f"AWS profile {config.profile!r} is not defined in the AWS config files",
            path="config: profile",
        ) from None


def client_config(config: Config) -> BotoConfig:
    """botocore settings shared by every client.

    ``retries.max_attempts`` in our config is the *total* number of attempts per call
    (botocore's ``total_max_attempts``), so ``max_attempts: 1`` means "never retry".
    """
    return BotoConfig(
        retries={"mode": config.retries.mode, "total_max_attempts": config.retries.max_attempts},
        connect_timeout=config.retries.connect_timeout,
        read_timeout=config.retries.read_timeout,
        user_agent_extra=f"privatelink-scanner/{__version__}",
    )


def _keep_out_of_logs(session: boto3.Session) -> None:
    """Register the secret key and session token with the log redactor (see
    :mod:`scanner.logs`), so no debug line of ours or a library's can print them."""
    try:
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except (BotoCoreError, ClientError):
        # Credentials that cannot be loaded (an expired SSO token, a role that cannot be
        # assumed) are the preflight's to report, as an ERROR on every collector.
        return
    if frozen is not None:
        register_secret(frozen.secret_key)
        register_secret(frozen.token)


class ClientFactory:
    """Makes guarded clients.  Safe to share between threads.

    boto3 Sessions are not thread-safe but the clients they make are; client creation is
    therefore serialised with a lock, and each (service, region) client is made once and
    reused by every worker.
    """

    def __init__(
        self, config: Config, session: boto3.Session | None = None, *, register: bool = True
    ) -> None:
        self.config = config
        self.session = session if session is not None else make_session(config)
        self._botocore_config = client_config(config)
        if register:  # assumed sessions register each set of credentials as it arrives
            _keep_out_of_logs(self.session)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    @property
    def default_region(self) -> str:
        """The session's region (``AWS_REGION``, profile, ``AWS_DEFAULT_REGION``) or us-east-1."""
        return str(self.session.region_name or FALLBACK_REGION)

    def client(self, service: str, region: str) -> Any:
        """A guarded client for ``service`` in ``region``."""
        key = (service, region)
        with self._lock:
            existing = self._clients.get(key)
            if existing is not None:
                return existing
            made = install_guard(
                self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.config.endpoint_url,
                    config=self._botocore_config,
                )
            )
            self._clients[key] = made
            return made
