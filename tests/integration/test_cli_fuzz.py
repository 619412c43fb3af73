"""Random option values for every command never make batchctl crash: hypothesis draws a command, global options
(before or after it) and values for its own options and arguments, and the run ends with a documented exit code and
no traceback, never 70. Offline: AWS calls go to a local endpoint that refuses the credentials at once (exit 4),
Docker to a socket that does not exist. `sandbox` is left out: a valid --port serves until Ctrl-C."""

from __future__ import annotations

import string
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.cli.commands import COMMANDS, load_command
from tests.reliability_support import example_text, write_project

DOCUMENTED = {0, 1, 2, 3, 4, 5}
JOBS = ["fibonacci", "daily-report", "etl"]
REFUSED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
    b"<Message>The security token included in the request is invalid.</Message></Error>"
    b"<RequestId>fuzz</RequestId></ErrorResponse>"
)


class Refusing(BaseHTTPRequestHandler):
    """Every AWS call is refused at once, as AWS refuses unknown credentials."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("x-amzn-ErrorType", "InvalidClientTokenId")
        self.send_header("Content-Length", str(len(REFUSED)))
        self.end_headers()
        self.wfile.write(REFUSED)

    def do_GET(self) -> None:
        self.do_POST()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "bodies.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    (folder / "body.json").write_text('{"n": 3}\n')
    return write_project(folder, example_text(stage="fuzz"))


# Text a shell can pass in argv: no NUL, no lone surrogate.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
EXTREMES = st.sampled_from(
    [
        "",
        "-1",
        "0",
        "1e309",
        "nan",
        "inf",
        "100000w",
        "99999999999999999999999d",
        "0001-01-01",
        "9999-12-31T23:59:59-23:59",
        "a\x01b",
        "-",
        "--",
        "x" * 300,
        "http://[",
        "us east 1",
    ]
)
VALUE = st.one_of(TEXT, EXTREMES, st.integers().map(str), st.floats().map(str))


PROJECT, ENDPOINT = "{project}", "{endpoint}"  # filled in by the test: strategies know no fixtures


def values_for(name: str) -> st.SearchStrategy[str]:
    """What to draw for a parameter: names from jobs.yaml sometimes, files that exist or not, anything."""
    if name in ("job", "jobs"):
        return st.one_of(st.sampled_from(JOBS), VALUE)
    if name == "body_file":
        files = ["-", "body.json", "bodies.jsonl", "missing.json", ".", "jobs.yaml"]
        return st.sampled_from([f if f == "-" else f"{PROJECT}/{f}" for f in files])
    if name in ("directory", "out"):  # init and export write there: keep them inside the project's folder
        return st.text(string.ascii_letters + "-_ .", min_size=1, max_size=12).map(
            lambda s: f"{PROJECT}/new/{s}"
        )
    return st.one_of(EXTREMES, VALUE)


def every_command() -> list[list[str]]:
    found = []
    for name in sorted(COMMANDS):
        if name == "sandbox":
            continue
        sub = getattr(load_command(name), "commands", None)
        found += [[name, s] for s in sorted(sub)] if sub else [[name]]
    return found


def command_of(path: list[str]) -> Any:
    command = load_command(path[0])
    return command.commands[path[1]] if len(path) > 1 else command


@st.composite
def invocation(draw: st.DrawFn) -> list[str]:
    path = draw(st.sampled_from(every_command()))
    own: list[str] = []
    for param in command_of(path).params:
        if param.name == "help":
            continue
        if param.param_type_name == "argument":
            if param.required or draw(st.booleans()):
                own.append(draw(values_for(param.name)))
        elif draw(st.booleans()):
            if param.count:
                own.append("-" + "v" * draw(st.integers(1, 3)))
            elif param.is_flag:
                own.append(draw(st.sampled_from([*param.opts, *param.secondary_opts])))
            else:
                own += [draw(st.sampled_from(param.opts)), draw(values_for(param.name))]
    config = draw(st.sampled_from(["jobs.yaml", "jobs.yaml", "jobs.yaml", "missing.yaml", "."]))
    endpoint = draw(st.one_of(st.just(ENDPOINT), st.just(ENDPOINT), EXTREMES, VALUE))
    global_options = ["-c", f"{PROJECT}/{config}", "--endpoint-url", endpoint]
    for option in ("--stage", "--region", "--profile", "-o"):
        if draw(st.booleans()):
            global_options += [option, draw(st.one_of(st.sampled_from(["dev", "eu-west-1", "json"]), VALUE))]
    global_options += draw(st.lists(st.sampled_from(["-q", "-v", "--no-color"]), max_size=2))
    if draw(st.booleans()):
        return [*path, *own, *global_options]
    return [*global_options, *path, *own]


CONFIG = ["-c", f"{PROJECT}/jobs.yaml", "--endpoint-url", ENDPOINT]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=invocation())
# Found crashing before (exit 70): a --since past what a date holds, an endpoint URL urllib cannot split.
@example(argv=["logs", "tail", "etl", "--since", "99999999999999999999999d", *CONFIG])
@example(argv=["logs", "tail", "etl", "--since", "9" * 5000 + "w", *CONFIG])
@example(argv=[*CONFIG[:2], "--endpoint-url", "http://[", "status"])
@example(argv=["unlock", "--yes", *CONFIG[:2], "--endpoint-url", "http://h:99999"])
def test_random_options_of_every_command_never_crash(endpoint: str, project: Path, argv: list[str]) -> None:
    folder = str(project.parent)
    argv = [arg.replace(PROJECT, folder).replace(ENDPOINT, endpoint) for arg in argv]
    result = CliRunner().invoke(
        app,
        argv,
        input="",
        env={
            "COLUMNS": "120",
            "NO_COLOR": "1",
            "AWS_ACCESS_KEY_ID": "fuzz",
            "AWS_SECRET_ACCESS_KEY": "fuzz",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_PROFILE": None,
            "AWS_CONFIG_FILE": f"{folder}/missing-aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": f"{folder}/missing-aws-credentials",
            "DOCKER_HOST": f"unix://{folder}/no-docker.sock",
        },
    )
    assert result.exit_code in DOCUMENTED, (argv, result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception)
    assert "Traceback" not in result.output, (argv, result.output)
    assert "internal error" not in result.stderr, (argv, result.stderr)
