"""The Jira CSV target: Jira importer columns, and the spreadsheet formula guard."""

from __future__ import annotations

import csv
from pathlib import Path

from scanner.config import Config
from scanner.history.store import Store
from scanner.model.finding import Status
from scanner.tickets import sync
from tests.ticketruns import Check, config_dict, write_run

A = Check("notebook-direct-internet-access-disabled", '=HYPERLINK("http://x")')


def test_rows_have_jira_columns_and_no_cell_becomes_a_formula(tmp_path: Path) -> None:
    target = {
        "name": "imp",
        "kind": "jira-csv",
        "project": "SEC",
        "dir": str(tmp_path / "out"),
        "labels": ["+urgent"],
        "components": ["Network"],
    }
    config = Config(**config_dict([target]), base_dir=str(tmp_path))
    with Store.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        write_run(store, "n1", 1, [A.finding(Status.FAIL)])
        with store.writing():
            assert sync(config, store).ok
    [path] = (tmp_path / "out").glob("imp-n1.csv")
    header, row = list(csv.reader(path.open(newline="", encoding="utf-8")))
    assert header == [
        "Summary",
        "Issue Type",
        "Project Key",
        "Priority",
        "Description",
        "Labels",
        "Labels",
        "Labels",
        "Component",
    ]
    assert row[:4] == [
        f'{A.rule_id}: =HYPERLINK("http://x") (123456789012 us-west-2)',
        "Bug",
        "SEC",
        "High",
    ]
    assert row[5:] == [
        "privatelink-scanner",
        f"plscan-{A.finding(Status.FAIL).fingerprint}",
        "'+urgent",  # a leading + would be a formula in a spreadsheet
        "Network",
    ]
