"""The strict middleware: a WSGI application in front of moto's that parses each AWS request, lets the rules refuse,
rewrite or answer it, forwards the rest to moto, and lets the rules rewrite moto's answer (e.g. a status that AWS
reaches later). Also the scaled clock, deferred requests (a delete AWS completes later) and the server class.

Imports: stdlib, moto's server (this module is imported only when a strict server starts), the strict rule modules.
"""

from __future__ import annotations

import contextvars
import io
import json
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from batchctl.sandbox.strict import (
    StrictOptions,
    batch_requests,
    batch_states,
    iam,
    logs,
    pipes,
    schedules,
    service_roles,
    sfn,
    sqs,
    tags,
)
from batchctl.sandbox.strict.wire import (
    Call,
    Environ,
    Models,
    RefusedError,
    Reply,
    collect,
    error_reply,
    parse_call,
    read_body,
)

WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
Before = Callable[[Call], "Call | Reply | None"]
After = Callable[[Call, Reply], Reply]
Hook = TypeVar("Hook", Before, After)

log = logging.getLogger(__name__)

# The strict application handling the current request, if any: in-process patches of moto (job attempts) read it.
CURRENT: contextvars.ContextVar[StrictApp | None] = contextvars.ContextVar("batchctl_strict", default=None)


class Clock:
    """Monotonic time with AWS's durations multiplied by `scale`."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def now(self) -> float:
        return time.monotonic()

    def deadline(self, aws_seconds: float) -> float:
        return self.now() + aws_seconds * self.scale

    def passed(self, deadline: float) -> bool:
        return self.now() >= deadline


@dataclass
class Deferred:
    """A request moto will get once `ready()` says so (AWS finishing a delete later); `done` runs after it."""

    call: Call
    ready: Callable[[], bool]
    done: Callable[[], None] = lambda: None
    claimed: bool = field(default=False)


class StrictApp:
    """WSGI middleware holding one strict server's rules and state (so strict and lenient servers can share a
    process: moto's backends are process-global, our rules are not)."""

    def __init__(self, app: WsgiApp, options: StrictOptions) -> None:
        self.app = app
        self.options = options
        self.models = Models()
        self.clock = Clock(options.time_scale)
        self.lock = threading.RLock()
        self.rng = random.Random(options.seed)
        self._before: dict[tuple[str, str], list[Before]] = defaultdict(list)
        self._after: dict[tuple[str, str], list[After]] = defaultdict(list)
        self._guards: list[Before] = []
        self._resets: list[Callable[[], None]] = []
        self._deferred: list[Deferred] = []
        self.roles = iam.install(self)
        for module in (tags, batch_requests, batch_states, sqs, schedules, sfn, pipes, logs, service_roles):
            module.install(self)

    # Registration, used by the rule modules.
    def before(self, service: str, *operations: str) -> Callable[[Before], Before]:
        """Decorator: run the hook before moto; it may raise RefusedError, rewrite the call, or answer itself."""
        return _registrar(self._before, service, operations)

    def after(self, service: str, *operations: str) -> Callable[[After], After]:
        """Decorator: run the hook on moto's answer; it returns the answer the client gets."""
        return _registrar(self._after, service, operations)

    def guard(self, hook: Before) -> Before:
        """Decorator: run the hook before moto on every call (any service and operation); it may raise RefusedError."""
        self._guards.append(hook)
        return hook

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Run `hook` when moto's state is reset (POST /moto-api/reset)."""
        self._resets.append(hook)

    def defer(self, call: Call, ready: Callable[[], bool], done: Callable[[], None] = lambda: None) -> None:
        """Give moto `call` once `ready()` (checked on each request), then run `done`."""
        with self.lock:
            self._deferred.append(Deferred(call, ready, done))

    # WSGI.
    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api/reset"):
            self.reset()
        body = read_body(environ)
        call = parse_call(environ, body, self.models)
        if call is None:
            return self.app(environ, start_response)
        self.sweep()
        token = CURRENT.set(self)
        try:
            reply = self.handle(call)
        except Exception:  # moto or a rule failed: answer as AWS does (500 InternalFailure, which SDKs retry)
            log.warning("%s %s failed inside the sandbox", call.service, call.operation, exc_info=True)
            reply = error_reply(
                call, RefusedError("InternalFailure", "The request processing has failed.", 500), self.models
            )
        finally:
            CURRENT.reset(token)
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Status')}", reply.headers)
        return [reply.body]

    def handle(self, call: Call) -> Reply:
        key = (call.service, call.operation)
        try:
            for hook in [*self._guards, *self._before.get(key, ())]:
                result = hook(call)
                if isinstance(result, Reply):
                    return result
                if isinstance(result, Call):
                    call = result
            reply = self.forward(call)
            for after in self._after.get(key, ()):
                reply = after(call, reply)
            return reply
        except RefusedError as refusal:
            return error_reply(call, refusal, self.models)

    def forward(self, call: Call) -> Reply:
        """Send `call` to moto and collect its whole answer."""
        environ = dict(call.environ)
        environ["wsgi.input"] = io.BytesIO(call.body)
        environ["CONTENT_LENGTH"] = str(len(call.body))
        started: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[..., None]:
            started["status"], started["headers"] = status, headers
            return lambda _data: None

        body = collect(self.app(environ, start_response))
        return Reply(int(started["status"].split()[0]), list(started["headers"]), body)

    def internal(self, call: Call, operation: str, params: dict[str, Any]) -> Reply:
        """Ask moto `operation` of `call`'s service with `call`'s credentials (json and rest-json services)."""
        model = self.models.model(call.service)
        environ = dict(call.environ)
        body = json.dumps(params).encode()
        if call.protocol == "json":
            environ["HTTP_X_AMZ_TARGET"] = f"{model.metadata['targetPrefix']}.{operation}"
        else:
            http = model.operation_model(operation).http
            path = http["requestUri"].split("?", 1)[0]
            for label, value in params.items():
                path = path.replace("{" + label + "}", str(value))
            environ.update(REQUEST_METHOD=http["method"], PATH_INFO=path, RAW_URI=path, REQUEST_URI=path)
            environ["QUERY_STRING"] = ""
            body = b"" if http["method"] in ("GET", "DELETE") else body
        return self.forward(replace(call, operation=operation, params=params, environ=environ, body=body))

    # State.
    def sweep(self) -> None:
        """Hand moto the deferred requests whose time has come (on every request: no background thread)."""
        with self.lock:
            candidates = [d for d in self._deferred if not d.claimed]
            for deferred in candidates:
                deferred.claimed = True
        for deferred in candidates:
            if deferred.ready():
                self.forward(deferred.call)
                deferred.done()
                with self.lock:
                    self._deferred.remove(deferred)
            else:
                deferred.claimed = False

    def reset(self) -> None:
        with self.lock:
            self._deferred.clear()
            for hook in self._resets:
                hook()


def _registrar(
    table: dict[tuple[str, str], list[Hook]], service: str, operations: tuple[str, ...]
) -> Callable[[Hook], Hook]:
    def register(hook: Hook) -> Hook:
        for operation in operations:
            table[(service, operation)].append(hook)
        return hook

    return register


class StrictMotoServer(ThreadedMotoServer):
    """moto's threaded server with the strict middleware in front of its application."""

    def __init__(self, options: StrictOptions, *, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.options = options
        self.strict_app: StrictApp | None = None

    def _server_entry(self) -> None:
        self.strict_app = StrictApp(DomainDispatcherApplication(create_backend_app), self.options)
        self._server = make_server(
            self._ip_address, self._port, self.strict_app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
}
