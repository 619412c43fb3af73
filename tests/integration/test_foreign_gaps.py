"""Two gaps in ownership (issue 14): a role tagged for the stage under a name batchctl never generates
(`<project>-<stage>-Admin`, without a per-job suffix) is reported under `foreign` and never deleted; an ENI of
someone else's EC2 instance in our subnet is named at once, not waited on until it goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.aws import Aws
from batchctl.errors import ForeignNetworkInterfaceError
from batchctl.provisioners.vpc import SubnetProvisioner
from batchctl.specs import SubnetSpec
from tests.reliability_support import OURS, SMALL, cli
from tests.support.provisioners import FakeTime, make_vpc, tags, unique

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def role_exists(boto: Any, name: str) -> bool:
    return any(r["RoleName"] == name for r in boto.client("iam").list_roles()["Roles"])


def test_a_tagged_role_without_a_generated_name_is_foreign_and_survives(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    boto.client("iam").create_role(
        RoleName="demo-dev-Admin", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=OURS
    )
    config = tmp_path / "jobs.yaml"
    config.write_text(SMALL)

    planned = cli(config, "plan", "-o", "json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)["plan"]
    assert plan["foreign"] == ["iam.role/demo-dev-Admin"]
    assert plan["orphans"] == []
    deployed = cli(config, "deploy", "--yes", "--prune")
    assert deployed.exit_code == 0, deployed.output
    destroyed = cli(config, "destroy", "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert role_exists(boto, "demo-dev-Admin")


def subnet_with_instance(
    aws: Aws, boto: Any, **launch: Any
) -> tuple[SubnetProvisioner, SubnetSpec, str, str]:
    """Our subnet with an instance in it whose primary ENI goes with the instance (as on AWS)."""
    prov = SubnetProvisioner(aws)
    name = unique()
    spec = SubnetSpec(name=name, vpc_id=make_vpc(aws), cidr_block="10.0.1.0/24", az_index=0, tags=tags(name))
    subnet_id = prov.create(spec)["id"]
    (instance,) = boto.client("ec2").run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet_id, "DeleteOnTermination": True}],
        **launch,
    )["Instances"]
    return prov, spec, subnet_id, str(instance["InstanceId"])


def test_an_eni_of_someone_elses_instance_is_named_at_once(
    timed_aws: Aws, boto: Any, fake_time: FakeTime
) -> None:
    prov, spec, subnet_id, instance_id = subnet_with_instance(timed_aws, boto)
    observed = prov.read(spec)
    assert observed is not None

    with pytest.raises(ForeignNetworkInterfaceError) as caught:
        prov.delete(observed)

    assert f"attached to instance {instance_id}" in caught.value.message
    assert subnet_id in caught.value.message
    assert fake_time.sleeps == []  # named before any wait
    assert prov.read(spec) is not None


def test_an_instance_of_our_compute_environment_is_not_foreign(
    timed_aws: Aws, boto: Any, fake_time: FakeTime
) -> None:
    iam = boto.client("iam")
    iam.create_role(RoleName="demo-dev-instance", AssumeRolePolicyDocument=json.dumps(TRUST))
    profile = iam.create_instance_profile(InstanceProfileName="demo-dev-instance")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="demo-dev-instance", RoleName="demo-dev-instance")
    prov, spec, _subnet_id, _instance = subnet_with_instance(
        timed_aws, boto, IamInstanceProfile={"Arn": profile["Arn"]}
    )
    observed = prov.read(spec)
    assert observed is not None

    prov.delete(observed)  # moto lets the subnet go at once; AWS would answer DependencyViolation meanwhile

    assert prov.read(spec) is None
