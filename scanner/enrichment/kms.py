"""The KMS key a notebook or Studio domain names (``KmsKeyId``), as the kms-key collector read it.

The collector describes each distinct ``KmsKeyId`` value once and stores the answer under
that value as written (key id, key ARN, alias name or alias ARN), so the join here is an
exact lookup in the resource's own scope: a notebook's key lives in its region.
"""

from __future__ import annotations

from typing import Any

from scanner.enrichment.index import SnapshotIndex
from scanner.model.snapshot import MISSING_KEY

KMS_KEY_TYPE = "kms:key"


def kms_key_facts(index: SnapshotIndex, account_id: str, region: str, ref: Any) -> dict[str, Any]:
    """``{ref, collected, missing, key_id, arn, key_manager, key_state}`` for the key ``ref``
    names.  ``ref`` null: no key named.  ``collected`` false: no record for it (the
    collector was disabled, failed, or the snapshot predates it).  ``missing``: DescribeKey
    said the value names no key (``{Code, Message}``)."""
    if not isinstance(ref, str) or not ref:
        return {"ref": None, "collected": False}
    data = index.data(account_id, region, KMS_KEY_TYPE, ref)
    if data is None:
        return {"ref": ref, "collected": False}
    return {
        "ref": ref,
        "collected": True,
        "missing": data.get(MISSING_KEY),
        "key_id": data.get("KeyId"),
        "arn": data.get("Arn"),
        "key_manager": data.get("KeyManager"),
        "key_state": data.get("KeyState"),
    }
