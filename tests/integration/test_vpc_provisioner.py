"""Lifecycle, ownership and deletion quirks of the VPC, subnet, internet gateway, route table and security group
provisioners against the moto server."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import boto3
import pytest
from botocore.stub import Stubber

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError, PlanError
from batchctl.provisioners.vpc import (
    VPC_DELETE_TIMEOUT_S,
    InternetGatewayProvisioner,
    RouteTableProvisioner,
    SecurityGroupProvisioner,
    SubnetProvisioner,
    VpcProvisioner,
)
from batchctl.specs import (
    InternetGatewaySpec,
    Key,
    Kind,
    Observed,
    Ref,
    RouteTableSpec,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
    fill_refs,
)


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def tags(name: str, project: str = "demo", **extra: str) -> dict[str, str]:
    return {"Name": name, "batchctl:project": project, "batchctl:stage": "dev", **extra}


def name_filter(name: str) -> list[dict[str, Any]]:
    return [{"Name": "tag:Name", "Values": [name]}]


class FakeTime:
    """A clock that only moves when slept on; `on_sleep` hooks run at each sleep (things AWS does meanwhile)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: list[Callable[[], None]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def timed_aws(aws_env: str, fake_time: FakeTime, shared_botocore: Any) -> Aws:
    """Our Aws on the moto server with a fake clock, to test bounded retries without waiting."""
    return Aws(boto3.Session(botocore_session=shared_botocore), sleep=fake_time.sleep, clock=fake_time.clock)


def make_vpc(aws: Any, cidr: str = "10.0.0.0/16") -> str:
    name = unique()
    return VpcProvisioner(aws).create(VpcSpec(name=name, cidr_block=cidr, tags=tags(name)))["id"]


def make_subnet(aws: Any, vpc_id: str, cidr: str, az_index: int = 0) -> str:
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block=cidr, az_index=az_index, tags=tags(name))
    return SubnetProvisioner(aws).create(spec)["id"]


def make_igw(aws: Any, vpc_id: str) -> str:
    name = unique()
    return InternetGatewayProvisioner(aws).create(
        InternetGatewaySpec(name=name, vpc_id=vpc_id, tags=tags(name))
    )["id"]


# ---- VPC -----------------------------------------------------------------------------------------------------
def test_vpc_lifecycle(aws: Any, boto: Any) -> None:
    prov = VpcProvisioner(aws)
    name = unique()
    spec = VpcSpec(name=name, cidr_block="10.20.0.0/16", tags=tags(name))
    assert prov.read(spec) is None

    vpc_id = prov.create(spec)["id"]
    assert vpc_id.startswith("vpc-")
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert observed.outputs == {"id": vpc_id}
    ec2 = boto.client("ec2")
    for attribute, field in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        assert ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)[field]["Value"] is True

    changed = dataclasses.replace(spec, tags={**tags(name), "team": "data"})
    assert prov.update(changed, observed) == {"id": vpc_id}
    again = prov.read(changed)
    assert again is not None
    assert again.state == changed

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


# ---- Subnets -------------------------------------------------------------------------------------------------
def test_subnet_lifecycle(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    prov = SubnetProvisioner(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=1, tags=tags(name))
    assert prov.read(spec) is None

    subnet_id = prov.create(spec)["id"]
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
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
    again = prov.read(changed)
    assert again is not None
    assert again.state == changed

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


def test_subnet_delete_removes_leftover_network_interfaces(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    prov = SubnetProvisioner(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=0, tags=tags(name))
    subnet_id = prov.create(spec)["id"]
    ec2 = boto.client("ec2")
    eni = ec2.create_network_interface(SubnetId=subnet_id, Description="left behind by a Fargate task")
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    observed = prov.read(spec)
    assert observed is not None

    prov.delete(observed)

    found = ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": [eni_id]}])
    assert found["NetworkInterfaces"] == []
    assert prov.read(spec) is None


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


# ---- Internet gateway ----------------------------------------------------------------------------------------
def test_internet_gateway_lifecycle(aws: Any, boto: Any) -> None:
    first_vpc = make_vpc(aws, "10.0.0.0/16")
    second_vpc = make_vpc(aws, "10.1.0.0/16")
    prov = InternetGatewayProvisioner(aws)
    name = unique()
    spec = InternetGatewaySpec(name=name, vpc_id=first_vpc, tags=tags(name))
    assert prov.read(spec) is None

    igw_id = prov.create(spec)["id"]
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert observed.outputs == {"id": igw_id}

    changed = dataclasses.replace(spec, vpc_id=second_vpc, tags={**tags(name), "team": "ml"})
    prov.update(changed, observed)
    again = prov.read(changed)
    assert again is not None
    assert again.state == changed
    (live,) = boto.client("ec2").describe_internet_gateways(InternetGatewayIds=[igw_id])["InternetGateways"]
    assert [a["VpcId"] for a in live["Attachments"]] == [second_vpc]

    prov.delete(again)
    assert prov.read(spec) is None


def test_detached_internet_gateway_reads_empty_vpc_and_update_reattaches(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    prov = InternetGatewayProvisioner(aws)
    name = unique()
    spec = InternetGatewaySpec(name=name, vpc_id=vpc_id, tags=tags(name))
    igw_id = prov.create(spec)["id"]
    boto.client("ec2").detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)

    detached = prov.read(spec)
    assert detached is not None
    assert detached.state == dataclasses.replace(spec, vpc_id="")
    prov.update(spec, detached)
    again = prov.read(spec)
    assert again is not None
    assert again.state == spec


def test_untagged_internet_gateway_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("ec2").create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": name}]}]
    )
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        InternetGatewayProvisioner(aws).read(InternetGatewaySpec(name=name, vpc_id="vpc-1", tags=tags(name)))


def test_internet_gateway_detach_retries_mapped_public_addresses(timed_aws: Aws, fake_time: FakeTime) -> None:
    # moto never refuses a detach; AWS does while the VPC has mapped public addresses (AWS-QUIRKS 6).
    igw = {
        "InternetGatewayId": "igw-1",
        "Attachments": [{"State": "available", "VpcId": "vpc-1"}],
        "Tags": [],
    }
    by_id = {"Filters": [{"Name": "internet-gateway-id", "Values": ["igw-1"]}]}
    detach = {"InternetGatewayId": "igw-1", "VpcId": "vpc-1"}
    with Stubber(timed_aws.client("ec2")) as stub:
        stub.add_response("describe_internet_gateways", {"InternetGateways": [igw]}, by_id)
        stub.add_client_error(
            "detach_internet_gateway",
            service_error_code="DependencyViolation",
            service_message="Network vpc-1 has some mapped public address(es). Please unmap those public "
            "address(es) before detaching the gateway.",
            expected_params=detach,
        )
        stub.add_response("detach_internet_gateway", {}, detach)
        stub.add_response("delete_internet_gateway", {}, {"InternetGatewayId": "igw-1"})
        stub.add_response("describe_internet_gateways", {"InternetGateways": []}, by_id)
        spec = InternetGatewaySpec(name="demo-dev-igw", vpc_id="vpc-1", tags=tags("demo-dev-igw"))
        InternetGatewayProvisioner(timed_aws).delete(Observed(spec, {"id": "igw-1"}))
        stub.assert_no_pending_responses()
    assert len(fake_time.sleeps) == 1


def test_internet_gateway_other_dependency_violation_is_not_retried(
    timed_aws: Aws, fake_time: FakeTime
) -> None:
    igw = {
        "InternetGatewayId": "igw-1",
        "Attachments": [{"State": "available", "VpcId": "vpc-1"}],
        "Tags": [],
    }
    with Stubber(timed_aws.client("ec2")) as stub:
        stub.add_response("describe_internet_gateways", {"InternetGateways": [igw]})
        stub.add_client_error(
            "detach_internet_gateway",
            service_error_code="DependencyViolation",
            service_message="something else",
        )
        spec = InternetGatewaySpec(name="demo-dev-igw", vpc_id="vpc-1", tags=tags("demo-dev-igw"))
        with pytest.raises(AwsError, match="something else"):
            InternetGatewayProvisioner(timed_aws).delete(Observed(spec, {"id": "igw-1"}))
    assert fake_time.sleeps == []


# ---- Route table ---------------------------------------------------------------------------------------------
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
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
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
    again = prov.read(changed)
    assert again is not None
    assert again.state == changed

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

    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
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


# ---- Security group ------------------------------------------------------------------------------------------
def test_security_group_lifecycle(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    prov = SecurityGroupProvisioner(aws)
    name = unique()
    spec = SecurityGroupSpec(
        name=name, vpc_id=vpc_id, description="batchctl jobs: egress only", tags=tags(name)
    )
    assert prov.read(spec) is None

    group_id = prov.create(spec)["id"]
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == spec
    assert observed.outputs == {"id": group_id}
    (live,) = boto.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert live["GroupName"] == name
    assert live["IpPermissions"] == []
    assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in live["IpPermissionsEgress"]] == [
        ("-1", ["0.0.0.0/0"])
    ]

    changed = dataclasses.replace(spec, tags={**tags(name), "team": "ml"})
    prov.update(changed, observed)
    again = prov.read(changed)
    assert again is not None
    assert again.state == changed

    prov.delete(again)
    assert prov.read(spec) is None


def test_untagged_security_group_with_our_group_name_is_not_managed(aws: Any, boto: Any) -> None:
    # No Name tag at all: found by its group name, which CreateSecurityGroup would collide with.
    vpc_id = make_vpc(aws)
    name = unique()
    boto.client("ec2").create_security_group(GroupName=name, Description="someone else's", VpcId=vpc_id)
    spec = SecurityGroupSpec(name=name, vpc_id=vpc_id, description="d", tags=tags(name))
    with pytest.raises(NotManagedError, match="no batchctl tags"):
        SecurityGroupProvisioner(aws).read(spec)


def test_security_group_delete_retries_while_an_interface_uses_it(
    timed_aws: Aws, boto: Any, fake_time: FakeTime
) -> None:
    vpc_id = make_vpc(timed_aws)
    name = unique()
    prov = SecurityGroupProvisioner(timed_aws)
    spec = SecurityGroupSpec(name=name, vpc_id=vpc_id, description="d", tags=tags(name))
    group_id = prov.create(spec)["id"]
    observed = prov.read(spec)
    assert observed is not None

    # moto deletes a group still in use; AWS answers DependencyViolation until the ENI is released.
    with Stubber(timed_aws.client("ec2")) as stub:
        stub.add_client_error(
            "delete_security_group",
            service_error_code="DependencyViolation",
            service_message=f"resource {group_id} has a dependent object",
            expected_params={"GroupId": group_id},
        )
        stub.add_response("delete_security_group", {}, {"GroupId": group_id})
        stub.add_response(
            "describe_security_groups",
            {"SecurityGroups": []},
            {"Filters": [{"Name": "group-id", "Values": [group_id]}]},
        )
        prov.delete(observed)
        stub.assert_no_pending_responses()
    assert len(fake_time.sleeps) == 1


# ---- A whole network -----------------------------------------------------------------------------------------
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


PROVISIONERS: dict[Kind, Any] = {
    Kind.VPC: VpcProvisioner,
    Kind.SUBNET: SubnetProvisioner,
    Kind.INTERNET_GATEWAY: InternetGatewayProvisioner,
    Kind.ROUTE_TABLE: RouteTableProvisioner,
    Kind.SECURITY_GROUP: SecurityGroupProvisioner,
}


def sorted_ids(spec: Any) -> Any:
    """RouteTableSpec.subnet_ids is sorted by ID, which Refs cannot be until they are filled: sort them then."""
    if isinstance(spec, RouteTableSpec):
        return dataclasses.replace(spec, subnet_ids=tuple(sorted(str(s) for s in spec.subnet_ids)))
    return spec


def test_network_built_and_torn_down_in_reverse_leaves_nothing(aws: Any, boto: Any) -> None:
    project = unique()
    specs = network_specs(project)
    provs = {kind: cls(aws) for kind, cls in PROVISIONERS.items()}
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
