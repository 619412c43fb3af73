"""The AWS error boundary: real boto3 clients against real failing endpoints on 127.0.0.1 (nothing listening, a
full accept queue, a socket that closes, a server that never answers, tiny HTTP servers answering web pages,
empty or non-JSON bodies, AWS error documents) and broken local settings (credentials, profile, region, endpoint
URL). Every failure is a BatchctlError with a one-line message naming service, operation and resource, a hint,
and the same translation whether it came through `Aws.call` or `Aws.pages`.

Sockets may reach 127.0.0.1 only (this module's `_no_network` replaces the unit tests' total ban).
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import create_loader
from pytest_socket import enable_socket, socket_allow_hosts

from batchctl.aws import Aws, create_session
from batchctl.errors import AwsAuthError, AwsError, BatchctlError, ExitCode, UnsupportedOperationError

# One attempt: the retries of RETRY_CONFIG would only repeat the same failure, slowly. Timeouts are generous
# (the machine may be busy) except in the tests about them.
PATIENT_S = 10.0
IMPATIENT_S = 0.5
LOADER = create_loader()  # botocore's JSON models, read once for the module
REGION = "eu-west-1"
KEY = "sqs queues"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Everything botocore reads from the environment that could change where requests go or who signs them.
AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Replaces tests/unit/conftest.py's fixture of the same name: loopback servers only."""
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=False)
    yield
    enable_socket()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials, no profile, region or endpoint from the environment, and no config files."""
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254 for credentials


def aws_at(url: str | None, *, region: str | None = REGION, timeout_s: float = PATIENT_S) -> Aws:
    """Our Aws over a fresh Session (it reads the environment as set by the test); service models are shared."""
    core = botocore.session.get_session()
    core.register_component("data_loader", LOADER)
    config = Config(
        retries={"mode": "standard", "max_attempts": 1}, connect_timeout=timeout_s, read_timeout=timeout_s
    )
    return Aws(boto3.Session(botocore_session=core, region_name=region), endpoint_url=url, config=config)


# ---- failing endpoints -------------------------------------------------------------------------------------


def _listener(backlog: int = 8) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


def _url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def _serving(sock: socket.socket, on_connection: Callable[[socket.socket], None]) -> Iterator[str]:
    """Accept connections on `sock` in a thread and hand each to `on_connection`, until the test ends."""
    held: list[socket.socket] = []
    done = threading.Event()
    sock.settimeout(0.05)  # so that the thread sees `done` soon

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            held.append(conn)
            on_connection(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield _url(sock)
    finally:
        done.set()
        thread.join(timeout=5)
        sock.close()
        for conn in held:
            conn.close()


@pytest.fixture
def refused_url() -> str:
    """A loopback port nothing listens on: connections are refused."""
    sock = _listener()
    url = _url(sock)
    sock.close()
    return url


@pytest.fixture
def closing_url() -> Iterator[str]:
    """Reads the request, then closes the connection without a byte of answer."""

    def close(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.close()

    with _serving(_listener(), close) as url:
        yield url


@pytest.fixture
def silent_url() -> Iterator[str]:
    """Accepts connections and never answers (the read timeout fires)."""
    with _serving(_listener(), lambda _conn: None) as url:
        yield url


@pytest.fixture
def unaccepting_url() -> Iterator[str]:
    """A listener whose accept queue is full and never drained: new connections are not accepted in time."""
    sock = _listener(backlog=0)
    fillers = []
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        with suppress(BlockingIOError):  # non-blocking: the handshake completes (or not) in the kernel
            filler.connect(sock.getsockname())
        fillers.append(filler)
    yield _url(sock)
    for filler in fillers:
        filler.close()
    sock.close()


@contextmanager
def answering(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A tiny HTTP server giving every request the same answer."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST  # noqa: N815 (http.server's naming)

        def log_message(self, *_args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


WEB_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><h1>Wi-Fi login</h1></body></html>\n"
)
JSON_1_0 = "application/x-amz-json-1.0"


# ---- the two entry points ------------------------------------------------------------------------------------


def via_call(aws: Aws) -> None:
    aws.call("sqs", "list_queues", key=KEY)


def via_pages(aws: Aws) -> None:
    list(aws.pages("sqs", "list_queues", key=KEY))


ENTRY_POINTS = [pytest.param(via_call, id="call"), pytest.param(via_pages, id="pages")]
Entry = Callable[[Aws], object]


def failure(run: Callable[[], object]) -> AwsError:
    """The error `run` raises, checked for what every translated error must have."""
    with pytest.raises(BatchctlError) as info:
        run()
    error = info.value
    assert isinstance(error, AwsError), f"{type(error).__name__}: {error}"
    assert error.__cause__ is not None  # raised `from` the botocore exception
    assert "\n" not in error.message, error.message
    assert error.hint, error.message
    assert "\n" not in error.hint, error.hint
    assert "None" not in error.message
    return error


def failed_listing(entry: Entry, aws: Aws) -> AwsError:
    error = failure(lambda: entry(aws))
    assert error.message.startswith(f"sqs ListQueues failed for {KEY}: "), error.message
    assert (error.service, error.operation, error.key) == ("sqs", "ListQueues", KEY)
    return error


# ---- network -------------------------------------------------------------------------------------------------


# (server fixture, timeout, code, message after "sqs ListQueues failed for sqs queues: ", part of the hint)
NETWORK = [
    pytest.param(
        "refused_url",
        PATIENT_S,
        "EndpointConnectionError",
        "cannot connect to {url}",
        "nothing answers at {url}: is it running? (`batchctl sandbox` starts a local one)",
        id="refused",
    ),
    pytest.param(
        "unaccepting_url",
        IMPATIENT_S,
        "ConnectTimeoutError",
        "timed out connecting to {url}",
        "check --endpoint-url and AWS_ENDPOINT_URL",
        id="connect-timeout",
    ),
    # Before the one boundary, pages() let ReadTimeoutError escape as an internal error (exit 70).
    pytest.param(
        "silent_url",
        IMPATIENT_S,
        "ReadTimeoutError",
        "{url} did not answer in time",
        "run the command again",
        id="read-timeout",
    ),
    pytest.param(
        "closing_url",
        PATIENT_S,
        "ConnectionClosedError",
        "{url} closed the connection without answering",
        "{url} does not speak the AWS API",
        id="closed",
    ),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("server", "timeout_s", "code", "message", "hint"), NETWORK)
def test_network_failures(
    entry: Entry,
    server: str,
    timeout_s: float,
    code: str,
    message: str,
    hint: str,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue(server)
    error = failed_listing(entry, aws_at(url, timeout_s=timeout_s))
    assert type(error) is AwsError
    assert error.exit_code is ExitCode.FAILED
    assert error.code == code
    assert error.message == f"sqs ListQueues failed for {KEY}: " + message.format(url=url)
    assert error.hint is not None
    assert hint.format(url=url) in error.hint


# ---- answers that are not AWS's ------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_web_page_answering_200_is_not_an_empty_result(entry: Entry) -> None:
    # botocore alone parses this as a ListQueues result with no queues: a plan would then create them all.
    with answering(200, WEB_PAGE, "text/html; charset=utf-8") as url:
        error = failed_listing(entry, aws_at(url))
    assert error.message.endswith(
        f"{url} answered with a web page (HTTP 200, {len(WEB_PAGE)} bytes), not an AWS response"
    )
    assert error.hint is not None
    assert error.hint.startswith(f"{url} does not speak the AWS API")


def test_a_web_page_to_a_query_service_is_not_an_internal_error() -> None:
    # botocore alone raises KeyError('GetCallerIdentityResult') here: an internal error.
    with answering(200, b"<html><body>proxy says hi</body></html>", "text/html") as url:
        error = failure(lambda: aws_at(url).call("sts", "get_caller_identity"))
    assert (
        error.message
        == f"sts GetCallerIdentity failed: {url} answered with a web page (HTTP 200, 39 bytes), not an AWS response"
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_empty_answer_is_not_an_aws_response(entry: Entry) -> None:
    with answering(200, b"", JSON_1_0) as url:
        error = failed_listing(entry, aws_at(url))
    assert error.message.endswith(f"{url} answered with an empty body (HTTP 200), not an AWS response")


def test_an_empty_answer_to_a_query_service() -> None:
    with answering(200, b"", "text/xml") as url:
        error = failure(lambda: list(aws_at(url).pages("iam", "list_roles", key="iam roles")))
    assert error.code == "ResponseParserError"
    assert error.message == (
        f"iam ListRoles failed for iam roles: {url} answered with a response botocore cannot parse, "
        "not an AWS response"
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_body_that_is_not_json(entry: Entry) -> None:
    with answering(200, b"OK", JSON_1_0) as url:
        error = failed_listing(entry, aws_at(url))
    assert error.message.endswith(
        "answered with a body that is not JSON (HTTP 200, 2 bytes), not an AWS response"
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_web_page_with_an_error_status_is_named_not_quoted(entry: Entry) -> None:
    with answering(404, WEB_PAGE, "text/html") as url:
        error = failed_listing(entry, aws_at(url))
    assert error.message.endswith(f"{url} answered HTTP 404 with a web page")
    assert "<html" not in error.message


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_error_status_without_an_aws_error(entry: Entry) -> None:
    with answering(503, b"", JSON_1_0) as url:
        error = failed_listing(entry, aws_at(url))
    assert error.message.endswith(f"{url} answered HTTP 503 with no AWS error")
    assert error.hint is not None
    assert error.hint.startswith(f"{url} does not speak the AWS API")


@pytest.mark.parametrize("content_type", [JSON_1_0, "text/html; charset=utf-8"])
def test_a_valid_answer_passes(content_type: str) -> None:
    # Judged by the body, not the label: moto sends some JSON answers as text/html.
    with answering(200, json.dumps({"QueueUrls": ["http://q/1"]}).encode(), content_type) as url:
        aws = aws_at(url)
        assert aws.call("sqs", "list_queues", key=KEY)["QueueUrls"] == ["http://q/1"]
        assert [p["QueueUrls"] for p in aws.pages("sqs", "list_queues", key=KEY)] == [["http://q/1"]]


# ---- AWS error documents -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(
            lambda aws: aws.call("stepfunctions", "list_state_machines", key="state machines"), id="call"
        ),
        pytest.param(
            lambda aws: list(aws.pages("stepfunctions", "list_state_machines", key="state machines")),
            id="pages",
        ),
    ],
)
def test_access_denied_is_an_auth_error_naming_the_iam_action(run: Callable[[Aws], object]) -> None:
    document = {
        "__type": "AccessDeniedException",
        "message": "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: states:ListStateMachines",
    }
    with answering(400, json.dumps(document).encode(), JSON_1_0) as url:
        error = failure(lambda: run(aws_at(url)))
    assert isinstance(error, AwsAuthError)
    assert error.exit_code is ExitCode.AUTH
    assert error.code == "AccessDeniedException"
    assert error.message == (
        "stepfunctions ListStateMachines failed for state machines: AccessDeniedException: "
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: states:ListStateMachines"
    )
    assert error.hint == "the caller needs states:ListStateMachines on state machines"


@pytest.mark.parametrize(
    ("status", "code"),
    [(501, "NotImplemented"), (400, "UnknownOperationException"), (400, "InvalidAction")],
)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_operation_the_endpoint_lacks_is_named_as_unsupported(
    entry: Entry, status: int, code: str
) -> None:
    # What the sandbox answers for an operation moto lacks (501), and the protocols' own "no such operation".
    document = {"__type": code, "message": "not here"}
    with answering(status, json.dumps(document).encode(), JSON_1_0) as url:
        error = failed_listing(entry, aws_at(url))
    assert isinstance(error, UnsupportedOperationError)
    assert error.exit_code is ExitCode.FAILED
    assert error.message.endswith(f"{url} does not support ListQueues ({code}, HTTP {status})")
    assert error.hint is not None
    assert "is it running" not in error.hint


def test_refused_credentials_are_an_auth_error_saying_to_renew_them() -> None:
    document = (
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
        b"</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    )
    with answering(403, document, "text/xml") as url:
        error = failure(lambda: aws_at(url).call("sts", "get_caller_identity"))
    assert isinstance(error, AwsAuthError)
    assert error.message == (
        "sts GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid."
    )
    assert error.hint is not None
    assert "aws sso login" in error.hint


# ---- local settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_no_credentials(entry: Entry, refused_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name)
    error = failed_listing(entry, aws_at(refused_url))
    assert isinstance(error, AwsAuthError)
    assert error.exit_code is ExitCode.AUTH
    assert error.message.endswith(": no AWS credentials were found")
    assert error.hint is not None
    assert "aws configure" in error.hint


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_partial_credentials(entry: Entry, refused_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    error = failed_listing(entry, aws_at(refused_url))
    assert isinstance(error, AwsAuthError)
    assert error.message.endswith(": incomplete AWS credentials in env: AWS_SECRET_ACCESS_KEY is missing")


@pytest.mark.parametrize("option", [True, False], ids=["--profile", "AWS_PROFILE"])
def test_unknown_profile_is_named(option: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not option:
        monkeypatch.setenv("AWS_PROFILE", "nosuch")
    error = failure(lambda: create_session(profile="nosuch" if option else None, region=REGION))
    assert isinstance(error, AwsAuthError)
    assert error.message == "AWS profile nosuch was not found"
    assert error.hint is not None
    assert "aws configure list-profiles" in error.hint


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_no_region(entry: Entry, refused_url: str) -> None:
    error = failed_listing(entry, aws_at(refused_url, region=None))
    assert error.message.endswith(": no AWS region is set")
    assert error.hint == "set `region:` in jobs.yaml, pass --region, or set AWS_REGION"


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_endpoint_url_without_a_scheme(entry: Entry) -> None:
    error = failed_listing(entry, aws_at("localhost:4566"))
    assert error.message.endswith(": invalid endpoint URL 'localhost:4566'")
    assert error.hint == "give the scheme too, e.g. http://localhost:4566"


def test_client_of_a_bad_endpoint_names_the_service() -> None:
    error = failure(lambda: aws_at("localhost:4566").client("sqs"))
    assert error.message == "sqs client failed: invalid endpoint URL 'localhost:4566'"


@pytest.mark.parametrize(("region", "guess"), [("eu-wset-1", "eu-west-1"), ("us-east-7", "us-east-2")])
def test_unknown_region_is_named_with_a_guess(region: str, guess: str, refused_url: str) -> None:
    error = failed_listing(via_pages, aws_at(refused_url, region=region))
    assert error.hint is not None
    assert error.hint.startswith(f"{region} is not an AWS region (did you mean {guess}?): ")
    assert "--region" in error.hint


def test_malformed_region_name(refused_url: str) -> None:
    error = failed_listing(via_call, aws_at(refused_url, region="eu west 1"))
    assert error.message.endswith(": 'eu west 1' is not a valid AWS region name")
    assert error.hint is not None
    assert "--region" in error.hint


# ---- one boundary ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["refused_url", "closing_url", "silent_url"])
def test_call_and_pages_translate_alike(server: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(server)
    timeout_s = IMPATIENT_S if server == "silent_url" else PATIENT_S
    by_call = failed_listing(via_call, aws_at(url, timeout_s=timeout_s))
    by_pages = failed_listing(via_pages, aws_at(url, timeout_s=timeout_s))
    assert type(by_call) is type(by_pages)
    assert (by_call.message, by_call.hint, by_call.code) == (by_pages.message, by_pages.hint, by_pages.code)


def test_a_request_botocore_rejects_before_sending(refused_url: str) -> None:
    error = failed_listing(
        lambda aws: aws.call("sqs", "list_queues", key=KEY, MaxResults="ten"), aws_at(refused_url)
    )
    assert error.code == "ParamValidationError"
    assert (
        "request rejected before sending: Parameter validation failed: Invalid type for parameter MaxResults"
        in (error.message)
    )
