"""Field types and sections of jobs.yaml for queues, Fargate, workflow logs, roles and shared compute (issue 16).

Imports: pydantic, pydantic_core, stdlib (models.py imports this module, so it imports nothing of config's own).
Each range is AWS's own, from the API reference of the service that takes the value.
"""

from __future__ import annotations

import re
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

# SQS CreateQueue/SetQueueAttributes: MaximumMessageSize 1,024..1,048,576 bytes, DelaySeconds 0..900,
# ReceiveMessageWaitTimeSeconds 0..20. A message starts a run with the SQS record as the execution's input, and Step
# Functions takes at most 256 KiB of input, so a larger message could never start one: we stop at 256 KiB.
MESSAGE_SIZE_MIN = 1024
MESSAGE_SIZE_MAX = 262_144
SQS_MESSAGE_SIZE_MAX = 1_048_576


def _whole(value: object) -> object:
    # As models._no_bool: `delay_s: yes` is a mistake, not 1.
    if isinstance(value, bool):
        raise PydanticCustomError(
            "batchctl_bool_not_number", "expected a number, not {value}", {"value": str(value).lower()}
        )
    return value


def _check_message_size(value: int) -> int:
    if not MESSAGE_SIZE_MIN <= value <= MESSAGE_SIZE_MAX:
        raise PydanticCustomError(
            "batchctl_message_size",
            "expected {low}..{high} bytes: SQS takes {low}..{sqs_high}, but a message above {high} (256 KiB) could "
            "never start a run, since Step Functions takes at most 256 KiB of input",
            {"low": MESSAGE_SIZE_MIN, "high": MESSAGE_SIZE_MAX, "sqs_high": SQS_MESSAGE_SIZE_MAX},
        )
    return value


MessageSize = Annotated[int, BeforeValidator(_whole), AfterValidator(_check_message_size)]
DelaySeconds = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=900)]
ReceiveWaitSeconds = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=20)]


# Batch EphemeralStorage.sizeInGiB: 21..200 (Fargate's 20 GiB is the default without it); Fargate platform
# versions are LATEST or a version such as 1.4.0. Ephemeral storage and EFS volumes need 1.4.0 or later.
EPHEMERAL_STORAGE_GIB = (21, 200)
PLATFORM_VERSION_FOR_STORAGE = (1, 4, 0)


def _check_platform_version(value: str) -> str:
    if value != "LATEST" and not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise PydanticCustomError(
            "batchctl_platform_version", "expected LATEST or a Fargate platform version such as 1.4.0"
        )
    return value


def platform_at_least(version: str, wanted: tuple[int, ...]) -> bool:
    """Whether a Fargate platform version (LATEST or X.Y.Z) is `wanted` or later."""
    return version == "LATEST" or tuple(int(part) for part in version.split(".")) >= wanted


PlatformVersion = Annotated[str, AfterValidator(_check_platform_version)]
EphemeralStorageGib = Annotated[
    int, BeforeValidator(_whole), Field(ge=EPHEMERAL_STORAGE_GIB[0], le=EPHEMERAL_STORAGE_GIB[1])
]


class _Section(BaseModel):
    # As models._Model: unknown keys are errors, models are frozen, `.nan` is no number.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)


# Step Functions LoggingConfiguration.level; CloudWatch Logs retention is checked against its allowed values by
# extra_rules (they live in models.LOG_RETENTION_DAYS).
def _off_is_a_level(value: object) -> object:
    # YAML 1.1 reads a bare OFF as false; `level: OFF` means the level.
    return "OFF" if value is False else value


LogLevel = Annotated[Literal["ALL", "ERROR", "FATAL", "OFF"], BeforeValidator(_off_is_a_level)]
RetentionDays = Annotated[int, BeforeValidator(_whole)]


class WorkflowLogs(_Section):
    """How every job's workflow logs its executions: the state machine's logging level, whether events carry the
    execution's data (input and output: they may hold what a body carries), how long the log group keeps them
    (default: defaults.log_retention_days)."""

    level: LogLevel = "ERROR"
    include_execution_data: bool = False
    retention_days: RetentionDays | None = None


class WorkflowLogsOverride(_Section):
    """A job's own workflow logging: each key given replaces the top-level `workflow_logs` one."""

    level: LogLevel | None = None
    include_execution_data: bool | None = None
    retention_days: RetentionDays | None = None


# IAM: a managed policy ARN, AWS's own (arn:aws:iam::aws:policy/...) or an account's; a role holds at most 20
# managed policies (IAM's quota, 10 unless raised; the count includes the ones batchctl attaches itself).
_MANAGED_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}")
MAX_MANAGED_POLICIES = 20


def _check_managed_policy_arn(value: str) -> str:
    if not _MANAGED_POLICY_ARN.fullmatch(value):
        raise PydanticCustomError(
            "batchctl_managed_policy_arn",
            "expected a managed policy ARN such as arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess "
            "or arn:aws:iam::123456789012:policy/NAME",
        )
    return value


ManagedPolicyArn = Annotated[str, AfterValidator(_check_managed_policy_arn)]
P = TypeVar("P")


class RoleBlock(_Section, Generic[P]):
    """More for one of the stage's roles (compute.instance_role, compute.execution_role): IAM statements (the
    same shape as a job's `permissions`) and managed policies attached by ARN (never copied)."""

    permissions: list[P] = Field(default_factory=list)
    managed_policies: list[ManagedPolicyArn] = Field(default_factory=list)


# A Batch job queue ARN: arn:aws:batch:REGION:ACCOUNT:job-queue/NAME (names: up to 128 letters, digits, - and _).
_JOB_QUEUE_ARN = re.compile(
    r"arn:aws[a-z-]*:batch:([a-z]{2}(-[a-z]+)+-\d{1,2}):(\d{12}):job-queue/[A-Za-z0-9_-]{1,128}"
)
# What only shapes the compute environment and queue batchctl creates; with a shared queue they mean nothing.
OWN_COMPUTE_KEYS = ("max_vcpus", "min_vcpus", "instance_types", "runnable_timeout_s", "instance_role")


def _check_job_queue_arn(value: str) -> str:
    if not _JOB_QUEUE_ARN.fullmatch(value):
        raise PydanticCustomError(
            "batchctl_job_queue_arn",
            "expected a Batch job queue ARN such as arn:aws:batch:eu-west-1:123456789012:job-queue/NAME",
        )
    return value


def job_queue_region(arn: str) -> str:
    """The region of a job queue ARN that passed the check."""
    return arn.split(":")[3]


JobQueueArn = Annotated[str, AfterValidator(_check_job_queue_arn)]


# Batch EFSVolumeConfiguration / MountPoint / LinuxParameters.sharedMemorySize / Ulimit. Ulimits and shared memory
# do not apply to Fargate; EFS on Fargate needs platform version 1.4.0 or later.
def _check_container_path(value: str) -> str:
    if not value.startswith("/") or value == "/":
        raise PydanticCustomError("batchctl_container_path", "expected an absolute path such as /mnt/data")
    return value


class EfsVolume(_Section):
    """An EFS file system mounted into the job's containers (through an access point, if given)."""

    efs: Annotated[str, Field(pattern=r"^fs-[0-9a-f]{8,40}$")]
    path: Annotated[str, AfterValidator(_check_container_path)]
    access_point: Annotated[str, Field(pattern=r"^fsap-[0-9a-f]{8,40}$")] | None = None
    read_only: bool = False


class Ulimit(_Section):
    """One ulimit of the job's containers (EC2/SPOT); `hard_limit` defaults to `soft_limit`."""

    name: Literal[
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
        "rttime", "sigpending", "stack",
    ]  # fmt: skip
    soft_limit: Annotated[int, BeforeValidator(_whole), Field(ge=0)]
    hard_limit: Annotated[int, BeforeValidator(_whole), Field(ge=0)] | None = None


SharedMemoryMib = Annotated[int, BeforeValidator(_whole), Field(gt=0)]


# S3 bucket names: 3..63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _check_bucket(value: str) -> str:
    if not _BUCKET.fullmatch(value):
        raise PydanticCustomError(
            "batchctl_bucket", "expected an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')"
        )
    return value


class S3Trigger(_Section):
    """Start a run for each object created in `bucket` whose key starts with `prefix` and ends with `suffix`
    (through EventBridge: the bucket must send its events there)."""

    bucket: Annotated[str, AfterValidator(_check_bucket)]
    prefix: str = ""
    suffix: str = ""


# ---- the keys each section of models.py takes from here (its classes inherit them) ----------------------------
class QueueKeys(_Section):
    """A job's queue: SQS's size, delay and long-poll settings; `dead_letter: false` for no dead-letter queue."""

    max_message_size: MessageSize | None = None  # None: SQS's default
    delay_s: DelaySeconds = 0
    receive_wait_s: ReceiveWaitSeconds = 0
    dead_letter: bool = True


class ComputeKeys(_Section):
    """The stage's compute: a job queue built elsewhere instead of ours; the Fargate platform version and ephemeral
    storage of every job that neither it nor `defaults` sets (the Terraform module pins the version here)."""

    job_queue_arn: JobQueueArn | None = None
    platform_version: PlatformVersion | None = None
    ephemeral_storage_gib: EphemeralStorageGib | None = None


class DefaultsKeys(_Section):
    """Every job's Fargate platform version and ephemeral storage (Fargate only)."""

    platform_version: PlatformVersion | None = None  # None: compute's, else LATEST
    ephemeral_storage_gib: EphemeralStorageGib | None = None  # None: Fargate's 20 GiB


class JobKeys(_Section):
    """A job's Fargate settings, workflow logs, EFS volumes, EC2 container settings, S3 trigger, managed policies."""

    platform_version: PlatformVersion | None = None
    ephemeral_storage_gib: EphemeralStorageGib | None = None
    workflow_logs: WorkflowLogsOverride | None = None
    volumes: list[EfsVolume] = Field(default_factory=list)
    shared_memory_mib: SharedMemoryMib | None = None  # EC2/SPOT only
    ulimits: list[Ulimit] = Field(default_factory=list)  # EC2/SPOT only
    s3: S3Trigger | None = None  # a run per object created in a bucket
    managed_policies: list[ManagedPolicyArn] = Field(default_factory=list)  # attached to the job's role
