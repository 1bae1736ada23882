"""Load and validate rule packs: the shipped ones plus any the user's config names.

Every problem is an :class:`~scanner.errors.InputError` naming the file and line, so the CLI
can print it and exit 2: unknown keys, a bad jmespath expression, an unknown resource type or
builtin, a bad severity, a missing ``on_missing`` and duplicate ids (across packs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ValidationError

from scanner.config import Config
from scanner.engine.builtins import BUILTINS
from scanner.engine.checks import Builtin
from scanner.engine.frameworks import load_frameworks, mappings_by_rule, read_doc, shipped_yaml
from scanner.engine.jmes import Expression, compile_expression
from scanner.engine.rules import (
    CheckSpec,
    FailRequirement,
    Framework,
    JmespathCheck,
    OnMissing,
    PackSpec,
    Rule,
    RuleSet,
    RuleSpec,
)
from scanner.enrichment.resource_types import RESOURCE_TYPES, VPC_TYPE
from scanner.errors import InputError
from scanner.model.finding import Status
from scanner.yamldoc import PathKey, YamlDoc, load_yaml, pydantic_error

RULES_PACKAGE = "scanner.rulepacks"


def _expr(doc: YamlDoc, source: str, where: PathKey) -> Expression:
    try:
        return compile_expression(source)
    except JMESPathError as exc:
        detail = str(exc).replace("\n", " ")
        raise doc.error(f"{'.'.join(map(str, where))}: bad jmespath: {detail}", where) from None


def _check(
    doc: YamlDoc, spec: CheckSpec, at: PathKey, builtins: Mapping[str, Builtin]
) -> JmespathCheck | Builtin:
    if spec.builtin is not None:
        extra = [k for k in ("jmespath", "pass_when", "on_missing") if getattr(spec, k) is not None]
        if extra:
            raise doc.error(f"check: a builtin check cannot also set {', '.join(extra)}", at)
        if spec.builtin not in builtins:
            known = ", ".join(sorted(builtins))
            raise doc.error(
                f"check.builtin: unknown builtin {spec.builtin!r} (known: {known})",
                (*at, "builtin"),
            )
        return builtins[spec.builtin]
    if spec.jmespath is None:
        raise doc.error("check: set either `jmespath` (with `on_missing`) or `builtin`", at)
    if spec.on_missing is None:
        raise doc.error(
            "check.on_missing: required for a jmespath check; say what an absent value means, "
            "citing AWS's documented default",
            at,
        )
    om = spec.on_missing
    return JmespathCheck(
        value=_expr(doc, spec.jmespath, (*at, "jmespath")),
        pass_when=None
        if spec.pass_when is None
        else _expr(doc, spec.pass_when, (*at, "pass_when")),
        on_missing=OnMissing(
            because=om.because,
            assume=om.assume,
            status=Status(om.status) if om.status is not None else None,
        ),
    )


def _config_field_exists(path: str) -> bool:
    """Whether ``path`` (``iam.actions``, ``approved_vpcs``) names a field of config.yaml."""
    model: type[BaseModel] | None = Config
    for part in path.split("."):
        if model is None or part not in model.model_fields:
            return False
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return True


def _fail_requirements(
    doc: YamlDoc, i: int, spec: RuleSpec, requires: tuple[str, ...]
) -> tuple[FailRequirement, ...]:
    """``requires_for_fail`` compiled: known types, known config fields, and no type that
    ``requires`` already makes a hard dependency in the same scope (it would mean both)."""
    out = []
    for j, full in enumerate(spec.requires_for_fail):
        at: PathKey = ("rules", i, "requires_for_fail", j)
        if full.type not in RESOURCE_TYPES:
            raise doc.error(f"rules.{i}.requires_for_fail: unknown resource type {full.type!r}", at)
        if full.scope == "subject" and full.type in requires:
            raise doc.error(
                f"rules.{i}.requires_for_fail: {full.type} is also in requires (or is the "
                "rule's resource_type); a type is either needed for every verdict or only for "
                "a FAIL",
                at,
            )
        for name in full.unless_config:
            if not _config_field_exists(name):
                raise doc.error(
                    f"rules.{i}.requires_for_fail: unless_config names {name!r}, which is not "
                    "a config.yaml field",
                    at,
                )
        out.append(FailRequirement(full.type, full.scope, tuple(full.unless_config), full.because))
    return tuple(out)


def _rule(doc: YamlDoc, i: int, spec: RuleSpec, builtins: Mapping[str, Builtin]) -> Rule:
    at: PathKey = ("rules", i)
    if spec.resource_type not in RESOURCE_TYPES:
        raise doc.error(
            f"rules.{i}.resource_type: unknown resource type {spec.resource_type!r}",
            (*at, "resource_type"),
        )
    for j, rtype in enumerate(spec.requires):
        if rtype not in RESOURCE_TYPES:
            raise doc.error(
                f"rules.{i}.requires: unknown resource type {rtype!r}", (*at, "requires", j)
            )
    if spec.scope_vpcs and spec.resource_type != VPC_TYPE:
        raise doc.error(
            f"rules.{i}.scope_vpcs: only a rule on {VPC_TYPE} can cover the VPCs listed in "
            f"scope.vpcs (this rule is on {spec.resource_type})",
            (*at, "scope_vpcs"),
        )
    requires = tuple(dict.fromkeys([spec.resource_type, *spec.requires]))
    return Rule(
        id=spec.id,
        title=spec.title,
        description=spec.description.strip(),
        severity=spec.severity,
        resource_type=spec.resource_type,
        check=_check(doc, spec.check, (*at, "check"), builtins),
        requires=requires,
        remediation={"text": spec.remediation.text.strip(), "cli": spec.remediation.cli.strip()},
        references=tuple(spec.references),
        source=doc.source,
        line=doc.line_of((*at, "id")),
        select=None if spec.select is None else _expr(doc, spec.select, (*at, "select")),
        applies_to=None
        if spec.applies_to is None
        else _expr(doc, spec.applies_to, (*at, "applies_to")),
        not_applicable=spec.not_applicable,
        scope_vpcs=spec.scope_vpcs,
        pass_message=spec.messages.pass_,
        fail_message=spec.messages.fail,
        evidence={k: _expr(doc, v, (*at, "evidence", k)) for k, v in spec.evidence.items()},
        requires_for_fail=_fail_requirements(doc, i, spec, requires),
    )


def parse_pack(doc: YamlDoc, builtins: Mapping[str, Builtin] = BUILTINS) -> list[Rule]:
    """Validate one pack document into rules (ids not yet checked across packs)."""
    if not isinstance(doc.value, dict):
        raise doc.error("a rule pack must be a mapping with a `rules:` list")
    try:
        spec = PackSpec(**doc.value)
    except ValidationError as exc:
        raise pydantic_error(doc, exc) from None
    return [_rule(doc, i, r, builtins) for i, r in enumerate(spec.rules)]


def shipped_pack_docs() -> list[YamlDoc]:
    """The packs that ship inside the package (``rules/*.yaml``)."""
    return [read_doc(f) for f in shipped_yaml(RULES_PACKAGE)]


def load_ruleset(
    extra_packs: Sequence[Path] = (),
    disabled: Sequence[str] = (),
    *,
    builtins: Mapping[str, Builtin] = BUILTINS,
    include_shipped: bool = True,
) -> RuleSet:
    """Shipped packs plus ``extra_packs``, validated, minus ``disabled`` rule ids."""
    docs = (shipped_pack_docs() if include_shipped else []) + [load_yaml(p) for p in extra_packs]
    rules: list[Rule] = []
    first: dict[str, Rule] = {}
    for doc in docs:
        for i, rule in enumerate(parse_pack(doc, builtins)):
            if rule.id in first:
                prev = first[rule.id]
                raise doc.error(
                    f"rules.{i}.id: duplicate rule id {rule.id!r} "
                    f"(first defined at {prev.source}:{prev.line})",
                    ("rules", i, "id"),
                )
            first[rule.id] = rule
            rules.append(rule)
    unknown = sorted(set(disabled) - set(first))
    if unknown:
        raise InputError(f"disabled_rules: unknown rule id(s): {', '.join(unknown)}")
    frameworks = load_frameworks(set(first)) if include_shipped else []
    mapping = mappings_by_rule(frameworks)
    kept = [
        dataclasses.replace(r, frameworks=mapping.get(r.id, {}))
        for r in rules
        if r.id not in set(disabled)
    ]
    return RuleSet(
        rules=tuple(kept), frameworks=tuple(frameworks), version=_version(docs, frameworks)
    )


def _version(docs: Sequence[YamlDoc], frameworks: Sequence[Framework]) -> str:
    """Digest of the packs' parsed content and the framework mappings in effect."""
    content = [[Path(d.source).name, d.value] for d in docs] + [
        [f.file, [dataclasses.asdict(r) for r in f.requirements]] for f in frameworks
    ]
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_config_ruleset(config: Config) -> RuleSet:
    """The rule set a config asks for: shipped + its packs, minus ``disabled_rules``.

    Unknown ids in ``disabled_rules`` are reported at their line in the config file (a typo
    there would otherwise silently keep a rule the user meant to switch off, or vice versa).
    """
    ruleset = load_ruleset(config.rule_pack_paths())
    known = set(ruleset.ids)
    for index, rule_id in enumerate(config.disabled_rules):
        if rule_id not in known:
            raise config.error_at(f"unknown rule id {rule_id!r}", "disabled_rules", index)
    off = set(config.disabled_rules)
    return dataclasses.replace(ruleset, rules=tuple(r for r in ruleset.rules if r.id not in off))
