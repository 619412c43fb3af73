"""Runs in flight, with a real container that keeps its Batch job RUNNING (moto's Batch runs it on the Docker engine):
`cancel` stops the run and terminates the job (issue 15, item 1); `destroy` stops the runs of the workflows it
deletes, says so first, and leaves nothing (issue 13, review 6)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner, Result

from batchctl.cli.app import app
from tests.docker_env import busybox_project, remove_project_images
from tests.integration.test_docker_e2e import DOCKERFILE, SETTINGS, docker_batch
from tests.reliability_support import leftovers

__all__ = ["docker_batch"]  # a fixture, used by name

JOBS = """\
  nap:
    command: [/bin/busybox, sleep, "600"]
    vcpus: 0.25
    memory_mib: 512
"""
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def _document(stdout: str) -> Any:
    """The JSON document in `stdout`: moto's Batch runs in this process and may print a warning of its own to the
    same stream while a command runs."""
    start = 0 if stdout.startswith("{") else stdout.index("\n{") + 1
    return json.JSONDecoder().raw_decode(stdout, start)[0]


@dataclass
class Project:
    name: str
    config: str
    runner: CliRunner

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, ["-c", self.config, *args], env=ENV)

    def start_run(self) -> str:
        """Submit a run and wait (bounded) until its Batch job is RUNNING in its container."""
        started = self("submit", "nap", "--direct", "--body", "{}", "-o", "json")
        assert started.exit_code == 0, started.output
        run_id = str(_document(started.stdout)["run_id"])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            (run,) = [r for r in self.runs() if r["run_id"] == run_id]
            if [job["status"] for job in run["batch_jobs"]] == ["RUNNING"]:
                return run_id
            time.sleep(0.5)
        raise AssertionError(f"the Batch job of {run_id} did not reach RUNNING in 90 s: {run}")

    def runs(self) -> list[dict[str, Any]]:
        listed = self("status", "nap", "-o", "json")
        assert listed.exit_code == 0, listed.output
        found: list[dict[str, Any]] = _document(listed.stdout)["runs"]
        return found

    def batch_job_id(self, run_id: str) -> str:
        (run,) = [r for r in self.runs() if r["run_id"] == run_id]
        return str(run["batch_jobs"][0]["job_id"])


@pytest.fixture
def project(docker_batch: str, tmp_path: Path) -> Iterator[Project]:
    name = f"t{uuid4().hex[:8]}"
    root = busybox_project(tmp_path / name, project=name, dockerfile=DOCKERFILE, jobs=JOBS, settings=SETTINGS)
    deployed = Project(name, str(root / "jobs.yaml"), CliRunner())
    try:
        result = deployed("deploy", "--yes")
        assert result.exit_code == 0, result.output
        yield deployed
    finally:
        deployed("destroy", "--yes")
        remove_project_images(docker_batch, name)


def _batch_job(boto: Any, job_id: str) -> dict[str, Any]:
    (job,) = boto.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    return dict(job)


def _until_ended(boto: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    job = _batch_job(boto, job_id)
    while job["status"] not in ("SUCCEEDED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = _batch_job(boto, job_id)
    return job


@pytest.mark.docker
def test_cancel_stops_the_run_and_terminates_its_running_job(project: Project, boto: Any) -> None:
    run_id = project.start_run()
    job_id = project.batch_job_id(run_id)

    cancelled = project("cancel", run_id[:-3], "--reason", "wrong input")  # a unique prefix will do

    assert cancelled.exit_code == 0, cancelled.output
    assert f"run {run_id} of nap: ABORTED (stopped)" in cancelled.stdout
    assert f"main {job_id} FAILED (wrong input)" in cancelled.stdout
    job = _batch_job(boto, job_id)
    assert (job["status"], job["statusReason"]) == ("FAILED", "wrong input")
    (run,) = [r for r in project.runs() if r["run_id"] == run_id]
    assert run["status"] == "ABORTED"

    again = project("cancel", run_id)

    assert again.exit_code == 1
    assert f"run {run_id} of nap already finished (ABORTED)" in again.stderr
    assert "Traceback" not in again.output


@pytest.mark.docker
def test_cancel_all_stops_every_running_run_of_the_job(project: Project, boto: Any) -> None:
    first, second = project.start_run(), project.start_run()
    jobs = [project.batch_job_id(run_id) for run_id in (first, second)]

    cancelled = project("cancel", "nap", "--all", "-o", "json")

    assert cancelled.exit_code == 0, cancelled.output
    document = _document(cancelled.stdout)
    assert sorted(r["run_id"] for r in document["runs"]) == sorted([first, second])
    assert all(r["stopped"] and r["status"] == "ABORTED" for r in document["runs"])
    assert [_batch_job(boto, job_id)["status"] for job_id in jobs] == ["FAILED", "FAILED"]
    nothing = project("cancel", "nap", "--all")
    assert nothing.exit_code == 0
    assert "job nap has no running run" in nothing.stderr


@pytest.mark.docker
def test_destroy_stops_the_runs_in_flight_and_leaves_nothing(project: Project, boto: Any) -> None:
    run_id = project.start_run()
    job_id = project.batch_job_id(run_id)

    destroyed = project("destroy", "--yes")

    assert destroyed.exit_code == 0, destroyed.output
    assert "stops 1 running run(s) first" in destroyed.stdout
    job = _until_ended(boto, job_id)  # its container is being killed
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "batchctl destroy deletes this workflow"
    assert leftovers(boto, project.name, "dev") == []
