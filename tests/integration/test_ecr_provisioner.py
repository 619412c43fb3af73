"""Lifecycle, ownership and forced delete of the ECR repository provisioner against the moto server."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import uuid4

import pytest

from batchctl.errors import AwsError, NotManagedError
from batchctl.provisioners.ecr import RepositoryProvisioner
from batchctl.specs import Observed, RepositorySpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
KEEP_TEN = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "keep the last 10 images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
            "action": {"type": "expire"},
        }
    ]
}
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


def test_repository_lifecycle(aws: Any) -> None:
    prov = RepositoryProvisioner(aws)
    spec = RepositorySpec(name=unique(), lifecycle_policy=KEEP_TEN, tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"].endswith(f":repository/{spec.name}")
    assert outputs["uri"].endswith(f".dkr.ecr.eu-west-1.amazonaws.com/{spec.name}")
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        scan_on_push=False,
        image_tag_mutability="IMMUTABLE",
        lifecycle_policy=None,
        tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"},
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    restored = dataclasses.replace(changed, lifecycle_policy=KEEP_TEN)
    prov.update(restored, again)
    third = read_back(prov, restored)

    prov.delete(third)
    assert prov.read(spec) is None


def test_repository_update_without_changes_sends_no_mutating_call(aws: Any, recorder: Any) -> None:
    prov = RepositoryProvisioner(aws)
    spec = RepositorySpec(name=unique(), lifecycle_policy=KEEP_TEN, tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    recorder.calls.clear()
    prov.update(spec, observed)
    assert recorder.mutating == []


def test_untagged_repository_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    boto.client("ecr").create_repository(repositoryName=name)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        RepositoryProvisioner(aws).read(RepositorySpec(name=name, tags=TAGS))


def test_delete_removes_a_repository_holding_images(aws: Any, boto: Any) -> None:
    # AWS-QUIRKS 45: without force=True DeleteRepository fails with RepositoryNotEmptyException.
    ecr = boto.client("ecr")
    prov = RepositoryProvisioner(aws)
    spec = RepositorySpec(name=unique(), tags=TAGS)
    prov.create(spec)
    ecr.put_image(repositoryName=spec.name, imageManifest=json.dumps(MANIFEST), imageTag="latest")
    assert ecr.list_images(repositoryName=spec.name)["imageIds"]
    observed = prov.read(spec)
    assert observed is not None

    prov.delete(observed)

    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[spec.name])


def test_delete_of_a_missing_repository_is_fine(aws: Any) -> None:
    RepositoryProvisioner(aws).delete(Observed(RepositorySpec(name=unique(), tags=TAGS), {}))


def test_failed_create_leaves_no_repository(aws: Any, boto: Any) -> None:
    # No countType/countNumber: ECR (and moto) reject the rule server-side, after the repository exists.
    bad_policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "a rule that selects nothing",
                "selection": {"tagStatus": "any"},
                "action": {"type": "expire"},
            }
        ]
    }
    spec = RepositorySpec(name=unique(), lifecycle_policy=bad_policy, tags=TAGS)
    with pytest.raises(AwsError) as caught:
        RepositoryProvisioner(aws).create(spec)
    assert (caught.value.operation, caught.value.code) == ("PutLifecyclePolicy", "InvalidParameterException")
    ecr = boto.client("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[spec.name])
