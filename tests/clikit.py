"""Run the real ``scanner`` CLI in a subprocess, as users and the nightly job do."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m scanner ARGS`` with the test environment (moto endpoint, dummy creds).

    Without ``cwd`` the command runs in a fresh temporary directory, so its default history
    store (``reports/history.db``) and reports never land in the checkout or in another
    test's store.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        cwd=cwd or tempfile.mkdtemp(prefix="scanner-cli-"),
        env=full_env,
        timeout=timeout,
        check=False,
    )
