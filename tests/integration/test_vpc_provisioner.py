"""Lifecycle, ownership and deletion quirks of the VPC provisioner, and a whole network built and torn down, against
the moto server."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError, PlanError
from batchctl.provisioners import build_provisioners
from batchctl.provisioners.ec2_teardown import VPC_DELETE_TIMEOUT_S
from batchctl.provisioners.vpc import VpcProvisioner
from batchctl.specs import (
    InternetGatewaySpec,
    Key,
    Observed,
    Ref,
    RouteTableSpec,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
    fill_refs,
)
from tests.support.provisioners import FakeTime, read_back, tags, unique


def test_vpc_lifecycle(aws: Any, boto: Any) -> None:
    prov = VpcProvisioner(aws)
    name = unique()
    spec = VpcSpec(name=name, cidr_block="10.20.0.0/16", tags=tags(name))
    assert prov.read(spec) is None

    vpc_id = prov.create(spec)["id"]
    assert vpc_id.startswith("vpc-")
    observed = read_back(prov, spec)
    assert observed.outputs == {"id": vpc_id}
    ec2 = boto.client("ec2")
    for attribute, field in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        assert ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)[field]["Value"] is True

    changed = dataclasses.replace(spec, tags={**tags(name), "team": "data"})
    assert prov.update(changed, observed) == {"id": vpc_id}
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"] == []


def test_vpc_tag_update_touches_only_changed_keys(aws: Any, recorder: Any) -> None:
    prov = VpcProvisioner(aws)
    name = unique()
    spec = VpcSpec(name=name, cidr_block="10.20.0.0/16", tags=tags(name, team="data", old="x"))
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None

    recorder.calls.clear()
    prov.update(dataclasses.replace(spec, tags=tags(name, team="ml")), observed)
    assert recorder.mutating == ["ec2:DeleteTags", "ec2:CreateTags"]


def test_untagged_vpc_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("ec2").create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    with pytest.raises(NotManagedError, match="no batchctl tags"):
        VpcProvisioner(aws).read(VpcSpec(name=name, cidr_block="10.0.0.0/16", tags=tags(name)))


def test_vpc_of_another_stage_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    other = {**tags(name), "batchctl:stage": "prod"}
    boto.client("ec2").create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": k, "Value": v} for k, v in other.items()]}
        ],
    )
    with pytest.raises(NotManagedError, match="batchctl:stage=prod"):
        VpcProvisioner(aws).read(VpcSpec(name=name, cidr_block="10.0.0.0/16", tags=tags(name)))


def test_our_vpc_is_preferred_over_a_foreign_one_with_the_same_name(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("ec2").create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    prov = VpcProvisioner(aws)
    spec = VpcSpec(name=name, cidr_block="10.1.0.0/16", tags=tags(name))
    vpc_id = prov.create(spec)["id"]

    observed = prov.read(spec)
    assert observed is not None
    assert observed.outputs == {"id": vpc_id}
    assert observed.state == spec


def test_two_of_our_vpcs_with_one_name_is_an_error(aws: Any) -> None:
    prov = VpcProvisioner(aws)
    name = unique()
    spec = VpcSpec(name=name, cidr_block="10.1.0.0/16", tags=tags(name))
    first = prov.create(spec)["id"]
    second = prov.create(spec)["id"]
    with pytest.raises(PlanError, match="ambiguous: 2 VPCs") as info:
        prov.read(spec)
    assert first in str(info.value)
    assert second in str(info.value)


def test_vpc_delete_retries_dependency_violation_until_it_clears(
    timed_aws: Aws, boto: Any, fake_time: FakeTime
) -> None:
    prov = VpcProvisioner(timed_aws)
    name = unique()
    spec = VpcSpec(name=name, cidr_block="10.0.0.0/16", tags=tags(name))
    vpc_id = prov.create(spec)["id"]
    ec2 = boto.client("ec2")
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    observed = prov.read(spec)
    assert observed is not None

    # The subnet (think: a compute environment's leftovers) goes away while we wait.
    fake_time.on_sleep.append(lambda: ec2.delete_subnet(SubnetId=subnet_id))
    prov.delete(observed)

    # The first DeleteVpc failed with DependencyViolation; one wait later the second one succeeded.
    assert len(fake_time.sleeps) == 1
    assert prov.read(spec) is None


def test_vpc_delete_gives_up_after_its_bound(timed_aws: Aws, boto: Any, fake_time: FakeTime) -> None:
    prov = VpcProvisioner(timed_aws)
    name = unique()
    spec = VpcSpec(name=name, cidr_block="10.0.0.0/16", tags=tags(name))
    vpc_id = prov.create(spec)["id"]
    boto.client("ec2").create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")
    observed = prov.read(spec)
    assert observed is not None

    with pytest.raises(AwsError) as info:
        prov.delete(observed)
    assert info.value.code == "DependencyViolation"
    assert VPC_DELETE_TIMEOUT_S <= fake_time.now < VPC_DELETE_TIMEOUT_S + 10
    assert prov.read(spec) is not None


def network_specs(project: str) -> list[Any]:
    prefix = f"{project}-dev"
    vpc = VpcSpec(name=f"{prefix}-vpc", cidr_block="10.42.0.0/16", tags=tags(f"{prefix}-vpc", project))
    vpc_id = Ref(vpc.key, "id")
    subnets = [
        SubnetSpec(
            name=f"{prefix}-public-{i}",
            vpc_id=vpc_id,
            cidr_block=f"10.42.{i}.0/24",
            az_index=i,
            tags=tags(f"{prefix}-public-{i}", project),
        )
        for i in range(2)
    ]
    igw = InternetGatewaySpec(name=f"{prefix}-igw", vpc_id=vpc_id, tags=tags(f"{prefix}-igw", project))
    table = RouteTableSpec(
        name=f"{prefix}-public",
        vpc_id=vpc_id,
        routes=(("0.0.0.0/0", Ref(igw.key, "id")),),
        subnet_ids=tuple(Ref(s.key, "id") for s in subnets),
        tags=tags(f"{prefix}-public", project),
    )
    group = SecurityGroupSpec(
        name=f"{prefix}-jobs",
        vpc_id=vpc_id,
        description="batchctl jobs: egress only",
        tags=tags(f"{prefix}-jobs", project),
    )
    return [vpc, *subnets, igw, table, group]


def sorted_ids(spec: Any) -> Any:
    """RouteTableSpec.subnet_ids is sorted by ID, which Refs cannot be until they are filled: sort them then."""
    if isinstance(spec, RouteTableSpec):
        return dataclasses.replace(spec, subnet_ids=tuple(sorted(str(s) for s in spec.subnet_ids)))
    return spec


def test_network_built_and_torn_down_in_reverse_leaves_nothing(aws: Any, boto: Any) -> None:
    project = unique()
    specs = network_specs(project)
    provs = build_provisioners(aws)  # the registry's VPC, subnet, gateway, route table and group provisioners
    assert all(provs[s.kind].read(s) is None for s in specs)

    outputs: dict[Key, Any] = {}
    for spec in specs:  # already in dependency order
        outputs[spec.key] = provs[spec.kind].create(fill_refs(spec, outputs))

    observed: list[Observed] = []
    for spec in specs:  # read the raw specs, Refs and all, as the engine does
        found = provs[spec.kind].read(spec)
        assert found is not None
        assert found.state == sorted_ids(fill_refs(spec, outputs)), spec.key
        assert found.outputs == outputs[spec.key]
        observed.append(found)

    for found in reversed(observed):
        provs[found.state.kind].delete(found)

    ec2 = boto.client("ec2")
    mine = [{"Name": "tag:batchctl:project", "Values": [project]}]
    assert ec2.describe_vpcs(Filters=mine)["Vpcs"] == []
    assert ec2.describe_subnets(Filters=mine)["Subnets"] == []
    assert ec2.describe_internet_gateways(Filters=mine)["InternetGateways"] == []
    assert ec2.describe_route_tables(Filters=mine)["RouteTables"] == []
    assert ec2.describe_security_groups(Filters=mine)["SecurityGroups"] == []
