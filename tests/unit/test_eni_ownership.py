"""Which network interfaces a subnet or security group delete may remove, decided on DescribeNetworkInterfaces
items shaped as AWS answers them: only the ENIs ECS created for our compute environment's tasks."""

from __future__ import annotations

from typing import Any

import pytest

from batchctl.provisioners.ec2_teardown import EniFate, describe_eni, eni_fate

ACCOUNT = "123456789012"


def eni(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "NetworkInterfaceId": "eni-0a1b2c3d4e5f60718",
        "SubnetId": "subnet-0f1e2d3c4b5a69788",
        "Status": "available",
        "InterfaceType": "interface",
        "OwnerId": ACCOUNT,
        "RequesterManaged": False,
        "RequesterId": "AIDAEXAMPLEUSER",
        "Description": "",
        "TagSet": [],
    }
    return {**base, **fields}


FARGATE_TASK = eni(
    Description=f"arn:aws:ecs:eu-west-1:{ACCOUNT}:attachment/f6d9fc22-dbaf-4bff-b501-a41b41f27826",
    RequesterManaged=True,
    RequesterId="578734482556",
)
BRANCH_TASK = {**FARGATE_TASK, "InterfaceType": "branch"}
BATCH_EC2_INSTANCE = eni(
    Status="in-use",
    Attachment={
        "AttachmentId": "eni-attach-0dec5ba850b1f7693",
        "InstanceId": "i-0123456789abcdef0",
        "InstanceOwnerId": ACCOUNT,
        "DeleteOnTermination": True,
        "DeviceIndex": 0,
        "Status": "attached",
    },
)
LAMBDA = eni(
    Description="AWS Lambda VPC ENI-report-9f0e2c1a-1c9b-4a57-9e4e-5a7c2b1d3e4f",
    RequesterManaged=True,
    RequesterId="AROAEXAMPLELAMBDA:6f1e2d3c4b5a",
    InterfaceType="lambda",
)
NAT_GATEWAY = eni(
    Description="Interface for NAT Gateway nat-0a1b2c3d4e5f60718",
    RequesterManaged=True,
    RequesterId="amazon-aws",
    InterfaceType="nat_gateway",
)
USER = eni(Description="debugging interface", TagSet=[{"Key": "owner", "Value": "alice"}])


@pytest.mark.parametrize(
    ("item", "fate"),
    [
        pytest.param(FARGATE_TASK, EniFate.DELETE, id="fargate-task-released"),
        pytest.param({**FARGATE_TASK, "Status": "in-use"}, EniFate.WAIT, id="fargate-task-in-use"),
        pytest.param(BRANCH_TASK, EniFate.DELETE, id="branch-task-released"),
        pytest.param(BATCH_EC2_INSTANCE, EniFate.WAIT, id="batch-ec2-instance"),
        pytest.param(LAMBDA, EniFate.FOREIGN, id="lambda"),
        pytest.param(NAT_GATEWAY, EniFate.FOREIGN, id="nat-gateway"),
        pytest.param(USER, EniFate.FOREIGN, id="user"),
        pytest.param({**FARGATE_TASK, "RequesterManaged": False}, EniFate.FOREIGN, id="ecs-look-alike"),
        pytest.param({**FARGATE_TASK, "InterfaceType": "vpc_endpoint"}, EniFate.FOREIGN, id="endpoint-type"),
        pytest.param(
            {**FARGATE_TASK, "Description": FARGATE_TASK["Description"] + " (copied)"},
            EniFate.FOREIGN,
            id="description-with-more",
        ),
        pytest.param(
            {
                **BATCH_EC2_INSTANCE,
                "Attachment": {**BATCH_EC2_INSTANCE["Attachment"], "DeleteOnTermination": False},
            },
            EniFate.FOREIGN,
            id="attached-to-stay",
        ),
    ],
)
def test_eni_fate(item: dict[str, Any], fate: EniFate) -> None:
    assert eni_fate(item) is fate


def test_ecs_task_description_in_other_partitions() -> None:
    gov = {**FARGATE_TASK, "Description": f"arn:aws-us-gov:ecs:us-gov-west-1:{ACCOUNT}:attachment/ab12-cd34"}
    assert eni_fate(gov) is EniFate.DELETE


def test_describe_eni_names_id_description_requester_and_tags() -> None:
    assert describe_eni(USER) == (
        "eni-0a1b2c3d4e5f60718 (description 'debugging interface', requester AIDAEXAMPLEUSER, tags owner=alice)"
    )
    assert describe_eni({"NetworkInterfaceId": "eni-1"}) == (
        "eni-1 (description '', requester unknown, tags none)"
    )
