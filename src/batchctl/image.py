"""The job image: a content-derived tag (no Docker needed), build and push with docker-py, ECR login, and
`publish_image` for deploy and `batchctl image` (an image ECR already holds is neither rebuilt nor pushed again).

Imports: errors, naming, config, aws, docker, stdlib. The only place that catches docker-py's exceptions (and,
because docker-py's push never raises on a refused upload, the place that checks every streamed chunk).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

import docker
from docker.errors import APIError, DockerException
from docker.utils.build import exclude_paths

from batchctl.config import JobsFile
from batchctl.errors import AwsError, DockerUnavailableError, ImageBuildError, ImageError, ImagePushError
from batchctl.naming import Names

if TYPE_CHECKING:
    from batchctl.aws import Aws

__all__ = [
    "DEFAULT_DOCKER_HOST",
    "TAG_PREFIX",
    "BuildContext",
    "Builder",
    "ImageBuilder",
    "PublishedImage",
    "RegistryAuth",
    "build_context",
    "ecr_login",
    "image_exists_in_repository",
    "image_tag",
    "local_image",
    "publish_image",
    "registry_host",
]

Progress = Callable[[str], None]

TAG_PREFIX = "b-"
TAG_HEX_CHARS = 16
# Bump when the hashed inputs change meaning, so old tags are never mistaken for new ones.
_TAG_SCHEME = b"batchctl-image-tag-v1\0"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# docker-py's default per-request timeout is 60 s; a push waits on the registry between progress chunks.
DOCKER_TIMEOUT_S = 300
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
IMAGE_NOT_FOUND = "ImageNotFoundException"
REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"


def _ignore(_line: str) -> None:
    return None


# ---- the tag ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildContext:
    """Where docker builds from: the context directory, and the Dockerfile relative to it (as docker-py takes
    it), or its text when it lives outside the context (docker-py then sends it inline)."""

    directory: Path
    dockerfile: str
    dockerfile_path: Path
    inline: bool


def build_context(cfg: JobsFile, project_dir: Path) -> BuildContext:
    """Resolve `image.context` against the project folder (jobs.yaml's) and `image.dockerfile` against the
    context, as docker-py and Compose do. Missing paths are an ImageBuildError naming the key to fix."""
    directory = (project_dir / cfg.image.context).resolve()
    if not directory.is_dir():
        raise ImageBuildError(
            f"image.context {cfg.image.context!r} is not a folder: {directory} does not exist",
            hint="image.context is relative to the folder of jobs.yaml",
        )
    dockerfile_path = (directory / cfg.image.dockerfile).resolve()
    if not dockerfile_path.is_file():
        raise ImageBuildError(
            f"image.dockerfile {cfg.image.dockerfile!r} not found: {dockerfile_path} is not a file",
            hint="image.dockerfile is relative to image.context; or set image.uri to use a prebuilt image",
        )
    try:
        relative = dockerfile_path.relative_to(directory).as_posix()
    except ValueError:
        return BuildContext(directory, str(dockerfile_path), dockerfile_path, inline=True)
    return BuildContext(directory, relative, dockerfile_path, inline=False)


def _dockerignore(directory: Path) -> list[str]:
    """The patterns of `.dockerignore`, read exactly as docker-py's APIClient.build reads them."""
    path = directory / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _context_files(ctx: BuildContext) -> list[str]:
    """Every path (files and folders) docker would send, relative to the context, sorted."""
    # exclude_paths appends `!<dockerfile>` to the list it is given: pass a fresh one.
    dockerfile = None if ctx.inline else ctx.dockerfile
    return sorted(exclude_paths(str(ctx.directory), _dockerignore(ctx.directory), dockerfile=dockerfile))


def _hash_file(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def image_tag(cfg: JobsFile, project_dir: Path) -> str:
    """Content-derived tag, `b-` + 16 hex chars: sha256 over the platform, the Dockerfile, the build args and every
    file of the build context docker would send (after .dockerignore), with their paths and modes. Needs no Docker.
    The platform is part of it: the same files built for linux/arm64 are another image."""
    ctx = build_context(cfg, project_dir)
    digest = hashlib.sha256(_TAG_SCHEME)
    header = {
        "dockerfile": ctx.dockerfile if not ctx.inline else "<outside the context>",
        "build_args": dict(sorted(cfg.image.build_args.items())),
        "platform": cfg.image.platform,
    }
    digest.update(json.dumps(header, sort_keys=True).encode() + b"\0")
    digest.update(_hash_file(ctx.dockerfile_path))
    for relative in _context_files(ctx):
        path = ctx.directory / relative
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # removed while we walked
        if stat.S_ISREG(info.st_mode):
            content = _hash_file(path)
        elif stat.S_ISLNK(info.st_mode):
            content = os.readlink(path).encode()
        elif stat.S_ISDIR(info.st_mode):
            content = b""
        else:
            continue  # sockets, FIFOs: docker-py skips them too
        digest.update(relative.encode() + b"\0" + f"{info.st_mode:o}".encode() + b"\0" + content + b"\0")
    return TAG_PREFIX + digest.hexdigest()[:TAG_HEX_CHARS]


def local_image(cfg: JobsFile, tag: str) -> str:
    """The local name of a built image. Stage-independent: the same content is built once for every stage."""
    return f"batchctl/{cfg.project}:{tag}"


# ---- registry credentials -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryAuth:
    """Credentials for one registry host (ECR tokens last 12 hours). The password never shows in repr."""

    username: str
    password: str = field(repr=False)
    registry: str

    def docker_auth(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "serveraddress": self.registry}


def registry_host(repository_uri: str) -> str:
    """`123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-dev` → `123456789012.dkr.ecr.eu-west-1.amazonaws.com`."""
    host, _, _ = repository_uri.partition("/")
    return host


def ecr_login(aws: Aws, *, registry: str | None = None) -> RegistryAuth:
    """Docker credentials from ECR GetAuthorizationToken (token = base64 "AWS:<password>").

    `registry` is the host we push to; pass it (from the repository URI). AWS-QUIRKS 46: moto answers with a
    proxyEndpoint at the real ECR host name whatever endpoint it serves, so the proxyEndpoint is only a fallback.
    """
    response = aws.call("ecr", "get_authorization_token", key="ecr registry")
    entries = response.get("authorizationData") or []
    if not entries:
        raise ImagePushError("ecr GetAuthorizationToken returned no authorization data")
    entry = entries[0]
    try:
        decoded = base64.b64decode(str(entry["authorizationToken"]), validate=True).decode()
    except (KeyError, binascii.Error, UnicodeDecodeError) as exc:
        raise ImagePushError(
            "ecr GetAuthorizationToken returned a token that is not base64 user:password"
        ) from exc
    username, sep, password = decoded.partition(":")
    if not sep:
        raise ImagePushError("ecr GetAuthorizationToken returned a token without a password")
    host = registry or urlparse(str(entry.get("proxyEndpoint", ""))).netloc
    return RegistryAuth(username=username, password=password, registry=host)


def _repository_digest(aws: Aws, repository: str, tag: str) -> str | None:
    """The digest of `repository:tag` in ECR, or None when the tag is not there."""
    try:
        response = aws.call(
            "ecr",
            "describe_images",
            key=f"ecr.repository/{repository}",
            repositoryName=repository,
            imageIds=[{"imageTag": tag}],
        )
    except AwsError as exc:
        if exc.code == IMAGE_NOT_FOUND:
            return None
        if exc.code == REPOSITORY_NOT_FOUND:
            raise ImagePushError(
                f"the ECR repository {repository} does not exist",
                hint="`batchctl deploy` creates it; check --stage and --region",
            ) from exc
        raise
    details = response.get("imageDetails") or []
    return str(details[0].get("imageDigest", "")) if details else None


def image_exists_in_repository(aws: Aws, repository: str, tag: str) -> bool:
    """True when ECR's `repository` holds `tag` (ecr DescribeImages; ImageNotFoundException → False)."""
    return _repository_digest(aws, repository, tag) is not None


# ---- docker -------------------------------------------------------------------------------------------------


def _chunk_error(chunk: Mapping[str, Any]) -> str | None:
    """The message of an error chunk of a build/push/pull stream, or None for any other chunk."""
    if "error" not in chunk and "errorDetail" not in chunk:
        return None
    detail = chunk.get("errorDetail")
    message = detail.get("message") if isinstance(detail, Mapping) else None
    return str(message or chunk.get("error") or detail or "unknown error").strip()


def _api_message(exc: APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or exc).strip()


class Builder(Protocol):
    """What deploy, `image` and `run --local` need from Docker; unit tests may fake it, nothing else does."""

    def exists(self, ref: str) -> bool: ...

    def build(self, cfg: JobsFile, project_dir: Path, tag: str, on_progress: Progress = ...) -> str: ...

    def tag(self, source: str, repository: str, tag: str) -> None: ...

    def push(
        self, local_tag: str, repository_uri: str, tag: str, auth: RegistryAuth, on_progress: Progress = ...
    ) -> str: ...


class ImageBuilder:
    """docker-py against one engine (DOCKER_HOST, or docker_host=...). Connects on first use; an engine that
    does not answer is a DockerUnavailableError naming where we looked."""

    def __init__(self, *, docker_host: str | None = None, timeout_s: int = DOCKER_TIMEOUT_S) -> None:
        self.docker_host = docker_host
        self.timeout_s = timeout_s
        self._client: Any = None

    @property
    def where(self) -> str:
        return self.docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST

    def client(self) -> Any:
        """The docker.DockerClient (its `.api` is the low-level APIClient); connects once."""
        if self._client is None:
            try:
                if self.docker_host:
                    client = docker.DockerClient(base_url=self.docker_host, timeout=self.timeout_s)
                else:
                    client = docker.from_env(timeout=self.timeout_s)
                client.ping()
            except DockerException as exc:
                raise self.unavailable() from exc
            except OSError as exc:  # requests' connection errors are OSErrors
                raise self.unavailable() from exc
            self._client = client
        return self._client

    def unavailable(self) -> DockerUnavailableError:
        return DockerUnavailableError(
            f"no Docker engine answers at {self.where}",
            hint="start Docker (Docker Desktop, or `sudo systemctl start docker`) or point DOCKER_HOST at one; "
            "to deploy without building, set image.uri in jobs.yaml or pass --skip-image",
        )

    def exists(self, ref: str) -> bool:
        """True when the engine has an image named `ref`."""
        return self._image_id(ref) is not None

    def _image_id(self, ref: str) -> str | None:
        api = self.client().api
        try:
            return str(api.inspect_image(ref)["Id"])
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise ImageError(f"docker could not inspect {ref}: {_api_message(exc)}") from exc
        except OSError as exc:
            raise self.unavailable() from exc

    def build(self, cfg: JobsFile, project_dir: Path, tag: str, on_progress: Progress = _ignore) -> str:
        """Build the image as `local_image(cfg, tag)` and return its id; skipped (same id) when the engine
        already has it. Build output goes to `on_progress` line by line; an error chunk → ImageBuildError."""
        ref = local_image(cfg, tag)
        existing = self._image_id(ref)
        if existing is not None:
            on_progress(f"image {ref} is already built; build skipped")
            return existing
        ctx = build_context(cfg, project_dir)
        api = self.client().api
        try:
            stream = api.build(
                path=str(ctx.directory),
                dockerfile=ctx.dockerfile,
                tag=ref,
                buildargs=dict(cfg.image.build_args) or None,
                # What the jobs run on (image.platform), not the engine's own architecture: an arm64 laptop
                # would otherwise build an image that fails on x86_64 Fargate with "exec format error".
                platform=cfg.image.platform,
                labels={"batchctl.project": cfg.project, "batchctl.tag": tag},
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                message = _chunk_error(chunk)
                if message is not None:
                    raise ImageBuildError(
                        f"docker build of {ref} failed: {message}",
                        hint=f"fix the Dockerfile ({ctx.dockerfile_path}) or the build context, then retry",
                    )
                _report(chunk, on_progress)
        except APIError as exc:
            raise ImageBuildError(f"docker build of {ref} failed: {_api_message(exc)}") from exc
        except DockerException as exc:
            raise ImageBuildError(f"docker build of {ref} failed: {exc}") from exc
        except OSError as exc:
            raise ImageBuildError(f"docker build of {ref} failed: {exc}") from exc
        image_id = self._image_id(ref)
        if image_id is None:
            raise ImageBuildError(f"docker build of {ref} ended without an image")
        return image_id

    def pull(self, ref: str, on_progress: Progress = _ignore) -> None:
        """Pull `ref` with the engine's own credentials (`docker login`)."""
        hint = f"log in to its registry (`docker login`) or pull it yourself: docker pull {ref}"
        on_progress(f"pulling {ref}")
        try:
            for chunk in self.client().api.pull(ref, stream=True, decode=True):
                message = _chunk_error(chunk)
                if message is not None:
                    raise ImageError(f"docker pull of {ref} failed: {message}", hint=hint)
                _report(chunk, on_progress)
        except APIError as exc:
            raise ImageError(f"docker pull of {ref} failed: {_api_message(exc)}", hint=hint) from exc
        except DockerException as exc:
            raise ImageError(f"docker pull of {ref} failed: {exc}", hint=hint) from exc
        except OSError as exc:
            raise self.unavailable() from exc

    def prepare_image(self, cfg: JobsFile, project_dir: Path, on_progress: Progress = _ignore) -> str:
        """The local image to run the jobs of `cfg` with: `image.uri` (pulled when the engine lacks it), or the
        project's image built at its content tag (skipped when already built)."""
        if cfg.image.uri:
            if not self.exists(cfg.image.uri):
                self.pull(cfg.image.uri, on_progress)
            return cfg.image.uri
        tag = image_tag(cfg, project_dir)
        self.build(cfg, project_dir, tag, on_progress)
        return local_image(cfg, tag)

    def tag(self, source: str, repository: str, tag: str) -> None:
        """Name the local image `source` also `repository:tag`."""
        try:
            tagged = self.client().api.tag(source, repository, tag, force=True)
        except APIError as exc:
            raise ImageError(
                f"docker could not tag {source} as {repository}:{tag}: {_api_message(exc)}"
            ) from exc
        except OSError as exc:
            raise self.unavailable() from exc
        if not tagged:
            raise ImageError(f"docker could not tag {source} as {repository}:{tag}")

    def push(
        self,
        local_tag: str,
        repository_uri: str,
        tag: str,
        auth: RegistryAuth,
        on_progress: Progress = _ignore,
    ) -> str:
        """Tag `local_tag` as `repository_uri:tag`, push it and return the digest the registry reports.
        Every chunk is checked: docker-py's push reports a refused upload in the stream, never by raising."""
        target = f"{repository_uri}:{tag}"
        self.tag(local_tag, repository_uri, tag)
        digest: str | None = None
        try:
            stream = self.client().api.push(
                repository_uri, tag=tag, stream=True, decode=True, auth_config=auth.docker_auth()
            )
            for chunk in stream:
                message = _chunk_error(chunk)
                if message is not None:
                    raise ImagePushError(
                        f"docker push of {target} failed: {message}", hint=_push_hint(message)
                    )
                aux = chunk.get("aux")
                if isinstance(aux, Mapping) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                found = _DIGEST.search(str(chunk.get("status", "")))
                if found:
                    digest = found.group(1)
                _report(chunk, on_progress)
        except APIError as exc:
            message = _api_message(exc)
            raise ImagePushError(
                f"docker push of {target} failed: {message}", hint=_push_hint(message)
            ) from exc
        except DockerException as exc:
            raise ImagePushError(f"docker push of {target} failed: {exc}") from exc
        except OSError as exc:
            raise ImagePushError(f"docker push of {target} failed: {exc}") from exc
        if digest is None:
            raise ImagePushError(f"docker push of {target} ended without a digest from the registry")
        return digest


def _push_hint(message: str) -> str:
    lowered = message.lower()
    if "unauthorized" in lowered or "authentication" in lowered or "denied" in lowered:
        return (
            "the registry refused the credentials: the caller needs ecr:GetAuthorizationToken and push rights"
        )
    return "check the network and the registry, then retry: layers already uploaded are not sent again"


def _report(chunk: Mapping[str, Any], on_progress: Progress) -> None:
    """Hand the readable part of a stream chunk to `on_progress`, one line at a time."""
    text = chunk.get("stream")
    if isinstance(text, str):
        for line in text.splitlines():
            if line.strip():
                on_progress(line.rstrip())
        return
    status = chunk.get("status")
    # Chunks with a progress bar repeat many times per layer; the state changes (Preparing, Pushed...) do not.
    if isinstance(status, str) and status and "progress" not in chunk:
        ident = chunk.get("id")
        on_progress(f"{ident}: {status}" if ident else status)


# ---- deploy's entry point -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedImage:
    """What `publish_image` did: the tag and digest in the repository (the local image id when not pushed), and
    whether it built or pushed."""

    tag: str
    repository_uri: str
    digest: str
    built: bool
    pushed: bool

    @property
    def reference(self) -> str:
        return f"{self.repository_uri}:{self.tag}"


def publish_image(
    aws: Aws,
    cfg: JobsFile,
    project_dir: Path,
    names: Names,
    on_progress: Progress = _ignore,
    *,
    builder: Builder | None = None,
    repository_uri: str | None = None,
    push: bool = True,
) -> PublishedImage:
    """Make ECR's stage repository hold the image of the current sources: compute the tag; if the repository
    already has it, do nothing else; otherwise build (unless built locally already), log in and push.

    `repository_uri` overrides where the image is pushed (default `names.repository_uri`); the existence check
    always asks ECR about `names.repository`. `push=False` (the sandbox, whose Batch runs images from the local
    engine and whose ECR has no registry) builds and names the image `<repository_uri>:<tag>` locally, with no
    AWS call; `digest` is then the local image id."""
    if cfg.image.uri:
        raise ImageError(
            f"image.uri is set ({cfg.image.uri}): there is nothing to build or push",
            hint="remove image.uri from jobs.yaml to build the image from image.context",
        )
    tag = image_tag(cfg, project_dir)
    target = repository_uri or names.repository_uri
    if not push:
        local_builder = builder or ImageBuilder()
        built = not local_builder.exists(local_image(cfg, tag))
        image_id = local_builder.build(cfg, project_dir, tag, on_progress)
        local_builder.tag(local_image(cfg, tag), target, tag)
        on_progress(f"named {target}:{tag} on the local engine (not pushed)")
        return PublishedImage(tag=tag, repository_uri=target, digest=image_id, built=built, pushed=False)
    existing = _repository_digest(aws, names.repository, tag)
    if existing is not None:
        on_progress(f"image {target}:{tag} is already in ECR; nothing to build or push")
        return PublishedImage(tag=tag, repository_uri=target, digest=existing, built=False, pushed=False)
    docker_builder = builder or ImageBuilder()
    ref = local_image(cfg, tag)
    built = not docker_builder.exists(ref)
    docker_builder.build(cfg, project_dir, tag, on_progress)
    auth = ecr_login(aws, registry=registry_host(target))
    on_progress(f"pushing {target}:{tag}")
    digest = docker_builder.push(ref, target, tag, auth, on_progress)
    return PublishedImage(tag=tag, repository_uri=target, digest=digest, built=built, pushed=True)
