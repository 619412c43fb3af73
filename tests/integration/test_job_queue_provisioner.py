"""Lifecycle, ownership and AWS-quirk tests of the Batch job queue provisioner against the moto server; Stubber on
a real client where moto cannot show what AWS does (CREATING and DELETING states, the runnable timeout)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.stub import Stubber

from batchctl.aws import Aws
from batchctl.diff import Action, diff
from batchctl.errors import NotManagedError
from batchctl.provisioners.batch import (
    RUNNABLE_TIMEOUT_REASONS,
    ComputeEnvironmentProvisioner,
    JobQueueProvisioner,
)
from batchctl.specs import JobQueueSpec, Observed
from tests.support.provisioners import (
    ACCOUNT,
    REGION,
    TAGS,
    FakeTime,
    ce_arn,
    fargate_spec,
    read_back,
    unique,
)


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
    observed = read_back(prov, spec)
    assert observed.outputs == outputs
    again = prov.read(spec)
    assert again is not None
    assert diff(spec, again.state).action is Action.NOOP

    changed = dataclasses.replace(
        spec, compute_environment_arns=(second, first), priority=10, tags={**TAGS, "team": "ml"}
    )
    prov.update(changed, again)
    updated = read_back(prov, changed)

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
    again = read_back(prov, disabled)

    recorder.calls.clear()
    prov.delete(again)
    assert [c for c in recorder.mutating if c.startswith("batch:")] == ["batch:DeleteJobQueue"]
    assert prov.read(spec) is None


def queue_made_by_hand(boto: Any, name: str, environment: str, **tags: Any) -> None:
    """A job queue created outside batchctl (`tags=` to give it tags)."""
    boto.client("batch").create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        **tags,
    )


def test_job_queue_reads_environment_names_as_arns(aws: Any, boto: Any) -> None:
    (environment,) = make_environments(aws, boto, 1)
    name = unique()
    queue_made_by_hand(boto, name, environment.rsplit("/", 1)[1], tags=TAGS)
    spec = JobQueueSpec(name=name, compute_environment_arns=(environment,), tags=TAGS)
    read_back(JobQueueProvisioner(aws), spec)


def test_untagged_job_queue_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    (environment,) = make_environments(aws, boto, 1)
    name = unique()
    queue_made_by_hand(boto, name, environment)
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
    read_back(prov, spec)


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
        {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 1800, "action": "CANCEL"}
        for reason in RUNNABLE_TIMEOUT_REASONS
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
        observed = read_back(prov, spec)
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
