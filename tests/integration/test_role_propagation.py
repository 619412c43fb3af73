"""Creates that take a fresh role wait for IAM to propagate, as AWS makes them (strict sandbox: a new role is not
assumable for a while, with each service's own error)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from batchctl import sandbox
from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners import scheduler
from batchctl.provisioners.scheduler import ScheduleGroupProvisioner, ScheduleProvisioner
from batchctl.sandbox import StrictOptions
from batchctl.specs import ScheduleGroupSpec
from tests.integration.test_sandbox_strict import role, unique
from tests.integration.test_scheduler_provisioner import TAGS, schedule_spec

SCALE = (
    0.5  # a new role is not assumable for about 5 s (the bounded test makes its ~30 calls well within that)
)


@pytest.fixture(scope="module")
def strict_url() -> Iterator[str]:
    box = sandbox.start(port=0, use_docker=False, strict=StrictOptions(time_scale=SCALE))
    assert box.relay is not None
    box.relay.stop()
    try:
        yield box.url
    finally:
        box.stop()


def connect(url: str, *, sleep: Callable[[float], None] | None = None) -> Aws:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    return Aws(session, endpoint_url=url, **({"sleep": sleep} if sleep else {}))


def test_a_schedule_created_right_after_its_role_waits_for_the_role(strict_url: str) -> None:
    aws = connect(strict_url)
    raw: Any = aws.client("iam")
    group = unique()
    ScheduleGroupProvisioner(aws).create(ScheduleGroupSpec(name=group, tags=TAGS))
    fresh = role(lambda service: aws.client(service), "scheduler.amazonaws.com", settled=False)
    assert raw.get_role(RoleName=fresh.rsplit("/", 1)[1])["Role"]["Arn"] == fresh

    outputs = ScheduleProvisioner(aws).create(schedule_spec(group, role_arn=fresh))

    assert outputs["arn"].endswith(f"schedule/{group}/{group}-job")


def test_the_wait_is_bounded_and_names_scheduler_s_refusal(
    strict_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds  # fake time: the role never settles within the bound

    aws = connect(strict_url, sleep=sleep)
    aws.clock = lambda: clock[0]
    group = unique()
    ScheduleGroupProvisioner(aws).create(ScheduleGroupSpec(name=group, tags=TAGS))
    fresh = role(lambda service: aws.client(service), "scheduler.amazonaws.com", settled=False)

    with pytest.raises(AwsError) as caught:
        ScheduleProvisioner(aws).create(schedule_spec(group, role_arn=fresh))

    assert caught.value.code == "ValidationException"
    assert "assume the role" in caught.value.message
    assert clock[0] >= scheduler.ROLE_PROPAGATION_TIMEOUT_S
