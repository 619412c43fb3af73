"""Lifecycle, ownership and subnet associations of the route table provisioner against the moto server."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from batchctl.errors import AwsError, NotManagedError
from batchctl.provisioners.route_table import RouteTableProvisioner
from batchctl.specs import RouteTableSpec
from tests.support.provisioners import make_igw, make_subnet, make_vpc, name_filter, read_back, tags, unique


def test_route_table_lifecycle(aws: Any, boto: Any, recorder: Any) -> None:
    vpc_id = make_vpc(aws)
    igw_id = make_igw(aws, vpc_id)
    first = make_subnet(aws, vpc_id, "10.0.1.0/24", 0)
    second = make_subnet(aws, vpc_id, "10.0.2.0/24", 1)
    ec2 = boto.client("ec2")
    vgw_id = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpnGatewayId=vgw_id, VpcId=vpc_id)

    prov = RouteTableProvisioner(aws)
    name = unique()
    spec = RouteTableSpec(
        name=name,
        vpc_id=vpc_id,
        routes=(("0.0.0.0/0", igw_id), ("172.16.0.0/12", vgw_id), ("192.168.0.0/16", vgw_id)),
        subnet_ids=(first,),
        tags=tags(name),
    )
    assert prov.read(spec) is None

    table_id = prov.create(spec)["id"]
    observed = read_back(prov, spec)
    assert observed.outputs == {"id": table_id}

    changed = dataclasses.replace(
        spec,
        routes=(("0.0.0.0/0", igw_id), ("10.200.0.0/16", vgw_id), ("192.168.0.0/16", igw_id)),
        subnet_ids=(second,),
        tags={**tags(name), "team": "ml"},
    )
    recorder.calls.clear()
    prov.update(changed, observed)
    assert recorder.mutating == [
        "ec2:DeleteRoute",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
        "ec2:DisassociateRouteTable",
        "ec2:AssociateRouteTable",
        "ec2:CreateTags",
    ]
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    # The VPC's main route table is not ours and stays.
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    assert [[a["Main"] for a in t["Associations"]] for t in tables] == [[True]]


def test_route_table_takes_over_a_subnet_associated_elsewhere(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    subnet_id = make_subnet(aws, vpc_id, "10.0.1.0/24")
    ec2 = boto.client("ec2")
    other = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=subnet_id)

    prov = RouteTableProvisioner(aws)
    name = unique()
    spec = RouteTableSpec(name=name, vpc_id=vpc_id, subnet_ids=(subnet_id,), tags=tags(name))
    prov.create(spec)

    read_back(prov, spec)
    (left,) = ec2.describe_route_tables(RouteTableIds=[other])["RouteTables"]
    assert left["Associations"] == []


def test_route_table_failed_create_leaves_nothing(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    subnet_id = make_subnet(aws, vpc_id, "10.0.1.0/24")
    name = unique()
    spec = RouteTableSpec(
        name=name,
        vpc_id=vpc_id,
        routes=(("0.0.0.0/0", "igw-0123456789abcdef0"),),
        subnet_ids=(subnet_id,),
        tags=tags(name),
    )
    with pytest.raises(AwsError) as info:
        RouteTableProvisioner(aws).create(spec)
    assert info.value.code == "InvalidInternetGatewayID.NotFound"
    assert boto.client("ec2").describe_route_tables(Filters=name_filter(name))["RouteTables"] == []


def test_untagged_route_table_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    name = unique()
    boto.client("ec2").create_route_table(
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        RouteTableProvisioner(aws).read(RouteTableSpec(name=name, vpc_id=vpc_id, tags=tags(name)))
