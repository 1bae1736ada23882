"""Rules as validated data: the pack schema, the compiled :class:`Rule` and :class:`RuleSet`.

The schema is strict (unknown keys are errors) because a misspelt key in a compliance rule
(``on_mising``) must never silently change what the rule means.  See
:mod:`scanner.engine` for the format as users write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scanner.engine.checks import Builtin
from scanner.engine.jmes import Expression
from scanner.model.finding import Severity, Status

RULE_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OnMissingSpec(_Strict):
    """What it means when the checked value is absent (null): AWS's documented default."""

    assume: Any = None
    status: Literal["PASS", "FAIL", "ERROR", "NOT_APPLICABLE"] | None = None
    because: str = Field(min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> OnMissingSpec:
        has_assume = "assume" in self.model_fields_set and self.assume is not None
        if has_assume == (self.status is not None):
            raise ValueError("set exactly one of `assume` (a non-null value) or `status`")
        return self


class CheckSpec(_Strict):
    """Either ``jmespath`` (+ ``pass_when`` + ``on_missing``) or ``builtin``."""

    jmespath: str | None = None
    pass_when: str | None = None
    on_missing: OnMissingSpec | None = None
    builtin: str | None = None


class MessagesSpec(_Strict):
    """Message templates; ``{value}``, ``{resource_id}`` and evidence names are substituted."""

    pass_: str | None = Field(default=None, alias="pass")
    fail: str | None = None


class RemediationSpec(_Strict):
    """How to fix it: prose plus the AWS CLI command (``{resource_id}`` etc. substituted)."""

    text: str = Field(min_length=1)
    cli: str = Field(min_length=1)


class FailRequirementSpec(_Strict):
    """One ``requires_for_fail`` entry written out: a type a FAIL (never a PASS) rests on."""

    type: str
    scope: Literal["subject", "all"] = "subject"
    unless_config: list[str] = Field(default_factory=list)
    because: str | None = None


class RuleSpec(_Strict):
    """One rule as written in a pack."""

    id: str = Field(pattern=RULE_ID_PATTERN)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    severity: Severity
    resource_type: str
    check: CheckSpec
    requires: list[str] = Field(default_factory=list)
    requires_for_fail: list[FailRequirementSpec] = Field(default_factory=list)
    select: str | None = None
    applies_to: str | None = None
    not_applicable: str | None = None
    scope_vpcs: bool = False
    messages: MessagesSpec = Field(default_factory=MessagesSpec)
    evidence: dict[str, str] = Field(default_factory=dict)
    remediation: RemediationSpec
    references: list[str] = Field(min_length=1)

    @field_validator("requires_for_fail", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """``- ec2:vpn-connection`` is ``- {type: ec2:vpn-connection}`` (so a bad long form
        is reported by its own field, not as "not a string")."""
        if isinstance(value, list):
            return [{"type": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _references_are_urls(self) -> RuleSpec:
        for ref in self.references:
            if not ref.startswith("https://"):
                raise ValueError(f"references must be https:// URLs, got {ref!r}")
        return self


class PackSpec(_Strict):
    """A rule pack file: optional name and description, then the rules."""

    pack: str | None = None
    description: str | None = None
    rules: list[RuleSpec] = Field(min_length=1)


@dataclass(frozen=True)
class OnMissing:
    """Compiled ``on_missing``: substitute ``assume`` or report ``status``."""

    because: str
    assume: Any = None
    status: Status | None = None


@dataclass(frozen=True)
class JmespathCheck:
    """``value`` is the decisive field; ``pass_when`` (over the value) must yield a boolean."""

    value: Expression
    pass_when: Expression | None
    on_missing: OnMissing


@dataclass(frozen=True)
class FailRequirement:
    """Compiled ``requires_for_fail`` entry (see :mod:`scanner.engine`).

    ``scope`` is ``subject`` (the finding's own account/region, as for ``requires``) or
    ``all`` (every scanned account and region: the data is pooled across the estate, like
    the discovered approved endpoints).  ``unless_config`` names config fields; when any is
    set (non-empty) the requirement does not apply, because the config then supplies what
    the collected data would have.
    """

    type: str
    scope: Literal["subject", "all"] = "subject"
    unless_config: tuple[str, ...] = ()
    because: str | None = None


@dataclass(frozen=True)
class Rule:
    """A loaded, compiled rule.  ``requires`` always includes ``resource_type``."""

    id: str
    title: str
    description: str
    severity: Severity
    resource_type: str
    check: JmespathCheck | Builtin
    requires: tuple[str, ...]
    remediation: dict[str, str]
    references: tuple[str, ...]
    source: str
    line: int | None = None
    select: Expression | None = None
    applies_to: Expression | None = None
    not_applicable: str | None = None
    scope_vpcs: bool = False
    pass_message: str | None = None
    fail_message: str | None = None
    evidence: dict[str, Expression] = field(default_factory=dict)
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    requires_for_fail: tuple[FailRequirement, ...] = ()

    @property
    def check_kind(self) -> str:
        """``jmespath`` or ``builtin:<name>`` (shown by ``scanner rules list``)."""
        if isinstance(self.check, Builtin):
            return f"builtin:{self.check.name}"
        return "jmespath"


@dataclass(frozen=True)
class Requirement:
    """One framework requirement and the rules that support it."""

    id: str
    title: str
    text: str
    source: str
    rules: tuple[str, ...]
    because: tuple[tuple[str, str], ...] = ()
    """(rule id, why the rule supports this requirement), one per rule."""


@dataclass(frozen=True)
class Framework:
    """A compliance framework as data (HIPAA Security Rule, PCI DSS v4.0)."""

    id: str
    title: str
    source: str
    requirements: tuple[Requirement, ...]
    file: str


@dataclass(frozen=True)
class RuleSet:
    """The rules in effect (disabled ones removed) and the frameworks they map to."""

    rules: tuple[Rule, ...]
    frameworks: tuple[Framework, ...] = ()
    # Digest of every pack and framework file's content, recorded with each run: the same
    # snapshot under another rule-pack version may give other findings.
    version: str = ""

    def get(self, rule_id: str) -> Rule | None:
        """A rule by id, or None."""
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def ids(self) -> list[str]:
        """Rule ids in evaluation order."""
        return [r.id for r in self.rules]
