"""Image architecture (review 9): image.platform is part of the content tag, Fargate job definitions carry the
matching runtimePlatform, EC2 ones none. No Docker, no sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchctl.build import build_specs
from batchctl.config import parse_config
from batchctl.diff import Action, diff
from batchctl.image import image_tag
from batchctl.naming import AwsContext
from batchctl.provisioners.job_definition import JobDefinitionProvisioner
from batchctl.specs import JobDefinitionSpec, Kind
from tests.unit.test_config import MINIMAL

CTX = AwsContext(account_id="123456789012", region="eu-west-1")


def definitions(text: str) -> list[JobDefinitionSpec]:
    return [s for s in build_specs(parse_config(text), CTX, image_tag="b-1") if s.kind is Kind.JOB_DEFINITION]


def test_the_platform_is_part_of_the_image_tag(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    amd64 = image_tag(parse_config(MINIMAL), tmp_path)
    explicit = image_tag(parse_config(MINIMAL + "image: {platform: linux/amd64}\n"), tmp_path)
    arm64 = image_tag(parse_config(MINIMAL + "image: {platform: linux/arm64}\n"), tmp_path)

    assert amd64 == explicit
    assert arm64 != amd64


@pytest.mark.parametrize(("platform", "architecture"), [("linux/amd64", "X86_64"), ("linux/arm64", "ARM64")])
def test_fargate_job_definitions_run_on_the_image_platform(platform: str, architecture: str) -> None:
    (spec,) = definitions(MINIMAL + f"image: {{platform: {platform}}}\ncompute: {{type: FARGATE}}\n")
    container = JobDefinitionProvisioner.to_request(spec, region=CTX.region)["containerProperties"]

    assert container["runtimePlatform"] == {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"}


def test_ec2_job_definitions_have_no_runtime_platform() -> None:
    (spec,) = definitions(
        MINIMAL + "image: {platform: linux/arm64}\ncompute: {type: EC2, instance_types: [m7g]}\n"
    )
    container = JobDefinitionProvisioner.to_request(spec, region=CTX.region)["containerProperties"]

    assert "runtimePlatform" not in container


def test_a_fargate_definition_without_runtime_platform_reads_as_x86_64() -> None:
    # Registered before batchctl sent runtimePlatform: AWS's default is X86_64, so it is no change.
    (spec,) = definitions(MINIMAL)
    request = JobDefinitionProvisioner.to_request(spec, region=CTX.region)
    del request["containerProperties"]["runtimePlatform"]
    described = {**request, "revision": 1, "status": "ACTIVE"}

    read = JobDefinitionProvisioner.from_described(described, region=CTX.region, desired=spec)

    assert read.cpu_architecture == "X86_64" == spec.cpu_architecture
    assert diff(spec, read).action is Action.NOOP
