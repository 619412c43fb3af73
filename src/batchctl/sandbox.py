"""The embedded sandbox: moto's server on 127.0.0.1 with Step Functions executing, Batch honouring awslogs options,
and a relay doing what moto's Pipes never do (move each pipe's SQS messages to its state machine).

Imports: errors; moto, boto3 and werkzeug only inside functions (moto is the optional `sandbox` extra).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from batchctl.errors import BatchctlError

log = logging.getLogger(__name__)

SANDBOX_REGION = "us-east-1"
SANDBOX_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}
_patched = threading.Lock()
_patch_done = False


class SandboxError(BatchctlError):
    """The sandbox could not start."""


def _require_moto() -> None:
    try:
        import moto  # noqa: F401
    except ImportError as exc:
        raise SandboxError(
            "the sandbox needs moto, which is not installed",
            hint="pip install 'batchctl[sandbox]'",
        ) from exc


def patch_moto() -> None:
    """Fix moto (5.2.x) in this process so workflows run as on AWS. Idempotent.

    1. moto's Step Functions executor leaves `_normalise_parameters`/`_normalise_response` empty, so a
       `batch:submitJob.sync` task sends PascalCase parameters to boto3 ('JobName' error) and keeps boto3's casing
       in the result ('JobId' error). We give both a body that applies the class's own shape converters with the
       botocore operation model of the task's service and action, as the real service does.
    2. moto's Docker-backed Batch writes every job's output to /aws/batch/job, ignoring the job definition's
       awslogs-group and stream prefix; on AWS the output goes to the configured group, where `logs tail` reads.
    3. moto's CreateJobQueue/UpdateJobQueue drop `jobStateTimeLimitActions`, so every plan would show the job
       queue's RUNNABLE timeout as drift; we keep and describe them as AWS does.
    4. moto's SendMessage builds every queue attribute, ApproximateNumberOfMessages* included (each a pass over
       all messages), only to read ContentBasedDeduplication: sending n messages to one queue costs O(n²), 10,000
       lines take minutes. While a message is sent, the queue answers that one attribute only (AWS: O(1)).
    """
    global _patch_done
    _require_moto()
    with _patched:
        if _patch_done:
            return
        _patch_step_functions()
        _patch_batch_logs()
        _patch_batch_time_limits()
        _patch_sqs_send()
        _patch_done = True


def _patch_step_functions() -> None:
    import botocore.session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service as sts,
    )

    models: dict[tuple[str, str], Any] = {}
    session = botocore.session.get_session()

    def operation_model(service: str, action: str) -> Any:
        cache_key = (service, action)
        if cache_key not in models:
            service_model = session.get_service_model(service)
            wanted = action.replace("_", "").lower()
            name = next((op for op in service_model.operation_names if op.lower() == wanted), None)
            models[cache_key] = service_model.operation_model(name) if name else None
        return models[cache_key]

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        model = operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if model is not None and model.input_shape is not None:
            self._to_boto_request(parameters, model.input_shape)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        model = operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if model is not None and model.output_shape is not None:
            self._from_boto_response(response, model.output_shape)

    setattr(sts.StateTaskService, "_normalise_parameters", normalise_parameters)  # noqa: B010 (monkeypatch)
    setattr(sts.StateTaskService, "_normalise_response", normalise_response)  # noqa: B010


def _patch_batch_logs() -> None:
    from moto.batch import models as batch_models

    original_init = batch_models.Job.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        props = getattr(self.job_definition, "container_properties", None) or {}
        options = (props.get("logConfiguration") or {}).get("options") or {}
        if options.get("awslogs-group"):
            self._log_group = options["awslogs-group"]
            prefix = options.get("awslogs-stream-prefix") or self.job_definition.name
            self._stream_name = f"{prefix}/default/{self.job_id}"

    setattr(batch_models.Job, "__init__", init)  # noqa: B010 (monkeypatch)


def _patch_batch_time_limits() -> None:
    from moto.batch import models as batch_models
    from moto.batch import responses

    original_describe = batch_models.JobQueue.describe

    def describe(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = original_describe(self)
        out["jobStateTimeLimitActions"] = getattr(self, "batchctl_time_limit_actions", [])
        return out

    setattr(batch_models.JobQueue, "describe", describe)  # noqa: B010 (monkeypatch)

    for operation, name_param in (("createjobqueue", "jobQueueName"), ("updatejobqueue", "jobQueue")):
        original = getattr(responses.BatchResponse, operation)

        def wrapped(self: Any, _original: Any = original, _name_param: str = name_param) -> Any:
            result = _original(self)
            actions = self._get_param("jobStateTimeLimitActions")
            if actions is not None:
                queue = self.batch_backend.get_job_queue(self._get_param(_name_param))
                if queue is not None:
                    queue.batchctl_time_limit_actions = actions
            return result

        setattr(responses.BatchResponse, operation, wrapped)


def _patch_sqs_send() -> None:
    from moto.sqs import models as sqs_models

    sending = threading.local()
    all_attributes = cast(property, sqs_models.Queue.attributes).fget
    assert all_attributes is not None

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(sending, "active", False):
            result: dict[str, Any] = all_attributes(self)
            return result
        # What SendMessage reads (SQSBackend.send_message, _validate_message, Queue.add_message): FIFO dedup only.
        if not self.fifo_queue:
            return {}
        value = self.content_based_deduplication
        return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}

    original_send = sqs_models.SQSBackend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            sending.active = False

    setattr(sqs_models.Queue, "attributes", property(attributes))  # noqa: B010 (monkeypatch)
    setattr(sqs_models.SQSBackend, "send_message", send_message)  # noqa: B010


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
    """A running moto server plus the pipe relay."""

    port: int
    use_docker: bool
    server: Any = None
    relay: PipeRelay | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.relay:
            self.relay.stop()
        if self.server:
            self.server.stop()


def start(*, port: int, use_docker: bool | None = None, relay_interval_s: float = 0.5) -> Sandbox:
    """Start moto on 127.0.0.1:`port` (0 picks a free port) with our fixes, configured, with the pipe relay."""
    _require_moto()
    if port == 0:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    # moto's Step Functions executor calls back to localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    # AWS-managed policies (e.g. AmazonEC2ContainerServiceforEC2Role) exist on AWS; moto loads them on ask.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    patch_moto()
    from moto.server import ThreadedMotoServer

    # No access log line per request on the terminal (werkzeug logs them at INFO unless told otherwise).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except OSError as exc:
        raise SandboxError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", hint="pick another --port"
        ) from exc
    docker_on = docker_answers() if use_docker is None else use_docker
    sandbox = Sandbox(port=port, use_docker=docker_on, server=server)
    _post_json(
        f"{sandbox.url}/moto-api/config",
        {
            "batch": {"use_docker": docker_on},
            "stepfunctions": {"execute_state_machine": True},
        },
    )
    sandbox.relay = PipeRelay(endpoint_url=sandbox.url, interval_s=relay_interval_s)
    sandbox.relay.start()
    return sandbox


@dataclass
class PipeRelay:
    """Moves messages from each RUNNING pipe's SQS source to its state machine, in the pipe's input shape: a JSON
    array of SQS records (batch size 1). moto's Pipes store pipes but never read their source."""

    endpoint_url: str
    interval_s: float = 0.5
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    relayed: int = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="batchctl-pipe-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _clients(self, region: str) -> tuple[Any, Any, Any]:
        import boto3

        session = boto3.Session(
            aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=region
        )
        return (
            session.client("pipes", endpoint_url=self.endpoint_url),
            session.client("sqs", endpoint_url=self.endpoint_url),
            session.client("stepfunctions", endpoint_url=self.endpoint_url),
        )

    def _loop(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        regions = _regions()
        clients = {region: self._clients(region) for region in regions}
        while not self._stop.is_set():
            for region in regions:
                try:
                    self.relay_once(*clients[region], region=region)
                except (ClientError, BotoCoreError) as exc:
                    log.debug("pipe relay in %s: %s", region, exc)
            self._stop.wait(self.interval_s)

    def relay_once(self, pipes: Any, sqs: Any, sfn: Any, *, region: str) -> int:
        """One pass over every pipe: returns how many messages were handed to state machines."""
        moved = 0
        for pipe in pipes.list_pipes().get("Pipes", []):
            if pipe.get("CurrentState", "RUNNING") not in ("RUNNING", "STARTING", "CREATING"):
                continue
            source, target = pipe.get("Source", ""), pipe.get("Target", "")
            if ":sqs:" not in source or ":states:" not in target:
                continue
            queue_name = source.rsplit(":", 1)[-1]
            account = source.split(":")[4]
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"], MessageAttributeNames=["All"]
            )
            for message in answer.get("Messages", []):
                record = {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": message.get("MessageAttributes", {}),
                    "md5OfBody": message.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": source,
                    "awsRegion": region,
                }
                # Pipes name executions with a generated id; the message id inside the input lets
                # `submit --wait` find the run.
                sfn.start_execution(
                    stateMachineArn=target, name=str(uuid.uuid4()), input=json.dumps([record])
                )
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        self.relayed += moved
        return moved


def _regions() -> list[str]:
    extra = [r for r in os.environ.get("BATCHCTL_SANDBOX_REGIONS", "").split(",") if r]
    configured = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    found = [SANDBOX_REGION, *extra, *([configured] if configured else []), "ap-northeast-1", "eu-west-1"]
    return list(dict.fromkeys(found))


def wait_forever(sandbox: Sandbox, *, poll_s: float = 1.0) -> None:
    """Block until Ctrl-C (KeyboardInterrupt propagates to the caller, which stops the sandbox)."""
    while True:
        time.sleep(poll_s)
