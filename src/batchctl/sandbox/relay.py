"""The pipe relay: what moto's Pipes never do, moving each running pipe's SQS messages to its state machine.

Imports: stdlib; boto3 and botocore only inside methods (they come with moto, the optional `sandbox` extra).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

SANDBOX_REGION = "us-east-1"


@dataclass
class PipeRelay:
    """Moves messages from each RUNNING pipe's SQS source to its state machine, in the pipe's input shape: a JSON
    array of SQS records (batch size 1). moto's Pipes store pipes but never read their source."""

    endpoint_url: str
    interval_s: float = 0.5
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    relayed: int = 0
    _role_clients: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)

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

        clients: dict[str, tuple[Any, Any, Any]] = {}
        while not self._stop.is_set():
            for region in _regions():
                if region not in clients:
                    clients[region] = self._clients(region)
                try:
                    self.relay_once(*clients[region], region=region)
                except (ClientError, BotoCoreError) as exc:
                    log.debug("pipe relay in %s: %s", region, exc)
            self._stop.wait(self.interval_s)

    def relay_once(self, pipes: Any, sqs: Any, sfn: Any, *, region: str) -> int:
        """One pass over every pipe: returns how many messages were handed to state machines. Each pipe's calls are
        signed as its role (rolekeys.py), so the strict sandbox judges them against that role's policies; a pipe
        whose call is refused leaves its message in the queue (it is received again after the visibility timeout,
        and reaches the dead-letter queue after maxReceiveCount receives, as on AWS)."""
        from botocore.exceptions import ClientError

        moved = 0
        for pipe in pipes.list_pipes().get("Pipes", []):
            if pipe.get("CurrentState", "RUNNING") not in ("RUNNING", "STARTING", "CREATING"):
                continue
            source, target = pipe.get("Source", ""), pipe.get("Target", "")
            if ":sqs:" not in source or ":states:" not in target:
                continue
            role = pipes.describe_pipe(Name=pipe["Name"]).get("RoleArn")
            try:
                moved += self._relay_pipe(
                    self._as_role(sqs, role), self._as_role(sfn, role), source, target, region=region
                )
            except ClientError as exc:
                log.debug("pipe %s: %s", pipe["Name"], exc)
        self.relayed += moved
        return moved

    def _as_role(self, client: Any, role_arn: str | None) -> Any:
        """`client`'s service, endpoint and region, signed as `role_arn` (the client itself without a role)."""
        if not role_arn:
            return client
        from batchctl.sandbox.rolekeys import client_as

        service = client.meta.service_model.service_name
        cache_key = (service, client.meta.endpoint_url, client.meta.region_name, role_arn)
        if cache_key not in self._role_clients:
            self._role_clients[cache_key] = client_as(
                service,
                region=client.meta.region_name,
                endpoint_url=client.meta.endpoint_url,
                role_arn=role_arn,
            )
        return self._role_clients[cache_key]

    def _relay_pipe(self, sqs: Any, sfn: Any, source: str, target: str, *, region: str) -> int:
        moved = 0
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
            sfn.start_execution(stateMachineArn=target, name=str(uuid.uuid4()), input=json.dumps([record]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        return moved


def _regions() -> list[str]:
    """Every region where the sandbox holds a pipe (any region a client used), and BATCHCTL_SANDBOX_REGIONS."""
    extra = [r for r in os.environ.get("BATCHCTL_SANDBOX_REGIONS", "").split(",") if r]
    return list(dict.fromkeys([*_pipe_regions(), *extra]))


def _pipe_regions() -> list[str]:
    """The regions of moto's Pipes backends (this process's server) that hold a pipe. Read with dict's own items:
    moto's BackendDict creates a backend for any key it is asked for."""
    from moto.pipes.models import pipes_backends

    return sorted(
        {
            region
            for by_region in list(dict.values(pipes_backends))
            for region, backend in list(dict.items(by_region))
            if backend.pipes
        }
    )
