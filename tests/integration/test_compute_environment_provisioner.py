"""Lifecycle, ownership and AWS-quirk tests of the Batch compute environment provisioner against the moto server;
Stubber on a real client where moto cannot show what AWS does (INVALID environments, lingering queues)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from botocore.stub import Stubber

from batchctl import policies
from batchctl.aws import Aws
from batchctl.diff import Action, diff
from batchctl.errors import AwsError, NotManagedError, PlanError
from batchctl.provisioners.batch import ComputeEnvironmentProvisioner
from batchctl.specs import ComputeEnvironmentSpec, Observed
from tests.support.provisioners import (
    ACCOUNT,
    TAGS,
    FakeTime,
    ce_arn,
    fargate_spec,
    instance_profile,
    network,
    read_back,
    static_spec,
    unique,
)

SLR_PATH = "/aws-service-role/batch.amazonaws.com/"


def slr_roles(boto: Any) -> list[dict[str, Any]]:
    roles: list[dict[str, Any]] = boto.client("iam").list_roles(PathPrefix=SLR_PATH)["Roles"]
    return roles


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
    updated = read_back(prov, changed)

    dropped = dataclasses.replace(changed, tags=TAGS)
    prov.update(dropped, updated)
    last = read_back(prov, dropped)

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
    observed = read_back(prov, spec)
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
    read_back(prov, reordered)


def test_an_explicit_service_role_is_used_and_read_back(aws: Any, boto: Any) -> None:
    # A service role Batch may assume (with no trust statement AWS leaves the environment INVALID).
    role_arn = boto.client("iam").create_role(
        RoleName=unique(), AssumeRolePolicyDocument=json.dumps(policies.trust_policy("batch.amazonaws.com"))
    )["Role"]["Arn"]
    spec = fargate_spec(boto, service_role_arn=role_arn)
    prov = ComputeEnvironmentProvisioner(aws)
    prov.create(spec)
    read_back(prov, spec)
    assert slr_roles(boto) == []


def test_the_service_linked_role_is_created_once_and_reused(aws: Any, boto: Any) -> None:
    prov = ComputeEnvironmentProvisioner(aws)
    first = fargate_spec(boto)
    second = dataclasses.replace(first, name=unique())
    prov.create(first)
    prov.create(second)
    assert len(slr_roles(boto)) == 1
    for spec in (first, second):
        read_back(prov, spec)


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
    read_back(prov, changed)


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
        for _ in range(200):  # retried every POLL_INTERVAL_S (2 s) until the 300 s bound
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
