"""The Batch provisioners' pure halves: the exact Create/Register requests for compute environments, job queues and
job definitions, and their Describe answers read back (`from_described`) as the spec they came from."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from batchctl.naming import AwsContext
from batchctl.provisioners.batch import (
    RUNNABLE_TIMEOUT_REASONS,
    ComputeEnvironmentProvisioner,
    JobQueueProvisioner,
)
from batchctl.provisioners.job_definition import JobDefinitionProvisioner
from batchctl.specs import ComputeEnvironmentSpec, JobDefinitionSpec, JobQueueSpec, Key, Kind, Ref
from tests.support.provisioners import ACCOUNT, REGION, TAGS, ce_arn, job_definition_spec, static_spec

CTX = AwsContext(account_id=ACCOUNT, region=REGION)
PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/demo-dev-instance"
SERVICE_LINKED_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
)


# ---- compute environments ------------------------------------------------------------------------------------
def spot_spec(**changes: Any) -> ComputeEnvironmentSpec:
    spec = static_spec(
        compute_type="SPOT",
        min_vcpus=2,
        instance_types=("c5", "m5.large"),
        instance_role_arn=PROFILE,
        allocation_strategy="SPOT_CAPACITY_OPTIMIZED",
        service_role_arn=None,
    )
    return dataclasses.replace(spec, **changes)


def test_create_request_names_resources_and_service_role() -> None:
    spec = static_spec()
    assert ComputeEnvironmentProvisioner.to_request(spec) == {
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
    }


def test_an_ec2_request_carries_its_instances_and_leaves_the_service_role_to_create() -> None:
    request = ComputeEnvironmentProvisioner.to_request(spot_spec())
    assert request["computeResources"] == {
        "type": "SPOT",
        "maxvCpus": 16,
        "subnets": ["subnet-1", "subnet-2"],
        "securityGroupIds": ["sg-1"],
        "minvCpus": 2,
        "instanceTypes": ["c5", "m5.large"],
        "instanceRole": PROFILE,
        "allocationStrategy": "SPOT_CAPACITY_OPTIMIZED",
    }
    # Without a service role in the spec, create names the service-linked role itself.
    assert "serviceRole" not in request


def test_a_request_with_an_unfilled_ref_is_a_bug() -> None:
    spec = static_spec(subnet_ids=(Ref(Key(Kind.SUBNET, "demo-dev-public-0"), "id"),))
    with pytest.raises(TypeError, match="the engine must fill Refs first"):
        ComputeEnvironmentProvisioner.to_request(spec)


@pytest.mark.parametrize("spec", [static_spec(), spot_spec()], ids=["fargate", "spot"])
def test_compute_environment_round_trips(spec: ComputeEnvironmentSpec) -> None:
    assert (
        ComputeEnvironmentProvisioner.from_described(ComputeEnvironmentProvisioner.to_request(spec)) == spec
    )


def test_what_aws_fills_in_reads_as_what_the_spec_leaves_out() -> None:
    spec = spot_spec(compute_type="EC2", allocation_strategy=None)
    described = ComputeEnvironmentProvisioner.to_request(spec)
    described["serviceRole"] = SERVICE_LINKED_ROLE
    described["computeResources"] |= {"allocationStrategy": "BEST_FIT", "subnets": ["subnet-2", "subnet-1"]}
    assert ComputeEnvironmentProvisioner.from_described(described) == spec
    assert ComputeEnvironmentProvisioner.from_described(described, desired=spec) == spec

    # A spec that names them sees them; ID lists keep the desired order (Batch keeps none).
    named = dataclasses.replace(
        spec, allocation_strategy="BEST_FIT", service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/custom"
    )
    reordered = dataclasses.replace(named, subnet_ids=("subnet-2", "subnet-1"))
    state = ComputeEnvironmentProvisioner.from_described(described, desired=reordered)
    assert state.allocation_strategy == "BEST_FIT"
    assert state.service_role_arn == SERVICE_LINKED_ROLE
    assert state.subnet_ids == ("subnet-2", "subnet-1")


# ---- job queues ----------------------------------------------------------------------------------------------
QUEUE = JobQueueSpec(
    name="demo-dev-queue",
    compute_environment_arns=(ce_arn("spot"), ce_arn("fargate")),
    priority=5,
    runnable_timeout_s=1800,
    tags=TAGS,
)
TIME_LIMITS = [
    {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 1800, "action": "CANCEL"}
    for reason in RUNNABLE_TIMEOUT_REASONS
]


def test_job_queue_request_carries_the_runnable_timeout() -> None:
    assert JobQueueProvisioner.to_request(QUEUE) == {
        "jobQueueName": "demo-dev-queue",
        "state": "ENABLED",
        "priority": 5,
        "computeEnvironmentOrder": [
            {"order": 1, "computeEnvironment": ce_arn("spot")},
            {"order": 2, "computeEnvironment": ce_arn("fargate")},
        ],
        "jobStateTimeLimitActions": TIME_LIMITS,
        "tags": TAGS,
    }
    untimed = JobQueueProvisioner.to_request(dataclasses.replace(QUEUE, runnable_timeout_s=None, tags={}))
    assert "jobStateTimeLimitActions" not in untimed
    assert "tags" not in untimed


def test_job_queue_update_sends_only_what_differs_and_an_empty_list_clears_the_timeout() -> None:
    assert JobQueueProvisioner.update_request(QUEUE, QUEUE) == {}
    cleared = dataclasses.replace(QUEUE, runnable_timeout_s=None, priority=1, state="DISABLED")
    assert JobQueueProvisioner.update_request(cleared, QUEUE) == {
        "state": "DISABLED",
        "priority": 1,
        "jobStateTimeLimitActions": [],
    }
    swapped = dataclasses.replace(QUEUE, compute_environment_arns=(ce_arn("fargate"),))
    assert JobQueueProvisioner.update_request(swapped, QUEUE) == {
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": ce_arn("fargate")}]
    }


def test_job_queue_round_trips() -> None:
    assert JobQueueProvisioner.from_described(JobQueueProvisioner.to_request(QUEUE), ctx=CTX) == QUEUE


def test_job_queue_reads_names_as_arns_in_order_and_only_its_own_time_limit() -> None:
    described = JobQueueProvisioner.to_request(QUEUE) | {
        # Out of order, and by name as moto and older AWS answers give them.
        "computeEnvironmentOrder": [
            {"order": 2, "computeEnvironment": "fargate"},
            {"order": 1, "computeEnvironment": ce_arn("spot")},
        ],
        "jobStateTimeLimitActions": [
            {"reason": "theirs", "state": "RUNNABLE", "maxTimeSeconds": 60, "action": "TERMINATE"},
            *(limit | {"action": "cancel"} for limit in TIME_LIMITS),
        ],
    }
    assert JobQueueProvisioner.from_described(described, ctx=CTX) == QUEUE


def test_job_queue_sends_one_cancel_action_per_reason_aws_matches() -> None:
    # AWS matches `reason` against the job's statusReason and accepts only these three; free text never fires.
    actions = JobQueueProvisioner.to_request(QUEUE)["jobStateTimeLimitActions"]
    assert [a["reason"] for a in actions] == [
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    ]
    assert {(a["state"], a["action"], a["maxTimeSeconds"]) for a in actions} == {("RUNNABLE", "CANCEL", 1800)}


def test_a_queue_with_the_old_free_text_reason_reads_as_a_change() -> None:
    old = [
        {
            "reason": "batchctl: RUNNABLE longer than runnable_timeout_s",
            "state": "RUNNABLE",
            "maxTimeSeconds": 1800,
            "action": "CANCEL",
        }
    ]
    described = JobQueueProvisioner.to_request(QUEUE) | {"jobStateTimeLimitActions": old}
    read = JobQueueProvisioner.from_described(described, ctx=CTX)
    assert read.runnable_timeout_s != QUEUE.runnable_timeout_s
    assert JobQueueProvisioner.update_request(QUEUE, read)["jobStateTimeLimitActions"] == TIME_LIMITS


# ---- job definitions -----------------------------------------------------------------------------------------
def job_definition(**changes: Any) -> JobDefinitionSpec:
    return job_definition_spec(**({"assign_public_ip": False} | changes))


def test_job_definition_request_is_what_batch_stores() -> None:
    spec = job_definition()
    assert JobDefinitionProvisioner.to_request(spec, region=REGION) == {
        "jobDefinitionName": spec.name,
        "type": "container",
        "platformCapabilities": ["FARGATE"],
        "containerProperties": {
            "image": spec.image,
            "command": ["python", "/opt/app/job/main.py", "Ref::body"],
            "resourceRequirements": [{"type": "VCPU", "value": "0.5"}, {"type": "MEMORY", "value": "1024"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/batchctl/demo/dev/job",
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "main",
                },
            },
            "jobRoleArn": spec.job_role_arn,
            "executionRoleArn": spec.execution_role_arn,
            # Batch stores no empty-valued variable, so none is sent.
            "environment": [{"name": "A_FLAG", "value": "1"}, {"name": "LEVEL", "value": "debug"}],
            "secrets": [{"name": "TOKEN", "valueFrom": spec.secrets["TOKEN"]}],
            "networkConfiguration": {"assignPublicIp": "DISABLED"},
            "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        },
        "retryStrategy": {
            "attempts": 3,
            "evaluateOnExit": [{"onStatusReason": "Host EC2*", "action": "EXIT"}],
        },
        "propagateTags": True,
        "parameters": {"body": "", "time": "", "source": "manual"},
        "timeout": {"attemptDurationSeconds": 3600},
        "tags": TAGS,
    }


def test_an_ec2_job_definition_request_has_its_gpus_and_no_fargate_settings() -> None:
    spec = job_definition(platform="EC2", vcpus=4.0, memory_mib=16384, gpus=1, execution_role_arn=None)
    container = JobDefinitionProvisioner.to_request(spec, region=REGION)["containerProperties"]
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "16384"},
        {"type": "GPU", "value": "1"},
    ]
    assert "networkConfiguration" not in container
    assert "fargatePlatformConfiguration" not in container
    assert "runtimePlatform" not in container
    assert "executionRoleArn" not in container


@pytest.mark.parametrize(
    "spec",
    [
        job_definition(),
        job_definition(platform="EC2", vcpus=4.0, memory_mib=16384, gpus=1, execution_role_arn=None),
        job_definition(environment={}, parameters={}, evaluate_on_exit=(), timeout_s=None, tags={}),
    ],
    ids=["fargate", "ec2-gpu", "bare"],
)
def test_job_definition_round_trips(spec: JobDefinitionSpec) -> None:
    described = JobDefinitionProvisioner.to_request(spec, region=REGION)
    assert JobDefinitionProvisioner.from_described(described, region=REGION, desired=spec) == spec


def test_what_batch_does_not_store_reads_as_the_desired_spec_says() -> None:
    spec = job_definition(platform="EC2", execution_role_arn=None)
    described = JobDefinitionProvisioner.to_request(spec, region=REGION)
    # Without the spec: the empty variable is unknown, and an EC2 definition reads the default public IP setting.
    alone = JobDefinitionProvisioner.from_described(described, region=REGION)
    assert alone == dataclasses.replace(
        spec, environment={"A_FLAG": "1", "LEVEL": "debug"}, assign_public_ip=True
    )


def test_a_log_configuration_for_another_region_reads_as_none() -> None:
    spec = job_definition()
    described = JobDefinitionProvisioner.to_request(spec, region="us-east-1")
    state = JobDefinitionProvisioner.from_described(described, region=REGION, desired=spec)
    assert (state.log_group, state.stream_prefix) == ("", "")


def test_a_definition_registered_elsewhere_reads_in_the_spec_shape() -> None:
    described = {
        "jobDefinitionName": "elsewhere",
        "containerProperties": {"image": "busybox", "vcpus": 2, "memory": 2048, "environment": []},
        "retryStrategy": {"attempts": 2, "evaluateOnExit": [{"onExitCode": "137", "action": "retry"}]},
    }
    state = JobDefinitionProvisioner.from_described(described, region=REGION)
    assert (state.platform, state.vcpus, state.memory_mib) == ("EC2", 2.0, 2048)
    assert state.evaluate_on_exit == ({"onExitCode": "137", "action": "RETRY"},)
    assert (state.log_group, state.environment, state.tags) == ("", {}, {})
