"""Handlers per job (jobs.X.notify overrides the stage's notify) and what they are told: build's workflows and
roles for a project with stage-wide and job-level Lambda handlers."""

from __future__ import annotations

from typing import Any

from batchctl import asl, build
from batchctl.config import parse_config
from batchctl.naming import AwsContext
from batchctl.specs import RoleSpec, StateMachineSpec

CTX = AwsContext(account_id="123456789012", region="eu-west-1")
STAGE_OK = "arn:aws:lambda:eu-west-1:123456789012:function:stage-ok"
STAGE_KO = "arn:aws:lambda:eu-west-1:123456789012:function:stage-ko"
OWN_KO = "arn:aws:lambda:eu-west-1:123456789012:function:etl-ko"

TEXT = f"""version: 1
project: demo
stage: dev
notify: {{on_success_lambda: "{STAGE_OK}", on_failure_lambda: "{STAGE_KO}"}}
jobs:
  hello:
    command: [echo, hi]
  etl:
    notify: {{on_failure_lambda: "{OWN_KO}"}}
    steps:
      - {{name: extract, command: [python, extract.py], vcpus: 2, memory_mib: 4096}}
      - {{name: load, command: [python, load.py, Ref::body]}}
"""


def _specs() -> list[Any]:
    return build.build_specs(parse_config(TEXT), CTX, image_tag="abc123")


def _workflow(specs: list[Any], job: str) -> dict[str, Any]:
    (machine,) = [s for s in specs if isinstance(s, StateMachineSpec) and s.name.endswith(f"-{job}")]
    return dict(machine.definition)


def _handler(definition: dict[str, Any], state: str) -> str:
    return str(definition["States"][state]["Parameters"]["FunctionName"])


def test_a_jobs_own_handler_replaces_the_stages_and_its_role_may_call_only_those() -> None:
    specs = _specs()
    etl, hello = _workflow(specs, "etl"), _workflow(specs, "hello")
    assert (_handler(etl, asl.SUCCESS_HANDLER), _handler(etl, asl.FAILURE_HANDLER)) == (STAGE_OK, OWN_KO)
    assert (_handler(hello, asl.SUCCESS_HANDLER), _handler(hello, asl.FAILURE_HANDLER)) == (
        STAGE_OK,
        STAGE_KO,
    )
    (role,) = [
        s
        for s in specs
        if isinstance(s, RoleSpec)
        and s.name == build.names_for(parse_config(TEXT), CTX).state_machine_role("etl")
    ]
    (statement,) = [st for st in role.inline_policies["workflow"]["Statement"] if st["Sid"] == "CallHandlers"]
    assert set(statement["Resource"]) == {STAGE_OK, f"{STAGE_OK}:*", OWN_KO, f"{OWN_KO}:*"}


def test_handlers_get_the_metadata_of_the_job_as_deployed() -> None:
    etl = _workflow(_specs(), "etl")
    for state in (asl.SUCCESS_HANDLER, asl.FAILURE_HANDLER):
        metadata = etl["States"][state]["Parameters"]["Payload"]["metadata"]
        assert (metadata["project"], metadata["stage"], metadata["job"]) == ("demo", "dev", "etl")
        assert metadata["image"].endswith(":abc123")
        assert metadata["steps"] == [
            {"name": "extract", "command": ["python", "extract.py"], "vcpus": 2, "memory_mib": 4096},
            {"name": "load", "command": ["python", "load.py", "Ref::body"], "vcpus": 1, "memory_mib": 2048},
        ]
