"""Drift (DESIGN §5, §8): resources changed outside batchctl show in `plan` as an update (or a create when deleted),
`plan --check` exits 5 on drift and 0 when clean, and `deploy` puts everything back as jobs.yaml says.

Four changes made with plain boto3, as a console user would: a new job definition revision with more memory (tags
copied, as the console does), a queue's visibility timeout, a state machine's definition, and a deleted log group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, example_text, write_project

STAGE = "drift"
JOB_DEFINITION = f"demo-{STAGE}-daily-report"
QUEUE = f"demo-{STAGE}-fibonacci"
MACHINE = f"demo-{STAGE}-etl"
LOG_GROUP = f"/batchctl/demo/{STAGE}/fibonacci"


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["-c", str(config), *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def latest_job_definition(boto: Any) -> dict[str, Any]:
    found = boto.client("batch").describe_job_definitions(jobDefinitionName=JOB_DEFINITION, status="ACTIVE")
    return dict(max(found["jobDefinitions"], key=lambda d: d["revision"]))


def memory_of(definition: dict[str, Any]) -> int:
    (memory,) = [
        r["value"] for r in definition["containerProperties"]["resourceRequirements"] if r["type"] == "MEMORY"
    ]
    return int(memory)


def queue_url(boto: Any) -> str:
    return str(boto.client("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"])


def visibility_timeout(boto: Any) -> int:
    attributes = boto.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(boto), AttributeNames=["VisibilityTimeout"]
    )
    return int(attributes["Attributes"]["VisibilityTimeout"])


def machine(boto: Any) -> dict[str, Any]:
    sfn = boto.client("stepfunctions")
    (arn,) = [
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == MACHINE
    ]
    return dict(sfn.describe_state_machine(stateMachineArn=arn))


def log_group_exists(boto: Any) -> bool:
    groups = boto.client("logs").describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    return any(g["logGroupName"] == LOG_GROUP for g in groups)


def drift_everything(boto: Any) -> None:
    latest = latest_job_definition(boto)
    container = latest["containerProperties"]
    # 2 vCPU with 5120 MiB: a pair Fargate offers (2 vCPU take 4096..16384 MiB; AWS refuses 2048).
    container["resourceRequirements"] = [
        {"type": r["type"], "value": "5120" if r["type"] == "MEMORY" else r["value"]}
        for r in container["resourceRequirements"]
    ]
    keep = ("parameters", "retryStrategy", "timeout", "platformCapabilities", "tags", "propagateTags")
    boto.client("batch").register_job_definition(
        jobDefinitionName=JOB_DEFINITION,
        type="container",
        containerProperties=container,
        **{k: latest[k] for k in keep if k in latest},
    )
    boto.client("sqs").set_queue_attributes(QueueUrl=queue_url(boto), Attributes={"VisibilityTimeout": "5"})
    found = machine(boto)
    edited = json.loads(found["definition"]) | {"Comment": "edited in the console"}
    boto.client("stepfunctions").update_state_machine(
        stateMachineArn=found["stateMachineArn"], definition=json.dumps(edited)
    )
    boto.client("logs").delete_log_group(logGroupName=LOG_GROUP)


def test_drift_shows_in_plan_check_exits_5_and_deploy_restores_it(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    config = write_project(tmp_path, example_text(stage=STAGE))
    deployed = cli(config, "deploy", "--yes", "--skip-image")
    assert deployed.exit_code == 0, deployed.output
    clean = cli(config, "plan", "--check")
    assert clean.exit_code == 0, clean.output
    desired_definition = machine(boto)["definition"]
    assert (memory_of(latest_job_definition(boto)), visibility_timeout(boto)) == (4096, 60)

    drift_everything(boto)

    check = cli(config, "plan", "--check")
    assert check.exit_code == 5, check.output
    planned = cli(config, "-o", "json", "plan")
    assert planned.exit_code == 0, planned.output  # without --check, drift is not an error
    changes = {
        c["key"]: (c["action"], sorted(c.get("fields", {})))
        for c in json.loads(planned.stdout)["plan"]["changes"]
        if c["action"] != "noop"
    }
    assert changes == {
        f"batch.job_definition/{JOB_DEFINITION}": ("update", ["memory_mib"]),
        f"sqs.queue/{QUEUE}": ("update", ["visibility_timeout_s"]),
        f"sfn.state_machine/{MACHINE}": ("update", ["definition"]),
        f"logs.log_group/{LOG_GROUP}": ("create", []),
    }
    fields = {c["key"]: c.get("fields") for c in json.loads(planned.stdout)["plan"]["changes"]}
    assert fields[f"batch.job_definition/{JOB_DEFINITION}"] == {"memory_mib": {"before": 5120, "after": 4096}}
    assert fields[f"sqs.queue/{QUEUE}"] == {"visibility_timeout_s": {"before": 5, "after": 60}}
    text = cli(config, "plan")
    assert f"~ sfn.state_machine/{MACHINE} (definition)" in text.stdout
    assert f"+ logs.log_group:{LOG_GROUP}" in text.stdout  # a name starting with / follows a colon

    restored = cli(config, "deploy", "--yes", "--skip-image")
    assert restored.exit_code == 0, restored.output
    assert "deploy complete: 4 change(s) applied." in restored.stderr
    assert cli(config, "plan", "--check").exit_code == 0
    assert memory_of(latest_job_definition(boto)) == 4096
    assert visibility_timeout(boto) == 60
    assert json.loads(machine(boto)["definition"]) == json.loads(desired_definition)
    assert log_group_exists(boto)
