"""Lifecycle, ownership and deletion quirks of the security group provisioner against the moto server; Stubber on
a real client where moto cannot show what AWS does (an interface still using the group)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.stub import Stubber

from batchctl.aws import Aws
from batchctl.errors import NotManagedError
from batchctl.provisioners.vpc import SecurityGroupProvisioner
from batchctl.specs import SecurityGroupSpec
from tests.support.provisioners import FakeTime, make_vpc, read_back, tags, unique


def test_security_group_lifecycle(aws: Any, boto: Any) -> None:
    vpc_id = make_vpc(aws)
    prov = SecurityGroupProvisioner(aws)
    name = unique()
    spec = SecurityGroupSpec(
        name=name, vpc_id=vpc_id, description="batchctl jobs: egress only", tags=tags(name)
    )
    assert prov.read(spec) is None

    group_id = prov.create(spec)["id"]
    observed = read_back(prov, spec)
    assert observed.outputs == {"id": group_id}
    (live,) = boto.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert live["GroupName"] == name
    assert live["IpPermissions"] == []
    assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in live["IpPermissionsEgress"]] == [
        ("-1", ["0.0.0.0/0"])
    ]

    changed = dataclasses.replace(spec, tags={**tags(name), "team": "ml"})
    prov.update(changed, observed)
    again = read_back(prov, changed)

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
    no_interfaces = ({"NetworkInterfaces": []}, {"Filters": [{"Name": "group-id", "Values": [group_id]}]})
    with Stubber(timed_aws.client("ec2")) as stub:
        stub.add_response("describe_network_interfaces", *no_interfaces)
        stub.add_client_error(
            "delete_security_group",
            service_error_code="DependencyViolation",
            service_message=f"resource {group_id} has a dependent object",
            expected_params={"GroupId": group_id},
        )
        stub.add_response("describe_network_interfaces", *no_interfaces)
        stub.add_response("delete_security_group", {}, {"GroupId": group_id})
        stub.add_response(
            "describe_security_groups",
            {"SecurityGroups": []},
            {"Filters": [{"Name": "group-id", "Values": [group_id]}]},
        )
        prov.delete(observed)
        stub.assert_no_pending_responses()
    assert len(fake_time.sleeps) == 1
