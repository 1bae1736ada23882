"""Configuration: ``config.yaml`` validated into typed settings.

Every key is optional; with no file at all the defaults scan the current credentials in
the configured/all enabled regions with the shipped rule packs.  Unknown keys are errors
(a typo such as ``regoins`` must not silently scan every region), reported with file and
line via :mod:`scanner.yamldoc`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from scanner.errors import InputError
from scanner.model.finding import Severity
from scanner.waivers import Waiver, load_waivers_file
from scanner.yamldoc import YamlDoc, load_yaml, pydantic_error

DEFAULT_IAM_ACTIONS = [
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:DescribeNotebookInstance",
]

Format = Literal["csv", "html", "json", "compliance", "ocsf", "asff", "xlsx"]
ALL_FORMATS: tuple[Format, ...] = ("csv", "html", "json", "compliance", "ocsf", "asff", "xlsx")
# What a scan writes unless told otherwise: the other formats are for other tools and
# auditors, asked for with --format or output.formats.
DEFAULT_FORMATS: tuple[Format, ...] = ("csv", "html", "json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryConfig(_Strict):
    """botocore retry behaviour: bounded attempts at call level (pages retry per call)."""

    mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)


class CollectorsConfig(_Strict):
    """Which collectors run.  A disabled collector is recorded as ``disabled``."""

    disabled: list[str] = Field(default_factory=list)
    concurrency: int = Field(default=8, ge=1, le=64)


class ScopeConfig(_Strict):
    """Extra VPCs the VPC rules must check even when they host no notebook."""

    vpcs: list[str] = Field(default_factory=list)


class IamConfig(_Strict):
    """IAM analysis settings (issue: IAM evaluator and public access paths)."""

    actions: list[str] = Field(default_factory=lambda: list(DEFAULT_IAM_ACTIONS))


class PublicPathsConfig(_Strict):
    """Which outbound-only routes the public-access-path verdicts count as a path.

    An internet gateway route is always a path.  A NAT gateway or an egress-only internet
    gateway admits no connection from the internet, but it lets code in the notebook or
    Studio app send data to any host on it: under HIPAA transmission security and PCI DSS
    1.3.2 (outbound traffic restricted to what is necessary) that is a way out, so both
    count by default.  An estate whose NAT egress passes an inspecting firewall can turn
    them off; the routes are then still named in the evidence.
    """

    nat_gateway: bool = True
    egress_only_internet_gateway: bool = True


class OutputConfig(_Strict):
    """Where reports go and in which formats."""

    dir: str = "reports"
    formats: list[Format] = Field(default_factory=lambda: list(DEFAULT_FORMATS))


class StoreConfig(_Strict):
    """The history store (README, "History, drift and baselines")."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<output.dir>/history.db",
    )
    lock: Literal["wait", "refuse"] = "wait"
    lock_timeout: float = Field(default=3600.0, gt=0)
    retention_days: int | None = Field(default=None, ge=1)
    baseline: str | None = None


class Config(_Strict):
    """The whole ``config.yaml``."""

    profile: str | None = None
    regions: list[str] = Field(default_factory=list)
    endpoint_url: str | None = None
    retries: RetryConfig = Field(default_factory=RetryConfig)
    collectors: CollectorsConfig = Field(default_factory=CollectorsConfig)
    rule_packs: list[str] = Field(default_factory=list)
    disabled_rules: list[str] = Field(default_factory=list)
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    approved_vpc_endpoints: list[str] = Field(default_factory=list)
    approved_vpcs: list[str] = Field(default_factory=list)
    iam: IamConfig = Field(default_factory=IamConfig)
    public_paths: PublicPathsConfig = Field(default_factory=PublicPathsConfig)
    fail_on: Severity = Severity.LOW
    output: OutputConfig = Field(default_factory=OutputConfig)
    log_format: Literal["text", "json"] = "text"
    store: StoreConfig = Field(default_factory=StoreConfig)
    waivers: list[Waiver] = Field(default_factory=list)
    waivers_file: str | None = None
    # Directory that relative paths in this file (rule_packs) are resolved against.
    base_dir: str = Field(default=".", exclude=True)
    # Where the settings came from, so checks made later (collector names, rule ids) can
    # still point at the file and line.
    _doc: YamlDoc | None = PrivateAttr(default=None)

    def error_at(self, problem: str, *path: str | int) -> InputError:
        """An InputError located at ``path`` in the config file (or unlocated defaults)."""
        located = f"{'.'.join(map(str, path))}: {problem}"
        if self._doc is None:
            return InputError(located, path="<defaults>")
        return self._doc.error(located, path)

    @field_validator("regions")
    @classmethod
    def _regions_look_like_regions(cls, value: list[str]) -> list[str]:
        for region in value:
            parts = region.split("-")
            if len(parts) < 3 or not parts[-1].isdigit():
                raise ValueError(f"{region!r} is not an AWS region name such as us-west-2")
        return value

    def all_waivers(self) -> list[Waiver]:
        """Inline waivers plus those of ``waivers_file`` (relative to the config file)."""
        extra = (
            load_waivers_file(Path(self.base_dir) / self.waivers_file) if self.waivers_file else []
        )
        return [*self.waivers, *extra]

    def digest(self) -> str:
        """Hash of the effective settings (recorded with every run, so a changed config
        explains changed findings)."""
        text = self.model_dump_json(exclude={"base_dir"})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def rule_pack_paths(self) -> list[Path]:
        """User rule packs, resolved relative to the config file's directory."""
        return [(Path(self.base_dir) / p).resolve() for p in self.rule_packs]


def load_config(path: str | Path | None) -> Config:
    """Load and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return Config()
    doc = load_yaml(path)
    if doc.value is None:
        return Config(base_dir=str(Path(path).resolve().parent))
    if not isinstance(doc.value, dict):
        raise doc.error("the config file must be a mapping of settings")
    if "base_dir" in doc.value:
        raise doc.error("base_dir: unknown key", ("base_dir",))
    try:
        config = Config(**doc.value, base_dir=str(Path(path).resolve().parent))
    except ValidationError as exc:
        raise pydantic_error(doc, exc) from None
    config._doc = doc
    return config
