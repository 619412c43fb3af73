"""The Lambda handler task of a job's workflow (asl.py): the event a success or failure handler gets, and how the
call is retried. Pure: builds ASL as dicts. Imports: specs (AwsDict), stdlib.

The event is what the hand-written workflows batchctl replaces passed their handlers, `{state, context}`, plus the
notification's own fields at the top (what handlers got before):
- `state`: the whole run state: `run` (the input, normalized: body, time, source, id), `started_at`, `batch` (each
  step's DescribeJobs result: JobId, status, attempts, container with exit code and log stream), `spot`, and on
  failure `error` (`Error`, `Cause`; a Batch step's Cause is its DescribeJobs result as JSON), `notification`.
- `context`: the execution (Id, Name, RoleArn), the state machine (Id, Name) and the state (Name, EnteredTime,
  RetryCount) of the context object.
- `metadata`: project, stage, job, image and each step's command, vCPUs and memory, as deployed.

A task's input is at most 256 KiB (Step Functions quota), and this event is the handler task's input. To stay under
it, no log output is passed (the log stream names are in the results), nor the context's Execution.Input (the input
is in `state.run`); a Spot resubmission replaces its step's result. What remains grows with the body, which Batch's
container overrides limit to 8,192 characters: each step adds about three copies of it (its parameters, environment
and command) and 4 KiB, a failure one more in its Cause. README's "The workflow of each job" says how many steps fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchctl.specs import AwsDict

__all__ = [
    "HANDLER_RETRY_ATTEMPTS",
    "HANDLER_RETRY_BACKOFF",
    "HANDLER_RETRY_INTERVAL_S",
    "HANDLER_TIMEOUT_S",
    "LAMBDA_TRANSIENT_ERRORS",
    "handler_payload",
    "handler_task",
]

HANDLER_TIMEOUT_S = 900  # Lambda's own maximum run time
# Errors AWS recommends retrying for the Lambda integration: the service's, never the function's own.
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# As the hand-written workflows did: 6 attempts, 2 s apart, doubling.
HANDLER_RETRY_ATTEMPTS = 6
HANDLER_RETRY_INTERVAL_S = 2
HANDLER_RETRY_BACKOFF = 2.0

_CONTEXT_FIELDS = (
    ("Execution", ("Id", "Name", "RoleArn")),
    ("StateMachine", ("Id", "Name")),
    ("State", ("Name", "EnteredTime", "RetryCount")),
)


def handler_payload(*, message: AwsDict, metadata: Mapping[str, Any] | None) -> AwsDict:
    """The handler's event as Parameters: `message` (the notification's fields), `state`, `context`, `metadata`."""
    context = {
        part: {f"{field}.$": f"$$.{part}.{field}" for field in fields} for part, fields in _CONTEXT_FIELDS
    }
    return message | {"state.$": "$", "context": context, "metadata": dict(metadata or {})}


def handler_task(
    *, partition: str, function: str, message: AwsDict, metadata: Mapping[str, Any] | None
) -> AwsDict:
    """Lambda invoke of `function` with the handler's event, retried on the service's errors; the result is
    dropped (ResultPath null)."""
    return {
        "Type": "Task",
        "Resource": f"arn:{partition}:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": function,
            "Payload": handler_payload(message=message, metadata=metadata),
        },
        "ResultPath": None,
        "TimeoutSeconds": HANDLER_TIMEOUT_S,
        "Retry": [
            {
                "ErrorEquals": list(LAMBDA_TRANSIENT_ERRORS),
                "IntervalSeconds": HANDLER_RETRY_INTERVAL_S,
                "MaxAttempts": HANDLER_RETRY_ATTEMPTS,
                "BackoffRate": HANDLER_RETRY_BACKOFF,
            }
        ],
    }
