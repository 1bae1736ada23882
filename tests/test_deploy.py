"""The deployment recipes in deploy/ hold: each checked by its own ecosystem's tools.

CloudFormation by cfn-lint, Kubernetes manifests by the API schemas kubernetes-validate
carries offline, systemd units by systemd-analyze (when present), the Dockerfile by
dockerfile-parse (and a real build when a docker engine answers).  Each recipe must also
agree with the scanner itself: the role grants exactly the guard's read calls, the
ConfigMap's config loads, and every flag a recipe passes is an option of ``scanner
schedule`` (checked by parsing the recipe's argv with the real click command).
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode
from dockerfile_parse import DockerfileParser

from scanner.aws.guard import READ_ONLY_OPERATIONS, iam_action
from scanner.config import load_config
from tests.test_packaging import wheel_files

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
TEMPLATE = DEPLOY / "cloudformation" / "scanner-readonly-role.yaml"
POLICY = REPO / "docs" / "scanner-readonly-policy.json"
CRONJOB = DEPLOY / "kubernetes" / "cronjob.yaml"
SYSTEMD = DEPLOY / "systemd"
DAEMON = "privatelink-scanner.service"
ONESHOT = "privatelink-scanner-once.service"
TIMER = "privatelink-scanner.timer"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
CONFIG_PATH = "/etc/privatelink-scanner/config.yaml"

# Kubernetes versions the manifests must validate against: the oldest with
# podFailurePolicy and CronJob timeZone both GA, and the newest this package ships.
K8S_VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]


# --- CloudFormation ------------------------------------------------------------------------


def _template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert matches == [], [str(m) for m in matches]
    assert template is not None
    return dict(template)


def _policy_file_actions() -> list[str]:
    doc = json.loads(POLICY.read_text())
    return [a for s in doc["Statement"] for a in s["Action"]]


def test_cloudformation_template_passes_cfn_lint() -> None:
    # Errors, warnings and the informational checks, in a commercial and a GovCloud region.
    args = ManualArgs(include_checks=["I"], regions=["us-east-1", "eu-central-1", "us-gov-west-1"])
    matches = lint_file(TEMPLATE, args)
    assert [str(m) for m in matches] == []


def test_cloudformation_role_grants_exactly_the_guards_read_calls() -> None:
    resources = _template()["Resources"]
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 1
    statements = [
        s for p in roles[0]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
    ]
    # No policy may come from elsewhere in the template (managed policies, other roles).
    assert {r["Type"] for r in resources.values()} == {"AWS::IAM::Role"}
    assert "ManagedPolicyArns" not in roles[0]["Properties"]
    actions: list[str] = []
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}  # no NotAction etc.
        assert statement["Resource"] == "*"
        action = statement["Action"]
        actions += [action] if isinstance(action, str) else list(action)
    assert len(actions) == len(set(actions)), "an action is listed twice"
    assert not any("*" in a or "?" in a for a in actions), "no action wildcards"
    assert set(actions) == set(_policy_file_actions())
    assert set(actions) == {iam_action(op) for op in READ_ONLY_OPERATIONS}


def test_cloudformation_trust_requires_the_external_id_parameter() -> None:
    template = _template()
    params = template["Parameters"]
    assert params["ExternalId"]["NoEcho"] in (True, "true")
    assert int(params["ExternalId"]["MinLength"]) >= 8
    assert params["RoleName"]["Default"] == "privatelink-scanner-readonly"
    assert re.fullmatch(params["ScannerAccountId"]["AllowedPattern"], "111122223333")
    assert not re.fullmatch(params["ScannerAccountId"]["AllowedPattern"], "*")

    [role] = template["Resources"].values()
    props = role["Properties"]
    assert props["RoleName"] == {"Ref": "RoleName"}
    assert "MaxSessionDuration" in props
    statements = props["AssumeRolePolicyDocument"]["Statement"]
    assert statements, "the role trusts nobody"
    for statement in statements:
        assert statement["Effect"] == "Allow"  # a Deny would be fine; there is none
        assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"])
        principal = statement["Principal"]
        assert set(principal) == {"AWS"}
        assert principal["AWS"] == {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${ScannerAccountId}:root"
        }
        assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == {"Ref": "ExternalId"}
    assert template["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["ScannerReadOnlyRole", "Arn"]}


# --- Kubernetes ----------------------------------------------------------------------------


def _k8s_docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(CRONJOB.read_text()) if d is not None]


def _doc(kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in _k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def _cronjobs() -> list[dict[str, Any]]:
    return [d for d in _k8s_docs() if d["kind"] == "CronJob"]


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kubernetes_documents_validate_against_the_api_schema(version: str) -> None:
    docs = _k8s_docs()
    assert [d["kind"] for d in docs] == ["ServiceAccount", "ConfigMap", "CronJob", "CronJob"]
    for doc in docs:
        # Raises kubernetes_validate.ValidationError on an unknown or mistyped field.
        kubernetes_validate.validate(doc, version, strict=True)


def test_cronjob_runs_one_cycle_a_night_with_no_retries() -> None:
    cronjob = _doc("CronJob", "privatelink-scanner")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["timeZone"] == "Etc/UTC"
    assert isinstance(spec["startingDeadlineSeconds"], int) and spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    # Exit 2 and 3 fail the Job by the FailJob rule (reason PodFailurePolicy); exit 1
    # (FAILs found) must not be among them, so it reads BackoffLimitExceeded instead.
    [fail_job] = [r for r in job["podFailurePolicy"]["rules"] if r["action"] == "FailJob"]
    assert fail_job["onExitCodes"]["operator"] == "In"
    assert sorted(fail_job["onExitCodes"]["values"]) == [2, 3]
    pod = _pod(cronjob)
    assert pod["restartPolicy"] == "Never"
    assert pod["terminationGracePeriodSeconds"] >= 60  # time to record the run interrupted
    [container] = pod["containers"]
    assert fail_job["onExitCodes"]["containerName"] == container["name"]
    command = container["command"]
    assert command[:3] == ["scanner", "schedule", "--once"]
    assert command[command.index("--log-format") + 1] == "json"
    for key in ("cpu", "memory"):
        assert key in container["resources"]["requests"]
        assert key in container["resources"]["limits"]

    # --config names the ConfigMap's config.yaml through the mounted volume.
    config_path = Path(command[command.index("--config") + 1])
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(config_path.parent)]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    config_map = _doc("ConfigMap", volume["configMap"]["name"])
    assert config_path.name in config_map["data"]

    # IRSA: the pod's ServiceAccount carries an IAM role ARN.
    account = _doc("ServiceAccount", pod["serviceAccountName"])
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", role_arn)


def test_every_cronjob_runs_non_root_on_a_read_only_root_filesystem() -> None:
    for cronjob in _cronjobs():
        pod = _pod(cronjob)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["image"] == _pod(_cronjobs()[0])["containers"][0]["image"]


def test_kubernetes_secrets_only_by_reference() -> None:
    assert not [d for d in _k8s_docs() if d["kind"] == "Secret"], "a Secret with its values"
    for cronjob in _cronjobs():
        for container in _pod(cronjob)["containers"]:
            assert container.get("env"), "SCANNER_STORE at least"
            for env in container["env"]:
                assert "value" not in env, f"{env['name']} is written inline"
                assert set(env["valueFrom"]) == {"secretKeyRef"}, env["name"]
            names = {e["name"] for e in container["env"]}
            assert "SCANNER_STORE" in names


def test_configmap_config_is_a_valid_scanner_config(tmp_path: Path) -> None:
    cronjob = _doc("CronJob", "privatelink-scanner")
    pod = _pod(cronjob)
    [container] = pod["containers"]
    config_map = _doc("ConfigMap", "privatelink-scanner-config")
    path = tmp_path / "config.yaml"
    path.write_text(config_map["data"]["config.yaml"])
    config = load_config(path)  # raises InputError (file, line, problem) when invalid

    assert config.log_format == "json"
    # The store URL (with its password) comes from the Secret as SCANNER_STORE, never here.
    assert config.store.url is None
    # Reports land on a writable emptyDir: the root filesystem is read-only.
    empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    writable = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs]
    output = Path(config.output.dir)
    assert output.is_absolute()
    assert any(output.is_relative_to(w) for w in writable), (output, writable)
    # Every secret a notify target reads from the environment is given to the container:
    # the cycle refuses to start when one is missing.
    wanted = {
        value
        for target in config.notify.targets
        for key, value in target.model_dump().items()
        if key.endswith("_env") and value
    }
    assert wanted, "the example config shows a notify target"
    assert wanted <= {e["name"] for e in container["env"]}


# --- systemd -------------------------------------------------------------------------------


class _Unit(configparser.ConfigParser):
    """A unit file: INI with case-sensitive keys, repeated keys allowed (last one wins)."""

    def __init__(self, name: str) -> None:
        super().__init__(strict=False, interpolation=None)
        self.read_string((SYSTEMD / name).read_text())

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _exec_start(unit: _Unit) -> list[str]:
    return shlex.split(unit["Service"]["ExecStart"])


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)\s*(s|min|h)?", value)
    assert match, f"unexpected time span {value!r}"
    return int(match[1]) * {None: 1, "s": 1, "min": 60, "h": 3600}[match[2]]


def _config_argument(argv: list[str]) -> str:
    return argv[argv.index("--config") + 1]


def test_systemd_daemon_unit() -> None:
    unit = _Unit(DAEMON)
    service = unit["Service"]
    argv = _exec_start(unit)
    assert Path(argv[0]).is_absolute() and Path(argv[0]).name == "scanner"
    assert argv[1] == "schedule" and "--once" not in argv
    assert _config_argument(argv) == CONFIG_PATH
    assert service["Type"] == "simple"
    assert service["User"] not in ("root", "0")
    assert service["Restart"] == "on-failure"
    assert "2" in service["RestartPreventExitStatus"].split()  # a config error: no loop
    assert service["KillSignal"] == "SIGTERM"
    assert _seconds(service["TimeoutStopSec"]) >= 60
    # FAILs found (1) is a scan's status; the daemon exiting 1 is a crash to restart.
    assert "1" not in service.get("SuccessExitStatus", "").split()
    assert service["EnvironmentFile"].lstrip("-").startswith("/etc/privatelink-scanner/")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_oneshot_and_timer() -> None:
    unit = _Unit(ONESHOT)
    service = unit["Service"]
    argv = _exec_start(unit)
    assert Path(argv[0]).is_absolute() and Path(argv[0]).name == "scanner"
    assert argv[1:3] == ["schedule", "--once"]
    assert _config_argument(argv) == CONFIG_PATH
    assert argv[0] == _exec_start(_Unit(DAEMON))[0]
    assert service["Type"] == "oneshot"
    # 1 (FAILs found) is a normal night; 2 (config) and 3 (incomplete) fail the unit.
    assert service["SuccessExitStatus"].split() == ["1"]
    assert service.get("Restart", "no") == "no"
    assert service["KillSignal"] == "SIGTERM"

    timer = _Unit(TIMER)
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:00:00 UTC"
    assert timer["Timer"]["RandomizedDelaySec"] == "300"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == ONESHOT
    assert (SYSTEMD / timer["Timer"]["Unit"]).is_file()
    assert timer["Install"]["WantedBy"] == "timers.target"
    # Never the daemon and the timer on one store: starting one stops the other.
    assert DAEMON in timer["Unit"]["Conflicts"].split()


HARDENING = re.compile(
    r"(NoNewPrivileges|Protect\w+|Private\w+|Restrict\w+|ReadWritePaths|CapabilityBoundingSet"
    r"|AmbientCapabilities|SystemCall\w+|LockPersonality|RemoveIPC|UMask|StateDirectory\w*"
    r"|WorkingDirectory|User|Group)="
)


def test_systemd_services_share_their_hardening() -> None:
    lines = {}
    for name in (DAEMON, ONESHOT):
        text = (SYSTEMD / name).read_text()
        lines[name] = [line for line in text.splitlines() if HARDENING.match(line)]
        service = _Unit(name)["Service"]
        assert service["NoNewPrivileges"] == "yes"
        assert service["ProtectSystem"] == "strict"
        assert service["ProtectHome"] == "yes"
        assert service["PrivateTmp"] == "yes"
        assert service["StateDirectory"] == "privatelink-scanner"
        assert service["WorkingDirectory"] == "/var/lib/privatelink-scanner"
        assert "/var/lib/privatelink-scanner" in service["ReadWritePaths"].split()
        assert service["CapabilityBoundingSet"] == ""
    assert lines[DAEMON] == lines[ONESHOT]


def _systemd_root(tmp_path: Path) -> Path:
    """An offline root for systemd-analyze: the host's unit directory (for the targets the
    units name), ours, and a stand-in at the ExecStart path (verify checks it exists)."""
    unit_dir = next(
        (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
        None,
    )
    if unit_dir is None:
        pytest.skip("no systemd unit directory on this host for an offline verify root")
    root = tmp_path / "root"
    shutil.copytree(unit_dir, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for name in (DAEMON, ONESHOT, TIMER):
        shutil.copy(SYSTEMD / name, etc / name)
    executable = root / _exec_start(_Unit(DAEMON))[0].lstrip("/")
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\nexit 0\n")
    executable.chmod(0o755)
    return root


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (the unit checks above still ran)")
    root = _systemd_root(tmp_path)
    offline = [f"--root={root}"]
    proc = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            *offline,
            "--man=no",
            "--generators=no",
            DAEMON,
            ONESHOT,
            TIMER,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # verify exits 0 on unknown keys or unparsable values too (it ignores them): any output
    # at all is a finding.
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")
    for name in (DAEMON, ONESHOT):
        # systemd's own exposure score, 0 (locked down) .. 10 (unprotected), times ten.
        proc = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", *offline, "--threshold=20", name],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr


# --- Docker --------------------------------------------------------------------------------


def _dockerfile() -> DockerfileParser:
    return DockerfileParser(str(DOCKERFILE))


def _instructions(name: str) -> list[str]:
    return [i["value"] for i in _dockerfile().structure if i["instruction"] == name]


def _copy_sources() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY/ADD from the build context (not --from)."""
    copies = []
    for value in _instructions("COPY") + _instructions("ADD"):
        words = shlex.split(value)
        if any(w.startswith("--from=") for w in words):
            continue
        args = [w for w in words if not w.startswith("--")]
        copies.append((args[:-1], args[-1]))
    return copies


def _dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (is_exception, regex), in file order (the last match wins)."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex, i = "", 0
        while i < len(glob):  # Docker's globs: * and ? stay within one path segment
            if glob.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif glob.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif glob[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif glob[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif glob[i] == "[":
                end = glob.index("]", i)
                regex, i = regex + glob[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(glob[i]), i + 1
        patterns.append((negate, re.compile(regex)))
    return patterns


def _ignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether docker leaves ``path`` (relative to the context) out: a pattern matching the
    path or any of its parent directories decides, the last one that matches wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for negate, regex in patterns:
        if any(regex.fullmatch(p) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerfile() -> None:
    dockerfile = _dockerfile()
    assert dockerfile.parent_images, "no FROM"
    assert all(image.startswith("python:3.11") for image in dockerfile.parent_images)
    assert dockerfile.baseimage.startswith("python:3.11")
    users = _instructions("USER")
    assert users, "the image runs as root"
    user, _, group = users[-1].partition(":")
    assert user not in ("root", "0") and group not in ("root", "0")
    assert json.loads(_instructions("ENTRYPOINT")[-1]) == ["scanner"]
    assert json.loads(_instructions("CMD")[-1]) == ["schedule", "--config", "/config/config.yaml"]
    assert _instructions("STOPSIGNAL") == ["SIGTERM"]
    assert _instructions("VOLUME"), "reports and the SQLite store need a volume"
    assert json.loads(_instructions("VOLUME")[-1]) == [_instructions("WORKDIR")[-1]]
    installs = [r for r in _instructions("RUN") if "pip install" in r]
    assert installs and all(re.search(r"pip install \.(\s|$)", r) for r in installs)
    assert not any("[dev" in r for r in installs), "no dev extras in the image"


def test_dockerfile_copies_only_what_exists_and_is_in_the_build_context() -> None:
    patterns = _dockerignore()
    copies = _copy_sources()
    assert copies, "the Dockerfile copies nothing from the context"
    for sources, _ in copies:
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not _ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
    for kept_out in (".venv/bin/python", ".git/HEAD", "tests/test_deploy.py", "reports/h.db"):
        assert _ignored(kept_out, patterns), f"{kept_out} would be sent to the docker daemon"
    assert _ignored("scanner/cli/__pycache__/app.cpython-311.pyc", patterns)
    assert not _ignored("scanner/cli/app.py", patterns)
    assert not _ignored("rules/privatelink.yaml", patterns)


def test_docker_build_context_builds_a_complete_wheel(tmp_path: Path) -> None:
    """What `pip install .` sees inside the image (the COPYs, minus .dockerignore) builds a
    wheel with the rule packs and report templates, without docker."""
    patterns = _dockerignore()
    workdir = tmp_path / "src"
    for sources, destination in _copy_sources():
        target = workdir / destination
        for source in sources:
            path = REPO / source
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for file in files:
                relative = file.relative_to(REPO).as_posix()
                if _ignored(relative, patterns):
                    continue
                if path.is_file():
                    dest = target / file.name if destination.endswith("/") else target
                else:
                    dest = target / file.relative_to(path)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(file, dest)
    assert not list(workdir.rglob("__pycache__"))
    names = wheel_files(workdir, tmp_path / "wheels")
    for shipped in (
        "scanner/cli/app.py",
        "scanner/rulepacks/privatelink.yaml",
        "scanner/rulepacks/frameworks/hipaa.yaml",
        "scanner/reporting/templates/report.html.j2",
        "scanner/history/migrations/script.py.mako",
    ):
        assert shipped in names, f"{shipped} missing from the image's install"


def test_docker_image_builds_and_runs(tmp_path: Path) -> None:
    """Builds in CI only where a docker engine answers (a client alone is not enough)."""
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed")
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.skip("docker info did not answer within 60 s")
    if info.returncode != 0:
        pytest.skip(f"no docker engine answers (docker info exited {info.returncode})")
    tag = f"privatelink-scanner-test:{uuid.uuid4().hex[:12]}"
    try:
        build = subprocess.run(
            ["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(REPO)],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert build.returncode == 0, build.stderr[-4000:]
        run = subprocess.run(
            ["docker", "run", "--rm", tag, "--help"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "schedule" in run.stdout
        uid = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert uid.returncode == 0 and uid.stdout.strip() not in ("", "0"), uid.stdout
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=300)


# --- The recipes against the real CLI ------------------------------------------------------


def _invocations() -> dict[str, list[str]]:
    """Every scanner command line a recipe runs, by where it is written."""
    found = {
        DAEMON: _exec_start(_Unit(DAEMON)),
        ONESHOT: _exec_start(_Unit(ONESHOT)),
        "Dockerfile": json.loads(_instructions("ENTRYPOINT")[-1])
        + json.loads(_instructions("CMD")[-1]),
    }
    for cronjob in _cronjobs():
        for container in _pod(cronjob)["containers"]:
            found[f"CronJob {cronjob['metadata']['name']}"] = container["command"]
    return found


def test_every_recipe_command_line_parses_with_scanner_schedule() -> None:
    from scanner.cli.app import cli

    schedule = cli.get_command(click.Context(cli), "schedule")
    assert isinstance(schedule, click.Group), "`scanner schedule` is not registered (yet?)"
    invocations = _invocations()
    assert len(invocations) == 5
    for where, argv in invocations.items():
        assert Path(argv[0]).name == "scanner" and argv[1] == "schedule", where
        args = argv[2:]
        # Parsing makes click check every option name and value (choices such as
        # --log-format json) without running anything.
        if args and not args[0].startswith("-"):
            sub = schedule.commands.get(args[0])
            assert sub is not None, f"{where}: no subcommand `schedule {args[0]}`"
            parent = schedule.make_context("schedule", [], resilient_parsing=False)
            ctx = sub.make_context(args[0], args[1:], parent=parent)
            assert ctx.args == [], f"{where}: left over {ctx.args}"
        else:
            # The group's own options, as a plain command: a stray word is an error there.
            click.Command("schedule", params=schedule.params).make_context("schedule", args)
