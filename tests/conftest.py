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


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    # moto's Step Functions executor calls back to localhost:$MOTO_PORT; set it before moto is imported.
    port = free_port()
    os.environ["MOTO_PORT"] = str(port)
    # AWS-managed policies (e.g. AmazonEC2ContainerServiceforEC2Role) exist on AWS; moto loads them on ask.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    from moto.server import ThreadedMotoServer

    from batchctl.sandbox import patch_moto

    patch_moto()  # the same fixes the sandbox applies: Step Functions can call Batch, Batch honours awslogs

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    url = f"http://{host}:{bound}"
    post_json(
        f"{url}/moto-api/config",
        {
            "batch": {"use_docker": False},
            "stepfunctions": {"execute_state_machine": True},
        },
    )
    yield url
    server.stop()


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
