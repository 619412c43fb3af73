"""Lifecycle, ownership, redrive policy and retry behaviour of the SQS queue provisioner (moto server)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import Stubber

from batchctl.errors import AwsError, NotManagedError
from batchctl.provisioners.sqs import QueueProvisioner
from batchctl.specs import Observed, QueueSpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def test_queue_lifecycle(aws: Any, boto: Any) -> None:
    prov = QueueProvisioner(aws)
    spec = QueueSpec(name=unique(), visibility_timeout_s=45, retention_s=3600, tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    account = aws.context().account_id
    assert outputs["arn"] == f"arn:aws:sqs:eu-west-1:{account}:{spec.name}"
    assert outputs["url"] == boto.client("sqs").get_queue_url(QueueName=spec.name)["QueueUrl"]
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        visibility_timeout_s=60,
        retention_s=7200,
        tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"},
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    prov.delete(again)  # already gone is fine


def test_queue_with_dead_letter_redrive_reads_back_and_can_drop_it(aws: Any, boto: Any) -> None:
    prov = QueueProvisioner(aws)
    dlq = QueueSpec(name=unique() + "-dlq", retention_s=1_209_600, tags=TAGS)
    dlq_arn = prov.create(dlq)["arn"]
    spec = QueueSpec(name=unique(), dead_letter_arn=dlq_arn, max_receive_count=3, tags=TAGS)
    url = prov.create(spec)["url"]

    raw = boto.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    assert json.loads(raw["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 3,
    }
    observed = read_back(prov, spec)

    fewer = dataclasses.replace(spec, max_receive_count=5)
    prov.update(fewer, observed)
    observed = read_back(prov, fewer)

    without = dataclasses.replace(spec, dead_letter_arn=None, max_receive_count=None)
    prov.update(without, observed)
    read_back(prov, without)


def test_fifo_queue_reads_back_as_fifo(aws: Any) -> None:
    prov = QueueProvisioner(aws)
    spec = QueueSpec(name=unique() + ".fifo", fifo=True, tags=TAGS)
    prov.create(spec)
    read_back(prov, spec)


def test_unchanged_queue_update_sends_no_mutating_call(aws: Any, recorder: Any) -> None:
    prov = QueueProvisioner(aws)
    spec = QueueSpec(name=unique(), tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    recorder.calls.clear()
    prov.update(spec, observed)
    assert recorder.mutating == []


def test_untagged_queue_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("sqs").create_queue(QueueName=name)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        QueueProvisioner(aws).read(QueueSpec(name=name, tags=TAGS))


def test_queue_of_another_stage_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("sqs").create_queue(QueueName=name, tags={**TAGS, "batchctl:stage": "prod"})
    with pytest.raises(NotManagedError, match="batchctl:stage=prod"):
        QueueProvisioner(aws).read(QueueSpec(name=name, tags=TAGS))


# moto never answers QueueDeletedRecently and applies every attribute it is sent; these tests stub the SQS client
# to check what we send (the STS call for the account still goes to moto).
@pytest.fixture
def stubbed_sqs(aws: Any) -> Iterator[Stubber]:
    aws.context()
    with Stubber(aws.client("sqs")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_create_retries_while_the_name_was_deleted_recently(aws: Any, stubbed_sqs: Stubber) -> None:
    spec = QueueSpec(name=unique(), tags=TAGS)
    url = f"https://sqs.eu-west-1.amazonaws.com/123456789012/{spec.name}"
    expected = {
        "QueueName": spec.name,
        "Attributes": {
            "VisibilityTimeout": "30",
            "MessageRetentionPeriod": "345600",
            "SqsManagedSseEnabled": "true",
        },
        "tags": TAGS,
    }
    stubbed_sqs.add_client_error(
        "create_queue",
        service_error_code="AWS.SimpleQueueService.QueueDeletedRecently",
        service_message="You must wait 60 seconds after deleting a queue before you can create another with "
        "the same name.",
        expected_params=expected,
    )
    stubbed_sqs.add_response("create_queue", {"QueueUrl": url}, expected)
    assert QueueProvisioner(aws).create(spec)["url"] == url


def test_create_does_not_retry_a_name_conflict(aws: Any, stubbed_sqs: Stubber) -> None:
    spec = QueueSpec(name=unique(), tags=TAGS)
    stubbed_sqs.add_client_error(
        "create_queue", service_error_code="QueueAlreadyExists", service_message="already exists"
    )
    with pytest.raises(AwsError, match="QueueAlreadyExists"):
        QueueProvisioner(aws).create(spec)


def test_update_sets_only_the_attributes_that_differ(aws: Any, stubbed_sqs: Stubber) -> None:
    before = QueueSpec(
        name=unique(), dead_letter_arn="arn:aws:sqs:eu-west-1:123456789012:d", max_receive_count=2
    )
    url = f"https://sqs.eu-west-1.amazonaws.com/123456789012/{before.name}"
    desired = dataclasses.replace(
        before, visibility_timeout_s=90, dead_letter_arn=None, max_receive_count=None
    )
    # An empty RedrivePolicy removes the policy; the unchanged retention is not sent.
    stubbed_sqs.add_response(
        "set_queue_attributes",
        {},
        {"QueueUrl": url, "Attributes": {"VisibilityTimeout": "90", "RedrivePolicy": ""}},
    )
    QueueProvisioner(aws).update(desired, Observed(before, {"arn": "arn", "url": url}))
