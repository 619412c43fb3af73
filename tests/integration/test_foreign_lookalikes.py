"""Ownership (DESIGN §8): ours means our project+stage tags AND a name batchctl would generate here.

- Look-alikes of every per-job kind that carry our tags under names batchctl never generates are listed by `plan`
  under "foreign" and survive `deploy --prune` and `destroy`.
- Untagged resources under our generated names are all named by one `plan` run, not one per run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, example_text, leftovers, write_project

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
LOOK_ALIKES = [
    "iam.role/demo-dev-Admin-job",
    "batch.job_definition/demo-dev-Report_v2",
    "logs.log_group//batchctl/demo/dev/x/extra",
    "logs.log_group//aws/vendedlogs/states/demo-dev-Admin",
    "sfn.state_machine/demo-dev-Admin",
    "sqs.queue/demo-dev-Admin",
    "pipes.pipe/demo-dev-Admin",
]


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["-c", str(config), *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def make_look_alikes(boto: Any) -> None:
    """One resource of each per-job kind with our tags, under a name batchctl would never give it."""
    iam, logs, sqs = boto.client("iam"), boto.client("logs"), boto.client("sqs")
    role = iam.create_role(
        RoleName="demo-dev-Admin-job",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )["Role"]["Arn"]
    boto.client("batch").register_job_definition(
        jobDefinitionName="demo-dev-Report_v2",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128, "command": ["true"]},
        tags=TAGS,
    )
    for group in ("/batchctl/demo/dev/x/extra", "/aws/vendedlogs/states/demo-dev-Admin"):
        logs.create_log_group(logGroupName=group, tags=TAGS)
    machine = boto.client("stepfunctions").create_state_machine(
        name="demo-dev-Admin",
        definition=json.dumps(PASS),
        roleArn=role,
        tags=[{"key": k, "value": v} for k, v in TAGS.items()],
    )["stateMachineArn"]
    url = sqs.create_queue(QueueName="demo-dev-Admin", tags=TAGS)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto.client("pipes").create_pipe(
        Name="demo-dev-Admin", Source=queue, Target=machine, RoleArn=role, Tags=TAGS
    )


def existing_look_alikes(boto: Any) -> list[str]:
    """The look-alikes that still exist, as keys."""
    found = []
    iam = boto.client("iam")
    if any(r["RoleName"] == "demo-dev-Admin-job" for r in iam.list_roles()["Roles"]):
        found.append("iam.role/demo-dev-Admin-job")
    definitions = boto.client("batch").describe_job_definitions(
        jobDefinitionName="demo-dev-Report_v2", status="ACTIVE"
    )["jobDefinitions"]
    if definitions:
        found.append("batch.job_definition/demo-dev-Report_v2")
    logs = boto.client("logs")
    for group in ("/batchctl/demo/dev/x/extra", "/aws/vendedlogs/states/demo-dev-Admin"):
        listed = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if any(g["logGroupName"] == group for g in listed):
            found.append(f"logs.log_group/{group}")
    machines = boto.client("stepfunctions").list_state_machines()["stateMachines"]
    if any(m["name"] == "demo-dev-Admin" for m in machines):
        found.append("sfn.state_machine/demo-dev-Admin")
    urls = boto.client("sqs").list_queues(QueueNamePrefix="demo-dev-Admin").get("QueueUrls", [])
    if any(url.endswith("/demo-dev-Admin") for url in urls):
        found.append("sqs.queue/demo-dev-Admin")
    pipes = boto.client("pipes").list_pipes(NamePrefix="demo-dev-Admin")["Pipes"]
    if any(p["Name"] == "demo-dev-Admin" for p in pipes):
        found.append("pipes.pipe/demo-dev-Admin")
    return found


def test_tagged_look_alikes_are_reported_as_foreign_and_survive_prune_and_destroy(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    make_look_alikes(boto)
    assert existing_look_alikes(boto) == LOOK_ALIKES
    only_look_alikes = leftovers(boto, "demo", "dev")
    config = write_project(tmp_path, example_text())

    planned = cli(config, "plan", "-o", "json")
    assert planned.exit_code == 0, planned.output
    doc = json.loads(planned.stdout)["plan"]
    assert sorted(doc["foreign"]) == sorted(LOOK_ALIKES)
    assert doc["orphans"] == []
    assert not {c["key"] for c in doc["changes"]} & set(LOOK_ALIKES)

    text = cli(config, "plan")
    assert text.exit_code == 0, text.output
    assert "batchctl would never name them so: left alone" in text.stdout
    # The terminal shows a log group's key as logs.log_group:/name (Key.label), JSON as logs.log_group//name.
    assert all(key.replace("//", ":/", 1) in text.stdout for key in LOOK_ALIKES), text.stdout

    deployed = cli(config, "deploy", "--yes", "--skip-image", "--prune")
    assert deployed.exit_code == 0, deployed.output
    assert existing_look_alikes(boto) == LOOK_ALIKES
    # The deploy is complete: plan --check sees no change and no orphan; the look-alikes do not count as drift.
    checked = cli(config, "plan", "--check")
    assert checked.exit_code == 0, checked.output
    assert "left alone" in checked.stdout

    destroyed = cli(config, "destroy", "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert existing_look_alikes(boto) == LOOK_ALIKES
    # Everything batchctl made is gone; what is left is exactly the look-alikes.
    assert leftovers(boto, "demo", "dev") == only_look_alikes


UNTAGGED = [
    ("sqs.queue/demo-dev-fibonacci", "sqs"),
    ("iam.role/demo-dev-etl-job", "iam"),
    ("logs.log_group//batchctl/demo/dev/daily-report", "logs"),
    ("sfn.state_machine/demo-dev-etl", "stepfunctions"),
    ("batch.job_definition/demo-dev-fibonacci", "batch"),
]


def test_five_untagged_resources_under_our_names_are_all_named_by_one_plan(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    boto.client("sqs").create_queue(QueueName="demo-dev-fibonacci")
    role = boto.client("iam").create_role(
        RoleName="demo-dev-etl-job", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    boto.client("logs").create_log_group(logGroupName="/batchctl/demo/dev/daily-report")
    boto.client("stepfunctions").create_state_machine(
        name="demo-dev-etl", definition=json.dumps(PASS), roleArn=role["Role"]["Arn"]
    )
    boto.client("batch").register_job_definition(
        jobDefinitionName="demo-dev-fibonacci",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128, "command": ["true"]},
    )
    before = leftovers(boto, "demo", "dev")
    config = write_project(tmp_path, example_text())

    result = cli(config, "plan")
    assert result.exit_code == 1, result.output
    assert "5 resources exist but are not managed by batchctl for this project and stage:" in result.stderr
    lines = [line for line in result.stderr.splitlines() if "not managed by batchctl" in line]
    for key, _service in UNTAGGED:
        assert sum(line.strip().startswith(f"{key} exists") for line in lines) == 1, (key, result.stderr)
    assert leftovers(boto, "demo", "dev") == before
