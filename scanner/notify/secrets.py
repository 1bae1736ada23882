"""Secrets of notification targets: read from an environment variable or a file, never config.

Config names where a secret is (``url_env: SLACK_HOOK``, ``password_file: smtp.pass``);
this module reads it and registers it with :func:`scanner.logs.register_secret` before
anything can use it, so no log line can carry it.  Errors name the variable or the file,
never the value.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from scanner.config import Config, SmtpTarget, WebhookTarget
from scanner.logs import register_secret

Target = WebhookTarget | SmtpTarget


class SecretError(Exception):
    """A configured secret cannot be read (the message names where it was looked for)."""


def secret_names(target: Target) -> tuple[str, ...]:
    """The secrets a target can have, by the stem of their ``<what>_env``/``_file`` keys."""
    return ("url", "secret") if isinstance(target, WebhookTarget) else ("password",)


def resolve(target: Target, what: str, base_dir: str | Path) -> str | None:
    """The value of ``<what>_env`` or ``<what>_file`` (None when neither is configured).

    A file's trailing newline is dropped (``echo secret > file`` writes one); a relative
    path is relative to the config file's directory, as every path in the config is.
    """
    env: str | None = getattr(target, f"{what}_env", None)
    file: str | None = getattr(target, f"{what}_file", None)
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"{what}_env: environment variable {env} is not set")
        if not value.strip():
            raise SecretError(f"{what}_env: environment variable {env} is empty")
    elif file:
        path = Path(file) if Path(file).is_absolute() else Path(base_dir) / file
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"{what}_file: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{what}_file: {path} is not UTF-8 text") from None
        if not value.strip():
            raise SecretError(f"{what}_file: {path} is empty")
    else:
        return None
    register_secret(value)
    return value


def check_secrets(config: Config) -> list[str]:
    """Every secret of every notify target that cannot be read, without sending anything
    (``scanner config check`` and the daemon's start-up: a typo in a variable name should
    show up then, not at 2 a.m.).  Reading registers the secrets for masking too."""
    problems = []
    for target in config.notify.targets:
        for what in secret_names(target):
            try:
                value = resolve(target, what, config.base_dir)
            except SecretError as exc:
                problems.append(f"notify target {target.name!r}: {exc}")
                continue
            if isinstance(target, WebhookTarget) and what == "url" and not http_url(value):
                source = target.url_env or target.url_file
                problems.append(
                    f"notify target {target.name!r}: the webhook URL from {source} is not an "
                    "http:// or https:// URL"
                )
    return problems


def http_url(value: str | None) -> bool:
    """An http:// or https:// URL with a host (anything else cannot be POSTed to)."""
    if value is None:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
