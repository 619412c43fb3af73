"""Which region a command acts on (issue 15, item 7): --region > jobs.yaml > AWS_REGION > AWS_DEFAULT_REGION >
the profile's. boto3 alone reads only AWS_DEFAULT_REGION and the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchctl.aws import create_session
from batchctl.cli.context import CliState
from batchctl.ui import Output, Ui

JOBS = "version: 1\nproject: demo\nstage: dev\n{region}jobs:\n  hello:\n    command: [echo, hi]\n"


@pytest.fixture(autouse=True)
def profile_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An AWS config whose default profile says ap-south-1; no region in the environment."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def region_of(tmp_path: Path, *, option: str | None = None, in_file: str | None = None) -> str | None:
    """The region of the session a command would use, given --region and jobs.yaml's `region:`."""
    path = tmp_path / "jobs.yaml"
    path.write_text(JOBS.format(region=f"region: {in_file}\n" if in_file else ""))
    ui = Ui.create(output=Output.TEXT, verbosity=0, color=False, debug=False)
    state = CliState(config_path=path, ui=ui, region=option)
    region: str | None = state.aws().region
    return region


def test_the_profile_region_is_the_last_resort(tmp_path: Path) -> None:
    assert region_of(tmp_path) == "ap-south-1"


def test_aws_default_region_beats_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert region_of(tmp_path) == "us-west-2"


def test_aws_region_beats_aws_default_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert region_of(tmp_path) == "eu-central-1"
    assert create_session().region_name == "eu-central-1"


def test_aws_region_alone_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    assert region_of(tmp_path) == "eu-north-1"


def test_jobs_yaml_beats_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert region_of(tmp_path, in_file="ca-central-1") == "ca-central-1"


def test_the_region_option_beats_jobs_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert region_of(tmp_path, option="sa-east-1", in_file="ca-central-1") == "sa-east-1"


def test_an_empty_aws_region_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert region_of(tmp_path) == "us-west-2"
