"""The EC2 network provisioners' pure halves: the exact Create requests (tagged at birth with the Name tag read
finds them by) and the Describe answers read back (`from_described`) as the spec they came from."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from batchctl.provisioners.route_table import RouteTableProvisioner
from batchctl.provisioners.vpc import (
    InternetGatewayProvisioner,
    SecurityGroupProvisioner,
    SubnetProvisioner,
    VpcProvisioner,
)
from batchctl.specs import (
    InternetGatewaySpec,
    Key,
    Kind,
    Ref,
    RouteTableSpec,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
)

OWNED = {"batchctl:project": "demo", "batchctl:stage": "dev"}
ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def tags(name: str) -> dict[str, str]:
    return {"Name": name, **OWNED}


def tag_list(name: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags(name).items())]


def described(request: dict[str, Any], **answer: Any) -> dict[str, Any]:
    """What Describe* answers for a resource created by `request`: its TagSpecifications become Tags."""
    (specification,) = request.pop("TagSpecifications")
    return request | {"Tags": specification["Tags"]} | answer


VPC = VpcSpec(name="demo-dev-vpc", cidr_block="10.42.0.0/16", tags=tags("demo-dev-vpc"))
SUBNET = SubnetSpec(
    name="demo-dev-public-1",
    vpc_id="vpc-1",
    cidr_block="10.42.1.0/24",
    az_index=1,
    tags=tags("demo-dev-public-1"),
)
IGW = InternetGatewaySpec(name="demo-dev-igw", vpc_id="vpc-1", tags=tags("demo-dev-igw"))
TABLE = RouteTableSpec(
    name="demo-dev-public",
    vpc_id="vpc-1",
    routes=(("0.0.0.0/0", "igw-1"),),
    subnet_ids=("subnet-1", "subnet-2"),
    tags=tags("demo-dev-public"),
)
GROUP = SecurityGroupSpec(
    name="demo-dev-jobs", vpc_id="vpc-1", description="batchctl jobs: egress only", tags=tags("demo-dev-jobs")
)


# ---- VPC -----------------------------------------------------------------------------------------------------
def test_vpc_request_is_tagged_at_birth_with_its_name() -> None:
    assert VpcProvisioner.to_request(VPC) == {
        "CidrBlock": "10.42.0.0/16",
        "TagSpecifications": [{"ResourceType": "vpc", "Tags": tag_list("demo-dev-vpc")}],
    }


def test_the_name_tag_is_sent_even_when_the_spec_tags_lack_it() -> None:
    request = VpcProvisioner.to_request(dataclasses.replace(VPC, tags=OWNED))
    assert request["TagSpecifications"][0]["Tags"] == tag_list("demo-dev-vpc")


def test_vpc_round_trips() -> None:
    answer = described(VpcProvisioner.to_request(VPC), VpcId="vpc-1", State="available")
    assert VpcProvisioner.from_described(answer) == VPC


# ---- Subnets -------------------------------------------------------------------------------------------------
def test_subnet_request_picks_the_az_index_th_zone() -> None:
    assert SubnetProvisioner.to_request(SUBNET, zones=ZONES) == {
        "VpcId": "vpc-1",
        "CidrBlock": "10.42.1.0/24",
        "AvailabilityZone": "eu-west-1b",
        "TagSpecifications": [{"ResourceType": "subnet", "Tags": tag_list("demo-dev-public-1")}],
    }


def test_subnet_request_with_an_unfilled_vpc_ref_is_a_bug() -> None:
    unfilled = dataclasses.replace(SUBNET, vpc_id=Ref(Key(Kind.VPC, "demo-dev-vpc"), "id"))
    with pytest.raises(TypeError, match=re.escape("vpc_id is still ec2.vpc/demo-dev-vpc.id")):
        SubnetProvisioner.to_request(unfilled, zones=ZONES)


def test_subnet_round_trips_and_an_unlisted_zone_reads_as_minus_one() -> None:
    answer = described(SubnetProvisioner.to_request(SUBNET, zones=ZONES), MapPublicIpOnLaunch=True)
    assert SubnetProvisioner.from_described(answer, zones=ZONES) == SUBNET
    # A zone no longer listed: diff then plans a replacement.
    assert SubnetProvisioner.from_described(answer, zones=["eu-west-1a"]).az_index == -1
    private = SubnetProvisioner.from_described(answer | {"MapPublicIpOnLaunch": False}, zones=ZONES)
    assert private.map_public_ip_on_launch is False


# ---- Internet gateway ----------------------------------------------------------------------------------------
def test_internet_gateway_request_only_tags_it() -> None:
    assert InternetGatewayProvisioner.to_request(IGW) == {
        "TagSpecifications": [{"ResourceType": "internet-gateway", "Tags": tag_list("demo-dev-igw")}]
    }


def test_internet_gateway_reads_its_attached_vpc() -> None:
    request = InternetGatewayProvisioner.to_request(IGW)
    attached = described(dict(request), Attachments=[{"VpcId": "vpc-1", "State": "available"}])
    assert InternetGatewayProvisioner.from_described(attached) == IGW
    detaching = described(dict(request), Attachments=[{"VpcId": "vpc-1", "State": "detaching"}])
    assert InternetGatewayProvisioner.from_described(detaching) == dataclasses.replace(IGW, vpc_id="")


# ---- Route table ---------------------------------------------------------------------------------------------
def test_route_table_request_names_its_vpc() -> None:
    assert RouteTableProvisioner.to_request(TABLE) == {
        "VpcId": "vpc-1",
        "TagSpecifications": [{"ResourceType": "route-table", "Tags": tag_list("demo-dev-public")}],
    }


def test_route_table_reads_only_the_routes_and_associations_it_manages() -> None:
    answer = described(
        RouteTableProvisioner.to_request(TABLE),
        Routes=[
            {"DestinationCidrBlock": "10.42.0.0/16", "GatewayId": "local"},
            {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"},
            {
                "DestinationCidrBlock": "172.16.0.0/12",
                "GatewayId": "vgw-1",
                "Origin": "EnableVgwRoutePropagation",
            },
            {"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"},
        ],
        Associations=[
            {"Main": True, "RouteTableAssociationId": "rtbassoc-0"},
            {"SubnetId": "subnet-2", "RouteTableAssociationId": "rtbassoc-2"},
            {"SubnetId": "subnet-1", "RouteTableAssociationId": "rtbassoc-1"},
            {
                "SubnetId": "subnet-3",
                "RouteTableAssociationId": "rtbassoc-3",
                "AssociationState": {"State": "disassociated"},
            },
        ],
    )
    assert RouteTableProvisioner.from_described(answer) == TABLE


# ---- Security group ------------------------------------------------------------------------------------------
def test_security_group_request_names_the_group_as_the_spec() -> None:
    assert SecurityGroupProvisioner.to_request(GROUP) == {
        "GroupName": "demo-dev-jobs",
        "Description": "batchctl jobs: egress only",
        "VpcId": "vpc-1",
        "TagSpecifications": [{"ResourceType": "security-group", "Tags": tag_list("demo-dev-jobs")}],
    }


def test_security_group_round_trips_and_without_a_name_tag_is_named_by_its_group_name() -> None:
    answer = described(SecurityGroupProvisioner.to_request(GROUP), GroupId="sg-1")
    assert SecurityGroupProvisioner.from_described(answer) == GROUP
    untagged = answer | {"Tags": [{"Key": k, "Value": v} for k, v in sorted(OWNED.items())]}
    assert SecurityGroupProvisioner.from_described(untagged) == dataclasses.replace(GROUP, tags=OWNED)
