"""What every part of the config shares: strict models and secrets kept out of the file.

``Strict`` forbids unknown keys (a typo must not be silently ignored) and freezes the
settings.  ``SecretSources`` is the rule for anything that talks to another system (a
notification target, a ticketing target): a secret is never written in the config, only
where to find it, ``<what>_env`` (an environment variable) or ``<what>_file`` (a file).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


def unique_names(targets: list[Any]) -> list[Any]:
    """A list of targets whose ``name``s are unique (logs, ledgers and ``--target`` name
    them), for a ``field_validator``."""
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ValueError(f"two targets are named {target.name!r}")
        seen.add(target.name)
    return targets


class Strict(BaseModel):
    """A frozen settings model whose unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


INLINE_SECRETS = ("password", "secret", "token", "url", "api_key", "user")
"""Keys that would put a secret into the config itself; ``<key>_env``/``_file`` instead."""


class SecretSources(Strict):
    """A model whose secrets come from ``<what>_env`` or ``<what>_file`` keys.

    ``SECRETS`` names the stems (``("url", "secret")`` for a webhook): the secret checks of
    ``scanner config check`` and the daemon's start-up read exactly those.
    """

    SECRETS: ClassVar[tuple[str, ...]] = ()
    INLINE: ClassVar[tuple[str, ...]] = INLINE_SECRETS
    """The keys refused as inline secrets (a ticketing base URL is not a secret)."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in cls.INLINE:
                if key in data:
                    raise ValueError(
                        f"{key}: secrets are never written in the config; use {key}_env "
                        f"(an environment variable) or {key}_file (a file) instead"
                    )
        return data

    @staticmethod
    def _one_source(what: str, env: str | None, file: str | None, required: bool) -> None:
        if env and file:
            raise ValueError(f"give {what}_env or {what}_file, not both")
        if required and not (env or file):
            raise ValueError(f"{what}_env or {what}_file is required")


class SignedWebhook(SecretSources):
    """A webhook: its URL is a secret (a Slack hook URL carries its token in the path) and
    an optional HMAC-SHA256 key signs each POST.  Notification and ticket webhooks share it."""

    SECRETS = ("url", "secret")
    url_env: str | None = Field(
        default=None,
        description="Environment variable holding the URL (a secret: Slack's carries its "
        "token); this or `url_file` is required",
    )
    url_file: str | None = Field(
        default=None,
        description="File holding the URL (relative paths: to the config file's directory)",
    )
    secret_env: str | None = Field(
        default=None,
        description="Environment variable holding an HMAC-SHA256 signing key: each POST "
        "then carries `X-Scanner-Timestamp` and `X-Scanner-Signature` headers",
    )
    secret_file: str | None = Field(
        default=None, description="File holding the signing key (instead of `secret_env`)"
    )

    @model_validator(mode="after")
    def _webhook_sources(self) -> SignedWebhook:
        self._one_source("url", self.url_env, self.url_file, required=True)
        self._one_source("secret", self.secret_env, self.secret_file, required=False)
        return self
