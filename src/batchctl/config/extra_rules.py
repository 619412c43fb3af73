"""Rules over the keys of config/extras.py: what each needs of the others (queue without dead-letter queue, Fargate
settings, workflow logs, roles, a shared job queue). Imports: config.models, config.extras, yamlpos, stdlib.

rules.cross_field_rules adds these to its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from batchctl.config import extras
from batchctl.config.models import FARGATE_TYPES, LOG_RETENTION_DAYS, JobsFile, Rule
from batchctl.yamlpos import KeyPath


def _queue_rules(cfg: JobsFile) -> Iterator[Rule]:
    for job, job_cfg in cfg.jobs.items():
        queue = job_cfg.queue
        if queue is None:
            continue
        loc: KeyPath = ("jobs", job, "queue")
        if not queue.dead_letter and "max_receive_count" in queue.model_fields_set:
            yield Rule(
                (*loc, "max_receive_count"),
                "max_receive_count moves a message to the dead-letter queue, and dead_letter is false: drop one",
                involves=((*loc, "max_receive_count"), (*loc, "dead_letter")),
            )


def _fargate_rules(cfg: JobsFile) -> Iterator[Rule]:
    fargate = cfg.compute.type in FARGATE_TYPES
    sections: list[tuple[KeyPath, Any]] = [(("compute",), cfg.compute), (("defaults",), cfg.defaults)]
    sections += [(("jobs", job), job_cfg) for job, job_cfg in cfg.jobs.items()]
    for loc, section in sections:
        for key in ("platform_version", "ephemeral_storage_gib"):
            if not fargate and key in section.model_fields_set and getattr(section, key) is not None:
                yield Rule(
                    (*loc, key),
                    f"{key} is for Fargate; compute type {cfg.compute.type} runs on EC2 instances",
                    involves=((*loc, key), ("compute", "type")),
                )
    if not fargate:
        return
    for job in cfg.jobs:
        version, version_at = platform_version(cfg, job)
        storage, storage_at = ephemeral_storage_gib(cfg, job)
        if storage is not None and not extras.platform_at_least(version, extras.PLATFORM_VERSION_FOR_STORAGE):
            yield Rule(
                storage_at,
                f"ephemeral storage needs Fargate platform version 1.4.0 or later, not {version}",
                involves=(storage_at, version_at),
            )


def platform_version(cfg: JobsFile, job: str) -> tuple[str, KeyPath]:
    """The job's Fargate platform version and the key that set it: the job's, else defaults', else compute's, else
    LATEST."""
    own = cfg.jobs[job].platform_version
    if own is not None:
        return own, ("jobs", job, "platform_version")
    if cfg.defaults.platform_version is not None:
        return cfg.defaults.platform_version, ("defaults", "platform_version")
    if cfg.compute.platform_version is not None:
        return cfg.compute.platform_version, ("compute", "platform_version")
    return "LATEST", ("defaults", "platform_version")


def ephemeral_storage_gib(cfg: JobsFile, job: str) -> tuple[int | None, KeyPath]:
    """The job's Fargate ephemeral storage (None: Fargate's 20 GiB) and the key that set it: the job's, else
    defaults', else compute's."""
    own = cfg.jobs[job].ephemeral_storage_gib
    if own is not None:
        return own, ("jobs", job, "ephemeral_storage_gib")
    if cfg.defaults.ephemeral_storage_gib is not None or cfg.compute.ephemeral_storage_gib is None:
        return cfg.defaults.ephemeral_storage_gib, ("defaults", "ephemeral_storage_gib")
    return cfg.compute.ephemeral_storage_gib, ("compute", "ephemeral_storage_gib")


@dataclass(frozen=True, slots=True)
class WorkflowLogging:
    """A job's workflow logging, resolved: the job's `workflow_logs`, else the top level's, else the defaults."""

    level: str
    include_execution_data: bool
    retention_days: int


def workflow_logging(cfg: JobsFile, job: str) -> WorkflowLogging:
    """How the job's state machine logs, and how long its execution log group keeps the events."""
    top, own = cfg.workflow_logs, cfg.jobs[job].workflow_logs
    level = own.level if own is not None and own.level is not None else top.level
    data = own.include_execution_data if own is not None else None
    days = own.retention_days if own is not None else None
    return WorkflowLogging(
        level=level,
        include_execution_data=top.include_execution_data if data is None else data,
        retention_days=days or top.retention_days or cfg.defaults.log_retention_days,
    )


def _workflow_log_rules(cfg: JobsFile) -> Iterator[Rule]:
    sections: list[tuple[KeyPath, Any]] = [(("workflow_logs",), cfg.workflow_logs)]
    sections += [(("jobs", job, "workflow_logs"), j.workflow_logs) for job, j in cfg.jobs.items()]
    for loc, section in sections:
        days = section.retention_days if section is not None else None
        if days is not None and days not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, sorted(LOG_RETENTION_DAYS)))
            yield Rule((*loc, "retention_days"), f"CloudWatch Logs keeps logs for one of {allowed} days")


def _role_rules(cfg: JobsFile) -> Iterator[Rule]:
    compute = cfg.compute
    if compute.instance_role is not None and compute.type in FARGATE_TYPES:
        yield Rule(
            ("compute", "instance_role"),
            f"instance_role is for EC2/SPOT instances; compute type {compute.type} has none "
            "(the Fargate tasks' own role is execution_role)",
            involves=(("compute", "instance_role"), ("compute", "type")),
        )
    lists: list[tuple[KeyPath, list[str], int]] = [
        (("jobs", job, "managed_policies"), job_cfg.managed_policies, 0) for job, job_cfg in cfg.jobs.items()
    ]
    # The instance role already holds AmazonEC2ContainerServiceforEC2Role.
    for key, built_in in (("instance_role", 1), ("execution_role", 0)):
        block = getattr(compute, key)
        if block is not None:
            lists.append((("compute", key, "managed_policies"), block.managed_policies, built_in))
    for loc, arns, built_in in lists:
        seen: set[str] = set()
        for index, arn in enumerate(arns):
            if arn in seen:
                yield Rule((*loc, index), f"{arn} is listed twice")
            seen.add(arn)
        if len(seen) + built_in > extras.MAX_MANAGED_POLICIES:
            yield Rule(
                loc,
                f"a role holds at most {extras.MAX_MANAGED_POLICIES} managed policies (IAM's quota)"
                + (f", and batchctl attaches {built_in} itself" if built_in else ""),
            )


def _shared_queue_rules(cfg: JobsFile) -> Iterator[Rule]:
    arn = cfg.compute.job_queue_arn
    if arn is None:
        return
    shared: KeyPath = ("compute", "job_queue_arn")
    for key in extras.OWN_COMPUTE_KEYS:
        if key in cfg.compute.model_fields_set:
            yield Rule(
                ("compute", key),
                f"{key} shapes the compute environment batchctl creates; with job_queue_arn the shared "
                "queue's compute environments are managed where they were built: drop one",
                involves=(("compute", key), shared),
            )
    if "network" in cfg.model_fields_set:
        yield Rule(
            ("network",),
            "with job_queue_arn batchctl creates no compute environment, so it needs no network: drop one",
            involves=(("network",), shared),
        )
    region = extras.job_queue_region(arn)
    if cfg.region is not None and region != cfg.region:
        yield Rule(
            shared,
            f"the job queue is in {region} and this stage in {cfg.region}: Batch submits only within a region",
            involves=(shared, ("region",)),
        )


def _container_rules(cfg: JobsFile) -> Iterator[Rule]:
    fargate = cfg.compute.type in FARGATE_TYPES
    for job, job_cfg in cfg.jobs.items():
        loc: KeyPath = ("jobs", job)
        if fargate:
            for key in ("shared_memory_mib", "ulimits"):
                if key in job_cfg.model_fields_set and getattr(job_cfg, key):
                    yield Rule(
                        (*loc, key),
                        f"{key} is for EC2/SPOT; Fargate does not take it",
                        involves=((*loc, key), ("compute", "type")),
                    )
            version, version_at = platform_version(cfg, job)
            if job_cfg.volumes and not extras.platform_at_least(version, extras.PLATFORM_VERSION_FOR_STORAGE):
                yield Rule(
                    (*loc, "volumes"),
                    f"EFS volumes need Fargate platform version 1.4.0 or later, not {version}",
                    involves=((*loc, "volumes"), version_at),
                )
        paths: dict[str, int] = {}
        for index, volume in enumerate(job_cfg.volumes):
            if volume.path in paths:
                yield Rule(
                    (*loc, "volumes", index, "path"),
                    f"{volume.path} is mounted by volumes[{paths[volume.path]}]",
                )
            paths.setdefault(volume.path, index)
        names: set[str] = set()
        for index, ulimit in enumerate(job_cfg.ulimits):
            if ulimit.name in names:
                yield Rule((*loc, "ulimits", index, "name"), f"ulimit {ulimit.name} is set twice")
            names.add(ulimit.name)
            if ulimit.hard_limit is not None and ulimit.hard_limit < ulimit.soft_limit:
                yield Rule(
                    (*loc, "ulimits", index, "hard_limit"),
                    f"the hard limit ({ulimit.hard_limit}) is below the soft limit ({ulimit.soft_limit})",
                )


def extra_rules(cfg: JobsFile) -> list[Rule]:
    """Every rule over the keys of config/extras.py."""
    return [
        *_queue_rules(cfg),
        *_fargate_rules(cfg),
        *_workflow_log_rules(cfg),
        *_role_rules(cfg),
        *_shared_queue_rules(cfg),
        *_container_rules(cfg),
    ]
