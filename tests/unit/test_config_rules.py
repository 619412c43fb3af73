"""config's rules over several sections, and each step's effective settings (steps.py, rules.py; offline, pure)."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from batchctl.config import JobsFile, StepSettings, parse_config, resolve_steps
from tests.unit.test_config import FULL, MINIMAL, at, edit, issues_of, only_issue

# ---- resolve_steps --------------------------------------------------------------------------------------------


def test_resolve_steps_of_a_command_job_is_one_step_named_main_with_defaults() -> None:
    cfg = parse_config(FULL)

    assert resolve_steps(cfg, "fibonacci") == [
        StepSettings(
            name="main",
            command=("python", "/opt/app/job/fibonacci.py", "--body", "Ref::body"),
            vcpus=1.0,
            memory_mib=2048,
            gpus=0,
            timeout_s=3600,
            retries=1,
            spot_retries=2,
            array_size=None,
            environment={"LOG_LEVEL": "info"},
        )
    ]


def test_resolve_steps_inherits_step_then_job_then_defaults() -> None:
    text = """\
version: 1
project: demo
stage: dev
defaults: {vcpus: 0.5, memory_mib: 1024, timeout_s: 600, retries: 0, spot_retries: 5}
jobs:
  etl:
    vcpus: 2
    memory_mib: 4096
    retries: 3
    array_size: 3
    environment: {A: job, B: job}
    steps:
      - {name: extract, command: [x], memory_mib: 8192, environment: {B: step, C: step}}
      - {name: load, command: [y], vcpus: 4, memory_mib: 8192, timeout_s: 60, array_size: 10}
"""
    extract, load = resolve_steps(parse_config(text), "etl")

    assert (extract.name, extract.command, extract.vcpus, extract.memory_mib) == (
        "extract",
        ("x",),
        2.0,
        8192,
    )
    assert (extract.timeout_s, extract.retries, extract.spot_retries, extract.array_size) == (600, 3, 5, 3)
    assert extract.environment == {"A": "job", "B": "step", "C": "step"}
    assert (load.vcpus, load.memory_mib, load.timeout_s, load.array_size) == (4.0, 8192, 60, 10)
    assert load.environment == {"A": "job", "B": "job"}


# ---- cross-field rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vcpus", "memory"),
    [(0.25, 512), (0.25, 2048), (0.5, 3072), (1, 8192), (2, 16384), (4, 30720), (8, 61440), (16, 122880)],
)
def test_fargate_pairs_accepted(vcpus: float, memory: int) -> None:
    parse_config(MINIMAL + f"    vcpus: {vcpus}\n    memory_mib: {memory}\n")


@pytest.mark.parametrize(
    ("vcpus", "memory", "allowed"),
    [
        (0.25, 1536, "512, 1024 or 2048 MiB"),
        (0.5, 512, "1024, 2048, 3072 or 4096 MiB"),
        (1, 9216, "2048–8192 MiB in steps of 1024"),
        (4, 31744, "8192–30720 MiB in steps of 1024"),
        (8, 18432, "16384–61440 MiB in steps of 4096"),
        (16, 36864, "32768–122880 MiB in steps of 8192"),
    ],
)
def test_fargate_pairs_refused_at_the_memory_key(vcpus: float, memory: int, allowed: str) -> None:
    issue = only_issue(MINIMAL + f"    vcpus: {vcpus}\n    memory_mib: {memory}\n")

    assert at(issue) == (8, "jobs.hello.memory_mib")
    assert issue.message.endswith(f"use {allowed}")


def test_a_fargate_pair_from_defaults_is_reported_at_defaults() -> None:
    text = MINIMAL + "  other:\n    command: [x]\ndefaults:\n  memory_mib: 1000\n"

    issue = only_issue(text)  # once, although two jobs inherit it

    assert at(issue) == (10, "defaults.memory_mib")
    assert issue.message == (
        "Fargate does not run 1 vCPU with 1000 MiB; with 1 vCPU use 2048–8192 MiB in steps of 1024"
    )


def test_a_fargate_vcpu_count_that_does_not_exist() -> None:
    issue = only_issue(MINIMAL + "    vcpus: 3\n")

    assert at(issue) == (7, "jobs.hello.vcpus")
    assert issue.message == "Fargate runs 0.25, 0.5, 1, 2, 4, 8, 16 vCPUs, not 3"


def test_a_step_override_is_checked_per_step() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    memory_mib: 4096\n    steps:\n      - {name: a, command: [x], vcpus: 2}\n"
        "      - {name: b, command: [x], vcpus: 0.25}\n",
    )

    issue = only_issue(text)

    assert at(issue) == (6, "jobs.hello.memory_mib")
    assert "0.25 vCPU with 4096 MiB" in issue.message


def test_gpus_only_on_ec2_or_spot() -> None:
    issue = only_issue(MINIMAL + "    gpus: 1\n")

    assert at(issue) == (7, "jobs.hello.gpus")
    assert issue.message == "GPUs need compute type EC2 or SPOT; Fargate has none"
    parse_config(MINIMAL + "    gpus: 1\ncompute: {type: EC2, instance_types: [g5]}\n")


def test_a_step_that_can_never_be_placed() -> None:
    issue = only_issue(MINIMAL + "    vcpus: 8\n    memory_mib: 16384\ncompute: {max_vcpus: 4}\n")

    assert at(issue) == (7, "jobs.hello.vcpus")
    assert issue.message == "can never be placed: needs 8 vCPUs but compute.max_vcpus is 4"


def test_ec2_takes_whole_vcpus_and_some_memory() -> None:
    text = MINIMAL + "    vcpus: 1.5\n    memory_mib: 2\ncompute: {type: SPOT}\n"

    issues = issues_of(text)

    assert [(at(i), i.message) for i in issues] == [
        ((7, "jobs.hello.vcpus"), "EC2/SPOT jobs take whole vCPUs (1 or more), not 1.5"),
        ((8, "jobs.hello.memory_mib"), "EC2/SPOT jobs need at least 4 MiB of memory"),
    ]


def test_ref_placeholders_must_be_ones_we_fill() -> None:
    text = edit(MINIMAL, "[echo, hi]", "[run, Ref::body, --at=Ref::time, Ref::source, Ref::id, Ref::name]")

    issue = only_issue(text)

    assert at(issue) == (6, "jobs.hello.command[5]")
    assert issue.message.startswith("Ref::name is never filled in; batchctl passes Ref::body, Ref::time")


def test_ref_placeholders_in_steps() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    steps:\n      - name: a\n        command: [x, Ref::input]\n",
    )

    assert at(only_issue(text)) == (8, "jobs.hello.steps[0].command[1]")


def test_an_iam_role_name_that_is_too_long() -> None:
    job = "j" * 52  # demo-dev-<job>-job (and -sfn): 9 + 52 + 4 = 65 characters
    text = edit(MINIMAL, "  hello:", f"  {job}:")

    issues = issues_of(text)

    assert [at(i) for i in issues] == [(5, f"jobs.{job}")] * 2
    assert [i.message for i in issues] == [
        f"the IAM role name 'demo-dev-{job}-{suffix}' would be 65 characters, AWS allows 64: "
        "shorten the project, stage or job name"
        for suffix in ("job", "sfn")
    ]


def test_only_the_resources_a_job_has_are_length_checked() -> None:
    job = "j" * 50  # demo-dev-<job>: 59; -job 63, -sfn 63, -pipe 64, -sched 65
    plain = edit(MINIMAL, "  hello:", f"  {job}:")
    scheduled = plain + "    schedule: {rate: 1 hour}\n"
    queued = plain + "    queue: {}\n"

    parse_config(plain)
    parse_config(queued)
    issue = only_issue(scheduled)
    assert at(issue) == (5, f"jobs.{job}")
    assert issue.message.startswith(f"the IAM role name 'demo-dev-{job}-sched' would be 65 characters")


def test_job_definition_names_must_not_clash() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    steps:\n      - {name: load, command: [x]}\n  hello-load:\n    command: [y]\n",
    )

    issue = only_issue(text)

    assert at(issue) == (8, "jobs.hello-load")
    assert "job definition name 'demo-dev-hello-load' clashes" in issue.message


def test_queue_names_must_not_clash() -> None:
    text = MINIMAL + "    queue: {}\n  hello-dlq:\n    command: [x]\n    queue: {}\n"

    issue = only_issue(text)

    assert at(issue) == (10, "jobs.hello-dlq.queue")
    assert "SQS queue name 'demo-dev-hello-dlq' clashes" in issue.message


def test_cross_field_rules_also_guard_direct_model_validation() -> None:
    data = yaml.safe_load(MINIMAL + "    gpus: 1\n")

    with pytest.raises(ValidationError, match="GPUs need compute type EC2 or SPOT"):
        JobsFile.model_validate(data)
