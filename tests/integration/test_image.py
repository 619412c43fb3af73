"""Image build and push through a real Docker engine and a real registry (Debian's docker.io and docker-registry),
logging in with moto's ECR token; plus the ECR checks that need no Docker (an image ECR holds is not rebuilt)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import typer
from typer.testing import CliRunner

from batchctl.cli import app as app_module
from batchctl.cli.image import image_app
from batchctl.config import JobsFile, load_config
from batchctl.errors import DockerUnavailableError, ImageBuildError, ImagePushError
from batchctl.image import (
    ImageBuilder,
    RegistryAuth,
    ecr_login,
    image_exists_in_repository,
    image_tag,
    local_image,
    publish_image,
)
from batchctl.naming import Names
from tests.docker_env import (
    MOTO_PASSWORD,
    Registry,
    busybox_project,
    engine_url,
    remove_project_images,
    running_registry,
)

NO_ENGINE = "unix:///nonexistent/batchctl-test.sock"
DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY app.txt /app.txt\nENTRYPOINT ["/bin/busybox"]\n'
JOBS = "  hello:\n    command: [/bin/busybox, cat, /app.txt]\n"
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "size": 7023,
        "digest": "sha256:" + "a" * 64,
    },
    "layers": [
        {
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 32654,
            "digest": "sha256:" + "b" * 64,
        }
    ],
}


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def docker_url() -> str:
    return engine_url()


@pytest.fixture(scope="session")
def registry(docker_url: str) -> Iterator[Registry]:
    with running_registry(MOTO_PASSWORD) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, docker_url: str) -> Iterator[tuple[JobsFile, Path]]:
    """A busybox project with content unique to this test (so its first build really builds)."""
    name = unique()
    root = busybox_project(
        tmp_path / name, project=name, dockerfile=DOCKERFILE, jobs=JOBS, extra={"app.txt": f"{name}\n"}
    )
    yield load_config(root / "jobs.yaml"), root
    remove_project_images(docker_url, name)


def offline_project(tmp_path: Path) -> tuple[JobsFile, Path]:
    """A project whose image is never built (tests that must not touch Docker)."""
    root = tmp_path / "offline"
    root.mkdir()
    (root / "Dockerfile").write_text(f"FROM scratch\nLABEL test={unique()}\n")
    (root / "jobs.yaml").write_text(f"version: 1\nproject: {unique()}\nstage: dev\njobs:\n{JOBS}")
    return load_config(root / "jobs.yaml"), root


# ---- with Docker --------------------------------------------------------------------------------------------


@pytest.mark.docker
def test_tag_is_stable_and_second_build_is_skipped(docker_url: str, project: tuple[JobsFile, Path]) -> None:
    cfg, root = project
    tag = image_tag(cfg, root)
    assert image_tag(cfg, root) == tag
    builder = ImageBuilder(docker_host=docker_url)
    first: list[str] = []
    image_id = builder.build(cfg, root, tag, first.append)
    assert image_id.startswith("sha256:")
    assert any(line.startswith("Step 1/") for line in first)
    assert builder.exists(local_image(cfg, tag))

    second: list[str] = []
    assert builder.build(cfg, root, tag, second.append) == image_id
    assert not any(line.startswith("Step") for line in second)
    assert second == [f"image {local_image(cfg, tag)} is already built; build skipped"]


@pytest.mark.docker
def test_push_with_moto_ecr_token_then_pull_by_digest(
    aws: Any, boto: Any, docker_url: str, registry: Registry, project: tuple[JobsFile, Path]
) -> None:
    cfg, root = project
    names = Names(cfg.project, cfg.stage, aws.context())
    boto.client("ecr").create_repository(repositoryName=names.repository)
    # The loopback registry stands in for ECR's host: the login still goes through moto's GetAuthorizationToken.
    repository_uri = f"{registry.host}/{names.repository}"
    builder = ImageBuilder(docker_host=docker_url)
    progress: list[str] = []

    published = publish_image(
        aws, cfg, root, names, progress.append, builder=builder, repository_uri=repository_uri
    )

    assert published.tag == image_tag(cfg, root)
    assert published.built
    assert published.pushed
    assert published.reference == f"{repository_uri}:{published.tag}"
    assert published.digest.startswith("sha256:")
    assert len(published.digest) == 71
    assert f"pushing {repository_uri}:{published.tag}" in progress

    import docker

    client = docker.DockerClient(base_url=docker_url, timeout=60)
    try:
        built_id = client.images.get(local_image(cfg, published.tag)).id
        client.images.remove(built_id, force=True)  # drop every local name, so the pull must fetch
        auth = {"username": "AWS", "password": MOTO_PASSWORD}
        pulled = client.images.pull(f"{repository_uri}@{published.digest}", auth_config=auth)
        assert pulled.id == built_id
        assert f"{repository_uri}@{published.digest}" in pulled.attrs["RepoDigests"]
    finally:
        client.close()


@pytest.mark.docker
def test_without_push_the_image_is_named_for_the_repository_locally(
    aws: Any, recorder: Any, docker_url: str, project: tuple[JobsFile, Path]
) -> None:
    # The sandbox: moto's Batch runs `<repository_uri>:<tag>` from the local engine; there is no registry to push to.
    cfg, root = project
    names = Names(cfg.project, cfg.stage, aws.context())
    builder = ImageBuilder(docker_host=docker_url)
    tag = publish_image(aws, cfg, root, names, builder=builder, push=False).tag
    assert tag == image_tag(cfg, root)
    assert builder.exists(f"{names.repository_uri}:{tag}")  # removed with the project's images (same image)
    assert recorder.calls == ["sts:GetCallerIdentity"]  # only names' account lookup: no ECR call, no login


@pytest.mark.docker
def test_failing_build_is_an_image_build_error(docker_url: str, tmp_path: Path) -> None:
    name = unique()
    root = busybox_project(
        tmp_path,
        project=name,
        dockerfile='FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "false"]\n',
        jobs=JOBS,
    )
    cfg = load_config(root / "jobs.yaml")
    builder = ImageBuilder(docker_host=docker_url)
    tag = image_tag(cfg, root)
    try:
        with pytest.raises(
            ImageBuildError, match=r"docker build of batchctl/t-\w+:b-\w+ failed: .*non-zero code"
        ):
            builder.build(cfg, root, tag)
        assert not builder.exists(local_image(cfg, tag))
    finally:
        remove_project_images(docker_url, name)


@pytest.mark.docker
def test_refused_push_is_an_image_push_error(
    docker_url: str, registry: Registry, project: tuple[JobsFile, Path]
) -> None:
    cfg, root = project
    builder = ImageBuilder(docker_host=docker_url)
    tag = image_tag(cfg, root)
    builder.build(cfg, root, tag)
    wrong = RegistryAuth(username="AWS", password="not-the-token", registry=registry.host)
    with pytest.raises(
        ImagePushError, match=r"docker push of 127\.0\.0\.1:\d+/refused:b-\w+ failed"
    ) as caught:
        builder.push(local_image(cfg, tag), f"{registry.host}/refused", tag, wrong)
    assert "not-the-token" not in str(caught.value)
    assert caught.value.hint
    assert "credentials" in caught.value.hint


@pytest.mark.docker
def test_image_build_command_prints_the_tag(docker_url: str, project: tuple[JobsFile, Path]) -> None:
    cfg, root = project
    cli = typer.Typer()
    cli.callback()(app_module.main)
    cli.add_typer(image_app, name="image")
    runner = CliRunner()
    env = {"COLUMNS": "200", "DOCKER_HOST": docker_url}
    result = runner.invoke(cli, ["-c", str(root / "jobs.yaml"), "image", "build"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == image_tag(cfg, root)
    assert "Successfully tagged" in result.stderr

    as_json = runner.invoke(cli, ["-c", str(root / "jobs.yaml"), "-o", "json", "image", "build"], env=env)
    assert as_json.exit_code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["tag"] == image_tag(cfg, root)
    assert document["image"] == local_image(cfg, document["tag"])
    assert "build skipped" in as_json.stderr


# ---- without Docker -----------------------------------------------------------------------------------------


def test_no_engine_is_docker_unavailable(tmp_path: Path) -> None:
    cfg, root = offline_project(tmp_path)
    builder = ImageBuilder(docker_host=NO_ENGINE)
    with pytest.raises(DockerUnavailableError, match=f"no Docker engine answers at {NO_ENGINE}") as caught:
        builder.build(cfg, root, image_tag(cfg, root))
    assert caught.value.hint
    assert "image.uri" in caught.value.hint


def test_image_build_command_without_engine_exits_1(tmp_path: Path) -> None:
    _, root = offline_project(tmp_path)
    cli = typer.Typer()
    cli.callback()(app_module.main)
    cli.add_typer(image_app, name="image")
    result = CliRunner().invoke(
        cli,
        ["-c", str(root / "jobs.yaml"), "image", "build"],
        env={"COLUMNS": "200", "DOCKER_HOST": NO_ENGINE},
    )
    assert result.exit_code == 1
    assert f"error: no Docker engine answers at {NO_ENGINE}" in result.stderr
    assert "Traceback" not in result.stderr


def test_ecr_login_decodes_moto_token_and_keeps_our_registry(aws: Any) -> None:
    auth = ecr_login(aws, registry="127.0.0.1:5000")
    assert (auth.username, auth.password, auth.registry) == ("AWS", MOTO_PASSWORD, "127.0.0.1:5000")
    # Without a registry, the proxyEndpoint's host (moto: the real ECR host name, AWS-QUIRKS 46).
    assert ecr_login(aws).registry == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def test_image_exists_in_repository(aws: Any, boto: Any) -> None:
    repository = unique()
    ecr = boto.client("ecr")
    ecr.create_repository(repositoryName=repository)
    assert image_exists_in_repository(aws, repository, "b-0000000000000000") is False
    ecr.put_image(
        repositoryName=repository, imageManifest=json.dumps(MANIFEST), imageTag="b-0000000000000000"
    )
    assert image_exists_in_repository(aws, repository, "b-0000000000000000") is True
    with pytest.raises(ImagePushError, match=f"the ECR repository {repository}-missing does not exist"):
        image_exists_in_repository(aws, f"{repository}-missing", "b-0000000000000000")


def test_image_already_in_ecr_is_neither_built_nor_pushed(aws: Any, boto: Any, tmp_path: Path) -> None:
    cfg, root = offline_project(tmp_path)
    names = Names(cfg.project, cfg.stage, aws.context())
    tag = image_tag(cfg, root)
    ecr = boto.client("ecr")
    ecr.create_repository(repositoryName=names.repository)
    ecr.put_image(repositoryName=names.repository, imageManifest=json.dumps(MANIFEST), imageTag=tag)
    progress: list[str] = []
    # No engine answers there: any build, tag or push would raise DockerUnavailableError.
    builder = ImageBuilder(docker_host=NO_ENGINE)

    assert publish_image(aws, cfg, root, names, progress.append, builder=builder).tag == tag

    assert progress == [f"image {names.repository_uri}:{tag} is already in ECR; nothing to build or push"]
    published = publish_image(aws, cfg, root, names, builder=builder)
    assert (published.built, published.pushed) == (False, False)
    assert published.digest.startswith("sha256:")
