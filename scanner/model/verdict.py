"""The two verdict rules: does a notebook instance or a Studio domain have a public access path?

They are the product's headline, read by the HTML report, the notifications and the
metrics.  Those sit side by side in one import layer and may not import each other, so the
rule ids live here, below all of them.
"""

from __future__ import annotations

from scanner.model.finding import Finding, Status

VERDICT_RULES: dict[str, str] = {
    "notebook-no-public-access-path": "notebook instance",
    "studio-domain-no-public-access-path": "Studio domain",
}
"""Rule id -> the noun of what it judges."""


def is_public_path(finding: Finding) -> bool:
    """True for a FAIL of a verdict rule: the resource has at least one public access path
    (waived or not: a waiver accepts the risk, it does not close the path)."""
    return finding.status is Status.FAIL and finding.rule_id in VERDICT_RULES
