"""What a check returns and what a builtin check receives.

Builtins come in two shapes, both registered in the explicit :data:`BUILTINS` dict of
:mod:`scanner.engine.builtins`:

- ``per_resource``: called once for every resource of the rule's type that survived
  ``select``/``applies_to``; returns one :class:`CheckResult`.
- ``over_estate``: called once per rule with the whole estate; yields ``(Subject,
  CheckResult)`` pairs for any subjects of the rule's type it chooses, including subjects that
  are not snapshot resources (an inline policy named ``<principal ARN>/<policy name>``).
  This is the shape the IAM analysis uses.

Either way the engine still applies the collector-failure rule (ERROR when a required
collector failed in the subject's scope) and turns an exception into ERROR, so a builtin
never has to remember either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.config import Config
from scanner.enrichment.estate import Estate, EstateResource
from scanner.model.finding import Status
from scanner.model.snapshot import Snapshot


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a check on one subject: status, what was seen vs expected, and why."""

    status: Status
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, message: str, **evidence: Any) -> CheckResult:
        return cls(Status.PASS, message, evidence)

    @classmethod
    def failed(cls, message: str, **evidence: Any) -> CheckResult:
        return cls(Status.FAIL, message, evidence)

    @classmethod
    def error(cls, message: str, **evidence: Any) -> CheckResult:
        return cls(Status.ERROR, message, evidence)

    @classmethod
    def not_applicable(cls, message: str, **evidence: Any) -> CheckResult:
        return cls(Status.NOT_APPLICABLE, message, evidence)


@dataclass(frozen=True)
class Subject:
    """What a finding is about: a snapshot resource or something a builtin names."""

    account_id: str
    region: str
    type: str
    id: str
    arn: str | None = None

    @classmethod
    def of(cls, res: EstateResource) -> Subject:
        return cls(res.account_id, res.region, res.type, res.id, res.arn)


@dataclass(frozen=True)
class CheckContext:
    """Everything a builtin may read: the estate, the raw snapshot and the config.

    One context serves every rule of one evaluation.  ``memo`` holds what several rules
    share within that evaluation (the IAM analysis), so it is computed once per run and
    dies with the run: nothing outlives a scan in module state, which matters in the
    nightly daemon where one process runs scan after scan.
    """

    estate: Estate
    snapshot: Snapshot
    config: Config
    memo: dict[str, Any] = field(default_factory=dict, compare=False)


PerResourceCheck = Callable[[EstateResource, CheckContext], CheckResult]
EstateCheck = Callable[[CheckContext], Iterable[tuple[Subject, CheckResult]]]


@dataclass(frozen=True)
class Builtin:
    """A named Python check; exactly one of ``per_resource`` / ``over_estate`` is set."""

    name: str
    summary: str
    per_resource: PerResourceCheck | None = None
    over_estate: EstateCheck | None = None

    def __post_init__(self) -> None:
        if (self.per_resource is None) == (self.over_estate is None):
            raise ValueError(f"builtin {self.name}: set exactly one of per_resource/over_estate")
