"""Step Functions state machines, found by the ARN their name gives. Imports: specs, aws, errors, provisioners.base.

Changes go through UpdateStateMachine and Tag/UntagResource, never CreateStateMachine (AWS-QUIRKS 18, 19)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import (
    POLL_INTERVAL_S,
    Hints,
    Observed,
    check_owned,
    observation,
    prefetching,
    stale_and_changed,
    tagged_resources,
    tags_from_list,
    tags_to_list,
)
from batchctl.specs import AwsDict, Key, Kind, Outputs, StateMachineSpec

log = logging.getLogger(__name__)

NOT_FOUND = "StateMachineDoesNotExist"
DELETING = "DELETING"
# A role minutes old may not be assumable by states.amazonaws.com yet, and its log-delivery permissions may not
# have propagated: both come back as AccessDeniedException (AWS-QUIRKS 1). Only those messages are retried; a
# caller lacking states:CreateStateMachine is also AccessDeniedException and must fail at once.
ROLE_PROPAGATION = frozenset({"AccessDeniedException"})
ROLE_PROPAGATION_MESSAGES = ("authorized to assume", "not authorized to access the Log Destination")
ROLE_PROPAGATION_TIMEOUT_S = 120.0
# DeleteStateMachine is asynchronous: the name stays taken while the machine is DELETING (AWS-QUIRKS 21).
STILL_DELETING = frozenset({"StateMachineDeleting"})
DELETE_TIMEOUT_S = 300.0
UPDATE_TIMEOUT_S = 120.0
# What a run stopped by `destroy` says, in the execution and on each of its Batch jobs.
DESTROY_ERROR = "batchctl.Destroyed"
DESTROY_REASON = "batchctl destroy deletes this workflow"
BATCH_TASK = "submitJob"


def running_executions(aws: Aws, key: Key, arn: str) -> list[str]:
    """The ARNs of the machine's RUNNING executions (none when the machine does not exist)."""
    found: list[str] = []
    try:
        for page in aws.pages(
            "stepfunctions", "list_executions", key=key, stateMachineArn=arn, statusFilter="RUNNING"
        ):
            found.extend(str(item["executionArn"]) for item in page.get("executions", []))
    except AwsError as exc:
        if exc.code != NOT_FOUND:
            raise
    return found


def submitted_batch_jobs(events: Sequence[AwsDict]) -> list[str]:
    """The ids of the Batch jobs an execution submitted, from its history: a `submitJob` task's TaskSubmitted
    event carries SubmitJob's answer (`JobId`)."""
    found: list[str] = []
    for event in events:
        details = event.get("taskSubmittedEventDetails") or {}
        if event.get("type") != "TaskSubmitted" or details.get("resourceType") != "batch":
            continue
        if not str(details.get("resource", "")).startswith(BATCH_TASK):
            continue
        try:
            answer = json.loads(details.get("output") or "null")
        except json.JSONDecodeError:
            continue
        job_id = answer.get("JobId") or answer.get("jobId") if isinstance(answer, dict) else None
        if job_id and str(job_id) not in found:
            found.append(str(job_id))
    return found


def stop_runs(aws: Aws, key: Key, arn: str) -> int:
    """Stop the machine's RUNNING executions and terminate the Batch jobs they submitted; returns how many runs.

    AWS deletes a state machine only once its executions have ended, and a run inside `submitJob.sync` makes no
    transition until its Batch job ends (hours). StopExecution ends the run at once; TerminateJob ends its job in
    any state (CancelJob leaves a RUNNING job running), an array job's children with it.
    """
    stopped = 0
    for execution_arn in running_executions(aws, key, arn):
        jobs: list[str] = []
        for page in aws.pages("stepfunctions", "get_execution_history", key=key, executionArn=execution_arn):
            jobs.extend(job for job in submitted_batch_jobs(page.get("events", [])) if job not in jobs)
        try:
            aws.call(
                "stepfunctions",
                "stop_execution",
                key=key,
                executionArn=execution_arn,
                error=DESTROY_ERROR,
                cause=DESTROY_REASON,
            )
            stopped += 1
        except AwsError as exc:
            if exc.code != "ExecutionDoesNotExist":
                raise
        for job_id in jobs:
            try:
                aws.call("batch", "terminate_job", key=job_id, jobId=job_id, reason=DESTROY_REASON)
            except AwsError as exc:
                if exc.code != "ClientException":  # a job Batch no longer knows: nothing left to stop
                    raise
                log.debug("Batch job %s not terminated: %s", job_id, exc.message)
    return stopped


def dump_definition(definition: Mapping[str, Any]) -> str:
    """Serialize an ASL definition once, deterministically."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))


def logging_configuration(spec: StateMachineSpec) -> AwsDict:
    """The loggingConfiguration for `spec`; without a log group, `destinations` is empty (which clears it)."""
    destinations: list[AwsDict] = []
    if spec.log_group_arn:
        # Step Functions wants the log group ARN with its ":*" suffix.
        destinations.append({"cloudWatchLogsLogGroup": {"logGroupArn": spec.log_group_arn + ":*"}})
    return {
        "level": spec.log_level,
        "includeExecutionData": spec.include_execution_data,
        "destinations": destinations,
    }


class StateMachineProvisioner:
    """State machine named exactly `spec.name`; changes via UpdateStateMachine, tags via Tag/UntagResource."""

    kind: ClassVar[Kind] = Kind.STATE_MACHINE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.hints: Hints[dict[str, str]] = Hints()

    @staticmethod
    def to_request(spec: StateMachineSpec) -> AwsDict:
        """The CreateStateMachine parameters for `spec`: the definition serialized once, tags included."""
        return {
            "name": spec.name,
            "definition": dump_definition(spec.definition),
            "roleArn": spec.role_arn,
            "type": spec.type,
            "loggingConfiguration": logging_configuration(spec),
            "tags": tags_to_list(spec.tags, key="key", value="value"),
        }

    @staticmethod
    def from_described(item: AwsDict) -> StateMachineSpec:
        """DescribeStateMachine's answer, with the machine's `tags` (ListTagsForResource), in the spec's shape:
        the definition parsed, the log group ARN without ":*"."""
        logging: AwsDict = item.get("loggingConfiguration") or {}
        destinations: list[AwsDict] = logging.get("destinations") or []
        log_group_arn: str | None = None
        if destinations:
            raw = destinations[0].get("cloudWatchLogsLogGroup", {}).get("logGroupArn")
            log_group_arn = str(raw).removesuffix(":*") if raw else None
        return StateMachineSpec(
            name=str(item["name"]),
            definition=json.loads(item["definition"]),
            role_arn=str(item["roleArn"]),
            type=str(item.get("type", "STANDARD")),
            log_group_arn=log_group_arn,
            log_level=str(logging.get("level", "OFF")),
            include_execution_data=bool(logging.get("includeExecutionData", False)),
            tags=tags_from_list(item.get("tags", []), key="key", value="value"),
        )

    def prefetch(self, specs: Sequence[StateMachineSpec]) -> None:
        """Tags of every machine in one paged GetResources (DescribeStateMachine is still one call each)."""

        def fetch() -> None:
            arns = {self._arn(spec.name): spec.name for spec in specs}
            tagged = tagged_resources(self.aws, specs, resource_type="states")
            self.hints.put({arns[arn]: tags for arn, tags in tagged.items() if arn in arns})

        prefetching("state machine tags", fetch)

    def read(self, spec: StateMachineSpec) -> Observed[StateMachineSpec] | None:
        arn = self._arn(spec.name)
        described = self._describe(spec.key, arn)
        # A DELETING machine is on its way out and cannot be updated: for planning it is already gone, and
        # create() retries StateMachineDeleting until the name is free.
        if described is None or described.get("status") == DELETING:
            return None
        tags = self.hints.take(spec.name)
        if tags is None or tags != dict(spec.tags):  # the tagging API's view only when it is the desired one
            tags = tags_from_list(
                self.aws.call("stepfunctions", "list_tags_for_resource", key=spec.key, resourceArn=arn).get(
                    "tags", []
                ),
                key="key",
                value="value",
            )
        check_owned(spec.key, spec.tags, tags)
        tagged = {**described, "tags": tags_to_list(tags, key="key", value="value")}
        return observation(spec, self.from_described(tagged), {"arn": arn})

    def create(self, spec: StateMachineSpec) -> Outputs:
        params = self.to_request(spec)

        def attempt() -> AwsDict:
            return self.aws.retry_on(
                lambda: self.aws.call("stepfunctions", "create_state_machine", key=spec.key, **params),
                codes=STILL_DELETING,
                what=f"the previous {spec.key} to finish deleting",
                timeout_s=DELETE_TIMEOUT_S,
                interval_s=POLL_INTERVAL_S,
            )

        # A single call: if it fails, nothing was created.
        created = self._retry_role_propagation(spec.key, attempt)
        return {"arn": str(created["stateMachineArn"])}

    def update(self, spec: StateMachineSpec, observed: Observed[StateMachineSpec]) -> Outputs:
        before = observed.state
        arn = observed.outputs.get("arn") or self._arn(spec.name)
        params: AwsDict = {}
        if spec.definition != before.definition:
            params["definition"] = dump_definition(spec.definition)
        if logging_configuration(spec) != logging_configuration(before):
            params["loggingConfiguration"] = logging_configuration(spec)
        if params or spec.role_arn != before.role_arn:
            # UpdateStateMachine needs definition or roleArn (else MissingRequiredParameter), so a logging-only
            # change sends the unchanged role along.
            params["roleArn"] = spec.role_arn
            self._retry_role_propagation(
                spec.key,
                lambda: self.aws.call(
                    "stepfunctions", "update_state_machine", key=spec.key, stateMachineArn=arn, **params
                ),
            )
            self._wait_updated(spec, arn)
        stale, retagged = stale_and_changed(spec.tags, before.tags)
        if stale:
            self.aws.call("stepfunctions", "untag_resource", key=spec.key, resourceArn=arn, tagKeys=stale)
        if retagged:
            self.aws.call(
                "stepfunctions",
                "tag_resource",
                key=spec.key,
                resourceArn=arn,
                tags=tags_to_list(retagged, key="key", value="value"),
            )
        return {"arn": arn}

    def delete(self, observed: Observed[StateMachineSpec]) -> None:
        """Stop its running runs (and their Batch jobs), delete, and wait until DescribeStateMachine says the
        machine does not exist.

        DELETING is not enough: the name stays taken until then, and AWS keeps a machine DELETING while any of its
        executions runs, each still using the machine's role and log group (which destroy deletes next).
        """
        spec = observed.state
        arn = observed.outputs.get("arn") or self._arn(spec.name)
        stop_runs(self.aws, spec.key, arn)
        try:
            self.aws.call("stepfunctions", "delete_state_machine", key=spec.key, stateMachineArn=arn)
        except AwsError as exc:
            if exc.code != NOT_FOUND:
                raise
        self.aws.wait_until(
            lambda: True if self._describe(spec.key, arn) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=DELETE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _arn(self, name: str) -> str:
        return self.aws.context().arn("states", f"stateMachine:{name}")

    def _describe(self, key: Key, arn: str) -> AwsDict | None:
        try:
            return self.aws.call("stepfunctions", "describe_state_machine", key=key, stateMachineArn=arn)
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def _retry_role_propagation(self, key: Key, action: Callable[[], AwsDict]) -> AwsDict:
        return self.aws.retry_on(
            action,
            codes=ROLE_PROPAGATION,
            messages=ROLE_PROPAGATION_MESSAGES,
            what=f"the role of {key} to be usable by Step Functions",
            timeout_s=ROLE_PROPAGATION_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
        )

    def _wait_updated(self, spec: StateMachineSpec, arn: str) -> None:
        """Poll until DescribeStateMachine shows the update: it is eventually consistent (AWS-QUIRKS 20)."""

        def probe() -> bool | None:
            described = self._describe(spec.key, arn)
            if described is None:
                raise AwsError(
                    f"{spec.key} disappeared while being updated", service="stepfunctions", key=str(spec.key)
                )
            live = self.from_described(described)
            settled = (
                live.definition == spec.definition
                and live.role_arn == spec.role_arn
                and logging_configuration(live) == logging_configuration(spec)
            )
            return True if settled else None

        self.aws.wait_until(
            probe,
            what=f"{spec.key} to show its new definition",
            timeout_s=UPDATE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )
