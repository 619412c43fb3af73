"""What the provisioner integration tests share: unique names, ownership tags, a clock that moves only when slept
on, and the resources a test needs around the one it is about (a network, an instance profile, a VPC with its
subnets and gateway), made from the outside with boto3 or through our provisioners."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from batchctl.provisioners.vpc import InternetGatewayProvisioner, SubnetProvisioner, VpcProvisioner
from batchctl.specs import ComputeEnvironmentSpec, InternetGatewaySpec, JobDefinitionSpec, SubnetSpec, VpcSpec

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


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


# ---- Batch: compute environments, job queues and job definitions, and what they stand on ------------------------------------------------
def network(boto: Any, subnets: int = 2, groups: int = 2) -> tuple[list[str], list[str]]:
    """A VPC with `subnets` subnets and `groups` security groups, made from the outside."""
    ec2 = boto.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(subnets)
    ]
    group_ids = [
        ec2.create_security_group(GroupName=unique(), Description="batch", VpcId=vpc_id)["GroupId"]
        for _ in range(groups)
    ]
    return subnet_ids, group_ids


def instance_profile(boto: Any) -> str:
    """An instance profile holding a role, as the IAM provisioners leave it; returns the profile ARN."""
    iam = boto.client("iam")
    name = unique()
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    arn: str = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return arn


def fargate_spec(boto: Any, **changes: Any) -> ComputeEnvironmentSpec:
    subnets, groups = network(boto)
    spec = ComputeEnvironmentSpec(
        name=unique(),
        compute_type="FARGATE",
        max_vcpus=16,
        subnet_ids=tuple(subnets),
        security_group_ids=(groups[0],),
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


def ce_arn(name: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:compute-environment/{name}"


def static_spec(**changes: Any) -> ComputeEnvironmentSpec:
    """A Fargate compute environment over fixed (made-up) IDs, for tests that never reach AWS with it."""
    spec = ComputeEnvironmentSpec(
        name="demo-dev-compute",
        compute_type="FARGATE",
        max_vcpus=16,
        subnet_ids=("subnet-1", "subnet-2"),
        security_group_ids=("sg-1",),
        service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/batch",
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


def job_definition_spec(**changes: Any) -> JobDefinitionSpec:
    """A Fargate job definition with every field set, empty-valued variables and parameters included."""
    spec = JobDefinitionSpec(
        name=unique(),
        image=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/demo-dev:abc123",
        command=("python", "/opt/app/job/main.py", "Ref::body"),
        platform="FARGATE",
        vcpus=0.5,
        memory_mib=1024,
        job_role_arn=f"arn:aws:iam::{ACCOUNT}:role/demo-dev-job",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/demo-dev-execution",
        log_group="/batchctl/demo/dev/job",
        stream_prefix="main",
        environment={"A_FLAG": "1", "EMPTY": "", "LEVEL": "debug"},
        secrets={"TOKEN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/demo/token"},
        parameters={"body": "", "time": "", "source": "manual"},
        retry_attempts=3,
        evaluate_on_exit=({"onStatusReason": "Host EC2*", "action": "EXIT"},),
        timeout_s=3600,
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


# ---- EC2: the network resources, found by Name tag -------------------------------------------------------------
def tags(name: str, project: str = "demo", **extra: str) -> dict[str, str]:
    return {"Name": name, "batchctl:project": project, "batchctl:stage": "dev", **extra}


def name_filter(name: str) -> list[dict[str, Any]]:
    return [{"Name": "tag:Name", "Values": [name]}]


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


def read_back(prov: Any, spec: Any) -> Any:
    """Read `spec` with `prov` and check that what exists is exactly `spec`; returns what was read."""
    observed = prov.read(spec)
    assert observed is not None, f"{spec.key} does not exist"
    assert observed.state == spec
    return observed
