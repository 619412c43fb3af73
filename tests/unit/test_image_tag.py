"""The content-derived image tag: stable for the same inputs, new for any change docker would see, blind to what
.dockerignore leaves out. No Docker, no sockets."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from batchctl.config import JobsFile, parse_config
from batchctl.errors import ImageBuildError
from batchctl.image import RegistryAuth, build_context, image_tag, local_image, registry_host


def config(image: str = "") -> JobsFile:
    return parse_config(
        "version: 1\nproject: demo\nstage: dev\n" + image + "jobs:\n  hello:\n    command: [python, app.py]\n"
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "job").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY job /opt/app/job\n")
    (root / "job" / "app.py").write_text("print('hello')\n")
    (root / "job" / "run.sh").write_text("#!/bin/sh\n")
    (root / "job" / "run.sh").chmod(0o755)
    return root


def test_tag_is_stable_and_well_formed(project: Path) -> None:
    first = image_tag(config(), project)
    assert re.fullmatch(r"b-[0-9a-f]{16}", first)
    assert image_tag(config(), project) == first


def test_tag_does_not_depend_on_where_the_project_lives(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(project, copy)  # copy2 keeps modes
    assert image_tag(config(), copy) == image_tag(config(), project)


def test_changed_file_gives_a_new_tag(project: Path) -> None:
    before = image_tag(config(), project)
    (project / "job" / "app.py").write_text("print('hello, world')\n")
    assert image_tag(config(), project) != before


def test_changed_mode_gives_a_new_tag(project: Path) -> None:
    before = image_tag(config(), project)
    (project / "job" / "app.py").chmod(0o755)
    assert image_tag(config(), project) != before


def test_renamed_or_added_file_gives_a_new_tag(project: Path) -> None:
    before = image_tag(config(), project)
    (project / "job" / "app.py").rename(project / "job" / "main.py")
    renamed = image_tag(config(), project)
    (project / "job" / "empty.txt").write_text("")
    assert len({before, renamed, image_tag(config(), project)}) == 3


def test_timestamps_do_not_change_the_tag(project: Path) -> None:
    before = image_tag(config(), project)
    os.utime(project / "job" / "app.py", (1_000_000_000, 1_000_000_000))
    assert image_tag(config(), project) == before


def test_dockerfile_and_build_args_are_part_of_the_tag(project: Path) -> None:
    plain = image_tag(config(), project)
    with_args = image_tag(config("image:\n  build_args: {VERSION: '1'}\n"), project)
    other_args = image_tag(config("image:\n  build_args: {VERSION: '2'}\n"), project)
    (project / "Dockerfile").write_text("FROM scratch\nCOPY job /srv/job\n")
    assert len({plain, with_args, other_args, image_tag(config(), project)}) == 4


def test_dockerignored_files_do_not_change_the_tag(project: Path) -> None:
    (project / ".dockerignore").write_text("# local junk\n*.log\n.venv\n!keep.log\n")
    (project / ".venv").mkdir()
    before = image_tag(config(), project)
    (project / "debug.log").write_text("noise\n")
    (project / ".venv" / "lib.py").write_text("x = 1\n")
    assert image_tag(config(), project) == before
    (project / "keep.log").write_text("re-included by !keep.log\n")
    assert image_tag(config(), project) != before


def test_changing_dockerignore_itself_changes_the_tag(project: Path) -> None:
    # docker sends .dockerignore with the context (unless it ignores itself), so the build can see it.
    (project / ".dockerignore").write_text("*.log\n")
    before = image_tag(config(), project)
    (project / ".dockerignore").write_text("*.log\n*.tmp\n")
    assert image_tag(config(), project) != before


def test_ignored_dockerfile_still_counts(project: Path) -> None:
    # docker always sends the Dockerfile, even when .dockerignore matches it.
    (project / ".dockerignore").write_text("Dockerfile\n")
    before = image_tag(config(), project)
    (project / "Dockerfile").write_text("FROM scratch\n")
    assert image_tag(config(), project) != before


def test_context_and_dockerfile_paths(project: Path) -> None:
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile.job").write_text("FROM scratch\n")
    cfg = config("image:\n  context: job\n  dockerfile: ../docker/Dockerfile.job\n")
    ctx = build_context(cfg, project)
    assert ctx.directory == (project / "job").resolve()
    assert ctx.inline  # outside the context: docker-py sends its text inline
    before = image_tag(cfg, project)
    (project / "Dockerfile").write_text("FROM scratch\nENV unrelated=1\n")  # outside image.context now
    assert image_tag(cfg, project) == before
    (project / "docker" / "Dockerfile.job").write_text("FROM scratch\nENV A=1\n")
    assert image_tag(cfg, project) != before


def test_missing_context_or_dockerfile_names_the_key(project: Path) -> None:
    with pytest.raises(ImageBuildError, match=r"image\.context 'nope'"):
        image_tag(config("image:\n  context: nope\n"), project)
    with pytest.raises(ImageBuildError, match=r"image\.dockerfile 'Dockerfile\.prod'"):
        image_tag(config("image:\n  dockerfile: Dockerfile.prod\n"), project)


def test_local_image_and_registry_host() -> None:
    assert local_image(config(), "b-0123456789abcdef") == "batchctl/demo:b-0123456789abcdef"
    assert registry_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-dev") == (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    )
    assert registry_host("127.0.0.1:5000/demo-dev") == "127.0.0.1:5000"


def test_registry_auth_never_shows_the_password() -> None:
    auth = RegistryAuth(username="AWS", password="s3cr3t-token", registry="127.0.0.1:5000")
    assert "s3cr3t-token" not in repr(auth)
    assert auth.docker_auth() == {
        "username": "AWS",
        "password": "s3cr3t-token",
        "serveraddress": "127.0.0.1:5000",
    }
