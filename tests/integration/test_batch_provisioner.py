"""Lifecycle, ownership and AWS-quirk tests of the Batch compute environment, job queue and job definition
provisioners against the moto server; Stubber on a real client where moto cannot show what AWS does."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import uuid4

import boto3
import pytest
from botocore.stub import Stubber

from batchctl.aws import Aws
from batchctl.diff import Action, diff
from batchctl.errors import AwsError, NotManagedError, PlanError
from batchctl.provisioners.batch import (
    KEEP_REVISIONS,
    RUNNABLE_TIMEOUT_REASON,
    ComputeEnvironmentProvisioner,
    JobDefinitionProvisioner,
    JobQueueProvisioner,
)
from batchctl.specs import ComputeEnvironmentSpec, JobDefinitionSpec, JobQueueSpec, Observed

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
ACCOUNT = "123456789012"
REGION = "eu-west-1"
SLR_PATH = "/aws-service-role/batch.amazonaws.com/"


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def timed_aws(aws_env: str, fake_time: FakeTime, shared_botocore: Any) -> Aws:
    """Our Aws on the moto server with a fake clock, for bounded waits and Stubber tests without waiting."""
    return Aws(boto3.Session(botocore_session=shared_botocore), sleep=fake_time.sleep, clock=fake_time.clock)


def network(boto: Any, subnets: int = 2, groups: int = 2) -> tuple[list[str], list[str]]:
    """A VPC with `subnets` subnets and `groups` security groups, made from the outside."""
    ec2 = boto.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(subnets)
    ]
    group_ids = [
        ec2.create_security_group(GroupName=unique(), Description="batch", VpcId=vpc_id)["GroupId"]
        for _ in range(groups)
    ]
    return subnet_ids, group_ids


def instance_profile(boto: Any) -> str:
    """An instance profile holding a role, as the IAM provisioners leave it; returns the profile ARN."""
    iam = boto.client("iam")
    name = unique()
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    arn: str = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return arn


def fargate_spec(boto: Any, **changes: Any) -> ComputeEnvironmentSpec:
    subnets, groups = network(boto)
    spec = ComputeEnvironmentSpec(
        name=unique(),
        compute_type="FARGATE",
        max_vcpus=16,
        subnet_ids=tuple(subnets),
        security_group_ids=(groups[0],),
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


def ce_arn(name: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:compute-environment/{name}"


def slr_roles(boto: Any) -> list[dict[str, Any]]:
    roles: list[dict[str, Any]] = boto.client("iam").list_roles(PathPrefix=SLR_PATH)["Roles"]
    return roles


# ---- compute environments ------------------------------------------------------------------------------------
def test_fargate_compute_environment_lifecycle(aws: Any, boto: Any, recorder: Any) -> None:
    prov = ComputeEnvironmentProvisioner(aws)
    spec = fargate_spec(boto)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"] == ce_arn(spec.name)
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec  # the service-linked role reads back as "no service role given"
    assert observed.outputs == {"arn": ce_arn(spec.name)}
    # The role moto demands and AWS would pick by itself now exists, and the environment uses it.
    assert len(slr_roles(boto)) == 1
    live = boto.client("batch").describe_compute_environments(computeEnvironments=[spec.name])
    assert live["computeEnvironments"][0]["serviceRole"] == slr_roles(boto)[0]["Arn"]

    # A second read changes nothing and finds nothing to do: the idempotency guarantee.
    recorder.calls.clear()
    again = prov.read(spec)
    assert again is not None
    assert diff(spec, again.state).action is Action.NOOP
    assert recorder.mutating == []

    changed = dataclasses.replace(spec, state="DISABLED", tags={**TAGS, "team": "ml", "cost": "low"})
    recorder.calls.clear()
    prov.update(changed, again)
    assert "batch:CreateComputeEnvironment" not in recorder.calls
    updated = prov.read(changed)
    assert updated is not None
    assert updated.state == changed

    dropped = dataclasses.replace(changed, tags=TAGS)
    prov.update(dropped, updated)
    last = prov.read(dropped)
    assert last is not None
    assert last.state == dropped

    prov.delete(last)
    assert prov.read(spec) is None
    prov.delete(last)  # already gone is fine


@pytest.mark.parametrize("compute_type", ["EC2", "SPOT"])
def test_ec2_and_spot_compute_environment_lifecycle(aws: Any, boto: Any, compute_type: str) -> None:
    subnets, groups = network(boto)
    strategy = "BEST_FIT_PROGRESSIVE" if compute_type == "EC2" else "SPOT_CAPACITY_OPTIMIZED"
    spec = ComputeEnvironmentSpec(
        name=unique(),
        compute_type=compute_type,
        max_vcpus=64,
        subnet_ids=tuple(subnets),
        security_group_ids=tuple(groups),
        instance_types=("c5", "m5.large", "optimal"),
        instance_role_arn=instance_profile(boto),
        allocation_strategy=strategy,
        tags=TAGS,
    )
    prov = ComputeEnvironmentProvisioner(aws)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    resources = boto.client("batch").describe_compute_environments(computeEnvironments=[spec.name])[
        "computeEnvironments"
    ][0]["computeResources"]
    assert resources["instanceRole"] == spec.instance_role_arn
    assert resources["minvCpus"] == 0
    assert resources["allocationStrategy"] == strategy

    prov.update(dataclasses.replace(spec, state="DISABLED"), observed)
    disabled = prov.read(spec)
    assert disabled is not None
    assert disabled.state.state == "DISABLED"
    prov.delete(disabled)
    assert prov.read(spec) is None


def test_subnet_order_is_not_a_difference(aws: Any, boto: Any) -> None:
    spec = fargate_spec(boto)
    prov = ComputeEnvironmentProvisioner(aws)
    prov.create(spec)
    reordered = dataclasses.replace(spec, subnet_ids=tuple(reversed(spec.subnet_ids)))
    observed = prov.read(reordered)
    assert observed is not None
    assert observed.state == reordered


def test_an_explicit_service_role_is_used_and_read_back(aws: Any, boto: Any) -> None:
    role_arn = boto.client("iam").create_role(
        RoleName=unique(), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    spec = fargate_spec(boto, service_role_arn=role_arn)
    prov = ComputeEnvironmentProvisioner(aws)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert slr_roles(boto) == []


def test_the_service_linked_role_is_created_once_and_reused(aws: Any, boto: Any) -> None:
    prov = ComputeEnvironmentProvisioner(aws)
    first = fargate_spec(boto)
    second = dataclasses.replace(first, name=unique())
    prov.create(first)
    prov.create(second)
    assert len(slr_roles(boto)) == 1
    for spec in (first, second):
        observed = prov.read(spec)
        assert observed is not None
        assert observed.state == spec


def test_the_service_linked_role_read_differs_from_an_explicit_role(aws: Any, boto: Any) -> None:
    spec = fargate_spec(boto)
    prov = ComputeEnvironmentProvisioner(aws)
    prov.create(spec)
    wanted = dataclasses.replace(spec, service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/custom")
    observed = prov.read(wanted)
    assert observed is not None
    assert observed.state.service_role_arn == slr_roles(boto)[0]["Arn"]
    assert diff(wanted, observed.state).action is Action.REPLACE


def test_a_role_arn_as_instance_role_is_refused_before_any_call(aws: Any, recorder: Any) -> None:
    spec = ComputeEnvironmentSpec(
        name=unique(),
        compute_type="EC2",
        max_vcpus=16,
        subnet_ids=("subnet-1",),
        security_group_ids=("sg-1",),
        instance_types=("optimal",),
        instance_role_arn=f"arn:aws:iam::{ACCOUNT}:role/demo-dev-instance",
        allocation_strategy="BEST_FIT_PROGRESSIVE",
        tags=TAGS,
    )
    with pytest.raises(PlanError, match="not an instance profile ARN") as caught:
        ComputeEnvironmentProvisioner(aws).create(spec)
    assert "demo-dev-instance" in caught.value.message
    assert recorder.calls == []


def test_fargate_settings_that_only_ec2_takes_are_refused(aws: Any, recorder: Any) -> None:
    spec = ComputeEnvironmentSpec(
        name=unique(),
        compute_type="FARGATE",
        max_vcpus=16,
        subnet_ids=("subnet-1",),
        security_group_ids=("sg-1",),
        instance_types=("optimal",),
    )
    with pytest.raises(PlanError, match="do not apply to Fargate"):
        ComputeEnvironmentProvisioner(aws).create(spec)
    assert recorder.calls == []


def test_untagged_compute_environment_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    spec = fargate_spec(boto)
    role = boto.client("iam").create_service_linked_role(AWSServiceName="batch.amazonaws.com")["Role"]["Arn"]
    boto.client("batch").create_compute_environment(
        computeEnvironmentName=spec.name,
        type="MANAGED",
        serviceRole=role,
        computeResources={
            "type": "FARGATE",
            "maxvCpus": 4,
            "subnets": list(spec.subnet_ids),
            "securityGroupIds": list(spec.security_group_ids),
        },
    )
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        ComputeEnvironmentProvisioner(aws).read(spec)


@pytest.mark.xfail(strict=True, reason="moto: UpdateComputeEnvironment ignores computeResources")
def test_fargate_scaling_and_network_update_in_place(aws: Any, boto: Any) -> None:
    spec = fargate_spec(boto)
    prov = ComputeEnvironmentProvisioner(aws)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    changed = dataclasses.replace(
        spec, max_vcpus=32, subnet_ids=spec.subnet_ids[:1], security_group_ids=spec.security_group_ids
    )
    prov.update(changed, observed)
    again = prov.read(changed)
    assert again is not None
    assert again.state == changed


def env_detail(
    name: str, *, status: str, state: str = "ENABLED", reason: str = "", **extra: Any
) -> dict[str, Any]:
    detail = {
        "computeEnvironmentName": name,
        "computeEnvironmentArn": ce_arn(name),
        "status": status,
        "state": state,
        "statusReason": reason,
        "type": "MANAGED",
        "tags": TAGS,
    }
    return detail | extra


def describe_ce(name: str, *details: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"computeEnvironments": list(details)}, {"computeEnvironments": [name]}


def static_spec(**changes: Any) -> ComputeEnvironmentSpec:
    spec = ComputeEnvironmentSpec(
        name="demo-dev-compute",
        compute_type="FARGATE",
        max_vcpus=16,
        subnet_ids=("subnet-1", "subnet-2"),
        security_group_ids=("sg-1",),
        service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/batch",
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


def expect_removal(stub: Stubber, name: str, *, status: str) -> None:
    """The calls of disable → wait → delete → wait gone, for an environment found `status` and ENABLED."""
    stub.add_response("describe_compute_environments", *describe_ce(name, env_detail(name, status=status)))
    stub.add_response("update_compute_environment", {}, {"computeEnvironment": name, "state": "DISABLED"})
    stub.add_response(
        "describe_compute_environments", *describe_ce(name, env_detail(name, status=status, state="DISABLED"))
    )
    stub.add_response("delete_compute_environment", {}, {"computeEnvironment": name})
    stub.add_response("describe_compute_environments", *describe_ce(name))


def test_an_invalid_compute_environment_fails_with_its_reason_and_is_removed(
    timed_aws: Aws, fake_time: FakeTime
) -> None:
    spec = static_spec()
    reason = "CLIENT_ERROR - The subnet ID 'subnet-1' does not exist"
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "create_compute_environment",
            {"computeEnvironmentName": spec.name, "computeEnvironmentArn": ce_arn(spec.name)},
        )
        stub.add_response(
            "describe_compute_environments", *describe_ce(spec.name, env_detail(spec.name, status="CREATING"))
        )
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(spec.name, env_detail(spec.name, status="INVALID", reason=reason)),
        )
        expect_removal(stub, spec.name, status="INVALID")
        with pytest.raises(AwsError, match="subnet-1' does not exist") as caught:
            ComputeEnvironmentProvisioner(timed_aws).create(spec)
        stub.assert_no_pending_responses()
    assert caught.value.code == "INVALID"
    assert "became INVALID" in caught.value.message


def test_an_invalid_compute_environment_from_iam_propagation_is_created_again(
    timed_aws: Aws, fake_time: FakeTime
) -> None:
    spec = static_spec()
    reason = (
        "CLIENT_ERROR - User: arn:aws:sts::123456789012:assumed-role/batch/aws-batch is not authorized to "
        "perform: ecs:DescribeClusters on resource: arn:aws:ecs:eu-west-1:123456789012:cluster/x"
    )
    created = {"computeEnvironmentName": spec.name, "computeEnvironmentArn": ce_arn(spec.name)}
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response("create_compute_environment", created)
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(spec.name, env_detail(spec.name, status="INVALID", reason=reason)),
        )
        expect_removal(stub, spec.name, status="INVALID")
        stub.add_response("create_compute_environment", created)
        stub.add_response(
            "describe_compute_environments", *describe_ce(spec.name, env_detail(spec.name, status="VALID"))
        )
        outputs = ComputeEnvironmentProvisioner(timed_aws).create(spec)
        stub.assert_no_pending_responses()
    assert outputs == {"arn": ce_arn(spec.name)}
    assert len(fake_time.sleeps) == 1


def test_create_request_names_resources_and_service_role(timed_aws: Aws) -> None:
    spec = static_spec()
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "create_compute_environment",
            {"computeEnvironmentName": spec.name, "computeEnvironmentArn": ce_arn(spec.name)},
            {
                "computeEnvironmentName": spec.name,
                "type": "MANAGED",
                "state": "ENABLED",
                "computeResources": {
                    "type": "FARGATE",
                    "maxvCpus": 16,
                    "subnets": ["subnet-1", "subnet-2"],
                    "securityGroupIds": ["sg-1"],
                },
                "serviceRole": spec.service_role_arn,
                "tags": TAGS,
            },
        )
        stub.add_response(
            "describe_compute_environments", *describe_ce(spec.name, env_detail(spec.name, status="VALID"))
        )
        ComputeEnvironmentProvisioner(timed_aws).create(spec)
        stub.assert_no_pending_responses()


def test_update_sends_only_the_changed_compute_resources_and_waits_valid(timed_aws: Aws) -> None:
    before = static_spec(service_role_arn=None)
    after = dataclasses.replace(before, max_vcpus=32, subnet_ids=("subnet-2",))
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "update_compute_environment",
            {},
            {
                "computeEnvironment": before.name,
                "computeResources": {"maxvCpus": 32, "subnets": ["subnet-2"]},
            },
        )
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(before.name, env_detail(before.name, status="UPDATING")),
        )
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(before.name, env_detail(before.name, status="VALID")),
        )
        outputs = ComputeEnvironmentProvisioner(timed_aws).update(
            after, Observed(before, {"arn": ce_arn(before.name)})
        )
        stub.assert_no_pending_responses()
    assert outputs == {"arn": ce_arn(before.name)}


def test_instance_type_change_needs_an_in_place_strategy(aws: Any, recorder: Any) -> None:
    before = ComputeEnvironmentSpec(
        name=unique(),
        compute_type="EC2",
        max_vcpus=16,
        subnet_ids=("subnet-1",),
        security_group_ids=("sg-1",),
        instance_types=("m5",),
        instance_role_arn=f"arn:aws:iam::{ACCOUNT}:instance-profile/x",
        allocation_strategy="BEST_FIT",
    )
    after = dataclasses.replace(before, instance_types=("c5",))
    with pytest.raises(PlanError, match="cannot change instanceTypes in place"):
        ComputeEnvironmentProvisioner(aws).update(after, Observed(before, {"arn": ce_arn(before.name)}))
    assert recorder.calls == []


def test_delete_retries_a_lingering_job_queue_relationship(timed_aws: Aws, fake_time: FakeTime) -> None:
    spec = static_spec()
    name = spec.name
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "describe_compute_environments", *describe_ce(name, env_detail(name, status="VALID"))
        )
        stub.add_response("update_compute_environment", {}, {"computeEnvironment": name, "state": "DISABLED"})
        stub.add_response(
            "describe_compute_environments", *describe_ce(name, env_detail(name, status="UPDATING"))
        )
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(name, env_detail(name, status="VALID", state="DISABLED")),
        )
        stub.add_client_error(
            "delete_compute_environment",
            service_error_code="ClientException",
            service_message="Cannot delete, found existing JobQueue relationship",
            http_status_code=400,
            expected_params={"computeEnvironment": name},
        )
        stub.add_response("delete_compute_environment", {}, {"computeEnvironment": name})
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(name, env_detail(name, status="DELETING", state="DISABLED")),
        )
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(name, env_detail(name, status="DELETED", state="DISABLED")),
        )
        ComputeEnvironmentProvisioner(timed_aws).delete(Observed(spec, {"arn": ce_arn(name)}))
        stub.assert_no_pending_responses()
    assert (
        len(fake_time.sleeps) == 3
    )  # one while disabling, one before the retried delete, one while deleting


def test_delete_gives_up_on_a_relationship_that_stays(timed_aws: Aws, fake_time: FakeTime) -> None:
    spec = static_spec()
    name = spec.name

    def always_linked(stub: Stubber) -> None:
        stub.add_client_error(
            "delete_compute_environment",
            service_error_code="ClientException",
            service_message="Cannot delete, found existing JobQueue relationship",
        )

    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(name, env_detail(name, status="VALID", state="DISABLED")),
        )
        for _ in range(80):
            always_linked(stub)
        with pytest.raises(AwsError, match="JobQueue relationship"):
            ComputeEnvironmentProvisioner(timed_aws).delete(Observed(spec, {"arn": ce_arn(name)}))
    assert 290 <= fake_time.now <= 310


def test_deleted_compute_environments_count_as_absent(timed_aws: Aws) -> None:
    spec = static_spec()
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "describe_compute_environments",
            *describe_ce(spec.name, env_detail(spec.name, status="DELETED", state="DISABLED")),
        )
        assert ComputeEnvironmentProvisioner(timed_aws).read(spec) is None


# ---- job queues ----------------------------------------------------------------------------------------------
def make_environments(aws: Any, boto: Any, count: int) -> list[str]:
    prov = ComputeEnvironmentProvisioner(aws)
    base = fargate_spec(boto)
    return [prov.create(dataclasses.replace(base, name=unique()))["arn"] for _ in range(count)]


def test_job_queue_lifecycle(aws: Any, boto: Any, recorder: Any) -> None:
    first, second = make_environments(aws, boto, 2)
    prov = JobQueueProvisioner(aws)
    spec = JobQueueSpec(name=unique(), compute_environment_arns=(first,), priority=5, tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"] == f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{spec.name}"
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert observed.outputs == outputs
    again = prov.read(spec)
    assert again is not None
    assert diff(spec, again.state).action is Action.NOOP

    changed = dataclasses.replace(
        spec, compute_environment_arns=(second, first), priority=10, tags={**TAGS, "team": "ml"}
    )
    prov.update(changed, again)
    updated = prov.read(changed)
    assert updated is not None
    assert updated.state == changed

    recorder.calls.clear()
    prov.delete(updated)
    batch_calls = [c for c in recorder.mutating if c.startswith("batch:")]
    # AWS-QUIRKS 9: disable first. moto would delete an ENABLED queue at once; AWS refuses.
    assert batch_calls == ["batch:UpdateJobQueue", "batch:DeleteJobQueue"]
    assert prov.read(spec) is None


def test_job_queue_state_update(aws: Any, boto: Any, recorder: Any) -> None:
    (environment,) = make_environments(aws, boto, 1)
    prov = JobQueueProvisioner(aws)
    spec = JobQueueSpec(name=unique(), compute_environment_arns=(environment,), tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    disabled = dataclasses.replace(spec, state="DISABLED")
    prov.update(disabled, observed)
    again = prov.read(disabled)
    assert again is not None
    assert again.state == disabled

    recorder.calls.clear()
    prov.delete(again)
    assert [c for c in recorder.mutating if c.startswith("batch:")] == ["batch:DeleteJobQueue"]
    assert prov.read(spec) is None


def test_job_queue_reads_environment_names_as_arns(aws: Any, boto: Any) -> None:
    (environment,) = make_environments(aws, boto, 1)
    name = unique()
    boto.client("batch").create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment.rsplit("/", 1)[1]}],
        tags=TAGS,
    )
    spec = JobQueueSpec(name=name, compute_environment_arns=(environment,), tags=TAGS)
    observed = JobQueueProvisioner(aws).read(spec)
    assert observed is not None
    assert observed.state == spec


def test_untagged_job_queue_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    (environment,) = make_environments(aws, boto, 1)
    name = unique()
    boto.client("batch").create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    spec = JobQueueSpec(name=name, compute_environment_arns=(environment,), tags=TAGS)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        JobQueueProvisioner(aws).read(spec)


def test_job_queue_runnable_timeout_round_trips(aws: Any, boto: Any) -> None:
    # moto drops jobStateTimeLimitActions; batchctl.sandbox.patch_moto (applied to the test server) keeps them.
    (environment,) = make_environments(aws, boto, 1)
    prov = JobQueueProvisioner(aws)
    spec = JobQueueSpec(
        name=unique(), compute_environment_arns=(environment,), runnable_timeout_s=1800, tags=TAGS
    )
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec


def queue_detail(name: str, *, status: str = "VALID", **extra: Any) -> dict[str, Any]:
    detail = {
        "jobQueueName": name,
        "jobQueueArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{name}",
        "state": "ENABLED",
        "status": status,
        "priority": 1,
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": ce_arn("c")}],
        "tags": TAGS,
    }
    return detail | extra


def test_job_queue_requests_carry_the_runnable_timeout(timed_aws: Aws) -> None:
    spec = JobQueueSpec(
        name="demo-dev-queue", compute_environment_arns=(ce_arn("c"),), runnable_timeout_s=1800
    )
    actions = [
        {"reason": RUNNABLE_TIMEOUT_REASON, "state": "RUNNABLE", "maxTimeSeconds": 1800, "action": "CANCEL"}
    ]
    arn = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{spec.name}"
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "create_job_queue",
            {"jobQueueName": spec.name, "jobQueueArn": arn},
            {
                "jobQueueName": spec.name,
                "state": "ENABLED",
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": ce_arn("c")}],
                "jobStateTimeLimitActions": actions,
            },
        )
        stub.add_response("describe_job_queues", {"jobQueues": [queue_detail(spec.name, status="CREATING")]})
        stub.add_response(
            "describe_job_queues", {"jobQueues": [queue_detail(spec.name, jobStateTimeLimitActions=actions)]}
        )
        prov = JobQueueProvisioner(timed_aws)
        assert prov.create(spec) == {"arn": arn}
        # What AWS answers reads back as the spec; clearing the timeout sends an empty list.
        stub.add_response(
            "describe_job_queues",
            {"jobQueues": [queue_detail(spec.name, jobStateTimeLimitActions=actions, tags={})]},
        )
        observed = prov.read(spec)
        assert observed is not None
        assert observed.state == spec
        stub.add_response(
            "update_job_queue",
            {"jobQueueName": spec.name, "jobQueueArn": arn},
            {"jobQueue": spec.name, "jobStateTimeLimitActions": []},
        )
        stub.add_response("describe_job_queues", {"jobQueues": [queue_detail(spec.name)]})
        prov.update(dataclasses.replace(spec, runnable_timeout_s=None), observed)
        stub.assert_no_pending_responses()


def test_job_queue_delete_waits_through_deleting(timed_aws: Aws, fake_time: FakeTime) -> None:
    spec = JobQueueSpec(name="demo-dev-queue", compute_environment_arns=(ce_arn("c"),))
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response("describe_job_queues", {"jobQueues": [queue_detail(spec.name)]})
        stub.add_response("update_job_queue", {}, {"jobQueue": spec.name, "state": "DISABLED"})
        stub.add_response("describe_job_queues", {"jobQueues": [queue_detail(spec.name, state="DISABLED")]})
        stub.add_response("delete_job_queue", {}, {"jobQueue": spec.name})
        for _ in range(3):
            stub.add_response(
                "describe_job_queues",
                {"jobQueues": [queue_detail(spec.name, status="DELETING", state="DISABLED")]},
            )
        stub.add_response("describe_job_queues", {"jobQueues": []})
        JobQueueProvisioner(timed_aws).delete(Observed(spec, {}))
        stub.assert_no_pending_responses()
    assert len(fake_time.sleeps) == 3


# ---- job definitions -----------------------------------------------------------------------------------------
def job_definition_spec(**changes: Any) -> JobDefinitionSpec:
    spec = JobDefinitionSpec(
        name=unique(),
        image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/demo-dev:abc123",
        command=("python", "/opt/app/job/main.py", "Ref::body"),
        platform="FARGATE",
        vcpus=0.5,
        memory_mib=1024,
        job_role_arn=f"arn:aws:iam::{ACCOUNT}:role/demo-dev-job",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/demo-dev-execution",
        log_group="/batchctl/demo/dev/job",
        stream_prefix="main",
        environment={"A_FLAG": "1", "EMPTY": "", "LEVEL": "debug"},
        secrets={"TOKEN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/demo/token"},
        parameters={"body": "", "time": "", "source": "manual"},
        retry_attempts=3,
        evaluate_on_exit=({"onStatusReason": "Host EC2*", "action": "EXIT"},),
        timeout_s=3600,
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


def active_revisions(boto: Any, name: str) -> list[int]:
    found = boto.client("batch").describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
    return sorted(int(d["revision"]) for d in found["jobDefinitions"])


def test_job_definition_lifecycle(aws: Any, boto: Any, recorder: Any) -> None:
    prov = JobDefinitionProvisioner(aws)
    spec = job_definition_spec()
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    base = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{spec.name}"
    assert outputs == {"arn": f"{base}:1", "revision": "1"}
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert observed.outputs == outputs

    # Re-applying the same spec finds nothing to do and registers nothing (AWS-QUIRKS 13).
    recorder.calls.clear()
    again = prov.read(spec)
    assert again is not None
    assert diff(spec, again.state).action is Action.NOOP
    assert recorder.mutating == []

    changed = dataclasses.replace(
        spec, image=spec.image.replace("abc123", "def456"), vcpus=1.0, memory_mib=2048
    )
    assert diff(changed, again.state).fields == ("image", "vcpus", "memory_mib")
    new = prov.update(changed, again)
    assert new == {"arn": f"{base}:2", "revision": "2"}
    updated = prov.read(changed)
    assert updated is not None
    assert updated.state == changed
    assert updated.outputs == new
    assert active_revisions(boto, spec.name) == [1, 2]  # the old one stays for runs in flight

    recorder.calls.clear()
    prov.delete(updated)
    assert recorder.mutating.count("batch:DeregisterJobDefinition") == 2
    assert active_revisions(boto, spec.name) == []
    assert prov.read(spec) is None


def test_job_definition_request_as_batch_stores_it(aws: Any, boto: Any) -> None:
    spec = job_definition_spec(assign_public_ip=False)
    JobDefinitionProvisioner(aws).create(spec)
    (stored,) = boto.client("batch").describe_job_definitions(jobDefinitionName=spec.name)["jobDefinitions"]
    container = stored["containerProperties"]
    assert stored["platformCapabilities"] == ["FARGATE"]
    assert stored["propagateTags"] is True
    assert stored["timeout"] == {"attemptDurationSeconds": 3600}
    assert stored["retryStrategy"]["attempts"] == 3
    assert stored["tags"] == TAGS
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.5"},
        {"type": "MEMORY", "value": "1024"},
    ]
    assert container["environment"] == [{"name": "A_FLAG", "value": "1"}, {"name": "LEVEL", "value": "debug"}]
    assert container["secrets"] == [{"name": "TOKEN", "valueFrom": spec.secrets["TOKEN"]}]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/batchctl/demo/dev/job",
            "awslogs-region": REGION,
            "awslogs-stream-prefix": "main",
        },
    }
    assert container["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    assert container["fargatePlatformConfiguration"] == {"platformVersion": "LATEST"}
    assert container["executionRoleArn"] == spec.execution_role_arn
    assert container["jobRoleArn"] == spec.job_role_arn


def test_ec2_job_definition_with_gpus_round_trips(aws: Any, boto: Any) -> None:
    spec = job_definition_spec(platform="EC2", vcpus=4.0, memory_mib=16384, gpus=1, execution_role_arn=None)
    prov = JobDefinitionProvisioner(aws)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    (stored,) = boto.client("batch").describe_job_definitions(jobDefinitionName=spec.name)["jobDefinitions"]
    assert {"type": "GPU", "value": "1"} in stored["containerProperties"]["resourceRequirements"]
    assert "networkConfiguration" not in stored["containerProperties"]


def test_only_the_newest_revisions_stay_active(aws: Any, boto: Any) -> None:
    prov = JobDefinitionProvisioner(aws)
    spec = job_definition_spec()
    prov.create(spec)
    for revision in range(2, 6):
        observed = prov.read(spec)
        assert observed is not None
        spec = dataclasses.replace(spec, command=("echo", str(revision)))
        assert prov.update(spec, observed)["revision"] == str(revision)
    assert active_revisions(boto, spec.name) == list(range(6 - KEEP_REVISIONS, 6))
    latest = prov.read(spec)
    assert latest is not None
    assert latest.state == spec


def test_read_is_the_latest_active_revision(aws: Any, boto: Any) -> None:
    prov = JobDefinitionProvisioner(aws)
    spec = job_definition_spec()
    prov.create(spec)
    newer = dataclasses.replace(spec, command=("echo", "newer"))
    second = prov.update(newer, Observed(spec, {}))
    boto.client("batch").deregister_job_definition(jobDefinition=second["arn"])
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert observed.outputs["revision"] == "1"


def test_fargate_job_definition_without_execution_role_is_refused(aws: Any, recorder: Any) -> None:
    with pytest.raises(PlanError, match="needs an execution role"):
        JobDefinitionProvisioner(aws).create(job_definition_spec(execution_role_arn=None))
    assert recorder.calls == []


def test_untagged_job_definition_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    spec = job_definition_spec()
    boto.client("batch").register_job_definition(
        jobDefinitionName=spec.name,
        type="container",
        containerProperties={
            "image": "busybox",
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        },
    )
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        JobDefinitionProvisioner(aws).read(spec)


def stored_definition(name: str, revision: int, *, image: str = "busybox") -> dict[str, Any]:
    return {
        "jobDefinitionName": name,
        "jobDefinitionArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{name}:{revision}",
        "revision": revision,
        "status": "ACTIVE",
        "type": "container",
        "platformCapabilities": ["EC2"],
        "containerProperties": {
            "image": image,
            "command": [],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            "environment": [],
            "secrets": [],
            "volumes": [],
            "mountPoints": [],
        },
        "tags": TAGS,
    }


def test_read_follows_every_page_to_the_highest_revision(timed_aws: Aws) -> None:
    name = "demo-dev-job"
    request = {"jobDefinitionName": name, "status": "ACTIVE"}
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response(
            "describe_job_definitions",
            {"jobDefinitions": [stored_definition(name, 1), stored_definition(name, 3)], "nextToken": "t1"},
            request,
        )
        stub.add_response(
            "describe_job_definitions",
            {"jobDefinitions": [stored_definition(name, 4, image="newest"), stored_definition(name, 2)]},
            request | {"nextToken": "t1"},
        )
        spec = JobDefinitionSpec(
            name=name,
            image="newest",
            command=(),
            platform="EC2",
            vcpus=1.0,
            memory_mib=2048,
            job_role_arn="",
            log_group="",
            stream_prefix="",
            tags=TAGS,
        )
        observed = JobDefinitionProvisioner(timed_aws).read(spec)
        stub.assert_no_pending_responses()
    assert observed is not None
    assert observed.outputs["revision"] == "4"
    assert observed.state == spec


def test_delete_deregisters_every_active_revision(timed_aws: Aws) -> None:
    name = "demo-dev-job"
    request = {"jobDefinitionName": name, "status": "ACTIVE"}
    revisions = [stored_definition(name, r) for r in (1, 2, 5)]
    with Stubber(timed_aws.client("batch")) as stub:
        stub.add_response("describe_job_definitions", {"jobDefinitions": revisions}, request)
        for definition in revisions:
            stub.add_response(
                "deregister_job_definition", {}, {"jobDefinition": definition["jobDefinitionArn"]}
            )
        stub.add_response("describe_job_definitions", {"jobDefinitions": []}, request)
        spec = job_definition_spec(name=name)
        JobDefinitionProvisioner(timed_aws).delete(Observed(spec, {}))
        stub.assert_no_pending_responses()


def test_a_drifted_log_configuration_reads_as_a_difference(aws: Any, boto: Any) -> None:
    spec = job_definition_spec()
    prov = JobDefinitionProvisioner(aws)
    prov.create(spec)
    (stored,) = boto.client("batch").describe_job_definitions(jobDefinitionName=spec.name)["jobDefinitions"]
    container = stored["containerProperties"]
    container["logConfiguration"]["options"]["awslogs-region"] = "us-east-1"
    boto.client("batch").register_job_definition(
        jobDefinitionName=spec.name,
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties=container,
        parameters=stored["parameters"],
        retryStrategy=stored["retryStrategy"],
        timeout=stored["timeout"],
        tags=TAGS,
    )
    observed = prov.read(spec)
    assert observed is not None
    assert diff(spec, observed.state).fields == ("log_group", "stream_prefix")
