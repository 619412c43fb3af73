"""AWS Batch request rules moto lets through, answered with ClientException as Batch does.

- Job queue `jobStateTimeLimitActions` (CreateJobQueue, UpdateJobQueue): reason one of REASONS, state RUNNABLE,
  action CANCEL, maxTimeSeconds 600..86400. [Batch API_JobStateTimeLimitAction; user guide
  "Automatic remediation with jobStateTimeLimitActions"]
- Fargate job definitions (RegisterJobDefinition with platformCapabilities FARGATE): executionRoleArn required,
  VCPU and MEMORY given as resourceRequirements (not the EC2-only vcpus/memory) in one of Fargate's pairs; the same
  pair check on SubmitJob overrides. platformCapabilities is EC2 or FARGATE. [Batch API_ResourceRequirement,
  API_RegisterJobDefinition; "Fargate resource requirements (1.00 vCPU, 4000 MiB) not valid." is AWS's wording]

Imports: stdlib and the strict wire; StrictApp only for typing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from batchctl.sandbox.strict.wire import Call, RefusedError

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)
MIN_TIME_S, MAX_TIME_S = 600, 86_400
PLATFORMS = ("EC2", "FARGATE")


def _memory_range(low: int, high: int, step: int) -> frozenset[int]:
    return frozenset(range(low, high + 1, step))


# Fargate vCPU → allowed memory (MiB). [Batch API_ResourceRequirement]
FARGATE_MEMORY = {
    0.25: frozenset({512, 1024, 2048}),
    0.5: _memory_range(1024, 4096, 1024),
    1.0: _memory_range(2048, 8192, 1024),
    2.0: _memory_range(4096, 16384, 1024),
    4.0: _memory_range(8192, 30720, 1024),
    8.0: _memory_range(16384, 61440, 4096),
    16.0: _memory_range(32768, 122880, 8192),
}


def client_error(message: str) -> RefusedError:
    return RefusedError("ClientException", message)


def check_time_limit_actions(actions: Any) -> None:
    if actions is None:
        return
    if not isinstance(actions, list):
        raise client_error("jobStateTimeLimitActions must be a list")
    for index, action in enumerate(actions):
        where = f"jobStateTimeLimitActions[{index}]"
        if not isinstance(action, dict):
            raise client_error(f"{where} must be an object")
        if action.get("reason") not in REASONS:
            raise client_error(f"{where}.reason must be one of {', '.join(REASONS)}")
        if action.get("state") != "RUNNABLE":
            raise client_error(f"{where}.state must be RUNNABLE")
        if action.get("action") != "CANCEL":
            raise client_error(f"{where}.action must be CANCEL")
        seconds = action.get("maxTimeSeconds")
        if not isinstance(seconds, int) or not MIN_TIME_S <= seconds <= MAX_TIME_S:
            raise client_error(
                f"{where}.maxTimeSeconds must be between {MIN_TIME_S} and {MAX_TIME_S} seconds, got {seconds}"
            )


def requirements(items: Any) -> dict[str, str]:
    """resourceRequirements as {type: value}."""
    if not isinstance(items, list):
        return {}
    return {str(i.get("type")): str(i.get("value")) for i in items if isinstance(i, dict)}


def check_fargate_pair(found: dict[str, str]) -> None:
    """Refuse a VCPU/MEMORY pair Fargate does not offer, in Batch's words."""
    try:
        vcpu, memory = float(found["VCPU"]), int(found["MEMORY"])
    except (KeyError, ValueError):
        raise client_error("Fargate job definitions need VCPU and MEMORY in resourceRequirements") from None
    if memory not in FARGATE_MEMORY.get(vcpu, frozenset()):
        raise client_error(f"Fargate resource requirements ({vcpu:.2f} vCPU, {memory} MiB) not valid.")


def check_job_definition(params: dict[str, Any]) -> None:
    platforms = params.get("platformCapabilities") or ["EC2"]
    for platform in platforms:
        if platform not in PLATFORMS:
            raise client_error(f"platformCapabilities {platform} must be one of {' | '.join(PLATFORMS)}")
    if "FARGATE" not in platforms:
        return
    container = params.get("containerProperties") or {}
    if not container.get("executionRoleArn"):
        raise client_error("Fargate job definitions require containerProperties.executionRoleArn")
    for legacy in ("vcpus", "memory"):
        if legacy in container:
            raise client_error(
                f"containerProperties.{legacy} is not supported on Fargate: use resourceRequirements VCPU and MEMORY"
            )
    check_fargate_pair(requirements(container.get("resourceRequirements")))


def install(app: StrictApp) -> None:
    @app.before("batch", "CreateJobQueue", "UpdateJobQueue")
    def time_limits(call: Call) -> None:
        check_time_limit_actions(call.params.get("jobStateTimeLimitActions"))

    @app.before("batch", "RegisterJobDefinition")
    def job_definition(call: Call) -> None:
        check_job_definition(call.params)

    @app.before("batch", "SubmitJob")
    def overrides(call: Call) -> None:
        wanted = requirements((call.params.get("containerOverrides") or {}).get("resourceRequirements"))
        if not wanted:
            return
        described = app.internal(
            call, "DescribeJobDefinitions", {"jobDefinitions": [call.params["jobDefinition"]]}
        )
        definitions = described.json().get("jobDefinitions", []) if described.ok else []
        for definition in definitions[-1:]:
            if "FARGATE" in (definition.get("platformCapabilities") or []):
                base = requirements((definition.get("containerProperties") or {}).get("resourceRequirements"))
                check_fargate_pair(base | wanted)
