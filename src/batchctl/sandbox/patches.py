"""In-process fixes to moto (5.2.x) so workflows run as on AWS; applied by every server we start, strict or not.

Imports: errors; moto and botocore only inside functions (moto is the optional `sandbox` extra).
"""

from __future__ import annotations

import threading
from typing import Any, cast

from batchctl.sandbox.errors import require_moto

_patched = threading.Lock()
_patch_done = False


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
    5. moto's GetBucketNotificationConfiguration leaves out the EventBridgeConfiguration it stored, so a bucket
       that sends its events to EventBridge would read as one that does not (S3 triggers); we add it back.
    6. moto's Step Functions executor signs every service call with one fixed key, whatever the state machine's
       role; we sign with a key naming the role (rolekeys.py), so the strict sandbox can judge the call against the
       role's policies as AWS does (strict/service_roles.py). The lenient sandbox ignores the key.
    7. An operation moto does not implement (SQS StartMessageMoveTask, which `dlq --redrive` calls) raises
       NotImplementedError inside moto: the client gets an HTML "500 Internal Server Error" page, retries it, and
       cannot tell it from an endpoint that is not an AWS API at all. We answer HTTP 501 with the service's own
       error shape, code NotImplemented, naming the operation (aws.py reports "does not support").
    8. moto rebuilds IAM for every partition on each reset (and each new account), parsing its 2 MB JSON of AWS
       managed policies every time: about 1 s per reset, paid by every test. The JSON is parsed once per process;
       the policies are still built afresh, so a reset still forgets their attachments.
    9. moto's request dispatcher lists its own package directory (about 200 stat calls, under a lock every request
       takes) on every request; the list never changes while the process runs, so it is read once.
    """
    global _patch_done
    require_moto()
    with _patched:
        if _patch_done:
            return
        _patch_step_functions()
        _patch_batch_logs()
        _patch_batch_time_limits()
        _patch_sqs_send()
        _patch_s3_event_bridge()
        _patch_executor_credentials()
        _patch_not_implemented()
        _patch_iam_managed_policies()
        _patch_module_list()
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


def _patch_s3_event_bridge() -> None:
    from moto.s3 import responses

    original = responses.S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or getattr(config, "event_bridge", None) is None:
            return original(self)
        serialized = self.serialized

        def with_event_bridge(action_result: Any) -> Any:
            result = action_result.result
            if isinstance(result, dict):
                result["EventBridgeConfiguration"] = {}
            return serialized(action_result)

        self.serialized = with_event_bridge
        try:
            return original(self)
        finally:
            del self.serialized

    setattr(responses.S3Response, "get_bucket_notification", get_bucket_notification)  # noqa: B010


def _patch_executor_credentials() -> None:
    import importlib
    import sys

    import boto3
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client

    from batchctl.sandbox.rolekeys import key_for

    original = boto_client.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        if not role_arn:
            return original(region=region, service=service, state_credentials=state_credentials)
        endpoint = (
            {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
        )
        return boto3.client(
            service_name=service,
            region_name=region,
            aws_access_key_id=key_for(str(role_arn)),
            aws_secret_access_key="sk",
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            ),
            **endpoint,
        )

    # Every module of the executor imported the function by name: replace it in each.
    importlib.import_module(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory"
    )
    importlib.import_module("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils")
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("moto.stepfunctions.parser")
            and getattr(module, "boto_client_for", None) is original
        ):
            setattr(module, "boto_client_for", boto_client_for)  # noqa: B010 (monkeypatch)


NOT_IMPLEMENTED_STATUS = 501  # botocore retries 500, 502, 503 and 504, never 501


def _patch_not_implemented() -> None:
    import warnings

    from moto import __version__ as moto_version
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult, BaseResponse

    class SandboxNotImplemented(ServiceException):
        """Defined outside moto's packages: moto then looks its code up in the service's model only, and serializes
        it in the service's protocol with a generic shape when the model has none (as here)."""

        code = "NotImplemented"

    # moto warns (UserWarning, on the sandbox's terminal) about every code missing from the service's model.
    warnings.filterwarnings("ignore", message=r"Exception\(SandboxNotImplemented\)")
    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        try:
            return original(self)
        except NotImplementedError:
            operation = self._get_action()
            error = SandboxNotImplemented(
                f"the sandbox (moto {moto_version}) does not implement {self.boto3_service_name} {operation}"
            )
            _status, headers, body = self.serialized(ActionResult(error))
            return NOT_IMPLEMENTED_STATUS, headers, body

    setattr(BaseResponse, "call_action", call_action)  # noqa: B010 (monkeypatch)


def _patch_iam_managed_policies() -> None:
    import json
    from functools import cache

    from moto.iam import models as iam_models
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.settings import load_iam_aws_managed_policies

    @cache
    def parsed() -> dict[str, Any]:
        data: dict[str, Any] = json.loads(aws_managed_policies_data)
        return data

    def init_aws_policies(self: Any) -> list[Any]:
        if not load_iam_aws_managed_policies():
            return []
        return [
            iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in parsed().items()
        ]

    setattr(iam_models.IAMBackend, "_init_aws_policies", init_aws_policies)  # noqa: B010 (monkeypatch)


def _patch_module_list() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: modules)  # noqa: B010 (monkeypatch)
