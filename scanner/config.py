"""Configuration: ``config.yaml`` validated into typed settings.

Every key is optional; with no file at all the defaults scan the current credentials in
the configured/all enabled regions with the shipped rule packs.  Unknown keys are errors
(a typo such as ``regoins`` must not silently scan every region), reported with file and
line via :mod:`scanner.yamldoc`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from scanner.errors import InputError
from scanner.model.finding import Severity
from scanner.waivers import Waiver, load_waivers_file
from scanner.yamldoc import YamlDoc, load_yaml, pydantic_error

DEFAULT_IAM_ACTIONS = [
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:DescribeNotebookInstance",
]

Format = Literal["csv", "html", "json", "compliance", "ocsf", "asff", "xlsx"]
ALL_FORMATS: tuple[Format, ...] = ("csv", "html", "json", "compliance", "ocsf", "asff", "xlsx")
# What a scan writes unless told otherwise: the other formats are for other tools and
# auditors, asked for with --format or output.formats.
DEFAULT_FORMATS: tuple[Format, ...] = ("csv", "html", "json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryConfig(_Strict):
    """botocore retry behaviour: bounded attempts at call level (pages retry per call)."""

    mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)


class CollectorsConfig(_Strict):
    """Which collectors run.  A disabled collector is recorded as ``disabled``."""

    disabled: list[str] = Field(default_factory=list)
    concurrency: int = Field(default=8, ge=1, le=64)


class ScopeConfig(_Strict):
    """Extra VPCs the VPC rules must check even when they host no notebook."""

    vpcs: list[str] = Field(default_factory=list)


class IamConfig(_Strict):
    """IAM analysis settings (issue: IAM evaluator and public access paths)."""

    actions: list[str] = Field(default_factory=lambda: list(DEFAULT_IAM_ACTIONS))


class PublicPathsConfig(_Strict):
    """Which outbound-only routes the public-access-path verdicts count as a path.

    An internet gateway route is always a path.  A NAT gateway or an egress-only internet
    gateway admits no connection from the internet, but it lets code in the notebook or
    Studio app send data to any host on it: under HIPAA transmission security and PCI DSS
    1.3.2 (outbound traffic restricted to what is necessary) that is a way out, so both
    count by default.  An estate whose NAT egress passes an inspecting firewall can turn
    them off; the routes are then still named in the evidence.
    """

    nat_gateway: bool = True
    egress_only_internet_gateway: bool = True


class OutputConfig(_Strict):
    """Where reports go and in which formats."""

    dir: str = "reports"
    formats: list[Format] = Field(default_factory=lambda: list(DEFAULT_FORMATS))


class StoreConfig(_Strict):
    """The history store (README, "History, drift and baselines")."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<output.dir>/history.db",
    )
    lock: Literal["wait", "refuse"] = "wait"
    lock_timeout: float = Field(default=3600.0, gt=0)
    retention_days: int | None = Field(default=None, ge=1)
    baseline: str | None = None


def cron_fields(expression: str) -> dict[str, str]:
    """The fields of a crontab line for APScheduler's ``CronTrigger``.

    Five fields are the standard ``minute hour day month day-of-week``.  Six fields put
    seconds first (as Quartz and Spring do): a schedule every few seconds is how the tests
    fire the real scheduler quickly, and nothing else needs it.
    """
    parts = expression.split()
    names = ["minute", "hour", "day", "month", "day_of_week"]
    if len(parts) == 6:
        names = ["second", *names]
    elif len(parts) != 5:
        raise ValueError(
            f"{expression!r} is not a crontab line: expected 5 fields (minute hour day month "
            "day-of-week), or 6 with seconds first"
        )
    return dict(zip(names, parts, strict=True))


def cron_trigger(expression: str, timezone: str, jitter: int = 0) -> CronTrigger:
    """The ``CronTrigger`` of ``schedule.cron`` (``ValueError`` naming the bad field)."""
    return CronTrigger(**cron_fields(expression), timezone=timezone, jitter=jitter or None)


class ScheduleConfig(_Strict):
    """The nightly job (``scanner schedule``); see README, "Running nightly"."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    jitter: int = Field(default=300, ge=0, le=86400)
    misfire_grace: int = Field(default=3600, ge=1)
    max_age_hours: float = Field(default=26.0, gt=0)
    metrics_file: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone such as UTC or Europe/Berlin"
            ) from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        cron_trigger(value, "UTC")  # a ValueError names the field that does not parse
        return value


_INLINE_SECRETS = ("password", "secret", "token", "url", "api_key")
NotifyWhen = Literal["always", "problems", "changes"]


class _Target(_Strict):
    """A notification target; its secrets come from an environment variable or a file."""

    name: str = Field(min_length=1)
    when: NotifyWhen = "always"

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _INLINE_SECRETS:
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


class WebhookTarget(_Target):
    """A JSON POST per cycle; ``format: slack`` sends a Slack-compatible ``text``/``blocks``."""

    kind: Literal["webhook"]
    format: Literal["json", "slack"] = "json"
    url_env: str | None = None
    url_file: str | None = None
    secret_env: str | None = None
    secret_file: str | None = None
    timeout: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _sources(self) -> WebhookTarget:
        self._one_source("url", self.url_env, self.url_file, required=True)
        self._one_source("secret", self.secret_env, self.secret_file, required=False)
        return self


class SmtpTarget(_Target):
    """An email per cycle through an SMTP server."""

    kind: Literal["smtp"]
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    sender: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _sources(self) -> SmtpTarget:
        self._one_source("password", self.password_env, self.password_file, required=False)
        if (self.password_env or self.password_file) and not self.username:
            raise ValueError("password_env/password_file need a username")
        return self


NotifyTarget = Annotated[WebhookTarget | SmtpTarget, Field(discriminator="kind")]


class NotifyConfig(_Strict):
    """Where each cycle's summary goes (README, "Notifications")."""

    targets: list[NotifyTarget] = Field(default_factory=list)

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, value: list[WebhookTarget | SmtpTarget]) -> list[Any]:
        seen: set[str] = set()
        for target in value:
            if target.name in seen:
                raise ValueError(f"two targets are named {target.name!r}")
            seen.add(target.name)
        return value


class Config(_Strict):
    """The whole ``config.yaml``."""

    profile: str | None = None
    regions: list[str] = Field(default_factory=list)
    endpoint_url: str | None = None
    retries: RetryConfig = Field(default_factory=RetryConfig)
    collectors: CollectorsConfig = Field(default_factory=CollectorsConfig)
    rule_packs: list[str] = Field(default_factory=list)
    disabled_rules: list[str] = Field(default_factory=list)
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    approved_vpc_endpoints: list[str] = Field(default_factory=list)
    approved_vpcs: list[str] = Field(default_factory=list)
    iam: IamConfig = Field(default_factory=IamConfig)
    public_paths: PublicPathsConfig = Field(default_factory=PublicPathsConfig)
    fail_on: Severity = Severity.LOW
    output: OutputConfig = Field(default_factory=OutputConfig)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    waivers: list[Waiver] = Field(default_factory=list)
    waivers_file: str | None = None
    # Directory that relative paths in this file (rule_packs) are resolved against.
    base_dir: str = Field(default=".", exclude=True)
    # Where the settings came from, so checks made later (collector names, rule ids) can
    # still point at the file and line.
    _doc: YamlDoc | None = PrivateAttr(default=None)

    def error_at(self, problem: str, *path: str | int) -> InputError:
        """An InputError located at ``path`` in the config file (or unlocated defaults)."""
        located = f"{'.'.join(map(str, path))}: {problem}"
        if self._doc is None:
            return InputError(located, path="<defaults>")
        return self._doc.error(located, path)

    @field_validator("regions")
    @classmethod
    def _regions_look_like_regions(cls, value: list[str]) -> list[str]:
        for region in value:
            parts = region.split("-")
            if len(parts) < 3 or not parts[-1].isdigit():
                raise ValueError(f"{region!r} is not an AWS region name such as us-west-2")
        return value

    def all_waivers(self) -> list[Waiver]:
        """Inline waivers plus those of ``waivers_file`` (relative to the config file)."""
        extra = (
            load_waivers_file(Path(self.base_dir) / self.waivers_file) if self.waivers_file else []
        )
        return [*self.waivers, *extra]

    def digest(self) -> str:
        """Hash of the effective settings (recorded with every run, so a changed config
        explains changed findings)."""
        text = self.model_dump_json(exclude={"base_dir"})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rule_pack_paths(self) -> list[Path]:
        """User rule packs, resolved relative to the config file's directory."""
        return [(Path(self.base_dir) / p).resolve() for p in self.rule_packs]


def load_config(path: str | Path | None) -> Config:
    """Load and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return Config()
    doc = load_yaml(path)
    if doc.value is None:
        return Config(base_dir=str(Path(path).resolve().parent))
    if not isinstance(doc.value, dict):
        raise doc.error("the config file must be a mapping of settings")
    if "base_dir" in doc.value:
        raise doc.error("base_dir: unknown key", ("base_dir",))
    try:
        config = Config(**doc.value, base_dir=str(Path(path).resolve().parent))
    except ValidationError as exc:
        raise pydantic_error(doc, exc) from None
    config._doc = doc
    return config
