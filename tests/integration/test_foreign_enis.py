"""Network interfaces in our subnets and security groups against the moto server: the ones ECS released for our
compute environment are deleted, anyone else's stop the delete (named in the error) and are never touched.
moto cannot create a requester-managed ENI, so the test marks one as AWS does, in the in-process server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.errors import ForeignNetworkInterfaceError
from batchctl.provisioners.vpc import SecurityGroupProvisioner, SubnetProvisioner
from batchctl.specs import SecurityGroupSpec, SubnetSpec
from tests.support.provisioners import ACCOUNT, REGION, make_vpc, tags, unique

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
ECS_REQUESTER = (
    "578734482556"  # the account ECS creates task ENIs from (DescribeNetworkInterfaces RequesterId)
)


def eni_ids(boto: Any, filter_name: str, value: str) -> set[str]:
    found = boto.client("ec2").describe_network_interfaces(Filters=[{"Name": filter_name, "Values": [value]}])
    return {e["NetworkInterfaceId"] for e in found["NetworkInterfaces"]}


def user_eni(
    boto: Any, subnet_id: str, *, groups: list[str] | None = None, description: str = "", tagged: bool = True
) -> str:
    """An ENI someone made by hand in `subnet_id`, tagged as people do."""
    owner = [{"ResourceType": "network-interface", "Tags": [{"Key": "owner", "Value": "alice"}]}]
    eni = boto.client("ec2").create_network_interface(
        SubnetId=subnet_id,
        Description=description or "debugging interface",
        Groups=groups or [],
        TagSpecifications=owner if tagged else [],
    )
    return str(eni["NetworkInterface"]["NetworkInterfaceId"])


def service_eni(
    boto: Any,
    subnet_id: str,
    *,
    groups: list[str] | None = None,
    description: str = "",
    interface_type: str = "interface",
) -> str:
    """An ENI as a service leaves it ("available", requester-managed); an ECS task's ENI unless `description`
    says otherwise."""
    from moto.ec2.models import ec2_backends

    eni_id = user_eni(
        boto, subnet_id, groups=groups, description=description or ecs_description(), tagged=False
    )
    live = ec2_backends[ACCOUNT][REGION].get_network_interface(eni_id)
    live.requester_managed = True
    live.requester_id = ECS_REQUESTER
    live.interface_type = interface_type
    return eni_id


def ecs_description() -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:attachment/6f2d2a1e-5b1c-4c43-9d0e-3b0a8c1f2e77"


def subnet(aws: Any) -> tuple[SubnetProvisioner, SubnetSpec, str]:
    vpc_id = make_vpc(aws)
    prov = SubnetProvisioner(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=vpc_id, cidr_block="10.0.1.0/24", az_index=0, tags=tags(name))
    return prov, spec, prov.create(spec)["id"]


def security_group(aws: Any) -> tuple[SecurityGroupProvisioner, SecurityGroupSpec, str, str]:
    """Our group, and a subnet of someone else's in its VPC."""
    vpc_id = make_vpc(aws)
    prov = SecurityGroupProvisioner(aws)
    name = unique()
    spec = SecurityGroupSpec(name=name, vpc_id=vpc_id, description="d", tags=tags(name))
    group_id = prov.create(spec)["id"]
    other = aws.client("ec2").create_subnet(VpcId=vpc_id, CidrBlock="10.0.9.0/24")["Subnet"]["SubnetId"]
    return prov, spec, group_id, str(other)


def test_subnet_delete_removes_the_network_interfaces_ecs_released(aws: Any, boto: Any) -> None:
    prov, spec, subnet_id = subnet(aws)
    fargate = service_eni(boto, subnet_id)
    branch = service_eni(boto, subnet_id, interface_type="branch")
    observed = prov.read(spec)
    assert observed is not None

    prov.delete(observed)

    assert eni_ids(boto, "network-interface-id", fargate) == set()
    assert eni_ids(boto, "network-interface-id", branch) == set()
    assert prov.read(spec) is None


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda boto, s: user_eni(boto, s), id="user-made"),
        pytest.param(lambda boto, s: user_eni(boto, s, description=ecs_description()), id="ecs-look-alike"),
        pytest.param(
            lambda boto, s: service_eni(boto, s, description="AWS Lambda VPC ENI-report-3f1e"), id="lambda"
        ),
    ],
)
def test_a_foreign_network_interface_keeps_the_subnet_and_is_named(aws: Any, boto: Any, make: Any) -> None:
    prov, spec, subnet_id = subnet(aws)
    foreign = make(boto, subnet_id)
    released = service_eni(boto, subnet_id)  # ours, but nothing is deleted once something foreign is found
    observed = prov.read(spec)
    assert observed is not None

    with pytest.raises(ForeignNetworkInterfaceError) as caught:
        prov.delete(observed)

    assert foreign in caught.value.message
    assert released not in caught.value.message
    assert subnet_id in caught.value.message
    assert eni_ids(boto, "subnet-id", subnet_id) == {foreign, released}
    assert prov.read(spec) is not None


def test_the_error_names_description_requester_and_tags(aws: Any, boto: Any) -> None:
    prov, spec, subnet_id = subnet(aws)
    foreign = user_eni(boto, subnet_id)
    observed = prov.read(spec)
    assert observed is not None

    with pytest.raises(ForeignNetworkInterfaceError) as caught:
        prov.delete(observed)

    (live,) = boto.client("ec2").describe_network_interfaces(NetworkInterfaceIds=[foreign])[
        "NetworkInterfaces"
    ]
    assert (
        f"{foreign} (description 'debugging interface', requester {live['RequesterId']}, tags owner=alice)"
        in caught.value.message
    )
    assert caught.value.hint is not None
    assert "destroy again" in caught.value.hint


def test_security_group_delete_removes_released_ecs_interfaces(aws: Any, boto: Any) -> None:
    prov, spec, group_id, other_subnet = security_group(aws)
    released = service_eni(boto, other_subnet, groups=[group_id])
    observed = prov.read(spec)
    assert observed is not None

    prov.delete(observed)

    assert eni_ids(boto, "network-interface-id", released) == set()
    assert prov.read(spec) is None


def test_a_foreign_network_interface_keeps_the_security_group(aws: Any, boto: Any) -> None:
    prov, spec, group_id, other_subnet = security_group(aws)
    foreign = user_eni(boto, other_subnet, groups=[group_id])
    observed = prov.read(spec)
    assert observed is not None

    with pytest.raises(ForeignNetworkInterfaceError, match=foreign):
        prov.delete(observed)

    assert eni_ids(boto, "group-id", group_id) == {foreign}
    assert prov.read(spec) is not None


def test_destroy_leaves_a_user_interface_and_its_subnet_and_reports_them(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    # The example project, in the region the moto server answers for.
    shutil.copytree(ROOT / "job", tmp_path / "job")
    shutil.copy(ROOT / "Dockerfile", tmp_path)
    example = (ROOT / "jobs.yaml").read_text()
    config = tmp_path / "jobs.yaml"
    config.write_text(example.replace("region: ap-northeast-1", f"region: {REGION}"))
    runner = CliRunner()
    deployed = runner.invoke(app, ["-c", str(config), "deploy", "--yes", "--skip-image"], env=ENV)
    assert deployed.exit_code == 0, deployed.output
    ec2 = boto.client("ec2")
    ours = ec2.describe_subnets(Filters=[{"Name": "tag:batchctl:project", "Values": ["demo"]}])["Subnets"]
    first = sorted(s["SubnetId"] for s in ours)[0]
    foreign = user_eni(boto, first)

    destroyed = runner.invoke(app, ["-c", str(config), "-o", "json", "destroy", "--yes"], env=ENV)

    assert destroyed.exit_code == 1, destroyed.output
    failed = json.loads(destroyed.stdout)["result"]["failed"]
    assert len(failed) == 1, failed
    assert foreign in json.dumps(failed[0])
    assert eni_ids(boto, "network-interface-id", foreign) == {foreign}
    assert ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [first]}])["Subnets"] != []
