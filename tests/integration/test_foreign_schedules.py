"""Schedules batchctl did not create (DESIGN §8): schedules cannot be tagged, so being in our tagged group proves
nothing; ours carry a marker in their Description. Any other schedule in the group is reported, never updated,
pruned or deleted, and `destroy` keeps the group while one is in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchctl import build, runs
from batchctl.cli.app import app
from batchctl.diff import Action
from batchctl.errors import NotManagedError
from batchctl.naming import Names
from batchctl.provisioners.discover import foreign_schedules
from batchctl.specs import Key, Kind, schedule_marker
from tests import reliability_support as rs

JOB = "daily-report"  # the example's scheduled job


def names_of(aws: Any, stage: str) -> Names:
    return build.names_for(rs.example(stage=stage), aws.context())


def deployed(aws: Any, stage: str) -> tuple[Any, Names]:
    """The example project deployed (without the image step) as `stage`: its config and names."""
    cfg = rs.example(stage=stage)
    _, result = rs.deploy(aws, cfg)
    assert result.failed == [], result.failed
    return cfg, names_of(aws, stage)


def schedule(boto: Any, names: Names, name: str) -> dict[str, Any]:
    found = boto.client("scheduler").get_schedule(Name=name, GroupName=names.schedule_group)
    return {k: v for k, v in found.items() if k != "ResponseMetadata"}


def create_theirs(boto: Any, names: Names, name: str, **fields: Any) -> dict[str, Any]:
    """A schedule someone made in our group by hand (no Description, as the console leaves it)."""
    boto.client("scheduler").create_schedule(
        Name=name,
        GroupName=names.schedule_group,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": names.state_machine_arn(JOB),
            "RoleArn": names.role_arn(names.schedule_role(JOB)),
        },
        **fields,
    )
    return schedule(boto, names, name)


def test_schedule_we_did_not_create_survives_prune_and_destroy_is_reported_and_keeps_the_group(
    aws_env: str, aws: Any, boto: Any, tmp_path: Path
) -> None:
    config = rs.write_project(tmp_path, rs.example_text(stage="foreign"))
    names = names_of(aws, "foreign")

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, ["-c", str(config), *args], env=rs.ENV)
        assert "Traceback" not in result.output
        return result

    assert run("deploy", "--yes", "--skip-image").exit_code == 0
    theirs = create_theirs(boto, names, "nightly-export")
    # One that looks like ours: a generated name for a job jobs.yaml does not declare, but no marker.
    lookalike = create_theirs(boto, names, names.schedule("old-job"), Description="copied by hand")

    declared = [spec.key for spec in build.build_specs(rs.example(stage="foreign"), aws.context())]
    assert foreign_schedules(aws, names, declared) == sorted(["nightly-export", names.schedule("old-job")])
    planned = run("-o", "json", "plan")
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)["plan"]["orphans"] == []

    pruned = run("-o", "json", "deploy", "--yes", "--skip-image", "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.stdout)["result"]["done"] == []
    assert schedule(boto, names, "nightly-export") == theirs
    assert schedule(boto, names, names.schedule("old-job")) == lookalike

    refused = run("destroy", "--yes")
    assert refused.exit_code == 1, refused.output
    said = " ".join(refused.stderr.split())  # as printed, whatever the line breaks
    assert (
        f"scheduler.schedule_group/{names.schedule_group} was left in place: deleting it would delete 2 "
        f"schedule(s) in it that batchctl did not create ({names.schedule('old-job')}, nightly-export)"
    ) in said
    assert f"deleted scheduler.schedule/{names.schedule(JOB)}" in said  # ours went, before the group
    scheduler = boto.client("scheduler")
    assert scheduler.get_schedule_group(Name=names.schedule_group)["State"] == "ACTIVE"
    assert schedule(boto, names, "nightly-export") == theirs
    assert schedule(boto, names, names.schedule("old-job")) == lookalike

    # Once its owner has moved them away, destroy finishes.
    for name in ("nightly-export", names.schedule("old-job")):
        scheduler.delete_schedule(Name=name, GroupName=names.schedule_group)
    assert foreign_schedules(aws, names) == []
    finished = run("destroy", "--yes")
    assert finished.exit_code == 0, finished.output
    assert rs.leftovers(boto, "demo", "foreign") == []


def test_schedule_with_our_generated_name_but_not_our_marker_stops_the_plan(
    aws: Any, boto: Any, recorder: Any
) -> None:
    cfg, names = deployed(aws, "taken")
    # Someone replaced our schedule with theirs, under the same name.
    boto.client("scheduler").delete_schedule(Name=names.schedule(JOB), GroupName=names.schedule_group)
    theirs = create_theirs(boto, names, names.schedule(JOB), Description="team B's report trigger")
    recorder.calls.clear()

    message = f"scheduler.schedule/{names.schedule(JOB)} exists but is not managed by batchctl"
    with pytest.raises(NotManagedError, match=message):
        rs.plan_for(aws, cfg)
    with pytest.raises(NotManagedError, match=message):
        rs.destroy(aws, cfg)
    with pytest.raises(NotManagedError, match="exists but is not managed by batchctl"):
        runs.set_schedule_state(aws, names, job=runs.JobInfo(name=JOB, has_schedule=True), enabled=False)
    assert recorder.mutating == []
    assert schedule(boto, names, names.schedule(JOB)) == theirs
    assert foreign_schedules(aws, names) == [names.schedule(JOB)]


def test_unchanged_schedule_deploys_noop_and_pause_resume_keep_the_marker(
    aws: Any, boto: Any, recorder: Any
) -> None:
    cfg, names = deployed(aws, "mark")
    marker = "managed by batchctl: project=demo stage=mark job=daily-report"
    assert schedule_marker("demo", "mark", JOB) == marker
    assert schedule(boto, names, names.schedule(JOB))["Description"] == marker

    recorder.calls.clear()
    plan, again = rs.deploy(aws, cfg)
    (change,) = [c for c in plan.changes if c.key == Key(Kind.SCHEDULE, names.schedule(JOB))]
    assert change.action is Action.NOOP
    assert not plan.has_changes, rs.pending(plan)
    assert again.done == []
    assert recorder.mutating == []

    job = runs.JobInfo(name=JOB, has_schedule=True)
    paused = runs.set_schedule_state(aws, names, job=job, enabled=False)
    assert paused.changed
    assert schedule(boto, names, names.schedule(JOB))["Description"] == marker
    assert runs.set_schedule_state(aws, names, job=job, enabled=True).changed
    assert schedule(boto, names, names.schedule(JOB))["Description"] == marker
    after, _ = rs.plan_for(aws, cfg)
    assert not after.has_changes, rs.pending(after)
    assert foreign_schedules(aws, names) == []
    rs.destroy(aws, cfg)


def test_schedule_deployed_before_the_marker_gets_it_on_the_next_deploy(aws: Any, boto: Any) -> None:
    cfg, names = deployed(aws, "old")
    # What batchctl wrote before the marker existed.
    current = schedule(boto, names, names.schedule(JOB))
    kept = ("ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target", "State")
    boto.client("scheduler").update_schedule(
        Name=names.schedule(JOB),
        GroupName=names.schedule_group,
        Description=f"batchctl demo-old: {JOB}",
        **{k: current[k] for k in kept},
    )
    assert foreign_schedules(aws, names) == []  # ours, not someone else's

    plan, applied = rs.deploy(aws, cfg)
    assert rs.pending(plan) == [f"update scheduler.schedule/{names.schedule(JOB)} description"]
    assert applied.failed == [], applied.failed
    assert schedule(boto, names, names.schedule(JOB))["Description"] == schedule_marker("demo", "old", JOB)
    after, _ = rs.plan_for(aws, cfg)
    assert not after.has_changes, rs.pending(after)
    _, gone = rs.destroy(aws, cfg)
    assert gone.failed == [], gone.failed
    assert rs.leftovers(boto, "demo", "old") == []
