"""Orphans (DESIGN §5 `deploy --prune`): a job removed from jobs.yaml, a queue dropped from a job. Their resources
are found by tag, only ours, deleted dependents first, and the rest of the project is left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl import build, deployment
from batchctl.cli.app import app
from batchctl.orphans import DELETE_ORDER
from batchctl.provisioners import build_provisioners
from tests.reliability_support import (
    ENV,
    deploy,
    destroy,
    example,
    example_text,
    leftovers,
    plan_for,
    write_project,
)

WITHOUT_ETL_AND_FIBONACCI_QUEUE = {
    # etl's block goes entirely; fibonacci keeps running on demand through --direct, without its queue.
    "  etl:                        # two containers in sequence, same input\n": "",
    "    description: Extracts records, then loads them in four parallel shards.\n": "",
    "    steps:\n      - name: extract\n        command: [python, /opt/app/job/extract.py]\n": "",
    "      - name: load\n        command: [python, /opt/app/job/load.py]\n        array_size: 4\n": "",
    "    queue:\n      visibility_timeout_s: 60\n      max_receive_count: 3\n": "",
}


def keys_of(aws: Any, cfg: Any) -> set[Any]:
    return {spec.key for spec in build.build_specs(cfg, aws.context())}


def test_removed_job_and_dropped_queue_are_found_by_tag_and_pruned_leaving_the_rest(
    aws: Any, boto: Any
) -> None:
    before = example(stage="prune")
    after = example(stage="prune", **WITHOUT_ETL_AND_FIBONACCI_QUEUE)
    assert "etl" not in after.jobs
    assert after.jobs["fibonacci"].queue is None
    other = example(stage="keep")
    for cfg in (before, other):
        _, result = deploy(aws, cfg)
        assert result.failed == [], result.failed
    # Strays with names like ours: one without tags, one tagged for another project. Neither is ours.
    sqs = boto.client("sqs")
    stray = sqs.create_queue(QueueName="demo-prune-stray")["QueueUrl"]
    foreign = sqs.create_queue(
        QueueName="demo-prune-foreign", tags={"batchctl:project": "other", "batchctl:stage": "prune"}
    )["QueueUrl"]

    _, result = deploy(aws, after)
    assert result.failed == [], result.failed
    provisioners = build_provisioners(aws)
    specs = build.build_specs(after, aws.context())
    found = deployment.find_orphans(aws, provisioners, after, aws.context(), specs)

    expected = {key for key in keys_of(aws, before) - keys_of(aws, after) if key.kind in DELETE_ORDER}
    assert len(expected) >= 10, (
        expected
    )  # etl: 2 roles, 2 definitions, 2 log groups, 1 workflow; queue, dlq...
    assert set(found.keys) == expected
    # Dependents first: the pipe before its queue and role, the workflow before its role.
    order = [str(key) for key in found.keys]
    assert order.index("pipes.pipe/demo-prune-fibonacci") < order.index("sqs.queue/demo-prune-fibonacci")
    assert order.index("sfn.state_machine/demo-prune-etl") < order.index("iam.role/demo-prune-etl-sfn")

    removed = deployment.delete_orphans(found, provisioners)
    assert removed.failed == [], removed.failed
    assert sorted(c.key for c in removed.done) == sorted(found.keys)
    assert deployment.find_orphans(aws, provisioners, after, aws.context(), specs).keys == []
    plan, _ = plan_for(aws, after)
    assert not plan.has_changes, [str(c.key) for c in plan.pending]
    # The strays and the other stage are untouched.
    assert sqs.get_queue_url(QueueName="demo-prune-stray")["QueueUrl"] == stray
    assert sqs.get_queue_url(QueueName="demo-prune-foreign")["QueueUrl"] == foreign
    kept, _ = plan_for(aws, other)
    assert not kept.has_changes, [str(c.key) for c in kept.pending]

    for cfg in (after, other):
        _, gone = destroy(aws, cfg)
        assert gone.failed == [], gone.failed
    for url in (stray, foreign):
        sqs.delete_queue(QueueUrl=url)
    assert leftovers(boto, "demo", "prune") == []
    assert leftovers(boto, "demo", "keep") == []


def test_nothing_to_prune_makes_no_mutating_call(aws: Any, recorder: Any) -> None:
    cfg = example(stage="clean")
    _, result = deploy(aws, cfg)
    assert result.failed == []
    recorder.calls.clear()
    provisioners = build_provisioners(aws)
    found = deployment.find_orphans(
        aws, provisioners, cfg, aws.context(), build.build_specs(cfg, aws.context())
    )
    assert found.keys == []
    assert deployment.delete_orphans(found, provisioners).done == []
    assert recorder.mutating == []
    assert recorder.calls  # it did look
    destroy(aws, cfg)


def test_cli_plan_lists_orphans_deploy_keeps_them_until_prune_and_destroy_takes_them(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    config = write_project(tmp_path, example_text(stage="cli"))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["-c", str(config), *args], env=ENV)

    assert run("deploy", "--yes", "--skip-image").exit_code == 0
    config.write_text(example_text(stage="cli", **WITHOUT_ETL_AND_FIBONACCI_QUEUE))

    planned = run("-o", "json", "plan")
    assert planned.exit_code == 0, planned.output
    orphans = json.loads(planned.stdout)["plan"]["orphans"]
    assert "sfn.state_machine/demo-cli-etl" in orphans
    assert "pipes.pipe/demo-cli-fibonacci" in orphans
    assert len(orphans) >= 10
    text = run("plan")
    assert "`batchctl deploy --prune` deletes them" in text.stdout
    assert "- sqs.queue/demo-cli-fibonacci-dlq" in text.stdout
    assert run("plan", "--check").exit_code == 5  # the account holds what jobs.yaml does not say

    kept = run("deploy", "--yes", "--skip-image")
    assert kept.exit_code == 0, kept.output
    assert "--prune" in kept.stderr
    assert json.loads(run("-o", "json", "plan").stdout)["plan"]["orphans"] == orphans

    pruned = run("-o", "json", "deploy", "--yes", "--skip-image", "--prune")
    assert pruned.exit_code == 0, pruned.output
    done = json.loads(pruned.stdout)["result"]["done"]
    assert sorted(done) == sorted(f"{key}:delete" for key in orphans)
    assert run("plan", "--check").exit_code == 0

    # The etl job comes back, then goes away from jobs.yaml again: destroy still takes everything.
    config.write_text(example_text(stage="cli"))
    assert run("deploy", "--yes", "--skip-image").exit_code == 0
    config.write_text(example_text(stage="cli", **WITHOUT_ETL_AND_FIBONACCI_QUEUE))
    destroyed = run("destroy", "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert "deleted sfn.state_machine/demo-cli-etl" in destroyed.stderr
    assert leftovers(boto, "demo", "cli") == []
