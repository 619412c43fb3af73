"""Lifecycle, revision and ownership tests of the Batch job definition provisioner against the moto server;
Stubber on a real client where moto cannot show what AWS does (paged revisions)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.stub import Stubber

from batchctl.aws import Aws
from batchctl.diff import Action, diff
from batchctl.errors import NotManagedError, PlanError
from batchctl.provisioners.job_definition import KEEP_REVISIONS, JobDefinitionProvisioner
from batchctl.specs import JobDefinitionSpec, Observed
from tests.support.provisioners import ACCOUNT, REGION, TAGS, job_definition_spec, read_back


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
    observed = read_back(prov, spec)
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
    updated = read_back(prov, changed)
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
    read_back(prov, spec)
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
    read_back(prov, spec)


def test_read_is_the_latest_active_revision(aws: Any, boto: Any) -> None:
    prov = JobDefinitionProvisioner(aws)
    spec = job_definition_spec()
    prov.create(spec)
    newer = dataclasses.replace(spec, command=("echo", "newer"))
    second = prov.update(newer, Observed(spec, {}))
    boto.client("batch").deregister_job_definition(jobDefinition=second["arn"])
    observed = read_back(prov, spec)
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
