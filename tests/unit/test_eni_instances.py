"""An instance's own ENI in our subnet (issue 14): waited on only when the instance is one of our compute
environment's (it runs with the stage's instance profile) or is going away; any other instance's is foreign at
once."""

from __future__ import annotations

from typing import Any

import pytest

from batchctl.provisioners.ec2_teardown import EniFate, describe_eni, eni_fate

PROFILE = "arn:aws:iam::123456789012:instance-profile/demo-dev-instance"


def eni(instance_id: str = "i-1", *, delete_on_termination: bool = True) -> dict[str, Any]:
    return {
        "NetworkInterfaceId": "eni-1",
        "Description": "",
        "RequesterManaged": False,
        "Status": "in-use",
        "Attachment": {"InstanceId": instance_id, "DeleteOnTermination": delete_on_termination},
    }


def instance(state: str = "running", profile: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"InstanceId": "i-1", "State": {"Name": state}}
    if profile:
        found["IamInstanceProfile"] = {"Arn": profile}
    return found


@pytest.mark.parametrize(
    ("described", "fate"),
    [
        (instance(profile=PROFILE), EniFate.WAIT),
        (instance(), EniFate.FOREIGN),
        (instance(profile="arn:aws:iam::123456789012:instance-profile/other"), EniFate.FOREIGN),
        (instance("stopped", profile="arn:aws:iam::123456789012:instance-profile/other"), EniFate.FOREIGN),
        (instance("shutting-down"), EniFate.WAIT),
        (instance("terminated"), EniFate.WAIT),
    ],
)
def test_an_instance_eni_is_waited_on_only_for_our_instances_or_leaving_ones(
    described: dict[str, Any], fate: EniFate
) -> None:
    assert eni_fate(eni(), instances={"i-1": described}, profile_arn=PROFILE) is fate


def test_an_instance_gone_meanwhile_is_waited_on() -> None:
    assert eni_fate(eni(), instances={}, profile_arn=PROFILE) is EniFate.WAIT


def test_an_eni_that_outlives_its_instance_is_foreign_whoever_runs_it() -> None:
    ours = {"i-1": instance(profile=PROFILE)}
    assert eni_fate(eni(delete_on_termination=False), instances=ours, profile_arn=PROFILE) is EniFate.FOREIGN


def test_without_a_profile_to_compare_a_running_instance_is_foreign() -> None:
    assert eni_fate(eni(), instances={"i-1": instance(profile=PROFILE)}) is EniFate.FOREIGN


def test_the_description_names_the_instance() -> None:
    assert "attached to instance i-1" in describe_eni(eni())
