"""AWS Step Functions rules moto lacks.

- CreateStateMachine/UpdateStateMachine with a role that states.amazonaws.com cannot assume yet (IAM propagation) or
  at all (trust policy): AccessDeniedException "Neither the global service principal states.amazonaws.com, nor the
  regional one is authorized to assume the provided role." [terraform-provider-aws sfn/state_machine.go retries it]
- DeleteStateMachine with RUNNING executions leaves the machine DELETING until they end; meanwhile StartExecution
  and a CreateStateMachine of the same name are refused with StateMachineDeleting. [SFN API_DeleteStateMachine,
  API_CreateStateMachine, API_StartExecution]

Imports: stdlib and the strict wire; StrictApp only for typing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchctl.sandbox.strict.wire import Call, RefusedError, Reply, json_reply

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

STATES_PRINCIPAL = "states.amazonaws.com"
NOT_ASSUMABLE = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the "
    "provided role."
)


def install(app: StrictApp) -> None:
    deleting: set[str] = set()  # state machine ARNs waiting for their executions to end
    app.on_reset(deleting.clear)

    def running(call: Call, machine_arn: str) -> bool:
        answer = app.internal(
            call,
            "ListExecutions",
            {"stateMachineArn": machine_arn, "statusFilter": "RUNNING", "maxResults": 1},
        )
        return answer.ok and bool(answer.json().get("executions"))

    def being_deleted(message: str) -> RefusedError:
        return RefusedError("StateMachineDeleting", message)

    @app.before("stepfunctions", "CreateStateMachine", "UpdateStateMachine")
    def role(call: Call) -> None:
        role_arn = call.params.get("roleArn")
        if role_arn and not app.roles.assumable(str(role_arn), STATES_PRINCIPAL):
            raise RefusedError("AccessDeniedException", NOT_ASSUMABLE)

    @app.before("stepfunctions", "CreateStateMachine")
    def name_free(call: Call) -> None:
        suffix = f":{call.region}:"
        name = f":stateMachine:{call.params.get('name')}"
        with app.lock:
            taken = [arn for arn in deleting if suffix in arn and arn.endswith(name)]
        if taken:
            raise being_deleted(f"State machine is being deleted: '{taken[0]}'")

    @app.before("stepfunctions", "StartExecution")
    def not_deleting(call: Call) -> None:
        arn = str(call.params.get("stateMachineArn", ""))
        with app.lock:
            refused = arn in deleting
        if refused:
            raise being_deleted(f"State machine is being deleted: '{arn}'")

    @app.before("stepfunctions", "DeleteStateMachine")
    def delete(call: Call) -> Reply | None:
        arn = str(call.params.get("stateMachineArn", ""))
        with app.lock:
            if arn in deleting:
                return json_reply({})
        if not running(call, arn):
            return None  # nothing running: moto deletes it now, as AWS does shortly after

        def finished() -> None:
            with app.lock:
                deleting.discard(arn)

        with app.lock:
            deleting.add(arn)
        app.defer(call, ready=lambda: not running(call, arn), done=finished)
        return json_reply({})

    @app.after("stepfunctions", "DescribeStateMachine")
    def status(call: Call, reply: Reply) -> Reply:
        with app.lock:
            if not reply.ok or str(call.params.get("stateMachineArn")) not in deleting:
                return reply
        return reply.with_json(reply.json() | {"status": "DELETING"})
