"""Pagination against moto's server: every item of a multi-page listing is collected."""

from __future__ import annotations

from typing import Any

from scanner.model.snapshot import OutcomeStatus
from tests.collectkit import collect_only, outcome, resources
from tests.faultproxy import FaultProxy

# moto's ListNotebookInstances pages at 100 items (AWS's maximum), so 105 spans two pages.
NOTEBOOKS = 105


def test_all_notebooks_of_a_multi_page_listing_are_collected(proxy: FaultProxy, aws: Any) -> None:
    sm = aws("sagemaker")
    names = {f"nb-{i:03d}" for i in range(NOTEBOOKS)}
    for name in names:
        sm.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn="arn:aws:iam::123456789012:role/r",
        )
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert proxy.counts["ListNotebookInstances"] == 2  # it really took two pages
    assert set(resources(snap, "sagemaker:notebook-instance")) == names
    got = outcome(snap, "notebook-instance")
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, NOTEBOOKS)
    assert proxy.counts["DescribeNotebookInstance"] == NOTEBOOKS
