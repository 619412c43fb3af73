"""Whether a bucket an S3 trigger watches sends its events to EventBridge. Imports: aws, errors.

batchctl never changes a bucket it does not own: when the setting is off, the plan stops with the command that
turns it on and keeps the bucket's other notifications (PutBucketNotificationConfiguration replaces them all).
"""

from __future__ import annotations

import json
import shlex

from batchctl.aws import Aws
from batchctl.errors import AwsError, PlanError

KEPT = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")


def check_bucket_sends_events(aws: Aws, *, bucket: str, job: str) -> None:
    """Raise PlanError unless `bucket` exists and sends its events to EventBridge."""
    where = f"jobs.{job}.s3"
    try:
        config = aws.call(
            "s3", "get_bucket_notification_configuration", key=f"s3.bucket/{bucket}", Bucket=bucket
        )
    except AwsError as exc:
        if exc.code in ("NoSuchBucket", "404"):
            raise PlanError(
                f"{where}: bucket {bucket} does not exist", hint="check the bucket name in jobs.yaml"
            ) from None
        raise
    if "EventBridgeConfiguration" in config:
        return
    document = {key: config[key] for key in KEPT if config.get(key)} | {"EventBridgeConfiguration": {}}
    command = (
        f"aws s3api put-bucket-notification-configuration --bucket {shlex.quote(bucket)} "
        f"--notification-configuration {shlex.quote(json.dumps(document, separators=(',', ':')))}"
    )
    raise PlanError(
        f"{where}: bucket {bucket} does not send its events to EventBridge, so no object would start a run",
        hint=f"turn it on (its other notifications stay as they are), then plan again: {command}",
    )
