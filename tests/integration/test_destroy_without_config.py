"""`destroy` needs only project, stage and region (DESIGN §8): with a jobs.yaml that no longer validates, or none at
all, it finds what is ours by tag and generated name and deletes it, under the stage's lock; tagged look-alikes
and other stages survive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.lock import lock_parameter
from tests.reliability_support import ENV, example_text, leftovers, write_project

TAGS = [{"Key": "batchctl:project", "Value": "demo"}, {"Key": "batchctl:stage", "Value": "dev"}]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def cli(folder: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["-c", str(folder / "jobs.yaml"), *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def deployed(tmp_path: Path, text: str | None = None) -> Path:
    """A project folder whose jobs.yaml (the example's, or `text`) is deployed; returns the folder."""
    write_project(tmp_path, text or example_text())
    result = cli(tmp_path, "deploy", "--yes", "--skip-image")
    assert result.exit_code == 0, result.output
    return tmp_path


def lock_exists(boto: Any) -> bool:
    ssm = boto.client("ssm")
    try:
        ssm.get_parameter(Name=lock_parameter("demo", "dev"))
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


BROKEN = {
    "a typo in an unrelated key": ("  max_vcpus: 16", "  max_vcpu: 16"),
    "no jobs left": ("jobs:\n", "jobs: {}\nunused:\n"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_invalid_jobs_yaml_is_ignored_and_the_stage_is_destroyed_by_its_tags(
    aws_env: str, boto: Any, tmp_path: Path, case: str
) -> None:
    folder = deployed(tmp_path)
    assert leftovers(boto, "demo", "dev")
    old, new = BROKEN[case]
    config = folder / "jobs.yaml"
    config.write_text(config.read_text().replace(old, new))
    assert cli(folder, "validate").exit_code == 3

    result = cli(folder, "destroy", "--yes")
    assert result.exit_code == 0, result.output
    assert "is not valid" in result.stderr
    assert "destroy ignores its content" in result.stderr
    assert leftovers(boto, "demo", "dev") == []
    assert not lock_exists(boto)


def test_without_any_jobs_yaml_project_stage_and_region_are_enough(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    (tmp_path / "project").mkdir()
    deployed(tmp_path / "project")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    result = cli(empty, "destroy", "--project", "demo", "--stage", "dev", "--region", "eu-west-1", "--yes")
    assert result.exit_code == 0, result.output
    assert leftovers(boto, "demo", "dev") == []
    again = cli(empty, "destroy", "--project", "demo", "--stage", "dev", "--yes", "-o", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["plan"]["changes"] == []


def test_destroy_by_tags_spares_look_alikes_other_stages_and_untagged_resources(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "prod").mkdir()
    deployed(tmp_path / "dev")
    prod = deployed(tmp_path / "prod", example_text(stage="prod"))
    iam = boto.client("iam")
    # Tagged ours, under a name batchctl never generates: reported as foreign, never deleted.
    iam.create_role(RoleName="demo-dev-Admin-job", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=TAGS)
    # Our prefix, not tagged: not ours.
    boto.client("sqs").create_queue(QueueName="demo-dev-notes")
    empty = tmp_path / "none"
    empty.mkdir()

    result = cli(empty, "destroy", "--project", "demo", "--stage", "dev", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert "iam.role/demo-dev-Admin-job" in json.loads(result.stdout)["plan"]["foreign"]
    left = leftovers(boto, "demo", "dev")
    assert [r for r in left if "demo-dev-Admin-job" not in r and not r.endswith("/demo-dev-notes")] == []
    assert any(r.endswith("/demo-dev-notes") for r in left)
    assert any(r.endswith(":role/demo-dev-Admin-job") for r in left)
    checked = cli(prod, "plan", "--check")
    assert checked.exit_code == 0, checked.output


def test_without_jobs_yaml_destroy_asks_for_the_project(aws_env: str, tmp_path: Path) -> None:
    result = cli(tmp_path, "destroy", "--yes")
    assert result.exit_code == 3
    assert "--project NAME --stage NAME" in result.stderr
    no_stage = cli(tmp_path, "destroy", "--project", "demo", "--yes")
    assert no_stage.exit_code == 2
    assert "--stage" in no_stage.stderr
    bad = cli(tmp_path, "destroy", "--project", "Demo!", "--stage", "dev", "--yes")
    assert bad.exit_code == 2
    assert "--project" in bad.stderr


def test_destroy_without_jobs_yaml_waits_for_the_stage_lock(aws_env: str, boto: Any, tmp_path: Path) -> None:
    deployed(tmp_path)
    boto.client("ssm").put_parameter(
        Name=lock_parameter("demo", "dev"), Value="held by hand", Type="String", Overwrite=False
    )
    empty = tmp_path / "none"
    empty.mkdir()
    result = cli(empty, "destroy", "--project", "demo", "--stage", "dev", "--yes")
    assert result.exit_code == 1
    assert "demo/dev is locked" in result.stderr
    assert leftovers(boto, "demo", "dev")
