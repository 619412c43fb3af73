"""A deploy hashes the build context once: the tag `plan` computes is the one deploy builds, names or pushes, and
the job definitions run. The CLI runs in a child process whose audit hook counts the calls of `image.image_tag`
that read the Dockerfile (nothing is replaced: the hook only watches)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from tests.docker_env import busybox_project, engine_url, remove_project_images
from tests.reliability_support import example_text, write_project

COUNTING = """
import atexit, os, sys

dockerfile = os.path.realpath(sys.argv.pop(1))
hashed = []


def hook(event, args):
    if event != "open" or not isinstance(args[0], (str, os.PathLike)):
        return
    if not os.fspath(args[0]).endswith("Dockerfile") or os.path.realpath(args[0]) != dockerfile:
        return
    image = sys.modules.get("batchctl.image")
    frame = sys._getframe(1)
    while image is not None and frame is not None:
        if frame.f_code is image.image_tag.__code__:
            hashed.append(frame)
            return
        frame = frame.f_back


sys.addaudithook(hook)
# One call reads the Dockerfile twice (as the Dockerfile, and as a file of the context): count the calls. The
# frames are kept in `hashed`, so no two of them share an id.
atexit.register(lambda: print(f"build context hashed {len(set(map(id, hashed)))} time(s)", file=sys.stderr))
sys.argv[0] = "batchctl"
from batchctl.cli import main

main()
"""


def counted(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`batchctl -c CONFIG ARGS` in a child process that reports how often it hashed the build context."""
    return subprocess.run(
        [sys.executable, "-c", COUNTING, str(config.parent / "Dockerfile"), "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_plan_and_a_deploy_without_the_image_hash_once(aws_env: str, tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="tag"))
    planned = counted(config, "plan")
    assert planned.returncode == 0, planned.stderr
    assert "build context hashed 1 time(s)" in planned.stderr

    deployed = counted(config, "deploy", "--yes", "--skip-image")
    assert deployed.returncode == 0, deployed.stderr
    assert "+ created batch.job_queue/demo-tag-queue" in deployed.stderr
    assert "build context hashed 1 time(s)" in deployed.stderr


@pytest.mark.docker
def test_a_deploy_that_builds_the_image_hashes_once(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = engine_url()
    monkeypatch.setenv("DOCKER_HOST", url)
    name = f"t{uuid4().hex[:8]}"
    root = busybox_project(
        tmp_path / name,
        project=name,
        dockerfile='FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n',
        jobs="  greet:\n    command: [/bin/busybox, echo, hi]\n    vcpus: 0.25\n    memory_mib: 512\n",
        settings="region: eu-west-1\ncompute: {type: FARGATE, max_vcpus: 2}\nnotify: {topic: false}\n",
    )
    try:
        # Built, named on the local engine (the endpoint is moto's, on loopback), then applied.
        deployed = counted(root / "jobs.yaml", "deploy", "--yes")
        assert deployed.returncode == 0, deployed.stderr
        assert "is on the local engine" in deployed.stderr
        assert "build context hashed 1 time(s)" in deployed.stderr
        # Nothing changed: the image is named again (no build: it exists), still one hash.
        again = counted(root / "jobs.yaml", "deploy", "--yes")
        assert again.returncode == 0, again.stderr
        assert "No changes" in again.stderr
        assert "build context hashed 1 time(s)" in again.stderr
    finally:
        remove_project_images(url, name)
