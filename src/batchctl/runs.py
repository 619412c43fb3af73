"""Operating deployed jobs: submit bodies (through the queue or straight to the workflow), find, follow, list and
retry runs (a run is one execution; its id is the execution name), explain a Batch job stuck in RUNNABLE, pause or
resume a schedule. Imports: naming, aws, errors, config, asl, stdlib."""

from __future__ import annotations

import difflib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from batchctl import asl
from batchctl.aws import Aws, AwsDict
from batchctl.config import JobsFile, resolve_steps
from batchctl.errors import AwsAuthError, AwsError, RunError
from batchctl.naming import Names

__all__ = [
    "CONTAINER_OVERRIDES_LIMIT_CHARS",
    "SQS_MESSAGE_LIMIT_BYTES",
    "STEP_FUNCTIONS_INPUT_LIMIT_BYTES",
    "SUBMIT_JOB_LIMIT_BYTES",
    "BatchJob",
    "BodySizes",
    "ComputeEnvironmentView",
    "Execution",
    "JobInfo",
    "Message",
    "RetryResult",
    "RunStatus",
    "RunSummary",
    "RunUpdate",
    "ScheduleState",
    "SendFailure",
    "SentMessage",
    "SubmitResult",
    "batch_jobs_from_history",
    "body_problems",
    "check_body",
    "describe_batch_jobs",
    "explain_stuck",
    "find_execution_for_message",
    "find_job",
    "follow",
    "iso_utc",
    "list_runs",
    "locate_run",
    "measure_body",
    "new_run_id",
    "parse_jsonl",
    "queue_url",
    "retry_name",
    "retry_run",
    "run_log_streams",
    "set_schedule_state",
    "source_of_input",
    "start_direct",
    "stuck_reason",
    "submit_queue",
    "summarize_cause",
]

log = logging.getLogger(__name__)

# ---- limits (DESIGN §4): checked before anything is sent ------------------------------------------------------
SQS_MESSAGE_LIMIT_BYTES = 262_144
STEP_FUNCTIONS_INPUT_LIMIT_BYTES = 262_144
SUBMIT_JOB_LIMIT_BYTES = 30 * 1024
CONTAINER_OVERRIDES_LIMIT_CHARS = 8_192
LARGE_BODY_HINT = "put large payloads in S3 and send their s3:// URI as the body"

SQS_BATCH_ENTRIES = 10
SQS_BATCH_LIMIT_BYTES = 262_144  # SendMessageBatch: the sum of the messages, like one message
SEND_ATTEMPTS = 5
SEND_BACKOFF_S = 0.2
MAX_PARALLEL_CALLS = 16
# SendMessageBatch calls in flight: 10,000 lines are 1,000 calls, about 3 s at 80 ms each (DESIGN §7 asks ≤ 5 s);
# botocore's pool (aws.RETRY_CONFIG) keeps 64 connections.
SEND_PARALLELISM = 32
DESCRIBE_JOBS_CHUNK = 100  # DescribeJobs takes at most 100 ids
EXECUTION_NAME_LIMIT = 80
STUCK_AFTER = timedelta(minutes=3)

RUNNING_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
QUEUE_MISSING_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
EXECUTION_MISSING_CODES = frozenset({"ExecutionDoesNotExist", "StateMachineDoesNotExist", "InvalidArn"})
BATCH_TASK = "submitJob"

# The widest values a run can carry, for size estimates: ISO-8601 times, execution names (80), Batch names (128).
_WIDE_TIME = "2000-01-01T00:00:00.000000+00:00"
_WIDE_RUN_ID = "r" * EXECUTION_NAME_LIMIT
_WIDE_NAME = "n" * 128
_WIDE_ARN = "a" * 256
_WIDE_UUID = "00000000-0000-0000-0000-000000000000"
# SQS accepts only these characters (the XML 1.0 set); anything else is refused with InvalidMessageContents.
_SQS_INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RETRY_SUFFIX = re.compile(r"-r\d+$")
_RUN_STATE_PREFIX = asl.run_state_name("")


# ---- jobs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What the run commands need to know about one job of jobs.yaml."""

    name: str
    has_queue: bool = False
    has_schedule: bool = False
    steps: tuple[str, ...] = ("main",)
    commands: tuple[tuple[str, ...], ...] = ()
    multi_step: bool = False  # step names are part of the job definition names

    def job_definitions(self, names: Names) -> dict[str, str]:
        """Job definition name of each step."""
        return {
            step: names.job_definition(self.name, step if self.multi_step else None) for step in self.steps
        }


def find_job(cfg: JobsFile, name: str) -> JobInfo:
    """The job called `name`; an unknown name is a RunError listing the known ones."""
    job = cfg.jobs.get(name)
    if job is None:
        known = sorted(cfg.jobs)
        close = difflib.get_close_matches(name, known, n=1)
        raise RunError(
            f"no job named {name!r} in {cfg.project}/{cfg.stage}; its jobs are: {', '.join(known)}",
            hint=f"did you mean {close[0]!r}?"
            if close
            else "job names are the keys under `jobs:` in jobs.yaml",
        )
    steps = resolve_steps(cfg, name)
    return JobInfo(
        name=name,
        has_queue=job.queue is not None,
        has_schedule=job.schedule is not None,
        steps=tuple(step.name for step in steps),
        commands=tuple(tuple(step.command) for step in steps),
        multi_step=job.steps is not None,
    )


# ---- body limits (pure) -------------------------------------------------------------------------------------------


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


def _pipe_record(body: str) -> AwsDict:
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
    """Raise RunError naming each limit `body` breaks (SQS message, Step Functions input, SubmitJob, overrides)."""
    problems = body_problems(body, commands=commands, via_queue=via_queue)
    if problems:
        raise RunError(f"{where} cannot be sent: " + "; ".join(problems), hint=LARGE_BODY_HINT)


# ---- submitting ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One body to send; `line` is its line in a .jsonl file (1 for a single body)."""

    body: str
    line: int = 1


@dataclass(frozen=True, slots=True)
class SentMessage:
    line: int
    message_id: str


@dataclass(frozen=True, slots=True)
class SendFailure:
    line: int
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """Every message accounted for: sent (with its SQS message id) or failed (with the reason)."""

    sent: tuple[SentMessage, ...]
    failed: tuple[SendFailure, ...]

    @property
    def message_ids(self) -> tuple[str, ...]:
        return tuple(s.message_id for s in self.sent)


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


def _require_queue(job: JobInfo) -> None:
    if not job.has_queue:
        how = "it runs on its schedule" if job.has_schedule else "it has no queue"
        raise RunError(
            f"job {job.name!r} has no queue: {how}",
            hint=f"start it directly with `batchctl submit {job.name} --direct --body ...`, "
            "or add `queue: {}` to the job in jobs.yaml and deploy",
        )


def queue_url(aws: Aws, names: Names, job: JobInfo) -> str:
    """URL of the job's SQS queue; a missing queue means the job is not deployed."""
    _require_queue(job)
    name = names.queue(job.name)
    try:
        answer = aws.call("sqs", "get_queue_url", key=name, QueueName=name)
    except AwsError as exc:
        # AWS-QUIRKS 29: SQS answers with the legacy query code or the modeled one; accept both.
        if exc.code in QUEUE_MISSING_CODES:
            raise RunError(
                f"the queue of job {job.name!r} ({name}) does not exist", hint="run `batchctl deploy` first"
            ) from exc
        raise
    return str(answer["QueueUrl"])


def _batches(messages: Sequence[Message]) -> Iterator[list[Message]]:
    """Groups of at most 10 messages and 256 KiB in all (SendMessageBatch's limits)."""
    batch: list[Message] = []
    size = 0
    for message in messages:
        length = len(message.body.encode())
        if batch and (len(batch) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_LIMIT_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += length
    if batch:
        yield batch


def _send_batch(
    aws: Aws, url: str, batch: Sequence[Message], *, attempts: int
) -> tuple[list[SentMessage], list[SendFailure]]:
    """Send one batch; entries the call reports in `Failed` (and not the sender's fault) are sent again."""
    sent: list[SentMessage] = []
    failed: list[SendFailure] = []
    pending = {str(index): message for index, message in enumerate(batch)}
    delay = SEND_BACKOFF_S
    for attempt in range(1, attempts + 1):
        entries = [{"Id": entry_id, "MessageBody": m.body} for entry_id, m in pending.items()]
        try:
            answer = aws.call("sqs", "send_message_batch", key=url, QueueUrl=url, Entries=entries)
        except AwsAuthError:
            raise
        except AwsError as exc:
            # botocore already retried throttling and 5xx answers: these entries are not sent.
            failed.extend(SendFailure(m.line, exc.code or "Error", exc.message) for m in pending.values())
            return sent, failed
        for ok in answer.get("Successful", []):
            message = pending.pop(str(ok["Id"]))
            sent.append(SentMessage(message.line, str(ok["MessageId"])))
        for bad in answer.get("Failed", []):
            message = pending[str(bad["Id"])]
            if bad.get("SenderFault") or attempt == attempts:
                del pending[str(bad["Id"])]
                failed.append(
                    SendFailure(message.line, str(bad.get("Code", "")), str(bad.get("Message", "")))
                )
        # Whatever is left was reported failed by the service (or not reported at all): send it again.
        if not pending:
            break
        if attempt == attempts:
            failed.extend(
                SendFailure(m.line, "NotReported", "SQS did not report this entry") for m in pending.values()
            )
            break
        log.debug("resending %d of %d entries after %.1fs", len(pending), len(batch), delay)
        aws.sleep(delay)
        delay *= 2
    return sent, failed


def submit_queue(
    aws: Aws,
    names: Names,
    *,
    job: JobInfo,
    messages: Sequence[Message],
    parallelism: int = SEND_PARALLELISM,
    attempts: int = SEND_ATTEMPTS,
    source: str = "the body",
) -> SubmitResult:
    """Send messages to the job's queue: one → SendMessage; more → SendMessageBatch, 10 a call, calls in parallel.

    Every body is checked against the limits before anything is sent; nothing is lost silently: each message is
    either in `sent` or in `failed`.
    """
    _require_queue(job)
    if not messages:
        raise RunError("nothing to send")
    for message in messages:
        where = source if len(messages) == 1 else f"{source}:{message.line}"
        check_body(message.body, commands=job.commands, via_queue=True, where=where)
    url = queue_url(aws, names, job)
    if len(messages) == 1:
        (message,) = messages
        answer = aws.call("sqs", "send_message", key=url, QueueUrl=url, MessageBody=message.body)
        return SubmitResult(sent=(SentMessage(message.line, str(answer["MessageId"])),), failed=())

    batches = list(_batches(messages))
    if len(batches) == 1:
        outcomes = [_send_batch(aws, url, batches[0], attempts=attempts)]
    else:
        with ThreadPoolExecutor(max_workers=min(parallelism, len(batches))) as pool:
            outcomes = list(pool.map(lambda batch: _send_batch(aws, url, batch, attempts=attempts), batches))
    sent = sorted((s for ok, _ in outcomes for s in ok), key=lambda s: s.line)
    failed = sorted((f for _, bad in outcomes for f in bad), key=lambda f: f.line)
    return SubmitResult(sent=tuple(sent), failed=tuple(failed))


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as Step Functions writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(now: datetime) -> str:
    """A run id for `submit --direct`: sortable by time, unique, a valid execution name."""
    return f"cli-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _start_execution(aws: Aws, names: Names, *, job: str, name: str, input_text: str) -> AwsDict:
    arn = names.state_machine_arn(job)
    try:
        # Always pass a name: it is the run id (and moto names an unnamed execution "None").
        return aws.call(
            "stepfunctions", "start_execution", key=arn, stateMachineArn=arn, name=name, input=input_text
        )
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            raise RunError(
                f"the workflow of job {job!r} ({names.state_machine(job)}) does not exist",
                hint="run `batchctl deploy` first",
            ) from exc
        raise


def start_direct(aws: Aws, names: Names, *, job: JobInfo, body: str, now: datetime | None = None) -> str:
    """Start the job's workflow with `body` (the `submit --direct` input); returns the run id."""
    check_body(body, commands=job.commands, via_queue=False)
    moment = now or datetime.now(UTC)
    run_id = new_run_id(moment)
    payload = asl.direct_input(body=body, run_id=run_id, time=iso_utc(moment))
    _start_execution(aws, names, job=job.name, name=run_id, input_text=json.dumps(payload))
    return run_id


# ---- executions ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Execution:
    """One Step Functions execution of a job's workflow: a run."""

    job: str
    run_id: str
    arn: str
    status: str
    started: datetime
    stopped: datetime | None
    input_text: str | None
    error: str | None
    cause: str | None
    redrivable: bool


def _describe_execution(aws: Aws, arn: str, *, job: str) -> Execution:
    answer = aws.call("stepfunctions", "describe_execution", key=arn, executionArn=arn)
    return Execution(
        job=job,
        run_id=str(answer["name"]),
        arn=arn,
        status=str(answer["status"]),
        started=answer["startDate"],
        stopped=answer.get("stopDate"),
        input_text=answer.get("input"),
        error=answer.get("error"),
        cause=answer.get("cause"),
        # AWS says whether RedriveExecution would work; moto does not say (and lacks the call).
        redrivable=answer.get("redriveStatus") == "REDRIVABLE",
    )


def source_of_input(input_text: str | None) -> str:
    """Who started a run, from its input: a pipe sends an array of SQS records; the others say `source`."""
    if input_text is None:
        return "unknown"
    try:
        document = json.loads(input_text)
    except json.JSONDecodeError:
        return "unknown"
    if isinstance(document, list):
        return asl.SOURCE_QUEUE
    if isinstance(document, dict) and isinstance(document.get("source"), str):
        return str(document["source"])
    return "unknown"


def _carries_message(input_text: str | None, message_id: str) -> bool:
    try:
        document = json.loads(input_text or "null")
    except json.JSONDecodeError:
        return False
    return isinstance(document, list) and any(
        isinstance(record, dict) and record.get("messageId") == message_id for record in document
    )


def _recent_executions(aws: Aws, arn: str, *, job: str, since: datetime) -> Iterator[AwsDict]:
    """Executions of the machine started at or after `since`, newest first."""
    try:
        for page in aws.pages("stepfunctions", "list_executions", key=arn, stateMachineArn=arn):
            for item in page.get("executions", []):
                if item["startDate"] < since:
                    return
                yield item
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            raise RunError(
                f"the workflow of job {job!r} does not exist", hint="run `batchctl deploy` first"
            ) from exc
        raise


def find_execution_for_message(
    aws: Aws,
    names: Names,
    *,
    job: str,
    message_id: str,
    sent_at: datetime,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
) -> str:
    """The run the job's pipe started for the SQS message `message_id` (its id is in the input); bounded wait."""
    arn = names.state_machine_arn(job)
    # Allow for clock skew between this machine and AWS.
    since = sent_at - timedelta(minutes=5)
    inspected: set[str] = set()
    deadline = aws.clock() + timeout_s
    while True:
        for item in _recent_executions(aws, arn, job=job, since=since):
            execution_arn = str(item["executionArn"])
            if execution_arn in inspected:
                continue
            inspected.add(execution_arn)
            execution = _describe_execution(aws, execution_arn, job=job)
            if _carries_message(execution.input_text, message_id):
                return execution.run_id
        if aws.clock() >= deadline:
            raise RunError(
                f"no run of job {job!r} picked up message {message_id} within {timeout_s:.0f}s",
                hint=f"the message is in the queue; check the pipe {names.pipe(job)} "
                f"and its dead-letter queue, then `batchctl status {job}`",
            )
        aws.sleep(poll_s)


# ---- Batch jobs ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchJob:
    """One Batch job of a run, as DescribeJobs shows it (status UNKNOWN once Batch has forgotten it)."""

    job_id: str
    step: str | None
    status: str = "UNKNOWN"
    status_reason: str | None = None
    created_at: datetime | None = None
    queue: str | None = None
    vcpus: float | None = None
    assign_public_ip: str | None = None
    log_stream: str | None = None
    array_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "step": self.step,
            "status": self.status,
            "status_reason": self.status_reason,
            "log_stream": self.log_stream,
        }


def batch_jobs_from_history(events: Sequence[AwsDict]) -> list[tuple[str | None, str]]:
    """(step, Batch job id) of every Batch job the execution submitted, in order, from its history events."""
    found: list[tuple[str | None, str]] = []
    state: str | None = None
    for event in events:
        kind = str(event.get("type", ""))
        if kind == "TaskStateEntered":
            state = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            continue
        details_key = {
            "TaskSubmitted": "taskSubmittedEventDetails",
            "TaskSucceeded": "taskSucceededEventDetails",
            "TaskFailed": "taskFailedEventDetails",
        }.get(kind)
        if details_key is None:
            continue
        details = event.get(details_key, {})
        if details.get("resourceType") != "batch" or not str(details.get("resource", "")).startswith(
            BATCH_TASK
        ):
            continue
        # Submitted/succeeded carry the SubmitJob/DescribeJobs result as output; a failure carries it as cause.
        job_id = _job_id_of(details.get("output") or details.get("cause"))
        if job_id is None:
            continue
        step = state[len(_RUN_STATE_PREFIX) :] if state and state.startswith(_RUN_STATE_PREFIX) else state
        if all(known != job_id for _, known in found):
            found.append((step, job_id))
    return found


def _job_id_of(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(document, dict):
        job_id = document.get("JobId") or document.get("jobId")
        return str(job_id) if job_id else None
    return None


def _history(aws: Aws, arn: str) -> list[AwsDict]:
    events: list[AwsDict] = []
    for page in aws.pages("stepfunctions", "get_execution_history", key=arn, executionArn=arn):
        events.extend(page.get("events", []))
    return events


def _vcpus_of(container: AwsDict) -> float | None:
    for requirement in container.get("resourceRequirements", []) or []:
        if requirement.get("type") == "VCPU":
            try:
                return float(requirement["value"])
            except (KeyError, TypeError, ValueError):
                return None
    vcpus = container.get("vcpus")
    return float(vcpus) if isinstance(vcpus, int | float) else None


def _ms_to_datetime(value: object) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


def describe_batch_jobs(aws: Aws, jobs: Sequence[tuple[str | None, str]]) -> list[BatchJob]:
    """DescribeJobs for (step, job id) pairs, 100 ids a call; ids Batch no longer knows come back UNKNOWN."""
    described: dict[str, AwsDict] = {}
    ids = list(dict.fromkeys(job_id for _, job_id in jobs))
    for start in range(0, len(ids), DESCRIBE_JOBS_CHUNK):
        chunk = ids[start : start + DESCRIBE_JOBS_CHUNK]
        answer = aws.call("batch", "describe_jobs", key=",".join(chunk[:3]), jobs=chunk)
        for item in answer.get("jobs", []):
            described[str(item["jobId"])] = item
    result: list[BatchJob] = []
    for step, job_id in jobs:
        item = described.get(job_id)
        if item is None:
            result.append(BatchJob(job_id=job_id, step=step))
            continue
        container = item.get("container", {}) or {}
        network = container.get("networkConfiguration", {}) or {}
        array = item.get("arrayProperties", {}) or {}
        result.append(
            BatchJob(
                job_id=job_id,
                step=step,
                status=str(item.get("status", "UNKNOWN")),
                status_reason=item.get("statusReason"),
                created_at=_ms_to_datetime(item.get("createdAt")),
                queue=item.get("jobQueue"),
                vcpus=_vcpus_of(container),
                assign_public_ip=network.get("assignPublicIp"),
                log_stream=container.get("logStreamName"),
                array_size=array.get("size"),
            )
        )
    return result


# ---- why a job stays RUNNABLE -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComputeEnvironmentView:
    """What matters about a compute environment when a job cannot be placed."""

    name: str
    state: str
    status: str
    status_reason: str | None = None
    type: str | None = None  # EC2 | SPOT | FARGATE | FARGATE_SPOT (None when unmanaged)
    max_vcpus: int | None = None
    subnets: tuple[str, ...] = ()

    @property
    def is_fargate(self) -> bool:
        return (self.type or "").startswith("FARGATE")

    @property
    def is_usable(self) -> bool:
        return self.state == "ENABLED" and self.status in {"VALID", "UPDATING"}


def stuck_reason(
    *,
    job_vcpus: float | None,
    queue_name: str,
    queue_state: str | None,
    queue_status: str | None,
    queue_status_reason: str | None,
    environments: Sequence[ComputeEnvironmentView],
    assign_public_ip: str | None,
    public_subnets: frozenset[str],
) -> str | None:
    """Why a Batch job cannot leave RUNNABLE, from its queue and compute environments; None if nothing explains it."""
    if queue_state == "DISABLED":
        return f"job queue {queue_name} is DISABLED: it places no jobs"
    if queue_status == "INVALID":
        return f"job queue {queue_name} is INVALID: {queue_status_reason or 'no reason given'}"
    if not environments:
        return f"job queue {queue_name} has no compute environment"
    usable = [env for env in environments if env.is_usable]
    if not usable:
        reasons = []
        for env in environments:
            if env.status == "INVALID":
                reasons.append(
                    f"compute environment {env.name} is INVALID: {env.status_reason or 'no reason given'}"
                )
            elif env.state != "ENABLED":
                reasons.append(f"compute environment {env.name} is {env.state}")
            else:
                reasons.append(f"compute environment {env.name} is {env.status}")
        return "; ".join(reasons)
    if job_vcpus is not None:
        limited = [env for env in usable if env.max_vcpus is not None and env.max_vcpus < job_vcpus]
        if len(limited) == len(usable):
            env = limited[0]
            return (
                f"the job asks for {job_vcpus:g} vCPUs but compute environment {env.name} allows at most "
                f"{env.max_vcpus} (compute.max_vcpus in jobs.yaml)"
            )
    fargate = [env for env in usable if env.is_fargate]
    if fargate and len(fargate) == len(usable) and assign_public_ip != "ENABLED":
        # AWS-QUIRKS 17: without a public IP a Fargate task in a public subnet (no NAT) cannot pull its image.
        cut_off = [env for env in fargate if env.subnets and set(env.subnets) <= public_subnets]
        if len(cut_off) == len(fargate):
            return (
                f"compute environment {cut_off[0].name} runs Fargate tasks in public subnets "
                f"({', '.join(cut_off[0].subnets)}) without a public IP (assignPublicIp "
                f"{assign_public_ip or 'DISABLED'}), so they cannot reach ECR to pull the image"
            )
    return None


def _public_subnets(aws: Aws, subnets: Sequence[str]) -> frozenset[str]:
    """The subnets whose route table sends 0.0.0.0/0 to an internet gateway."""
    if not subnets:
        return frozenset()
    described = aws.call("ec2", "describe_subnets", key=",".join(subnets), SubnetIds=list(subnets))
    vpc_of = {str(s["SubnetId"]): str(s["VpcId"]) for s in described.get("Subnets", [])}
    tables = aws.call(
        "ec2",
        "describe_route_tables",
        key=",".join(sorted(set(vpc_of.values()))),
        Filters=[{"Name": "vpc-id", "Values": sorted(set(vpc_of.values()))}],
    ).get("RouteTables", [])

    def is_public(table: AwsDict) -> bool:
        return any(
            route.get("DestinationCidrBlock") == "0.0.0.0/0"
            and str(route.get("GatewayId", "")).startswith("igw-")
            for route in table.get("Routes", [])
        )

    explicit: dict[str, AwsDict] = {}
    main_of_vpc: dict[str, AwsDict] = {}
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("Main"):
                main_of_vpc[str(table.get("VpcId"))] = table
            elif association.get("SubnetId"):
                explicit[str(association["SubnetId"])] = table
    public = set()
    for subnet, vpc in vpc_of.items():
        # A subnet without an explicit association uses its VPC's main route table.
        table = explicit.get(subnet) or main_of_vpc.get(vpc)
        if table is not None and is_public(table):
            public.add(subnet)
    return frozenset(public)


def explain_stuck(aws: Aws, job: BatchJob) -> str | None:
    """Why a Batch job stays RUNNABLE: its queue and compute environments, checked against what it asks for."""
    if not job.queue:
        return None
    queues = aws.call("batch", "describe_job_queues", key=job.queue, jobQueues=[job.queue]).get(
        "jobQueues", []
    )
    if not queues:
        return f"job queue {job.queue} does not exist"
    queue = queues[0]
    order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda item: int(item.get("order", 0)))
    arns = [str(item["computeEnvironment"]) for item in order]
    environments: list[ComputeEnvironmentView] = []
    if arns:
        described = aws.call(
            "batch", "describe_compute_environments", key=",".join(arns), computeEnvironments=arns
        ).get("computeEnvironments", [])
        for env in described:
            resources = env.get("computeResources", {}) or {}
            environments.append(
                ComputeEnvironmentView(
                    name=str(env.get("computeEnvironmentName")),
                    state=str(env.get("state", "")),
                    status=str(env.get("status", "")),
                    status_reason=env.get("statusReason"),
                    type=resources.get("type"),
                    max_vcpus=resources.get("maxvCpus"),
                    subnets=tuple(resources.get("subnets", []) or []),
                )
            )
    public: frozenset[str] = frozenset()
    if job.assign_public_ip != "ENABLED":
        fargate_subnets = sorted({s for env in environments if env.is_fargate for s in env.subnets})
        public = _public_subnets(aws, fargate_subnets)
    return stuck_reason(
        job_vcpus=job.vcpus,
        queue_name=str(queue.get("jobQueueName", job.queue)),
        queue_state=queue.get("state"),
        queue_status=queue.get("status"),
        queue_status_reason=queue.get("statusReason"),
        environments=environments,
        assign_public_ip=job.assign_public_ip,
        public_subnets=public,
    )


def _is_stuck(job: BatchJob, now: datetime) -> bool:
    return job.status == "RUNNABLE" and job.created_at is not None and now - job.created_at >= STUCK_AFTER


def _explain_if_allowed(aws: Aws, job: BatchJob) -> str | None:
    """explain_stuck, as a best effort: a caller without Batch/EC2 read access still gets its run's status."""
    try:
        return explain_stuck(aws, job)
    except AwsError as exc:
        log.debug("cannot explain why %s is stuck: %s", job.job_id, exc.message)
        return None


# ---- following a run ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunUpdate:
    """One change seen while following a run: the execution's status, or one of its Batch jobs."""

    run_id: str
    status: str
    step: str | None = None
    batch_job_id: str | None = None
    batch_status: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunStatus:
    """How a run ended (or stands)."""

    job: str
    run_id: str
    status: str
    error: str | None = None
    cause: str | None = None
    batch_jobs: tuple[BatchJob, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def follow(
    aws: Aws,
    names: Names,
    *,
    job: str,
    run_id: str,
    on_update: Callable[[RunUpdate], None],
    poll_s: float = 2.0,
    timeout_s: float | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunStatus:
    """Poll the run (DescribeExecution, its history for Batch jobs, DescribeJobs) until it is no longer running.

    `on_update` hears every change: the execution's status, each Batch job's status (with its reason), and why a
    job stays RUNNABLE once it has for minutes. Bounded by `timeout_s` when given.
    """
    arn = names.execution_arn(job, run_id)
    try:
        execution = _describe_execution(aws, arn, job=job)
    except AwsError as exc:
        if exc.code in EXECUTION_MISSING_CODES:
            raise RunError(
                f"no run {run_id!r} of job {job!r}", hint=f"list runs with `batchctl status {job}`"
            ) from exc
        raise
    deadline = None if timeout_s is None else aws.clock() + timeout_s
    last_status: str | None = None
    batch_status: dict[str, str] = {}
    explained: set[str] = set()
    while True:
        if execution.status != last_status:
            on_update(RunUpdate(run_id=run_id, status=execution.status))
            last_status = execution.status
        jobs = describe_batch_jobs(aws, batch_jobs_from_history(_history(aws, arn)))
        moment = now()
        for batch_job in jobs:
            if batch_status.get(batch_job.job_id) != batch_job.status:
                batch_status[batch_job.job_id] = batch_job.status
                on_update(
                    RunUpdate(
                        run_id=run_id,
                        status=execution.status,
                        step=batch_job.step,
                        batch_job_id=batch_job.job_id,
                        batch_status=batch_job.status,
                        reason=batch_job.status_reason,
                    )
                )
            if batch_job.job_id not in explained and _is_stuck(batch_job, moment):
                explained.add(batch_job.job_id)
                reason = _explain_if_allowed(aws, batch_job)
                if reason:
                    on_update(
                        RunUpdate(
                            run_id=run_id,
                            status=execution.status,
                            step=batch_job.step,
                            batch_job_id=batch_job.job_id,
                            batch_status=batch_job.status,
                            reason=reason,
                        )
                    )
        if execution.status not in RUNNING_STATUSES:
            return RunStatus(
                job=job,
                run_id=run_id,
                status=execution.status,
                error=execution.error,
                cause=execution.cause,
                batch_jobs=tuple(jobs),
            )
        if deadline is not None and aws.clock() >= deadline:
            raise RunError(
                f"run {run_id!r} of job {job!r} is still {execution.status} after {timeout_s:.0f}s",
                hint=f"follow it later with `batchctl status {job}`",
            )
        aws.sleep(poll_s)
        execution = _describe_execution(aws, arn, job=job)


def run_log_streams(
    aws: Aws, names: Names, *, job: str, run_id: str
) -> tuple[dict[str, str], bool, datetime]:
    """The log streams of a run's Batch jobs (stream → step), whether the run has ended, and when it started.

    AWS-QUIRKS 41: a job has a log stream only once it is RUNNING; array jobs are looked up child by child.
    """
    arn = names.execution_arn(job, run_id)
    try:
        execution = _describe_execution(aws, arn, job=job)
    except AwsError as exc:
        if exc.code in EXECUTION_MISSING_CODES:
            raise RunError(
                f"no run {run_id!r} of job {job!r}", hint=f"list runs with `batchctl status {job}`"
            ) from exc
        raise
    jobs = describe_batch_jobs(aws, batch_jobs_from_history(_history(aws, arn)))
    streams: dict[str, str] = {}
    children: list[tuple[str | None, str]] = []
    for batch_job in jobs:
        if batch_job.log_stream:
            streams[batch_job.log_stream] = batch_job.step or ""
        if batch_job.array_size:
            for page in aws.pages("batch", "list_jobs", key=batch_job.job_id, arrayJobId=batch_job.job_id):
                children.extend((batch_job.step, str(c["jobId"])) for c in page.get("jobSummaryList", []))
    for child in describe_batch_jobs(aws, children) if children else []:
        if child.log_stream:
            streams[child.log_stream] = child.step or ""
    return streams, execution.status not in RUNNING_STATUSES, execution.started


# ---- listing runs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as `status` shows it."""

    job: str
    run_id: str
    source: str
    status: str
    started: datetime
    stopped: datetime | None
    duration_s: float
    batch_jobs: tuple[BatchJob, ...] = ()
    error: str | None = None
    cause: str | None = None
    stuck: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "run_id": self.run_id,
            "source": self.source,
            "status": self.status,
            "started": iso_utc(self.started),
            "stopped": iso_utc(self.stopped) if self.stopped else None,
            "duration_s": round(self.duration_s, 3),
            "batch_jobs": [j.to_dict() for j in self.batch_jobs],
            "error": self.error,
            "cause": self.cause,
            "stuck": self.stuck,
        }


def _list_job_executions(
    aws: Aws, names: Names, *, job: str, limit: int, failed_only: bool
) -> list[tuple[str, AwsDict]] | None:
    """The newest executions of one job (None when its state machine does not exist)."""
    arn = names.state_machine_arn(job)
    filters: Sequence[str | None] = FAILED_STATUSES if failed_only else (None,)
    found: list[tuple[str, AwsDict]] = []
    try:
        for status in filters:
            params: dict[str, Any] = {"stateMachineArn": arn, "maxResults": min(limit, 1000)}
            if status:
                params["statusFilter"] = status
            answer = aws.call("stepfunctions", "list_executions", key=arn, **params)
            found.extend((job, item) for item in answer.get("executions", []))
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            return None
        raise
    return found


def list_runs(
    aws: Aws,
    names: Names,
    *,
    jobs: Sequence[str],
    limit: int = 20,
    failed_only: bool = False,
    now: datetime | None = None,
    parallelism: int = MAX_PARALLEL_CALLS,
) -> list[RunSummary]:
    """The newest `limit` runs of `jobs` (only FAILED, TIMED_OUT, ABORTED with `failed_only`), newest first, with
    their source, Batch jobs (one batched DescribeJobs), error and cause, and why a RUNNABLE job is stuck."""
    moment = now or datetime.now(UTC)
    workers = max(1, min(parallelism, len(jobs) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        listed = list(
            pool.map(
                lambda job: _list_job_executions(aws, names, job=job, limit=limit, failed_only=failed_only),
                jobs,
            )
        )
    missing = [job for job, items in zip(jobs, listed, strict=True) if items is None]
    if jobs and len(missing) == len(jobs):
        which = f"job {jobs[0]!r} is not" if len(jobs) == 1 else f"none of the {len(jobs)} jobs is"
        raise RunError(
            f"{which} deployed in {names.prefix} (no state machine)", hint="run `batchctl deploy` first"
        )
    if missing:
        log.debug("not deployed: %s", ", ".join(missing))
    items = sorted(
        (pair for found in listed if found for pair in found),
        key=lambda pair: pair[1]["startDate"],
        reverse=True,
    )[:limit]
    if not items:
        return []

    def details(pair: tuple[str, AwsDict]) -> tuple[Execution, list[tuple[str | None, str]]]:
        job, item = pair
        execution_arn = str(item["executionArn"])
        return _describe_execution(aws, execution_arn, job=job), batch_jobs_from_history(
            _history(aws, execution_arn)
        )

    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(items)))) as pool:
        described = list(pool.map(details, items))
    all_jobs = [pair for _, pairs in described for pair in pairs]
    by_id = {job.job_id: job for job in describe_batch_jobs(aws, all_jobs)} if all_jobs else {}

    explanations: dict[tuple[str | None, float | None, str | None], str | None] = {}
    summaries: list[RunSummary] = []
    for execution, pairs in described:
        batch_jobs = tuple(by_id[job_id] for _, job_id in pairs if job_id in by_id)
        stuck = None
        for batch_job in batch_jobs:
            if _is_stuck(batch_job, moment):
                key = (batch_job.queue, batch_job.vcpus, batch_job.assign_public_ip)
                if key not in explanations:
                    explanations[key] = _explain_if_allowed(aws, batch_job)
                reason = explanations[key]
                minutes = int((moment - (batch_job.created_at or moment)).total_seconds() // 60)
                stuck = f"Batch job {batch_job.job_id} RUNNABLE for {minutes} min" + (
                    f": {reason}" if reason else ": waiting for capacity"
                )
                break
        end = execution.stopped or moment
        summaries.append(
            RunSummary(
                job=execution.job,
                run_id=execution.run_id,
                source=source_of_input(execution.input_text),
                status=execution.status,
                started=execution.started,
                stopped=execution.stopped,
                duration_s=max(0.0, (end - execution.started).total_seconds()),
                batch_jobs=batch_jobs,
                error=execution.error,
                cause=execution.cause,
                stuck=stuck,
            )
        )
    return summaries


def summarize_cause(cause: str | None, *, limit: int = 200) -> str:
    """A failed run's cause in one line: a Batch cause is the DescribeJobs JSON, so take its reasons from it."""
    if not cause:
        return ""
    try:
        document = json.loads(cause)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        parts: list[str] = []
        reason = document.get("StatusReason") or document.get("statusReason")
        if reason:
            parts.append(str(reason))
        attempts = document.get("Attempts") or document.get("attempts") or []
        if attempts and isinstance(attempts[-1], dict):
            container = attempts[-1].get("Container") or attempts[-1].get("container") or {}
            exit_code = container.get("ExitCode", container.get("exitCode"))
            if exit_code is not None:
                parts.append(f"exit code {exit_code}")
            container_reason = container.get("Reason") or container.get("reason")
            if container_reason:
                parts.append(str(container_reason))
        if parts:
            text = "; ".join(parts)
            return text if len(text) <= limit else text[: limit - 1] + "…"
    text = " ".join(cause.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- retrying -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryResult:
    job: str
    retried: str  # the failed run
    run_id: str  # the run now going: the same id after a redrive, a new one otherwise
    redriven: bool


def locate_run(aws: Aws, names: Names, *, jobs: Sequence[str], run_id: str) -> Execution:
    """Find which job's workflow has an execution named `run_id`."""
    if not jobs:
        raise RunError("jobs.yaml has no jobs")

    def probe(job: str) -> Execution | None:
        try:
            return _describe_execution(aws, names.execution_arn(job, run_id), job=job)
        except AwsError as exc:
            if exc.code in EXECUTION_MISSING_CODES:
                return None
            raise

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_CALLS, len(jobs)))) as pool:
        found = [execution for execution in pool.map(probe, jobs) if execution is not None]
    if not found:
        raise RunError(
            f"no run {run_id!r} in any job of {names.prefix}",
            hint="run ids are the RUN column of `batchctl status`",
        )
    return found[0]


def retry_name(run_id: str, attempt: int) -> str:
    """`<run>-r<n>` (a retry of a retry counts on from the original), at most 80 characters."""
    base = _RETRY_SUFFIX.sub("", run_id)
    suffix = f"-r{attempt}"
    return base[: EXECUTION_NAME_LIMIT - len(suffix)] + suffix


def retry_run(
    aws: Aws, names: Names, *, jobs: Sequence[str], run_id: str, max_names: int = 100
) -> RetryResult:
    """Re-run a FAILED, TIMED_OUT or ABORTED run with its original input: redrive it when AWS can, else start a new
    execution `<run>-r<n>` with the same input. A run that succeeded or is still running is refused."""
    execution = locate_run(aws, names, jobs=jobs, run_id=run_id)
    job = execution.job
    if execution.status in RUNNING_STATUSES:
        raise RunError(
            f"run {run_id!r} of job {job!r} is still running", hint="wait for it to end, then retry"
        )
    if execution.status == "SUCCEEDED":
        raise RunError(
            f"run {run_id!r} of job {job!r} succeeded: there is nothing to retry",
            hint=f"start a new run with `batchctl submit {job}`",
        )
    # A redrive restarts the execution at the state that failed. When our workflow caught a step's error it ends in
    # its Fail state, so a redrive would only fail there again: such runs (error "batchctl.*") get a new execution.
    # Redrive helps where the execution stopped mid-way: ABORTED, TIMED_OUT or an uncaught error.
    caught = (execution.error or "").startswith(asl.RUN_ERROR_PREFIX)
    if execution.redrivable and not caught:
        try:
            aws.call("stepfunctions", "redrive_execution", key=execution.arn, executionArn=execution.arn)
            return RetryResult(job=job, retried=run_id, run_id=run_id, redriven=True)
        except AwsError as exc:
            if exc.code != "ExecutionNotRedrivable":
                raise
            log.debug("run %s is not redrivable after all: %s", run_id, exc.message)
    input_text = execution.input_text if execution.input_text is not None else "{}"
    for attempt in range(1, max_names + 1):
        name = retry_name(run_id, attempt)
        try:
            # A running execution with this name and input answers with itself: that retry is already going.
            _start_execution(aws, names, job=job, name=name, input_text=input_text)
        except AwsError as exc:
            if exc.code == "ExecutionAlreadyExists":
                continue
            raise
        return RetryResult(job=job, retried=run_id, run_id=name, redriven=False)
    raise RunError(
        f"run {run_id!r} already has {max_names} retries", hint="start a new run with `batchctl submit`"
    )


# ---- schedules ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleState:
    job: str
    schedule: str
    state: str  # ENABLED | DISABLED
    changed: bool


# UpdateSchedule replaces the whole schedule: every field we do not send is reset to its default.
_SCHEDULE_FIELDS = (
    "ActionAfterCompletion",
    "Description",
    "EndDate",
    "FlexibleTimeWindow",
    "KmsKeyArn",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "Target",
)


def set_schedule_state(
    aws: Aws, names: Names, *, job: JobInfo, enabled: bool, now: datetime | None = None
) -> ScheduleState:
    """Enable or disable the job's schedule without a deploy (GetSchedule, then UpdateSchedule sending every field
    back with the new State); no call when it is already in that state."""
    if not job.has_schedule:
        raise RunError(
            f"job {job.name!r} has no schedule",
            hint="it runs through its queue or `batchctl submit --direct`"
            if job.has_queue
            else "it runs with `batchctl submit --direct`",
        )
    name, group = names.schedule(job.name), names.schedule_group
    key = f"{group}/{name}"
    try:
        current = aws.call("scheduler", "get_schedule", key=key, Name=name, GroupName=group)
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise RunError(f"the schedule {key} does not exist", hint="run `batchctl deploy` first") from exc
        raise
    wanted = "ENABLED" if enabled else "DISABLED"
    if current.get("State") == wanted:
        return ScheduleState(job=job.name, schedule=key, state=wanted, changed=False)
    params: dict[str, Any] = {
        field: current[field] for field in _SCHEDULE_FIELDS if current.get(field) is not None
    }
    start = params.get("StartDate")
    # Scheduler refuses a StartDate more than 5 minutes in the past; a past start date changes nothing anyway.
    if isinstance(start, datetime) and start < (now or datetime.now(UTC)):
        del params["StartDate"]
    aws.call("scheduler", "update_schedule", key=key, Name=name, GroupName=group, State=wanted, **params)
    return ScheduleState(job=job.name, schedule=key, state=wanted, changed=True)
