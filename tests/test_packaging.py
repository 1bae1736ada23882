"""The wheel carries the rule packs, framework mappings and report template.

Rule packs live in the repository's top-level ``rules/`` (data, not code) and ship as the
package ``scanner.rulepacks``; a scan must work from any directory and from an installed
wheel, not only from a checkout.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.clikit import run_cli

REPO = Path(__file__).resolve().parent.parent


def wheel_files(source: Path, out: Path) -> set[str]:
    """Build the wheel of the project at ``source`` into ``out``; the files it holds."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [wheel] = list(out.glob("privatelink_scanner-*.whl"))
    return set(zipfile.ZipFile(wheel).namelist())


def test_wheel_contains_rules_frameworks_and_templates(tmp_path: Path) -> None:
    names = wheel_files(REPO, tmp_path)
    for shipped in (
        "scanner/rulepacks/privatelink.yaml",
        "scanner/rulepacks/iam.yaml",
        "scanner/rulepacks/frameworks/hipaa.yaml",
        "scanner/rulepacks/frameworks/pci-dss-v4.yaml",
        "scanner/reporting/templates/report.html.j2",
        "scanner/reporting/static/report.js",
        "scanner/reporting/static/report.css",
        "scanner/py.typed",
    ):
        assert shipped in names, f"{shipped} missing from the wheel"
    assert not any(n.startswith("tests/") for n in names)


def test_rules_load_from_another_working_directory(tmp_path: Path) -> None:
    proc = run_cli("rules", "list", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "notebook-no-public-access-path" in proc.stdout
