"""Is the storage of a notebook or Studio domain encrypted with a *customer managed* KMS key?

A ``KmsKeyId`` alone does not say who manages the key: ``alias/aws/sagemaker`` is an AWS
managed key, which the customer cannot give a key policy, rotate on their own schedule or
revoke.  DescribeKey's ``KeyManager`` (``CUSTOMER`` or ``AWS``) does, for a key id, a key ARN
and an alias (it answers the key the alias points to).  The kms-key collector read it into
the snapshot; enrichment joined it as ``enriched.kms_key``; this check only reads that.

- no ``KmsKeyId``: FAIL (AWS documents that SageMaker then uses an AWS managed key);
- ``KeyManager`` ``CUSTOMER``: PASS; ``AWS``: FAIL;
- DescribeKey answered NotFoundException: FAIL.  The value names no key in the account and
  region (deleted, or a typo), so no customer managed key protects the volume: SageMaker
  needs the key to create or start the notebook (CreateNotebookInstance: "The KMS key you
  provide must be enabled") and a deleted key's data cannot be decrypted at all;
- the key was not collected (collector disabled, or a snapshot older than the collector)
  or ``KeyManager`` is absent: ERROR, never a guess.  (A DescribeKey that failed otherwise,
  denied for instance, failed the collector in that scope: the engine makes it ERROR.)
"""

from __future__ import annotations

from scanner.engine.checks import CheckContext, CheckResult
from scanner.enrichment.estate import EstateResource

CUSTOMER = "CUSTOMER"
AWS_MANAGED = "AWS"


def kms_key_customer_managed(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """PASS only for a key whose DescribeKey ``KeyManager`` is ``CUSTOMER`` (module doc)."""
    key = res.enriched.get("kms_key") or {}
    ref = key.get("ref")
    evidence = {k: key.get(k) for k in ("ref", "key_id", "arn", "key_manager", "key_state")}
    if ref is None:
        return CheckResult.failed(
            "no KmsKeyId: SageMaker encrypts the storage with an AWS managed key, which the "
            "customer cannot govern",
            **evidence,
        )
    if not key.get("collected"):
        return CheckResult.error(
            f"KMS key {ref} was not collected (kms-key collector disabled, or a snapshot "
            "older than it), so who manages it is unknown",
            **evidence,
        )
    missing = key.get("missing")
    if missing:
        return CheckResult.failed(
            f"KmsKeyId {ref} names no KMS key (DescribeKey: {missing.get('Code')}): SageMaker "
            "cannot use it, and no customer managed key protects the storage",
            **{**evidence, "describe_key_error": missing},
        )
    manager = key.get("key_manager")
    if manager == CUSTOMER:
        return CheckResult.passed(
            f"storage encrypted with customer managed KMS key {key.get('arn') or ref}"
            f" (KeyState {key.get('key_state')})",
            **evidence,
        )
    if manager == AWS_MANAGED:
        return CheckResult.failed(
            f"KmsKeyId {ref} is an AWS managed key ({key.get('arn')}); expected a customer "
            "managed key",
            **evidence,
        )
    return CheckResult.error(
        f"DescribeKey gave KeyManager {manager!r} for {ref}; expected CUSTOMER or AWS", **evidence
    )
