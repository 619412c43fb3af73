"""Lifecycle, ownership and detach quirks of the internet gateway provisioner against the moto server; Stubber on a
real client where moto cannot show what AWS does (mapped public addresses)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.stub import Stubber

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError
from batchctl.provisioners.vpc import InternetGatewayProvisioner
from batchctl.specs import InternetGatewaySpec, Observed
from tests.support.provisioners import FakeTime, make_vpc, read_back, tags, unique


def test_internet_gateway_lifecycle(aws: Any, boto: Any) -> None:
    first_vpc = make_vpc(aws, "10.0.0.0/16")
    second_vpc = make_vpc(aws, "10.1.0.0/16")
    prov = InternetGatewayProvisioner(aws)
    name = unique()
    spec = InternetGatewaySpec(name=name, vpc_id=first_vpc, tags=tags(name))
    assert prov.read(spec) is None

    igw_id = prov.create(spec)["id"]
    observed = read_back(prov, spec)
    assert observed.outputs == {"id": igw_id}

    changed = dataclasses.replace(spec, vpc_id=second_vpc, tags={**tags(name), "team": "ml"})
    prov.update(changed, observed)
    again = read_back(prov, changed)
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
    read_back(prov, spec)


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
