"""Lifecycle, ownership and pending-subscription handling of the SNS topic provisioner (moto server)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import Stubber

from batchctl.errors import NotManagedError
from batchctl.provisioners.sns import TopicProvisioner
from batchctl.specs import Observed, TopicSpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def email_endpoints(boto: Any, arn: str) -> list[str]:
    subs = boto.client("sns").list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    return sorted(s["Endpoint"] for s in subs if s["Protocol"] == "email")


def test_topic_lifecycle(aws: Any, boto: Any) -> None:
    prov = TopicProvisioner(aws)
    spec = TopicSpec(name=unique(), emails=("a@example.com", "b@example.com"), tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"] == f"arn:aws:sns:eu-west-1:{aws.context().account_id}:{spec.name}"
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        emails=("b@example.com", "c@example.com"),
        tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"},
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)
    assert email_endpoints(boto, outputs["arn"]) == ["b@example.com", "c@example.com"]

    prov.delete(again)
    assert prov.read(spec) is None


def test_non_email_subscriptions_are_not_ours(aws: Any, boto: Any) -> None:
    prov = TopicProvisioner(aws)
    spec = TopicSpec(name=unique(), emails=("a@example.com",), tags=TAGS)
    arn = prov.create(spec)["arn"]
    boto.client("sns").subscribe(
        TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:eu-west-1:123456789012:q"
    )
    read_back(prov, spec)


def test_topic_update_without_changes_sends_no_mutating_call(aws: Any, recorder: Any) -> None:
    prov = TopicProvisioner(aws)
    spec = TopicSpec(name=unique(), emails=("a@example.com",), tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    recorder.calls.clear()
    prov.update(spec, observed)
    assert recorder.mutating == []


def test_untagged_topic_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("sns").create_topic(Name=name)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        TopicProvisioner(aws).read(TopicSpec(name=name, tags=TAGS))


# moto confirms email subscriptions at once; on AWS they stay "PendingConfirmation" until the link is clicked.
# These tests stub the SNS client's answers (the STS call for the account still goes to moto).
@pytest.fixture
def stubbed_sns(aws: Any) -> Iterator[Stubber]:
    aws.context()
    with Stubber(aws.client("sns")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _subscriptions(arn: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "Subscriptions": [
            {
                "SubscriptionArn": sub_arn,
                "Owner": "123456789012",
                "Protocol": "email",
                "Endpoint": email,
                "TopicArn": arn,
            }
            for email, sub_arn in pairs
        ]
    }


def test_pending_email_subscriptions_count_as_present(aws: Any, stubbed_sns: Stubber) -> None:
    spec = TopicSpec(name=unique(), emails=("ops@example.com",), tags=TAGS)
    arn = aws.context().arn("sns", spec.name)
    stubbed_sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": arn}}, {"TopicArn": arn})
    stubbed_sns.add_response(
        "list_tags_for_resource", {"Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}
    )
    stubbed_sns.add_response(
        "list_subscriptions_by_topic",
        _subscriptions(arn, ("ops@example.com", "PendingConfirmation")),
        {"TopicArn": arn},
    )
    read_back(TopicProvisioner(aws), spec)


def test_removing_emails_unsubscribes_confirmed_ones_and_skips_pending(
    aws: Any, stubbed_sns: Stubber
) -> None:
    before = TopicSpec(name=unique(), emails=("gone@example.com", "pending@example.com"), tags=TAGS)
    arn = aws.context().arn("sns", before.name)
    confirmed_arn = f"{arn}:0b6a4c1e-1111-2222-3333-444455556666"
    stubbed_sns.add_response(
        "subscribe",
        {"SubscriptionArn": "pending confirmation"},
        {"TopicArn": arn, "Protocol": "email", "Endpoint": "new@example.com"},
    )
    stubbed_sns.add_response(
        "list_subscriptions_by_topic",
        _subscriptions(
            arn, ("gone@example.com", confirmed_arn), ("pending@example.com", "PendingConfirmation")
        ),
        {"TopicArn": arn},
    )
    # Exactly one Unsubscribe, for the confirmed address: the Stubber fails on any other call.
    stubbed_sns.add_response("unsubscribe", {}, {"SubscriptionArn": confirmed_arn})
    desired = dataclasses.replace(before, emails=("new@example.com",))
    assert TopicProvisioner(aws).update(desired, Observed(before, {"arn": arn})) == {"arn": arn}
