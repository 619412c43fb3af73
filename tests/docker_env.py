"""Finding the Docker engine and running a throwaway registry for the `docker`-marked tests.

The engine is DOCKER_HOST, else the socket `.ci/docker.sh` starts, else Docker's default socket. A missing engine or
registry binary fails the test in CI (CI=true) and skips it elsewhere: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

CI_SOCKET = "/run/batchctl-docker.sock"  # where .ci/docker.sh starts dockerd
DEFAULT_SOCKET = "/var/run/docker.sock"
BUSYBOX = Path("/bin/busybox")
MOTO_ACCOUNT = "123456789012"
# moto's ECR GetAuthorizationToken decodes to AWS:<account>-auth-token (AWS-QUIRKS 46).
MOTO_PASSWORD = f"{MOTO_ACCOUNT}-auth-token"
TEST_LABEL = "batchctl.test"
SETUP_HINT = (
    "run `sudo bash .ci/docker.sh` (installs docker.io, docker-registry, busybox-static, apache2-utils)"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; in CI the Docker tests must run: {SETUP_HINT}", pytrace=False)
    pytest.skip(f"{reason} ({SETUP_HINT})")


def _answers(url: str) -> bool:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.DockerClient(base_url=url, timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (DockerException, OSError):
        return False


def engine_url() -> str:
    """The URL of a Docker engine that answers (or fail/skip)."""
    candidates: list[str] = []
    if os.environ.get("DOCKER_HOST"):
        candidates.append(os.environ["DOCKER_HOST"])
    for socket_path in (CI_SOCKET, DEFAULT_SOCKET):
        if Path(socket_path).exists():
            candidates.append(f"unix://{socket_path}")
    for url in candidates:
        if _answers(url):
            return url
    unavailable(
        f"no Docker engine answers (tried {', '.join(candidates) or 'DOCKER_HOST and the usual sockets'})"
    )


def require_busybox() -> Path:
    if not BUSYBOX.is_file():
        unavailable(f"{BUSYBOX} is missing (package busybox-static)")
    return BUSYBOX


@dataclass(frozen=True)
class Registry:
    """A running docker-registry on 127.0.0.1, with htpasswd user AWS."""

    host: str  # 127.0.0.1:PORT, used as the registry part of repository URIs
    username: str
    password: str


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:  # up, and asking for credentials
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"docker-registry did not answer at {url} within {timeout_s:.0f}s: {log.read_text()[-2000:]}"
    )


@contextmanager
def running_registry(password: str = MOTO_PASSWORD) -> Iterator[Registry]:
    """Start `docker-registry serve` on a free loopback port with its storage in a temp dir; stop it after."""
    binary = shutil.which("docker-registry")
    htpasswd = shutil.which("htpasswd")
    if binary is None or htpasswd is None:
        unavailable("docker-registry or htpasswd is not installed (packages docker-registry, apache2-utils)")
    with tempfile.TemporaryDirectory(prefix="batchctl-registry-") as tmp:
        root = Path(tmp)
        made = subprocess.run(
            [htpasswd, "-Bbn", "AWS", password], check=True, capture_output=True, timeout=30
        )
        (root / "htpasswd").write_bytes(made.stdout)
        port = free_port()
        (root / "config.yml").write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: batchctl-tests\n"
            f"auth:\n  htpasswd:\n    realm: batchctl-tests\n    path: {root / 'htpasswd'}\n"
        )
        log = root / "registry.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "serve", str(root / "config.yml")], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/v2/", process, log)
            yield Registry(host=f"127.0.0.1:{port}", username="AWS", password=password)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def busybox_project(
    root: Path,
    *,
    project: str,
    dockerfile: str,
    jobs: str,
    settings: str = "",
    extra: dict[str, str] | None = None,
) -> Path:
    """A project folder: jobs.yaml (`settings` go before `jobs:`), a Dockerfile and /bin/busybox beside it (so
    `COPY busybox` works).

    A `LABEL batchctl.test=<project>` goes right after FROM: each project then has its own layer chain, so removing
    one test's images never deletes a cached parent that a concurrent build (another xdist worker) is using."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(require_busybox(), root / "busybox")
    first, _, rest = dockerfile.partition("\n")
    (root / "Dockerfile").write_text(f"{first}\nLABEL {TEST_LABEL}={project}\n{rest}")
    (root / "jobs.yaml").write_text(f"version: 1\nproject: {project}\nstage: dev\n{settings}jobs:\n{jobs}")
    for name, text in (extra or {}).items():
        (root / name).write_text(text)
    return root


def remove_project_images(url: str, project: str) -> None:
    """Remove every image built for `project`, intermediate ones of failed builds included (they all carry the
    test label). Children go before parents: a few passes, since Docker refuses to delete a parent first."""
    import docker
    from docker.errors import DockerException

    client = docker.DockerClient(base_url=url, timeout=30)
    try:
        for _ in range(5):
            images = client.images.list(all=True, filters={"label": f"{TEST_LABEL}={project}"})
            if not images:
                return
            for image in images:
                with suppress(DockerException):
                    client.images.remove(image.id, force=True)
    finally:
        client.close()
