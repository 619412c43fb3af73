"""Submitting bodies: SQS sends (one message, or batches of ten sent in parallel with resends of what the service
reports failed) and starting a job's workflow directly. Imports: asl, aws, naming, errors, runs.body, runs.jobs."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from batchctl import asl
from batchctl.aws import Aws, AwsDict
from batchctl.errors import AwsAuthError, AwsError, RunError
from batchctl.naming import Names
from batchctl.runs.body import Message, check_body
from batchctl.runs.jobs import JobInfo

__all__ = [
    "SendFailure",
    "SentMessage",
    "SubmitResult",
    "iso_utc",
    "new_run_id",
    "queue_url",
    "start_direct",
    "start_execution",
    "submit_queue",
]

log = logging.getLogger(__name__)

SQS_BATCH_ENTRIES = 10
SQS_BATCH_LIMIT_BYTES = 262_144  # SendMessageBatch: the sum of the messages, like one message
SEND_ATTEMPTS = 5
SEND_BACKOFF_S = 0.2
# SendMessageBatch calls in flight: 10,000 lines are 1,000 calls, about 3 s at 80 ms each (DESIGN §7 asks ≤ 5 s);
# botocore's pool (aws.RETRY_CONFIG) keeps 64 connections.
SEND_PARALLELISM = 32
QUEUE_MISSING_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


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


def queue_url(aws: Aws, names: Names, job: JobInfo) -> str:
    """URL of the job's SQS queue; a missing queue means the job is not deployed."""
    job.require_queue()
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
    job.require_queue()
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


def start_execution(aws: Aws, names: Names, *, job: str, name: str, input_text: str) -> AwsDict:
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
    start_execution(aws, names, job=job.name, name=run_id, input_text=json.dumps(payload))
    return run_id
