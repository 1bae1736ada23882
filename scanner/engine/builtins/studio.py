"""Builtins for SageMaker Studio domains: subnets, security groups, root, the Studio endpoint.

Each reads the facts :mod:`scanner.enrichment.studio` resolved and judges them with the same
helpers the notebook and endpoint rules use (route judgement, security group judgement,
endpoint reachability), so a domain and a notebook in the same subnet get the same answer.
"""

from __future__ import annotations

from typing import Any

from scanner.engine.builtins.access_paths import Paths, endpoint_paths
from scanner.engine.builtins.endpoints import groups_result
from scanner.engine.builtins.network import subnet_route_result
from scanner.engine.checks import CheckContext, CheckResult
from scanner.enrichment.estate import EstateResource
from scanner.model.finding import Status
from scanner.model.snapshot import OutcomeStatus


def unseen(ctx: CheckContext, account_id: str, region: str, *rtypes: str) -> list[str]:
    """The types among ``rtypes`` nobody looked at in the scope: their collector is
    disabled or not collected, or the snapshot has no outcome for it (one from before the
    collector existed).  A failed collector is not here: ``requires`` makes that ERROR.
    A rule that found nothing wrong must not PASS over these."""
    out = []
    for rtype in rtypes:
        outcomes = ctx.snapshot.outcomes_for(rtype, account_id, region)
        if not any(o.status is OutcomeStatus.OK for o in outcomes):
            why = ", ".join(f"{o.collector} {o.status}" for o in outcomes) or "not in the snapshot"
            out.append(f"{rtype} ({why})")
    return out


_NOT_VPC_ONLY = (
    "the domain is not VpcOnly ({mode}): its apps use SageMaker's network, not these "
    "subnets, for internet traffic (see studio-domain-vpc-only)"
)


def studio_domain_subnet_no_internet_route(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """Every subnet of a VpcOnly domain: the effective route table has no ``igw-`` route
    (NAT and egress-only routes are named, as for notebooks).  PublicInternetOnly domains
    are NOT_APPLICABLE: studio-domain-vpc-only already FAILs them."""
    e = res.enriched
    if not e.get("vpc_only"):
        return CheckResult.not_applicable(_NOT_VPC_ONLY.format(mode=e.get("network_access")))
    subnets: list[dict[str, Any]] = e.get("subnets") or []
    if not subnets:
        return CheckResult.error(
            "the VpcOnly domain lists no SubnetIds (CreateDomain requires them)", subnets=[]
        )
    results = [(f["subnet_id"], subnet_route_result(f, f"domain {res.id}")) for f in subnets]
    evidence = {"subnets": [{"subnet_id": sid, **r.evidence} for sid, r in results]}
    for status in (Status.FAIL, Status.ERROR):
        bad = [f"{sid}: {r.message}" for sid, r in results if r.status is status]
        if bad:
            make = CheckResult.failed if status is Status.FAIL else CheckResult.error
            return make("; ".join(bad), **evidence)
    return CheckResult.passed("; ".join(f"{sid}: {r.message}" for sid, r in results), **evidence)


def studio_security_groups_restricted(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """No security group of the domain (its user and space defaults, DomainSettings, and each
    user profile's override) is the VPC's default group or admits 0.0.0.0/0 or ::/0.

    A VpcOnly domain with no group anywhere is ERROR: CreateDomain requires them, so the data
    is incomplete.  A PublicInternetOnly domain may leave them out; it is NOT_APPLICABLE then
    (studio-domain-vpc-only reports the domain)."""
    e = res.enriched
    groups: list[dict[str, Any]] = e.get("security_groups") or []
    evidence = {"security_groups": groups, "user_profiles": len(e.get("user_profiles") or [])}
    if not groups:
        if e.get("vpc_only"):
            return CheckResult.error(
                "the VpcOnly domain lists no security group in DefaultUserSettings, "
                "DefaultSpaceSettings, DomainSettings or any user profile; AWS requires them",
                **evidence,
            )
        return CheckResult.not_applicable(
            f"no security group is set and the domain is {e.get('network_access')}",
            **evidence,
        )
    where = ", ".join(sorted({f"{g['id']} ({g['where']})" for g in groups}))
    result = groups_result(groups, where, evidence)
    missing = unseen(ctx, res.account_id, res.region, "sagemaker:user-profile")
    if result.status is Status.PASS and missing:
        return CheckResult.error(
            f"the domain's own groups pass, but {'; '.join(missing)} was not looked at, so user "
            "profiles' security-group overrides are unknown",
            **evidence,
        )
    return result


def studio_root_access_disabled(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """Nothing in the domain lets users run as root: no custom image (named by the domain's
    defaults, a user profile or a space) whose AppImageConfig sets ``DefaultUid`` 0, and no
    Docker access unless it is rootless.  ``EnableDockerAccess`` absent is DISABLED and
    ``RootlessDocker`` absent is DISABLED (UpdateDomain's DockerSettings); an AppImageConfig
    without ``DefaultUid`` runs as 1000 (CreateAppImageConfig's FileSystemConfig)."""
    e = res.enriched
    images: list[dict[str, Any]] = e.get("custom_images") or []
    docker = e.get("docker") or {}
    evidence = {"custom_images": images, "docker": docker}
    problems = [
        f"custom image {i['image_name']} ({i['app']}, {i['where']}) runs as root: "
        f"AppImageConfig {i['app_image_config']} sets DefaultUid 0"
        for i in images
        if i.get("runs_as_root")
    ]
    docker_on = str(docker.get("EnableDockerAccess") or "DISABLED").upper() == "ENABLED"
    rootless = str(docker.get("RootlessDocker") or "DISABLED").upper() == "ENABLED"
    if docker_on and not rootless:
        problems.append(
            "DomainSettings.DockerSettings.EnableDockerAccess is ENABLED without RootlessDocker: "
            "users run containers through a Docker daemon running as root"
        )
    if problems:
        return CheckResult.failed("; ".join(problems), **evidence)
    blind = unseen(
        ctx,
        res.account_id,
        res.region,
        "sagemaker:user-profile",
        "sagemaker:space",
        "sagemaker:app-image-config",
    )
    if blind:
        return CheckResult.error(
            f"no root found, but {'; '.join(blind)} was not looked at, so custom images named "
            "there (or their AppImageConfigs) are unknown",
            **evidence,
        )
    missing = sorted({str(i["app_image_config"]) for i in images if not i.get("config_found")})
    if missing:
        return CheckResult.error(
            f"AppImageConfig(s) {', '.join(missing)} named by the domain's custom images are not "
            "in the snapshot, so whether they run as root is unknown",
            **evidence,
        )
    how = f"{len(images)} custom image(s), none with DefaultUid 0" if images else "no custom image"
    dock = "rootless Docker" if docker_on else "Docker access disabled"
    return CheckResult.passed(f"{how}; {dock}", **evidence)


_VPC_STUDIO_ENDPOINTS = {
    "studio": "opening Studio (presigned domain URLs, app HTTP and WebSocket traffic)",
    "api": "SageMaker API calls, CreatePresignedDomainUrl among them",
}


def vpc_has_sagemaker_studio_endpoint(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """A VPC hosting a VpcOnly domain has an available Studio interface endpoint and an API
    endpoint, and clients in it resolve both hostnames to them (judged by the
    endpoint-private-dns-resolves check on each endpoint)."""
    found = Paths()
    for kind, why in _VPC_STUDIO_ENDPOINTS.items():
        found.add(endpoint_paths(ctx, res.account_id, res.region, res.id, kind, why))
    evidence = {
        "vpc_only_domains": res.enriched.get("vpc_only_domains"),
        "studio_endpoints": [
            ep["id"] for ep in (res.enriched.get("sagemaker_endpoints") or {}).get("studio", [])
        ],
        "api_endpoints": [
            ep["id"] for ep in (res.enriched.get("sagemaker_endpoints") or {}).get("api", [])
        ],
        "problems": [p.to_dict() for p in found.found],
    }
    if found.found:
        return CheckResult.failed("; ".join(p.summary for p in found.found), **evidence)
    if found.undecided:
        return CheckResult.error("; ".join(found.undecided), **evidence)
    return CheckResult.passed("; ".join(found.closed), **evidence)
