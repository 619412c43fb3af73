"""Amazon SQS rules moto lacks.

- Queue attribute ranges on CreateQueue and SetQueueAttributes (InvalidAttributeValue "Invalid value for the
  parameter X."): VisibilityTimeout 0..43200, MessageRetentionPeriod 60..1209600, MaximumMessageSize 1024..1048576
  (1 MiB since 2025, as in moto), DelaySeconds 0..900, ReceiveMessageWaitTimeSeconds 0..20; a
  RedrivePolicy's maxReceiveCount 1..1000 (InvalidParameterValue). [SQS API_SetQueueAttributes, API_CreateQueue]
- A queue name deleted less than 60 s (scaled) ago cannot be created again: QueueDeletedRecently "You must wait 60
  seconds after deleting a queue before you can create another with the same name." [SQS API_CreateQueue,
  API_DeleteQueue]

Imports: stdlib and the strict wire; StrictApp only for typing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from batchctl.sandbox.strict.wire import Call, RefusedError, Reply

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

RANGES = {
    "VisibilityTimeout": (0, 43_200),
    "MessageRetentionPeriod": (60, 1_209_600),
    "MaximumMessageSize": (1_024, 1_048_576),
    "DelaySeconds": (0, 900),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
}
MAX_RECEIVE_COUNT = (1, 1_000)
DELETED_NAME_HOLD_S = 60.0


def check_attributes(attributes: Any) -> None:
    if not isinstance(attributes, dict):
        return
    for name, (low, high) in RANGES.items():
        if name not in attributes:
            continue
        try:
            value = int(str(attributes[name]))
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise RefusedError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
    policy = attributes.get("RedrivePolicy")
    if policy:
        check_redrive_policy(str(policy))


def check_redrive_policy(policy: str) -> None:
    try:
        count = int(str(json.loads(policy).get("maxReceiveCount")))
    except (ValueError, AttributeError):
        return  # moto answers malformed policies itself
    low, high = MAX_RECEIVE_COUNT
    if not low <= count <= high:
        raise RefusedError(
            "InvalidParameterValue",
            f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: "
            f"{count}, valid values are from {low} to {high} both inclusive.",
        )


def install(app: StrictApp) -> None:
    deleted: dict[tuple[str, str], float] = {}  # (region, queue name) → when the name is free again
    app.on_reset(deleted.clear)

    @app.before("sqs", "CreateQueue", "SetQueueAttributes")
    def attributes(call: Call) -> None:
        check_attributes(call.params.get("Attributes"))

    @app.before("sqs", "CreateQueue")
    def recently_deleted(call: Call) -> None:
        key = (call.region, str(call.params.get("QueueName", "")))
        with app.lock:
            free_at = deleted.get(key)
            if free_at is not None and app.clock.passed(free_at):
                del deleted[key]
                free_at = None
        if free_at is not None:
            raise RefusedError(
                "QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            )

    @app.after("sqs", "DeleteQueue")
    def remember_deleted(call: Call, reply: Reply) -> Reply:
        if reply.ok:
            name = str(call.params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
            with app.lock:
                deleted[(call.region, name)] = app.clock.deadline(DELETED_NAME_HOLD_S)
        return reply
