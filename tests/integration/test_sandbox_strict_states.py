"""The strict sandbox shows AWS's asynchronous states (Batch, Step Functions, Pipes, SQS) and IAM propagation, which
moto skips; durations are AWS's × SCALE."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.integration.test_sandbox_strict import (
    IAM_WAIT_S,
    SCALE,
    ce_status,
    compute_environment,
    job_queue,
    lenient,
    queue_status,
    refused,
    role,
    strict,
    unique,
    valid_compute_environment,
    wait_for,
)

__all__ = ["lenient", "strict"]  # module fixtures, used by name

QUEUE_DELETED_HOLD_S = 60 * SCALE


def settled_queue(aws: Any, ce: str) -> str:
    name = job_queue(aws, ce)
    assert (
        wait_for(lambda: queue_status(aws, name), lambda q: q.get("status") == "VALID")["status"] == "VALID"
    )
    return name


def disable(aws: Any, kind: str, name: str) -> None:
    batch = aws("batch")
    if kind == "compute-environment":
        batch.update_compute_environment(computeEnvironment=name, state="DISABLED")
        wait_for(lambda: ce_status(aws, name), lambda ce: ce.get("status") == "VALID")
    else:
        batch.update_job_queue(jobQueue=name, state="DISABLED")
        wait_for(lambda: queue_status(aws, name), lambda q: q.get("status") == "VALID")


# Batch compute environments.


def test_a_compute_environment_is_creating_then_valid(strict: Any) -> None:
    name = compute_environment(strict)

    assert ce_status(strict, name)["status"] == "CREATING"
    assert (
        wait_for(lambda: ce_status(strict, name), lambda ce: ce["status"] != "CREATING")["status"] == "VALID"
    )


def test_the_lenient_sandbox_shows_a_new_compute_environment_valid(lenient: Any) -> None:
    assert ce_status(lenient, compute_environment(lenient))["status"] == "VALID"


def test_a_job_queue_over_a_creating_compute_environment_is_refused(strict: Any) -> None:
    ce = compute_environment(strict)

    assert refused(lambda: job_queue(strict, ce)) == (
        "ClientException",
        f"computeEnvironment {ce} is not in a VALID state (status CREATING)",
    )


def test_an_updated_compute_environment_is_updating_then_valid(strict: Any) -> None:
    ce = valid_compute_environment(strict)

    strict("batch").update_compute_environment(computeEnvironment=ce, state="DISABLED")

    assert ce_status(strict, ce)["status"] == "UPDATING"
    assert wait_for(lambda: ce_status(strict, ce), lambda c: c["status"] != "UPDATING")["status"] == "VALID"


def test_an_enabled_compute_environment_cannot_be_deleted(strict: Any) -> None:
    ce = valid_compute_environment(strict)

    assert refused(lambda: strict("batch").delete_compute_environment(computeEnvironment=ce)) == (
        "ClientException",
        f"Cannot delete, compute environment {ce} must be DISABLED (state ENABLED)",
    )


def test_a_compute_environment_still_updating_cannot_be_deleted(strict: Any) -> None:
    ce = valid_compute_environment(strict)
    strict("batch").update_compute_environment(computeEnvironment=ce, state="DISABLED")

    assert refused(lambda: strict("batch").delete_compute_environment(computeEnvironment=ce)) == (
        "ClientException",
        f"Cannot delete, compute environment {ce} is UPDATING",
    )


def test_a_disabled_compute_environment_is_deleting_then_gone(strict: Any) -> None:
    ce = valid_compute_environment(strict)
    disable(strict, "compute-environment", ce)

    strict("batch").delete_compute_environment(computeEnvironment=ce)

    assert ce_status(strict, ce)["status"] == "DELETING"
    assert wait_for(lambda: ce_status(strict, ce), lambda c: c == {}) == {}


def test_a_compute_environment_a_queue_references_cannot_be_deleted(strict: Any) -> None:
    ce = valid_compute_environment(strict)
    settled_queue(strict, ce)
    disable(strict, "compute-environment", ce)

    assert refused(lambda: strict("batch").delete_compute_environment(computeEnvironment=ce)) == (
        "ClientException",
        "Cannot delete, found existing JobQueue relationship.",
    )


def test_a_deleting_queue_still_holds_its_compute_environment(strict: Any) -> None:
    ce = valid_compute_environment(strict)
    queue = settled_queue(strict, ce)
    disable(strict, "job-queue", queue)
    disable(strict, "compute-environment", ce)
    strict("batch").delete_job_queue(jobQueue=queue)

    code, message = refused(lambda: strict("batch").delete_compute_environment(computeEnvironment=ce))
    assert (code, message) == ("ClientException", "Cannot delete, found existing JobQueue relationship.")

    wait_for(lambda: queue_status(strict, queue), lambda q: q == {})
    strict("batch").delete_compute_environment(computeEnvironment=ce)
    assert ce_status(strict, ce)["status"] == "DELETING"


def test_the_lenient_sandbox_deletes_an_enabled_compute_environment_at_once(lenient: Any) -> None:
    ce = compute_environment(lenient)

    lenient("batch").delete_compute_environment(computeEnvironment=ce)

    assert ce_status(lenient, ce) == {}


# Batch job queues.


def test_a_job_queue_is_creating_then_valid(strict: Any) -> None:
    queue = job_queue(strict, valid_compute_environment(strict))

    assert queue_status(strict, queue)["status"] == "CREATING"
    assert (
        wait_for(lambda: queue_status(strict, queue), lambda q: q["status"] != "CREATING")["status"]
        == "VALID"
    )


def test_an_enabled_job_queue_cannot_be_deleted(strict: Any) -> None:
    queue = settled_queue(strict, valid_compute_environment(strict))

    assert refused(lambda: strict("batch").delete_job_queue(jobQueue=queue)) == (
        "ClientException",
        f"Cannot delete, job queue {queue} must be DISABLED (state ENABLED)",
    )


def test_a_disabled_job_queue_is_deleting_then_gone(strict: Any) -> None:
    queue = settled_queue(strict, valid_compute_environment(strict))
    disable(strict, "job-queue", queue)

    strict("batch").delete_job_queue(jobQueue=queue)

    assert queue_status(strict, queue)["status"] == "DELETING"
    assert wait_for(lambda: queue_status(strict, queue), lambda q: q == {}) == {}


def test_list_jobs_without_status_lists_running_jobs_only(strict: Any, lenient: Any) -> None:
    batch = strict("batch")
    queue = settled_queue(strict, valid_compute_environment(strict))
    definition = batch.register_job_definition(
        jobDefinitionName=unique(),
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 512},
    )["jobDefinitionArn"]
    job = batch.submit_job(jobName="j", jobQueue=queue, jobDefinition=definition)["jobId"]  # succeeds at once

    assert batch.list_jobs(jobQueue=queue)["jobSummaryList"] == []
    assert [j["jobId"] for j in batch.list_jobs(jobQueue=queue, jobStatus="SUCCEEDED")["jobSummaryList"]] == [
        job
    ]
    assert [j["jobId"] for j in lenient("batch").list_jobs(jobQueue=queue)["jobSummaryList"]] == [job]


# IAM propagation, as each service reports it.


def test_batch_cannot_assume_a_new_service_role_so_the_compute_environment_is_invalid(strict: Any) -> None:
    service_role = role(strict, "batch.amazonaws.com", settled=False)
    ce = compute_environment(strict, service_role=service_role)

    described = wait_for(lambda: ce_status(strict, ce), lambda c: c["status"] != "CREATING")

    assert described["status"] == "INVALID"
    assert described["statusReason"].startswith(
        f"CLIENT_ERROR - User: batch.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: "
        f"{service_role} (Service: AWSSecurityTokenService; Status Code: 403; Error Code: AccessDenied; "
    )


def test_an_invalid_compute_environment_is_valid_after_an_update_once_the_role_works(strict: Any) -> None:
    service_role = role(strict, "batch.amazonaws.com", settled=False)
    ce = compute_environment(strict, service_role=service_role)
    wait_for(lambda: ce_status(strict, ce), lambda c: c["status"] == "INVALID")
    time.sleep(IAM_WAIT_S)

    strict("batch").update_compute_environment(computeEnvironment=ce, serviceRole=service_role)

    assert wait_for(lambda: ce_status(strict, ce), lambda c: c["status"] not in ("INVALID", "UPDATING"))[
        "status"
    ] == ("VALID")


DEFINITION = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})


def test_step_functions_cannot_assume_a_new_role_yet(strict: Any) -> None:
    new_role = role(strict, "states.amazonaws.com", settled=False)

    assert refused(
        lambda: strict("stepfunctions").create_state_machine(
            name=unique(), definition=DEFINITION, roleArn=new_role
        )
    ) == (
        "AccessDeniedException",
        "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume "
        "the provided role.",
    )


def test_step_functions_accepts_the_role_once_propagated(strict: Any) -> None:
    settled = role(strict, "states.amazonaws.com")

    assert strict("stepfunctions").create_state_machine(
        name=unique(), definition=DEFINITION, roleArn=settled
    )["stateMachineArn"]


def test_step_functions_never_assumes_a_role_that_does_not_trust_it(strict: Any) -> None:
    other = role(strict, "lambda.amazonaws.com")

    code, _ = refused(
        lambda: strict("stepfunctions").create_state_machine(
            name=unique(), definition=DEFINITION, roleArn=other
        )
    )

    assert code == "AccessDeniedException"


def test_the_lenient_sandbox_accepts_a_new_role_at_once(lenient: Any) -> None:
    new_role = role(lenient, "states.amazonaws.com", settled=False)

    assert lenient("stepfunctions").create_state_machine(
        name=unique(), definition=DEFINITION, roleArn=new_role
    )


def test_scheduler_cannot_assume_a_new_role_yet(strict: Any) -> None:
    new_role = role(strict, "scheduler.amazonaws.com", settled=False)
    target = {"Arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:m", "RoleArn": new_role}

    assert refused(
        lambda: strict("scheduler").create_schedule(
            Name=unique(),
            ScheduleExpression="rate(1 hour)",
            Target=target,
            FlexibleTimeWindow={"Mode": "OFF"},
        )
    ) == (
        "ValidationException",
        "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.",
    )


# EventBridge Pipes.


def _pipe(aws: Any, role_arn: str, **extra: Any) -> tuple[str, Any]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    source = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = unique()
    created = aws("pipes").create_pipe(
        Name=name,
        Source=source,
        Target="arn:aws:states:eu-west-1:123456789012:stateMachine:m",
        RoleArn=role_arn,
        **extra,
    )
    return name, created


def pipe_state(aws: Any, name: str) -> dict[str, Any]:
    try:
        described: dict[str, Any] = aws("pipes").describe_pipe(Name=name)
    except aws("pipes").exceptions.NotFoundException:
        return {}
    return described


def left(aws: Any, name: str, state: str) -> str:
    """The pipe's CurrentState once it has left `state`."""
    return str(wait_for(lambda: pipe_state(aws, name), lambda p: p["CurrentState"] != state)["CurrentState"])


@pytest.fixture(scope="module")
def pipe_role(strict: Any) -> str:
    """A role Pipes may assume that may read the test queues and start the target (the strict sandbox judges it)."""
    arn = role(strict, "pipes.amazonaws.com")
    grants = [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "states:StartExecution",
            ],
            "Resource": "*",
        }
    ]
    strict("iam").put_role_policy(
        RoleName=arn.rsplit("/", 1)[1],
        PolicyName="pipe",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": grants}),
    )
    return arn


def test_a_pipe_is_creating_then_running(strict: Any, pipe_role: str) -> None:
    name, created = _pipe(strict, pipe_role)

    assert created["CurrentState"] == "CREATING"
    assert pipe_state(strict, name)["CurrentState"] == "CREATING"
    assert left(strict, name, "CREATING") == "RUNNING"


def test_a_pipe_created_stopped_settles_stopped(strict: Any, pipe_role: str) -> None:
    name, _ = _pipe(strict, pipe_role, DesiredState="STOPPED")

    assert left(strict, name, "CREATING") == "STOPPED"


def test_a_pipe_is_stopping_then_stopped_and_starting_then_running(strict: Any, pipe_role: str) -> None:
    name, _ = _pipe(strict, pipe_role)
    wait_for(lambda: pipe_state(strict, name), lambda p: p["CurrentState"] == "RUNNING")
    pipes = strict("pipes")

    assert pipes.stop_pipe(Name=name)["CurrentState"] == "STOPPING"
    assert left(strict, name, "STOPPING") == "STOPPED"
    assert pipes.start_pipe(Name=name)["CurrentState"] == "STARTING"
    assert left(strict, name, "STARTING") == "RUNNING"


def test_an_updated_pipe_is_updating_then_running(strict: Any, pipe_role: str) -> None:
    name, _ = _pipe(strict, pipe_role)
    wait_for(lambda: pipe_state(strict, name), lambda p: p["CurrentState"] == "RUNNING")

    updated = strict("pipes").update_pipe(Name=name, RoleArn=pipe_role, Description="changed")

    assert updated["CurrentState"] == "UPDATING"
    listed = [p for p in strict("pipes").list_pipes(NamePrefix=name)["Pipes"] if p["Name"] == name]
    assert listed[0]["CurrentState"] == "UPDATING"
    assert left(strict, name, "UPDATING") == "RUNNING"


def test_a_deleted_pipe_is_deleting_then_gone(strict: Any, pipe_role: str) -> None:
    name, _ = _pipe(strict, pipe_role)

    deleted = strict("pipes").delete_pipe(Name=name)

    assert (deleted["CurrentState"], deleted["DesiredState"]) == ("DELETING", "DELETED")
    assert pipe_state(strict, name)["CurrentState"] == "DELETING"
    assert wait_for(lambda: pipe_state(strict, name), lambda p: p == {}) == {}


def test_a_pipe_whose_role_is_not_propagated_fails_to_create(strict: Any) -> None:
    name, _ = _pipe(strict, role(strict, "pipes.amazonaws.com", settled=False))

    described = wait_for(lambda: pipe_state(strict, name), lambda p: p["CurrentState"] != "CREATING")

    assert described["CurrentState"] == "CREATE_FAILED"
    assert described["StateReason"] == (
        "Input parameter is invalid from the request due to : The provided customer role does not have permissions "
        "to call ReceiveMessage on SQS"
    )


# Step Functions: deleting a machine with running executions.

WAITING = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}})


@pytest.fixture
def running_machine(strict: Any) -> str:
    sfn = strict("stepfunctions")
    arn: str = sfn.create_state_machine(
        name=unique(), definition=WAITING, roleArn=role(strict, "states.amazonaws.com")
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=arn, name=unique())
    wait_for(
        lambda: sfn.list_executions(stateMachineArn=arn)["executions"], lambda e: e[0]["status"] == "RUNNING"
    )
    return arn


def test_a_machine_with_running_executions_is_deleting_until_they_end(
    strict: Any, running_machine: str
) -> None:
    sfn = strict("stepfunctions")

    sfn.delete_state_machine(stateMachineArn=running_machine)

    assert sfn.describe_state_machine(stateMachineArn=running_machine)["status"] == "DELETING"

    def described() -> str:
        try:
            return str(sfn.describe_state_machine(stateMachineArn=running_machine)["status"])
        except sfn.exceptions.StateMachineDoesNotExist:
            return "gone"

    assert wait_for(described, lambda status: status == "gone") == "gone"


def test_a_deleting_machine_starts_no_execution(strict: Any, running_machine: str) -> None:
    sfn = strict("stepfunctions")
    sfn.delete_state_machine(stateMachineArn=running_machine)

    assert refused(lambda: sfn.start_execution(stateMachineArn=running_machine, name=unique())) == (
        "StateMachineDeleting",
        f"State machine is being deleted: '{running_machine}'",
    )


# SQS: a deleted queue's name.


def test_a_queue_name_deleted_recently_cannot_be_reused_yet(strict: Any) -> None:
    sqs, name = strict("sqs"), unique()
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName=name)["QueueUrl"])

    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as caught:
        sqs.create_queue(QueueName=name)

    assert caught.value.response["Error"]["Message"] == (
        "You must wait 60 seconds after deleting a queue before you can create another with the same name."
    )


def test_a_queue_name_is_free_again_after_the_hold(strict: Any) -> None:
    sqs, name = strict("sqs"), unique()
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName=name)["QueueUrl"])
    time.sleep(QUEUE_DELETED_HOLD_S + 0.2)

    assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith(f"/{name}")


def test_the_lenient_sandbox_reuses_a_deleted_queue_name_at_once(lenient: Any) -> None:
    sqs, name = lenient("sqs"), unique()
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName=name)["QueueUrl"])

    assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith(f"/{name}")
