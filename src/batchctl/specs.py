"""Desired state as frozen data: Kind, Key, Ref, Outputs, Observed and one *Spec per resource kind.

Imports: naming (stdlib otherwise). A spec is shaped like the normalized AWS view, so `read` returns the same type
and `diff` compares field by field. Spec defaults equal AWS defaults so an untouched resource diffs clean. Fields
holding AWS-generated IDs that do not exist yet are `Ref`s, filled in by the engine.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

AwsDict = dict[str, Any]
Outputs = Mapping[str, str]


class Kind(StrEnum):
    """Resource kinds; the values appear in plans and JSON, so they are public."""

    IAM_ROLE = "iam.role"
    IAM_INSTANCE_PROFILE = "iam.instance_profile"
    VPC = "ec2.vpc"
    SUBNET = "ec2.subnet"
    INTERNET_GATEWAY = "ec2.internet_gateway"
    ROUTE_TABLE = "ec2.route_table"
    SECURITY_GROUP = "ec2.security_group"
    ECR_REPOSITORY = "ecr.repository"
    LOG_GROUP = "logs.log_group"
    SNS_TOPIC = "sns.topic"
    SQS_QUEUE = "sqs.queue"
    COMPUTE_ENVIRONMENT = "batch.compute_environment"
    JOB_QUEUE = "batch.job_queue"
    JOB_DEFINITION = "batch.job_definition"
    STATE_MACHINE = "sfn.state_machine"
    PIPE = "pipes.pipe"
    SCHEDULE_GROUP = "scheduler.schedule_group"
    SCHEDULE = "scheduler.schedule"
    EVENT_RULE = "events.rule"


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """Identity of a resource in graph, plan, outputs and messages: `sqs.queue/demo-dev-fibonacci`."""

    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.name}"

    @property
    def label(self) -> str:
        """How the terminal shows the key: as str(), but a name that starts with / (a log group) follows a colon,
        `logs.log_group:/batchctl/…`, not `logs.log_group//batchctl/…`."""
        return f"{self.kind.value}:{self.name}" if self.name.startswith("/") else str(self)


@dataclass(frozen=True, slots=True)
class Ref:
    """A value known only once another resource exists (e.g. a subnet's VPC ID)."""

    key: Key
    attr: str

    def __str__(self) -> str:
        return "(known after apply)"


@dataclass(frozen=True, slots=True)
class Observed:
    """What `read` found: the live state in the spec's shape, plus outputs (IDs, ARNs, URLs)."""

    state: Any  # the same *Spec type as the desired spec
    outputs: Outputs = field(default_factory=dict)


class Spec(Protocol):
    """What every *Spec offers (the bound of the provisioner contract's type variable)."""

    kind: ClassVar[Kind]
    replace_on: ClassVar[frozenset[str]]

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> Key: ...

    @property
    def depends_on(self) -> tuple[Key, ...]: ...


# Fields never compared by diff: bookkeeping, not state.
UNCOMPARED_FIELDS = frozenset({"depends_on"})


def _empty() -> dict[str, Any]:
    return {}


class _Keyed:
    """Mixin giving every spec its Key, and the names of its fields whose order AWS does not keep."""

    __slots__ = ()
    kind: ClassVar[Kind]
    unordered: ClassVar[frozenset[str]] = frozenset()
    name: str

    @property
    def key(self) -> Key:
        return Key(self.kind, self.name)


# ---- IAM -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RoleSpec(_Keyed):
    """IAM role with its trust policy, inline policies (name → document) and managed policy attachments.

    Outputs: `arn`.
    """

    kind: ClassVar[Kind] = Kind.IAM_ROLE
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    trust_policy: AwsDict
    inline_policies: Mapping[str, AwsDict] = field(default_factory=_empty)
    managed_policy_arns: tuple[str, ...] = ()  # sorted
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceProfileSpec(_Keyed):
    """IAM instance profile holding exactly one role (for EC2/SPOT compute environments). Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.IAM_INSTANCE_PROFILE
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    role_name: str
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


# ---- VPC (AWS generates IDs; found by our Name tag + ownership tags) ------------------------------------------
@dataclass(frozen=True, slots=True)
class VpcSpec(_Keyed):
    """VPC with DNS support and hostnames on. `tags` includes `Name`. Outputs: `id`."""

    kind: ClassVar[Kind] = Kind.VPC
    replace_on: ClassVar[frozenset[str]] = frozenset({"cidr_block"})
    name: str
    cidr_block: str
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class SubnetSpec(_Keyed):
    """Public subnet in the `az_index`-th available AZ of the region (sorted by name). Outputs: `id`."""

    kind: ClassVar[Kind] = Kind.SUBNET
    replace_on: ClassVar[frozenset[str]] = frozenset({"vpc_id", "cidr_block", "az_index"})
    name: str
    vpc_id: str | Ref
    cidr_block: str
    az_index: int
    map_public_ip_on_launch: bool = True
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class InternetGatewaySpec(_Keyed):
    """Internet gateway attached to `vpc_id`. Outputs: `id`."""

    kind: ClassVar[Kind] = Kind.INTERNET_GATEWAY
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    vpc_id: str | Ref
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteTableSpec(_Keyed):
    """Route table with `routes` (destination CIDR, gateway ID) and associated subnets. Outputs: `id`.

    The local route AWS adds by itself is not listed; both tuples are sorted.
    """

    kind: ClassVar[Kind] = Kind.ROUTE_TABLE
    replace_on: ClassVar[frozenset[str]] = frozenset({"vpc_id"})
    unordered: ClassVar[frozenset[str]] = frozenset({"routes", "subnet_ids"})
    name: str
    vpc_id: str | Ref
    routes: tuple[tuple[str, str | Ref], ...] = ()
    subnet_ids: tuple[str | Ref, ...] = ()
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec(_Keyed):
    """Egress-only security group: no ingress rule, AWS's default allow-all egress. Outputs: `id`."""

    kind: ClassVar[Kind] = Kind.SECURITY_GROUP
    replace_on: ClassVar[frozenset[str]] = frozenset({"vpc_id", "description"})
    name: str
    vpc_id: str | Ref
    description: str
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


# ---- ECR, Logs, SNS, SQS -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RepositorySpec(_Keyed):
    """ECR repository with scan on push and a lifecycle policy (None: no policy). Outputs: `arn`, `uri`."""

    kind: ClassVar[Kind] = Kind.ECR_REPOSITORY
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    scan_on_push: bool = True
    image_tag_mutability: str = "MUTABLE"
    lifecycle_policy: AwsDict | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class LogGroupSpec(_Keyed):
    """CloudWatch log group; `retention_days` None means never expire. Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.LOG_GROUP
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    retention_days: int | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicSpec(_Keyed):
    """SNS topic and its email subscriptions (sorted; pending ones count as present). Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.SNS_TOPIC
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    emails: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueSpec(_Keyed):
    """Standard SQS queue; with `dead_letter_arn` set, a redrive policy after `max_receive_count` receives.

    Outputs: `arn`, `url`.
    """

    kind: ClassVar[Kind] = Kind.SQS_QUEUE
    replace_on: ClassVar[frozenset[str]] = frozenset({"fifo"})  # SQS cannot convert a queue to FIFO
    name: str
    fifo: bool = False
    visibility_timeout_s: int = 30
    retention_s: int = 345600
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None
    max_message_size: int | None = None  # None: not managed (SQS's default)
    delay_s: int = 0
    receive_wait_s: int = 0
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


# ---- Batch ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ComputeEnvironmentSpec(_Keyed):
    """MANAGED Batch compute environment of `compute_type` FARGATE, FARGATE_SPOT, EC2 or SPOT. Outputs: `arn`.

    `instance_role_arn` is an instance profile ARN (EC2/SPOT only); `allocation_strategy` None for Fargate.
    """

    kind: ClassVar[Kind] = Kind.COMPUTE_ENVIRONMENT
    replace_on: ClassVar[frozenset[str]] = frozenset(
        {"compute_type", "instance_role_arn", "service_role_arn"}
    )
    unordered: ClassVar[frozenset[str]] = frozenset({"subnet_ids", "security_group_ids"})
    name: str
    compute_type: str
    max_vcpus: int
    subnet_ids: tuple[str | Ref, ...]
    security_group_ids: tuple[str | Ref, ...]
    min_vcpus: int = 0
    instance_types: tuple[str, ...] = ()  # sorted
    instance_role_arn: str | None = None
    allocation_strategy: str | None = None
    service_role_arn: str | None = None
    state: str = "ENABLED"
    instance_tags: Mapping[str, str] = field(
        default_factory=_empty
    )  # EC2/SPOT: tags of the instances it launches
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


# jobStateTimeLimitActions[].reason is not free text: AWS matches it against the job's statusReason and accepts only
# these three, the reasons a RUNNABLE job can never be placed (Batch user guide, "jobStateTimeLimitActions"; aws-cdk
# aws-batch job-queue.ts). One action per reason (deploy and the export alike); a job merely waiting for busy
# capacity is never cancelled.
RUNNABLE_TIMEOUT_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)


@dataclass(frozen=True, slots=True)
class JobQueueSpec(_Keyed):
    """Batch job queue over compute environments (ARNs, in order). A job RUNNABLE longer than
    `runnable_timeout_s` is cancelled (jobStateTimeLimitActions). Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.JOB_QUEUE
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    compute_environment_arns: tuple[str, ...]
    priority: int = 1
    state: str = "ENABLED"
    runnable_timeout_s: int | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class JobDefinitionSpec(_Keyed):
    """Container job definition; a change registers a new revision (diffed against the latest ACTIVE one).

    `platform` is FARGATE or EC2. `parameters` are the defaults for `Ref::name` placeholders. `secrets` maps
    variable name → Secrets Manager / SSM ARN (valueFrom). Logs go to `log_group` with `stream_prefix`.
    `evaluate_on_exit` entries use Batch's casing (onStatusReason/onReason/onExitCode/action).
    Outputs: `arn` (with revision), `revision`.
    """

    kind: ClassVar[Kind] = Kind.JOB_DEFINITION
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    image: str
    command: tuple[str, ...]
    platform: str
    vcpus: float
    memory_mib: int
    job_role_arn: str
    log_group: str
    stream_prefix: str
    gpus: int = 0
    execution_role_arn: str | None = None
    environment: Mapping[str, str] = field(default_factory=_empty)
    secrets: Mapping[str, str] = field(default_factory=_empty)
    parameters: Mapping[str, str] = field(default_factory=_empty)
    retry_attempts: int = 1
    evaluate_on_exit: tuple[Mapping[str, str], ...] = ()
    timeout_s: int | None = None
    assign_public_ip: bool = True  # Fargate in a public subnet without NAT needs a public IP to pull
    # Fargate's runtimePlatform.cpuArchitecture: X86_64 (AWS's default) or ARM64. Not sent on EC2, which has none.
    cpu_architecture: str = "X86_64"
    platform_version: str | None = None  # Fargate only: X.Y.Z; None: LATEST
    ephemeral_storage_gib: int | None = None  # Fargate only; None: Fargate's default 20 GiB
    volumes: tuple[
        tuple[str, str, str | None, bool], ...
    ] = ()  # EFS: (file system, path, access point, read only)
    shared_memory_mib: int | None = None  # EC2 only
    ulimits: tuple[tuple[str, int, int], ...] = ()  # EC2 only: (name, soft, hard)
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


# ---- Step Functions, Pipes, Scheduler -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StateMachineSpec(_Keyed):
    """STANDARD state machine; `definition` is compared as parsed JSON. Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.STATE_MACHINE
    replace_on: ClassVar[frozenset[str]] = frozenset({"type"})
    name: str
    definition: AwsDict
    role_arn: str
    type: str = "STANDARD"
    log_group_arn: str | None = None  # without the trailing ":*"
    log_level: str = "OFF"
    include_execution_data: bool = False
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class PipeSpec(_Keyed):
    """EventBridge Pipe from an SQS queue to a state machine (FIRE_AND_FORGET for STANDARD). Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.PIPE
    replace_on: ClassVar[frozenset[str]] = frozenset({"source_arn"})  # a pipe's source cannot be changed
    name: str
    source_arn: str
    target_arn: str
    role_arn: str
    batch_size: int = 1
    invocation_type: str = "FIRE_AND_FORGET"
    desired_state: str = "RUNNING"
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleGroupSpec(_Keyed):
    """EventBridge Scheduler schedule group: the tagged owner of our schedules. Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.SCHEDULE_GROUP
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleSpec(_Keyed):
    """Schedule in `group_name` starting a state machine with `input` (a JSON string). Flexible window is OFF.
    Schedules cannot be tagged: `description` is our marker (`schedule_marker`), which proves ownership together
    with the tagged group. Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.SCHEDULE
    replace_on: ClassVar[frozenset[str]] = frozenset({"group_name"})
    name: str
    group_name: str
    expression: str
    timezone: str
    target_arn: str
    role_arn: str
    input: str
    state: str = "ENABLED"
    retry_attempts: int = 185
    max_event_age_s: int = 86400
    description: str = ""
    depends_on: tuple[Key, ...] = ()


EVENT_RULE_TARGET_ID = "workflow"  # an EventRuleSpec's one target (deploy and the export name it alike)


@dataclass(frozen=True, slots=True)
class EventRuleSpec(_Keyed):
    """EventBridge rule on the default bus starting a state machine (its one target, id "workflow") with the event
    reshaped by an input transformer (`input_paths`, `input_template`). Outputs: `arn`."""

    kind: ClassVar[Kind] = Kind.EVENT_RULE
    replace_on: ClassVar[frozenset[str]] = frozenset()
    name: str
    event_pattern: AwsDict
    target_arn: str
    role_arn: str
    input_paths: Mapping[str, str]
    input_template: str
    state: str = "ENABLED"
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=_empty)
    depends_on: tuple[Key, ...] = ()


_SCHEDULE_MARKER = re.compile(r"managed by batchctl: project=(\S+) stage=(\S+) job=(\S+)")


def schedule_marker(project: str, stage: str, job: str) -> str:
    """The Description of every schedule batchctl creates: fixed, so an unchanged schedule diffs clean."""
    return f"managed by batchctl: project={project} stage={stage} job={job}"


def marker_owner(description: str) -> tuple[str, str, str] | None:
    """(project, stage, job) of a schedule marker; None when `description` is not one."""
    found = _SCHEDULE_MARKER.fullmatch(description)
    return (found[1], found[2], found[3]) if found else None


def schedule_owned(description: str, *, name: str, group: str, project: str, stage: str) -> bool:
    """Whether a schedule's Description proves batchctl created it for this project and stage: our marker for the
    job its name was generated for (`<group>-<job>`), or the Description batchctl wrote before the marker existed
    (`batchctl <group>: <job>`; the next deploy of a declared job rewrites it to the marker)."""
    job = name.removeprefix(f"{group}-")
    if job == name or not job:
        return False
    return description in (schedule_marker(project, stage, job), f"batchctl {group}: {job}")


# ---- Refs ----------------------------------------------------------------------------------------------------
def _walk_refs(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, tuple | list):
        return [r for v in value for r in _walk_refs(v)]
    return []


def refs_of(spec: Any) -> list[Ref]:
    """Every Ref inside a spec's fields (top level and inside tuples)."""
    return [r for f in dataclasses.fields(spec) for r in _walk_refs(getattr(spec, f.name))]


def _fill(value: Any, outputs: Mapping[Key, Outputs]) -> Any:
    if isinstance(value, Ref):
        found = outputs.get(value.key, {})
        return found.get(value.attr, value)
    if isinstance(value, tuple):
        return tuple(_fill(v, outputs) for v in value)
    return value


def fill_refs(spec: Any, outputs: Mapping[Key, Outputs]) -> Any:
    """Replace each Ref whose resource has outputs by its value; unknown ones stay Refs. A field whose order AWS
    does not keep (`unordered`) is sorted once all its values are known, as `read` returns it."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if not _walk_refs(value):
            continue
        filled = _fill(value, outputs)
        if f.name in spec.unordered and isinstance(filled, tuple) and not _walk_refs(filled):
            filled = tuple(sorted(filled))
        changes[f.name] = filled
    return dataclasses.replace(spec, **changes) if changes else spec
