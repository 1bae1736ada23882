"""Property tests of the readers of user input: config, rule packs, snapshots (issue 12).

Whatever a file holds, each reader returns a value or raises an :class:`InputError` whose
message names the file (and the line, where the format has lines: YAML always, JSON on a
syntax error); never another exception, which the CLI would show as a traceback.
hypothesis generates two kinds of input per reader: a valid document with one field
mutated (replaced by any YAML/JSON value, deleted, or joined by an unknown key), and
garbage (text, bytes; for snapshots also gzip cut short and wrong versions).  A handful of
generated bad files then go through the real CLI in a subprocess: exit 2, no traceback.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.config import Config, load_config
from scanner.engine.loader import load_ruleset
from scanner.errors import InputError
from scanner.model.snapshot import SCHEMA_VERSION, Snapshot
from tests.clikit import run_cli
from tests.snapshots import compliant_snapshot

# -- documents --------------------------------------------------------------------------

CONFIG: dict[str, Any] = {
    "regions": ["us-west-2"],
    "retries": {"mode": "adaptive", "max_attempts": 5, "connect_timeout": 10},
    "collectors": {"concurrency": 8, "disabled": []},
    "rule_packs": [],
    "disabled_rules": [],
    "scope": {"vpcs": []},
    "iam": {"actions": ["sagemaker:CreatePresignedNotebookInstanceUrl"]},
    "public_paths": {"nat_gateway": True},
    "fail_on": "low",
    "output": {"dir": "reports", "formats": ["csv", "html", "json"]},
    "log_format": "text",
    "store": {"lock": "wait", "lock_timeout": 3600},
    "tickets": {
        "min_severity": "high",
        "rules": [],
        "targets": [
            {
                "name": "jira",
                "kind": "jira",
                "url": "https://jira.example.com",
                "api_version": 3,
                "project": "SEC",
                "user_env": "JIRA_USER",
                "token_env": "JIRA_TOKEN",
            }
        ],
    },
    "waivers": [],
}

PACK: dict[str, Any] = {
    "pack": "prop-pack",
    "description": "generated",
    "rules": [
        {
            "id": "prop-root-access",
            "title": "Notebook root access is disabled",
            "description": "Root access lets any notebook user change the instance.",
            "severity": "high",
            "resource_type": "sagemaker:notebook-instance",
            "check": {
                "jmespath": "RootAccess",
                "on_missing": {"assume": "Enabled", "because": "AWS's default is Enabled"},
                "pass_when": "@ == 'Disabled'",
            },
            "messages": {"pass": "RootAccess is Disabled", "fail": "RootAccess is {value}"},
            "remediation": {"text": "Disable it.", "cli": "aws sagemaker update-notebook"},
            "references": ["https://docs.aws.amazon.com/sagemaker/"],
        }
    ],
}

SNAPSHOT: dict[str, Any] = compliant_snapshot().to_dict()

# -- strategies -------------------------------------------------------------------------

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
"""Any value YAML and JSON can both write."""


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``doc`` (keys and list indexes), the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any], path_list: list[tuple[Any, ...]]) -> Any:
    """``template`` with one field replaced, deleted, or given an unknown sibling key."""
    doc = copy.deepcopy(template)
    path = draw(st.sampled_from(path_list))
    how = draw(st.sampled_from(["replace", "delete", "extra"]))
    if not path:
        return draw(values) if how == "replace" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if how == "replace":
        parent[path[-1]] = draw(values)
    elif how == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return doc


CONFIG_PATHS = paths(CONFIG)
PACK_PATHS = paths(PACK)
# The resources tree is wide: mutate only its first levels and the other fields.
SNAPSHOT_PATHS = [p for p in paths(SNAPSHOT) if not (p[:1] == ("resources",) and len(p) > 5)]

garbage_text = (
    st.text(max_size=200)
    | st.sampled_from(
        ["{", "[", "- a\n-", "a: [", "a: b: c", "\t- x", "!!python/object:os.system x", "&a [*a]"]
    )
    | st.builds(lambda n, c: c * n, st.integers(1, 1200), st.sampled_from(["[", "- ", "{a: "]))
)


def _has_document(text: str) -> bool:
    """Whether ``text`` holds a YAML document (an empty or comment-only file has no line
    to name; a file YAML cannot parse is named at its error's line)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader) is not None
    except (yaml.YAMLError, RecursionError):
        return True


def _has_line(exc: InputError, text: str) -> bool:
    """Whether a YAML reader's error must name a line: always, except for an empty file,
    one that is not UTF-8, or one nested too deeply for the parser to find where."""
    unlocated = ("cannot read file", "nested too deeply")
    return not any(u in exc.problem for u in unlocated) and _has_document(text)


def _check(exc: InputError, path: Path, *, lines: bool) -> None:
    assert exc.path == str(path), exc.format()
    assert str(path) in str(exc)
    if lines:
        assert exc.line is not None and exc.line >= 1, exc.format()


# -- config -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("props")


def _load_config(path: Path) -> None:
    try:
        assert isinstance(load_config(path), Config)
    except InputError as exc:
        _check(exc, path, lines=True)


def test_the_config_template_is_valid(workdir: Path) -> None:
    path = workdir / "template.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    assert load_config(path).tickets.targets[0].name == "jira"


@settings(max_examples=100)
@given(mutated(CONFIG, CONFIG_PATHS))
def test_config_with_a_mutated_field_loads_or_names_file_and_line(workdir: Path, doc: Any) -> None:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    _load_config(path)


def _garbage_text(path: Path, text: str, load: Callable[[Path], object]) -> None:
    """``text`` written to ``path`` loads, or is an InputError naming the file, and its line
    where it has one (a file that is not UTF-8 has no line to name: the reader says so)."""
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(path)
    except InputError as exc:
        _check(exc, path, lines=_has_line(exc, text))


@settings(max_examples=60)
@given(garbage_text)
def test_config_garbage_text_loads_or_names_file_and_line(workdir: Path, text: str) -> None:
    _garbage_text(workdir / "config.yaml", text, load_config)


@settings(max_examples=50)
@given(st.binary(max_size=100))
def test_config_garbage_bytes_never_crash(workdir: Path, raw: bytes) -> None:
    path = workdir / "config.yaml"
    path.write_bytes(raw)
    try:
        load_config(path)
    except InputError as exc:
        _check(exc, path, lines=False)


# -- rule packs -------------------------------------------------------------------------


def _load_pack(path: Path) -> None:
    try:
        load_ruleset([path], include_shipped=False)
    except InputError as exc:
        _check(exc, path, lines=True)


def test_the_pack_template_is_valid(workdir: Path) -> None:
    path = workdir / "pack.yaml"
    path.write_text(yaml.safe_dump(PACK))
    assert list(load_ruleset([path], include_shipped=False).ids) == ["prop-root-access"]


@settings(max_examples=100)
@given(mutated(PACK, PACK_PATHS))
def test_rule_pack_with_a_mutated_field_loads_or_names_file_and_line(
    workdir: Path, doc: Any
) -> None:
    path = workdir / "pack.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    _load_pack(path)


@settings(max_examples=60)
@given(garbage_text)
def test_rule_pack_garbage_text_loads_or_names_file_and_line(workdir: Path, text: str) -> None:
    _garbage_text(workdir / "pack.yaml", text, lambda p: load_ruleset([p], include_shipped=False))


# -- snapshots --------------------------------------------------------------------------


def _load_snapshot(path: Path, *, lines: bool = False) -> None:
    try:
        assert isinstance(Snapshot.load(path), Snapshot)
    except InputError as exc:
        _check(exc, path, lines=lines)


def _encode(doc: Any, gz: bool) -> bytes:
    raw = json.dumps(doc).encode()
    return gzip.compress(raw, mtime=0) if gz else raw


@settings(max_examples=100)
@given(mutated(SNAPSHOT, SNAPSHOT_PATHS), st.booleans())
def test_snapshot_with_a_mutated_field_loads_or_names_the_file(
    workdir: Path, doc: Any, gz: bool
) -> None:
    path = workdir / "snap.json.gz"
    path.write_bytes(_encode(doc, gz))
    _load_snapshot(path)


@settings(max_examples=50)
@given(values.filter(lambda v: v != SCHEMA_VERSION), st.booleans())
def test_snapshot_of_another_version_is_refused_naming_it(
    workdir: Path, version: Any, gz: bool
) -> None:
    path = workdir / "snap.json.gz"
    path.write_bytes(_encode({**SNAPSHOT, "schema_version": version}, gz))
    with pytest.raises(InputError) as caught:
        Snapshot.load(path)
    _check(caught.value, path, lines=False)
    assert "schema_version" in caught.value.problem


FULL = _encode(SNAPSHOT, True)
PLAIN = _encode(SNAPSHOT, False)


@settings(max_examples=50)
@given(st.integers(0, len(FULL) - 1), st.booleans())
def test_a_truncated_snapshot_is_an_input_error(workdir: Path, cut: int, gz: bool) -> None:
    path = workdir / "snap.json.gz"
    path.write_bytes((FULL if gz else PLAIN)[: cut if gz else cut % len(PLAIN)])
    with pytest.raises(InputError) as caught:
        Snapshot.load(path)
    # Cut JSON is a syntax error at a line and column; cut gzip has no lines.
    _check(caught.value, path, lines=not gz and "JSON" in caught.value.problem)


@settings(max_examples=100)
@given(
    st.binary(max_size=200)
    | st.builds(lambda b: b"\x1f\x8b" + b, st.binary(max_size=60))
    | st.builds(lambda n: b"[" * n, st.integers(1, 100_000))
    | st.builds(lambda n: gzip.compress(b'{"a":' * n), st.integers(1, 100_000))
)
def test_snapshot_garbage_bytes_never_crash(workdir: Path, raw: bytes) -> None:
    path = workdir / "snap.json.gz"
    path.write_bytes(raw)
    _load_snapshot(path)


# -- the CLI: exit 2, no traceback ---------------------------------------------------------

BAD_FILES: list[tuple[str, str, bytes]] = [
    ("config", "config.yaml", b"regions: [us-west-2\n"),
    (
        "config",
        "config.yaml",
        yaml.safe_dump({**CONFIG, "retries": {"max_attempts": [1]}}).encode(),
    ),
    (
        "pack",
        "pack.yaml",
        yaml.safe_dump({**PACK, "rules": [{**PACK["rules"][0], "check": 7}]}).encode(),
    ),
    ("snapshot", "snap.json.gz", FULL[: len(FULL) // 2]),
    ("snapshot", "snap.json", _encode({**SNAPSHOT, "schema_version": 99}, False)),
]


@pytest.mark.parametrize(("kind", "name", "raw"), BAD_FILES)
def test_the_cli_exits_2_naming_the_file_without_traceback(
    tmp_path: Path, kind: str, name: str, raw: bytes
) -> None:
    bad = tmp_path / name
    bad.write_bytes(raw)
    config = tmp_path / "ok.yaml"
    config.write_text(yaml.safe_dump({"output": {"dir": str(tmp_path / "out")}}))
    if kind == "config":
        args = ("config", "check", "--config", str(bad))
    elif kind == "pack":
        config.write_text(yaml.safe_dump({"rule_packs": [str(bad)]}))
        args = ("config", "check", "--config", str(config))
    else:
        args = ("scan", "--snapshot", str(bad), "--no-store", "--config", str(config))
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and proc.stderr.startswith("error: ")


def test_an_alias_bomb_is_refused_at_its_line(workdir: Path) -> None:
    """Nine levels of ten aliases each would expand to 10^9 values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = workdir / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load_config(path)
    _check(caught.value, path, lines=True)
    assert "aliases expanded" in caught.value.problem
