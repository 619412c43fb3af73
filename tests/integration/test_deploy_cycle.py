"""The whole cycle against moto: deploy → deploy (no mutating call) → edit → deploy (only the edit) → destroy
(nothing tagged left), for the example project and for an existing VPC with an EC2/SPOT compute environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchctl import build, engine
from batchctl.cli.app import app
from batchctl.config import JobsFile, parse_config
from batchctl.diff import Action
from batchctl.provisioners import build_provisioners
from batchctl.specs import Kind

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def example(project: str = "demo", stage: str = "dev", **replace: str) -> JobsFile:
    text = (ROOT / "jobs.yaml").read_text().replace("project: demo", f"project: {project}")
    text = text.replace("stage: dev", f"stage: {stage}").replace(
        "region: ap-northeast-1", "region: eu-west-1"
    )
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_config(text)


def deploy(aws: Any, cfg: JobsFile) -> tuple[Any, Any]:
    specs = build.build_specs(cfg, aws.context())
    provs = build_provisioners(aws)
    observed = engine.read_all(specs, provs)
    plan = engine.make_plan(specs, observed, project=cfg.project, stage=cfg.stage)
    result = engine.apply(plan, provs, observed=observed)
    assert not result.failed, result.failed
    return plan, result


def destroy(aws: Any, cfg: JobsFile) -> Any:
    specs = build.build_specs(cfg, aws.context())
    provs = build_provisioners(aws)
    observed = engine.read_all(specs, provs)
    plan = engine.make_destroy_plan(specs, observed, project=cfg.project, stage=cfg.stage)
    result = engine.apply_destroy(plan, provs, specs=specs, observed=observed)
    assert not result.failed, result.failed
    return plan


def tagged_leftovers(boto: Any, project: str, stage: str) -> list[str]:
    """Every resource still carrying this project+stage's tags, across the services we use."""
    found: list[str] = []
    tagging = boto.client("resourcegroupstaggingapi")
    filters = [{"Key": "batchctl:project", "Values": [project]}, {"Key": "batchctl:stage", "Values": [stage]}]
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=filters):
        found += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
    iam = boto.client("iam")
    for role in iam.list_roles()["Roles"]:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
        if tags.get("batchctl:project") == project and tags.get("batchctl:stage") == stage:
            found.append(role["Arn"])
    batch = boto.client("batch")
    prefix = f"{project}-{stage}-"
    found += [
        d["jobDefinitionArn"]
        for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
        if d["jobDefinitionName"].startswith(prefix)
    ]
    found += [
        c["computeEnvironmentArn"]
        for c in batch.describe_compute_environments()["computeEnvironments"]
        if c["computeEnvironmentName"].startswith(prefix) and c.get("status") != "DELETED"
    ]
    found += [
        q["jobQueueArn"]
        for q in batch.describe_job_queues()["jobQueues"]
        if q["jobQueueName"].startswith(prefix) and q.get("status") != "DELETED"
    ]
    ec2 = boto.client("ec2")
    found += [
        v["VpcId"]
        for v in ec2.describe_vpcs(
            Filters=[
                {"Name": "tag:batchctl:project", "Values": [project]},
                {"Name": "tag:batchctl:stage", "Values": [stage]},
            ]
        )["Vpcs"]
    ]
    return sorted(set(found))


def test_example_deploy_is_idempotent_edits_one_resource_and_destroys_everything(
    aws: Any, boto: Any, recorder: Any
) -> None:
    cfg = example()
    plan, _ = deploy(aws, cfg)
    kinds = {c.key.kind for c in plan.changes if c.action is Action.CREATE}
    # Fargate needs no instance profile; the EC2 test below covers it.
    # The example runs on Fargate (no instance profile) and has no S3 trigger (no EventBridge rule).
    expected = set(Kind) - {Kind.IAM_INSTANCE_PROFILE, Kind.EVENT_RULE}
    assert kinds == expected, f"missing creates: {expected - kinds}"

    recorder.calls.clear()
    again, result = deploy(aws, cfg)
    assert not again.has_changes, [str(c.key) + " " + ",".join(c.fields) for c in again.pending]
    assert recorder.mutating == [], recorder.mutating
    assert result.done == []

    edited = example(**{"    vcpus: 2\n    memory_mib: 4096": "    vcpus: 2\n    memory_mib: 8192"})
    plan, _ = deploy(aws, edited)
    assert [(str(c.key), c.action) for c in plan.pending] == [
        ("batch.job_definition/demo-dev-daily-report", Action.UPDATE)
    ]
    assert plan.pending[0].fields == ("memory_mib",)
    _, _ = deploy(aws, edited)  # and converged again
    assert not engine.make_plan(
        build.build_specs(edited, aws.context()),
        engine.read_all(build.build_specs(edited, aws.context()), build_provisioners(aws)),
        project="demo",
        stage="dev",
    ).has_changes

    assert tagged_leftovers(boto, "demo", "dev") != []
    destroy(aws, edited)
    assert tagged_leftovers(boto, "demo", "dev") == []


EXISTING_VPC = """\
version: 1
project: ec2demo
stage: prod
region: eu-west-1
image: {{uri: "public.ecr.aws/docker/library/python:3.12-slim"}}
network:
  vpc_id: {vpc}
  subnet_ids: [{subnet}]
  security_group_ids: [{group}]
compute: {{type: {ctype}, max_vcpus: 8, instance_types: [m5.large, c5.large]}}
notify: {{topic: false}}
jobs:
  crunch:
    command: [python, -c, "print(1)"]
    vcpus: 2
    memory_mib: 4096
"""


@pytest.mark.parametrize("compute_type", ["EC2", "SPOT"])
def test_existing_vpc_with_ec2_compute(aws: Any, boto: Any, recorder: Any, compute_type: str) -> None:
    ec2 = boto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="mine", Description="mine", VpcId=vpc)["GroupId"]
    cfg = parse_config(EXISTING_VPC.format(vpc=vpc, subnet=subnet, group=group, ctype=compute_type))

    plan, _ = deploy(aws, cfg)
    created = {c.key.kind for c in plan.changes}
    assert Kind.VPC not in created
    assert Kind.IAM_INSTANCE_PROFILE in created
    assert Kind.ECR_REPOSITORY not in created  # a prebuilt image.uri needs no repository
    env = boto.client("batch").describe_compute_environments(computeEnvironments=["ec2demo-prod-compute"])
    resources = env["computeEnvironments"][0]["computeResources"]
    assert resources["type"] == compute_type
    assert resources["instanceRole"].endswith(":instance-profile/ec2demo-prod-instance")

    recorder.calls.clear()
    again, _ = deploy(aws, cfg)
    assert not again.has_changes, [str(c.key) for c in again.pending]
    assert recorder.mutating == []

    destroy(aws, cfg)
    assert tagged_leftovers(boto, "ec2demo", "prod") == []
    # What we did not create is still there.
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"]
    assert ec2.describe_subnets(SubnetIds=[subnet])["Subnets"]


def test_cli_plan_json_lists_a_create_for_every_kind_then_deploy_and_destroy(
    aws_env: str, tmp_path: Path
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text((ROOT / "jobs.yaml").read_text().replace("region: ap-northeast-1", "region: eu-west-1"))
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    shutil.copytree(ROOT / "job", tmp_path / "job")
    runner = CliRunner()
    planned = runner.invoke(app, ["-c", str(config), "-o", "json", "plan"], env=ENV)
    assert planned.exit_code == 0, planned.output
    doc = json.loads(planned.stdout)
    assert doc["version"] == 1
    creates = {c["kind"] for c in doc["plan"]["changes"] if c["action"] == "create"}
    assert creates == {k.value for k in Kind} - {"iam.instance_profile", "events.rule"}

    refused = runner.invoke(app, ["-c", str(config), "deploy", "--skip-image"], env=ENV)
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr

    deployed = runner.invoke(app, ["-c", str(config), "deploy", "--yes", "--skip-image"], env=ENV)
    assert deployed.exit_code == 0, deployed.output
    assert "+ created batch.job_queue/demo-dev-queue" in deployed.stderr

    check = runner.invoke(app, ["-c", str(config), "plan", "--check"], env=ENV)
    assert check.exit_code == 0, check.output

    destroyed = runner.invoke(app, ["-c", str(config), "-o", "json", "destroy", "--yes"], env=ENV)
    assert destroyed.exit_code == 0, destroyed.output
    assert json.loads(destroyed.stdout)["result"]["failed"] == []

    check = runner.invoke(app, ["-c", str(config), "plan", "--check"], env=ENV)
    assert check.exit_code == 5


def test_scaffolded_project_deploys_and_destroys(aws_env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path), "--project", "fresh"], env=ENV).exit_code == 0
    config = str(tmp_path / "jobs.yaml")
    region = {**ENV, "AWS_REGION": "eu-west-1"}
    deployed = runner.invoke(app, ["-c", config, "deploy", "--yes", "--skip-image"], env=region)
    assert deployed.exit_code == 0, deployed.output
    assert runner.invoke(app, ["-c", config, "plan", "--check"], env=region).exit_code == 0
    assert runner.invoke(app, ["-c", config, "destroy", "--yes"], env=region).exit_code == 0
