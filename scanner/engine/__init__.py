"""The rule engine: rule packs as validated YAML data, evaluated over the enriched estate.

Rule pack format
================

A pack is a YAML file with a ``rules:`` list (and optional ``pack:`` name and
``description:``).  Shipped packs live in ``rules/*.yaml``; users add packs with
``rule_packs:`` in config.yaml.  Unknown keys anywhere are errors.  Each rule::

    - id: notebook-root-access-disabled      # lower-case words joined by "-"; unique across packs
      title: Root access is disabled on the notebook instance
      description: Why it matters (shown in the report and `scanner rules list`).
      severity: medium                       # critical | high | medium | low | info
      resource_type: sagemaker:notebook-instance   # see docs/ARCHITECTURE.md, or aws:account
      requires: [ec2:subnet]                 # other types the verdict depends on (optional)
      requires_for_fail:                     # optional: types only a FAIL rests on (below)
        - ec2:vpn-connection                 #   short form: this type, in the subject's scope
        - type: ec2:vpc-endpoint             #   long form:
          scope: all                         #   subject (default) | all: every account/region
          unless_config: [approved_vpcs]     #   config fields; set → the entry does not apply
          because: the approved endpoints are discovered from them   # shown in the ERROR
      select: "enriched.is_vpc_default"      # optional jmespath: false → no finding at all
      applies_to: "enriched.hosts_notebooks" # optional jmespath: false → NOT_APPLICABLE
      not_applicable: "message for NOT_APPLICABLE findings"   # optional
      scope_vpcs: true                       # optional, ec2:vpc rules only: each VPC listed in
                                             # config scope.vpcs but absent from the snapshot
                                             # gets an ERROR finding (account: the scanned one
                                             # if only one, else "unknown"; region "unknown")
      check:
        jmespath: RootAccess                 # the decisive value, read from the resource doc
        on_missing:                          # REQUIRED for jmespath checks: value absent/null
          assume: Enabled                    #   either substitute AWS's documented default ...
          # status: FAIL                     #   ... or give the status outright
          because: AWS enables root access when RootAccess is not specified.
        pass_when: "@ == 'Disabled'"         # jmespath over the value; must yield true/false
                                             # (omitted: the value itself must be true/false)
      # or:  check: {builtin: endpoint_policy_restricted}   (scanner.engine.builtins.BUILTINS)
      messages:                              # optional templates; {value}, {resource_id},
        pass: "Root access is {value}"       # {account_id}, {region} and evidence names
        fail: "Root access is {value}; expected Disabled"
      evidence:                              # optional extra jmespath fields shown in findings
        status: NotebookInstanceStatus
      remediation:
        text: How to fix it.
        cli: aws sagemaker update-notebook-instance --notebook-instance-name {resource_id} --root-access Disabled
      references: [https://docs.aws.amazon.com/...]    # at least one https URL

The document a rule reads is the resource as collected (AWS's PascalCase field names) plus a
lower-case ``enriched`` mapping of cross-resource facts (see :mod:`scanner.enrichment`).
Expressions may use jmespath's functions plus ``lower()`` and ``upper()``.

Verdicts: ``select`` → ``requires`` (a failed collector in scope gives ERROR) →
``applies_to`` → check → ``requires_for_fail``.

``requires_for_fail`` is for verdicts where missing data can only hide a proof, never
invent one.  An *existence* rule ("does the VPC have a private way in?") PASSes on any
proof it collected, even when another source failed (a VPN connection proves a way in
whatever Direct Connect said); a FAIL needs every source collected; no proof and a failed
source is ERROR naming it.  The same holds for a rule judged against a set *discovered*
from collected data that can only grow with more data (the approved VPC endpoints, when
config does not pin them: an unseen endpoint can remove a public path, never add one).
A PASS decided with a source unread lists it in evidence (``unread_sources``).  List a
type here only if the check derives its PASS from what is present, never from an absence.  A rule with ``scope_vpcs`` also reports the listed VPCs it could
not find, so a mistyped id or an unscanned region is never silently "no finding".  A jmespath error, a non-boolean verdict or a builtin exception gives
ERROR, never PASS or FAIL.  Framework mappings are not written in rules: they come from
``rules/frameworks/*.yaml``.
"""

from __future__ import annotations

from scanner.engine.builtins import BUILTINS
from scanner.engine.checks import Builtin, CheckContext, CheckResult, Subject
from scanner.engine.evaluate import evaluate
from scanner.engine.loader import load_config_ruleset, load_ruleset, parse_pack
from scanner.engine.rules import Framework, Requirement, Rule, RuleSet

__all__ = [
    "BUILTINS",
    "Builtin",
    "CheckContext",
    "CheckResult",
    "Framework",
    "Requirement",
    "Rule",
    "RuleSet",
    "Subject",
    "evaluate",
    "load_config_ruleset",
    "load_ruleset",
    "parse_pack",
]
