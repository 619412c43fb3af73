"""EventBridge Pipes from an SQS queue to a state machine. Imports: specs, aws, errors, provisioners.base.

Pipes settle asynchronously in RUNNING or STOPPED; a *_FAILED state's StateReason is shown (AWS-QUIRKS 26)."""

from __future__ import annotations

from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import POLL_INTERVAL_S, Observed, check_owned, observation, stale_and_changed
from batchctl.specs import AwsDict, Key, Kind, Outputs, PipeSpec

NOT_FOUND = "NotFoundException"
DELETING = "DELETING"
SETTLED = frozenset({"RUNNING", "STOPPED"})
FAILED_SUFFIX = "_FAILED"
DELETE_FAILED = frozenset({"DELETE_FAILED", "DELETE_ROLLBACK_FAILED"})
# The API's defaults when a pipe's parameters leave them out.
DEFAULT_BATCH_SIZE = 10
DEFAULT_INVOCATION_TYPE = "REQUEST_RESPONSE"
# CreatePipe accepts a role whose policy has not propagated yet; the pipe then goes CREATE_FAILED with a reason
# like "The provided customer role does not have permissions to call ReceiveMessage on SQS" (AWS-QUIRKS 1, 25).
# Such a failure is retried (the failed pipe deleted first) for about two minutes; any other one is reported.
CREATE_FAILED = "CREATE_FAILED"
PERMISSION_MESSAGES = ("does not have permission", "not authorized")
ROLE_PROPAGATION_TIMEOUT_S = 120.0
SETTLE_TIMEOUT_S = 300.0


def pipe_parameters(spec: PipeSpec) -> AwsDict:
    """Every field we manage, in the shape UpdatePipe takes (CreatePipe adds Name, Source, Tags)."""
    return {
        "Description": spec.description,
        "DesiredState": spec.desired_state,
        "RoleArn": spec.role_arn,
        "SourceParameters": {"SqsQueueParameters": {"BatchSize": spec.batch_size}},
        "Target": spec.target_arn,
        # A STANDARD state machine only accepts FIRE_AND_FORGET; the API default REQUEST_RESPONSE is rejected
        # (AWS-QUIRKS 24), so the type is always sent.
        "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": spec.invocation_type}},
    }


class PipeProvisioner:
    """Pipe named exactly `spec.name`; changes via UpdatePipe (a pipe's source is fixed), tags via TagResource."""

    kind: ClassVar[Kind] = Kind.PIPE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: PipeSpec) -> AwsDict:
        """The CreatePipe parameters for `spec`: every managed field, the source and the tags."""
        params = {
            "Name": spec.name,
            "Source": spec.source_arn,
            **pipe_parameters(spec),
            "Tags": dict(spec.tags),
        }
        if not spec.description:
            del params["Description"]
        return params

    @staticmethod
    def from_described(item: AwsDict) -> PipeSpec:
        """DescribePipe's answer (which carries the pipe's Tags) in the spec's shape; what the parameters leave out
        reads as the API's default."""
        source_parameters: AwsDict = item.get("SourceParameters") or {}
        target_parameters: AwsDict = item.get("TargetParameters") or {}
        sqs: AwsDict = source_parameters.get("SqsQueueParameters") or {}
        sfn: AwsDict = target_parameters.get("StepFunctionStateMachineParameters") or {}
        return PipeSpec(
            name=str(item["Name"]),
            source_arn=str(item["Source"]),
            target_arn=str(item["Target"]),
            role_arn=str(item["RoleArn"]),
            batch_size=int(sqs.get("BatchSize", DEFAULT_BATCH_SIZE)),
            invocation_type=str(sfn.get("InvocationType", DEFAULT_INVOCATION_TYPE)),
            desired_state=str(item["DesiredState"]),
            description=str(item.get("Description", "")),
            tags={str(k): str(v) for k, v in (item.get("Tags") or {}).items()},
        )

    def read(self, spec: PipeSpec) -> Observed[PipeSpec] | None:
        described = self._describe(spec.key, spec.name)
        # A DELETING pipe is on its way out and cannot be updated: for planning it is gone already, and create()
        # waits for the name to be free.
        if described is None or described.get("CurrentState") == DELETING:
            return None
        arn = str(described["Arn"])
        if "Tags" not in described:
            listed = self.aws.call("pipes", "list_tags_for_resource", key=spec.key, resourceArn=arn)
            described = {**described, "Tags": listed.get("tags", {})}
        state = self.from_described(described)
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, {"arn": arn})

    def create(self, spec: PipeSpec) -> Outputs:
        described = self._describe(spec.key, spec.name)
        if described is not None and described.get("CurrentState") == DELETING:
            self._wait_gone(spec)
        return self.aws.retry_on(
            lambda: self._create_once(spec),
            codes=frozenset({CREATE_FAILED}),
            messages=PERMISSION_MESSAGES,
            what=f"the role of {spec.key} to be usable by EventBridge Pipes",
            timeout_s=ROLE_PROPAGATION_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
        )

    def update(self, spec: PipeSpec, observed: Observed[PipeSpec]) -> Outputs:
        before = observed.state
        arn = observed.outputs.get("arn", "")
        desired = pipe_parameters(spec)
        if desired != pipe_parameters(before):
            # UpdatePipe replaces each *Parameters object as a whole and leaves fields it is not sent alone, so
            # every managed field goes along.
            updated = self.aws.call("pipes", "update_pipe", key=spec.key, Name=spec.name, **desired)
            arn = str(updated.get("Arn") or arn)
            self._wait_settled(spec, operation="UpdatePipe")
        if not arn:
            described = self._describe(spec.key, spec.name)
            arn = str(described["Arn"]) if described else ""
        stale, retagged = stale_and_changed(spec.tags, before.tags)
        if stale:
            self.aws.call("pipes", "untag_resource", key=spec.key, resourceArn=arn, tagKeys=stale)
        if retagged:
            self.aws.call("pipes", "tag_resource", key=spec.key, resourceArn=arn, tags=retagged)
        return {"arn": arn}

    def delete(self, observed: Observed[PipeSpec]) -> None:
        spec = observed.state
        try:
            self.aws.call("pipes", "delete_pipe", key=spec.key, Name=spec.name)
        except AwsError as exc:
            if exc.code != NOT_FOUND:
                raise
        self._wait_gone(spec)

    # ---- helpers -------------------------------------------------------------------------------------------
    def _describe(self, key: Key, name: str) -> AwsDict | None:
        try:
            return self.aws.call("pipes", "describe_pipe", key=key, Name=name)
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def _create_once(self, spec: PipeSpec) -> Outputs:
        """CreatePipe and wait until it runs (or is stopped); on failure delete the pipe again, then raise."""
        created = self.aws.call("pipes", "create_pipe", key=spec.key, **self.to_request(spec))
        try:
            self._wait_settled(spec, operation="CreatePipe")
        except AwsError:
            self._delete_quietly(spec)
            raise
        return {"arn": str(created["Arn"])}

    def _wait_settled(self, spec: PipeSpec, *, operation: str) -> None:
        def probe() -> bool | None:
            described = self._describe(spec.key, spec.name)
            if described is None:
                raise AwsError(
                    f"pipes {operation} failed for {spec.key}: the pipe disappeared",
                    service="pipes",
                    operation=operation,
                    code=NOT_FOUND,
                    key=str(spec.key),
                )
            current = str(described.get("CurrentState", ""))
            if current.endswith(FAILED_SUFFIX):
                reason = str(described.get("StateReason") or "no reason given")
                raise AwsError(
                    f"pipes {operation} failed for {spec.key}: the pipe is {current}: {reason}",
                    service="pipes",
                    operation=operation,
                    code=current,
                    key=str(spec.key),
                    hint="the pipe's role needs sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes on "
                    "the queue and states:StartExecution on the state machine",
                )
            return True if current in SETTLED else None

        self.aws.wait_until(
            probe,
            what=f"{spec.key} to be RUNNING or STOPPED",
            timeout_s=SETTLE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    def _wait_gone(self, spec: PipeSpec) -> None:
        def probe() -> bool | None:
            described = self._describe(spec.key, spec.name)
            if described is None:
                return True
            current = str(described.get("CurrentState", ""))
            if current in DELETE_FAILED:
                reason = str(described.get("StateReason") or "no reason given")
                raise AwsError(
                    f"pipes DeletePipe failed for {spec.key}: the pipe is {current}: {reason}",
                    service="pipes",
                    operation="DeletePipe",
                    code=current,
                    key=str(spec.key),
                )
            return None

        self.aws.wait_until(
            probe,
            what=f"{spec.key} to be deleted",
            timeout_s=SETTLE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    def _delete_quietly(self, spec: PipeSpec) -> None:
        """Best-effort cleanup after a failed create; the create's own error is the one worth reporting."""
        try:
            self.aws.call("pipes", "delete_pipe", key=spec.key, Name=spec.name)
            self._wait_gone(spec)
        except AwsError:
            return
