"""Ownership (DESIGN §3, §8): batchctl changes and deletes only what carries its project+stage tags.

- Two stages and another project side by side: destroying one stage leaves the others exactly as they were.
- Same-named resources that are not ours (untagged, or tagged for another project whose name prefix collides:
  project `demo` stage `a-x` and project `demo-a` stage `x` both name things `demo-a-x-...`) stop `plan`,
  `deploy` and `destroy` with "not managed by batchctl", and are never changed or deleted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import (
    ENV,
    deploy,
    destroy,
    example,
    example_text,
    leftovers,
    pending,
    plan_for,
    write_project,
)


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["-c", str(config), *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def test_destroying_one_stage_leaves_other_stages_and_projects_intact(aws: Any, boto: Any) -> None:
    stages = {("demo", "a"): example(stage="a"), ("demo", "b"): example(stage="b")}
    stages[("other", "a")] = example(project="other", stage="a")
    for cfg in stages.values():
        _, result = deploy(aws, cfg)
        assert result.failed == [], result.failed
    before = {key: leftovers(boto, *key) for key in stages}
    assert all(len(found) > 30 for found in before.values()), before

    _, removed = destroy(aws, stages[("demo", "a")])
    assert removed.failed == []
    assert len(removed.done) > 30

    assert leftovers(boto, "demo", "a") == []
    for key in (("demo", "b"), ("other", "a")):
        assert leftovers(boto, *key) == before[key], key
        after, _ = plan_for(aws, stages[key])
        assert not after.has_changes, (key, pending(after))


NOT_OURS_QUEUE = "demo-dev-fibonacci"
NOT_OURS_ROLE = "demo-dev-etl-job"
NOT_OURS_GROUP = "/batchctl/demo/dev/daily-report"


def snapshot(boto: Any) -> dict[str, Any]:
    """What a careless tool could change on the resources that are not ours."""
    sqs, iam, logs = boto.client("sqs"), boto.client("iam"), boto.client("logs")
    url = sqs.get_queue_url(QueueName=NOT_OURS_QUEUE)["QueueUrl"]
    role = iam.get_role(RoleName=NOT_OURS_ROLE)["Role"]
    (group,) = [
        g
        for g in logs.describe_log_groups(logGroupNamePrefix=NOT_OURS_GROUP)["logGroups"]
        if g["logGroupName"] == NOT_OURS_GROUP
    ]
    return {
        "queue": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"],
        "queue_tags": sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
        "role": (role["Arn"], role["AssumeRolePolicyDocument"], role.get("Tags", [])),
        "role_policies": iam.list_role_policies(RoleName=NOT_OURS_ROLE)["PolicyNames"],
        "group": (group["arn"], group.get("retentionInDays")),
        "group_tags": logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*"))["tags"],
    }


def test_same_named_untagged_resources_are_refused_never_adopted_changed_or_deleted(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    boto.client("sqs").create_queue(QueueName=NOT_OURS_QUEUE, Attributes={"VisibilityTimeout": "7"})
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    boto.client("iam").create_role(RoleName=NOT_OURS_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    boto.client("logs").create_log_group(logGroupName=NOT_OURS_GROUP, tags={"team": "someone-else"})
    before = snapshot(boto)
    config = write_project(tmp_path, example_text())

    for args in (("plan",), ("deploy", "--yes", "--skip-image"), ("destroy", "--yes")):
        result = cli(config, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "not managed by batchctl" in result.stderr, (args, result.stderr)
        # Each of them is named (reads run concurrently: the first one found stops the plan).
        assert any(name in result.stderr for name in (NOT_OURS_QUEUE, NOT_OURS_ROLE, NOT_OURS_GROUP))
    assert snapshot(boto) == before
    # Nothing else was created either: the refusal came before any change.
    queue_url = boto.client("sqs").get_queue_url(QueueName=NOT_OURS_QUEUE)["QueueUrl"]
    assert leftovers(boto, "demo", "dev") == sorted([queue_url, before["role"][0], NOT_OURS_GROUP])


def test_a_project_whose_names_collide_with_another_stage_never_touches_it(
    aws: Any, boto: Any, tmp_path: Path
) -> None:
    # project demo + stage a-x and project demo-a + stage x both prefix every name with demo-a-x.
    theirs = example(stage="a-x")
    _, result = deploy(aws, theirs)
    assert result.failed == []
    before = leftovers(boto, "demo", "a-x")
    config = write_project(tmp_path, example_text(project="demo-a", stage="x"))

    for args in (("plan",), ("deploy", "--yes", "--skip-image"), ("destroy", "--yes")):
        refused = cli(config, *args)
        assert refused.exit_code == 1, (args, refused.output)
        assert "not managed by batchctl" in refused.stderr, (args, refused.stderr)

    assert leftovers(boto, "demo", "a-x") == before
    after, _ = plan_for(aws, theirs)
    assert not after.has_changes, pending(after)
