"""Duplicates of ours (issue 14, item 5b): two commands that once ran at the same time left a second internet
gateway, route table or security group tagged for the stage under the same Name. `plan` shows the extras as
deletes (no "is ambiguous" dead end), `deploy` keeps the one in use (attached to our VPC, associated with our
subnets, used by the compute environment) and deletes the others; `destroy` deletes them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.reliability_support import OURS, SMALL, cli, leftovers

BY_TAG = [
    {"Name": "tag:batchctl:project", "Values": ["demo"]},
    {"Name": "tag:batchctl:stage", "Values": ["dev"]},
]


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


def test_the_one_in_use_is_kept_even_when_it_is_the_newer_one(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text(SMALL)
    assert cli(config, "deploy", "--yes").exit_code == 0
    ec2 = boto.client("ec2")
    first = network(ec2)
    extra = make_duplicates(ec2)
    (vpc,) = ec2.describe_vpcs(Filters=BY_TAG)["Vpcs"]
    # The new gateway takes the old one's place on our VPC; the new table takes the subnets and the route.
    ec2.detach_internet_gateway(InternetGatewayId=first["igw"][0], VpcId=vpc["VpcId"])
    ec2.attach_internet_gateway(InternetGatewayId=extra["igw"], VpcId=vpc["VpcId"])
    (old_table,) = ec2.describe_route_tables(RouteTableIds=first["rtb"])["RouteTables"]
    for association in old_table["Associations"]:
        if association.get("SubnetId"):
            ec2.replace_route_table_association(
                AssociationId=association["RouteTableAssociationId"], RouteTableId=extra["rtb"]
            )
    ec2.create_route(RouteTableId=extra["rtb"], DestinationCidrBlock="0.0.0.0/0", GatewayId=extra["igw"])

    planned = cli(config, "plan", "-o", "json")
    assert planned.exit_code == 0, planned.output
    deletes = {c["key"] for c in json.loads(planned.stdout)["plan"]["changes"] if c["action"] == "delete"}
    assert f"ec2.internet_gateway/demo-dev-igw@{first['igw'][0]}" in deletes
    assert f"ec2.route_table/demo-dev-public@{first['rtb'][0]}" in deletes
    assert (
        f"ec2.security_group/demo-dev-batch@{extra['sg']}" in deletes
    )  # the compute environment uses the first

    deployed = cli(config, "deploy", "--yes")
    assert deployed.exit_code == 0, deployed.output
    assert network(ec2) == {"igw": [extra["igw"]], "rtb": [extra["rtb"]], "sg": first["sg"]}
    assert cli(config, "plan", "--check").exit_code == 0
