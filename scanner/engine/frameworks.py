"""Framework mappings as data: each requirement cites its source and lists supporting rules.

The files under ``rules/frameworks/`` are the single source of truth: a finding's
``frameworks`` field is derived from them, never written in a rule, so a mapping is reviewed
in one place next to the requirement text it claims to support.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from importlib.resources.abc import Traversable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scanner.engine.rules import Framework, Requirement
from scanner.errors import InputError
from scanner.yamldoc import YamlDoc, parse_yaml, pydantic_error

FRAMEWORKS_PACKAGE = "scanner.rulepacks.frameworks"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingSpec(_Strict):
    """One rule supporting a requirement, and why: a mapping without a reason cannot be
    reviewed, so ``because`` is required."""

    rule: str = Field(min_length=1)
    because: str = Field(min_length=10)


class RequirementSpec(_Strict):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)
    rules: list[MappingSpec] = Field(min_length=1)


class FrameworkSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    requirements: list[RequirementSpec] = Field(min_length=1)


def read_doc(resource: Traversable) -> YamlDoc:
    """Parse a packaged YAML file (works from a checkout and from an installed wheel)."""
    try:
        text = resource.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", path=str(resource)) from None
    return parse_yaml(text, str(resource))


def shipped_yaml(package: str) -> list[Traversable]:
    """The ``*.yaml`` files of a data package, sorted by name for a deterministic order."""
    return sorted(
        (f for f in files(package).iterdir() if f.name.endswith(".yaml") and f.is_file()),
        key=lambda f: f.name,
    )


def parse_framework(doc: YamlDoc, rule_ids: set[str]) -> Framework:
    """Validate one framework file; every rule it names must exist."""
    if not isinstance(doc.value, dict):
        raise doc.error("a framework file must be a mapping with id, title, source, requirements")
    try:
        spec = FrameworkSpec(**doc.value)
    except ValidationError as exc:
        raise pydantic_error(doc, exc) from None
    seen: set[str] = set()
    for i, req in enumerate(spec.requirements):
        if req.id in seen:
            raise doc.error(f"duplicate requirement id {req.id!r}", ("requirements", i, "id"))
        seen.add(req.id)
        for j, mapping in enumerate(req.rules):
            if mapping.rule not in rule_ids:
                raise doc.error(
                    f"requirement {req.id}: unknown rule id {mapping.rule!r}",
                    ("requirements", i, "rules", j, "rule"),
                )
    return Framework(
        id=spec.id,
        title=spec.title,
        source=spec.source,
        requirements=tuple(
            Requirement(
                r.id,
                r.title,
                r.text,
                r.source,
                tuple(m.rule for m in r.rules),
                tuple((m.rule, m.because) for m in r.rules),
            )
            for r in spec.requirements
        ),
        file=doc.source,
    )


def load_frameworks(rule_ids: set[str], docs: Iterable[YamlDoc] | None = None) -> list[Framework]:
    """Shipped frameworks (or ``docs``), validated against the known rule ids."""
    if docs is None:
        docs = [read_doc(f) for f in shipped_yaml(FRAMEWORKS_PACKAGE)]
    out: list[Framework] = []
    for doc in docs:
        fw = parse_framework(doc, rule_ids)
        if any(f.id == fw.id for f in out):
            raise doc.error(f"duplicate framework id {fw.id!r}", ("id",))
        out.append(fw)
    return out


def mappings_by_rule(frameworks: Iterable[Framework]) -> dict[str, dict[str, list[str]]]:
    """rule id → {framework id: [requirement ids]} (the findings' ``frameworks`` field)."""
    out: dict[str, dict[str, list[str]]] = {}
    for fw in frameworks:
        for req in fw.requirements:
            for rid in req.rules:
                out.setdefault(rid, {}).setdefault(fw.id, []).append(req.id)
    return out
