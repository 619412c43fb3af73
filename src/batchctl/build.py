"""jobs.yaml (JobsFile) + AwsContext → the complete list of specs of DESIGN §3. Pure: no AWS call, no clock.

Imports: config, naming, specs, asl, policies.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from batchctl import asl, policies, s3_trigger
from batchctl.config import (
    FARGATE_TYPES,
    RUN_PARAMETERS,
    JobsFile,
    Permission,
    StepSettings,
    extra_rules,
    resolve_steps,
)
from batchctl.config.awsvalues import CPU_ARCHITECTURE
from batchctl.config.extras import RoleBlock
from batchctl.naming import TAG_JOB, AwsContext, Names
from batchctl.specs import (
    ComputeEnvironmentSpec,
    InstanceProfileSpec,
    InternetGatewaySpec,
    JobDefinitionSpec,
    JobQueueSpec,
    Key,
    Kind,
    LogGroupSpec,
    PipeSpec,
    QueueSpec,
    Ref,
    RepositorySpec,
    RoleSpec,
    RouteTableSpec,
    ScheduleGroupSpec,
    ScheduleSpec,
    SecurityGroupSpec,
    StateMachineSpec,
    SubnetSpec,
    TopicSpec,
    VpcSpec,
    schedule_marker,
)
from batchctl.triggers import Trigger as Trigger  # re-exported: plan and callers name it here
from batchctl.triggers import build_triggers as build_triggers

DLQ_RETENTION_S = 1_209_600  # the SQS maximum: failed messages wait 14 days for a look


def is_fargate(cfg: JobsFile) -> bool:
    """True for FARGATE and FARGATE_SPOT compute environments."""
    return cfg.compute.type in FARGATE_TYPES


def names_for(cfg: JobsFile, ctx: AwsContext) -> Names:
    """The Names of this project+stage in this account and region."""
    return Names(
        project=cfg.project, stage=cfg.stage, ctx=ctx, shared_job_queue_arn=cfg.compute.job_queue_arn
    )


def image_reference(cfg: JobsFile, names: Names, *, image_tag: str | None) -> str:
    """The image every job definition runs: `image.uri`, or the stage's ECR repository at `image_tag`."""
    if cfg.image.uri:
        return cfg.image.uri
    return f"{names.repository_uri}:{image_tag or 'latest'}"


def build_notes(cfg: JobsFile, ctx: AwsContext) -> list[str]:
    """What `plan` tells the user beside the changes: what deploy can neither grant nor check (an image outside
    ECR that may need a registry login, another account's repository policy)."""
    note = policies.image_pull_note(cfg.image.uri, account_id=ctx.account_id)
    return [note] if note else []


def build_specs(cfg: JobsFile, ctx: AwsContext, *, image_tag: str | None = None) -> list[Any]:
    """Every resource this jobs.yaml needs, unordered; `graph.order` sorts them."""
    names = names_for(cfg, ctx)
    tags = names.tags(dict(cfg.tags))
    specs: list[Any] = []

    subnet_ids, security_group_ids, network_specs = _network(cfg, names, tags)
    specs.extend(network_specs)
    network_keys = tuple(s.key for s in network_specs if s.kind is not Kind.ROUTE_TABLE)
    route_keys = tuple(s.key for s in network_specs if s.kind is Kind.ROUTE_TABLE)

    job_names = sorted(cfg.jobs)
    log_groups = {job: names.log_group(job) for job in job_names}
    secret_arns = sorted({arn for job in cfg.jobs.values() for arn in job.secrets.values()})

    execution_more = _role_block(cfg.compute.execution_role)
    execution_role = RoleSpec(
        name=names.execution_role,
        trust_policy=policies.trust_policy("ecs-tasks.amazonaws.com"),
        inline_policies=policies.execution_role_policies(
            names=names,
            image_uri=cfg.image.uri,
            log_group_arns=[names.log_group_arn(g) for g in log_groups.values()],
            secret_arns=secret_arns,
            kms_key_arns=cfg.secrets_kms_keys,
        )
        | execution_more[0],
        managed_policy_arns=execution_more[1],
        description=f"batchctl {names.prefix}: pulls the job image, writes logs, reads the listed secrets",
        tags=tags,
    )
    specs.append(execution_role)

    compute_deps: list[Key] = [*network_keys, *route_keys]
    instance_profile_arn: str | None = None
    # compute.job_queue_arn: jobs run on a queue built elsewhere; no compute environment, queue or instance role.
    shared = cfg.compute.job_queue_arn is not None
    if not is_fargate(cfg) and not shared:
        instance_more = _role_block(cfg.compute.instance_role)
        instance_role = RoleSpec(
            name=names.instance_role,
            trust_policy=policies.trust_policy("ec2.amazonaws.com"),
            inline_policies=instance_more[0],
            managed_policy_arns=tuple(
                sorted({*policies.instance_role_managed_policies(names), *instance_more[1]})
            ),
            description=f"batchctl {names.prefix}: ECS container instances of the compute environment",
            tags=tags,
        )
        profile = InstanceProfileSpec(
            name=names.instance_profile,
            role_name=instance_role.name,
            tags=tags,
            depends_on=(instance_role.key,),
        )
        specs.extend([instance_role, profile])
        compute_deps.append(profile.key)
        instance_profile_arn = names.instance_profile_arn

    compute = ComputeEnvironmentSpec(
        name=names.compute_environment,
        compute_type=cfg.compute.type,
        max_vcpus=cfg.compute.max_vcpus,
        min_vcpus=0 if is_fargate(cfg) else cfg.compute.min_vcpus,
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        instance_types=() if is_fargate(cfg) else tuple(sorted(cfg.compute.instance_types or ["optimal"])),
        instance_role_arn=instance_profile_arn,
        allocation_strategy=_allocation_strategy(cfg.compute.type),
        instance_tags={} if is_fargate(cfg) else tags,  # the EC2 instances it launches (cost per stage)
        tags=tags,
        depends_on=tuple(sorted(set(compute_deps))),
    )
    queue = JobQueueSpec(
        name=names.job_queue,
        compute_environment_arns=(names.compute_environment_arn,),
        runnable_timeout_s=cfg.compute.runnable_timeout_s,
        tags=tags,
        depends_on=(compute.key,),
    )
    if not shared:
        specs.extend([compute, queue])

    image_deps: tuple[Key, ...] = ()
    if not cfg.image.uri:
        repository = RepositorySpec(
            name=names.repository,
            scan_on_push=True,
            # Tags are content-derived and never pushed twice (an image ECR holds is not pushed again): ECR can
            # refuse to move one.
            image_tag_mutability="IMMUTABLE",
            lifecycle_policy=_lifecycle_policy(cfg.image.keep_images),
            tags=tags,
        )
        specs.append(repository)
        image_deps = (repository.key,)

    topic_arn: str | None = None
    topic_deps: tuple[Key, ...] = ()
    if cfg.notify.topic:
        topic = TopicSpec(name=names.topic, emails=tuple(sorted(cfg.notify.emails)), tags=tags)
        specs.append(topic)
        topic_arn = names.topic_arn
        topic_deps = (topic.key,)

    group_key: Key | None = None
    if any(job.schedule for job in cfg.jobs.values()):
        group = ScheduleGroupSpec(name=names.schedule_group, tags=tags)
        specs.append(group)
        group_key = group.key

    image = image_reference(cfg, names, image_tag=image_tag)
    for job in job_names:
        specs.extend(
            _job_specs(
                cfg,
                names,
                job=job,
                tags=tags,
                image=image,
                image_deps=image_deps,
                execution_role=execution_role,
                queue_key=None if shared else queue.key,
                topic_arn=topic_arn,
                topic_deps=topic_deps,
                group_key=group_key,
            )
        )
    return specs


def _role_block(block: RoleBlock[Permission] | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A stage role's `permissions` as one more inline policy ("extra") and its managed policies, sorted."""
    if block is None:
        return {}, ()
    documents = policies.job_role_policies(permissions=[(p.actions, p.resources) for p in block.permissions])
    inline = {"extra": documents["job"]} if documents else {}
    return inline, tuple(sorted(set(block.managed_policies)))


def _allocation_strategy(compute_type: str) -> str | None:
    # These strategies let Batch update instance types in place (AWS-QUIRKS 10) instead of forcing a replacement.
    return {"EC2": "BEST_FIT_PROGRESSIVE", "SPOT": "SPOT_CAPACITY_OPTIMIZED"}.get(compute_type)


def _lifecycle_policy(keep: int) -> dict[str, Any]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the last {keep} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                "action": {"type": "expire"},
            }
        ]
    }


def _network(
    cfg: JobsFile, names: Names, tags: dict[str, str]
) -> tuple[tuple[str | Ref, ...], tuple[str | Ref, ...], list[Any]]:
    """Subnet and security group IDs for the compute environment, and the network specs we create (if any)."""
    net = cfg.network
    if cfg.compute.job_queue_arn:  # the shared queue's compute environments have their own network
        return (), (), []
    if net.vpc_id:
        return tuple(net.subnet_ids), tuple(net.security_group_ids), []
    cidr = ipaddress.ip_network(net.cidr or "10.20.0.0/24")
    halves = list(cidr.subnets(prefixlen_diff=1))

    def named(name: str) -> dict[str, str]:
        return {**tags, "Name": name}

    vpc = VpcSpec(name=names.vpc, cidr_block=str(cidr), tags=named(names.vpc))
    vpc_id = Ref(vpc.key, "id")
    subnets = [
        SubnetSpec(
            name=names.subnet(i),
            vpc_id=vpc_id,
            cidr_block=str(half),
            az_index=i,
            map_public_ip_on_launch=True,
            tags=named(names.subnet(i)),
        )
        for i, half in enumerate(halves)
    ]
    igw = InternetGatewaySpec(name=names.internet_gateway, vpc_id=vpc_id, tags=named(names.internet_gateway))
    routes = RouteTableSpec(
        name=names.route_table,
        vpc_id=vpc_id,
        routes=(("0.0.0.0/0", Ref(igw.key, "id")),),
        subnet_ids=tuple(Ref(s.key, "id") for s in subnets),
        tags=named(names.route_table),
    )
    group = SecurityGroupSpec(
        name=names.security_group,
        vpc_id=vpc_id,
        description=f"batchctl {names.prefix}: Batch jobs, egress only",
        tags=named(names.security_group),
    )
    subnet_ids = tuple(Ref(s.key, "id") for s in subnets)
    return subnet_ids, (Ref(group.key, "id"),), [vpc, *subnets, igw, routes, group]


def _job_specs(
    cfg: JobsFile,
    names: Names,
    *,
    job: str,
    tags: dict[str, str],
    image: str,
    image_deps: tuple[Key, ...],
    execution_role: RoleSpec,
    queue_key: Key | None,
    topic_arn: str | None,
    topic_deps: tuple[Key, ...],
    group_key: Key | None,
) -> list[Any]:
    job_cfg = cfg.jobs[job]
    steps = resolve_steps(cfg, job)
    multi = job_cfg.steps is not None
    specs: list[Any] = []

    job_role = RoleSpec(
        name=names.job_role(job),
        trust_policy=policies.trust_policy("ecs-tasks.amazonaws.com"),
        inline_policies=policies.job_role_policies(
            permissions=[(p.actions, p.resources) for p in job_cfg.permissions]
        )
        | policies.efs_client_policy(
            names=names, volumes=[(v.efs, v.read_only) for v in job_cfg.volumes if v.access_point]
        ),
        managed_policy_arns=tuple(sorted(set(job_cfg.managed_policies))),
        description=f"batchctl {names.prefix}: the {job} job's containers",
        tags=tags,
    )
    log_group = LogGroupSpec(
        name=names.log_group(job), retention_days=cfg.defaults.log_retention_days, tags=tags
    )
    specs.extend([job_role, log_group])

    definitions = [
        _job_definition(
            cfg,
            names,
            job=job,
            step=step,
            definition_name=names.job_definition(job, step.name if multi else None),
            image=image,
            job_role=job_role,
            execution_role=execution_role,
            log_group=log_group,
            tags=tags,
            deps=image_deps,
        )
        for step in steps
    ]
    specs.extend(definitions)

    logging = extra_rules.workflow_logging(cfg, job)
    sm_log_group = LogGroupSpec(
        name=names.state_machine_log_group(job), retention_days=logging.retention_days, tags=tags
    )
    # A job's own handlers (jobs.X.notify) replace the stage's, one by one.
    own = job_cfg.notify
    on_success = (own.on_success_lambda if own else None) or cfg.notify.on_success_lambda
    on_failure = (own.on_failure_lambda if own else None) or cfg.notify.on_failure_lambda
    lambdas = [arn for arn in (on_success, on_failure) if arn]
    sm_role = RoleSpec(
        name=names.state_machine_role(job),
        trust_policy=policies.trust_policy("states.amazonaws.com"),
        inline_policies=policies.state_machine_policies(
            names=names,
            job_definition_arns=[names.job_definition_arn(job, s.name if multi else None) for s in steps],
            topic_arn=topic_arn,
            lambda_arns=lambdas,
            log_group_arn=names.log_group_arn(sm_log_group.name),
        ),
        description=f"batchctl {names.prefix}: the {job} workflow",
        tags=tags,
    )
    workflow_steps = [
        asl.WorkflowStep(
            name=step.name,
            job_definition_arn=names.job_definition_arn(job, step.name if multi else None),
            array_size=step.array_size,
            spot_retries=step.spot_retries,
        )
        for step in steps
    ]
    machine = StateMachineSpec(
        name=names.state_machine(job),
        definition=asl.job_workflow(
            names=names,
            job=job,
            steps=workflow_steps,
            topic_arn=topic_arn,
            compute_type=cfg.compute.type,
            on_success_lambda=on_success,
            on_failure_lambda=on_failure,
            metadata={
                "project": cfg.project,
                "stage": cfg.stage,
                "job": job,
                "image": image,
                "steps": [
                    {"name": s.name, "command": list(s.command), "vcpus": s.vcpus, "memory_mib": s.memory_mib}
                    for s in steps
                ],
            },
        ),
        role_arn=names.role_arn(sm_role.name),
        log_group_arn=names.log_group_arn(sm_log_group.name),
        log_level=logging.level,
        include_execution_data=logging.include_execution_data,
        tags=tags,
        depends_on=tuple(
            sorted(
                {sm_role.key, sm_log_group.key, *([queue_key] if queue_key else []), *topic_deps}
                | {d.key for d in definitions}
            )
        ),
    )
    specs.extend([sm_log_group, sm_role, machine])

    if job_cfg.queue:
        q = job_cfg.queue
        dlq = QueueSpec(name=names.dead_letter_queue(job), retention_s=DLQ_RETENTION_S, tags=tags)
        inbox = QueueSpec(
            name=names.queue(job),
            visibility_timeout_s=q.visibility_timeout_s,
            retention_s=q.retention_s,
            dead_letter_arn=names.queue_arn(dlq.name) if q.dead_letter else None,
            max_receive_count=q.max_receive_count if q.dead_letter else None,
            max_message_size=q.max_message_size,
            delay_s=q.delay_s,
            receive_wait_s=q.receive_wait_s,
            tags=tags,
            depends_on=(dlq.key,) if q.dead_letter else (),
        )
        pipe_role = RoleSpec(
            name=names.pipe_role(job),
            trust_policy=policies.trust_policy("pipes.amazonaws.com"),
            inline_policies=policies.pipe_policies(
                queue_arn=names.queue_arn(inbox.name), state_machine_arn=names.state_machine_arn(job)
            ),
            description=f"batchctl {names.prefix}: moves {job} messages to its workflow",
            tags=tags,
        )
        pipe = PipeSpec(
            name=names.pipe(job),
            source_arn=names.queue_arn(inbox.name),
            target_arn=names.state_machine_arn(job),
            role_arn=names.role_arn(pipe_role.name),
            batch_size=1,
            invocation_type="FIRE_AND_FORGET",
            description=f"batchctl {names.prefix}: {job} queue to workflow",
            tags=tags,
            # The role's policy must be in place before CreatePipe, or the pipe goes CREATE_FAILED.
            depends_on=(inbox.key, machine.key, pipe_role.key),
        )
        specs.extend([*([dlq] if q.dead_letter else []), inbox, pipe_role, pipe])

    specs.extend(s3_trigger.build_s3_trigger(cfg, names, job=job, tags=tags, machine_key=machine.key))
    if job_cfg.schedule and group_key is not None:
        sched_role = RoleSpec(
            name=names.schedule_role(job),
            trust_policy=policies.trust_policy("scheduler.amazonaws.com"),
            inline_policies=policies.schedule_policies(state_machine_arn=names.state_machine_arn(job)),
            description=f"batchctl {names.prefix}: starts the {job} workflow on schedule",
            tags=tags,
        )
        schedule = ScheduleSpec(
            name=names.schedule(job),
            group_name=names.schedule_group,
            expression=job_cfg.schedule.expression,
            timezone=job_cfg.schedule.timezone,
            target_arn=names.state_machine_arn(job),
            role_arn=names.role_arn(sched_role.name),
            input=asl.scheduled_input(job=job),
            state="ENABLED" if job_cfg.schedule.enabled else "DISABLED",
            description=schedule_marker(names.project, names.stage, job),
            depends_on=(group_key, machine.key, sched_role.key),
        )
        specs.extend([sched_role, schedule])
    return specs


def _job_definition(
    cfg: JobsFile,
    names: Names,
    *,
    job: str,
    step: StepSettings,
    definition_name: str,
    image: str,
    job_role: RoleSpec,
    execution_role: RoleSpec,
    log_group: LogGroupSpec,
    tags: dict[str, str],
    deps: tuple[Key, ...],
) -> JobDefinitionSpec:
    fargate = is_fargate(cfg)
    return JobDefinitionSpec(
        name=definition_name,
        image=image,
        command=tuple(step.command),
        platform="FARGATE" if fargate else "EC2",
        vcpus=float(step.vcpus),
        memory_mib=step.memory_mib,
        gpus=step.gpus,
        job_role_arn=names.role_arn(job_role.name),
        execution_role_arn=names.role_arn(execution_role.name),
        log_group=log_group.name,
        stream_prefix=step.name,
        environment=dict(sorted(step.environment.items())),
        secrets=dict(sorted(cfg.jobs[job].secrets.items())),
        parameters=dict.fromkeys(RUN_PARAMETERS, ""),
        retry_attempts=step.retries + 1,
        # A reclaim (in the compute type's own words) exits at once: the workflow resubmits it on its own bounded
        # counter (spot_retries), so a reclaim never uses up an application retry. Anything else is retried by
        # Batch up to `retries` times.
        evaluate_on_exit=tuple(
            {"onStatusReason": reason, "action": "EXIT"} for reason in asl.reclaim_reasons(cfg.compute.type)
        ),
        timeout_s=step.timeout_s,
        assign_public_ip=True,
        cpu_architecture=CPU_ARCHITECTURE[cfg.image.platform],
        platform_version=_pinned_platform(cfg, job) if fargate else None,
        ephemeral_storage_gib=extra_rules.ephemeral_storage_gib(cfg, job)[0] if fargate else None,
        volumes=tuple((v.efs, v.path, v.access_point, v.read_only) for v in cfg.jobs[job].volumes),
        shared_memory_mib=cfg.jobs[job].shared_memory_mib,
        ulimits=tuple((u.name, u.soft_limit, u.hard_limit or u.soft_limit) for u in cfg.jobs[job].ulimits),
        tags={**tags, TAG_JOB: job},  # propagated to each ECS task with the job's own (cost per job)
        depends_on=tuple(sorted({job_role.key, execution_role.key, log_group.key, *deps})),
    )


def _pinned_platform(cfg: JobsFile, job: str) -> str | None:
    # The spec's None is LATEST, as Batch reads an absent platform version.
    version = extra_rules.platform_version(cfg, job)[0]
    return None if version == "LATEST" else version
