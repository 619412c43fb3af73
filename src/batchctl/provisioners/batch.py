"""AWS Batch: managed compute environments and the job queues over them (job definitions: job_definition.py).

Imports: specs, aws, errors, naming, provisioners.base. Handles AWS-QUIRKS 1-3 (IAM propagation, instance profiles)
and 7-12 (disable → wait → delete orders, in-place update limits).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from batchctl.aws import Aws
from batchctl.config import FARGATE_TYPES
from batchctl.errors import AwsError, PlanError
from batchctl.naming import AwsContext
from batchctl.provisioners.base import POLL_INTERVAL_S, Observed, check_owned, observation, resolved
from batchctl.specs import (
    RUNNABLE_TIMEOUT_REASONS,
    AwsDict,
    ComputeEnvironmentSpec,
    JobQueueSpec,
    Key,
    Kind,
    Outputs,
    Ref,
)

log = logging.getLogger(__name__)

EC2_TYPES = frozenset({"EC2", "SPOT"})
# Batch changes instance types, subnets, security groups or the allocation strategy of an EC2/SPOT environment in
# place only with the service-linked role and one of these strategies; otherwise it must be replaced (QUIRKS 10).
IN_PLACE_STRATEGIES = frozenset(
    {"BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"}
)
# What DescribeComputeEnvironments reports for an EC2/SPOT environment created without an allocation strategy.
DEFAULT_ALLOCATION_STRATEGY = "BEST_FIT"

SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"
SERVICE_LINKED_ROLE_PATH = "/aws-service-role/batch.amazonaws.com/"

CLIENT_EXCEPTION = frozenset({"ClientException"})
# A role or instance profile minutes old is not usable everywhere yet (AWS-QUIRKS 1, 2): these phrases in a
# ClientException or an INVALID statusReason mean "try again shortly", not "wrong configuration".
PROPAGATION_MARKERS = (
    "not authorized to perform",
    "is not authorized to",
    "Invalid IamInstanceProfile",
    "Invalid IAM Instance Profile",
    "has no associated IAM Roles",
)
# Right after a queue stops referencing an environment, DeleteComputeEnvironment still refuses (AWS-QUIRKS 8).
QUEUE_RELATIONSHIP_MARKERS = ("JobQueue relationship",)

PROPAGATION_TIMEOUT_S = 120.0
QUEUE_RELATIONSHIP_TIMEOUT_S = 300.0
# A new EC2 environment can take a few minutes to turn VALID; deleting one waits for its ECS cluster to go.
STATUS_TIMEOUT_S = 600.0
DELETE_TIMEOUT_S = 900.0

SETTLED = frozenset({"VALID", "INVALID"})


# ---- helpers -------------------------------------------------------------------------------------------------
def _resolved(values: Iterable[str | Ref], *, key: Key, field: str) -> list[str]:
    """The IDs in a spec field (a list of IDs, each maybe a Ref the engine filled in)."""
    return [resolved(value, key=key, field=field) for value in values]


def _like_desired(live: Iterable[Any], desired: Sequence[str | Ref]) -> tuple[str, ...]:
    """Live IDs in the desired order when they are the same set (Batch keeps no order for these), else sorted."""
    found = sorted(str(v) for v in live)
    if all(isinstance(d, str) for d in desired) and found == sorted(str(d) for d in desired):
        return tuple(str(d) for d in desired)
    return tuple(found)


def _tag_changes(
    aws: Aws, *, key: Key, arn: str, desired: Mapping[str, str], live: Mapping[str, str]
) -> None:
    """Bring a Batch resource's tags from `live` to `desired` (TagResource is an upsert)."""
    if dict(desired) == dict(live):
        return
    stale = sorted(k for k in live if k not in desired)
    if stale:
        aws.call("batch", "untag_resource", key=key, resourceArn=arn, tagKeys=stale)
    if desired:
        aws.call("batch", "tag_resource", key=key, resourceArn=arn, tags=dict(desired))


def _invalid_error(key: Key, operation: str, reason: str) -> AwsError:
    return AwsError(
        f"batch {operation} failed for {key}: it became INVALID: {reason or 'no reason given'}",
        service="batch",
        operation=operation,
        code="INVALID",
        key=str(key),
        hint="fix what the reason names (roles, instance profile, subnets, security groups) and deploy again",
    )


def _is_propagation(reason: str) -> bool:
    return any(marker in reason for marker in PROPAGATION_MARKERS)


# ---- what compute environments and job queues share ----------------------------------------------------------
B = TypeVar("B", ComputeEnvironmentSpec, JobQueueSpec)


class _DisableThenDelete(Generic[B]):
    """Describe by name, wait until VALID/INVALID, and remove as AWS requires for both kinds: disable, wait until
    settled, delete, wait until gone (AWS-QUIRKS 7, 8, 9). Subclasses name their operations and fields."""

    DESCRIBE: ClassVar[str]  # e.g. describe_job_queues
    NAMES_PARAM: ClassVar[str]  # its list-of-names parameter and response field, e.g. jobQueues
    NAME_FIELD: ClassVar[str]  # the name field of one item, e.g. jobQueueName
    UPDATE: ClassVar[str]  # e.g. update_job_queue
    DELETE: ClassVar[str]  # e.g. delete_job_queue
    NAME_PARAM: ClassVar[str]  # the single-name parameter of UPDATE and DELETE, e.g. jobQueue

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def delete(self, observed: Observed[B]) -> None:
        self._remove(observed.state.key, observed.state.name)

    def _describe(self, key: Key, name: str) -> AwsDict | None:
        found = self.aws.call("batch", self.DESCRIBE, key=key, **{self.NAMES_PARAM: [name]})
        for item in found.get(self.NAMES_PARAM, []):
            if item.get(self.NAME_FIELD) == name and item.get("status") != "DELETED":
                result: AwsDict = item
                return result
        return None

    def _wait_settled(self, key: Key, name: str, *, what: str) -> AwsDict:
        """Wait until it is VALID or INVALID; an empty dict when it is gone."""

        def probe() -> AwsDict | None:
            item = self._describe(key, name)
            if item is None:
                return {}
            return item if item.get("status") in SETTLED else None

        return self.aws.wait_until(
            probe, what=what, timeout_s=STATUS_TIMEOUT_S, interval_s=POLL_INTERVAL_S, key=key
        )

    def _delete(self, key: Key, name: str) -> None:
        self.aws.call("batch", self.DELETE, key=key, **{self.NAME_PARAM: name})

    def _remove(self, key: Key, name: str) -> None:
        item = self._describe(key, name)
        if item is None:
            return
        if item.get("status") != "DELETING":
            if item.get("status") not in SETTLED:
                item = self._wait_settled(key, name, what=f"{key} to settle before deletion")
            if item and item.get("state") != "DISABLED":
                self.aws.call("batch", self.UPDATE, key=key, **{self.NAME_PARAM: name, "state": "DISABLED"})
                item = self._wait_settled(key, name, what=f"{key} to be disabled")
            if not item:
                return
            self._delete(key, name)
        self.aws.wait_until(
            lambda: True if self._describe(key, name) is None else None,
            what=f"{key} to be deleted",
            timeout_s=DELETE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=key,
        )

    def _remove_quietly(self, spec: B) -> None:
        # Cleanup after a failed create; the original error is what the user must see.
        try:
            self._remove(spec.key, spec.name)
        except AwsError as exc:
            log.debug("cleanup of %s failed: %s", spec.key, exc)


# ---- compute environments ------------------------------------------------------------------------------------
class ComputeEnvironmentProvisioner(_DisableThenDelete[ComputeEnvironmentSpec]):
    """MANAGED compute environment named exactly `spec.name` (FARGATE, FARGATE_SPOT, EC2 or SPOT)."""

    kind: ClassVar[Kind] = Kind.COMPUTE_ENVIRONMENT
    DESCRIBE = "describe_compute_environments"
    NAMES_PARAM = "computeEnvironments"
    NAME_FIELD = "computeEnvironmentName"
    UPDATE = "update_compute_environment"
    DELETE = "delete_compute_environment"
    NAME_PARAM = "computeEnvironment"

    @staticmethod
    def to_request(spec: ComputeEnvironmentSpec) -> AwsDict:
        """The CreateComputeEnvironment parameters for `spec` (without a service role when it names none)."""
        resources: AwsDict = {
            "type": spec.compute_type,
            "maxvCpus": spec.max_vcpus,
            "subnets": _resolved(spec.subnet_ids, key=spec.key, field="subnet_ids"),
            "securityGroupIds": _resolved(spec.security_group_ids, key=spec.key, field="security_group_ids"),
        }
        if spec.compute_type in EC2_TYPES:
            resources["minvCpus"] = spec.min_vcpus
            resources["instanceTypes"] = list(spec.instance_types)
            resources["instanceRole"] = spec.instance_role_arn
            if spec.allocation_strategy:
                resources["allocationStrategy"] = spec.allocation_strategy
            if spec.instance_tags:
                resources["tags"] = dict(spec.instance_tags)
        params: AwsDict = {
            "computeEnvironmentName": spec.name,
            "type": "MANAGED",
            "state": spec.state,
            "computeResources": resources,
        }
        if spec.service_role_arn:
            params["serviceRole"] = spec.service_role_arn
        if spec.tags:
            params["tags"] = dict(spec.tags)
        return params

    @staticmethod
    def from_described(
        item: AwsDict, *, desired: ComputeEnvironmentSpec | None = None
    ) -> ComputeEnvironmentSpec:
        """A DescribeComputeEnvironments item in the spec's shape. AWS's defaults read as what `desired` leaves out
        (no allocation strategy, the service-linked role as no service role) and ID lists keep its order."""
        resources: AwsDict = item.get("computeResources") or {}
        allocation = resources.get("allocationStrategy")
        if allocation == DEFAULT_ALLOCATION_STRATEGY and (
            desired is None or desired.allocation_strategy is None
        ):
            allocation = None
        role = str(item.get("serviceRole") or "")
        # The service-linked role stands for "no service role given" (what AWS uses when serviceRole is absent).
        if f":role{SERVICE_LINKED_ROLE_PATH}" in role and (
            desired is None or desired.service_role_arn is None
        ):
            role = ""
        return ComputeEnvironmentSpec(
            name=str(item["computeEnvironmentName"]),
            compute_type=str(resources.get("type", "")),
            max_vcpus=int(resources.get("maxvCpus", 0)),
            subnet_ids=_like_desired(resources.get("subnets") or [], desired.subnet_ids if desired else ()),
            security_group_ids=_like_desired(
                resources.get("securityGroupIds") or [], desired.security_group_ids if desired else ()
            ),
            min_vcpus=int(resources.get("minvCpus", 0)),
            instance_types=_like_desired(
                resources.get("instanceTypes") or [], desired.instance_types if desired else ()
            ),
            instance_role_arn=str(resources["instanceRole"]) if resources.get("instanceRole") else None,
            allocation_strategy=str(allocation) if allocation else None,
            service_role_arn=role or None,
            state=str(item.get("state", "ENABLED")),
            instance_tags={str(k): str(v) for k, v in (resources.get("tags") or {}).items()},
            tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
        )

    def read(self, spec: ComputeEnvironmentSpec) -> Observed[ComputeEnvironmentSpec] | None:
        env = self._describe(spec.key, spec.name)
        if env is None:
            return None
        state = self.from_described(env, desired=spec)
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, {"arn": str(env["computeEnvironmentArn"])})

    def create(self, spec: ComputeEnvironmentSpec) -> Outputs:
        self._check(spec)
        params = self.to_request(spec)
        if "serviceRole" not in params:
            # moto requires serviceRole; AWS would use the service-linked role when it is absent. We name it.
            params["serviceRole"] = self._service_linked_role(spec.key)

        deadline = self.aws.clock() + PROPAGATION_TIMEOUT_S
        delay = min(1.0, POLL_INTERVAL_S)
        while True:
            created = self.aws.retry_on(
                lambda: self.aws.call("batch", "create_compute_environment", key=spec.key, **params),
                codes=CLIENT_EXCEPTION,
                messages=PROPAGATION_MARKERS,
                what=f"{spec.key}: its roles to propagate",
                timeout_s=PROPAGATION_TIMEOUT_S,
                interval_s=POLL_INTERVAL_S,
            )
            try:
                env = self._wait_settled(spec.key, spec.name, what=f"{spec.key} to become VALID")
            except AwsError:
                self._remove_quietly(spec)
                raise
            if not env:
                raise AwsError(
                    f"batch CreateComputeEnvironment failed for {spec.key}: it disappeared while being created",
                    service="batch",
                    operation="CreateComputeEnvironment",
                    key=str(spec.key),
                )
            if env.get("status") == "VALID":
                return {"arn": str(created.get("computeEnvironmentArn") or env["computeEnvironmentArn"])}
            reason = str(env.get("statusReason", ""))
            # An INVALID environment is not repaired by waiting: delete it, and try again only when the reason is
            # IAM propagation (a role or profile created moments ago, AWS-QUIRKS 1, 2).
            self._remove_quietly(spec)
            if not _is_propagation(reason) or self.aws.clock() >= deadline:
                raise _invalid_error(spec.key, "CreateComputeEnvironment", reason)
            log.debug("%s INVALID while IAM propagates (%s); creating it again", spec.key, reason)
            self.aws.sleep(delay)
            delay = min(delay * 2, POLL_INTERVAL_S)

    def update(self, spec: ComputeEnvironmentSpec, observed: Observed[ComputeEnvironmentSpec]) -> Outputs:
        before = observed.state
        self._check(spec)
        scaling: AwsDict = {}
        if spec.max_vcpus != before.max_vcpus:
            scaling["maxvCpus"] = spec.max_vcpus
        if spec.min_vcpus != before.min_vcpus and spec.compute_type in EC2_TYPES:
            scaling["minvCpus"] = spec.min_vcpus
        infrastructure: AwsDict = {}
        if spec.subnet_ids != before.subnet_ids:
            infrastructure["subnets"] = _resolved(spec.subnet_ids, key=spec.key, field="subnet_ids")
        if spec.security_group_ids != before.security_group_ids:
            infrastructure["securityGroupIds"] = _resolved(
                spec.security_group_ids, key=spec.key, field="security_group_ids"
            )
        if spec.compute_type in EC2_TYPES:
            if spec.instance_types != before.instance_types:
                infrastructure["instanceTypes"] = list(spec.instance_types)
            if spec.allocation_strategy != before.allocation_strategy and spec.allocation_strategy:
                infrastructure["allocationStrategy"] = spec.allocation_strategy
            if dict(spec.instance_tags) != dict(before.instance_tags):
                infrastructure["tags"] = dict(spec.instance_tags)
            if infrastructure:
                self._check_in_place(spec, before, sorted(infrastructure))
        params: AwsDict = {}
        if scaling or infrastructure:
            params["computeResources"] = {**scaling, **infrastructure}
        if spec.state != before.state:
            params["state"] = spec.state
        arn = observed.outputs.get("arn") or self._arn(spec.name)
        if params:
            self.aws.call(
                "batch", "update_compute_environment", key=spec.key, computeEnvironment=spec.name, **params
            )
            env = self._wait_settled(spec.key, spec.name, what=f"{spec.key} to become VALID after the update")
            if env.get("status") != "VALID":
                reason = str(env.get("statusReason", "")) if env else "it disappeared"
                raise _invalid_error(spec.key, "UpdateComputeEnvironment", reason)
        _tag_changes(self.aws, key=spec.key, arn=arn, desired=spec.tags, live=before.tags)
        return {"arn": arn}

    def _delete(self, key: Key, name: str) -> None:
        """A queue being deleted still holds the environment for a while (AWS-QUIRKS 8): retry until it lets go."""
        delete = super()._delete
        self.aws.retry_on(
            lambda: delete(key, name),
            codes=CLIENT_EXCEPTION,
            messages=QUEUE_RELATIONSHIP_MARKERS,
            what=f"{key}: its job queues to let go",
            timeout_s=QUEUE_RELATIONSHIP_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
        )

    def _service_linked_role(self, key: Key) -> str:
        """ARN of Batch's service-linked role, created when the account has none yet."""
        try:
            role = self.aws.call("iam", "get_role", key=key, RoleName=SERVICE_LINKED_ROLE)["Role"]
            return str(role["Arn"])
        except AwsError as exc:
            if exc.code != "NoSuchEntity":
                raise
        try:
            created = self.aws.call(
                "iam", "create_service_linked_role", key=key, AWSServiceName="batch.amazonaws.com"
            )
            return str(created["Role"]["Arn"])
        except AwsError as exc:
            # Created meanwhile by a concurrent run (AWS: InvalidInput "has been taken"). moto names the role
            # AWSServiceRoleForbatch, so GetRole by the documented name never finds it: look it up by its path.
            if exc.code not in ("InvalidInput", "EntityAlreadyExists"):
                raise
            for page in self.aws.pages("iam", "list_roles", key=key, PathPrefix=SERVICE_LINKED_ROLE_PATH):
                for role in page.get("Roles", []):
                    if str(role["RoleName"]).lower() == SERVICE_LINKED_ROLE.lower():
                        return str(role["Arn"])
            raise

    def _check(self, spec: ComputeEnvironmentSpec) -> None:
        """Refuse, before any call, what Batch would accept and then leave INVALID or reject."""
        problems: list[str] = []
        if spec.compute_type in EC2_TYPES:
            if not spec.instance_role_arn:
                problems.append(
                    f"a {spec.compute_type} environment needs an instance profile (instance_role_arn)"
                )
            elif ":instance-profile/" not in spec.instance_role_arn:
                # AWS-QUIRKS 3: a role ARN is accepted by the API and leaves the environment INVALID.
                problems.append(
                    f"instance_role_arn {spec.instance_role_arn} is not an instance profile ARN "
                    "(arn:...:iam::ACCOUNT:instance-profile/NAME)"
                )
            if not spec.instance_types:
                problems.append(f"a {spec.compute_type} environment needs instance types")
            if spec.min_vcpus > spec.max_vcpus:
                problems.append(f"min_vcpus {spec.min_vcpus} exceeds max_vcpus {spec.max_vcpus}")
        elif spec.compute_type in FARGATE_TYPES:
            if spec.instance_types or spec.instance_role_arn or spec.allocation_strategy or spec.min_vcpus:
                problems.append(
                    "instance types, instance role, allocation strategy and min vCPUs do not apply to Fargate"
                )
        else:
            problems.append(
                f"compute type {spec.compute_type!r} is not one of EC2, SPOT, FARGATE, FARGATE_SPOT"
            )
        if spec.max_vcpus <= 0:
            problems.append("max_vcpus must be greater than 0")
        if problems:
            raise PlanError(
                f"{spec.key} cannot be created or updated: " + "; ".join(problems),
                hint="fix the compute settings in jobs.yaml",
            )

    @staticmethod
    def _check_in_place(
        spec: ComputeEnvironmentSpec, before: ComputeEnvironmentSpec, fields: list[str]
    ) -> None:
        # AWS-QUIRKS 10: infrastructure updates need the service-linked role and an in-place strategy.
        strategies_ok = (
            before.allocation_strategy in IN_PLACE_STRATEGIES
            and spec.allocation_strategy in IN_PLACE_STRATEGIES
        )
        if spec.service_role_arn is None and strategies_ok:
            return
        raise PlanError(
            f"{spec.key}: Batch cannot change {', '.join(fields)} in place here (that needs the service-linked "
            f"role and allocation strategy {' / '.join(sorted(IN_PLACE_STRATEGIES))})",
            hint="replace the compute environment: deploy with --allow-replace after renaming it, or destroy first",
        )

    def _arn(self, name: str) -> str:
        return self.aws.context().arn("batch", f"compute-environment/{name}")


# ---- job queues ----------------------------------------------------------------------------------------------
class JobQueueProvisioner(_DisableThenDelete[JobQueueSpec]):
    """Job queue named exactly `spec.name` over compute environments in order; cancels jobs stuck RUNNABLE."""

    kind: ClassVar[Kind] = Kind.JOB_QUEUE
    DESCRIBE = "describe_job_queues"
    NAMES_PARAM = "jobQueues"
    NAME_FIELD = "jobQueueName"
    UPDATE = "update_job_queue"
    DELETE = "delete_job_queue"
    NAME_PARAM = "jobQueue"

    @staticmethod
    def to_request(spec: JobQueueSpec) -> AwsDict:
        """The CreateJobQueue parameters for `spec`."""
        params: AwsDict = {
            "jobQueueName": spec.name,
            "state": spec.state,
            "priority": spec.priority,
            "computeEnvironmentOrder": _environment_order(spec.compute_environment_arns),
        }
        if spec.runnable_timeout_s is not None:
            params["jobStateTimeLimitActions"] = _time_limit_actions(spec.runnable_timeout_s)
        if spec.tags:
            params["tags"] = dict(spec.tags)
        return params

    @staticmethod
    def update_request(spec: JobQueueSpec, before: JobQueueSpec) -> AwsDict:
        """The UpdateJobQueue parameters (besides jobQueue) that bring `before` to `spec`; empty when none differ.
        An empty jobStateTimeLimitActions removes the runnable timeout."""
        params: AwsDict = {}
        if spec.state != before.state:
            params["state"] = spec.state
        if spec.priority != before.priority:
            params["priority"] = spec.priority
        if spec.compute_environment_arns != before.compute_environment_arns:
            params["computeEnvironmentOrder"] = _environment_order(spec.compute_environment_arns)
        if spec.runnable_timeout_s != before.runnable_timeout_s:
            params["jobStateTimeLimitActions"] = (
                [] if spec.runnable_timeout_s is None else _time_limit_actions(spec.runnable_timeout_s)
            )
        return params

    @staticmethod
    def from_described(item: AwsDict, *, ctx: AwsContext) -> JobQueueSpec:
        """A DescribeJobQueues item in the spec's shape; compute environments named by name (as moto and older
        AWS answers give them) read as their ARNs in `ctx`."""
        order = sorted(item.get("computeEnvironmentOrder") or [], key=lambda o: int(o["order"]))
        environments = [str(o["computeEnvironment"]) for o in order]
        return JobQueueSpec(
            name=str(item["jobQueueName"]),
            compute_environment_arns=tuple(
                e if e.startswith("arn:") else ctx.arn("batch", f"compute-environment/{e}")
                for e in environments
            ),
            priority=int(item.get("priority", 1)),
            state=str(item.get("state", "ENABLED")),
            runnable_timeout_s=_runnable_timeout(item.get("jobStateTimeLimitActions") or []),
            tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
        )

    def read(self, spec: JobQueueSpec) -> Observed[JobQueueSpec] | None:
        queue = self._describe(spec.key, spec.name)
        if queue is None:
            return None
        state = self.from_described(queue, ctx=self.aws.context())
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, {"arn": str(queue["jobQueueArn"])})

    def create(self, spec: JobQueueSpec) -> Outputs:
        created = self.aws.call("batch", "create_job_queue", key=spec.key, **self.to_request(spec))
        try:
            queue = self._wait_settled(spec.key, spec.name, what=f"{spec.key} to become VALID")
            if queue.get("status") != "VALID":
                reason = str(queue.get("statusReason", "")) if queue else "it disappeared"
                raise _invalid_error(spec.key, "CreateJobQueue", reason)
        except AwsError:
            self._remove_quietly(spec)
            raise
        return {"arn": str(created["jobQueueArn"])}

    def update(self, spec: JobQueueSpec, observed: Observed[JobQueueSpec]) -> Outputs:
        before = observed.state
        params = self.update_request(spec, before)
        arn = observed.outputs.get("arn") or self.aws.context().arn("batch", f"job-queue/{spec.name}")
        if params:
            self.aws.call("batch", "update_job_queue", key=spec.key, jobQueue=spec.name, **params)
            queue = self._wait_settled(
                spec.key, spec.name, what=f"{spec.key} to become VALID after the update"
            )
            if queue.get("status") != "VALID":
                reason = str(queue.get("statusReason", "")) if queue else "it disappeared"
                raise _invalid_error(spec.key, "UpdateJobQueue", reason)
        _tag_changes(self.aws, key=spec.key, arn=arn, desired=spec.tags, live=before.tags)
        return {"arn": arn}


def _environment_order(arns: Sequence[str]) -> list[AwsDict]:
    return [{"order": index, "computeEnvironment": arn} for index, arn in enumerate(arns, start=1)]


def _time_limit_actions(timeout_s: int) -> list[AwsDict]:
    return [
        {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": timeout_s, "action": "CANCEL"}
        for reason in RUNNABLE_TIMEOUT_REASONS
    ]


def _runnable_timeout(actions: Iterable[AwsDict]) -> int | None:
    """The RUNNABLE timeout the queue's actions for our reasons express (others are not ours to manage): None
    without any, the time when they are exactly the actions we set, else 0, which no valid setting has, so the plan
    shows an update that sets them (a queue deployed with a free-text reason AWS never matches is one)."""
    ours = [
        a
        for a in actions
        if a.get("state") == "RUNNABLE"
        and (a.get("reason") in RUNNABLE_TIMEOUT_REASONS or str(a.get("reason", "")).startswith("batchctl"))
    ]
    if not ours:
        return None
    times = {int(a.get("maxTimeSeconds", 0)) for a in ours}
    cancels = all(str(a.get("action", "")).upper() == "CANCEL" for a in ours)
    exact = sorted(str(a.get("reason")) for a in ours) == sorted(RUNNABLE_TIMEOUT_REASONS)
    return times.pop() if exact and cancels and len(times) == 1 else 0
