"""Starting the embedded sandbox: moto's server on 127.0.0.1 with our fixes (patches.py), Step Functions executing,
the pipe relay (relay.py), the schedule runner (scheduler.py) and, with `strict`, the strict middleware (strict/) in front of moto.

Imports: errors, patches, relay, scheduler, strict (options only); moto, docker and the strict rules only inside functions.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from batchctl.sandbox.errors import SandboxError, require_moto
from batchctl.sandbox.patches import patch_moto
from batchctl.sandbox.relay import PipeRelay
from batchctl.sandbox.scheduler import ScheduleRunner
from batchctl.sandbox.strict import StrictOptions

SANDBOX_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}

log = logging.getLogger(__name__)


def docker_answers() -> bool:
    """True when a Docker engine answers (then moto's Batch runs job containers for real)."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
    except (DockerException, OSError):  # requests' connection errors are OSErrors
        return False
    return True


def _post_json(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if not 200 <= response.status < 300:
            raise SandboxError(f"the sandbox refused its configuration ({url}: HTTP {response.status})")


@dataclass
class Sandbox:
    """A running moto server plus the pipe relay; `strict` is set when AWS's rules that moto lacks are enforced."""

    port: int
    use_docker: bool
    server: Any = None
    relay: PipeRelay | None = None
    schedules: ScheduleRunner | None = None
    strict: StrictOptions | None = None
    previous_moto_port: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.relay:
            self.relay.stop()
        if self.schedules:
            self.schedules.stop()
        if self.server:
            self.server.stop()
        # Give moto's Step Functions executor back the server it called before this one (tests start several).
        if os.environ.get("MOTO_PORT") == str(self.port):
            if self.previous_moto_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self.previous_moto_port


def start(
    *,
    port: int,
    use_docker: bool | None = None,
    relay_interval_s: float = 0.5,
    strict: StrictOptions | None = None,
) -> Sandbox:
    """Start moto on 127.0.0.1:`port` (0 picks a free port) with our fixes, configured, with the pipe relay; with
    `strict`, AWS's rules that moto lacks answer in front of it (see batchctl.sandbox.strict). `use_docker` (default:
    whether an engine answers) runs Batch jobs' containers and Lambda functions in Docker; without, jobs finish at
    once and an Invoke returns its event as the function's result."""
    if port != 0:
        _check_free(port)  # first: a taken port is an error at once, before moto loads
    require_moto()
    if port == 0:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    # moto's Step Functions executor calls back to localhost:$MOTO_PORT.
    previous_moto_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(port)
    # AWS-managed policies (e.g. AmazonEC2ContainerServiceforEC2Role) exist on AWS; moto loads them on ask.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    patch_moto()
    # No access log line per request on the terminal (werkzeug logs them at INFO unless told otherwise).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _quiet_moto()
    server = _server(port, strict)
    try:
        server.start()
    except OSError as exc:
        raise SandboxError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", hint="pick another --port"
        ) from exc
    docker_on = docker_answers() if use_docker is None else use_docker
    sandbox = Sandbox(
        port=port, use_docker=docker_on, server=server, strict=strict, previous_moto_port=previous_moto_port
    )
    _post_json(
        f"{sandbox.url}/moto-api/config",
        {
            "batch": {"use_docker": docker_on},
            # moto's Lambda runs a function only in a Docker container; without an engine its Invoke answers
            # "error running docker" as the function's own error, so every run with a handler would fail. Its
            # simple Lambda instead answers each Invoke with the event it was given, and runs no code.
            "lambda": {"use_docker": docker_on},
            "stepfunctions": {"execute_state_machine": True},
        },
    )
    sandbox.relay = PipeRelay(endpoint_url=sandbox.url, interval_s=relay_interval_s)
    sandbox.relay.start()
    sandbox.schedules = ScheduleRunner(endpoint_url=sandbox.url)
    sandbox.schedules.start()
    return sandbox


class _MotoToDebug(logging.Handler):
    """moto's own log (e.g. its Step Functions interpreter's "Exception=NoSuchJsonPathError ... at '(StringJsonPath|
    ...'" for every failed JSONPath) is about moto's internals: it goes to batchctl's debug log (-v), never straight
    to the terminal through Python's last-resort handler."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("moto %s: %s", record.name, record.getMessage())


def _quiet_moto() -> None:
    moto_log = logging.getLogger("moto")
    if not any(isinstance(handler, _MotoToDebug) for handler in moto_log.handlers):
        moto_log.addHandler(_MotoToDebug())
    moto_log.propagate = False


def _check_free(port: int) -> None:
    """SandboxError at once when 127.0.0.1:`port` is taken: moto's server would fail in its own thread, print a
    traceback and leave `start` waiting for ever."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as the server binds: TIME_WAIT is no owner
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SandboxError(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                hint=f"another program uses port {port}: pick another with --port N (--port 0 takes any free one)",
            ) from None


def _server(port: int, strict: StrictOptions | None) -> Any:
    if strict is None:
        from moto.server import ThreadedMotoServer

        return ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    from batchctl.sandbox.strict.app import StrictMotoServer
    from batchctl.sandbox.strict.spot import patch_job_attempts

    patch_job_attempts()
    return StrictMotoServer(strict, ip_address="127.0.0.1", port=port)


def wait_forever(sandbox: Sandbox, *, poll_s: float = 1.0) -> None:
    """Block until Ctrl-C (KeyboardInterrupt propagates to the caller, which stops the sandbox)."""
    while True:
        time.sleep(poll_s)
