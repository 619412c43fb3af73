"""The S3 trigger of a job (`s3: {bucket, prefix, suffix}`): an EventBridge rule on the bucket's Object Created
events that starts the job's workflow, and the role it starts it with. Pure: imports config, naming, specs,
policies, asl.

Amazon S3 sends these events to EventBridge only once the bucket says so (its EventBridge notification setting);
batchctl never changes a bucket it does not own, so `plan` checks that setting (provisioners/bucket_events.py).
"""

from __future__ import annotations

import json
from typing import Any

from batchctl import asl, policies
from batchctl.config import JobsFile
from batchctl.config.extras import S3Trigger
from batchctl.naming import Names
from batchctl.specs import EventRuleSpec, Key, RoleSpec

# EventBridge's input transformer: these event fields become the run's input, which the workflow's "From S3"
# state reads as it reads a schedule's ({source, body, time, id}).
INPUT_PATHS = {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key", "time": "$.time", "id": "$.id"}


def event_pattern(trigger: S3Trigger) -> dict[str, Any]:
    """Object Created events of the bucket, keys filtered by prefix and suffix (both: one wildcard)."""
    detail: dict[str, Any] = {"bucket": {"name": [trigger.bucket]}}

    def literal(text: str) -> str:  # a wildcard pattern's own `*` and backslash are escaped
        return text.replace("\\", "\\\\").replace("*", "\\*")

    if trigger.prefix and trigger.suffix:
        detail["object"] = {"key": [{"wildcard": f"{literal(trigger.prefix)}*{literal(trigger.suffix)}"}]}
    elif trigger.prefix:
        detail["object"] = {"key": [{"prefix": trigger.prefix}]}
    elif trigger.suffix:
        detail["object"] = {"key": [{"suffix": trigger.suffix}]}
    return {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}


def input_template(job: str) -> str:
    """The run's input: source s3, the object's URI as body, the event's time and id."""
    document = {
        "source": asl.SOURCE_S3,
        "job": job,
        "body": "s3://<bucket>/<key>",
        "time": "<time>",
        "id": "<id>",
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def build_s3_trigger(
    cfg: JobsFile, names: Names, *, job: str, tags: dict[str, str], machine_key: Key
) -> list[Any]:
    """The job's rule and its role, or nothing without `s3:`."""
    trigger = cfg.jobs[job].s3
    if trigger is None:
        return []
    role = RoleSpec(
        name=names.s3_role(job),
        trust_policy=policies.trust_policy("events.amazonaws.com"),
        inline_policies=policies.event_rule_policies(state_machine_arn=names.state_machine_arn(job)),
        description=f"batchctl {names.prefix}: starts the {job} workflow for new objects in {trigger.bucket}",
        tags=tags,
    )
    rule = EventRuleSpec(
        name=names.s3_rule(job),
        event_pattern=event_pattern(trigger),
        target_arn=names.state_machine_arn(job),
        role_arn=names.role_arn(role.name),
        input_paths=INPUT_PATHS,
        input_template=input_template(job),
        description=f"batchctl {names.prefix}: {job} runs for objects created in s3://{trigger.bucket}/{trigger.prefix}",
        tags=tags,
        depends_on=(machine_key, role.key),
    )
    return [role, rule]
