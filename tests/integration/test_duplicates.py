"""Duplicates of ours (issue 14, item 5b): two commands that once ran at the same time left a second internet
gateway, route table or security group tagged for the stage under the same Name. `plan` shows the extras as
deletes (no "is ambiguous" dead end), `deploy` keeps the one in use (attached to our VPC, associated with our
subnets, used by the compute environment) and deletes the others; `destroy` deletes them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, leftovers

SMALL = """version: 1
project: demo
stage: dev
image: {uri: "public.ecr.aws/docker/library/busybox:latest"}
network: {cidr: 10.20.0.0/24}
compute: {type: FARGATE, max_vcpus: 4}
jobs:
  hello:
    command: [echo, hi]
"""
OURS = [{"Key": "batchctl:project", "Value": "demo"}, {"Key": "batchctl:stage", "Value": "dev"}]
BY_TAG = [
    {"Name": "tag:batchctl:project", "Values": ["demo"]},
    {"Name": "tag:batchctl:stage", "Values": ["dev"]},
]


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["-c", str(config), *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def tagged(resource_type: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [*OURS, {"Key": "Name", "Value": name}]}]


def network(ec2: Any) -> dict[str, list[str]]:
    """IDs of the stage's tagged internet gateways, route tables and security groups, sorted."""
    return {
        "igw": sorted(
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=BY_TAG)["InternetGateways"]
        ),
        "rtb": sorted(t["RouteTableId"] for t in ec2.describe_route_tables(Filters=BY_TAG)["RouteTables"]),
        "sg": sorted(g["GroupId"] for g in ec2.describe_security_groups(Filters=BY_TAG)["SecurityGroups"]),
    }


def make_duplicates(ec2: Any) -> dict[str, str]:
    """A second gateway (detached), route table (no subnet) and security group (unused) under our Names."""
    (vpc,) = ec2.describe_vpcs(Filters=BY_TAG)["Vpcs"]
    igw = ec2.create_internet_gateway(TagSpecifications=tagged("internet-gateway", "demo-dev-igw"))
    table = ec2.create_route_table(
        VpcId=vpc["VpcId"], TagSpecifications=tagged("route-table", "demo-dev-public")
    )
    group = ec2.create_security_group(
        GroupName="demo-dev-batch-2",
        Description="a second one",
        VpcId=vpc["VpcId"],
        TagSpecifications=tagged("security-group", "demo-dev-batch"),
    )
    return {
        "igw": igw["InternetGateway"]["InternetGatewayId"],
        "rtb": table["RouteTable"]["RouteTableId"],
        "sg": group["GroupId"],
    }


def test_plan_shows_duplicates_and_deploy_keeps_the_ones_in_use(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text(SMALL)
    assert cli(config, "deploy", "--yes").exit_code == 0
    ec2 = boto.client("ec2")
    before = network(ec2)
    extra = make_duplicates(ec2)

    planned = cli(config, "plan", "-o", "json")
    assert planned.exit_code == 0, planned.output
    deletes = sorted(
        c["key"] for c in json.loads(planned.stdout)["plan"]["changes"] if c["action"] == "delete"
    )
    assert deletes == sorted(
        [
            f"ec2.internet_gateway/demo-dev-igw@{extra['igw']}",
            f"ec2.route_table/demo-dev-public@{extra['rtb']}",
            f"ec2.security_group/demo-dev-batch@{extra['sg']}",
        ]
    )
    text = cli(config, "plan")
    assert "3 duplicate(s) to delete" in text.stdout
    assert f"demo-dev-igw@{extra['igw']}" in text.stdout
    assert cli(config, "plan", "--check").exit_code == 5

    deployed = cli(config, "deploy", "--yes")
    assert deployed.exit_code == 0, deployed.output
    assert network(ec2) == before
    (environment,) = boto.client("batch").describe_compute_environments(
        computeEnvironments=["demo-dev-compute"]
    )["computeEnvironments"]
    assert environment["computeResources"]["securityGroupIds"] == before["sg"]
    assert cli(config, "plan", "--check").exit_code == 0


def test_destroy_deletes_duplicates_too(aws_env: str, boto: Any, tmp_path: Path) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text(SMALL)
    assert cli(config, "deploy", "--yes").exit_code == 0
    make_duplicates(boto.client("ec2"))
    destroyed = cli(config, "destroy", "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert leftovers(boto, "demo", "dev") == []
