"""The ``tickets:`` section: which findings become tickets, and where (README, "Tickets").

One model per target kind, told apart by ``kind``, so each kind's keys are checked on
their own (a ServiceNow target has no ``project``; a GitHub one needs ``repository``).
Credentials come only from ``*_env`` / ``*_file`` keys (:class:`SecretSources`); the URL of
a ticketing system is not a secret and is written as it is, the webhook's URL is (it may
carry a token) and comes from ``url_env`` / ``url_file`` like a notification webhook's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from scanner.configbase import INLINE_SECRETS, SecretSources, SignedWebhook, Strict, unique_names
from scanner.model.finding import Severity

GroupBy = Literal["finding", "rule-account"]
PROJECT_KEY = r"^[A-Z][A-Z0-9_]{0,254}$"
"""Jira project keys: an upper-case letter, then upper-case letters, digits or ``_``."""

DEFAULT_JIRA_PRIORITIES: dict[str, str] = {
    "critical": "Highest",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    "info": "Lowest",
}


class TargetBase(SecretSources):
    """Keys every ticketing target has (timeouts and retries apply to each request)."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="The target's name in the ledger, logs and `--target` (unique; renaming "
        "a target starts a new ledger for it)",
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for each request")
    retries: int = Field(
        default=4,
        ge=3,
        le=10,
        description="Retries of a request after a 429 (honouring `Retry-After`) or a 5xx, so "
        "at least four tries; a create is retried only when it cannot have been received",
    )
    backoff: float = Field(
        default=0.5,
        ge=0,
        description="urllib3 backoff factor between retries (seconds: 0, 2x, 4x, ...)",
    )


class _Http(TargetBase):
    """A target reached over HTTPS at a configured base URL (not a secret: written as is)."""

    INLINE = tuple(k for k in INLINE_SECRETS if k != "url")

    url: str = Field(
        description="Base URL of the service, with its context path if it has one "
        "(`https://jira.example.com/jira`)",
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
    )

    @field_validator("url")
    @classmethod
    def _no_credentials_in_url(cls, value: str) -> str:
        if "@" in value.split("//", 1)[1].split("/", 1)[0]:
            raise ValueError("credentials in the URL: use user_env/token_env instead")
        return value.rstrip("/")


class _UserToken(_Http):
    """Basic auth (user and token or password) or, with a token alone, a bearer token."""

    SECRETS = ("user", "token")
    user_env: str | None = Field(
        default=None, description="Environment variable holding the user name (basic auth)"
    )
    user_file: str | None = Field(default=None, description="File holding the user name")
    token_env: str | None = Field(
        default=None,
        description="Environment variable holding the API token or password; without a user, "
        "it is sent as a bearer token (a personal access token)",
    )
    token_file: str | None = Field(
        default=None, description="File holding the token (instead of `token_env`)"
    )

    @model_validator(mode="after")
    def _sources(self) -> _UserToken:
        self._one_source("user", self.user_env, self.user_file, required=False)
        self._one_source("token", self.token_env, self.token_file, required=True)
        return self


class JiraTarget(_UserToken):
    """Jira Cloud (REST v3) or Jira Server / Data Center (REST v2)."""

    kind: Literal["jira"] = Field(description="Jira issues")
    api_version: Literal[2, 3] = Field(
        default=3, description="3: Jira Cloud REST v3; 2: Jira Server / Data Center REST v2"
    )
    project: str = Field(
        pattern=PROJECT_KEY,
        description="Project key of the new issues (`SEC`: an upper-case letter, then upper-case letters, digits or `_`)",
    )
    issue_type: str = Field(default="Bug", min_length=1, description="Issue type name")
    components: list[str] = Field(
        default_factory=list, description="Component names set on new issues"
    )
    labels: list[str] = Field(
        default_factory=list,
        description="Extra labels on new issues (the scanner adds `privatelink-scanner` and "
        "the fingerprint label itself)",
    )
    priorities: dict[Severity, str] = Field(
        default_factory=lambda: {Severity(k): v for k, v in DEFAULT_JIRA_PRIORITIES.items()},
        description="Jira priority name per severity (default critical: Highest, high: High, "
        "medium: Medium, low: Low, info: Lowest)",
    )
    done_transition: str = Field(
        default="Done",
        min_length=1,
        description="Name of the workflow transition that closes a resolved problem's issue "
        "(its id is read from the issue's transitions: ids vary per workflow)",
    )
    reopen_transition: str = Field(
        default="Reopen",
        min_length=1,
        description="Name of the transition that reopens an issue whose problem came back",
    )
    settle_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Jira's search is not read-after-write consistent: a create that may "
        "have happened (timed out, or the process died) is searched for again only once "
        "it is this old, so the search index has it",
    )

    @field_validator("labels")
    @classmethod
    def _label_shape(cls, value: list[str]) -> list[str]:
        for label in value:
            if not label or any(c.isspace() for c in label):
                raise ValueError(f"Jira labels have no spaces: {label!r}")
        return value


class ServiceNowTarget(_UserToken):
    """ServiceNow, through its Table API (incident, or another task table)."""

    kind: Literal["servicenow"] = Field(description="ServiceNow records (Table API)")
    table: str = Field(
        default="incident",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Table of the records (`incident`, or a task table of your own)",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Fixed fields set on new records (`assignment_group`, `category`, ...)",
    )
    done_state: str = Field(default="6", description="`state` value of a resolved record")
    reopen_state: str = Field(default="2", description="`state` value of a reopened record")
    close_code: str = Field(
        default="Solved (Permanently)",
        description="`close_code` set when resolving (incident's data policy requires one)",
    )


class GitHubTarget(_Http):
    """GitHub Issues (github.com, or GitHub Enterprise Server at `https://HOST/api/v3`)."""

    SECRETS = ("token",)
    kind: Literal["github"] = Field(description="GitHub issues")
    url: str = Field(
        default="https://api.github.com",
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="REST API base: https://api.github.com, or https://HOST/api/v3 on "
        "GitHub Enterprise Server",
    )
    repository: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="`owner/name`"
    )
    labels: list[str] = Field(default_factory=list, description="Extra labels on new issues")
    token_env: str | None = Field(
        default=None, description="Environment variable holding the token (required, or file)"
    )
    token_file: str | None = Field(default=None, description="File holding the token")

    @model_validator(mode="after")
    def _sources(self) -> GitHubTarget:
        self._one_source("token", self.token_env, self.token_file, required=True)
        return self


class TicketWebhookTarget(TargetBase, SignedWebhook):
    """A signed JSON POST per lifecycle event (opened, updated, resolved, reopened)."""

    kind: Literal["webhook"] = Field(description="A JSON POST per ticket lifecycle event")


class JiraCsvTarget(TargetBase):
    """A CSV file in Jira's import format, one row per new problem, for manual import."""

    kind: Literal["jira-csv"] = Field(description="A CSV file for Jira's CSV importer")
    dir: str | None = Field(
        default=None,
        description="Directory of the files (relative: to the config file's directory); "
        "default `<output.dir>/tickets`; each sync with new problems writes "
        "`<name>-<run id>.csv`",
    )
    project: str = Field(
        pattern=PROJECT_KEY, description="Project key, in the `Project Key` column"
    )
    issue_type: str = Field(default="Bug", min_length=1, description="`Issue Type` column")
    components: list[str] = Field(default_factory=list, description="`Component` columns")
    labels: list[str] = Field(default_factory=list, description="Extra `Labels` columns")
    priorities: dict[Severity, str] = Field(
        default_factory=lambda: {Severity(k): v for k, v in DEFAULT_JIRA_PRIORITIES.items()},
        description="`Priority` per severity (as for `jira`)",
    )


AnyTicketTarget = JiraTarget | ServiceNowTarget | GitHubTarget | TicketWebhookTarget | JiraCsvTarget
TicketTarget = Annotated[AnyTicketTarget, Field(discriminator="kind")]


class TicketsConfig(Strict):
    """Which findings become tickets, grouped how, and the targets (README, "Tickets")."""

    min_severity: Severity = Field(
        default=Severity.HIGH,
        description="Lowest severity of a FAIL that opens a ticket",
    )
    frameworks: list[str] = Field(
        default_factory=list,
        description="Only findings mapped to one of these frameworks (`hipaa`, "
        "`pci-dss-v4`); empty: all",
    )
    accounts: list[str] = Field(
        default_factory=list, description="Only findings in these account ids; empty: all"
    )
    rules: list[str] = Field(
        default_factory=list, description="Only findings of these rule ids; empty: all"
    )
    group_by: GroupBy = Field(
        default="finding",
        description="`finding`: one ticket per rule per resource; `rule-account`: one ticket "
        "per rule per account, listing its resources",
    )
    targets: list[TicketTarget] = Field(
        default_factory=list,
        description="Where tickets go: jira, servicenow, github, webhook and jira-csv targets "
        "(keys below); `scanner tickets sync` and the nightly job sync them",
    )

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, value: list[Any]) -> list[Any]:
        return unique_names(value)

    @field_validator("accounts")
    @classmethod
    def _account_ids(cls, value: list[str]) -> list[str]:
        for account in value:
            if not (len(account) == 12 and account.isdigit()):
                raise ValueError(f"{account!r} is not a 12-digit AWS account id")
        return value
