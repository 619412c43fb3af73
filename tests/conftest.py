"""Shared fixtures: one moto server per test session (per xdist worker), reset before each integration test."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest


def post_json(url: str, payload: dict[str, Any]) -> None:
    """POST a JSON document; raises on a non-2xx answer (a dead server must not pass setup)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert 200 <= response.status < 300, f"{url} answered {response.status}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The integration tests run against the strict sandbox (AWS's rules moto lacks: asynchronous states, IAM
# propagation, request rules) at time scale 0: every ordering rule applies, and each state settles at the next read,
# so tests that fake time in their waits still progress. BATCHCTL_TEST_STRICT=0 runs them on moto with our fixes
# only, as the sandbox without --strict. The strict sandbox's own rules are tested in test_sandbox_strict*.py.
STRICT = os.environ.get("BATCHCTL_TEST_STRICT", "1") != "0"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from batchctl import sandbox

    box = sandbox.start(
        port=0, use_docker=False, strict=sandbox.StrictOptions(time_scale=0.0) if STRICT else None
    )
    if box.relay is not None:  # tests relay pipes themselves (PipeRelay.relay_once) when they need it
        box.relay.stop()
        box.relay = None
    if box.schedules is not None:  # and run schedules themselves (ScheduleRunner.run_once)
        box.schedules.stop()
        box.schedules = None
    yield box.url
    box.stop()


class Recorder:
    """Collects the operation names a botocore session sends (registered on `before-call`)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")

    @property
    def mutating(self) -> list[str]:
        read_prefixes = ("Describe", "Get", "List", "BatchGet", "Receive", "Lookup", "Filter")
        return [c for c in self.calls if not c.split(":", 1)[1].startswith(read_prefixes)]


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    post_json(f"{moto_url}/moto-api/reset", {})
    for name, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return moto_url


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="session")
def shared_botocore() -> Any:
    """One botocore session for the test run: service models are loaded once, clients stay per test."""
    import botocore.session

    return botocore.session.get_session()


@pytest.fixture
def aws(aws_env: str, recorder: Recorder, shared_botocore: Any) -> Iterator[Any]:
    """Our Aws wrapper over a fresh boto3 Session against the moto server; sleeps are instant."""
    import boto3

    from batchctl.aws import Aws

    session = boto3.Session(botocore_session=shared_botocore)
    session.events.register("before-call", recorder)
    yield Aws(session, sleep=lambda _s: None)
    session.events.unregister("before-call", recorder)


@pytest.fixture
def boto(aws_env: str, shared_botocore: Any) -> Any:
    """A plain boto3 Session for checking results from the outside."""
    import boto3

    return boto3.Session(botocore_session=shared_botocore)
