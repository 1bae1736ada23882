"""Config of organization scans: ``accounts:``, ``organization:`` and ``executor:``.

Every mistake is an InputError naming the file and the line of the offending entry, before
any AWS call: a typo in an account list must not scan the wrong estate quietly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import DEFAULT_SERVICE_CONCURRENCY, load_config
from scanner.errors import InputError

ROLE = "arn:aws:iam::111122223333:role/Audit"


def _error(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as err:
        load_config(_write(tmp_path, text))
    return err.value


def test_an_account_list_is_read_with_its_defaults(tmp_path: Path) -> None:
    config = load_config(
        _write(tmp_path, f"accounts:\n  - id: '111122223333'\n    role_arn: {ROLE}\n")
    )
    entry = config.accounts[0]
    assert (entry.id, entry.role_arn, entry.external_id) == ("111122223333", ROLE, None)
    assert entry.session_name == "privatelink-scanner"
    assert entry.duration_seconds == 3600
    assert entry.regions == []


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # a role in another account than the entry's id
        (
            "accounts:\n  - id: '211122223333'\n    role_arn: " + ROLE + "\n",
            2,
            "is not a role in account 211122223333",
        ),
        ("accounts:\n  - id: '1234'\n", 2, "pattern"),
        ("accounts:\n  - id: '111122223333'\n    regions: [uswest2]\n", 3, "region"),
        (
            "accounts:\n  - id: '111122223333'\n    role_arn: "
            + ROLE
            + "\n    duration_seconds: 60\n",
            4,
            "900",
        ),
        (
            "accounts:\n  - id: '111122223333'\n  - id: '111122223333'\n",
            1,
            "listed twice",
        ),
        ("organization:\n  include_ous: [prod]\n", 2, "not a root"),
        ("organization:\n  exclude_accounts: ['12']\n", 2, "12-digit"),
        ("organization:\n  external_id: x\n", 2, "at least 2"),
        ("executor:\n  kind: local\n  address: tcp://s:8786\n", 1, "only read with kind: dask"),
        ("executor:\n  kind: spark\n", 2, "'local' or 'dask'"),
        ("collectors:\n  service_concurrency: {iam: 0}\n", 2, "at least 1"),
    ],
)
def test_mistakes_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    err = _error(tmp_path, text)
    assert err.line == line, err
    assert words in err.problem


def test_accounts_and_discovery_are_exclusive(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        f"accounts:\n  - id: '111122223333'\n    role_arn: {ROLE}\norganization:\n  discover: true\n",
    )
    assert "use one" in err.problem


def test_service_limits_extend_the_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "collectors:\n  service_concurrency: {ec2: 2, iam: 3}\n"))
    assert config.collectors.service_concurrency == {
        **DEFAULT_SERVICE_CONCURRENCY,
        "ec2": 2,
        "iam": 3,
    }
    assert DEFAULT_SERVICE_CONCURRENCY["iam"] == 1  # the default itself is untouched
