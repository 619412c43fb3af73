"""The jobs.yaml models (pydantic v2), their cross-field rules, and load_config() with positioned errors.

Imports: errors, naming, yamlpos, pydantic (and pydantic_core), stdlib. Every problem in a file is reported at once, one
`jobs.yaml:LINE:COL: path: message` line each, including cross-field rules when other fields are also wrong.
"""

from __future__ import annotations

import codecs
import copy
import ipaddress
import re
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from batchctl.errors import ConfigIssue, ConfigNotFoundError, ConfigSyntaxError, ConfigValidationError
from batchctl.naming import NAME_LIMITS, AwsContext, Names
from batchctl.yamlpos import MAX_DOCUMENT_BYTES, KeyPath, Positions, load_with_positions

__all__ = [
    "FARGATE_MEMORY_MIB",
    "LOG_RETENTION_DAYS",
    "RUN_PARAMETERS",
    "ComputeConfig",
    "Defaults",
    "ImageConfig",
    "JobConfig",
    "JobsFile",
    "NetworkConfig",
    "NotifyConfig",
    "Permission",
    "QueueConfig",
    "ScheduleConfig",
    "StepConfig",
    "StepSettings",
    "config_schema",
    "cron_problem",
    "load_config",
    "parse_config",
    "rate_problem",
    "render_path",
    "resolve_steps",
    "timezone_problem",
]

DEFAULT_CIDR = "10.20.0.0/24"
# The workflow passes exactly these Batch parameters to every step (DESIGN §4), so only these `Ref::` fill in.
RUN_PARAMETERS = ("body", "time", "source", "id")
# CloudWatch Logs PutRetentionPolicy accepts only these values.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# AWS-QUIRKS 16: the vCPU/memory pairs Fargate accepts; anything else fails only when Batch places the job.
FARGATE_MEMORY_MIB: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4097, 1024)),
    1: tuple(range(2048, 8193, 1024)),
    2: tuple(range(4096, 16385, 1024)),
    4: tuple(range(8192, 30721, 1024)),
    8: tuple(range(16384, 61441, 4096)),
    16: tuple(range(32768, 122881, 8192)),
}
FARGATE_TYPES = frozenset({"FARGATE", "FARGATE_SPOT"})
RESERVED_ENV_PREFIXES = ("BATCHCTL_", "AWS_BATCH")
RESERVED_TAG_PREFIXES = ("batchctl:", "aws:")
MAX_USER_TAGS = 47  # AWS allows 50 tags per resource; we add batchctl:project, batchctl:stage and Name.

_NAME_PATTERN = r"^[a-z][a-z0-9-]*$"
_REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
_LAMBDA_ARN = r"^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+|ssm:[a-z0-9-]+:\d{12}:parameter/.+)"
)
_REF = re.compile(r"Ref::(\w+)")
_RULES_ERROR = "batchctl_rules"
_MAX_SALVAGE_PASSES = 12

# What a pattern means, for messages: pydantic would only print the regular expression.
_PATTERN_MEANING = {
    _NAME_PATTERN: "use lowercase letters, digits and '-', starting with a letter",
    _REGION_PATTERN: "expected an AWS region such as eu-west-1",
    _LAMBDA_ARN: "expected a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)",
    r"^vpc-[0-9a-f]{8,17}$": "expected a VPC ID such as vpc-0123456789abcdef0",
    r"^subnet-[0-9a-f]{8,17}$": "expected a subnet ID such as subnet-0123456789abcdef0",
    r"^sg-[0-9a-f]{8,17}$": "expected a security group ID such as sg-0123456789abcdef0",
    r"^\S+$": "must not be empty or contain spaces",
}


# ---- rules that involve several fields ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """One broken cross-field rule, positioned relative to the model that found it.

    `involves` lists every key whose value the rule read (default: `loc`); when salvaging a partly invalid file
    (see `_collect_issues`) a rule that read a dropped key is not reported, since the user never wrote that state.
    """

    loc: KeyPath
    message: str
    involves: tuple[KeyPath, ...] = ()


def _raise_rules(rules: Sequence[_Rule]) -> None:
    if rules:
        summary = "; ".join(f"{'.'.join(map(str, r.loc)) or '<root>'}: {r.message}" for r in rules)
        raise PydanticCustomError(_RULES_ERROR, "{summary}", {"summary": summary, "rules": tuple(rules)})


# ---- field types ----------------------------------------------------------------------------------------------


def _no_bool(value: object) -> object:
    # pydantic's lax mode reads `true` as 1; `retries: yes` is a mistake, not a number.
    if isinstance(value, bool):
        raise PydanticCustomError(
            "batchctl_bool_not_number", "expected a number, not {value}", {"value": str(value).lower()}
        )
    return value


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise PydanticCustomError(
            "batchctl_env_name",
            "environment variable names use letters, digits and '_' and do not start with a digit",
        )
    if name.upper().startswith(RESERVED_ENV_PREFIXES):
        raise PydanticCustomError(
            "batchctl_env_reserved",
            "names starting BATCHCTL_ or AWS_BATCH are reserved for batchctl and AWS Batch",
        )
    return name


def _check_secret_arn(value: str) -> str:
    if not _SECRET_ARN.fullmatch(value):
        raise PydanticCustomError(
            "batchctl_secret_arn",
            "expected the ARN of a Secrets Manager secret (arn:aws:secretsmanager:...:secret:NAME) "
            "or an SSM parameter (arn:aws:ssm:...:parameter/NAME)",
        )
    return value


def _check_action(value: str) -> str:
    if value in {"*", "*:*"} or value.startswith("*:"):
        raise PydanticCustomError(
            "batchctl_action_wildcard",
            "a wildcard over every service is not allowed: name the actions, e.g. s3:GetObject",
        )
    if not _ACTION.fullmatch(value):
        raise PydanticCustomError(
            "batchctl_action_form", "expected an IAM action as service:Action, e.g. s3:GetObject"
        )
    return value


def _check_resource(value: str) -> str:
    if value != "*" and not value.startswith("arn:"):
        raise PydanticCustomError("batchctl_resource_arn", 'expected an ARN (arn:...) or "*"')
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError("batchctl_email", "expected an email address such as ops@example.com")
    return value


def _check_tag_key(key: str) -> str:
    if key.lower().startswith(RESERVED_TAG_PREFIXES):
        raise PydanticCustomError(
            "batchctl_tag_reserved", "tag keys starting 'batchctl:' or 'aws:' are reserved"
        )
    return key


WholeNumber = Annotated[int, BeforeValidator(_no_bool)]
PositiveNumber = Annotated[float, BeforeValidator(_no_bool), Field(gt=0)]
PositiveInt = Annotated[int, BeforeValidator(_no_bool), Field(gt=0)]
GpuCount = Annotated[int, BeforeValidator(_no_bool), Field(ge=0)]
TimeoutSeconds = Annotated[int, BeforeValidator(_no_bool), Field(ge=60)]
Retries = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=9)]
SpotRetries = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=10)]
ArraySize = Annotated[int, BeforeValidator(_no_bool), Field(ge=2, le=10000)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
SecretArn = Annotated[str, AfterValidator(_check_secret_arn)]
Command = Annotated[list[str], Field(min_length=1)]
ResourceName = Annotated[str, Field(pattern=_NAME_PATTERN)]
TagKey = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_check_tag_key)]
TagValue = Annotated[str, Field(max_length=256)]


class _Model(BaseModel):
    # coerce_numbers_to_str: `command: [sleep, 30]` and `PORT: 8080` mean text; allow_inf_nan: `.nan` is no size.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)


# ---- models ---------------------------------------------------------------------------------------------------


class ImageConfig(_Model):
    """The job image: built from `context`/`dockerfile` and pushed to ECR, or a prebuilt `uri`."""

    context: Annotated[str, Field(min_length=1)] = "."
    dockerfile: Annotated[str, Field(min_length=1)] = "Dockerfile"
    uri: Annotated[str, Field(pattern=r"^\S+$")] | None = None
    build_args: dict[str, str] = Field(default_factory=dict)
    keep_images: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=1000)] = 10

    @model_validator(mode="after")
    def _uri_or_build(self) -> Self:
        if self.uri is not None:
            _raise_rules(
                [
                    _Rule((key,), f"{key} is for building an image; with uri the image is used as it is")
                    for key in ("context", "dockerfile", "build_args")
                    if key in self.model_fields_set
                ]
            )
        return self


class NetworkConfig(_Model):
    """Either `cidr` (batchctl creates VPC, subnets, gateway) or an existing VPC's subnets and security groups."""

    cidr: str | None = None
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")] | None = None
    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(default_factory=list)
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list
    )

    @model_validator(mode="before")
    @classmethod
    def _default_cidr(cls, data: Any) -> Any:
        # Neither mode given (`network:` omitted or empty): batchctl creates a small VPC.
        if isinstance(data, Mapping) and not any(
            data.get(key) for key in ("cidr", "vpc_id", "subnet_ids", "security_group_ids")
        ):
            return {**data, "cidr": DEFAULT_CIDR}
        return data

    @field_validator("cidr")
    @classmethod
    def _check_cidr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "/" not in value:
            raise PydanticCustomError(
                "batchctl_cidr", "add a prefix length, e.g. {value}/24", {"value": value}
            )
        try:
            network = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise PydanticCustomError(
                "batchctl_cidr", "expected an IPv4 network such as 10.20.0.0/24"
            ) from None
        if str(network) != value:
            raise PydanticCustomError(
                "batchctl_cidr_host_bits", "host bits are set: did you mean {fixed}?", {"fixed": str(network)}
            )
        if not 16 <= network.prefixlen <= 26:
            raise PydanticCustomError(
                "batchctl_cidr_size",
                "the prefix must be /16 to /26 so that two subnets (one per availability zone) fit in it",
            )
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> Self:
        rules: list[_Rule] = []
        existing = [k for k in ("vpc_id", "subnet_ids", "security_group_ids") if getattr(self, k)]
        if self.cidr is not None and existing:
            rules.append(
                _Rule(
                    (existing[0],),
                    "use either cidr (batchctl creates the network) or vpc_id + subnet_ids + "
                    "security_group_ids (an existing network), not both",
                    involves=(("cidr",), (existing[0],)),
                )
            )
        elif self.cidr is None:
            for key in ("vpc_id", "subnet_ids", "security_group_ids"):
                if not getattr(self, key):
                    loc: KeyPath = (key,) if key in self.model_fields_set else ()
                    rules.append(
                        _Rule(
                            loc,
                            f"an existing network needs {key} too (vpc_id, subnet_ids, security_group_ids)",
                            involves=((key,),),
                        )
                    )
        _raise_rules(rules)
        return self


class ComputeConfig(_Model):
    """The Batch compute environment shared by every job of the stage."""

    type: Literal["FARGATE", "FARGATE_SPOT", "EC2", "SPOT"] = "FARGATE_SPOT"
    max_vcpus: PositiveInt = 16
    min_vcpus: Annotated[int, BeforeValidator(_no_bool), Field(ge=0)] = 0
    instance_types: Annotated[list[Annotated[str, Field(pattern=r"^\S+$")]], Field(min_length=1)] | None = (
        None
    )
    runnable_timeout_s: Annotated[int, BeforeValidator(_no_bool), Field(ge=600)] = 1800

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        rules: list[_Rule] = []
        if self.type in FARGATE_TYPES:
            if self.min_vcpus:
                rules.append(
                    _Rule(
                        ("min_vcpus",),
                        "min_vcpus is for EC2/SPOT; Fargate keeps no instances",
                        involves=(("min_vcpus",), ("type",)),
                    )
                )
            # [optimal] is the EC2 default and means nothing on Fargate (DESIGN §2 writes it); others would be lost.
            if self.instance_types is not None and self.instance_types != ["optimal"]:
                rules.append(
                    _Rule(
                        ("instance_types",),
                        "instance_types is for EC2/SPOT; Fargate picks its own capacity",
                        involves=(("instance_types",), ("type",)),
                    )
                )
        elif self.min_vcpus > self.max_vcpus:
            rules.append(
                _Rule(
                    ("min_vcpus",),
                    f"min_vcpus ({self.min_vcpus}) is above max_vcpus ({self.max_vcpus})",
                    involves=(("min_vcpus",), ("max_vcpus",)),
                )
            )
        _raise_rules(rules)
        return self


class Defaults(_Model):
    """What every job and step gets unless it says otherwise."""

    vcpus: PositiveNumber = 1
    memory_mib: PositiveInt = 2048
    gpus: GpuCount = 0
    timeout_s: TimeoutSeconds = 3600
    retries: Retries = 1
    spot_retries: SpotRetries = 2
    log_retention_days: WholeNumber = 30

    @field_validator("log_retention_days")
    @classmethod
    def _allowed_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, sorted(LOG_RETENTION_DAYS)))
            raise PydanticCustomError(
                "batchctl_retention",
                "CloudWatch Logs keeps logs for one of {allowed} days",
                {"allowed": allowed},
            )
        return value


class NotifyConfig(_Model):
    """Where a finished run is announced: the stage's SNS topic (and its email subscriptions), optional Lambdas."""

    topic: bool = True
    emails: list[Annotated[str, AfterValidator(_check_email)]] = Field(default_factory=list)
    on_success_lambda: Annotated[str, Field(pattern=_LAMBDA_ARN)] | None = None
    on_failure_lambda: Annotated[str, Field(pattern=_LAMBDA_ARN)] | None = None

    @model_validator(mode="after")
    def _emails_need_topic(self) -> Self:
        if self.emails and not self.topic:
            _raise_rules(
                [
                    _Rule(
                        ("emails",),
                        "emails subscribe to the topic: set topic: true or drop emails",
                        involves=(("emails",), ("topic",)),
                    )
                ]
            )
        return self


class Permission(_Model):
    """One extra IAM statement for the job's own role."""

    actions: Annotated[list[Annotated[str, AfterValidator(_check_action)]], Field(min_length=1)]
    resources: Annotated[list[Annotated[str, AfterValidator(_check_resource)]], Field(min_length=1)]


class QueueConfig(_Model):
    """The job's SQS queue (and dead-letter queue) that a pipe turns into runs."""

    visibility_timeout_s: Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=43200)] = 60
    max_receive_count: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=1000)] = 3
    retention_s: Annotated[int, BeforeValidator(_no_bool), Field(ge=60, le=1209600)] = 345600


class ScheduleConfig(_Model):
    """When EventBridge Scheduler starts the job: AWS's 6-field cron or a rate."""

    cron: str | None = None
    rate: str | None = None
    timezone: str = "UTC"
    enabled: bool = True

    @field_validator("cron", "rate", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        # `cron(0 12 * * ? *)` as AWS prints it is accepted and stored bare.
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(?:cron|rate)\((.*)\)\s*", value)
            return (match.group(1) if match else value).strip()
        return value

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str | None) -> str | None:
        if value is not None:
            problem = cron_problem(value)
            if problem:
                raise PydanticCustomError("batchctl_cron", "{problem}", {"problem": problem})
        return value

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is not None:
            problem = rate_problem(value)
            if problem:
                raise PydanticCustomError("batchctl_rate", "{problem}", {"problem": problem})
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        problem = timezone_problem(value)
        if problem:
            raise PydanticCustomError("batchctl_timezone", "{problem}", {"problem": problem})
        return value

    @model_validator(mode="after")
    def _cron_or_rate(self) -> Self:
        if (self.cron is None) == (self.rate is None):
            both = self.cron is not None
            _raise_rules(
                [
                    _Rule(
                        ("rate",) if both else (),
                        "give either cron or rate, not both" if both else "a schedule needs cron or rate",
                        involves=(("cron",), ("rate",)),
                    )
                ]
            )
        return self

    @property
    def expression(self) -> str:
        """The schedule expression as Scheduler takes it: `cron(...)` or `rate(...)`."""
        return f"cron({self.cron})" if self.cron is not None else f"rate({self.rate})"


class StepConfig(_Model):
    """One container of a multi-step job; unset resources inherit from the job, then from defaults."""

    name: Annotated[str, Field(min_length=1, max_length=32, pattern=_NAME_PATTERN)]
    command: Command
    vcpus: PositiveNumber | None = None
    memory_mib: PositiveInt | None = None
    gpus: GpuCount | None = None
    timeout_s: TimeoutSeconds | None = None
    retries: Retries | None = None
    environment: dict[EnvName, str] = Field(default_factory=dict)
    array_size: ArraySize | None = None


class JobConfig(_Model):
    """One job: a single `command`, or `steps` run in sequence; how it starts (queue, schedule) and what it may do."""

    description: str = ""
    command: Command | None = None
    steps: Annotated[list[StepConfig], Field(min_length=1)] | None = None
    environment: dict[EnvName, str] = Field(default_factory=dict)
    secrets: dict[EnvName, SecretArn] = Field(default_factory=dict)
    permissions: list[Permission] = Field(default_factory=list)
    queue: QueueConfig | None = None
    schedule: ScheduleConfig | None = None
    vcpus: PositiveNumber | None = None
    memory_mib: PositiveInt | None = None
    gpus: GpuCount | None = None
    timeout_s: TimeoutSeconds | None = None
    retries: Retries | None = None
    spot_retries: SpotRetries | None = None
    array_size: ArraySize | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        rules: list[_Rule] = []
        both = (("command",), ("steps",))
        if self.command is not None and self.steps is not None:
            rules.append(_Rule(("steps",), "give either command (one container) or steps, not both", both))
        elif self.command is None and self.steps is None:
            rules.append(
                _Rule((), "a job needs command (one container) or steps (several in sequence)", both)
            )
        for name in self.environment.keys() & self.secrets.keys():
            rules.append(
                _Rule(
                    ("environment", name),
                    f"{name} is also set in secrets; keep one",
                    involves=(("environment", name), ("secrets", name)),
                )
            )
        seen: dict[str, int] = {}
        for index, step in enumerate(self.steps or ()):
            if step.name in seen:
                first = seen[step.name]
                rules.append(
                    _Rule(
                        ("steps", index, "name"),
                        f"step name {step.name!r} is already used by steps[{first}]",
                        involves=(("steps", index, "name"), ("steps", first, "name")),
                    )
                )
            seen.setdefault(step.name, index)
            for name in sorted(step.environment.keys() & self.secrets.keys()):
                loc: KeyPath = ("steps", index, "environment", name)
                rules.append(
                    _Rule(
                        loc,
                        f"{name} is also set in the job's secrets; keep one",
                        involves=(loc, ("secrets", name)),
                    )
                )
        _raise_rules(rules)
        return self


class JobsFile(_Model):
    """The whole jobs.yaml (DESIGN §2)."""

    version: Literal[1]
    project: Annotated[str, Field(min_length=1, max_length=20, pattern=_NAME_PATTERN)]
    stage: Annotated[str, Field(min_length=1, max_length=16, pattern=_NAME_PATTERN)]
    region: Annotated[str, Field(pattern=_REGION_PATTERN)] | None = None
    tags: Annotated[dict[TagKey, TagValue], Field(max_length=MAX_USER_TAGS)] = Field(default_factory=dict)
    image: ImageConfig = Field(default_factory=ImageConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    jobs: Annotated[dict[ResourceName, JobConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        _raise_rules(_cross_field_rules(self))
        return self


# ---- effective settings per step ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSettings:
    """One step with everything resolved: step override, else job override, else defaults."""

    name: str
    command: tuple[str, ...]
    vcpus: float
    memory_mib: int
    gpus: int
    timeout_s: int
    retries: int
    spot_retries: int
    array_size: int | None
    environment: dict[str, str]  # job env merged with step env (step wins)


_INHERITED = ("vcpus", "memory_mib", "gpus", "timeout_s", "retries")


@dataclass(frozen=True, slots=True)
class _Resolved:
    settings: StepSettings
    source: dict[str, KeyPath]  # where each inherited value was set (or would be defaulted)
    chain: dict[str, tuple[KeyPath, ...]]  # every key read to find it, for `involves`


def _resolve(cfg: JobsFile, job: str) -> list[_Resolved]:
    job_cfg = cfg.jobs[job]
    job_loc: KeyPath = ("jobs", job)
    entries: list[tuple[StepConfig | None, KeyPath]]
    if job_cfg.steps is None:
        entries = [(None, job_loc)]
    else:
        entries = [(step, (*job_loc, "steps", index)) for index, step in enumerate(job_cfg.steps)]
    resolved: list[_Resolved] = []
    for step, step_loc in entries:
        values: dict[str, Any] = {}
        source: dict[str, KeyPath] = {}
        chain: dict[str, tuple[KeyPath, ...]] = {}
        for key in (*_INHERITED, "spot_retries"):
            candidates: list[tuple[Any, KeyPath]] = []
            if step is not None and key != "spot_retries":
                candidates.append((getattr(step, key), (*step_loc, key)))
            candidates.append((getattr(job_cfg, key), (*job_loc, key)))
            candidates.append((getattr(cfg.defaults, key), ("defaults", key)))
            setter = next(i for i, (v, _) in enumerate(candidates) if v is not None)
            values[key], source[key] = candidates[setter]
            # The keys read up to the one that set the value; later ones (e.g. defaults) never mattered.
            chain[key] = tuple(w for _, w in candidates[: setter + 1])
        settings = StepSettings(
            name=step.name if step is not None else "main",
            command=tuple(step.command if step is not None else job_cfg.command or ()),
            vcpus=float(values["vcpus"]),
            memory_mib=int(values["memory_mib"]),
            gpus=int(values["gpus"]),
            timeout_s=int(values["timeout_s"]),
            retries=int(values["retries"]),
            spot_retries=int(values["spot_retries"]),
            array_size=(
                step.array_size if step is not None and step.array_size is not None else job_cfg.array_size
            ),
            environment={**job_cfg.environment, **(step.environment if step is not None else {})},
        )
        resolved.append(_Resolved(settings, source, chain))
    return resolved


def resolve_steps(cfg: JobsFile, job: str) -> list[StepSettings]:
    """Resolve a job's steps (a `command` job is one step named "main") with inherited settings."""
    return [r.settings for r in _resolve(cfg, job)]


# ---- cross-field rules ----------------------------------------------------------------------------------------


def _fargate_memory_text(vcpus: float) -> str:
    allowed = FARGATE_MEMORY_MIB[vcpus]
    if len(allowed) <= 4:
        return ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]} MiB"
    return f"{allowed[0]}–{allowed[-1]} MiB in steps of {allowed[1] - allowed[0]}"


def _resource_rules(cfg: JobsFile, step: _Resolved) -> Iterator[_Rule]:
    s = step.settings
    compute = cfg.compute
    fargate = compute.type in FARGATE_TYPES
    vcpus_at, memory_at, gpus_at = step.source["vcpus"], step.source["memory_mib"], step.source["gpus"]
    both = (*step.chain["vcpus"], *step.chain["memory_mib"], ("compute", "type"))
    if fargate:
        if s.vcpus not in FARGATE_MEMORY_MIB:
            choices = ", ".join(f"{v:g}" for v in FARGATE_MEMORY_MIB)
            yield _Rule(
                vcpus_at,
                f"Fargate runs {choices} vCPUs, not {s.vcpus:g}",
                involves=(*step.chain["vcpus"], ("compute", "type")),
            )
        elif s.memory_mib not in FARGATE_MEMORY_MIB[s.vcpus]:
            yield _Rule(
                memory_at,
                f"Fargate does not run {s.vcpus:g} vCPU with {s.memory_mib} MiB; "
                f"with {s.vcpus:g} vCPU use {_fargate_memory_text(s.vcpus)}",
                involves=both,
            )
        if s.gpus:
            yield _Rule(
                gpus_at,
                "GPUs need compute type EC2 or SPOT; Fargate has none",
                involves=(*step.chain["gpus"], ("compute", "type")),
            )
    else:
        if s.vcpus < 1 or s.vcpus != int(s.vcpus):
            yield _Rule(
                vcpus_at,
                f"EC2/SPOT jobs take whole vCPUs (1 or more), not {s.vcpus:g}",
                involves=(*step.chain["vcpus"], ("compute", "type")),
            )
        if s.memory_mib < 4:
            yield _Rule(
                memory_at,
                "EC2/SPOT jobs need at least 4 MiB of memory",
                involves=(*step.chain["memory_mib"], ("compute", "type")),
            )
    if s.vcpus > compute.max_vcpus:
        yield _Rule(
            vcpus_at,
            f"can never be placed: needs {s.vcpus:g} vCPUs but compute.max_vcpus is {compute.max_vcpus}",
            involves=(*step.chain["vcpus"], ("compute", "max_vcpus")),
        )


def _ref_rules(command: Sequence[str], loc: KeyPath) -> Iterator[_Rule]:
    filled = ", ".join(f"Ref::{p}" for p in RUN_PARAMETERS)
    for index, arg in enumerate(command):
        for name in _REF.findall(arg):
            if name not in RUN_PARAMETERS:
                yield _Rule(
                    (*loc, "command", index), f"Ref::{name} is never filled in; batchctl passes {filled}"
                )


def _length_rule(what: str, name: str, loc: KeyPath, *, limit_key: str, shorten: str) -> _Rule | None:
    limit = NAME_LIMITS[limit_key]
    if len(name) <= limit:
        return None
    return _Rule(
        loc,
        f"the {what} name {name!r} would be {len(name)} characters, AWS allows {limit}: shorten {shorten}",
        involves=(loc, ("project",), ("stage",)),
    )


def _name_rules(cfg: JobsFile) -> Iterator[_Rule]:
    names = Names(project=cfg.project, stage=cfg.stage, ctx=AwsContext.placeholder())
    stage_wide = [("IAM role", names.execution_role, "iam role")]
    if cfg.compute.type not in FARGATE_TYPES:
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
            queues_here = (
                (names.queue(job), (*loc, "queue")),
                (names.dead_letter_queue(job), (*loc, "queue")),
            )
            for queue, queue_loc in queues_here:
                if queue in queues:
                    yield _Rule(
                        queue_loc, f"SQS queue name {queue!r} clashes with another job's queue; rename a job"
                    )
                queues.setdefault(queue, queue_loc)
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
                yield _Rule(
                    step_loc, f"job definition name {definition!r} clashes with another job's; rename one"
                )
            definitions.setdefault(definition, step_loc)


def _cross_field_rules(cfg: JobsFile) -> list[_Rule]:
    rules: list[_Rule] = []
    for job, job_cfg in cfg.jobs.items():
        for step in _resolve(cfg, job):
            rules.extend(_resource_rules(cfg, step))
        if job_cfg.command is not None:
            rules.extend(_ref_rules(job_cfg.command, ("jobs", job)))
        for index, step_cfg in enumerate(job_cfg.steps or ()):
            rules.extend(_ref_rules(step_cfg.command, ("jobs", job, "steps", index)))
    rules.extend(_name_rules(cfg))
    unique: dict[tuple[KeyPath, str], _Rule] = {}
    for rule in rules:
        unique.setdefault((rule.loc, rule.message), rule)
    return list(unique.values())


# ---- cron, rate, timezone -------------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_WEEKDAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_CRON_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _WEEKDAYS),
    ("year", 1970, 2199, {}),
)


def _cron_value(text: str, low: int, high: int, names: Mapping[str, int]) -> str | None:
    if text.upper() in names:
        return None
    if not text.isdigit():
        hint = f" or {next(iter(names))}-style names" if names else ""
        return f"{text!r} is not a number{hint}"
    if not low <= int(text) <= high:
        return f"{text} is outside {low}-{high}"
    return None


def _cron_field_problem(field: str, value: str, low: int, high: int, names: Mapping[str, int]) -> str | None:
    if value == "?":
        return (
            None
            if field in {"day-of-month", "day-of-week"}
            else "'?' is only allowed in day-of-month or day-of-week"
        )
    if field == "day-of-month" and (value == "L" or re.fullmatch(r"\d{1,2}W", value)):
        return None if value == "L" else _cron_value(value[:-1], low, high, names)
    if field == "day-of-week":
        if value == "L":
            return None
        if match := re.fullmatch(r"(\w+)L", value):
            return _cron_value(match.group(1), low, high, names)
        if match := re.fullmatch(r"(\w+)#(\w+)", value):
            return _cron_value(match.group(1), low, high, names) or (
                None if match.group(2) in {"1", "2", "3", "4", "5"} else "the # occurrence must be 1-5"
            )
    for part in value.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and 1 <= int(step) <= high):
            return f"step {step!r} must be a number from 1 to {high}"
        if base == "*":
            continue
        bounds = base.split("-", 1) if "-" in base[1:] else [base]
        for bound in bounds:
            if not bound:
                return f"{part!r} is not a value, range or list"
            problem = _cron_value(bound, low, high, names)
            if problem:
                return problem
    return None


def cron_problem(expression: str) -> str | None:
    """What is wrong with an AWS cron expression (6 fields, one of day-of-month/day-of-week `?`), or None."""
    fields = expression.split()
    if len(fields) != 6:
        extra = " (add a year field, e.g. '*')" if len(fields) == 5 else ""
        return (
            f"AWS cron has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"this has {len(fields)}{extra}"
        )
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?', e.g. '0 12 * * ? *'"
    for (field, low, high, names), value in zip(_CRON_FIELDS, fields, strict=True):
        problem = _cron_field_problem(field, value, low, high, names)
        if problem:
            return f"{field} {value!r}: {problem}"
    return None


def rate_problem(expression: str) -> str | None:
    """What is wrong with a rate (`1 hour`, `5 minutes`; singular exactly for 1), or None."""
    match = re.fullmatch(r"(\d+) (minute|hour|day)(s?)", expression)
    if not match:
        return "expected '<n> minute(s)|hour(s)|day(s)', e.g. '1 hour' or '5 minutes'"
    count, unit, plural = int(match.group(1)), match.group(2), match.group(3)
    if count < 1:
        return "the rate must be at least 1"
    if (count == 1) == bool(plural):
        fixed = f"{count} {unit}" + ("" if count == 1 else "s")
        return f"AWS wants the singular unit for 1 and the plural otherwise: {fixed!r}"
    return None


def timezone_problem(name: str) -> str | None:
    """What is wrong with an IANA time zone name, or None."""
    not_zones = {"localtime", "posixrules", "Factory"}
    if name and name not in not_zones and not name.startswith(("posix/", "right/", "/", ".")):
        try:
            ZoneInfo(name)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    import difflib  # only on the error path
    from zoneinfo import available_timezones

    zones = sorted(available_timezones() - not_zones)
    exact = [z for z in zones if z.lower() == name.lower()]
    close = exact or difflib.get_close_matches(name, zones, n=1)
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not an IANA time zone such as UTC or Asia/Tokyo{suggestion}"


# ---- turning pydantic errors into positioned issues -----------------------------------------------------------


def _unwrap_type(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    tp: Any = JobsFile
    for part in loc:
        tp = _unwrap_type(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap_type(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# What a type error expected, in the words of a YAML author rather than of Python.
_EXPECTED = {
    "model_type": "a mapping (key: value)",
    "dict_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _message(error: ErrorDetails, loc: KeyPath) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        model = _model_at(loc[:-1])
        message = f"unknown key {key!r}"
        if model is not None:
            import difflib  # only on the error path

            close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
        return message
    if kind == "missing":
        return f"required key {str(loc[-1])!r} is missing" if loc else "required value is missing"
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANING.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return f"{_describe(value)}: {meaning}"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        message = f"expected {expected}, got {_describe(value)}"
        if kind == "string_type" and isinstance(value, bool):
            message += f": quote it as '{_describe(value)}'"
        return message
    if kind == "too_short" and loc == ("jobs",):
        return "declare at least one job"
    if kind.startswith("batchctl_") or isinstance(value, Mapping | list | tuple):
        return error["msg"]
    return f"{error['msg']}, got {_describe(value)}"


def render_path(loc: Sequence[str | int]) -> str:
    """Render a key path as `jobs.fibonacci.steps[1].command` (odd keys quoted: `tags["a.b"]`)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in part)
            out += '["' + shown.replace('"', '\\"') + '"]'
    return out


@dataclass(frozen=True, slots=True)
class _Found:
    loc: KeyPath
    message: str
    involves: tuple[KeyPath, ...]
    is_rule: bool


def _clean_loc(loc: Iterable[str | int]) -> KeyPath:
    parts = tuple(p for p in loc if isinstance(p, str | int))
    return parts[:-1] if parts and parts[-1] == "[key]" else parts


def _expand(error: ErrorDetails) -> Iterator[_Found]:
    base = _clean_loc(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == _RULES_ERROR:
        for rule in ctx["rules"]:
            loc = (*base, *rule.loc)
            involves = tuple((*base, *i) for i in (rule.involves or (rule.loc,)))
            yield _Found(loc, rule.message, involves, is_rule=True)
    else:
        yield _Found(base, _message(error, _clean_loc(error["loc"])), (base,), is_rule=False)


class _Dropped:
    """The keys dropped while salvaging, with prefix lookups in O(depth): a file with thousands of bad keys must
    not take quadratic time (20,000 bad jobs took minutes when each check scanned every dropped key)."""

    def __init__(self) -> None:
        self.paths: set[KeyPath] = set()
        self._prefixes: set[KeyPath] = set()

    def add(self, path: KeyPath) -> None:
        self.paths.add(path)
        self._prefixes.update(path[:end] for end in range(len(path) + 1))

    def covers(self, path: KeyPath) -> bool:
        """True when `path` or one of its ancestors was dropped."""
        return any(path[:end] in self.paths for end in range(1, len(path) + 1))

    def overlaps(self, path: KeyPath) -> bool:
        """True when `path` is, contains or lies inside a dropped key."""
        return self.covers(path) or path in self._prefixes


def _salvage_target(found: _Found, error_type: str, data: Any) -> KeyPath | None:
    """The key to drop so that the rest of the file can be validated: the bad value, or what lacks a key."""
    if found.loc in _ROOT_PLACEHOLDERS:
        return found.loc
    loc = found.loc[:-1] if error_type == "missing" else found.loc
    # Dropping a list item would shift the indexes that positions refer to: drop the whole list instead.
    first_index = next((i for i, part in enumerate(loc) if isinstance(part, int)), None)
    if first_index is not None:
        loc = loc[:first_index]
    node = data
    for depth, part in enumerate(loc):
        if not isinstance(node, dict) or part not in node:
            loc = loc[:depth]
            break
        node = node[part]
    return loc or None


# Root keys that every rule needs; when one is missing or bad, a stand-in lets the other rules run (rules that
# read it, such as name lengths, are then not reported).
_ROOT_PLACEHOLDERS: dict[KeyPath, Any] = {("version",): 1, ("project",): "p", ("stage",): "s"}


def _drop(data: dict[str, Any], loc: KeyPath) -> bool:
    """Remove `loc` (or put a stand-in there); say whether the data changed."""
    node: Any = data
    for part in loc[:-1]:
        node = node[part]
    if loc in _ROOT_PLACEHOLDERS:
        if node.get(loc[-1]) == _ROOT_PLACEHOLDERS[loc]:
            return False
        node[loc[-1]] = _ROOT_PLACEHOLDERS[loc]
        return True
    del node[loc[-1]]
    return True


def _collect_issues(data: dict[str, Any], first: ValidationError) -> list[_Found]:
    """Report every problem: field errors, then cross-field rules on what remains once bad keys are dropped.

    pydantic runs a model's after-validators only when all its fields are valid, so one unknown key would hide
    every rule of that model (Fargate pairs, name lengths...). We drop each bad key, validate again, and report
    the rules found then, unless a rule read a key we dropped (it would describe a state the user never wrote).
    """
    found: dict[tuple[KeyPath, str], _Found] = {}
    dropped = _Dropped()
    errors = first.errors()
    current = data
    for attempt in range(_MAX_SALVAGE_PASSES):
        expanded = [(error, f) for error in errors for f in _expand(error)]
        for _, f in expanded:
            if attempt == 0 or (f.is_rule and not any(dropped.overlaps(i) for i in f.involves)):
                found.setdefault((f.loc, f.message), f)
        if all(error["type"] == _RULES_ERROR and not error["loc"] for error in errors):
            break  # only JobsFile's own rules: everything else already validated
        targets = {
            t for error, f in expanded if (t := _salvage_target(f, error["type"], current)) is not None
        }
        current = copy.deepcopy(current)
        changed = False
        for target in sorted(targets, key=len):
            if not dropped.covers(target) or target in _ROOT_PLACEHOLDERS:
                changed = _drop(current, target) or changed
                dropped.add(target)
        if not changed:
            break
        try:
            JobsFile.model_validate(current)
        except ValidationError as again:
            errors = again.errors()
            continue
        break
    return list(found.values())


# ---- loading --------------------------------------------------------------------------------------------------


def _issues(
    found: Iterable[_Found], positions: Positions, filename: str, overrides: Mapping[str, str]
) -> list[ConfigIssue]:
    issues = []
    for f in found:
        line, col = positions.lookup(f.loc)
        message = f.message
        if f.loc[:1] and f.loc[0] in overrides:
            message += f" (from --{f.loc[0]} {overrides[str(f.loc[0])]})"
        issues.append(
            ConfigIssue(file=filename, line=line, col=col, path=render_path(f.loc), message=message)
        )
    return sorted(issues, key=lambda i: (i.line, i.col))


def parse_config(
    text: str, *, filename: str = "jobs.yaml", stage: str | None = None, region: str | None = None
) -> JobsFile:
    """Parse and validate jobs.yaml text; `stage`/`region` override the file's values."""
    data, positions = load_with_positions(text, filename=filename)
    if data is None:
        raise ConfigSyntaxError(
            f"{filename}:1:1: the file is empty",
            hint="run `batchctl init` for a starting point; `batchctl schema` describes every key",
        )
    if not isinstance(data, dict):
        line, col = positions.lookup(())
        raise ConfigSyntaxError(
            f"{filename}:{line}:{col}: expected a mapping with version, project, stage and jobs, "
            f"got {_describe(data)}"
        )
    overrides = {k: v for k, v in (("stage", stage), ("region", region)) if v is not None}
    data = {**data, **overrides}
    try:
        return JobsFile.model_validate(data)
    except ValidationError as exc:
        issues = _issues(_collect_issues(data, exc), positions, filename, overrides)
        raise ConfigValidationError(issues, hint="`batchctl schema` prints every key and its type") from exc


def load_config(path: Path, *, stage: str | None = None, region: str | None = None) -> JobsFile:
    """Read and validate jobs.yaml at `path`; `stage`/`region` override the file's values."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigNotFoundError(
            f"{path}: no such file", hint="run `batchctl init` to create jobs.yaml, or pass -c PATH"
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigSyntaxError(
            f"{path}: is a directory, not a YAML file", hint="pass -c PATH/jobs.yaml"
        ) from exc
    except OSError as exc:
        raise ConfigSyntaxError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigSyntaxError(
            f"{path}:1:1: the file is larger than {MAX_DOCUMENT_BYTES:,} bytes (5 MiB)",
            hint="jobs.yaml describes jobs; keep data in S3 or in the image",
        )
    start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    bad = raw.find(b"\x00")
    if bad >= 0:
        what = "binary data (a NUL byte)"
    else:
        try:
            text = raw[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = start + exc.start
            what = f"not UTF-8 text (byte 0x{raw[bad]:02x})"
        else:
            return parse_config(text, filename=str(path), stage=stage, region=region)
    line = raw.count(b"\n", 0, bad) + 1
    col = bad - (raw.rfind(b"\n", 0, bad) + 1) + 1
    raise ConfigSyntaxError(
        f"{path}:{line}:{col}: {what}", hint="is this a binary file? jobs.yaml must be UTF-8 text"
    )


def config_schema() -> dict[str, Any]:
    """JSON Schema of jobs.yaml, for editors (`batchctl schema`)."""
    return JobsFile.model_json_schema()
