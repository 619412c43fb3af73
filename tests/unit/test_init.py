"""`batchctl init`: the scaffold validates, and never overwrites a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.scaffold import ScaffoldError, project_name

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def test_init_writes_a_project_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "My Reports_2026"
    result = CliRunner().invoke(app, ["init", str(target), "--project", "my-reports-2026"], env=ENV)
    assert result.exit_code == 0, result.output
    for rel in ("jobs.yaml", "Dockerfile", ".dockerignore", "job/hello.py", "job/nightly.py"):
        assert (target / rel).is_file(), rel
    checked = CliRunner().invoke(app, ["-c", str(target / "jobs.yaml"), "validate"], env=ENV)
    assert checked.exit_code == 0, checked.output
    assert "my-reports-2026/dev" in checked.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = CliRunner().invoke(app, ["init", str(tmp_path), "--project", "demo"], env=ENV)
    assert result.exit_code == 1
    assert "refusing to overwrite existing files" in result.stderr
    assert "Dockerfile" in result.stderr
    assert (tmp_path / "Dockerfile").read_text() == "FROM scratch\n"
    assert not (tmp_path / "jobs.yaml").exists()


def test_init_rejects_a_bad_project_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path), "--project", "Bad_Name"], env=ENV)
    assert result.exit_code == 1
    assert "not a valid project name" in result.stderr
    assert not (tmp_path / "jobs.yaml").exists()


def test_project_name_is_the_folder_name_when_valid_as_it_is() -> None:
    assert project_name(Path("/x/nightly-etl")) == "nightly-etl"


@pytest.mark.parametrize(
    ("folder", "suggestion"),
    [
        # Cut at 20 characters, both would be `customer-analytics-p`: one project's destroy would delete the other's.
        ("customer-analytics-pipeline-eu", "customer-analytics-p"),
        ("customer-analytics-pipeline-us", "customer-analytics-p"),
        ("123abc", "abc"),
        ("2026 Data Jobs!", "data-jobs"),
        ("My_Reports", "my-reports"),
        ("___", "jobs"),
    ],
)
def test_a_folder_name_that_would_change_is_refused_with_a_suggestion(
    tmp_path: Path, folder: str, suggestion: str
) -> None:
    with pytest.raises(ScaffoldError) as caught:
        project_name(Path("/x") / folder)
    assert repr(folder) in str(caught.value)
    assert caught.value.hint is not None
    assert f"--project {suggestion}" in caught.value.hint

    target = tmp_path / folder
    result = CliRunner().invoke(app, ["init", str(target)], env=ENV)
    assert result.exit_code == 1
    assert "not a valid project name" in result.stderr
    assert "Traceback" not in result.output
    assert not (target / "jobs.yaml").exists()


def test_two_long_folder_names_get_distinct_projects_only_through_project(tmp_path: Path) -> None:
    for region in ("eu", "us"):
        target = tmp_path / f"customer-analytics-pipeline-{region}"
        result = CliRunner().invoke(
            app, ["init", str(target), "--project", f"cust-analytics-{region}"], env=ENV
        )
        assert result.exit_code == 0, result.output
        assert f"project cust-analytics-{region}, stage dev" in result.stderr
        assert f"project: cust-analytics-{region}\n" in (target / "jobs.yaml").read_text()
