"""`run --local`: Batch's Ref:: substitution and the container each step gets (pure), then real busybox runs on the
local Docker engine: output, exit codes, environment, limits, steps, and the CLI around it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import typer
from typer.testing import CliRunner

from batchctl.cli import app as app_module
from batchctl.cli.run import run as run_command
from batchctl.config import parse_config
from batchctl.errors import RunError
from batchctl.image import ImageBuilder
from batchctl.local import container_specs, run_local, run_parameters, substitute_refs
from tests.docker_env import busybox_project, engine_url, remove_project_images

TIME = "2025-01-02T03:04:05Z"
# EC2: Fargate would refuse memory_mib 64 (AWS-QUIRKS 16); nothing here depends on the compute type otherwise.
SETTINGS = "compute: {type: EC2}\n"
DOCKERFILE = "FROM scratch\nCOPY busybox /bin/busybox\n"
JOBS = """\
  hello:
    command: [/bin/busybox, echo, Ref::body]
    environment: {GREETING: hi}
    secrets: {DB_PASSWORD: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:/demo/db"}
  env:
    command: [/bin/busybox, sh, -c, 'echo "$GREETING|$BATCHCTL_BODY|$BATCHCTL_SOURCE|$BATCHCTL_RUN_ID|${DB_PASSWORD-unset}"']
    environment: {GREETING: "a b"}
    secrets: {DB_PASSWORD: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:/demo/db"}
  limits:
    command: [/bin/busybox, sh, -c, 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes']
    memory_mib: 64
  fails:
    command: [/bin/busybox, sh, -c, 'echo about to fail; exit 3']
  etl:
    steps:
      - {name: extract, command: [/bin/busybox, echo, extract, Ref::source]}
      - {name: load, command: [/bin/busybox, sh, -c, 'echo load; exit 4']}
      - {name: report, command: [/bin/busybox, echo, never]}
"""


# ---- pure: what Batch would run -----------------------------------------------------------------------------


def test_substitute_refs_replaces_whole_arguments_only() -> None:
    parameters = {"body": '{"n": 30}', "time": TIME, "source": "local", "id": "r-1"}
    command = ["python", "job.py", "--body", "Ref::body", "--at=Ref::time", "Ref::id", "Ref::other", "Ref::"]
    assert substitute_refs(command, parameters) == [
        "python",
        "job.py",
        "--body",
        '{"n": 30}',
        "--at=Ref::time",  # inside a longer argument: Batch leaves it
        "r-1",
        "Ref::other",  # no such parameter: stays literal, as on Batch
        "Ref::",
    ]


def test_absent_body_is_the_job_definition_default_empty_string() -> None:
    parameters = run_parameters(body=None, time=TIME, run_id="r-1")
    assert parameters == {"body": "", "time": TIME, "source": "local", "id": "r-1"}
    assert substitute_refs(["echo", "Ref::body", "Ref::source"], parameters) == ["echo", "", "local"]


def test_container_specs_give_each_step_what_batch_would() -> None:
    cfg = parse_config(
        "version: 1\nproject: demo\nstage: dev\ncompute: {type: EC2}\n"
        "defaults: {vcpus: 2, memory_mib: 1024}\n"
        "jobs:\n"
        "  etl:\n"
        "    environment: {LEVEL: info, WHERE: job}\n"
        "    secrets: {TOKEN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:/t'}\n"
        "    steps:\n"
        "      - {name: extract, command: [x, Ref::body], environment: {WHERE: step}, memory_mib: 512}\n"
        "      - {name: load, command: [y, Ref::time], array_size: 4, timeout_s: 120}\n"
    )
    extract, load = container_specs(cfg, "etl", body="payload", run_id="local-1", time=TIME)
    run_env = {
        "BATCHCTL_BODY": "payload",
        "BATCHCTL_TIME": TIME,
        "BATCHCTL_SOURCE": "local",
        "BATCHCTL_RUN_ID": "local-1",
    }
    assert (extract.step, extract.command) == ("extract", ("x", "payload"))
    assert extract.environment == {
        "LEVEL": "info",
        "WHERE": "step",
        **run_env,
    }  # no TOKEN: secrets stay unset
    assert (extract.vcpus, extract.memory_mib, extract.array_size) == (2.0, 512, None)
    assert (load.step, load.command, load.timeout_s) == ("load", ("y", TIME), 120)
    assert load.environment == {"LEVEL": "info", "WHERE": "job", **run_env, "AWS_BATCH_JOB_ARRAY_INDEX": "0"}


def test_unknown_job_names_the_known_ones() -> None:
    cfg = parse_config("version: 1\nproject: demo\nstage: dev\n" + SETTINGS + "jobs:\n" + JOBS)
    with pytest.raises(RunError, match="no job named 'nope'") as caught:
        container_specs(cfg, "nope", body=None, run_id="r", time=TIME)
    assert caught.value.hint == "jobs in this file: env, etl, fails, hello, limits"


# ---- with Docker --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_url() -> str:
    return engine_url()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, docker_url: str) -> Iterator[Path]:
    name = f"t-{uuid4().hex[:8]}"
    root = busybox_project(
        tmp_path_factory.mktemp("local-run"),
        project=name,
        dockerfile=DOCKERFILE,
        jobs=JOBS,
        settings=SETTINGS,
    )
    yield root
    remove_project_images(docker_url, name)


def cli_app() -> typer.Typer:
    """The real root callback (global options) with `run`, as app.py registers it."""
    cli = typer.Typer()
    cli.callback()(app_module.main)
    cli.command("run")(run_command)
    return cli


class Collected:
    def __init__(self) -> None:
        self.output: list[str] = []
        self.progress: list[str] = []
        self.warnings: list[str] = []


def run(project: Path, docker_url: str, job: str, body: str | None = None) -> tuple[int, Collected]:
    from batchctl.config import load_config

    seen = Collected()
    code = run_local(
        load_config(project / "jobs.yaml"),
        job,
        body=body,
        project_dir=project,
        engine=ImageBuilder(docker_host=docker_url),
        on_output=seen.output.append,
        on_progress=seen.progress.append,
        on_warning=seen.warnings.append,
        run_id="local-test",
    )
    return code, seen


@pytest.mark.docker
def test_ref_body_reaches_the_command(project: Path, docker_url: str) -> None:
    code, seen = run(project, docker_url, "hello", body='{"n": 30}')
    assert code == 0
    assert seen.output == ['{"n": 30}']
    assert seen.warnings == ["secrets are not resolved locally: DB_PASSWORD unset in the container"]


@pytest.mark.docker
def test_environment_and_unset_secrets(project: Path, docker_url: str) -> None:
    code, seen = run(project, docker_url, "env", body="the body")
    assert code == 0
    assert seen.output == ["a b|the body|local|local-test|unset"]


@pytest.mark.docker
def test_failing_command_returns_its_exit_code(project: Path, docker_url: str) -> None:
    code, seen = run(project, docker_url, "fails")
    assert code == 3
    assert seen.output == ["about to fail"]


@pytest.mark.docker
def test_steps_run_in_order_and_stop_at_the_first_failure(project: Path, docker_url: str) -> None:
    code, seen = run(project, docker_url, "etl")
    assert code == 4
    assert seen.output == ["extract local", "load"]
    assert "step load exited with 4; later steps not run" in seen.progress


@pytest.mark.docker
def test_memory_limit_is_the_steps(project: Path, docker_url: str) -> None:
    code, seen = run(project, docker_url, "limits")
    assert code == 0
    assert seen.output == [str(64 * 1024 * 1024)]


@pytest.mark.docker
def test_run_command_streams_output_and_exits_with_the_container_code(project: Path, docker_url: str) -> None:
    cli = cli_app()
    runner = CliRunner()
    env = {"COLUMNS": "200", "DOCKER_HOST": docker_url}
    config = ["-c", str(project / "jobs.yaml")]

    ok = runner.invoke(cli, [*config, "run", "hello", "--local", "--body", "hi there"], env=env)
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout == "hi there\n"
    assert "secrets are not resolved locally" in ok.stderr

    failed = runner.invoke(cli, [*config, "run", "fails", "--local"], env=env)
    assert failed.exit_code == 3
    assert failed.stdout == "about to fail\n"

    body_file = project / "body.json"
    body_file.write_text('{"from": "file"}')
    as_json = runner.invoke(
        cli, [*config, "-o", "json", "run", "hello", "--local", "--body-file", str(body_file)], env=env
    )
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {
        "version": 1,
        "job": "hello",
        "exit_code": 0,
        "output": ['{"from": "file"}'],
    }


# ---- the CLI's refusals (no Docker needed) -------------------------------------------------------------------


def test_run_without_local_is_a_usage_error_pointing_at_submit(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(
        "version: 1\nproject: demo\nstage: dev\n" + SETTINGS + "jobs:\n" + JOBS
    )
    result = CliRunner().invoke(
        cli_app(), ["-c", str(tmp_path / "jobs.yaml"), "run", "hello"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "needs --local" in result.stderr
    assert "batchctl submit hello" in result.stderr


def test_run_unknown_job_exits_2_naming_the_jobs(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(
        "version: 1\nproject: demo\nstage: dev\n" + SETTINGS + "jobs:\n" + JOBS
    )
    result = CliRunner().invoke(
        cli_app(), ["-c", str(tmp_path / "jobs.yaml"), "run", "nope", "--local"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "error: no job named 'nope' in jobs.yaml" in result.stderr
    assert "jobs in this file: env, etl, fails, hello, limits" in result.stderr
    assert "Traceback" not in result.stderr
