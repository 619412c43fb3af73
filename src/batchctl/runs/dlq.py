"""A job's dead-letter queue: how many messages wait there, a look at a few without taking them, and moving them
back to the job's queue (SQS StartMessageMoveTask). Imports: aws, naming, errors, runs.jobs, runs.submit, stdlib.

The dead-letter queue is the one the job's queue names in its RedrivePolicy (`deadLetterTargetArn`), which is also
what StartMessageMoveTask requires of its source: a queue that is the dead-letter queue of an SQS queue."""

from __future__ import annotations

import json
from dataclasses import dataclass

from batchctl.aws import Aws, AwsDict
from batchctl.errors import RunError, UnsupportedOperationError, UsageError
from batchctl.naming import Names
from batchctl.runs.jobs import JobInfo
from batchctl.runs.submit import queue_url

__all__ = [
    "PEEK_MAX",
    "PEEK_VISIBILITY_TIMEOUT_S",
    "DeadLetter",
    "DeadLetterQueue",
    "dead_letter_queue",
    "dead_letter_target",
    "move_task_request",
    "peek",
    "redrive",
]

PEEK_MAX = 10  # ReceiveMessage returns at most 10 messages per call
# Messages looked at stay visible: any reader (a redrive too) sees them again at once, and none is deleted.
PEEK_VISIBILITY_TIMEOUT_S = 0


@dataclass(frozen=True, slots=True)
class DeadLetterQueue:
    """A job's queue and its dead-letter queue, with the dead-letter queue's message counts (approximate, as SQS
    gives them)."""

    job: str
    queue_arn: str
    name: str
    url: str
    arn: str
    waiting: int  # ApproximateNumberOfMessages
    in_flight: int  # ApproximateNumberOfMessagesNotVisible


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    body: str
    receive_count: int  # deliveries, the ones from the job's queue included


def dead_letter_target(redrive_policy: str | None) -> str | None:
    """The dead-letter queue ARN of a queue's RedrivePolicy attribute (a JSON string), or None."""
    try:
        policy = json.loads(redrive_policy or "{}")
    except json.JSONDecodeError:
        return None
    target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    return str(target) if target else None


def dead_letter_queue(aws: Aws, names: Names, job: JobInfo) -> DeadLetterQueue:
    """The job's dead-letter queue and how many messages wait there. A job without a queue is a UsageError; a
    queue that is not deployed, or has no dead-letter queue, a RunError saying to deploy."""
    if not job.has_queue:
        raise UsageError(
            f"job {job.name!r} has no queue, so no dead-letter queue",
            hint="only jobs with `queue:` in jobs.yaml have one",
        )
    url = queue_url(aws, names, job)
    attributes = _attributes(aws, url, ["QueueArn", "RedrivePolicy"])
    arn = dead_letter_target(attributes.get("RedrivePolicy"))
    if arn is None:
        raise RunError(
            f"the queue of job {job.name!r} has no dead-letter queue", hint="run `batchctl deploy` to add it"
        )
    # arn:<partition>:sqs:<region>:<account>:<name>
    account, name = arn.split(":")[4:6]
    answer = aws.call("sqs", "get_queue_url", key=name, QueueName=name, QueueOwnerAWSAccountId=account)
    dlq_url = str(answer["QueueUrl"])
    counts = _attributes(
        aws, dlq_url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return DeadLetterQueue(
        job=job.name,
        queue_arn=str(attributes["QueueArn"]),
        name=name,
        url=dlq_url,
        arn=arn,
        waiting=int(counts.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(counts.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def _attributes(aws: Aws, url: str, names: list[str]) -> AwsDict:
    answer = aws.call("sqs", "get_queue_attributes", key=url, QueueUrl=url, AttributeNames=names)
    return dict(answer.get("Attributes", {}))


def peek(aws: Aws, queue: DeadLetterQueue, count: int) -> list[DeadLetter]:
    """Up to `count` (≤ PEEK_MAX) messages of the dead-letter queue, received with visibility timeout 0: they
    stay in the queue and visible, nothing is deleted. SQS keeps no order: these are some of the messages."""
    if queue.waiting == 0 or count < 1:
        return []
    answer = aws.call(
        "sqs",
        "receive_message",
        key=queue.name,
        QueueUrl=queue.url,
        MaxNumberOfMessages=min(count, PEEK_MAX),
        VisibilityTimeout=PEEK_VISIBILITY_TIMEOUT_S,
        WaitTimeSeconds=1,  # a long poll asks every SQS server, so a few messages are not missed
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    return [
        DeadLetter(
            message_id=str(message["MessageId"]),
            body=str(message.get("Body", "")),
            receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
        )
        for message in answer.get("Messages", [])[:count]
    ]


def move_task_request(queue: DeadLetterQueue) -> AwsDict:
    """StartMessageMoveTask's request: from the dead-letter queue back to the job's queue, at the rate SQS chooses
    (MaxNumberOfMessagesPerSecond left out)."""
    return {"SourceArn": queue.arn, "DestinationArn": queue.queue_arn}


def redrive(aws: Aws, queue: DeadLetterQueue) -> str:
    """Start moving the dead-letter queue's messages back to the job's queue; returns the task handle. SQS moves
    them in the background, one task per queue at a time."""
    try:
        answer = aws.call("sqs", "start_message_move_task", key=queue.name, **move_task_request(queue))
    except UnsupportedOperationError as exc:
        # The sandbox's SQS (moto) has no message move task; say what to do there instead.
        target = queue.queue_arn.rsplit(":", 1)[-1]
        raise UnsupportedOperationError(
            exc.message,
            service=exc.service,
            operation=exc.operation,
            code=exc.code,
            key=exc.key,
            hint=(
                "on AWS `--redrive` works; the sandbox's SQS has no message move task: there move them by hand "
                f"(receive each from {queue.name}, send it to {target}, delete it) or leave them be"
            ),
        ) from exc
    return str(answer.get("TaskHandle", ""))
