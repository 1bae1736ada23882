"""The one verdict per notebook and per Studio domain: is there any public access path?

Each verdict composes what the other rules already compute, never re-deriving it: the IAM
paths from the shared estate analysis (:mod:`scanner.engine.builtins.iam`), the outbound
routes from the enrichment's subnet facts, and the DNS and endpoint paths by running the
``endpoint-private-dns-resolves`` check on the VPC's endpoints
(:mod:`scanner.engine.builtins.access_paths`).  PASS only when no path of any kind exists;
ERROR when none was found but one could not be judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scanner.engine.builtins.access_paths import (
    INTERNET_OUTBOUND,
    AccessPath,
    Paths,
    endpoint_paths,
    route_paths,
    verdict,
)
from scanner.engine.builtins.iam import (
    Pair,
    iam_context,
    iam_paths,
    undecided_principals,
)
from scanner.engine.builtins.studio import unseen
from scanner.engine.checks import CheckContext, Subject
from scanner.enrichment.estate import EstateResource
from scanner.iam.estate import DOMAIN_PRESIGN, PRESIGN, SSO_AUTH_MODE, notebook_arn


def _iam_undecided(ctx: CheckContext, account_id: str, action: str, paths: Paths) -> None:
    undecided = undecided_principals(ctx, account_id, action)
    if undecided:
        paths.undecided.append(
            f"whether {len(undecided)} principal(s) can call {action} from outside the "
            f"approved endpoints is undecided: {', '.join(sorted(undecided))}"
        )


def _endpoint_paths(
    ctx: CheckContext, res: EstateResource, vpc_id: str, kinds: dict[str, str]
) -> Paths:
    out = Paths()
    for kind, why in kinds.items():
        out.add(endpoint_paths(ctx, res.account_id, res.region, vpc_id, kind, why))
    return out


# -- notebooks -------------------------------------------------------------------------

_NOTEBOOK_ENDPOINTS = {
    "notebook": "opening the notebook (its presigned URL and the Jupyter traffic)",
    "api": "CreatePresignedNotebookInstanceUrl and every other SageMaker API call",
}


def _notebook_network(res: EstateResource, ctx: CheckContext) -> Paths:
    out = Paths()
    raw = res.doc.get("DirectInternetAccess")
    dia = raw if raw is not None else "Enabled"
    if str(dia).lower() != "disabled":
        out.found.append(
            AccessPath(
                INTERNET_OUTBOUND,
                f"DirectInternetAccess is {dia}"
                + (" (absent: AWS's default)" if raw is None else "")
                + ": the notebook reaches the internet outside the VPC",
                "recreate the notebook with --direct-internet-access Disabled in a private "
                "subnet (it can only be set at creation)",
                {"DirectInternetAccess": raw},
            )
        )
    else:
        out.closed.append("DirectInternetAccess is Disabled")
    e = res.enriched
    if not e.get("in_vpc"):
        out.found.append(
            AccessPath(
                INTERNET_OUTBOUND,
                "the notebook has no SubnetId: it runs on SageMaker's network with internet "
                "access, and no VPC endpoint can carry its traffic",
                "recreate the notebook in a private subnet of your VPC",
                {"SubnetId": None},
            )
        )
        return out
    out.add(route_paths(e, f"notebook {res.id}", ctx.config.public_paths))
    vpc_id = e.get("vpc_id")
    if isinstance(vpc_id, str):
        out.add(_endpoint_paths(ctx, res, vpc_id, _NOTEBOOK_ENDPOINTS))
    return out


def notebook_no_public_access_path(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per notebook: every IAM, outbound and public-internet path."""
    for res in ctx.estate.resources("sagemaker:notebook-instance"):
        arn = notebook_arn(res.account_id, res.region, res.id, res.arn, res.doc)
        paths = _notebook_network(res, ctx)
        _iam_undecided(ctx, res.account_id, PRESIGN, paths)
        iam = iam_paths(ctx, [arn], PRESIGN)
        if iam is None:
            paths.closed.append(
                "no IAM principal of the account can call CreatePresignedNotebookInstanceUrl "
                "on it from outside the approved endpoints"
            )
        evidence: dict[str, Any] = {
            "DirectInternetAccess": res.doc.get("DirectInternetAccess"),
            "subnet_id": res.enriched.get("subnet_id"),
            "vpc_id": res.enriched.get("vpc_id"),
            **iam_context(ctx, res.account_id),
        }
        if res.doc.get("DirectInternetAccess") is None:
            evidence["on_missing"] = "AWS enables direct internet access when it is not specified"
        yield Subject.of(res), verdict(f"notebook {res.id}", paths, evidence, iam)


# -- Studio domains --------------------------------------------------------------------

_STUDIO_ENDPOINTS = {
    "studio": "opening Studio (the presigned domain URL, app HTTP and WebSocket traffic)",
    "api": "CreatePresignedDomainUrl and every other SageMaker API call",
}


def _domain_network(res: EstateResource, ctx: CheckContext) -> Paths:
    out = Paths()
    e = res.enriched
    mode = e.get("network_access")
    if not e.get("vpc_only"):
        out.found.append(
            AccessPath(
                INTERNET_OUTBOUND,
                f"AppNetworkAccessType is {mode}"
                + (" (absent: AWS's default)" if e.get("network_access_assumed") else "")
                + ": Studio apps reach the internet through SageMaker's own VPC",
                "switch the domain to VpcOnly (aws sagemaker update-domain "
                "--app-network-access-type VpcOnly, with every app deleted first)",
                {"AppNetworkAccessType": res.doc.get("AppNetworkAccessType")},
            )
        )
    else:
        out.closed.append("AppNetworkAccessType is VpcOnly")
        subnets = e.get("subnets") or []
        if not subnets:
            out.undecided.append("the VpcOnly domain lists no SubnetIds")
        for facts in subnets:
            out.add(route_paths(facts, f"domain {res.id}", ctx.config.public_paths))
    vpc_id = e.get("vpc_id")
    if isinstance(vpc_id, str) and vpc_id:
        out.add(_endpoint_paths(ctx, res, vpc_id, _STUDIO_ENDPOINTS))
    else:
        out.undecided.append("the domain has no VpcId, so its endpoints cannot be judged")
    return out


def studio_domain_no_public_access_path(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per Studio domain: every IAM, outbound and public-internet path.

    In SSO auth mode users sign in through IAM Identity Center and CreatePresignedDomainUrl
    does not apply, so the domain has no IAM path here and the verdict says so."""
    for res in ctx.estate.resources("sagemaker:domain"):
        e = res.enriched
        paths = _domain_network(res, ctx)
        profiles = [p["arn"] for p in e.get("user_profiles") or [] if p.get("arn")]
        evidence: dict[str, Any] = {
            "AppNetworkAccessType": res.doc.get("AppNetworkAccessType"),
            "AuthMode": res.doc.get("AuthMode"),
            "vpc_id": e.get("vpc_id"),
            "subnets": [f.get("subnet_id") for f in e.get("subnets") or []],
            "user_profiles": profiles,
            **iam_context(ctx, res.account_id),
        }
        iam = None
        if res.doc.get("AuthMode") == SSO_AUTH_MODE:
            paths.closed.append(
                "AuthMode is SSO: users sign in through IAM Identity Center, so "
                "CreatePresignedDomainUrl opens no app and IAM paths take no part"
            )
        else:
            _iam_undecided(ctx, res.account_id, DOMAIN_PRESIGN, paths)
            blind = unseen(ctx, res.account_id, res.region, "sagemaker:user-profile")
            if blind:
                paths.undecided.append(
                    f"{'; '.join(blind)} was not looked at, so which user profiles "
                    "CreatePresignedDomainUrl could open is unknown"
                )
            iam = iam_paths(ctx, profiles, DOMAIN_PRESIGN)
            if iam is None:
                paths.closed.append(
                    f"no IAM principal can call CreatePresignedDomainUrl on its "
                    f"{len(profiles)} user profile(s) from outside the approved endpoints"
                )
        yield Subject.of(res), verdict(f"domain {res.id}", paths, evidence, iam)
