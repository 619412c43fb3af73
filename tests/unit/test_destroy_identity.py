"""What `destroy` takes from a jobs.yaml that no longer validates (issue 14, item 6): project, stage and region,
each only if valid on its own; and the stand-in jobs.yaml built from them, declaring every stage-wide kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchctl.build import build_specs
from batchctl.config.identity import Identity, read_identity, stand_in
from batchctl.errors import UsageError
from batchctl.naming import AwsContext
from batchctl.specs import Kind


def identity_of(tmp_path: Path, text: str) -> Identity:
    path = tmp_path / "jobs.yaml"
    path.write_text(text)
    return read_identity(path)


def test_valid_values_are_read_from_a_file_that_does_not_validate(tmp_path: Path) -> None:
    text = "version: 1\nproject: demo\nstage: dev\nregion: eu-west-1\njobz: {}\n"
    assert identity_of(tmp_path, text) == Identity("demo", "dev", "eu-west-1")


def test_an_invalid_value_is_left_out(tmp_path: Path) -> None:
    text = "version: 1\nproject: Demo_X\nstage: dev\nregion: [eu-west-1]\njobs: {}\n"
    assert identity_of(tmp_path, text) == Identity(None, "dev", None)


@pytest.mark.parametrize("text", ["project: [\n", "- a list\n", "", "\x00binary"])
def test_an_unparsable_file_gives_nothing(tmp_path: Path, text: str) -> None:
    assert identity_of(tmp_path, text) == Identity()


def test_a_missing_file_gives_nothing(tmp_path: Path) -> None:
    assert read_identity(tmp_path / "nope.yaml") == Identity()


def test_the_stand_in_declares_every_stage_wide_kind() -> None:
    cfg = stand_in(project="demo", stage="dev", region="eu-west-1")
    kinds = {spec.kind for spec in build_specs(cfg, AwsContext.placeholder("eu-west-1"))}
    assert kinds == set(Kind)


@pytest.mark.parametrize(
    ("project", "stage", "region", "option"),
    [
        ("Demo", "dev", None, "--project"),
        ("demo", "dev_1", None, "--stage"),
        ("demo", "dev", "us east", "--region"),
    ],
)
def test_an_invalid_option_is_a_usage_error_naming_it(
    project: str, stage: str, region: str | None, option: str
) -> None:
    with pytest.raises(UsageError, match=f"^{option}: "):
        stand_in(project=project, stage=stage, region=region)
