"""Lifecycle of the log group provisioner against the moto server."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import uuid4

import pytest

from batchctl.errors import NotManagedError
from batchctl.provisioners.logs import LogGroupProvisioner
from batchctl.specs import LogGroupSpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}


def test_log_group_lifecycle(aws: Any) -> None:
    prov = LogGroupProvisioner(aws)
    spec = LogGroupSpec(name=f"/batchctl/t-{uuid4().hex[:8]}/dev/job", retention_days=30, tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"].endswith(f"log-group:{spec.name}")
    observed = read_back(prov, spec)

    changed = dataclasses.replace(spec, retention_days=7, tags={**TAGS, "team": "ml"})
    prov.update(changed, observed)
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None


def test_prefix_sibling_is_not_mistaken_for_the_group(aws: Any, boto: Any) -> None:
    name = f"/batchctl/t-{uuid4().hex[:8]}/dev/job"
    boto.client("logs").create_log_group(logGroupName=name + "-other", tags=TAGS)
    assert LogGroupProvisioner(aws).read(LogGroupSpec(name=name, tags=TAGS)) is None


def test_untagged_group_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = f"/batchctl/t-{uuid4().hex[:8]}/dev/job"
    boto.client("logs").create_log_group(logGroupName=name)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        LogGroupProvisioner(aws).read(LogGroupSpec(name=name, tags=TAGS))
