"""Lifecycle and ownership of the subnet provisioner against the moto server (the network interfaces in a subnet
being deleted: test_foreign_enis.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from batchctl.errors import NotManagedError, PlanError
from batchctl.provisioners.vpc import SubnetProvisioner
from batchctl.specs import Key, Kind, Ref, SubnetSpec
from tests.support.provisioners import make_vpc, name_filter, read_back, tags, unique


def test_subnet_lifecycle(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    prov = SubnetProvisioner(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=1, tags=tags(name))
    assert prov.read(spec) is None

    subnet_id = prov.create(spec)["id"]
    observed = read_back(prov, spec)
    assert observed.outputs == {"id": subnet_id}
    ec2 = boto.client("ec2")
    zones = sorted(
        z["ZoneName"]
        for z in ec2.describe_availability_zones()["AvailabilityZones"]
        if z["State"] == "available" and z["ZoneType"] == "availability-zone"
    )
    (live,) = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    assert live["AvailabilityZone"] == zones[1]
    assert live["MapPublicIpOnLaunch"] is True

    changed = dataclasses.replace(spec, map_public_ip_on_launch=False, tags={**tags(name), "team": "ml"})
    prov.update(changed, observed)
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None


def test_subnet_read_with_unfilled_vpc_ref(aws: Any) -> None:
    # The engine reads raw specs, whose vpc_id may still be a Ref: reads find by Name tag alone.
    vpc_id = make_vpc(aws)
    prov = SubnetProvisioner(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=0, tags=tags(name))
    subnet_id = prov.create(spec)["id"]

    raw = dataclasses.replace(spec, vpc_id=Ref(Key(Kind.VPC, "demo-dev-vpc"), "id"))
    observed = prov.read(raw)
    assert observed is not None
    assert observed.outputs == {"id": subnet_id}
    assert observed.state == spec


def test_subnet_az_index_out_of_range_creates_nothing(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=9, tags=tags(name))
    with pytest.raises(PlanError, match="az_index 9 is out of range"):
        SubnetProvisioner(aws).create(spec)
    assert boto.client("ec2").describe_subnets(Filters=name_filter(name))["Subnets"] == []


def test_untagged_subnet_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    name = unique()
    boto.client("ec2").create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.1.0/24",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=0, tags=tags(name))
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        SubnetProvisioner(aws).read(spec)
