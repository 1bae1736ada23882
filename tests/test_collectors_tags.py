"""SageMaker tags read in bulk with the Resource Groups Tagging API's GetResources.

Over real HTTP: moto's server (with scanner/demo/moto_tagging.py, which adds the Studio
user profiles and spaces moto's GetResources lacks) behind tests/faultproxy.py, which counts
the requests per operation (GetResources is a JSON-protocol call, named by its X-Amz-Target
``ResourceGroupsTaggingAPI_20170126.GetResources``) and injects AWS's own errors.  Each test
varies one thing against the plain bulk read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from scanner.aws.session import ClientFactory
from scanner.collectors import COLLECTORS, collect
from scanner.collectors.paging import PAGE_RETRIES
from scanner.collectors.specs import TAGGING_OPERATION, TAGGING_PAGE_SIZE, TAGGING_SERVICE
from scanner.config import Config
from scanner.demo import moto_tagging
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.collectkit import REGION, collect_only, make_config, outcome, resources
from tests.faultproxy import ACCESS_DENIED, THROTTLING, Fault, FaultProxy

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
MAX_ATTEMPTS = 2  # collectkit's retries.max_attempts
JSON = "application/x-amz-json-1.1"
NOTEBOOK = "sagemaker:notebook-instance"
BULK_TAGGED = {
    "notebook-instance": NOTEBOOK,
    "studio-domain": "sagemaker:domain",
    "studio-user-profile": "sagemaker:user-profile",
    "studio-space": "sagemaker:space",
}
ENGINE_LOG = "scanner.collectors.engine"


def notebook(aws: Any, name: str, tags: dict[str, str] | None = None) -> None:
    extra = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE, **extra
    )


def tags_by_id(snap: Snapshot, rtype: str = NOTEBOOK) -> dict[str, Any]:
    return {rid: r.data["Tags"] for rid, r in resources(snap, rtype).items()}


def as_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def engine_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == ENGINE_LOG and r.levelno == logging.WARNING
    ]


def studio(aws: Any) -> tuple[str, str]:
    """A tagged domain with a tagged user profile (alice), an untagged one (bob) and a
    tagged space; returns (domain id, the domain's ARN)."""
    subnet = aws("ec2").describe_subnets()["Subnets"][0]
    sm = aws("sagemaker")
    created = sm.create_domain(
        DomainName="one", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=[subnet["SubnetId"]], VpcId=subnet["VpcId"],
        Tags=[{"Key": "domain", "Value": "one"}],
    )  # fmt: skip
    domain = str(created["DomainArn"]).rsplit("/", 1)[-1]
    sm.create_user_profile(
        DomainId=domain, UserProfileName="alice", Tags=[{"Key": "team", "Value": "research"}]
    )
    sm.create_user_profile(DomainId=domain, UserProfileName="bob")
    sm.create_space(DomainId=domain, SpaceName="shared", Tags=[{"Key": "data", "Value": "phi"}])
    return domain, str(created["DomainArn"])


class RecordingFactory(ClientFactory):
    """Notes the parameters of every GetResources call the scanner sends."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.sent: list[dict[str, Any]] = []

    def client(self, service: str, region: str) -> Any:
        made = super().client(service, region)
        if service == TAGGING_SERVICE:
            made.meta.events.register("provide-client-params", self._note, unique_id="note")
        return made

    def _note(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == TAGGING_OPERATION:
            self.sent.append(dict(params))


# -- the specs ------------------------------------------------------------------------------


def assert_failed_alone(snap: Snapshot, collector: str, code: str, operation: str) -> None:
    """The collector's outcome is an ERROR naming ``code`` and ``operation``, and none of
    its records were kept (a half-tagged listing must never look complete)."""
    failed = outcome(snap, collector)
    assert (failed.status, failed.error_code, failed.operation) == (
        OutcomeStatus.ERROR,
        code,
        operation,
    )
    assert resources(snap, NOTEBOOK) == {}


def test_the_four_sagemaker_specs_declare_bulk_tags_for_their_own_type() -> None:
    """Each reads its own resource type in bulk, keeps ListTags as the fallback, and lists
    GetResources among its operations (which the IAM policy tests read)."""
    for name, rtype in BULK_TAGGED.items():
        spec = COLLECTORS[name]
        [output] = [o for s in spec.sources for o in s.outputs]
        assert output.bulk_tags is not None, name
        assert output.bulk_tags.resource_type == output.type == rtype
        assert output.bulk_tags.key == "Tags"
        assert output.bulk_tags.fallback.operation == "ListTags"
        assert [d.operation for d in output.details if d.operation == "ListTags"] == []
        assert f"{TAGGING_SERVICE}:{TAGGING_OPERATION}" in spec.operations
        assert "sagemaker:ListTags" in spec.operations
    assert f"{TAGGING_SERVICE}:{TAGGING_OPERATION}" not in COLLECTORS["vpc"].operations


# -- the bulk read ----------------------------------------------------------------------------


def test_bulk_read_gives_each_notebook_its_own_tags_without_list_tags(
    proxy: FaultProxy, aws: Any
) -> None:
    expected = {f"nb-{i}": {"team": f"t{i}", "data": "phi"} for i in range(3)}
    for name, tags in expected.items():
        notebook(aws, name, tags)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert tags_by_id(snap) == {name: as_tags(tags) for name, tags in expected.items()}
    assert proxy.counts["GetResources"] == 1
    assert proxy.counts["ListTags"] == 0
    assert proxy.counts["DescribeNotebookInstance"] == 3  # the describe calls are unchanged
    got = outcome(snap, "notebook-instance")
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, 3)


def test_an_untagged_notebook_has_an_empty_tag_list(proxy: FaultProxy, aws: Any) -> None:
    """GetResources does not list a resource that was never tagged: absent means []."""
    notebook(aws, "tagged", {"team": "a"})
    notebook(aws, "plain")
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert tags_by_id(snap) == {"tagged": as_tags({"team": "a"}), "plain": []}
    assert proxy.counts["ListTags"] == 0


def test_an_empty_listing_costs_no_tagging_call(proxy: FaultProxy) -> None:
    snap = collect_only(*BULK_TAGGED, endpoint_url=proxy.url)
    for name in BULK_TAGGED:
        assert outcome(snap, name).status is OutcomeStatus.OK, name
    assert proxy.counts["ListNotebookInstances"] == 1  # the collectors did run
    assert proxy.counts["GetResources"] == 0


def test_more_than_a_page_of_tagged_notebooks_is_read_across_pages(aws: Any, moto: Any) -> None:
    """101 tagged notebooks: GetResources is followed to its last page (one type filter,
    100 a page) and every notebook gets its own tag."""
    count = TAGGING_PAGE_SIZE + 1
    for i in range(count):
        notebook(aws, f"nb-{i:03d}", {"n": str(i)})
    config = make_config("notebook-instance", endpoint_url=moto.url)
    factory = RecordingFactory(config)
    snap = collect(config, factory=factory)
    assert tags_by_id(snap) == {f"nb-{i:03d}": as_tags({"n": str(i)}) for i in range(count)}
    assert len(factory.sent) >= 2
    first, *rest = factory.sent
    assert first == {"ResourceTypeFilters": [NOTEBOOK], "ResourcesPerPage": TAGGING_PAGE_SIZE}
    assert all(p.get("PaginationToken") for p in rest)
    assert {p["ResourceTypeFilters"][0] for p in rest} == {NOTEBOOK}


def test_studio_domains_profiles_and_spaces_are_tagged_in_bulk(proxy: FaultProxy, aws: Any) -> None:
    domain, _ = studio(aws)
    snap = collect_only("studio-domain", "studio-user-profile", "studio-space", endpoint_url=proxy.url)  # fmt: skip
    assert tags_by_id(snap, "sagemaker:domain") == {domain: as_tags({"domain": "one"})}
    assert tags_by_id(snap, "sagemaker:user-profile") == {
        f"{domain}/alice": as_tags({"team": "research"}),
        f"{domain}/bob": [],
    }
    assert tags_by_id(snap, "sagemaker:space") == {f"{domain}/shared": as_tags({"data": "phi"})}
    assert proxy.counts["GetResources"] == 3  # one per collector
    assert proxy.counts["ListTags"] == 0


# -- matching ARNs ----------------------------------------------------------------------------


def canned(*entries: tuple[str, dict[str, str]]) -> str:
    return json.dumps(
        {"ResourceTagMappingList": [{"ResourceARN": a, "Tags": as_tags(t)} for a, t in entries]}
    )


def test_an_arn_answered_in_lower_case_still_matches(proxy: FaultProxy, aws: Any) -> None:
    """SageMaker answers some ARNs lower-cased; a notebook named MyNotebook keeps its tags."""
    notebook(aws, "MyNotebook", {"team": "a"})
    proxy.answer(
        "GetResources", canned((f"{ARN}:notebook-instance/mynotebook", {"team": "a"})), JSON
    )
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert tags_by_id(snap) == {"MyNotebook": as_tags({"team": "a"})}


def test_arns_that_differ_only_in_case_cannot_be_attributed(proxy: FaultProxy, aws: Any) -> None:
    notebook(aws, "MyNotebook", {"team": "a"})
    proxy.answer(
        "GetResources",
        canned(
            (f"{ARN}:notebook-instance/mynotebook", {"team": "a"}),
            (f"{ARN}:notebook-instance/MYNOTEBOOK", {"team": "b"}),
        ),
        JSON,
    )
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert_failed_alone(snap, "notebook-instance", "MalformedResponse", "GetResources")


def test_an_exact_arn_wins_over_one_that_differs_in_case(proxy: FaultProxy, aws: Any) -> None:
    notebook(aws, "MyNotebook", {"team": "a"})
    proxy.answer(
        "GetResources",
        canned(
            (f"{ARN}:notebook-instance/mynotebook", {"team": "b"}),
            (f"{ARN}:notebook-instance/MyNotebook", {"team": "a"}),
        ),
        JSON,
    )
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert tags_by_id(snap) == {"MyNotebook": as_tags({"team": "a"})}


# -- GetResources denied: ListTags per resource -----------------------------------------------


def test_denied_bulk_read_falls_back_to_list_tags_with_the_same_tags(
    proxy: FaultProxy, aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    notebook(aws, "nb-0", {"team": "a"})
    notebook(aws, "nb-1", {"team": "b", "data": "phi"})
    notebook(aws, "plain")
    bulk = tags_by_id(collect_only("notebook-instance", endpoint_url=proxy.url))
    assert engine_warnings(caplog) == []
    proxy.counts.clear()
    proxy.fail("GetResources", ACCESS_DENIED)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert tags_by_id(snap) == bulk
    assert bulk["nb-1"] == as_tags({"team": "b", "data": "phi"})
    assert proxy.counts["GetResources"] == 1  # access denied is not retried
    assert proxy.counts["ListTags"] == 3
    got = outcome(snap, "notebook-instance")
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, 3)
    [warning] = engine_warnings(caplog)  # one for the scope, not one per notebook
    assert "resourcegroupstaggingapi:GetResources" in warning
    assert "tag:GetResources" in warning and "AccessDenied" in warning
    assert "sagemaker:ListTags" in warning and REGION in warning


def test_denied_bulk_read_of_studio_falls_back_per_domain_profile_and_space(
    proxy: FaultProxy, aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The fallback reads each member's ARN from its describe output, like the bulk match."""
    studio(aws)
    names = ("studio-domain", "studio-user-profile", "studio-space")
    types = [BULK_TAGGED[n] for n in names]
    bulk = {t: tags_by_id(collect_only(*names, endpoint_url=proxy.url), t) for t in types}
    proxy.counts.clear()
    proxy.fail("GetResources", ACCESS_DENIED)
    snap = collect_only(*names, endpoint_url=proxy.url)
    assert {t: tags_by_id(snap, t) for t in types} == bulk
    assert proxy.counts["GetResources"] == 3
    assert proxy.counts["ListTags"] == 4  # the domain, alice, bob, the space
    warnings = engine_warnings(caplog)
    assert sorted(w.split(" ", 1)[0] for w in warnings) == sorted(names)  # one each


def test_fallback_answer_without_its_tags_is_an_error(proxy: FaultProxy, aws: Any) -> None:
    """ListTags, paginated, read as the fallback: a page without Tags is not "no tags"."""
    notebook(aws, "nb", {"team": "a"})
    proxy.fail("GetResources", ACCESS_DENIED)
    proxy.answer("ListTags", "{}", JSON)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert_failed_alone(snap, "notebook-instance", "MalformedResponse", "ListTags")


def test_denied_bulk_read_whose_fallback_fails_is_an_error(proxy: FaultProxy, aws: Any) -> None:
    notebook(aws, "nb", {"team": "a"})
    proxy.fail("GetResources", ACCESS_DENIED)
    proxy.fail("ListTags", ACCESS_DENIED)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert_failed_alone(snap, "notebook-instance", "AccessDenied", "ListTags")


# -- any other failure: the collector fails -----------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        # botocore's attempts, then the page-level retry's, all throttled
        (THROTTLING, MAX_ATTEMPTS * (PAGE_RETRIES + 1)),
        # the endpoint answers 503 on every attempt (not retried at page level)
        (Fault("ServiceUnavailable", 503, "Service is unavailable"), MAX_ATTEMPTS),
    ],
)
def test_bulk_read_failing_otherwise_fails_the_collector(
    proxy: FaultProxy, aws: Any, fault: Fault, attempts: int
) -> None:
    """Never read as "no tags": the collector's outcome is an error naming GetResources,
    its records are dropped, and ListTags is not tried."""
    notebook(aws, "nb", {"team": "a"})
    proxy.fail("GetResources", fault)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert_failed_alone(snap, "notebook-instance", fault.code, "GetResources")
    assert proxy.counts["GetResources"] == attempts
    assert proxy.counts["ListTags"] == 0


@pytest.mark.parametrize(
    ("collector", "rtype"),
    [("studio-domain", "sagemaker:domain"), ("studio-user-profile", "sagemaker:user-profile")],
)
def test_throttled_bulk_read_fails_a_studio_collector_alone(
    proxy: FaultProxy, aws: Any, collector: str, rtype: str
) -> None:
    studio(aws)
    proxy.fail("GetResources", THROTTLING)
    snap = collect_only(collector, "studio-space", endpoint_url=proxy.url)
    failed = outcome(snap, collector)
    assert (failed.status, failed.error_code, failed.operation) == (
        OutcomeStatus.ERROR,
        "Throttling",
        "GetResources",
    )
    assert resources(snap, rtype) == {}
    assert proxy.counts["ListTags"] == 0
    # the space collector met the same throttling: each collector fails on its own call
    assert outcome(snap, "studio-space").operation == "GetResources"


@pytest.mark.parametrize(
    "body",
    [
        "{}",  # a page without its list
        json.dumps({"ResourceTagMappingList": [{"ResourceARN": f"{ARN}:notebook-instance/nb"}]}),
        json.dumps({"ResourceTagMappingList": [{"Tags": []}]}),
    ],
)
def test_malformed_bulk_answer_is_an_error_not_no_tags(
    proxy: FaultProxy, aws: Any, body: str
) -> None:
    notebook(aws, "nb", {"team": "a"})
    proxy.answer("GetResources", body, JSON)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    assert_failed_alone(snap, "notebook-instance", "MalformedResponse", "GetResources")


# -- the moto extension ---------------------------------------------------------------------


def test_moto_lists_studio_members_in_get_resources_as_aws_does(aws: Any) -> None:
    """moto 5.2.5 alone answers no user profile or space; the extension lists the tagged
    ones with the tags ListTags gives, and follows AddTags."""
    domain, domain_arn = studio(aws)
    tagging, sm = aws("resourcegroupstaggingapi"), aws("sagemaker")

    def listed(rtype: str) -> dict[str, Any]:
        got = tagging.get_resources(ResourceTypeFilters=[rtype])["ResourceTagMappingList"]
        return {m["ResourceARN"]: m["Tags"] for m in got}

    alice, bob = f"{ARN}:user-profile/{domain}/alice", f"{ARN}:user-profile/{domain}/bob"
    assert listed("sagemaker:user-profile") == {alice: as_tags({"team": "research"})}
    assert listed("sagemaker:space") == {f"{ARN}:space/{domain}/shared": as_tags({"data": "phi"})}
    assert listed("sagemaker:domain") == {domain_arn: as_tags({"domain": "one"})}
    assert alice in listed("sagemaker")  # a service-wide filter includes them too
    sm.add_tags(ResourceArn=bob, Tags=[{"Key": "k", "Value": "v"}])
    assert listed("sagemaker:user-profile")[bob] == sm.list_tags(ResourceArn=bob)["Tags"]


def test_tagging_install_is_idempotent(moto: Any) -> None:
    from moto.sagemaker.models import SageMakerModelBackend

    hook = SageMakerModelBackend.iter_tagged_resources
    moto_tagging.install()
    assert SageMakerModelBackend.iter_tagged_resources is hook  # not wrapped twice
