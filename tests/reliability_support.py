"""Shared helpers of the reliability tests (DESIGN §8): the example project, engine-level deploy/destroy, a
thorough leftover finder, and botocore event handlers that inject crashes, throttling and interrupts."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from batchctl import build, engine
from batchctl.config import JobsFile, parse_config
from batchctl.plan import ApplyResult, Plan
from batchctl.provisioners import build_provisioners

ROOT = Path(__file__).resolve().parents[1]
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
# The smallest stage with a network of its own: one Fargate job on a public image (no Docker, no ECR image).
SMALL = """version: 1
project: demo
stage: dev
image: {uri: "public.ecr.aws/docker/library/busybox:latest"}
network: {cidr: 10.20.0.0/24}
compute: {type: FARGATE, max_vcpus: 4}
jobs:
  hello:
    command: [echo, hi]
"""
OURS = [{"Key": "batchctl:project", "Value": "demo"}, {"Key": "batchctl:stage", "Value": "dev"}]


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """`batchctl -c CONFIG ARGS` in-process; never a traceback."""
    from typer.testing import CliRunner

    from batchctl.cli.app import app

    result = CliRunner().invoke(app, ["-c", str(config), *args], env={**ENV, **(env or {})})
    assert "Traceback" not in result.output
    return result


# Every service the example's provisioners call; clients are created up front so handlers reach all of them.
SERVICES = (
    "sts",
    "iam",
    "ec2",
    "ecr",
    "logs",
    "sqs",
    "sns",
    "stepfunctions",
    "batch",
    "pipes",
    "scheduler",
)
# Same classification as tests/conftest.py's Recorder: everything else changes something.
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Receive", "Lookup", "Filter")


def is_mutating(operation: str) -> bool:
    """True for operations that change AWS state (not Describe/Get/List/...)."""
    return not operation.startswith(READ_PREFIXES)


# ---- the example project ---------------------------------------------------------------------------------------
def example_text(project: str = "demo", stage: str = "dev", **replace: str) -> str:
    """The repository's jobs.yaml in eu-west-1, with project/stage (and any other text) replaced."""
    text = (ROOT / "jobs.yaml").read_text().replace("project: demo", f"project: {project}")
    text = text.replace("stage: dev", f"stage: {stage}").replace(
        "region: ap-northeast-1", "region: eu-west-1"
    )
    for old, new in replace.items():
        assert old in text, f"{old!r} is not in the example"
        text = text.replace(old, new)
    return text


def example(project: str = "demo", stage: str = "dev", **replace: str) -> JobsFile:
    return parse_config(example_text(project, stage, **replace))


def write_project(directory: Path, text: str) -> Path:
    """A project folder (jobs.yaml, Dockerfile, job/) for CLI tests; returns the jobs.yaml path."""
    config = directory / "jobs.yaml"
    config.write_text(text)
    shutil.copy(ROOT / "Dockerfile", directory / "Dockerfile")
    shutil.copy(ROOT / ".dockerignore", directory / ".dockerignore")
    if not (directory / "job").exists():
        shutil.copytree(ROOT / "job", directory / "job")
    return config


# ---- engine-level deploy / destroy ------------------------------------------------------------------------------
def plan_for(aws: Any, cfg: JobsFile, *, parallelism: int = engine.DEFAULT_PARALLELISM) -> tuple[Plan, Any]:
    """Read everything and diff: (plan, observed)."""
    specs = build.build_specs(cfg, aws.context())
    observed = engine.read_all(specs, build_provisioners(aws), parallelism=parallelism)
    return engine.make_plan(specs, observed, project=cfg.project, stage=cfg.stage), observed


def deploy(
    aws: Any, cfg: JobsFile, *, parallelism: int = engine.DEFAULT_PARALLELISM
) -> tuple[Plan, ApplyResult]:
    """One `deploy` (without the image step): read → plan → apply. Failures are in the result, not raised."""
    specs = build.build_specs(cfg, aws.context())
    provisioners = build_provisioners(aws)
    observed = engine.read_all(specs, provisioners, parallelism=parallelism)
    plan = engine.make_plan(specs, observed, project=cfg.project, stage=cfg.stage)
    result = engine.apply(plan, provisioners, observed=observed, parallelism=parallelism)
    return plan, result


def destroy(
    aws: Any, cfg: JobsFile, *, parallelism: int = engine.DEFAULT_PARALLELISM
) -> tuple[Plan, ApplyResult]:
    specs = build.build_specs(cfg, aws.context())
    provisioners = build_provisioners(aws)
    observed = engine.read_all(specs, provisioners, parallelism=parallelism)
    plan = engine.make_destroy_plan(specs, observed, project=cfg.project, stage=cfg.stage)
    result = engine.apply_destroy(plan, provisioners, specs=specs, observed=observed, parallelism=parallelism)
    return plan, result


def pending(plan: Plan) -> list[str]:
    """What a plan would still change, in words (for assertion messages)."""
    return [f"{c.action.value} {c.key} {','.join(c.fields)}".strip() for c in plan.pending]


# ---- what is left -----------------------------------------------------------------------------------------------
def leftovers(boto: Any, project: str, stage: str) -> list[str]:
    """Every resource that carries this project+stage's tags OR one of its names, across every service we use.

    Names matter as much as tags: a crash between a create and a separate tagging call would leave an
    untagged resource with our name, which the next deploy would refuse as "not managed"."""
    prefix = f"{project}-{stage}"
    named = (prefix, f"{prefix}-")
    found: list[str] = []

    def ours(name: str) -> bool:
        return name == prefix or name.startswith(f"{prefix}-")

    def tagged(tags: dict[str, str]) -> bool:
        return tags.get("batchctl:project") == project and tags.get("batchctl:stage") == stage

    iam = boto.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
            if ours(role["RoleName"]) or tagged(tags):
                found.append(role["Arn"])
    for page in iam.get_paginator("list_instance_profiles").paginate():
        found += [p["Arn"] for p in page["InstanceProfiles"] if ours(p["InstanceProfileName"])]

    ec2 = boto.client("ec2")
    by_tag = [
        {"Name": "tag:batchctl:project", "Values": [project]},
        {"Name": "tag:batchctl:stage", "Values": [stage]},
    ]
    by_name = [{"Name": "tag:Name", "Values": [f"{prefix}-*"]}]
    for filters in (by_tag, by_name):
        found += [v["VpcId"] for v in ec2.describe_vpcs(Filters=filters)["Vpcs"]]
        found += [s["SubnetId"] for s in ec2.describe_subnets(Filters=filters)["Subnets"]]
        found += [
            g["InternetGatewayId"]
            for g in ec2.describe_internet_gateways(Filters=filters)["InternetGateways"]
        ]
        found += [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=filters)["RouteTables"]]
        found += [g["GroupId"] for g in ec2.describe_security_groups(Filters=filters)["SecurityGroups"]]
    found += [
        g["GroupId"]
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g["GroupName"].startswith(named[1])
    ]

    found += [
        r["repositoryArn"]
        for r in boto.client("ecr").describe_repositories()["repositories"]
        if ours(r["repositoryName"])
    ]
    logs = boto.client("logs")
    for group_prefix in (f"/batchctl/{project}/{stage}/", f"/aws/vendedlogs/states/{prefix}-"):
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group_prefix):
            found += [g["logGroupName"] for g in page["logGroups"]]
    found += boto.client("sqs").list_queues(QueueNamePrefix=named[1]).get("QueueUrls", [])
    found += [
        t["TopicArn"]
        for t in boto.client("sns").list_topics()["Topics"]
        if ours(t["TopicArn"].rsplit(":", 1)[1])
    ]
    found += [
        m["stateMachineArn"]
        for m in boto.client("stepfunctions").list_state_machines()["stateMachines"]
        if ours(m["name"])
    ]
    found += [
        p["Arn"] for p in boto.client("pipes").list_pipes(NamePrefix=prefix)["Pipes"] if ours(p["Name"])
    ]
    scheduler = boto.client("scheduler")
    found += [
        g["Arn"]
        for g in scheduler.list_schedule_groups(NamePrefix=prefix)["ScheduleGroups"]
        if ours(g["Name"])
    ]
    found += [s["Arn"] for s in scheduler.list_schedules(NamePrefix=prefix)["Schedules"] if ours(s["Name"])]
    found += [
        r["Arn"] for r in boto.client("events").list_rules(NamePrefix=prefix)["Rules"] if ours(r["Name"])
    ]

    batch = boto.client("batch")
    found += [
        d["jobDefinitionArn"]
        for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
        if ours(d["jobDefinitionName"])
    ]
    found += [
        c["computeEnvironmentArn"]
        for c in batch.describe_compute_environments()["computeEnvironments"]
        if ours(c["computeEnvironmentName"]) and c.get("status") != "DELETED"
    ]
    found += [
        q["jobQueueArn"]
        for q in batch.describe_job_queues()["jobQueues"]
        if ours(q["jobQueueName"]) and q.get("status") != "DELETED"
    ]
    return sorted(set(found))


# ---- botocore event handlers -----------------------------------------------------------------------------------
@contextmanager
def handlers(aws: Any, event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """Register `handler` for `event` on each of `aws`'s clients (created now), only for the block.

    Per client, not on the session: the test session's botocore session is shared, and handlers registered there
    would also reach clients made later to inspect the result."""
    clients = [aws.client(service) for service in SERVICES]
    for client in clients:
        client.meta.events.register(event, handler)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, handler)


class SimulatedCrash(Exception):  # noqa: N818 - it stands for the process dying, not an error to handle
    """Raised by CrashAt: not a botocore error, so nothing in batchctl translates or handles it."""


class CrashAt:
    """A `before-call` handler: the k-th mutating call, and every call after it, raise SimulatedCrash.

    The state left behind is exactly the one of a process killed after k-1 mutating calls: no cleanup code can
    reach AWS any more."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.mutating: list[str] = []
        self.crashed_at: str | None = None
        self._lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            if self.crashed_at is not None:
                raise SimulatedCrash(f"{name} after the crash")
            if is_mutating(model.name):
                if len(self.mutating) + 1 == self.k:
                    self.crashed_at = name
                    raise SimulatedCrash(f"crashed at mutating call {self.k}: {name}")
                self.mutating.append(name)


class Throttler:
    """A `before-send` handler answering a deterministic pseudo-random share of requests with a throttling error,
    in the service's own wire protocol, so botocore parses it and its retry handler sees a real throttle.

    `before-send` (not `before-call`): botocore emits `before-call` in `BaseClient._make_api_call`, outside the
    retry loop, so an answer there is final and never retried; `before-send` is emitted per attempt, inside
    `Endpoint._send_request`'s retry loop, where an AWS throttle really arrives.

    The first request to each service is always throttled; after that, the draw for a request depends only on the seed, the request (method, URL, body) and how many identical
    requests came before it, never on which thread got there first.

    Bodies that carry IDs moto generates (a subnet's ID in ModifySubnetAttribute) draw afresh on each run, so with
    `max_in_a_row` None a storm would now and then throttle all 9 of botocore's attempts at one request (0.3**9
    per request, about 1 run in 200 over a deploy, plan and destroy): a storm the retries cannot ride out, which
    the storm tests are not about. `max_in_a_row` lets an identical request through after that many throttles in
    a row; the control test that wants botocore to give up leaves it None."""

    def __init__(self, rate: float, *, seed: int, max_in_a_row: int | None = None) -> None:
        self.rate = rate
        self.seed = seed
        self.max_in_a_row = max_in_a_row
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._in_a_row: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.throttled_services: Counter[str] = Counter()

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        service, operation = _service_and_operation(str(kwargs.get("event_name", "")))
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        fingerprint = hashlib.sha256(f"{request.method} {request.url} ".encode() + body).hexdigest()
        with self._lock:
            self._seen[fingerprint] += 1
            nth = self._seen[fingerprint]
            self.sent[operation] += 1
        digest = hashlib.sha256(f"{self.seed}|{fingerprint}|{nth}".encode()).digest()
        with self._lock:
            # The first request to each service is always throttled, so every wire protocol's error is parsed.
            first = service not in self.throttled_services
            if not first and int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
                self._in_a_row[fingerprint] = 0
                return None
            if self.max_in_a_row is not None and self._in_a_row[fingerprint] >= self.max_in_a_row:
                self._in_a_row[fingerprint] = 0
                return None
            self._in_a_row[fingerprint] += 1
            self.throttled[operation] += 1
            self.throttled_services[service] += 1
        return throttling_response(service, request.url)


class RetrySleeps:
    """Stands in for the `time` module inside botocore.endpoint, whose only use is the retry backoff sleep:
    records each delay botocore asks for instead of sleeping (tests fake time, as `Aws(sleep=...)` does)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.delays.append(seconds)


def _service_and_operation(event_name: str) -> tuple[str, str]:
    # before-send.<service-id hyphenized>.<Operation>
    _, service, operation = event_name.split(".", 2)
    return service, operation


def throttling_reply(service_id: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a throttling answer in `service_id`'s protocol (query, ec2, json, rest-json)."""
    headers = {"x-amzn-RequestId": "throttled"}
    if service_id in ("iam", "sts", "sns"):
        headers["Content-Type"] = "text/xml"
        return (
            400,
            headers,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId></ErrorResponse>",
        )
    if service_id == "ec2":
        headers["Content-Type"] = "text/xml"
        return (
            503,
            headers,
            b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
            b"</Message></Error></Errors><RequestID>throttled</RequestID></Response>",
        )
    if service_id in ("batch", "pipes", "scheduler"):
        headers["x-amzn-ErrorType"] = "TooManyRequestsException"
        headers["Content-Type"] = "application/json"
        return 429, headers, json.dumps({"message": "Too Many Requests"}).encode()
    # json protocol: ecr, logs, sqs, sfn
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return 400, headers, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()


def throttling_response(service_id: str, url: str) -> Any:
    """`throttling_reply` as the botocore response a `before-send` handler returns."""
    from io import BytesIO

    from botocore.awsrequest import AWSResponse, HeadersDict

    class Raw(BytesIO):
        def stream(self, **_: Any) -> Iterator[bytes]:
            chunk = self.read()
            while chunk:
                yield chunk
                chunk = self.read()

    status, headers, body = throttling_reply(service_id)
    return AWSResponse(url, status, HeadersDict(headers), Raw(body))


# ---- a loopback proxy in front of the moto server, for CLI runs (in-process or a subprocess) ---------------------
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# The SigV4 signing name → the service id `throttling_reply` knows (only the protocol matters there).
_SIGNING_TO_SERVICE = {"states": "sfn", "logs": "cloudwatch-logs"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


def wire_operation(method: str, path: str, headers: Any, body: bytes) -> str:
    """Best-effort `service:Operation` of a request as it crosses the wire (for counting and gating)."""
    scope = _SCOPE.search(str(headers.get("Authorization", "")))
    service = scope.group(1) if scope else "?"
    target = headers.get("X-Amz-Target")
    if target:  # json protocol: "AmazonSQS.SendMessage", "Logs_20140328.FilterLogEvents"
        return f"{service}:{str(target).rsplit('.', 1)[-1]}"
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    if "Action" in form:  # query protocol (iam, sts, sns, ec2)
        return f"{service}:{form['Action'][0]}"
    # rest-json: Batch POSTs to /v1/<operation>; Pipes and Scheduler use the HTTP method on a resource path.
    parts = [part for part in urlsplit(path).path.split("/") if part]
    if service == "batch" and parts:
        return f"batch:{parts[-1]}"
    return f"{service}:{method} /{'/'.join(parts[:2])}"


def is_mutating_on_the_wire(operation: str) -> bool:
    """Mutating by the operation's name (`Create...`), or by HTTP method for rest-json resource paths."""
    name = operation.split(":", 1)[1]
    if name.startswith(("GET ", "HEAD ")):
        return False
    if name.startswith(("POST ", "PUT ", "DELETE ", "PATCH ")):
        return True
    return not name.lower().startswith(tuple(p.lower() for p in READ_PREFIXES))


class AwsProxy:
    """A loopback HTTP proxy in front of the moto server. Point AWS_ENDPOINT_URL at `url` and it can:

    - throttle: answer a deterministic pseudo-random share `rate` of requests with the service's own throttling
      error, before forwarding (as AWS does: a throttled request is not executed); the first request of each
      operation is always throttled, so every wire protocol's error is parsed and every write is retried; an
      identical request gets through after `max_in_a_row` throttles in a row (see Throttler);
    - hold: after `hold_next_mutating()`, keep the next mutating request waiting until `release()`, so a test
      knows a call is in flight (for Ctrl-C tests) without timing anything.

    Works for the CLI in-process (CliRunner) and in a subprocess alike: nothing in batchctl or botocore is patched.
    """

    def __init__(
        self, upstream: str, *, rate: float = 0.0, seed: int = 0, max_in_a_row: int | None = None
    ) -> None:
        from http.server import ThreadingHTTPServer

        self.upstream = urlsplit(upstream)
        self.rate = rate
        self.seed = seed
        self.max_in_a_row = max_in_a_row
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._in_a_row: Counter[str] = Counter()
        self._throttled_operations: set[str] = set()
        self.sent: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.forced = 0  # throttles that were an operation's first request, not drawn
        self.forwarded: list[tuple[str, int]] = []  # (operation, status) of each request moto answered
        self._hold_armed = False
        self.held = threading.Event()
        self.held_operation: str | None = None
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> AwsProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def hold_next_mutating(self) -> None:
        with self._lock:
            self._hold_armed = True

    def release(self) -> None:
        self._release.set()

    # ---- request handling ----------------------------------------------------------------------------------
    def _should_throttle(self, method: str, path: str, body: bytes, operation: str) -> bool:
        fingerprint = hashlib.sha256(f"{method} {path} ".encode() + body).hexdigest()
        with self._lock:
            self.sent[operation] += 1
            self._seen[fingerprint] += 1
            nth = self._seen[fingerprint]
            if self.rate <= 0:
                return False
            first = operation not in self._throttled_operations
            digest = hashlib.sha256(f"{self.seed}|{fingerprint}|{nth}".encode()).digest()
            if not first and int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
                self._in_a_row[fingerprint] = 0
                return False
            if self.max_in_a_row is not None and self._in_a_row[fingerprint] >= self.max_in_a_row:
                self._in_a_row[fingerprint] = 0
                return False
            self._in_a_row[fingerprint] += 1
            self._throttled_operations.add(operation)
            self.throttled[operation] += 1
            self.forced += first
            return True

    def _should_hold(self, operation: str) -> bool:
        with self._lock:
            if not self._hold_armed or not is_mutating_on_the_wire(operation):
                return False
            self._hold_armed = False
            self.held_operation = operation
        return True

    def _forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        import http.client

        connection = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=120
        )
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            payload = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, payload
        finally:
            connection.close()

    def _handler_class(self) -> type[Any]:
        from http.server import BaseHTTPRequestHandler

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:  # quiet
                return None

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = wire_operation(self.command, self.path, self.headers, body)
                scope = _SCOPE.search(str(self.headers.get("Authorization", "")))
                signing = scope.group(1) if scope else "?"
                service = _SIGNING_TO_SERVICE.get(signing, signing)
                if proxy._should_throttle(self.command, self.path, body, operation):
                    status, headers, payload = throttling_reply(service)
                    self._reply(status, list(headers.items()), payload)
                    return
                if proxy._should_hold(operation):
                    proxy.held.set()
                    proxy._release.wait(timeout=300)
                status, kept, payload = proxy._forward(self.command, self.path, self.headers, body)
                with proxy._lock:
                    proxy.forwarded.append((operation, status))
                self._reply(status, kept, payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815

        return Handler


class CreateCounter:
    """An `after-call` handler counting SUCCESSFUL create calls per (operation, resource name)."""

    NAME_PARAMS = (
        "RoleName",
        "InstanceProfileName",
        "QueueName",
        "logGroupName",
        "repositoryName",
        "jobDefinitionName",
        "computeEnvironmentName",
        "jobQueueName",
        "GroupName",
        "Name",
        "name",
    )

    def __init__(self) -> None:
        self.created: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model: Any, http_response: Any, parsed: Any, context: Any, **_: Any) -> None:
        operation = str(model.name)
        if not operation.startswith(("Create", "Register")) or http_response.status_code >= 300:
            return
        params = context.get("reliability_params", {})
        with self._lock:
            self.created[(operation, _resource_name(params, self.NAME_PARAMS))] += 1

    def remember_params(self, params: Any, context: Any, model: Any, **_: Any) -> None:
        """`provide-client-params` handler: keeps the call's parameters for `__call__`."""
        if str(model.name).startswith(("Create", "Register")):
            context["reliability_params"] = dict(params)


def _resource_name(params: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        if isinstance(params.get(key), str):
            return str(params[key])
    for spec in params.get("TagSpecifications", []):  # EC2 names its resources with the Name tag
        for tag in spec.get("Tags", []):
            if tag.get("Key") == "Name":
                return str(tag["Value"])
    if "AWSServiceName" in params:
        return str(params["AWSServiceName"])
    # e.g. CreateRoute: the route table and destination identify it.
    return json.dumps({k: v for k, v in sorted(params.items()) if isinstance(v, str)}, sort_keys=True)
