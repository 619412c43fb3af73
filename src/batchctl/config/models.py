"""The jobs.yaml models (pydantic v2): field types, one model per section, JobsFile; the constants they share.

Imports: cron, yamlpos (KeyPath), pydantic, stdlib; JobsFile's validator calls rules.py, which reads these models.
A model's own rules raise one `batchctl_rules` error listing every broken rule (see issues.py for positions).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from batchctl.config import awsvalues, extras
from batchctl.config.expressions import cron_problem, rate_problem, timezone_problem
from batchctl.yamlpos import KeyPath

DEFAULT_CIDR = "10.20.0.0/24"
# The workflow passes exactly these Batch parameters to every step (DESIGN §4), so only these `Ref::` fill in; every
# job definition declares them with "" defaults, so `Ref::body` etc. become "" when a run does not set them.
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

NAME_PATTERN = r"^[a-z][a-z0-9-]*$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
LAMBDA_ARN = r"^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+|ssm:[a-z0-9-]+:\d{12}:parameter/.+)"
)
RULES_ERROR = "batchctl_rules"


# ---- broken rules, raised as one pydantic error ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One broken cross-field rule, positioned relative to the model that found it.

    `involves` lists every key whose value the rule read (default: `loc`); when salvaging a partly invalid file
    (see issues.collect_issues) a rule that read a dropped key is not reported, since the user never wrote that state.
    """

    loc: KeyPath
    message: str
    involves: tuple[KeyPath, ...] = ()


def raise_rules(rules: Sequence[Rule]) -> None:
    """Raise every broken rule at once, as one pydantic error that issues.py expands again."""
    if rules:
        summary = "; ".join(f"{'.'.join(map(str, r.loc)) or '<root>'}: {r.message}" for r in rules)
        raise PydanticCustomError(RULES_ERROR, "{summary}", {"summary": summary, "rules": tuple(rules)})


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
    return awsvalues.check_tag_key_text(key)


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
ResourceName = Annotated[str, Field(pattern=NAME_PATTERN)]
TagKey = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_check_tag_key)]
TagValue = Annotated[str, Field(max_length=256), AfterValidator(awsvalues.check_tag_value)]
KmsKeyArn = Annotated[str, AfterValidator(awsvalues.check_kms_key_arn)]
Tags = Annotated[dict[TagKey, TagValue], AfterValidator(awsvalues.check_tag_count)]


class _Model(BaseModel):
    # coerce_numbers_to_str: `command: [sleep, 30]` and `PORT: 8080` mean text; allow_inf_nan: `.nan` is no size.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)


# ---- schedule expressions ------------------------------------------------------------------------------------


# ---- models ---------------------------------------------------------------------------------------------------


class ImageConfig(_Model):
    """The job image: built from `context`/`dockerfile` and pushed to ECR, or a prebuilt `uri`."""

    context: Annotated[str, Field(min_length=1)] = "."
    dockerfile: Annotated[str, Field(min_length=1)] = "Dockerfile"
    uri: Annotated[str, Field(pattern=r"^\S+$")] | None = None
    build_args: dict[str, str] = Field(default_factory=dict)
    keep_images: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=1000)] = 10
    # What the image is built for and the jobs run on (Fargate's runtimePlatform; EC2 instance types must match).
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"

    @model_validator(mode="after")
    def _uri_or_build(self) -> Self:
        if self.uri is not None:
            raise_rules(
                [
                    Rule((key,), f"{key} is for building an image; with uri the image is used as it is")
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
        rules: list[Rule] = []
        existing = [k for k in ("vpc_id", "subnet_ids", "security_group_ids") if getattr(self, k)]
        if self.cidr is not None and existing:
            rules.append(
                Rule(
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
                        Rule(
                            loc,
                            f"an existing network needs {key} too (vpc_id, subnet_ids, security_group_ids)",
                            involves=((key,),),
                        )
                    )
        raise_rules(rules)
        return self


class ComputeConfig(_Model, extras.ComputeKeys):
    """The Batch compute environment shared by every job of the stage."""

    type: Literal["FARGATE", "FARGATE_SPOT", "EC2", "SPOT"] = "FARGATE_SPOT"
    max_vcpus: PositiveInt = 16
    min_vcpus: Annotated[int, BeforeValidator(_no_bool), Field(ge=0)] = 0
    instance_types: Annotated[list[Annotated[str, Field(pattern=r"^\S+$")]], Field(min_length=1)] | None = (
        None
    )
    runnable_timeout_s: Annotated[int, BeforeValidator(_no_bool), Field(ge=600, le=86400)] = 1800
    instance_role: extras.RoleBlock[Permission] | None = None  # EC2/SPOT: more for the instances' role
    execution_role: extras.RoleBlock[Permission] | None = None  # more for the execution role (pull, logs)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        rules: list[Rule] = []
        if self.type in FARGATE_TYPES:
            if self.min_vcpus:
                rules.append(
                    Rule(
                        ("min_vcpus",),
                        "min_vcpus is for EC2/SPOT; Fargate keeps no instances",
                        involves=(("min_vcpus",), ("type",)),
                    )
                )
            # [optimal] is the EC2 default and means nothing on Fargate (DESIGN §2 writes it); others would be lost.
            if self.instance_types is not None and self.instance_types != ["optimal"]:
                rules.append(
                    Rule(
                        ("instance_types",),
                        "instance_types is for EC2/SPOT; Fargate picks its own capacity",
                        involves=(("instance_types",), ("type",)),
                    )
                )
        elif self.min_vcpus > self.max_vcpus:
            rules.append(
                Rule(
                    ("min_vcpus",),
                    f"min_vcpus ({self.min_vcpus}) is above max_vcpus ({self.max_vcpus})",
                    involves=(("min_vcpus",), ("max_vcpus",)),
                )
            )
        raise_rules(rules)
        return self


class Defaults(_Model, extras.DefaultsKeys):
    """What every job and step gets unless it says otherwise."""

    vcpus: PositiveNumber = 1
    memory_mib: PositiveInt = 2048
    gpus: GpuCount = 0
    timeout_s: TimeoutSeconds | None = 3600  # null: no Batch timeout
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
    on_success_lambda: Annotated[str, Field(pattern=LAMBDA_ARN)] | None = None
    on_failure_lambda: Annotated[str, Field(pattern=LAMBDA_ARN)] | None = None

    @model_validator(mode="after")
    def _emails_need_topic(self) -> Self:
        if self.emails and not self.topic:
            raise_rules(
                [
                    Rule(
                        ("emails",),
                        "emails subscribe to the topic: set topic: true or drop emails",
                        involves=(("emails",), ("topic",)),
                    )
                ]
            )
        return self


class JobNotifyConfig(_Model):
    """A job's own handlers: each one set replaces the stage's (`notify.on_*_lambda`) for this job."""

    on_success_lambda: Annotated[str, Field(pattern=LAMBDA_ARN)] | None = None
    on_failure_lambda: Annotated[str, Field(pattern=LAMBDA_ARN)] | None = None


class Permission(_Model):
    """One extra IAM statement for the job's own role."""

    actions: Annotated[list[Annotated[str, AfterValidator(_check_action)]], Field(min_length=1)]
    resources: Annotated[list[Annotated[str, AfterValidator(_check_resource)]], Field(min_length=1)]


class QueueConfig(_Model, extras.QueueKeys):
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
            raise_rules(
                [
                    Rule(
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

    name: Annotated[str, Field(min_length=1, max_length=32, pattern=NAME_PATTERN)]
    command: Command
    vcpus: PositiveNumber | None = None
    memory_mib: PositiveInt | None = None
    gpus: GpuCount | None = None
    timeout_s: TimeoutSeconds | None = None
    retries: Retries | None = None
    environment: dict[EnvName, str] = Field(default_factory=dict)
    array_size: ArraySize | None = None


class JobConfig(_Model, extras.JobKeys):
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
    notify: JobNotifyConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        rules: list[Rule] = []
        both = (("command",), ("steps",))
        if self.command is not None and self.steps is not None:
            rules.append(Rule(("steps",), "give either command (one container) or steps, not both", both))
        elif self.command is None and self.steps is None:
            rules.append(Rule((), "a job needs command (one container) or steps (several in sequence)", both))
        for name in self.environment.keys() & self.secrets.keys():
            rules.append(
                Rule(
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
                    Rule(
                        ("steps", index, "name"),
                        f"step name {step.name!r} is already used by steps[{first}]",
                        involves=(("steps", index, "name"), ("steps", first, "name")),
                    )
                )
            seen.setdefault(step.name, index)
            for name in sorted(step.environment.keys() & self.secrets.keys()):
                loc: KeyPath = ("steps", index, "environment", name)
                rules.append(
                    Rule(
                        loc,
                        f"{name} is also set in the job's secrets; keep one",
                        involves=(loc, ("secrets", name)),
                    )
                )
        raise_rules(rules)
        return self


class JobsFile(_Model):
    """The whole jobs.yaml (DESIGN §2)."""

    version: Literal[1]
    project: Annotated[str, Field(min_length=1, max_length=20, pattern=NAME_PATTERN)]
    stage: Annotated[str, Field(min_length=1, max_length=16, pattern=NAME_PATTERN)]
    region: Annotated[str, Field(pattern=REGION_PATTERN)] | None = None
    tags: Tags = Field(default_factory=dict)
    image: ImageConfig = Field(default_factory=ImageConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    workflow_logs: extras.WorkflowLogs = Field(default_factory=extras.WorkflowLogs)
    jobs: Annotated[dict[ResourceName, JobConfig], Field(min_length=1)]
    # Customer-managed KMS keys of the jobs' secrets: the execution role (one per stage) may kms:Decrypt with them.
    secrets_kms_keys: list[KmsKeyArn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        # rules.py reads the finished models (and steps.py), so it is imported here rather than at the top.
        from batchctl.config.rules import cross_field_rules

        raise_rules(cross_field_rules(self))
        return self
