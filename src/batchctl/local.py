"""`batchctl run JOB --local`: run a job's containers on the local Docker engine with the command, environment and
`Ref::` substitution Batch would give them, streaming their output and returning the exit code.

Imports: errors, config, docker, stdlib. The image comes from an `Engine` (image.ImageBuilder is one), which
builds or pulls it. Secrets are never resolved locally (the run says so).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from batchctl.config import RUN_PARAMETERS, JobsFile, resolve_steps
from batchctl.errors import DockerUnavailableError, ImageError, RunError, RunUsageError

__all__ = [
    "LOCAL_SOURCE",
    "ContainerSpec",
    "Engine",
    "container_specs",
    "run_local",
    "run_parameters",
    "substitute_refs",
]

Lines = Callable[[str], None]

LOCAL_SOURCE = "local"
REF_PREFIX = "Ref::"
TIMED_OUT_EXIT = 137  # what a killed container exits with (128 + SIGKILL)


class Engine(Protocol):
    """A Docker engine that can provide the job image (image.ImageBuilder)."""

    def prepare_image(self, cfg: JobsFile, project_dir: Path, on_progress: Lines) -> str:
        """Build or pull the image of `cfg`; return the local reference to run."""
        ...

    def client(self) -> Any:
        """The connected docker.DockerClient."""
        ...

    def unavailable(self) -> DockerUnavailableError:
        """The error for an engine that stopped answering."""
        ...


def substitute_refs(command: Sequence[str], parameters: Mapping[str, str]) -> list[str]:
    """Batch's parameter substitution: an argument that is exactly `Ref::name` becomes the value of parameter
    `name`; every other argument is kept as it is, including one with `Ref::` inside a longer string, and a
    placeholder with no value (Batch leaves it literal).

    AWS Batch User Guide, "Job definition parameters" (docs.aws.amazon.com/batch/latest/userguide/
    job_definition_parameters.html#parameters): placeholders are command arguments such as
    `"command": ["ffmpeg", "-i", "Ref::inputfile", "-c", "Ref::codec"]`, and "the Ref::codec argument in the
    container's command is replaced with the default value". Our job definitions declare "" defaults for
    body/time/source/id (build.RUN_PARAMETERS), so those never stay literal: `run_parameters` fills all four.
    """
    substituted: list[str] = []
    for argument in command:
        name = argument[len(REF_PREFIX) :] if argument.startswith(REF_PREFIX) else None
        substituted.append(parameters[name] if name is not None and name in parameters else argument)
    return substituted


def run_parameters(*, body: str | None, time: str, run_id: str) -> dict[str, str]:
    """The Batch parameters a local run passes: what the workflow passes, with source `local`; an absent body is
    the job definition's default, ""."""
    values = {"body": body or "", "time": time, "source": LOCAL_SOURCE, "id": run_id}
    return {name: values[name] for name in RUN_PARAMETERS}


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """One step's container, as Batch would start it."""

    step: str
    command: tuple[str, ...]
    environment: dict[str, str]
    vcpus: float
    memory_mib: int
    gpus: int
    timeout_s: int | None  # None: no timeout, as a job definition without one
    array_size: int | None


def container_specs(
    cfg: JobsFile, job: str, *, body: str | None, run_id: str, time: str
) -> list[ContainerSpec]:
    """The containers of `job`, in order: command after `Ref::` substitution, the job's environment plus the
    BATCHCTL_* variables the workflow sets, and the step's resources. Unknown job → RunError."""
    if job not in cfg.jobs:
        known = ", ".join(sorted(cfg.jobs))
        raise RunUsageError(f"no job named {job!r} in jobs.yaml", hint=f"jobs in this file: {known}")
    parameters = run_parameters(body=body, time=time, run_id=run_id)
    run_env = {
        "BATCHCTL_BODY": parameters["body"],
        "BATCHCTL_TIME": time,
        "BATCHCTL_SOURCE": LOCAL_SOURCE,
        "BATCHCTL_RUN_ID": run_id,
    }
    specs: list[ContainerSpec] = []
    for step in resolve_steps(cfg, job):
        environment = {**step.environment, **run_env}
        if step.array_size:
            # Batch runs array_size children; locally we run the first one, which Batch numbers 0.
            environment["AWS_BATCH_JOB_ARRAY_INDEX"] = "0"
        specs.append(
            ContainerSpec(
                step=step.name,
                command=tuple(substitute_refs(step.command, parameters)),
                environment=environment,
                vcpus=step.vcpus,
                memory_mib=step.memory_mib,
                gpus=step.gpus,
                timeout_s=step.timeout_s,
                array_size=step.array_size,
            )
        )
    return specs


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_run_id() -> str:
    return f"local-{uuid.uuid4().hex[:12]}"


def _ignore(_line: str) -> None:
    return None


def run_local(
    cfg: JobsFile,
    job: str,
    *,
    body: str | None,
    project_dir: Path,
    engine: Engine,
    on_output: Lines,
    on_progress: Lines = _ignore,
    on_warning: Lines | None = None,
    run_id: str | None = None,
    time: str | None = None,
) -> int:
    """Run `job` locally: each step in order, stopping at the first that fails; returns the last exit code.

    The image comes from `engine.prepare_image`: `image.uri` (pulled if the engine lacks it) or the project's
    image built at its content tag (build skipped when present). Container output goes to `on_output` line by
    line; build output and step headers to `on_progress`; what differs from Batch (secrets, array jobs) to
    `on_warning` (default: `on_progress`)."""
    warn = on_warning or on_progress
    run_id = run_id or _new_run_id()
    specs = container_specs(cfg, job, body=body, run_id=run_id, time=time or _utc_now())
    secrets = sorted(cfg.jobs[job].secrets)
    if secrets:
        warn(f"secrets are not resolved locally: {', '.join(secrets)} unset in the container")
    image = engine.prepare_image(cfg, project_dir, on_progress)
    on_progress(f"run {run_id}: job {job} with image {image}")
    code = 0
    for spec in specs:
        if len(specs) > 1:
            on_progress(f"step {spec.step}: {' '.join(spec.command)}")
        if spec.array_size:
            warn(f"step {spec.step} is an array job of {spec.array_size}: locally only index 0 runs")
        code = _run_container(engine, image, spec, run_id=run_id, on_output=on_output, on_warning=warn)
        if code != 0:
            if len(specs) > 1:
                on_progress(f"step {spec.step} exited with {code}; later steps not run")
            break
    return code


def _container_options(spec: ContainerSpec, *, image: str, run_id: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "image": image,
        "command": list(spec.command),
        "environment": spec.environment,
        # Batch's memory is a hard limit with no swap: a job that exceeds it is killed, here as there.
        "mem_limit": f"{spec.memory_mib}m",
        "memswap_limit": f"{spec.memory_mib}m",
        "nano_cpus": int(spec.vcpus * 1_000_000_000),
        "labels": {"batchctl.run-id": run_id, "batchctl.step": spec.step},
        "detach": True,
    }
    if spec.gpus:
        options["device_requests"] = [docker.types.DeviceRequest(count=spec.gpus, capabilities=[["gpu"]])]
    return options


def _split_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines out of a byte stream whose chunks may end mid-line (or mid-character)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8", errors="replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", errors="replace").rstrip("\r")


def _run_container(
    engine: Engine, image: str, spec: ContainerSpec, *, run_id: str, on_output: Lines, on_warning: Lines
) -> int:
    client = engine.client()
    try:
        container = client.containers.create(**_container_options(spec, image=image, run_id=run_id))
    except ImageNotFound as exc:
        raise ImageError(f"the image {image} is not on the local engine") from exc
    except APIError as exc:
        raise RunError(
            f"docker could not create the container for step {spec.step}: {exc.explanation or exc}"
        ) from exc
    except OSError as exc:
        raise engine.unavailable() from exc
    timed_out = threading.Event()

    def stop_at_timeout() -> None:
        timed_out.set()
        with contextlib.suppress(DockerException, OSError):  # it may have ended on its own meanwhile
            container.kill()

    # Batch terminates an attempt after timeout_s (attemptDurationSeconds); so do we.
    timer = threading.Timer(spec.timeout_s, stop_at_timeout) if spec.timeout_s is not None else None
    if timer is not None:
        timer.daemon = True
    try:
        container.start()
        if timer is not None:
            timer.start()
        for line in _split_lines(container.logs(stream=True, follow=True, stdout=True, stderr=True)):
            on_output(line)
        result = container.wait()
        code = int(result.get("StatusCode", 1))
    except APIError as exc:
        raise RunError(f"docker could not run step {spec.step}: {exc.explanation or exc}") from exc
    except DockerException as exc:
        raise RunError(f"docker could not run step {spec.step}: {exc}") from exc
    except OSError as exc:
        raise engine.unavailable() from exc
    finally:
        if timer is not None:
            timer.cancel()
        # Best effort: a leftover stopped container is labelled with the run id.
        with contextlib.suppress(DockerException, OSError):
            container.remove(force=True)
    if timed_out.is_set():
        on_warning(f"step {spec.step} timed out after {spec.timeout_s}s and was killed, as Batch would")
        return code or TIMED_OUT_EXIT
    return code
