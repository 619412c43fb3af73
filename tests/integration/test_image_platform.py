"""Image architecture (review 9) end to end: the real Docker engine is asked to build for image.platform (whatever
its own architecture), and a Fargate job definition registered on the moto server runs on the matching
runtimePlatform, read back as no change."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from uuid import uuid4

import docker
import pytest

from batchctl.config import load_config
from batchctl.errors import ImageBuildError
from batchctl.image import ImageBuilder, image_tag, local_image
from batchctl.provisioners.job_definition import JobDefinitionProvisioner
from tests.docker_env import busybox_project, engine_url, remove_project_images
from tests.support.provisioners import job_definition_spec, read_back

DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n'
JOBS = "  hello:\n    command: [/bin/busybox, echo, hi]\n"


class EngineRecorder:
    """A TCP front for the Docker engine's socket that keeps every request line it forwards, so a test sees the
    build request docker-py sent to the real engine."""

    def __init__(self, engine: str) -> None:
        self.engine = engine.removeprefix("unix://")
        self.sent = bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, record: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if record:
                    self.sent += data
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def build_queries(self) -> list[dict[str, list[str]]]:
        found = re.findall(rb"POST /v[\d.]+/build\?(\S*) HTTP", bytes(self.sent))
        return [parse_qs(query.decode()) for query in found]

    def close(self) -> None:
        self.server.close()


@pytest.mark.docker
def test_the_image_is_built_for_linux_amd64_by_default(tmp_path: Path) -> None:
    url = engine_url()
    name = f"t-{uuid4().hex[:8]}"
    root = busybox_project(tmp_path / name, project=name, dockerfile=DOCKERFILE, jobs=JOBS)
    recorder = EngineRecorder(url)
    try:
        cfg = load_config(root / "jobs.yaml")
        tag = image_tag(cfg, root)
        ImageBuilder(docker_host=recorder.url).build(cfg, root, tag)
        (query,) = recorder.build_queries()
        assert query["platform"] == ["linux/amd64"]
        inspected = docker.APIClient(base_url=url).inspect_image(local_image(cfg, tag))
        assert (inspected["Os"], inspected["Architecture"]) == ("linux", "amd64")
    finally:
        recorder.close()
        remove_project_images(url, name)


@pytest.mark.docker
def test_an_arm64_image_is_asked_for_linux_arm64(tmp_path: Path) -> None:
    # The engine builds with its classic builder, which cannot build FROM scratch for another architecture: the
    # build request is what is checked, and the engine's refusal (if any) is not batchctl's.
    url = engine_url()
    name = f"t-{uuid4().hex[:8]}"
    settings = "image: {platform: linux/arm64}\n"
    root = busybox_project(tmp_path / name, project=name, dockerfile=DOCKERFILE, jobs=JOBS, settings=settings)
    recorder = EngineRecorder(url)
    try:
        cfg = load_config(root / "jobs.yaml")
        with contextlib.suppress(ImageBuildError):
            ImageBuilder(docker_host=recorder.url).build(cfg, root, image_tag(cfg, root))
        (query,) = recorder.build_queries()
        assert query["platform"] == ["linux/arm64"]
    finally:
        recorder.close()
        remove_project_images(url, name)


@pytest.mark.parametrize("architecture", ["X86_64", "ARM64"])
def test_fargate_job_definition_carries_the_runtime_platform(aws: Any, boto: Any, architecture: str) -> None:
    spec = job_definition_spec(cpu_architecture=architecture)
    prov = JobDefinitionProvisioner(aws)
    prov.create(spec)

    (stored,) = boto.client("batch").describe_job_definitions(jobDefinitionName=spec.name)["jobDefinitions"]
    assert stored["containerProperties"]["runtimePlatform"] == {
        "cpuArchitecture": architecture,
        "operatingSystemFamily": "LINUX",
    }
    read_back(prov, spec)


def test_ec2_job_definition_has_no_runtime_platform(aws: Any, boto: Any) -> None:
    spec = job_definition_spec(platform="EC2", execution_role_arn=None, cpu_architecture="ARM64")
    prov = JobDefinitionProvisioner(aws)
    prov.create(spec)

    (stored,) = boto.client("batch").describe_job_definitions(jobDefinitionName=spec.name)["jobDefinitions"]
    assert "runtimePlatform" not in stored["containerProperties"]
    read_back(prov, spec)
