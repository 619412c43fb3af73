"""Plan notes (review 3): what deploy can neither grant nor check is said by `plan`, as "Note:" lines in the text
plan and as the `notes` list of the JSON plan: an image outside ECR (a private registry needs
repositoryCredentials), an image in another account's ECR (its repository policy must allow ours)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, example_text, write_project

BUILT = "image:\n  context: .\n  dockerfile: Dockerfile\n"
OUTSIDE_ECR = "ghcr.io/acme/report:1.2"
OTHER_ACCOUNT = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/report:1.2"


def _plan(tmp_path: Path, image: str | None, *json_output: str) -> tuple[int, str]:
    replace = {BUILT: f"image:\n  uri: {image}\n"} if image else {}
    config = write_project(tmp_path, example_text(stage="notes", **replace))
    result = CliRunner().invoke(app, ["-c", str(config), *json_output, "plan"], env=ENV)
    return result.exit_code, result.stdout


@pytest.mark.parametrize(
    ("image", "says"),
    [(OUTSIDE_ECR, "repositoryCredentials"), (OTHER_ACCOUNT, "account 210987654321")],
)
def test_plan_notes_what_pulling_the_image_needs(aws_env: str, tmp_path: Path, image: str, says: str) -> None:
    code, text = _plan(tmp_path, image)
    assert code == 0, text
    notes = [line for line in text.splitlines() if line.startswith("Note: ")]
    assert len(notes) == 1, text
    assert image in notes[0]
    assert says in notes[0]

    code, out = _plan(tmp_path, image, "-o", "json")
    assert code == 0, out
    (note,) = json.loads(out)["plan"]["notes"]
    assert image in note
    assert says in note


def test_plan_has_no_notes_for_the_stage_image(aws_env: str, tmp_path: Path) -> None:
    code, text = _plan(tmp_path, None)
    assert code == 0, text
    assert "Note:" not in text

    code, out = _plan(tmp_path, None, "-o", "json")
    assert json.loads(out)["plan"]["notes"] == []
