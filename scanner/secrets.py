"""Secrets of notification and ticketing targets: from an environment variable or a file.

Config names where a secret is (``url_env: SLACK_HOOK``, ``password_file: smtp.pass``);
this module reads it and registers it with :func:`scanner.logs.register_secret` before
anything can use it, so no log line can carry it (a user name is read the same way but
not masked: see :data:`NOT_SECRET`).  Errors name the variable or the file, never the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from scanner.config import Config
from scanner.configbase import SecretSources
from scanner.logs import register_secret

NOT_SECRET = frozenset({"user"})
"""Stems read like secrets but not masked: a user name is an identity (``scanner`` would
mask that word in every log line); its password or token is what must never appear."""

SECTIONS = ("notify", "tickets")
"""The config sections whose ``targets`` hold secrets, in the order they are checked."""


class SecretError(Exception):
    """A configured secret cannot be read (the message names where it was looked for).

    ``key`` is the config key (``url_env``), ``detail`` the problem without it, ``status``
    the one-word state ``scanner config check`` shows: ``NOT SET``, ``NOT READABLE`` or
    ``EMPTY``.
    """

    def __init__(self, key: str, detail: str, status: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key, self.detail, self.status = key, detail, status


def resolve(target: SecretSources, what: str, base_dir: str | Path) -> str | None:
    """The value of ``<what>_env`` or ``<what>_file`` (None when neither is configured).

    A file's trailing newline is dropped (``echo secret > file`` writes one); a relative
    path is relative to the config file's directory, as every path in the config is.
    """
    env: str | None = getattr(target, f"{what}_env", None)
    file: str | None = getattr(target, f"{what}_file", None)
    if env:
        key = f"{what}_env"
        value = os.environ.get(env)
        if value is None:
            raise SecretError(key, f"environment variable {env} is not set", "NOT SET")
        if not value.strip():
            raise SecretError(key, f"environment variable {env} is empty", "EMPTY")
    elif file:
        key = f"{what}_file"
        path = Path(file) if Path(file).is_absolute() else Path(base_dir) / file
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(key, f"cannot read {path}: {exc.strerror}", "NOT READABLE") from None
        except UnicodeDecodeError:
            raise SecretError(key, f"{path} is not UTF-8 text", "NOT READABLE") from None
        if not value.strip():
            raise SecretError(key, f"{path} is empty", "EMPTY")
    else:
        return None
    if what not in NOT_SECRET:
        register_secret(value)
    return value


@dataclass(frozen=True)
class SecretCheck:
    """One ``*_env`` / ``*_file`` reference of a target, read as a cycle reads it.

    ``section`` is ``notify`` or ``tickets``; ``index`` the target's place in its list.

    ``status`` is ``set`` / ``readable`` when usable (else the :class:`SecretError` status);
    ``problem`` is why a cycle could not use it, and ``key`` is None for a problem of the
    target as a whole (a webhook URL that is not http(s)).
    """

    section: str
    index: int
    target: str
    reference_key: str
    reference: str
    status: str
    problem: str | None = None
    key: str | None = None

    def message(self) -> str:
        """The problem as one line naming the target (and the key, when it is one key's)."""
        where = f"{self.key}: " if self.key else ""
        what = "notify" if self.section == "notify" else "ticket"
        return f"{what} target {self.target!r}: {where}{self.problem}"


def secret_checks(config: Config) -> list[SecretCheck]:
    """Every secret reference of every notify and ticket target, each read once (which
    registers it for masking too), without sending anything."""
    checks = []
    for section in SECTIONS:
        checks.extend(_target_checks(config, section))
    return checks


def _target_checks(config: Config, section: str) -> list[SecretCheck]:
    checks = []
    targets: list[SecretSources] = list(getattr(config, section).targets)
    for index, target in enumerate(targets):
        for what in target.SECRETS:
            for suffix, good in (("env", "set"), ("file", "readable")):
                reference_key = f"{what}_{suffix}"
                reference = getattr(target, reference_key, None)
                if not reference:
                    continue
                name = str(getattr(target, "name", index))
                found = partial(SecretCheck, section, index, name, reference_key, str(reference))
                try:
                    value = resolve(target, what, config.base_dir)
                except SecretError as exc:
                    checks.append(found(exc.status, exc.detail, exc.key))
                    continue
                if what == "url" and not http_url(value):
                    problem = f"the webhook URL from {reference} is not an http:// or https:// URL"
                    checks.append(found(good, problem))
                else:
                    checks.append(found(good))
    return checks


def check_secrets(config: Config) -> list[str]:
    """Every secret of every target that cannot be used, one line each
    (``scanner config check`` and the daemon's start-up: a typo in a variable name should
    show up then, not at 2 a.m.)."""
    return [check.message() for check in secret_checks(config) if check.problem]


def http_url(value: str | None) -> bool:
    """An http:// or https:// URL with a host (anything else cannot be POSTed to)."""
    if value is None:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
