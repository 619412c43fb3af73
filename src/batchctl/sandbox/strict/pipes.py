"""EventBridge Pipes states, which moto skips: CREATING then RUNNING (or STOPPED when created with DesiredState
STOPPED), UPDATING then RUNNING, STARTING then RUNNING, STOPPING then STOPPED, DELETING then gone.

A pipe whose role pipes.amazonaws.com cannot assume yet (IAM propagation) or at all (trust policy) ends in
CREATE_FAILED / UPDATE_FAILED with a StateReason: Pipes checks the role asynchronously, CreatePipe itself succeeds.
[Pipes API_DescribePipe (CurrentState, StateReason); terraform-provider-aws pipes/pipe.go waits on these states;
"Input parameter is invalid from the request due to : The provided customer role does not have permissions to call
ReceiveMessage on SQS" is AWS's StateReason, terraform-aws-modules/terraform-aws-eventbridge#133]
The same CREATE_FAILED / UPDATE_FAILED comes when the role's policies (judged as service_roles.py does) do not allow
sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the source queue, naming the first one missing.
[Pipes user guide "Amazon SQS as a source": the execution role needs these three]

Imports: stdlib, the strict wire, policy and service_roles (judge); StrictApp only for typing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchctl.sandbox.strict.policy import Decision
from batchctl.sandbox.strict.service_roles import judge
from batchctl.sandbox.strict.wire import Call, Reply, json_reply

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

PIPES_PRINCIPAL = "pipes.amazonaws.com"
# What a pipe does on its SQS source, each checked on the pipe's role when the pipe is created or updated.
SQS_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
SECONDS = {"CREATING": 30.0, "UPDATING": 30.0, "STARTING": 20.0, "STOPPING": 20.0, "DELETING": 30.0}
FAILED = {"CREATING": "CREATE_FAILED", "UPDATING": "UPDATE_FAILED"}


@dataclass
class Pipe:
    status: str
    until: float
    settles_to: str
    reason: str | None = None


def role_refusal(source: str, operation: str = "ReceiveMessage") -> str:
    """The StateReason of a pipe whose role cannot be used (or lacks `operation` on its SQS source)."""
    detail = (
        f"The provided customer role does not have permissions to call {operation} on SQS"
        if ":sqs:" in source
        else "The provided customer role could not be assumed by EventBridge Pipes"
    )
    return f"Input parameter is invalid from the request due to : {detail}"


def install(app: StrictApp) -> None:
    pipes: dict[tuple[str, str], Pipe] = {}  # (region, name) → what AWS would show
    app.on_reset(pipes.clear)

    def refusal(role: str, source: str) -> str | None:
        """Why Pipes cannot use `role` on `source`: not assumable (yet), or its policies miss a source action."""
        if not app.roles.assumable(role, PIPES_PRINCIPAL):
            return role_refusal(source)
        if ":sqs:" in source and app.roles.known(role):
            for action in SQS_SOURCE_ACTIONS:
                if judge(role, action, source) is not Decision.ALLOWED:
                    return role_refusal(source, action.split(":", 1)[1])
        return None

    def begin(call: Call, status: str, settles_to: str, *, role: str | None = None, source: str = "") -> None:
        pipe = Pipe(status, app.clock.deadline(SECONDS[status]), settles_to)
        reason = refusal(role, source) if role is not None and status in FAILED else None
        if reason is not None:
            pipe.settles_to, pipe.reason = FAILED[status], reason
        with app.lock:
            pipes[(call.region, str(call.params.get("Name")))] = pipe

    def current(region: str, name: Any) -> Pipe | None:
        with app.lock:
            pipe = pipes.get((region, str(name)))
            if pipe is not None and pipe.status != pipe.settles_to and app.clock.passed(pipe.until):
                pipe.status = pipe.settles_to
            return pipe

    def overlay(region: str, described: dict[str, Any]) -> None:
        pipe = current(region, described.get("Name"))
        if pipe is None:
            return
        described["CurrentState"] = pipe.status
        if pipe.status == "DELETING":
            described["DesiredState"] = "DELETED"
        if pipe.status.endswith("_FAILED") and pipe.reason:
            described["StateReason"] = pipe.reason

    def settled(desired: Any) -> str:
        return "STOPPED" if desired == "STOPPED" else "RUNNING"

    @app.after("pipes", "CreatePipe")
    def created(call: Call, reply: Reply) -> Reply:
        if not reply.ok:
            return reply
        desired = call.params.get("DesiredState")
        begin(
            call,
            "CREATING",
            settled(desired),
            role=str(call.params.get("RoleArn", "")),
            source=str(call.params.get("Source", "")),
        )
        return reply.with_json(reply.json() | {"CurrentState": "CREATING"})

    @app.after("pipes", "UpdatePipe")
    def updated(call: Call, reply: Reply) -> Reply:
        if not reply.ok or current(call.region, call.params.get("Name")) is None:
            return reply
        out = reply.json()
        described = app.internal(call, "DescribePipe", {"Name": call.params["Name"]})
        source = str(described.json().get("Source", "")) if described.ok else ""
        begin(
            call,
            "UPDATING",
            settled(out.get("DesiredState")),
            role=str(call.params.get("RoleArn", "")),
            source=source,
        )
        return reply.with_json(out | {"CurrentState": "UPDATING"})

    @app.after("pipes", "StartPipe", "StopPipe")
    def toggled(call: Call, reply: Reply) -> Reply:
        if not reply.ok or current(call.region, call.params.get("Name")) is None:
            return reply
        status, target = ("STARTING", "RUNNING") if call.operation == "StartPipe" else ("STOPPING", "STOPPED")
        begin(call, status, target)
        return reply.with_json(reply.json() | {"CurrentState": status})

    @app.before("pipes", "DeletePipe")
    def delete(call: Call) -> Reply | None:
        name = call.params.get("Name")
        pipe = current(call.region, name)
        if pipe is None:
            return None
        described = app.internal(call, "DescribePipe", {"Name": name})
        if not described.ok:
            return None
        out = described.json()
        if pipe.status != "DELETING":
            begin(call, "DELETING", "DELETING")
            until = app.clock.deadline(SECONDS["DELETING"])

            def gone() -> None:
                with app.lock:
                    pipes.pop((call.region, str(name)), None)

            app.defer(call, ready=lambda: app.clock.passed(until), done=gone)
        keys = ("Arn", "Name", "CreationTime", "LastModifiedTime")
        return json_reply(
            {k: out[k] for k in keys if k in out} | {"DesiredState": "DELETED", "CurrentState": "DELETING"}
        )

    @app.after("pipes", "DescribePipe", "ListPipes")
    def described(call: Call, reply: Reply) -> Reply:
        items = "Pipes" if call.operation == "ListPipes" else None
        return reply.edit_json(lambda item: overlay(call.region, item), items)
