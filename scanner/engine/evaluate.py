"""Evaluate a rule set over an enriched estate: one finding per (rule, subject).

Order of decisions for each resource of the rule's type:

1. ``select`` false → no finding at all (the resource is not what the rule is about, e.g.
   non-default security groups for ``vpc-default-security-group-closed``).
2. A collector producing any type in ``requires`` failed in the resource's scope → ERROR
   naming the collector, operation and error code.  This comes before ``applies_to``
   because applicability itself may rest on the missing data.
3. ``applies_to`` false → NOT_APPLICABLE (so coverage shows).
4. The check: PASS or FAIL, or ERROR when it could not decide (jmespath type error,
   a non-boolean verdict, a builtin exception).
5. ``requires_for_fail``: a collector of one of those types failed (in the subject's scope,
   or in any scope for ``scope: all``) → a FAIL becomes ERROR naming it, since the unread
   data might hold the proof; a PASS stands on the proof that was collected and its
   evidence lists the unread sources under ``unread_sources`` (an auditor sees the
   partial view).  Entries whose ``unless_config`` field is set in config do not apply.

Independently, when the listing of the rule's own type failed in a scope, that scope gets one
ERROR finding with ``resource_id`` ``*``: there may be resources nobody has seen.
Outcomes ``disabled`` / ``not_collected`` never stop evaluation; they are listed in the
finding's evidence under ``collection``.

A rule with ``scope_vpcs`` (on ``ec2:vpc``) also yields one ERROR per VPC listed in the
config's ``scope.vpcs`` that is in no scanned account/region: the user asked for it to be
checked, and "no finding" would read as nothing wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from jmespath.exceptions import JMESPathError

from scanner import cancel
from scanner.config import Config
from scanner.engine.checks import Builtin, CheckContext, CheckResult, Subject
from scanner.engine.rules import FailRequirement, JmespathCheck, Rule, RuleSet
from scanner.enrichment.estate import Estate, EstateResource
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot

UNKNOWN = "unknown"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def render(template: str, values: dict[str, Any]) -> str:
    """Substitute ``{name}`` placeholders (no attribute access, unlike ``str.format``)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        return value if isinstance(value, str) else json.dumps(value, default=str)

    return _PLACEHOLDER.sub(one, template)


def _outcomes(
    snapshot: Snapshot, types: Iterable[str], account_id: str, region: str
) -> list[CollectorOutcome]:
    """Outcomes of collectors producing any of ``types`` in a scope.  A global subject (the
    account) depends on its types in every region of the account."""
    wanted = set(types)
    if region == GLOBAL_REGION:
        found = [o for o in snapshot.outcomes_of(account_id) if set(o.resource_types) & wanted]
    else:
        found = []
        for rtype in dict.fromkeys(types):
            found += snapshot.outcomes_for(rtype, account_id, region)
    return _unique(found)


def _unique(found: Iterable[CollectorOutcome]) -> list[CollectorOutcome]:
    unique = {(o.collector, o.account_id, o.region, o.status, o.operation): o for o in found}
    return [unique[k] for k in sorted(unique, key=str)]


def _describe(o: CollectorOutcome) -> dict[str, Any]:
    return {
        "collector": o.collector,
        "account_id": o.account_id,
        "region": o.region,
        "status": str(o.status),
        "operation": o.operation,
        "error_code": o.error_code,
        "error_message": o.error_message,
    }


def _failure_text(failed: list[CollectorOutcome]) -> str:
    parts = [
        f"collector {o.collector} failed in {o.account_id}/{o.region}"
        + (f" on {o.operation}" if o.operation else "")
        + f": {o.error_code or 'error'}"
        + (f" ({o.error_message})" if o.error_message else "")
        for o in failed
    ]
    return "; ".join(parts)


class _RuleRun:
    """Evaluation of one rule; holds the context so helpers stay small."""

    def __init__(self, rule: Rule, ctx: CheckContext) -> None:
        self.rule = rule
        self.ctx = ctx
        self._scope_outcomes: dict[tuple[str, str], list[CollectorOutcome]] = {}
        self._for_fail: dict[tuple[str, str], list[CollectorOutcome]] = {}
        # requires_for_fail entries that apply under this config (unless_config unset).
        self._fail_reqs = [r for r in rule.requires_for_fail if not self._pinned(r)]
        self._local_fail_types = [r.type for r in self._fail_reqs if r.scope == "subject"]

    def _pinned(self, req: FailRequirement) -> bool:
        """Whether config sets one of ``req.unless_config`` (then it supplies the data)."""
        for name in req.unless_config:
            value: Any = self.ctx.config
            for part in name.split("."):
                value = getattr(value, part, None)
            if value:
                return True
        return False

    def outcomes(self, account_id: str, region: str) -> list[CollectorOutcome]:
        """The rule's collector outcomes in one scope (``requires`` and the subject-scoped
        ``requires_for_fail`` types), looked up once per scope: every subject there shares
        them, and each finding reads them more than once."""
        key = (account_id, region)
        if key not in self._scope_outcomes:
            types = [*self.rule.requires, *self._local_fail_types]
            self._scope_outcomes[key] = _outcomes(self.ctx.snapshot, types, *key)
        return self._scope_outcomes[key]

    def failed_for_fail(self, subject: Subject) -> list[CollectorOutcome]:
        """Failed collectors of the ``requires_for_fail`` types a verdict on ``subject``
        rests on: in its scope, or in every scope for an ``all`` entry."""
        key = (subject.account_id, subject.region)
        if key not in self._for_fail:
            local = set(self._local_fail_types)
            found = [
                o
                for o in self.outcomes(*key)
                if o.status is OutcomeStatus.ERROR and set(o.resource_types) & local
            ]
            pooled = {r.type for r in self._fail_reqs if r.scope == "all"}
            found += [
                o
                for o in self.ctx.snapshot.collectors
                if o.status is OutcomeStatus.ERROR and set(o.resource_types) & pooled
            ]
            self._for_fail[key] = _unique(found)
        return self._for_fail[key]

    def settle(self, subject: Subject, result: CheckResult) -> CheckResult:
        """Apply ``requires_for_fail``: with one of its collectors failed, a FAIL becomes
        ERROR (a source nobody read might hold the proof, or the data that clears it); any
        other verdict stands on what was collected and says which sources it did without."""
        failed = self.failed_for_fail(subject)
        if not failed:
            return result
        described = [_describe(o) for o in failed]
        text = _failure_text(failed)
        why = "; ".join(
            dict.fromkeys(
                r.because
                for r in self._fail_reqs
                if r.because and any(r.type in o.resource_types for o in failed)
            )
        )
        because = f" ({why})" if why else ""
        if result.status is Status.FAIL:
            return CheckResult.error(
                f"cannot FAIL on partial data: a FAIL needs every source collected{because}, "
                f"and {text}; from what was collected: {result.message}",
                **{**result.evidence, "failed_collectors": described},
            )
        message = result.message
        if result.status is Status.PASS:
            message = f"{message} (decided on partial data, which suffices for a PASS: {text})"
        return CheckResult(result.status, message, {**result.evidence, "unread_sources": described})

    def finding(self, subject: Subject, result: CheckResult) -> Finding:
        values = {
            "resource_id": subject.id,
            "account_id": subject.account_id,
            "region": subject.region,
        }
        evidence = dict(result.evidence)
        degraded = [
            _describe(o)
            for o in self.outcomes(subject.account_id, subject.region)
            if o.status in (OutcomeStatus.DISABLED, OutcomeStatus.NOT_COLLECTED)
        ]
        if degraded:
            evidence["collection"] = degraded
        return Finding(
            rule_id=self.rule.id,
            status=result.status,
            severity=self.rule.severity,
            account_id=subject.account_id,
            region=subject.region,
            resource_type=subject.type,
            resource_id=subject.id,
            resource_arn=subject.arn,
            title=self.rule.title,
            message=result.message,
            evidence=evidence,
            frameworks={k: list(v) for k, v in self.rule.frameworks.items()},
            remediation={
                "text": self.rule.remediation["text"],
                "cli": render(self.rule.remediation["cli"], values),
                "references": list(self.rule.references),
            },
        )

    def listing_failures(self) -> list[Finding]:
        """One ERROR per scope where the rule's own resource type could not be listed."""
        scopes: dict[tuple[str, str], list[CollectorOutcome]] = {}
        for o in self.ctx.snapshot.collectors:
            if o.status is OutcomeStatus.ERROR and self.rule.resource_type in o.resource_types:
                scopes.setdefault((o.account_id, o.region), []).append(o)
        out = []
        for (acct, region), failed in sorted(scopes.items()):
            subject = Subject(acct, region, self.rule.resource_type, "*")
            result = CheckResult.error(
                f"could not list {self.rule.resource_type} in {acct}/{region}, so resources "
                f"there may be unchecked: {_failure_text(failed)}",
                failed_collectors=[_describe(o) for o in failed],
            )
            out.append(self.finding(subject, result))
        return out

    def dependency_error(self, subject: Subject) -> CheckResult | None:
        hard = set(self.rule.requires)
        failed = [
            o
            for o in self.outcomes(subject.account_id, subject.region)
            if o.status is OutcomeStatus.ERROR and set(o.resource_types) & hard
        ]
        if not failed:
            return None
        return CheckResult.error(
            f"cannot evaluate: data this rule needs was not collected: {_failure_text(failed)}",
            failed_collectors=[_describe(o) for o in failed],
        )

    def extra_evidence(self, res: EstateResource) -> dict[str, Any]:
        return {name: expr.search(res.doc) for name, expr in self.rule.evidence.items()}

    def jmespath(self, check: JmespathCheck, res: EstateResource) -> CheckResult:
        raw = check.value.search(res.doc)
        evidence: dict[str, Any] = {check.value.source: raw, **self.extra_evidence(res)}
        values: dict[str, Any] = {
            **evidence,
            "value": raw,
            "resource_id": res.id,
            "account_id": res.account_id,
            "region": res.region,
        }
        om = check.on_missing
        seen = json.dumps(raw, default=str)
        if raw is None:
            evidence["on_missing"] = om.because
            if om.status is not None:
                return CheckResult(
                    om.status, f"{check.value.source} is absent: {om.because}", evidence
                )
            values["value"] = om.assume
            seen = f"absent, which means {json.dumps(om.assume)} ({om.because})"
        verdict = (
            values["value"] if check.pass_when is None else check.pass_when.search(values["value"])
        )
        expected = check.pass_when.source if check.pass_when else "true"
        if not isinstance(verdict, bool):
            return CheckResult(
                Status.ERROR,
                f"check did not yield true/false (got {verdict!r}) for "
                f"{check.value.source} = {seen}; expected `{expected}`",
                evidence,
            )
        status = Status.PASS if verdict else Status.FAIL
        template = self.rule.pass_message if verdict else self.rule.fail_message
        if template is not None:
            if raw is None:
                # Say that the field was absent and which default decided, not just the default.
                values = {**values, "value": f"absent (AWS default: {om.assume})"}
            message = render(template, values)
        else:
            message = f"{check.value.source} is {seen}; expected `{expected}`"
        return CheckResult(status, message, evidence)

    def check(self, res: EstateResource) -> CheckResult:
        check = self.rule.check
        if isinstance(check, JmespathCheck):
            return self.jmespath(check, res)
        assert check.per_resource is not None
        result = check.per_resource(res, self.ctx)
        if self.rule.evidence:
            result = CheckResult(
                result.status, result.message, {**result.evidence, **self.extra_evidence(res)}
            )
        return result

    def guarded(self, res: EstateResource) -> CheckResult | None:
        """Steps 1-4 of the module docstring; None means "not selected"."""
        try:
            if self.rule.select is not None and not self.rule.select.search(res.doc):
                return None
            dep = self.dependency_error(Subject.of(res))
            if dep is not None:
                return dep
            if self.rule.applies_to is not None and not self.rule.applies_to.search(res.doc):
                return CheckResult.not_applicable(
                    self.rule.not_applicable
                    or f"not applicable: `{self.rule.applies_to.source}` is false",
                )
            return self.settle(Subject.of(res), self.check(res))
        except JMESPathError as exc:
            return CheckResult.error(f"rule expression failed: {type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a crashing check is an ERROR finding, never PASS
            return CheckResult.error(f"check raised {type(exc).__name__}: {exc}")

    def missing_scope_vpcs(self) -> list[Finding]:
        """One ERROR per ``scope.vpcs`` entry with no ``ec2:vpc`` in the estate (see module
        docstring).  The VPC's account and region are unknowable; with a single scanned
        account it must be that one's."""
        if not self.rule.scope_vpcs:
            return []
        seen = {r.id for r in self.ctx.estate.resources(self.rule.resource_type)}
        accounts = self.ctx.snapshot.accounts
        account = accounts[0] if len(accounts) == 1 else UNKNOWN
        scanned = {"accounts": list(accounts), "regions": list(self.ctx.snapshot.regions)}
        return [
            self.finding(
                Subject(account, UNKNOWN, self.rule.resource_type, vpc_id),
                CheckResult.error(
                    "listed in scope.vpcs but not found in the scanned accounts/regions",
                    scanned=scanned,
                ),
            )
            for vpc_id in dict.fromkeys(self.ctx.config.scope.vpcs)
            if vpc_id not in seen
        ]

    def over_estate(self, builtin: Builtin) -> Iterable[Finding]:
        assert builtin.over_estate is not None
        try:
            pairs = list(builtin.over_estate(self.ctx))
        except Exception as exc:  # noqa: BLE001 - see guarded()
            accounts = sorted({r.account_id for r in self.ctx.estate}) or self.ctx.snapshot.accounts
            for acct in accounts:
                subject = Subject(acct, GLOBAL_REGION, self.rule.resource_type, "*")
                yield self.finding(
                    subject, CheckResult.error(f"check raised {type(exc).__name__}: {exc}")
                )
            return
        for subject, result in pairs:
            yield self.finding(
                subject, self.dependency_error(subject) or self.settle(subject, result)
            )

    def run(self) -> list[Finding]:
        out = self.listing_failures() + self.missing_scope_vpcs()
        check = self.rule.check
        if isinstance(check, Builtin) and check.over_estate is not None:
            out.extend(self.over_estate(check))
            return out
        for res in self.ctx.estate.resources(self.rule.resource_type):
            result = self.guarded(res)
            if result is not None:
                out.append(self.finding(Subject.of(res), result))
        return out


def evaluate(ruleset: RuleSet, estate: Estate, snapshot: Snapshot, config: Config) -> list[Finding]:
    """All findings, ordered by rule (pack order), account, region, resource id."""
    findings: list[Finding] = []
    ctx = CheckContext(estate=estate, snapshot=snapshot, config=config)
    for rule in ruleset.rules:
        cancel.check()  # a stop request (SIGTERM) ends evaluation between rules
        findings.extend(
            sorted(
                _RuleRun(rule, ctx).run(),
                key=lambda f: (f.account_id, f.region, f.resource_type, f.resource_id),
            )
        )
    return findings
