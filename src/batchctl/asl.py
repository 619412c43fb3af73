"""Step Functions definitions (Amazon States Language) of a job's workflow, and the inputs that start it.

Imports: naming, specs (AwsDict), stdlib. DESIGN §4 is the contract: normalize the input, run each step as a
`batch:submitJob.sync` task with its own bounded Spot-reclaim loop, notify, then end in Succeed or Fail.

The inputs a workflow accepts; the first states turn each into the run `{body, time, source, id}` that every
step gets (Batch parameters and BATCHCTL_* variables), `time` always ISO-8601 UTC such as 2026-12-03T17:55:42Z:
- An array whose first item has `messageId` (what the job's pipe sends: SQS records, one per run): body = the
  record's `body`, time = when the run started (to the second), source `queue`, id = the record's `messageId`.
- An object with `source` "schedule" (EventBridge Scheduler, `scheduled_input`) or "cli" (`submit --direct`,
  `direct_input`): its `body`, `time` and `id` as they are (Scheduler writes second-precision UTC times, and
  `direct_input` drops a fraction of a second).
- An object with any other `source`, or an array that is not SQS records: the run fails with
  batchctl.UnknownInput and nothing runs.
- Anything else is a manual start, e.g. from the console or `aws stepfunctions start-execution`:
  `{"time": "2020-09-27T12:31:00Z"}`, `{"body": {"n": 30}}`, `{}`. Fields other than these two are ignored.
  - body: its `body`; a string as it is, any other JSON value JSON-encoded (States.JsonToString, compact:
    `{"n":30}`); "" without one.
  - time: its `time`, a string of ISO-8601 UTC with seconds (`*-*-*T*:*:*Z`, a fraction is dropped), or when the
    run started (to the second) without one. Any other `time` (another offset, no seconds, not a string) fails
    the run with batchctl.InvalidTime before anything runs.
  - source `manual`; id = the execution name (the run id).
  A JSON value with no fields (a bare string, a number, an empty array) counts as `{}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batchctl.handler import HANDLER_TIMEOUT_S as HANDLER_TIMEOUT_S  # re-exported: the workflow's constants
from batchctl.handler import LAMBDA_TRANSIENT_ERRORS as LAMBDA_TRANSIENT_ERRORS
from batchctl.handler import handler_task
from batchctl.naming import TAG_JOB, Names
from batchctl.specs import AwsDict

# What Batch reports as an attempt's statusReason when the capacity under a job is taken away, per compute type, as
# EvaluateOnExit onStatusReason patterns (at most 512 characters of letters, digits, spaces, "." and ":", with an
# optional "*" at the end only). The job definitions EXIT on these (no Batch retry) and the workflow resubmits the
# step on its own bounded counter (spot_retries), so a reclaim never uses up an application retry.
# - Fargate Spot: ECS stops the task with stoppedReason "Your Spot Task was interrupted.".
# - EC2 instances (Spot reclaims, and an on-demand instance lost under a job): "Host EC2 (instance i-…) terminated.".
# - Fargate on demand: nothing is reclaimed.
RECLAIM_REASONS: Mapping[str, tuple[str, ...]] = {
    "FARGATE_SPOT": ("Your Spot Task was interrupted*",),
    "SPOT": ("Host EC2*",),
    "EC2": ("Host EC2*",),
    "FARGATE": (),
}
NOTIFY_TIMEOUT_S = 60
BATCH_JOB_NAME_LIMIT = 128

# State names (at most 80 characters each; step states add the step name).
NORMALIZE = "Normalize input"
CHECK_SOURCE = "Check input source"
FROM_QUEUE = "From queue"
FROM_SCHEDULE = "From schedule"
FROM_CLI = "From CLI"
FROM_S3 = "From S3"
UNKNOWN_INPUT = "Unknown input"
MANUAL_BODY = "Check manual body"
MANUAL_NO_BODY = "Manual start without body"
MANUAL_TEXT_BODY = "Manual start with text body"
MANUAL_JSON_BODY = "Manual start with JSON body"
MANUAL_TIME = "Check manual time"
FROM_MANUAL = "From manual start"
FROM_MANUAL_AT = "From manual start at its time"
INVALID_TIME = "Invalid time"
SUCCESS_MESSAGE = "Build success message"
NOTIFY_SUCCESS = "Notify success"
SUCCESS_HANDLER = "Call success handler"
SUCCEEDED = "Succeeded"
FAILURE_MESSAGE = "Build failure message"
NOTIFY_FAILURE = "Notify failure"
FAILURE_HANDLER = "Call failure handler"
FAILED = "Failed"

UNKNOWN_INPUT_ERROR = "batchctl.UnknownInput"
INVALID_TIME_ERROR = "batchctl.InvalidTime"
RUN_ERROR_PREFIX = "batchctl."  # a failed run's execution error: "batchctl." + the caught error's name
# Input sources, as they appear in `$.run.source`, Batch's `source` parameter and BATCHCTL_SOURCE.
SOURCE_QUEUE = "queue"
SOURCE_SCHEDULE = "schedule"
SOURCE_CLI = "cli"
SOURCE_MANUAL = "manual"
SOURCE_S3 = "s3"  # an EventBridge rule's input transformer (s3_trigger_input): body = the object's s3:// URI
# A manual start's `time` must look like ISO-8601 UTC with seconds: 2020-09-27T12:31:00Z, fractions allowed.
MANUAL_TIME_PATTERN = "*-*-*T*:*:*Z"
_FRACTION_UTC = re.compile(r"(?<=T\d\d:\d\d:\d\d)\.\d+Z$")


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    """One container of a job: a Batch job definition run as one `.sync` task."""

    name: str  # step name ("main" for single-command jobs)
    job_definition_arn: str  # without revision: Batch runs the latest ACTIVE one
    array_size: int | None
    spot_retries: int  # resubmissions after a Spot reclaim


def reclaim_reasons(compute_type: str) -> tuple[str, ...]:
    """The statusReason patterns of a reclaim on `compute_type` (FARGATE, FARGATE_SPOT, EC2, SPOT)."""
    try:
        return RECLAIM_REASONS[compute_type]
    except KeyError:
        raise ValueError(f"unknown compute type {compute_type!r}") from None


def run_state_name(step: str) -> str:
    """Name of the task state that runs `step`."""
    return f"Run {step}"


def scheduled_input(*, job: str) -> str:
    """The input an EventBridge Scheduler target sends (a JSON string; Scheduler fills the `<aws.scheduler.*>`)."""
    # AWS-QUIRKS 37: Scheduler replaces these context attributes in the target input at each invocation.
    document = {
        "source": SOURCE_SCHEDULE,
        "job": job,
        "body": "",
        "time": "<aws.scheduler.scheduled-time>",
        "id": "<aws.scheduler.execution-id>",
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def direct_input(*, body: str, run_id: str, time: str) -> AwsDict:
    """The input `submit --direct` starts an execution with (`run_id` is also the execution name).

    `time` is ISO-8601 UTC (…Z); a fraction of a second is dropped, as a run's time has second precision.
    """
    return {"source": SOURCE_CLI, "body": body, "id": run_id, "time": _FRACTION_UTC.sub("Z", time)}


def job_workflow(
    *,
    names: Names,
    job: str,
    steps: Sequence[WorkflowStep],
    topic_arn: str | None,
    compute_type: str,
    on_success_lambda: str | None = None,
    on_failure_lambda: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> AwsDict:
    """The state machine definition of one job (DESIGN §4) on a compute environment of `compute_type`.
    `metadata` (project, stage, job, image, each step's command, vCPUs and memory) goes to the handlers as it is.

    The state after normalization is `{"run": {body, time, source, id}, "started_at": ISO-8601,
    "batch": {step key: {"JobId"}}, "spot": {step key: reclaims}}` (with a handler, `batch` keeps each step's whole
    DescribeJobs result); a caught error is kept at `$.error` ({"Error", "Cause"}), the notification payload at
    `$.notification`.
    """
    if not steps:
        raise ValueError(f"job {job!r} has no steps")
    if len({s.name for s in steps}) != len(steps):
        raise ValueError(f"job {job!r} has duplicate step names")
    keys = _step_keys([s.name for s in steps])
    reclaimed = _reclaim_rule(reclaim_reasons(compute_type))
    details = dict(metadata or {"project": names.project, "stage": names.stage, "job": job})
    failure_entry, failure_states = _notification_states(
        names=names,
        job=job,
        failed=True,
        topic_arn=topic_arn,
        handler=on_failure_lambda,
        end_state=FAILED,
        metadata=details,
    )
    # An error while notifying success is still an error of the run: it takes the failure path.
    success_entry, success_states = _notification_states(
        names=names,
        job=job,
        failed=False,
        topic_arn=topic_arn,
        handler=on_success_lambda,
        end_state=SUCCEEDED,
        error_state=failure_entry,
        metadata=details,
    )

    states: AwsDict = _normalize_states(keys=keys, next_state=run_state_name(steps[0].name))
    for index, step in enumerate(steps):
        following = run_state_name(steps[index + 1].name) if index + 1 < len(steps) else success_entry
        states |= _step_states(
            names=names,
            job=job,
            step=step,
            key=keys[index],
            all_keys=keys,
            reclaimed=reclaimed,
            next_state=following,
            failure_state=failure_entry,
            full_results=bool(on_success_lambda or on_failure_lambda),
        )
    states |= success_states
    states[SUCCEEDED] = {"Type": "Succeed"}
    states |= failure_states
    states[FAILED] = {
        "Type": "Fail",
        # The execution fails with the run's own error and cause, so `status` tells the truth. The error gets our
        # prefix: names starting "States." are reserved to the engine (moto's executor rejects them in a Fail
        # state). The cause stays as is (for a Batch step: the DescribeJobs JSON, with its statusReason).
        "ErrorPath": f"States.Format('{RUN_ERROR_PREFIX}{{}}', $.error.Error)",
        "CausePath": "$.error.Cause",
    }

    return {
        "Comment": f"batchctl {names.prefix}: job {job} ({len(steps)} step{'s' if len(steps) > 1 else ''})",
        "StartAt": NORMALIZE,
        "States": states,
    }


def _step_keys(step_names: Sequence[str]) -> list[str]:
    """JSONPath-safe, unique keys for the steps (`load-data` → `load_data`), in step order."""
    keys: list[str] = []
    for name in step_names:
        key = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not key[:1].isalpha():
            key = f"step_{key}"
        candidate, n = key, 2
        while candidate in keys:
            candidate, n = f"{key}_{n}", n + 1
        keys.append(candidate)
    return keys


def _seconds(path: str) -> str:
    """Intrinsic: the ISO-8601 UTC time at `path` with second precision (fraction and UTC offset dropped)."""
    # AWS writes context times as 2026-12-03T17:55:42.123Z, moto as 2026-12-03T17:55:42.123456+00:00 (or without
    # the fraction): both are UTC. StringSplit splits at each of the characters given and drops empty parts.
    return f"States.Format('{{}}Z', States.ArrayGetItem(States.StringSplit({path}, '.Z+'), 0))"


# When the run started: the normalizing state's entry. $$.Execution.StartTime would be the same within the
# milliseconds the first Choice takes, but moto's executor gives it as a datetime object, which no intrinsic takes
# and which breaks DescribeExecution once it reaches the state data.
_NOW = "$$.State.EnteredTime"


def _choice(*rules: tuple[str, str, object, str], default: str) -> AwsDict:
    """A Choice state from (variable, operator, value, next state) rules, tried in order, then `default`."""
    choices = [
        {"Variable": variable, operator: value, "Next": then} for variable, operator, value, then in rules
    ]
    return {"Type": "Choice", "Choices": choices, "Default": default}


def _normalized(run: AwsDict, keys: Sequence[str]) -> AwsDict:
    """Parameters of a normalizing Pass: replaces the whole input; later states read $.run, $.batch, $.spot."""
    return {"run": run, "started_at.$": _NOW, "batch": {}, "spot": dict.fromkeys(keys, 0)}


def _normalize_states(*, keys: Sequence[str], next_state: str) -> AwsDict:
    """Choice on the input's shape, then one Pass per shape, each giving the same normalized state."""

    def from_event(source: str) -> AwsDict:
        run = {"body.$": "$.body", "time.$": "$.time", "source": source, "id.$": "$.id"}
        return {"Type": "Pass", "Parameters": _normalized(run, keys), "Next": next_state}

    return {
        # Scheduler and `submit --direct` send an object with "source"; a pipe sends an array of SQS records,
        # which have a messageId. IsPresent is false (never an error) where a path does not apply, as `$[0]` on an
        # object. Any other array is unknown; anything else is a manual start.
        NORMALIZE: _choice(
            ("$.source", "IsPresent", True, CHECK_SOURCE),
            ("$[0].messageId", "IsPresent", True, FROM_QUEUE),
            ("$[0]", "IsPresent", True, UNKNOWN_INPUT),
            default=MANUAL_BODY,
        ),
        CHECK_SOURCE: _choice(
            ("$.source", "StringEquals", SOURCE_SCHEDULE, FROM_SCHEDULE),
            ("$.source", "StringEquals", SOURCE_CLI, FROM_CLI),
            ("$.source", "StringEquals", SOURCE_S3, FROM_S3),
            default=UNKNOWN_INPUT,
        ),
        # AWS-QUIRKS 27: a pipe delivers a JSON array of SQS records even with batch size 1. InputPath "$[0]"
        # then "$.body" yields the string on AWS and on moto ("$[0].body" yields a one-element list on moto).
        FROM_QUEUE: {
            "Type": "Pass",
            "InputPath": "$[0]",
            "Parameters": _normalized(
                {
                    "body.$": "$.body",
                    # When the run started. SentTimestamp is epoch milliseconds, which ASL cannot format.
                    "time.$": _seconds(_NOW),
                    "source": SOURCE_QUEUE,
                    "id.$": "$.messageId",
                },
                keys,
            ),
            "Next": next_state,
        },
        FROM_SCHEDULE: from_event(SOURCE_SCHEDULE),
        FROM_CLI: from_event(SOURCE_CLI),
        FROM_S3: from_event(SOURCE_S3),
        UNKNOWN_INPUT: {
            "Type": "Fail",
            "Error": UNKNOWN_INPUT_ERROR,
            "Cause": "The input is an object with a source other than schedule, cli or s3, or an array that is not "
            "SQS records.",
        },
        **_manual_states(keys=keys, next_state=next_state),
    }


def _manual_states(*, keys: Sequence[str], next_state: str) -> AwsDict:
    """A manual start (see the module docstring): body to a string, then time given (UTC) or the start."""

    def with_body(body: AwsDict) -> AwsDict:
        return {"Type": "Pass", "Parameters": {"input.$": "$", **body}, "Next": MANUAL_TIME}

    def from_manual(time: str) -> AwsDict:
        run = {
            "body.$": "$.body",
            "time.$": _seconds(time),
            "source": SOURCE_MANUAL,
            "id.$": "$$.Execution.Name",
        }
        return {"Type": "Pass", "Parameters": _normalized(run, keys), "Next": next_state}

    return {
        MANUAL_BODY: _choice(
            ("$.body", "IsPresent", False, MANUAL_NO_BODY),
            ("$.body", "IsString", True, MANUAL_TEXT_BODY),
            default=MANUAL_JSON_BODY,
        ),
        MANUAL_NO_BODY: with_body({"body": ""}),
        MANUAL_TEXT_BODY: with_body({"body.$": "$.body"}),
        MANUAL_JSON_BODY: with_body({"body.$": "States.JsonToString($.body)"}),
        # Type guard first: StringMatches on a number or null is not a plain no-match on every engine.
        MANUAL_TIME: _choice(
            ("$.input.time", "IsPresent", False, FROM_MANUAL),
            ("$.input.time", "IsString", False, INVALID_TIME),
            ("$.input.time", "StringMatches", MANUAL_TIME_PATTERN, FROM_MANUAL_AT),
            default=INVALID_TIME,
        ),
        FROM_MANUAL: from_manual(_NOW),
        FROM_MANUAL_AT: from_manual("$.input.time"),
        INVALID_TIME: {
            "Type": "Fail",
            "Error": INVALID_TIME_ERROR,
            "Cause": "A manual start's time must be ISO-8601 UTC with seconds, such as 2020-09-27T12:31:00Z.",
        },
    }


def _batch_job_name(names: Names, job: str, step: str) -> str:
    """A valid Batch job name: letters, digits, hyphens, underscores, at most 128, starting alphanumeric."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{names.job(job)}-{step}")
    return name[:BATCH_JOB_NAME_LIMIT]


def _reclaim_rule(reasons: Sequence[str]) -> AwsDict | None:
    """Choice rule: the failed job's Cause (its DescribeJobs JSON) reports one of `reasons` as a StatusReason."""
    # The key is part of the pattern, so the same words inside the run's own data (the body, an environment value:
    # JSON-escaped in the Cause, `\"`) never count. AWS writes the Cause as compact JSON; moto (the sandbox) with
    # a space after the colon.
    rules: list[AwsDict] = [
        {"Variable": "$.error.Cause", "StringMatches": f'*"StatusReason":{space}"{_match_escape(prefix)}*'}
        for reason in reasons
        for prefix in [reason.removesuffix("*")]
        for space in ("", " ")
    ]
    if not rules:
        return None
    return {"Or": rules}


def _match_escape(text: str) -> str:
    """Escape the characters StringMatches treats specially: * and \\."""
    return re.sub(r"([*\\])", r"\\\1", text)


def _job_definition_name(job_definition_arn: str) -> str:
    """The name in a job definition ARN without revision; SubmitJob then runs the latest ACTIVE revision."""
    # AWS takes a revision-less ARN too, but moto resolves only names and ARNs with a revision.
    return job_definition_arn.rsplit("/", 1)[-1]


def _step_states(
    *,
    names: Names,
    job: str,
    step: WorkflowStep,
    key: str,
    all_keys: Sequence[str],
    reclaimed: AwsDict | None,
    next_state: str,
    failure_state: str,
    full_results: bool = False,
) -> AwsDict:
    """The task running one step, plus (when spot_retries > 0 and reclaims exist) its reclaim check and counter."""
    run = run_state_name(step.name)
    check = f"Check {step.name} reclaim"
    count = f"Count {step.name} reclaim"
    parameters: AwsDict = {
        "JobName": _batch_job_name(names, job, step.name),
        "JobQueue": names.job_queue_arn,
        "JobDefinition": _job_definition_name(step.job_definition_arn),
        # Batch parameters: `Ref::body`, `Ref::time`... in the command (the job definition declares defaults).
        "Parameters": {
            "body.$": "$.run.body",
            "time.$": "$.run.time",
            "source.$": "$.run.source",
            "id.$": "$.run.id",
        },
        "ContainerOverrides": {
            "Environment": [
                {"Name": "BATCHCTL_BODY", "Value.$": "$.run.body"},
                {"Name": "BATCHCTL_TIME", "Value.$": "$.run.time"},
                {"Name": "BATCHCTL_SOURCE", "Value.$": "$.run.source"},
                {"Name": "BATCHCTL_RUN_ID", "Value.$": "$$.Execution.Name"},
            ]
        },
    }
    # The Batch job carries the stage's tags and its job's, and hands them (with its definition's) to its ECS task,
    # so Cost Explorer can split the bill by job.
    parameters["Tags"] = names.tags({TAG_JOB: job})
    parameters["PropagateTags"] = True
    if step.array_size:
        parameters["ArrayProperties"] = {"Size": step.array_size}
    # The DescribeJobs result is large: only a job with handlers keeps it whole (handler.py), others the job id.
    selector = {} if full_results else {"ResultSelector": {"JobId.$": "$.JobId"}}
    loop = reclaimed is not None and step.spot_retries > 0
    catches: list[AwsDict] = []
    if loop:
        catches.append({"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": check})
    catches.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failure_state})
    states: AwsDict = {
        run: {
            "Type": "Task",
            "Resource": f"arn:{names.ctx.partition}:states:::batch:submitJob.sync",
            "Parameters": parameters,
            # No TimeoutSeconds: the task waits as long as Batch works on the job, and Batch bounds that itself.
            # Each attempt RUNNING ends at the job definition's timeout (timeout_s). How long the job waits before
            # it runs has no bound we could derive: array children run in waves when array_size × vcpus exceeds
            # max_vcpus, other runs share the compute environment, Spot capacity comes and goes. The job queue's
            # RUNNABLE time limit cancels only a job AWS says can never be placed, with one of the reasons
            # CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY, MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE,
            # MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT; a job merely waiting for busy capacity keeps waiting, and
            # so does this task. Any TimeoutSeconds would fail (and terminate) runs that Batch would finish.
            **selector,
            "ResultPath": f"$.batch.{key}",
            "Catch": catches,
            "Next": next_state,
        }
    }
    if loop:
        states[check] = {
            "Type": "Choice",
            "Choices": [
                # Guard first: a comparison on a missing path is a runtime error in a Choice, which has no Catch.
                {"Variable": "$.error.Cause", "IsPresent": False, "Next": failure_state},
                {
                    "And": [
                        reclaimed,
                        {"Variable": f"$.spot.{key}", "NumericLessThan": step.spot_retries},
                    ],
                    "Next": count,
                },
            ],
            "Default": failure_state,
        }
        states[count] = {
            "Type": "Pass",
            "Parameters": {
                f"{k}.$": (f"States.MathAdd($.spot.{k}, 1)" if k == key else f"$.spot.{k}") for k in all_keys
            },
            "ResultPath": "$.spot",
            "Next": run,
        }
    return states


def _format_escape(text: str) -> str:
    """Escape the characters States.Format treats specially in its template: ' { } \\."""
    return re.sub(r"(['{}\\])", r"\\\1", text)


def _message_state(*, names: Names, job: str, failed: bool, next_state: str) -> AwsDict:
    """Pass state building the notification payload (DESIGN §4) at $.notification."""
    message = _message(names=names, job=job, failed=failed)
    return {"Type": "Pass", "Parameters": message, "ResultPath": "$.notification", "Next": next_state}


def _message(*, names: Names, job: str, failed: bool) -> AwsDict:
    """The notification's fields, as Parameters (paths into the state and the context object)."""
    marker = "\x00"
    url_template = _format_escape(names.console_execution_url(marker)).replace(marker, "{}")
    log_group = names.log_group(job)
    message: AwsDict = {
        "version": 1,
        "project": names.project,
        "stage": names.stage,
        "job": job,
        "status": "FAILED" if failed else "SUCCEEDED",
        "run_id.$": "$$.Execution.Name",
        "execution_arn.$": "$$.Execution.Id",
        "source.$": "$.run.source",
        "input_id.$": "$.run.id",
        "input_time.$": "$.run.time",
        # Duration is finished_at - started_at: ASL has no date arithmetic.
        "started_at.$": "$.started_at",
        "finished_at.$": "$$.State.EnteredTime",
        "batch_jobs.$": "$.batch",
        "execution_url.$": f"States.Format('{url_template}', $$.Execution.Id)",
        "log_group": log_group,
        "log_group_url": names.console_log_group_url(log_group),
    }
    if failed:
        message |= {"error.$": "$.error.Error", "cause.$": "$.error.Cause"}
    return message


def _catch_all(next_state: str, *, result_path: str) -> list[AwsDict]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": next_state}]


def _notification_states(
    *,
    names: Names,
    job: str,
    failed: bool,
    topic_arn: str | None,
    handler: str | None,
    end_state: str,
    error_state: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[str, AwsDict]:
    """Message → SNS publish → Lambda handler → `end_state`, each only if configured; returns (entry, states).

    A notification error goes to `error_state` (with the error at $.error) when given; otherwise it is recorded
    at $.notify_error and skipped, so the run still ends as it would have.
    """
    partition = names.ctx.partition
    message, notify, call = (
        (FAILURE_MESSAGE, NOTIFY_FAILURE, FAILURE_HANDLER)
        if failed
        else (SUCCESS_MESSAGE, NOTIFY_SUCCESS, SUCCESS_HANDLER)
    )
    tasks: list[tuple[str, AwsDict]] = []
    if topic_arn:
        tasks.append((notify, _notify_task(partition=partition, topic_arn=topic_arn)))
    if handler:
        fields = _message(names=names, job=job, failed=failed)
        tasks.append(
            (call, handler_task(partition=partition, function=handler, message=fields, metadata=metadata))
        )
    if not tasks:
        return end_state, {}
    chain = [name for name, _ in tasks] + [end_state]
    states: AwsDict = {message: _message_state(names=names, job=job, failed=failed, next_state=chain[0])}
    for (name, task), following in zip(tasks, chain[1:], strict=True):
        catch = (
            _catch_all(error_state, result_path="$.error")
            if error_state
            else _catch_all(following, result_path="$.notify_error")
        )
        states[name] = task | {"Catch": catch, "Next": following}
    return message, states


def _notify_task(*, partition: str, topic_arn: str) -> AwsDict:
    """SNS publish of $.notification (as JSON); the result is dropped (ResultPath null)."""
    return {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::sns:publish",
        # The integration serializes an object Message to JSON, as States.JsonToString would.
        "Parameters": {"TopicArn": topic_arn, "Message.$": "$.notification"},
        "ResultPath": None,
        "TimeoutSeconds": NOTIFY_TIMEOUT_S,
        # Publishing twice is better than losing the message of a finished run.
        "Retry": [
            {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}
        ],
    }
