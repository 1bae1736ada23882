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
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from scanner.configbase import SecretSources, SignedWebhook, Strict, unique_names
from scanner.errors import InputError
from scanner.model.finding import Severity
from scanner.orgconf import AccountEntry, ExecutorConfig, OrganizationConfig, check_regions
from scanner.ticketconf import TicketsConfig
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


class RetryConfig(Strict):
    """botocore retry behaviour: bounded attempts at call level (pages retry per call)."""

    mode: Literal["standard", "adaptive"] = Field(
        default="adaptive",
        description="botocore retry mode (`adaptive` also rate-limits the client when throttled)",
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Total attempts per AWS call, the first included; a page still throttled "
        "after them gets 2 more tries, then its scope is an ERROR",
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds botocore waits to connect to an endpoint"
    )
    read_timeout: float = Field(
        default=30.0, gt=0, description="Seconds botocore waits for a response"
    )


class CollectorsConfig(Strict):
    """Which collectors run.  A disabled collector is recorded as ``disabled``."""

    disabled: list[str] = Field(
        default_factory=list,
        description="Collectors or whole services to skip (names below); each is recorded as "
        "`disabled`, and no rule PASSes on data it lacks",
    )
    concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="(account, region, collector) units collected at once by the local "
        "executor (and threads per task on Dask)",
    )
    service_concurrency: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICE_CONCURRENCY),
        description="At most this many collectors of one AWS service run at once in one "
        "account (AWS throttles per account and service); the keys given replace those "
        "defaults",
    )

    @field_validator("service_concurrency")
    @classmethod
    def _limits(cls, value: dict[str, int]) -> dict[str, int]:
        for service, limit in value.items():
            if limit < 1:
                raise ValueError(f"{service}: the limit must be at least 1")
        return {**DEFAULT_SERVICE_CONCURRENCY, **value}


DEFAULT_SERVICE_CONCURRENCY: dict[str, int] = {"iam": 1, "organizations": 1, "sagemaker": 4}
"""IAM and Organizations have low per-account rate limits; SageMaker's describe calls too."""


class ScopeConfig(Strict):
    """Extra VPCs the VPC rules must check even when they host no notebook."""

    vpcs: list[str] = Field(
        default_factory=list,
        description="VPC ids the `vpc-has-sagemaker-*-endpoint` rules check even if they host "
        "no notebook; a listed VPC that is not found is an ERROR",
    )


class IamConfig(Strict):
    """IAM analysis settings (issue: IAM evaluator and public access paths)."""

    actions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_IAM_ACTIONS),
        description="IAM actions that must be reachable only through the approved endpoints",
    )


class PublicPathsConfig(Strict):
    """Which outbound-only routes the public-access-path verdicts count as a path.

    An internet gateway route is always a path.  A NAT gateway or an egress-only internet
    gateway admits no connection from the internet, but it lets code in the notebook or
    Studio app send data to any host on it: under HIPAA transmission security and PCI DSS
    1.3.2 (outbound traffic restricted to what is necessary) that is a way out, so both
    count by default.  An estate whose NAT egress passes an inspecting firewall can turn
    them off; the routes are then still named in the evidence.
    """

    nat_gateway: bool = Field(
        default=True,
        description="The public-access-path verdicts count a subnet route to a NAT gateway as "
        "an outbound path (see [Public access paths](#public-access-paths))",
    )
    egress_only_internet_gateway: bool = Field(
        default=True,
        description="... and a route to an egress-only internet gateway (IPv6 out); a route "
        "not counted is still named in the evidence",
    )


class OutputConfig(Strict):
    """Where reports go and in which formats."""

    dir: str = Field(
        default="reports",
        description="Directory for reports (each run writes `DIR/<run-id>/`), relative to the "
        "current directory; `--output` overrides",
    )
    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        description="Report formats to write (see [Report formats](#report-formats)); "
        "`--format` overrides",
    )


class StoreConfig(Strict):
    """The history store (README, "History, drift and baselines")."""

    url: str | None = Field(
        default=None,
        description="The history store: `sqlite:///PATH` or "
        "`postgresql+psycopg://user@host:5432/db` (a plain `postgresql://` means psycopg 3; "
        "the password from `PGPASSWORD` or `~/.pgpass`); unset: "
        "`sqlite:///<output.dir>/history.db`; `--store` / `SCANNER_STORE` override it",
    )
    lock: Literal["wait", "refuse"] = Field(
        default="wait",
        description="A second scan on the same store waits for the first, or `refuse`s at once",
    )
    lock_timeout: float = Field(
        default=3600.0, gt=0, description="Seconds to wait for the store lock (`lock: wait`)"
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        description="After each scan, prune runs older than this many days (never a "
        "baseline's run, never the newest); unset: keep all",
    )
    baseline: str | None = Field(
        default=None,
        description="The baseline each scan reports drift against; unset: the newest baseline",
    )


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


class ScheduleConfig(Strict):
    """The nightly job (``scanner schedule``); see README, "Running nightly"."""

    cron: str = Field(
        default="0 2 * * *",
        description="Crontab line of the nightly job: 5 fields (minute hour day month "
        "day-of-week), or 6 with seconds first",
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone the cron line is read in (`Europe/Berlin`)"
    )
    jitter: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="Seconds of random delay added to each fire, so many scanners do not hit "
        "the AWS APIs at the same moment",
    )
    misfire_grace: int = Field(
        default=3600,
        ge=1,
        description="Seconds a missed run (the daemon was down at fire time) may still start "
        "late after a restart; later than that it is skipped",
    )
    max_age_hours: float = Field(
        default=26.0,
        gt=0,
        description="`scanner schedule status` exits 1 when the last complete run is older "
        "than this many hours (fractions allowed)",
    )
    metrics_file: str | None = Field(
        default=None,
        description="Prometheus textfile written after each cycle; `--metrics-file` overrides",
    )

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


NotifyWhen = Literal["always", "problems", "changes"]


class _Target(SecretSources):
    """A notification target; its secrets come from an environment variable or a file."""

    name: str = Field(
        min_length=1, description="The target's name in logs and messages (unique per config)"
    )
    when: NotifyWhen = Field(
        default="always",
        description="`always`; `problems`: only when a FAIL or ERROR was found or the run is "
        "incomplete; `changes`: only when there are new public paths, drift, or the run is "
        "incomplete",
    )


class WebhookTarget(_Target, SignedWebhook):
    """A JSON POST per cycle; ``format: slack`` sends a Slack-compatible ``text``/``blocks``."""

    kind: Literal["webhook"] = Field(description="An HTTP POST per cycle")
    format: Literal["json", "slack"] = Field(
        default="json",
        description="The body: the scanner's JSON summary, or Slack's `text`/`blocks`",
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the POST")


class SmtpTarget(_Target):
    """An email per cycle through an SMTP server."""

    SECRETS = ("password",)
    kind: Literal["smtp"] = Field(description="An email per cycle through an SMTP server")
    host: str = Field(min_length=1, description="SMTP server host name")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port")
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="`starttls` upgrades a plain connection (port 587); `ssl` is TLS from "
        "the start (port 465); `none` sends in clear text",
    )
    username: str | None = Field(
        default=None, description="Login user; unset: no login (a password needs one)"
    )
    password_env: str | None = Field(
        default=None, description="Environment variable holding the login password"
    )
    password_file: str | None = Field(
        default=None,
        description="File holding the login password (relative paths: to the config file's "
        "directory)",
    )
    sender: str = Field(min_length=3, description="The `From:` address")
    to: list[str] = Field(min_length=1, description="Recipient addresses")
    timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the server at each step"
    )

    @model_validator(mode="after")
    def _sources(self) -> SmtpTarget:
        self._one_source("password", self.password_env, self.password_file, required=False)
        if (self.password_env or self.password_file) and not self.username:
            raise ValueError("password_env/password_file need a username")
        return self


NotifyTarget = Annotated[WebhookTarget | SmtpTarget, Field(discriminator="kind")]


class NotifyConfig(Strict):
    """Where each cycle's summary goes (README, "Notifications")."""

    targets: list[NotifyTarget] = Field(
        default_factory=list,
        description="Where each cycle's summary goes: webhook and SMTP targets "
        "(keys below); secrets come only from `*_env` or `*_file` keys, a `password`, "
        "`token`, `secret`, `url` or `api_key` key is an error",
    )

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, value: list[WebhookTarget | SmtpTarget]) -> list[Any]:
        return unique_names(value)


class Config(Strict):
    """The whole ``config.yaml``."""

    profile: str | None = Field(
        default=None, description="AWS profile; unset: the standard credential chain"
    )
    regions: list[str] = Field(
        default_factory=list,
        description="Regions to scan; empty: every region enabled in the account. `--region` "
        "(repeatable) overrides",
    )
    accounts: list[AccountEntry] = Field(
        default_factory=list,
        description="Accounts to scan, each through its `role_arn` (keys below); empty: the "
        "account of the scanner's credentials, or the organization's (`organization`)",
    )
    organization: OrganizationConfig = Field(
        default_factory=OrganizationConfig,
        description="Discover and scan the accounts of the AWS Organization",
    )
    executor: ExecutorConfig = Field(
        default_factory=ExecutorConfig, description="Where collection runs"
    )
    endpoint_url: str | None = Field(
        default=None,
        description="Send every AWS call to this endpoint; unset: `AWS_ENDPOINT_URL`, else "
        "AWS's own endpoints",
    )
    retries: RetryConfig = Field(default_factory=RetryConfig, description="AWS call retries")
    collectors: CollectorsConfig = Field(
        default_factory=CollectorsConfig, description="Which collectors run, how many at once"
    )
    rule_packs: list[str] = Field(
        default_factory=list,
        description="Extra rule pack files (the shipped packs' format), relative to the "
        "config file",
    )
    disabled_rules: list[str] = Field(
        default_factory=list, description="Rule ids to skip (an unknown id is an error)"
    )
    scope: ScopeConfig = Field(default_factory=ScopeConfig, description="Extra VPCs to check")
    approved_vpc_endpoints: list[str] = Field(
        default_factory=list,
        description='VPC endpoint ids that count as "inside" for the IAM path analysis; '
        "empty: the SageMaker interface endpoints found in the scanned accounts",
    )
    approved_vpcs: list[str] = Field(
        default_factory=list,
        description='VPC ids that count as "inside" for the IAM path analysis; empty: the '
        "VPCs of the approved endpoints",
    )
    iam: IamConfig = Field(default_factory=IamConfig, description="IAM analysis")
    public_paths: PublicPathsConfig = Field(
        default_factory=PublicPathsConfig, description="What counts as a way out"
    )
    fail_on: Severity = Field(
        default=Severity.LOW,
        description="Lowest severity whose FAIL gives exit status 1; `--fail-on` overrides",
    )
    output: OutputConfig = Field(default_factory=OutputConfig, description="Reports")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`json`: one JSON object per log line (for the nightly job); "
        "`--log-format` overrides",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level logged; `-v` means `debug`"
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="The nightly job (`scanner schedule`)"
    )
    notify: NotifyConfig = Field(default_factory=NotifyConfig, description="Notifications")
    tickets: TicketsConfig = Field(
        default_factory=TicketsConfig, description="Findings into ticketing systems"
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="The history store")
    waivers: list[Waiver] = Field(
        default_factory=list,
        description="Accepted risks (keys below): a waived FAIL stays FAIL, marked waived, and "
        "does not count toward `fail_on`",
    )
    waivers_file: str | None = Field(
        default=None,
        description="A YAML file with the same `waivers:` list, relative to the config file",
    )
    base_dir: str = Field(
        default=".",
        exclude=True,
        description="Directory that relative paths in the file (rule_packs, waivers_file) "
        "are resolved against: the config file's own; set by load_config, never by the user",
    )
    # Where the settings came from, so checks made later (collector names, rule ids) can
    # still point at the file and line.
    _doc: YamlDoc | None = PrivateAttr(default=None)

    def error_at(self, problem: str, *path: str | int) -> InputError:
        """An InputError located at ``path`` in the config file (or unlocated defaults)."""
        located = f"{'.'.join(map(str, path))}: {problem}"
        if self._doc is None:
            return InputError(located, path="<defaults>")
        return self._doc.error(located, path)

    _regions_shape = field_validator("regions")(check_regions)

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, value: list[AccountEntry]) -> list[AccountEntry]:
        seen: set[str] = set()
        for entry in value:
            if entry.id in seen:
                raise ValueError(f"account {entry.id} is listed twice")
            seen.add(entry.id)
        return value

    @model_validator(mode="after")
    def _one_way_to_name_accounts(self) -> Config:
        if self.accounts and self.organization.discover:
            raise ValueError(
                "accounts and organization.discover both name the accounts to scan; use one"
            )
        return self

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
