"""Rules over several sections of jobs.yaml: Fargate vCPU/memory pairs, placement, `Ref::` names, AWS name limits.

Imports: config.models, config.steps, naming, yamlpos (KeyPath), stdlib. JobsFile's validator calls cross_field_rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from batchctl.config.extra_rules import extra_rules
from batchctl.config.models import FARGATE_MEMORY_MIB, FARGATE_TYPES, RUN_PARAMETERS, JobsFile, Rule
from batchctl.config.placement import gpu_placement_rule, platform_rules
from batchctl.config.steps import ResolvedStep, resolve_traced
from batchctl.naming import NAME_LIMITS, AwsContext, Names
from batchctl.yamlpos import KeyPath

_REF = re.compile(r"Ref::(\w+)")


def _fargate_memory_text(vcpus: float) -> str:
    allowed = FARGATE_MEMORY_MIB[vcpus]
    if len(allowed) <= 4:
        return ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]} MiB"
    return f"{allowed[0]}–{allowed[-1]} MiB in steps of {allowed[1] - allowed[0]}"


def _resource_rules(cfg: JobsFile, step: ResolvedStep) -> Iterator[Rule]:
    s = step.settings
    compute = cfg.compute
    fargate = compute.type in FARGATE_TYPES
    vcpus_at, memory_at, gpus_at = step.source["vcpus"], step.source["memory_mib"], step.source["gpus"]
    both = (*step.chain["vcpus"], *step.chain["memory_mib"], ("compute", "type"))
    if fargate:
        if s.vcpus not in FARGATE_MEMORY_MIB:
            choices = ", ".join(f"{v:g}" for v in FARGATE_MEMORY_MIB)
            yield Rule(
                vcpus_at,
                f"Fargate runs {choices} vCPUs, not {s.vcpus:g}",
                involves=(*step.chain["vcpus"], ("compute", "type")),
            )
        elif s.memory_mib not in FARGATE_MEMORY_MIB[s.vcpus]:
            yield Rule(
                memory_at,
                f"Fargate does not run {s.vcpus:g} vCPU with {s.memory_mib} MiB; "
                f"with {s.vcpus:g} vCPU use {_fargate_memory_text(s.vcpus)}",
                involves=both,
            )
        if s.gpus:
            yield Rule(
                gpus_at,
                "GPUs need compute type EC2 or SPOT; Fargate has none",
                involves=(*step.chain["gpus"], ("compute", "type")),
            )
    else:
        if s.vcpus < 1 or s.vcpus != int(s.vcpus):
            yield Rule(
                vcpus_at,
                f"EC2/SPOT jobs take whole vCPUs (1 or more), not {s.vcpus:g}",
                involves=(*step.chain["vcpus"], ("compute", "type")),
            )
        if s.memory_mib < 4:
            yield Rule(
                memory_at,
                "EC2/SPOT jobs need at least 4 MiB of memory",
                involves=(*step.chain["memory_mib"], ("compute", "type")),
            )
        rule = gpu_placement_rule(cfg, step)
        if rule is not None:
            yield rule
    if s.vcpus > compute.max_vcpus and compute.job_queue_arn is None:  # a shared queue: max_vcpus is not ours
        yield Rule(
            vcpus_at,
            f"can never be placed: needs {s.vcpus:g} vCPUs but compute.max_vcpus is {compute.max_vcpus}",
            involves=(*step.chain["vcpus"], ("compute", "max_vcpus"), ("compute", "job_queue_arn")),
        )


def _ref_rules(command: Sequence[str], loc: KeyPath) -> Iterator[Rule]:
    filled = ", ".join(f"Ref::{p}" for p in RUN_PARAMETERS)
    for index, arg in enumerate(command):
        for name in _REF.findall(arg):
            if name not in RUN_PARAMETERS:
                yield Rule(
                    (*loc, "command", index), f"Ref::{name} is never filled in; batchctl passes {filled}"
                )


def _length_rule(what: str, name: str, loc: KeyPath, *, limit_key: str, shorten: str) -> Rule | None:
    limit = NAME_LIMITS[limit_key]
    if len(name) <= limit:
        return None
    return Rule(
        loc,
        f"the {what} name {name!r} would be {len(name)} characters, AWS allows {limit}: shorten {shorten}",
        involves=(loc, ("project",), ("stage",)),
    )


def _name_rules(cfg: JobsFile) -> Iterator[Rule]:
    names = Names(project=cfg.project, stage=cfg.stage, ctx=AwsContext.placeholder())
    stage_wide = [("IAM role", names.execution_role, "iam role")]
    if cfg.compute.type not in FARGATE_TYPES and cfg.compute.job_queue_arn is None:
        stage_wide.append(("IAM role", names.instance_role, "iam role"))
    for what, name, limit_key in stage_wide:
        rule = _length_rule(what, name, ("stage",), limit_key=limit_key, shorten="the project or stage name")
        if rule:
            yield rule
    definitions: dict[str, KeyPath] = {}
    queues: dict[str, KeyPath] = {}
    for job, job_cfg in cfg.jobs.items():
        loc: KeyPath = ("jobs", job)
        checks = [
            ("IAM role", names.job_role(job), "iam role"),
            ("IAM role", names.state_machine_role(job), "iam role"),
            ("state machine", names.state_machine(job), "state machine"),
        ]
        if job_cfg.queue is not None:
            checks += [
                ("SQS queue", names.queue(job), "sqs queue"),
                ("dead-letter queue", names.dead_letter_queue(job), "sqs queue"),
                ("pipe", names.pipe(job), "pipe"),
                ("IAM role", names.pipe_role(job), "iam role"),
            ]
            if not job_cfg.queue.dead_letter:
                checks = [check for check in checks if check[0] != "dead-letter queue"]
            queues_here = (
                (names.queue(job), (*loc, "queue")),
                (names.dead_letter_queue(job), (*loc, "queue")),
            )[: 2 if job_cfg.queue.dead_letter else 1]
            for queue, queue_loc in queues_here:
                if queue in queues:
                    yield Rule(
                        queue_loc, f"SQS queue name {queue!r} clashes with another job's queue; rename a job"
                    )
                queues.setdefault(queue, queue_loc)
        if job_cfg.s3 is not None:
            checks += [
                ("EventBridge rule", names.s3_rule(job), "event rule"),
                ("IAM role", names.s3_role(job), "iam role"),
            ]
        if job_cfg.schedule is not None:
            checks += [
                ("schedule", names.schedule(job), "schedule"),
                ("IAM role", names.schedule_role(job), "iam role"),
            ]
        for what, name, limit_key in checks:
            rule = _length_rule(
                what, name, loc, limit_key=limit_key, shorten="the project, stage or job name"
            )
            if rule:
                yield rule
        steps: list[tuple[str | None, KeyPath]] = (
            [(None, loc)]
            if job_cfg.steps is None
            else [(s.name, (*loc, "steps", i, "name")) for i, s in enumerate(job_cfg.steps)]
        )
        for step_name, step_loc in steps:
            definition = names.job_definition(job, step_name)
            rule = _length_rule(
                "job definition",
                definition,
                step_loc,
                limit_key="job definition",
                shorten="the project, stage, job or step name",
            )
            if rule:
                yield rule
            if definition in definitions:
                yield Rule(
                    step_loc, f"job definition name {definition!r} clashes with another job's; rename one"
                )
            definitions.setdefault(definition, step_loc)


def cross_field_rules(cfg: JobsFile) -> list[Rule]:
    """Every rule over several sections (Fargate sizes, placement, `Ref::`, name lengths and clashes), once each."""
    rules: list[Rule] = []
    for job, job_cfg in cfg.jobs.items():
        for step in resolve_traced(cfg, job):
            rules.extend(_resource_rules(cfg, step))
        if job_cfg.command is not None:
            rules.extend(_ref_rules(job_cfg.command, ("jobs", job)))
        for index, step_cfg in enumerate(job_cfg.steps or ()):
            rules.extend(_ref_rules(step_cfg.command, ("jobs", job, "steps", index)))
    rules.extend(_name_rules(cfg))
    rules.extend(platform_rules(cfg))
    rules.extend(extra_rules(cfg))
    unique: dict[tuple[KeyPath, str], Rule] = {}
    for rule in rules:
        unique.setdefault((rule.loc, rule.message), rule)
    return list(unique.values())
