"""The dead-letter queue requests (runs/dlq.py) checked against AWS's rules, as moto lacks StartMessageMoveTask."""

from __future__ import annotations

import json

import botocore.session
from botocore.validate import validate_parameters

from batchctl.runs.dlq import DeadLetterQueue, dead_letter_target, move_task_request

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:demo-dev-fib"
DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:demo-dev-fib-dlq"


def test_the_dead_letter_queue_is_the_target_of_the_queues_redrive_policy() -> None:
    policy = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": "3"})
    assert dead_letter_target(policy) == DLQ_ARN
    assert dead_letter_target(None) is None
    assert dead_letter_target("{}") is None
    assert dead_letter_target("not json") is None


def test_move_task_goes_from_the_dead_letter_queue_back_to_the_jobs_queue() -> None:
    queue = DeadLetterQueue(
        job="fib", queue_arn=QUEUE_ARN, name="demo-dev-fib-dlq", url="u", arn=DLQ_ARN, waiting=3, in_flight=0
    )
    request = move_task_request(queue)
    # StartMessageMoveTask: SourceArn is required and must be a dead-letter queue of an SQS queue (the one the
    # job queue's RedrivePolicy names); DestinationArn, when given, is where the messages go; the rate, when
    # given, is at most 500 per second (left out: SQS picks it from the backlog).
    assert request == {"SourceArn": DLQ_ARN, "DestinationArn": QUEUE_ARN}
    model = botocore.session.get_session().get_service_model("sqs").operation_model("StartMessageMoveTask")
    validate_parameters(request, model.input_shape)
    assert set(model.input_shape.required_members) <= set(request)
