"""`batchctl init`: the scaffold validates, and never overwrites a file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.scaffold import project_name

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def test_init_writes_a_project_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "My Reports_2026"
    result = CliRunner().invoke(app, ["init", str(target)], env=ENV)
    assert result.exit_code == 0, result.output
    for rel in ("jobs.yaml", "Dockerfile", ".dockerignore", "job/hello.py", "job/nightly.py"):
        assert (target / rel).is_file(), rel
    checked = CliRunner().invoke(app, ["-c", str(target / "jobs.yaml"), "validate"], env=ENV)
    assert checked.exit_code == 0, checked.output
    assert "my-reports-2026/dev" in checked.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = CliRunner().invoke(app, ["init", str(tmp_path)], env=ENV)
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


def test_project_name_from_folder() -> None:
    assert project_name(Path("/x/2026 Data Jobs!")) == "data-jobs"
    assert project_name(Path("/x/___")) == "jobs"
