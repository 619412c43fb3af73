"""Fixtures the integration tests share beyond tests/conftest.py: a fake clock for bounded waits and retries."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from batchctl.aws import Aws

# Before the helpers are imported: their asserts then explain a failure as a test's own do.
pytest.register_assert_rewrite("tests.support.provisioners")

from tests.support.provisioners import FakeTime  # noqa: E402


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def timed_aws(aws_env: str, fake_time: FakeTime, shared_botocore: Any) -> Aws:
    """Our Aws on the moto server with a fake clock: bounded waits and retries (and Stubber tests) without
    waiting."""
    return Aws(boto3.Session(botocore_session=shared_botocore), sleep=fake_time.sleep, clock=fake_time.clock)
