"""Lifecycle, ownership and delete-order tests of the IAM role and instance profile provisioners (moto server)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest

from batchctl.errors import AwsError, NotManagedError
from batchctl.provisioners.iam import InstanceProfileProvisioner, RoleProvisioner, policy_document
from batchctl.specs import InstanceProfileSpec, Observed, RoleSpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}


def trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


def managed_policy(boto: Any, action: str) -> str:
    name = f"t-{uuid4().hex[:8]}"
    arn: str = boto.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(allow(action)))[
        "Policy"
    ]["Arn"]
    return arn


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def test_role_lifecycle(aws: Any, boto: Any) -> None:
    prov = RoleProvisioner(aws)
    logs_arn, sqs_arn = managed_policy(boto, "logs:PutLogEvents"), managed_policy(boto, "sqs:SendMessage")
    spec = RoleSpec(
        name=unique(),
        trust_policy=trust("states.amazonaws.com"),
        inline_policies={"batch": allow("batch:SubmitJob"), "events": allow("events:PutRule")},
        managed_policy_arns=(logs_arn,),
        description="runs the job",
        tags=TAGS,
    )
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"].endswith(f":role/{spec.name}")
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        trust_policy=trust("pipes.amazonaws.com"),
        inline_policies={"batch": allow("batch:DescribeJobs"), "sqs": allow("sqs:ReceiveMessage")},
        managed_policy_arns=(sqs_arn,),
        description="",
        tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"},
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None


def test_role_update_without_changes_sends_no_mutating_call(aws: Any, recorder: Any) -> None:
    prov = RoleProvisioner(aws)
    spec = RoleSpec(
        name=unique(),
        trust_policy=trust("batch.amazonaws.com"),
        inline_policies={"a": allow("s3:GetObject")},
        tags=TAGS,
    )
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    recorder.calls.clear()
    prov.update(spec, observed)
    assert recorder.mutating == []


def test_untagged_role_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust("ecs.amazonaws.com"))
    )
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        RoleProvisioner(aws).read(RoleSpec(name=name, trust_policy=trust("ecs.amazonaws.com"), tags=TAGS))


def test_role_of_another_stage_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust("ecs.amazonaws.com")),
        Tags=[{"Key": "batchctl:project", "Value": "demo"}, {"Key": "batchctl:stage", "Value": "prod"}],
    )
    with pytest.raises(NotManagedError, match="batchctl:stage=prod"):
        RoleProvisioner(aws).read(RoleSpec(name=name, trust_policy=trust("ecs.amazonaws.com"), tags=TAGS))


def test_role_delete_removes_profiles_inline_and_managed_policies_first(aws: Any, boto: Any) -> None:
    # AWS-QUIRKS 4: DeleteRole answers DeleteConflict while anything is attached; moto enforces it too.
    iam = boto.client("iam")
    prov = RoleProvisioner(aws)
    spec = RoleSpec(
        name=unique(),
        trust_policy=trust("ec2.amazonaws.com"),
        inline_policies={"ours": allow("ecs:Poll")},
        managed_policy_arns=(managed_policy(boto, "ecs:DescribeClusters"),),
        tags=TAGS,
    )
    prov.create(spec)
    profile = unique()
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=spec.name)
    # Attachments made outside batchctl after our last read must not block the delete either.
    iam.put_role_policy(
        RoleName=spec.name, PolicyName="extra", PolicyDocument=json.dumps(allow("ec2:Describe*"))
    )
    iam.attach_role_policy(RoleName=spec.name, PolicyArn=managed_policy(boto, "ecr:GetAuthorizationToken"))
    observed = prov.read(dataclasses.replace(spec, inline_policies={}))
    assert observed is not None

    prov.delete(observed)

    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=spec.name)
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []


def test_role_delete_of_a_missing_role_is_fine(aws: Any) -> None:
    spec = RoleSpec(name=unique(), trust_policy=trust("ecs.amazonaws.com"), tags=TAGS)
    RoleProvisioner(aws).delete(Observed(spec, {}))


def test_failed_role_create_leaves_no_role(aws: Any, boto: Any) -> None:
    spec = RoleSpec(
        name=unique(),
        trust_policy=trust("ecs.amazonaws.com"),
        inline_policies={"ok": allow("logs:CreateLogStream")},
        managed_policy_arns=("arn:aws:iam::123456789012:policy/does-not-exist",),
        tags=TAGS,
    )
    with pytest.raises(AwsError) as caught:
        RoleProvisioner(aws).create(spec)
    assert caught.value.code == "NoSuchEntity"
    with pytest.raises(boto.client("iam").exceptions.NoSuchEntityException):
        boto.client("iam").get_role(RoleName=spec.name)


@pytest.mark.parametrize(
    "raw",
    [
        trust("ecs.amazonaws.com"),
        json.dumps(trust("ecs.amazonaws.com")),
        quote(json.dumps(trust("ecs.amazonaws.com"))),
    ],
    ids=["dict", "json", "url-encoded"],
)
def test_policy_documents_normalize_to_dicts(raw: Any) -> None:
    assert policy_document(raw) == trust("ecs.amazonaws.com")


def test_instance_profile_lifecycle(aws: Any) -> None:
    roles = RoleProvisioner(aws)
    first = RoleSpec(name=unique(), trust_policy=trust("ec2.amazonaws.com"), tags=TAGS)
    second = dataclasses.replace(first, name=unique())
    roles.create(first)
    roles.create(second)
    prov = InstanceProfileProvisioner(aws)
    spec = InstanceProfileSpec(name=unique(), role_name=first.name, tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"].endswith(f":instance-profile/{spec.name}")
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec, role_name=second.name, tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"}
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    # The role is not the profile's to delete.
    assert roles.read(second) is not None


def test_untagged_instance_profile_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("iam").create_instance_profile(InstanceProfileName=name)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        InstanceProfileProvisioner(aws).read(InstanceProfileSpec(name=name, role_name="x", tags=TAGS))


def test_failed_instance_profile_create_leaves_no_profile(aws: Any, boto: Any) -> None:
    spec = InstanceProfileSpec(name=unique(), role_name="no-such-role", tags=TAGS)
    with pytest.raises(AwsError) as caught:
        InstanceProfileProvisioner(aws).create(spec)
    assert caught.value.code == "NoSuchEntity"
    with pytest.raises(boto.client("iam").exceptions.NoSuchEntityException):
        boto.client("iam").get_instance_profile(InstanceProfileName=spec.name)
