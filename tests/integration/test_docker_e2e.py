"""The whole cycle with a real container: a FROM-scratch busybox image is built by `deploy` (named on the local
engine, as on the sandbox), moto's Batch runs it in Docker, and the job's real output comes back through the
workflow, `submit --wait --logs` and `logs tail`."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.docker_env import busybox_project, engine_url, remove_project_images

DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT []\nCMD ["/bin/busybox", "true"]\n'
JOBS = """\
  greet:
    command: [/bin/busybox, echo, "greeting:", Ref::body]
    vcpus: 0.25
    memory_mib: 512
"""
SETTINGS = "region: eu-west-1\ncompute: {type: FARGATE, max_vcpus: 2}\nnotify: {topic: false}\n"


def _batch_docker(moto_url: str, *, on: bool) -> None:
    request = urllib.request.Request(
        f"{moto_url}/moto-api/config",
        data=json.dumps({"batch": {"use_docker": on}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status < 300


@pytest.fixture
def docker_batch(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's Batch runs job containers on the engine for this test only."""
    url = engine_url()
    monkeypatch.setenv("DOCKER_HOST", url)
    _batch_docker(aws_env, on=True)
    yield url
    _batch_docker(aws_env, on=False)


@pytest.mark.docker
def test_job_output_comes_back_from_a_real_container(docker_batch: str, tmp_path: Path) -> None:
    name = f"t{uuid4().hex[:8]}"
    root = busybox_project(tmp_path / name, project=name, dockerfile=DOCKERFILE, jobs=JOBS, settings=SETTINGS)
    config = str(root / "jobs.yaml")
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    runner = CliRunner()
    try:
        deployed = runner.invoke(app, ["-c", config, "deploy", "--yes"], env=env)
        assert deployed.exit_code == 0, deployed.output
        assert "is on the local engine" in deployed.stderr

        run = runner.invoke(
            app,
            ["-c", config, "submit", "greet", "--body", "hello-from-busybox", "--direct", "--wait", "--logs"],
            env=env,
        )
        assert run.exit_code == 0, run.output
        assert "greeting: hello-from-busybox" in run.output

        tail = runner.invoke(app, ["-c", config, "logs", "tail", "greet", "--since", "1h"], env=env)
        assert tail.exit_code == 0, tail.output
        assert "greeting: hello-from-busybox" in tail.stdout

        destroyed = runner.invoke(app, ["-c", config, "destroy", "--yes"], env=env)
        assert destroyed.exit_code == 0, destroyed.output
    finally:
        remove_project_images(docker_batch, name)
