"""Body limits checked before anything is sent (SQS message, Step Functions input, Batch SubmitJob and container
overrides) and .jsonl parsing into messages. Pure: imports asl, errors and stdlib only, never boto3."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from batchctl import asl
from batchctl.errors import RunError

__all__ = [
    "CONTAINER_OVERRIDES_LIMIT_CHARS",
    "EXECUTION_NAME_LIMIT",
    "LARGE_BODY_HINT",
    "SQS_MESSAGE_LIMIT_BYTES",
    "STEP_FUNCTIONS_INPUT_LIMIT_BYTES",
    "SUBMIT_JOB_LIMIT_BYTES",
    "BodySizes",
    "Message",
    "body_problems",
    "check_body",
    "measure_body",
    "parse_jsonl",
]

# DESIGN §4: checked before anything is sent.
SQS_MESSAGE_LIMIT_BYTES = 262_144
STEP_FUNCTIONS_INPUT_LIMIT_BYTES = 262_144
SUBMIT_JOB_LIMIT_BYTES = 30 * 1024
CONTAINER_OVERRIDES_LIMIT_CHARS = 8_192
EXECUTION_NAME_LIMIT = 80
LARGE_BODY_HINT = "put large payloads in S3 and send their s3:// URI as the body"

# The widest values a run can carry, for size estimates: ISO-8601 times, execution names (80), Batch names (128).
_WIDE_TIME = "2000-01-01T00:00:00.000000+00:00"
_WIDE_RUN_ID = "r" * EXECUTION_NAME_LIMIT
_WIDE_NAME = "n" * 128
_WIDE_ARN = "a" * 256
_WIDE_UUID = "00000000-0000-0000-0000-000000000000"
# SQS accepts only these characters (the XML 1.0 set); anything else is refused with InvalidMessageContents.
_SQS_INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class Message:
    """One body to send; `line` is its line in a .jsonl file (1 for a single body)."""

    body: str
    line: int = 1


@dataclass(frozen=True, slots=True)
class BodySizes:
    """How large one body makes each request it travels in (estimates on the large side)."""

    sqs_message_bytes: int
    workflow_input_bytes: int
    submit_job_bytes: int
    container_overrides_chars: int


def _run_parameters(body: str) -> dict[str, str]:
    return {"body": body, "time": _WIDE_TIME, "source": asl.SOURCE_SCHEDULE, "id": _WIDE_RUN_ID}


def _our_environment(body: str) -> list[dict[str, str]]:
    # What the workflow's ContainerOverrides set (asl._step_states), plus the variable the .sync integration adds.
    return [
        {"name": "BATCHCTL_BODY", "value": body},
        {"name": "BATCHCTL_TIME", "value": _WIDE_TIME},
        {"name": "BATCHCTL_SOURCE", "value": asl.SOURCE_SCHEDULE},
        {"name": "BATCHCTL_RUN_ID", "value": _WIDE_RUN_ID},
        {"name": "MANAGED_BY_AWS", "value": "STARTED_BY_STEP_FUNCTIONS"},
    ]


def _batch_environment() -> list[dict[str, str]]:
    # Batch adds these to every container (array children get ":<index>" on the job id).
    return [
        {"name": "AWS_BATCH_JOB_ID", "value": _WIDE_UUID + ":9999"},
        {"name": "AWS_BATCH_JQ_NAME", "value": _WIDE_NAME},
        {"name": "AWS_BATCH_CE_NAME", "value": _WIDE_NAME},
        {"name": "AWS_BATCH_JOB_ATTEMPT", "value": "10"},
        {"name": "AWS_BATCH_JOB_ARRAY_INDEX", "value": "9999"},
        {"name": "AWS_BATCH_JOB_ARRAY_SIZE", "value": "10000"},
    ]


def _pipe_record(body: str) -> dict[str, Any]:
    """An SQS record as a pipe hands it to the workflow (AWS-QUIRKS 27), with wide placeholder values."""
    return {
        "messageId": _WIDE_UUID,
        "receiptHandle": "h" * 1024,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1000",
            "SentTimestamp": "1" * 13,
            "SenderId": _WIDE_NAME,
            "ApproximateFirstReceiveTimestamp": "1" * 13,
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": _WIDE_ARN,
        "awsRegion": "ap-southeast-5",
    }


def _substitute(command: Sequence[str], body: str) -> list[str]:
    """The command as Batch runs it, with every Ref:: placeholder replaced by the widest value it can take."""
    values = _run_parameters(body)
    substituted = []
    for argument in command:
        for name, value in values.items():
            argument = argument.replace(f"Ref::{name}", value)
        substituted.append(argument)
    return substituted


def measure_body(body: str, *, commands: Sequence[Sequence[str]] = (), via_queue: bool = True) -> BodySizes:
    """Estimate the size of every request `body` travels in; `commands` are the job's step commands."""
    workflow_input: object = (
        [_pipe_record(body)]
        if via_queue
        else asl.direct_input(body=body, run_id=_WIDE_RUN_ID, time=_WIDE_TIME)
    )
    submit_job = {
        "jobName": _WIDE_NAME,
        "jobQueue": _WIDE_ARN,
        "jobDefinition": _WIDE_ARN,
        "parameters": _run_parameters(body),
        "containerOverrides": {"environment": _our_environment(body)},
        "arrayProperties": {"size": 10000},
    }
    # Without the job's commands, assume one Ref::body in the command, as in jobs.yaml's examples.
    worst_overrides = 0
    for command in commands or (("Ref::body",),):
        overrides = {
            "containerOverrides": [
                {
                    "name": "default",
                    "command": _substitute(command, body),
                    "environment": _our_environment(body) + _batch_environment(),
                }
            ]
        }
        worst_overrides = max(worst_overrides, len(_dumps(overrides)))
    return BodySizes(
        sqs_message_bytes=len(body.encode()),
        workflow_input_bytes=len(_dumps(workflow_input).encode()),
        submit_job_bytes=len(_dumps(submit_job).encode()),
        container_overrides_chars=worst_overrides,
    )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def body_problems(body: str, *, commands: Sequence[Sequence[str]] = (), via_queue: bool = True) -> list[str]:
    """Every limit `body` breaks, each naming the limit; empty when it fits."""
    problems: list[str] = []
    if via_queue:
        if not body:
            problems.append("an SQS message cannot be empty")
        bad = _SQS_INVALID_CHARACTER.search(body)
        if bad:
            problems.append(
                f"SQS does not accept the character U+{ord(bad.group()):04X} (at offset {bad.start()})"
            )
    sizes = measure_body(body, commands=commands, via_queue=via_queue)
    if via_queue and sizes.sqs_message_bytes > SQS_MESSAGE_LIMIT_BYTES:
        problems.append(
            f"an SQS message holds at most {SQS_MESSAGE_LIMIT_BYTES:,} bytes (256 KiB); "
            f"this one has {sizes.sqs_message_bytes:,}"
        )
    if sizes.workflow_input_bytes > STEP_FUNCTIONS_INPUT_LIMIT_BYTES:
        problems.append(
            f"a Step Functions execution input holds at most {STEP_FUNCTIONS_INPUT_LIMIT_BYTES:,} bytes (256 KiB); "
            f"this run's would have about {sizes.workflow_input_bytes:,}"
        )
    if sizes.submit_job_bytes > SUBMIT_JOB_LIMIT_BYTES:
        problems.append(
            f"a Batch SubmitJob request holds at most {SUBMIT_JOB_LIMIT_BYTES:,} bytes (30 KiB); "
            f"this run's would have about {sizes.submit_job_bytes:,}"
        )
    if sizes.container_overrides_chars > CONTAINER_OVERRIDES_LIMIT_CHARS:
        problems.append(
            f"Batch container overrides hold at most {CONTAINER_OVERRIDES_LIMIT_CHARS:,} characters in all; "
            f"this run's would have about {sizes.container_overrides_chars:,} (the body travels as BATCHCTL_BODY "
            "and in every Ref::body of the command)"
        )
    return problems


def check_body(
    body: str, *, commands: Sequence[Sequence[str]] = (), via_queue: bool = True, where: str = "the body"
) -> None:
    """Raise RunError naming each limit `body` breaks (SQS message, Step Functions input, SubmitJob, overrides),
    with a hint for what it breaks: S3 for a large body, something else for an empty one or a refused character."""
    problems = body_problems(body, commands=commands, via_queue=via_queue)
    if problems:
        raise RunError(
            f"{where} cannot be sent: " + "; ".join(problems), hint=_hint(body, problems, via_queue)
        )


def _hint(body: str, problems: list[str], via_queue: bool) -> str:
    hints = []
    if via_queue and not body:
        hints.append("a queue message needs at least one character: send {} for no input, or use --direct")
    if via_queue and _SQS_INVALID_CHARACTER.search(body):
        hints.append(
            "escape control characters (JSON writes U+0001 as \\u0001) or send the body base64-encoded; "
            "--direct skips the queue"
        )
    if len(problems) > len(hints):  # the rest are sizes
        hints.append(LARGE_BODY_HINT)
    return "; ".join(hints)


def parse_jsonl(text: str, *, source: str) -> list[Message]:
    """One message per non-blank line; any line that is not JSON is a RunError naming it (nothing is sent)."""
    messages: list[Message] = []
    # Split on "\n" only: str.splitlines() also splits on U+2028, which JSON allows inside strings.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunError(
                f"{source}:{number}: not valid JSON ({exc.msg} at column {exc.colno}); nothing was sent",
                hint="every line of a .jsonl file must be one JSON document",
            ) from None
        messages.append(Message(body=line, line=number))
    if not messages:
        raise RunError(f"{source}: no messages (the file has no non-blank line); nothing was sent")
    return messages
