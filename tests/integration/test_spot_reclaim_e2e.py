"""Spot reclaims end to end (issue 13, review 2): the example deployed by batchctl on the strict sandbox, whose
`spot_interruption_rate` interrupts Spot attempts with the compute type's own statusReason, and runs started with
`submit --direct --wait`. A reclaim never uses up an application retry (each Batch job has one attempt), the
workflow resubmits the step at most `spot_retries` times, and a run that loses every attempt says why.

Each test starts its own strict sandbox (a fresh seed sequence, so the interruptions are reproducible)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
from typer.testing import CliRunner

from batchctl import sandbox
from batchctl.cli import submit as submit_command
from batchctl.cli.app import app
from batchctl.sandbox import StrictOptions
from tests.reliability_support import ENV, example_text, write_project

FARGATE_SPOT_REASON = "Your Spot Task was interrupted."
EC2_SPOT_REASON = re.compile(r"Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.")
Start = Callable[[StrictOptions], str]


@pytest.fixture
def strict_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    """Starts a strict sandbox with the given options and points the AWS SDK at it; stopped after the test."""
    boxes: list[Any] = []

    def start(options: StrictOptions) -> str:
        box = sandbox.start(port=0, use_docker=False, strict=options)
        boxes.append(box)
        if box.relay is not None:  # runs are started with --direct: no pipe to relay
            box.relay.stop()
            box.relay = None
        for name, value in {
            "AWS_ENDPOINT_URL": box.url,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(submit_command, "POLL_S", 0.05)
        return str(box.url)

    yield start
    for box in reversed(boxes):
        box.stop()


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["-c", str(config), *args], env=ENV)
    assert "Traceback" not in result.stdout + result.stderr, result.output
    return result


def deployed(tmp_path: Path, url: str, **replace: str) -> tuple[Path, Any, str]:
    """The example (stage unique to the test) deployed: its jobs.yaml, a Batch client and the job queue's name."""
    stage = f"s{uuid4().hex[:6]}"
    config = write_project(tmp_path, example_text(stage=stage, **replace))
    result = cli(config, "deploy", "--yes", "--skip-image")
    assert result.exit_code == 0, result.output
    batch = boto3.Session().client("batch", endpoint_url=url)
    return config, batch, f"demo-{stage}-queue"


def submit(config: Path) -> dict[str, Any]:
    result = cli(config, "-o", "json", "submit", "fibonacci", "--direct", "--wait", "--body", '{"n": 3}')
    document: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == (0 if document["status"] == "SUCCEEDED" else 1), result.output
    return document


def batch_jobs(batch: Any, queue: str) -> list[dict[str, Any]]:
    """Every Batch job submitted to `queue` (finished ones: ListJobs without a status lists RUNNING only)."""
    ids = [
        summary["jobId"]
        for status in ("SUCCEEDED", "FAILED")
        for summary in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
    ]
    return list(batch.describe_jobs(jobs=ids)["jobs"]) if ids else []


def test_fargate_spot_interrupted_every_time_fails_after_spot_retries_plus_one_submissions(
    strict_sandbox: Start, tmp_path: Path
) -> None:
    url = strict_sandbox(StrictOptions(time_scale=0.0, spot_interruption_rate=1.0, seed=1))
    config, batch, queue = deployed(tmp_path, url)  # FARGATE_SPOT, spot_retries 2, retries 1

    run = submit(config)

    assert run["status"] == "FAILED"
    assert FARGATE_SPOT_REASON in run["cause"]
    jobs = batch_jobs(batch, queue)
    assert len(jobs) == 2 + 1
    assert {job["status"] for job in jobs} == {"FAILED"}
    # Batch never retried a reclaim (the job definition allows 2 attempts): one attempt per submission.
    assert [[a["statusReason"] for a in job["attempts"]] for job in jobs] == [[FARGATE_SPOT_REASON]] * 3


def test_half_the_fargate_spot_attempts_interrupted_runs_succeed_without_an_application_retry(
    strict_sandbox: Start, tmp_path: Path
) -> None:
    # Seed 3 at rate 0.5 reclaims some of these runs' first submissions and never three in a row.
    url = strict_sandbox(StrictOptions(time_scale=0.0, spot_interruption_rate=0.5, seed=3))
    config, batch, queue = deployed(tmp_path, url)

    runs = [submit(config) for _ in range(4)]

    assert [run["status"] for run in runs] == ["SUCCEEDED"] * 4
    jobs = batch_jobs(batch, queue)
    reclaimed = [job for job in jobs if job["status"] == "FAILED"]
    succeeded = [job for job in jobs if job["status"] == "SUCCEEDED"]
    assert reclaimed, "the seed must reclaim at least one attempt"
    assert len(succeeded) == 4
    # Each reclaim ended its Batch job at once (no Batch retry), the workflow resubmitted the step instead, and
    # each run's last job succeeded at its first attempt: no application retry went to a reclaim.
    assert [[a["statusReason"] for a in job["attempts"]] for job in reclaimed] == [
        [FARGATE_SPOT_REASON]
    ] * len(reclaimed)
    assert [len(job["attempts"]) for job in succeeded] == [1] * 4


EC2_SPOT = {
    "compute:\n  type: FARGATE_SPOT\n": "compute:\n  type: SPOT\n  instance_types: [m5.large]\n",
}


def test_ec2_spot_reclaims_are_recognised_by_their_host_reason(strict_sandbox: Start, tmp_path: Path) -> None:
    url = strict_sandbox(StrictOptions(time_scale=0.0, spot_interruption_rate=1.0, seed=1))
    config, batch, queue = deployed(tmp_path, url, **EC2_SPOT)

    run = submit(config)

    assert run["status"] == "FAILED"
    assert EC2_SPOT_REASON.search(run["cause"])
    jobs = batch_jobs(batch, queue)
    assert len(jobs) == 2 + 1
    assert all(
        len(job["attempts"]) == 1 and EC2_SPOT_REASON.fullmatch(job["attempts"][0]["statusReason"])
        for job in jobs
    )
