"""AWS Batch: managed compute environments, job queues and container job definitions.

Imports: specs, aws, errors, provisioners.base. Handles AWS-QUIRKS 1-3 (IAM propagation, instance profiles) and
7-15 (disable → wait → delete orders, in-place update limits, job definition revisions and their normalization).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from batchctl.aws import Aws
from batchctl.config import FARGATE_TYPES
from batchctl.errors import AwsError, PlanError
from batchctl.provisioners.base import Hints, check_owned, prefetching
from batchctl.specs import (
    AwsDict,
    ComputeEnvironmentSpec,
    JobDefinitionSpec,
    JobQueueSpec,
    Key,
    Kind,
    Observed,
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
POLL_INTERVAL_S = 5.0

SETTLED = frozenset({"VALID", "INVALID"})
RUNNABLE_TIMEOUT_REASON = "batchctl: RUNNABLE longer than runnable_timeout_s"
# Old job definition revisions stay ACTIVE for in-flight runs (AWS-QUIRKS 14); older ones than these are retired.
KEEP_REVISIONS = 3


# ---- helpers -------------------------------------------------------------------------------------------------
def _resolved(values: Iterable[str | Ref], *, key: Key, field: str) -> list[str]:
    """The IDs in a spec field; a Ref still unfilled at create/update time is a bug in the caller."""
    out: list[str] = []
    for value in values:
        if isinstance(value, Ref):
            raise TypeError(
                f"{key}: {field} is still {value.key}.{value.attr}; the engine must fill Refs first"
            )
        out.append(value)
    return out


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
class _DisableThenDelete:
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

    def delete(self, observed: Observed) -> None:
        spec: ComputeEnvironmentSpec | JobQueueSpec = observed.state
        self._remove(spec.key, spec.name)

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

    def _remove_quietly(self, spec: ComputeEnvironmentSpec | JobQueueSpec) -> None:
        # Cleanup after a failed create; the original error is what the user must see.
        try:
            self._remove(spec.key, spec.name)
        except AwsError as exc:
            log.debug("cleanup of %s failed: %s", spec.key, exc)


# ---- compute environments ------------------------------------------------------------------------------------
class ComputeEnvironmentProvisioner(_DisableThenDelete):
    """MANAGED compute environment named exactly `spec.name` (FARGATE, FARGATE_SPOT, EC2 or SPOT)."""

    kind: ClassVar[Kind] = Kind.COMPUTE_ENVIRONMENT
    DESCRIBE = "describe_compute_environments"
    NAMES_PARAM = "computeEnvironments"
    NAME_FIELD = "computeEnvironmentName"
    UPDATE = "update_compute_environment"
    DELETE = "delete_compute_environment"
    NAME_PARAM = "computeEnvironment"

    def read(self, spec: ComputeEnvironmentSpec) -> Observed | None:
        env = self._describe(spec.key, spec.name)
        if env is None:
            return None
        tags = {str(k): str(v) for k, v in (env.get("tags") or {}).items()}
        check_owned(spec.key, spec.tags, tags)
        resources: AwsDict = env.get("computeResources") or {}
        compute_type = str(resources.get("type", ""))
        allocation = resources.get("allocationStrategy")
        if allocation == DEFAULT_ALLOCATION_STRATEGY and spec.allocation_strategy is None:
            allocation = None
        state = ComputeEnvironmentSpec(
            name=spec.name,
            compute_type=compute_type,
            max_vcpus=int(resources.get("maxvCpus", 0)),
            subnet_ids=_like_desired(resources.get("subnets") or [], spec.subnet_ids),
            security_group_ids=_like_desired(
                resources.get("securityGroupIds") or [], spec.security_group_ids
            ),
            min_vcpus=int(resources.get("minvCpus", 0)),
            instance_types=_like_desired(resources.get("instanceTypes") or [], spec.instance_types),
            instance_role_arn=str(resources["instanceRole"]) if resources.get("instanceRole") else None,
            allocation_strategy=str(allocation) if allocation else None,
            service_role_arn=self._observed_service_role(env, spec),
            state=str(env.get("state", "ENABLED")),
            tags=tags,
            depends_on=spec.depends_on,
        )
        return Observed(state, {"arn": str(env["computeEnvironmentArn"])})

    def create(self, spec: ComputeEnvironmentSpec) -> Outputs:
        self._check(spec)
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
        params: AwsDict = {
            "computeEnvironmentName": spec.name,
            "type": "MANAGED",
            "state": spec.state,
            "computeResources": resources,
            # moto requires serviceRole; AWS would use the service-linked role when it is absent. We name it.
            "serviceRole": spec.service_role_arn or self._service_linked_role(spec.key),
        }
        if spec.tags:
            params["tags"] = dict(spec.tags)

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

    def update(self, spec: ComputeEnvironmentSpec, observed: Observed) -> Outputs:
        before: ComputeEnvironmentSpec = observed.state
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

    @staticmethod
    def _observed_service_role(env: AwsDict, spec: ComputeEnvironmentSpec) -> str | None:
        role = env.get("serviceRole")
        if not role:
            return None
        arn = str(role)
        # The service-linked role stands for "no service role given" (what AWS uses when serviceRole is absent).
        if spec.service_role_arn is None and f":role{SERVICE_LINKED_ROLE_PATH}" in arn:
            return None
        return arn

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
class JobQueueProvisioner(_DisableThenDelete):
    """Job queue named exactly `spec.name` over compute environments in order; cancels jobs stuck RUNNABLE."""

    kind: ClassVar[Kind] = Kind.JOB_QUEUE
    DESCRIBE = "describe_job_queues"
    NAMES_PARAM = "jobQueues"
    NAME_FIELD = "jobQueueName"
    UPDATE = "update_job_queue"
    DELETE = "delete_job_queue"
    NAME_PARAM = "jobQueue"

    def read(self, spec: JobQueueSpec) -> Observed | None:
        queue = self._describe(spec.key, spec.name)
        if queue is None:
            return None
        tags = {str(k): str(v) for k, v in (queue.get("tags") or {}).items()}
        check_owned(spec.key, spec.tags, tags)
        order = sorted(queue.get("computeEnvironmentOrder") or [], key=lambda o: int(o["order"]))
        state = JobQueueSpec(
            name=spec.name,
            # moto (and older AWS answers) may give names where we sent ARNs.
            compute_environment_arns=tuple(
                self._environment_arn(str(o["computeEnvironment"])) for o in order
            ),
            priority=int(queue.get("priority", 1)),
            state=str(queue.get("state", "ENABLED")),
            runnable_timeout_s=_runnable_timeout(queue.get("jobStateTimeLimitActions") or []),
            tags=tags,
            depends_on=spec.depends_on,
        )
        return Observed(state, {"arn": str(queue["jobQueueArn"])})

    def create(self, spec: JobQueueSpec) -> Outputs:
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
        created = self.aws.call("batch", "create_job_queue", key=spec.key, **params)
        try:
            queue = self._wait_settled(spec.key, spec.name, what=f"{spec.key} to become VALID")
            if queue.get("status") != "VALID":
                reason = str(queue.get("statusReason", "")) if queue else "it disappeared"
                raise _invalid_error(spec.key, "CreateJobQueue", reason)
        except AwsError:
            self._remove_quietly(spec)
            raise
        return {"arn": str(created["jobQueueArn"])}

    def update(self, spec: JobQueueSpec, observed: Observed) -> Outputs:
        before: JobQueueSpec = observed.state
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

    def _environment_arn(self, value: str) -> str:
        if value.startswith("arn:"):
            return value
        return self.aws.context().arn("batch", f"compute-environment/{value}")


def _environment_order(arns: Sequence[str]) -> list[AwsDict]:
    return [{"order": index, "computeEnvironment": arn} for index, arn in enumerate(arns, start=1)]


def _time_limit_actions(timeout_s: int) -> list[AwsDict]:
    return [
        {
            "reason": RUNNABLE_TIMEOUT_REASON,
            "state": "RUNNABLE",
            "maxTimeSeconds": timeout_s,
            "action": "CANCEL",
        }
    ]


def _runnable_timeout(actions: Iterable[AwsDict]) -> int | None:
    """maxTimeSeconds of the RUNNABLE → CANCEL action; other actions are not ours to manage."""
    for action in actions:
        if action.get("state") == "RUNNABLE" and str(action.get("action", "")).upper() == "CANCEL":
            return int(action["maxTimeSeconds"])
    return None


# ---- job definitions -----------------------------------------------------------------------------------------
class JobDefinitionProvisioner:
    """Container job definition named `spec.name`: read is the latest ACTIVE revision, a change a new revision."""

    kind: ClassVar[Kind] = Kind.JOB_DEFINITION

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.hints: Hints[list[AwsDict]] = Hints()

    def prefetch(self, specs: Sequence[JobDefinitionSpec]) -> None:
        """Every ACTIVE job definition of the account in one paged DescribeJobDefinitions (100 a page; a list of
        names is not accepted, only name:revision), instead of one call per name."""

        def fetch() -> None:
            wanted = {spec.name for spec in specs}
            active: dict[str, list[AwsDict]] = {}
            for page in self.aws.pages(
                "batch", "describe_job_definitions", key="job definitions", status="ACTIVE", maxResults=100
            ):
                for definition in page.get("jobDefinitions", []):
                    name = definition.get("jobDefinitionName")
                    if name in wanted and definition.get("status") == "ACTIVE":
                        active.setdefault(str(name), []).append(definition)
            # The same DescribeJobDefinitions (status ACTIVE) that `read` makes by name: what it lacks is absent.
            self.hints.put(
                {n: sorted(found, key=lambda d: int(d["revision"])) for n, found in active.items()},
                absent=wanted - set(active),
            )

        prefetching("job definitions", fetch)

    def read(self, spec: JobDefinitionSpec) -> Observed | None:
        if self.hints.absent(spec.name):
            return None
        active = self.hints.take(spec.name) or self._active(spec.key, spec.name)
        if not active:
            return None
        latest = active[-1]
        tags = {str(k): str(v) for k, v in (latest.get("tags") or {}).items()}
        check_owned(spec.key, spec.tags, tags)
        return Observed(self._normalize(latest, spec, tags), _outputs(latest))

    def create(self, spec: JobDefinitionSpec) -> Outputs:
        self._check(spec)
        return self._register(spec)

    def update(self, spec: JobDefinitionSpec, observed: Observed) -> Outputs:
        # A job definition cannot change: a new revision becomes the latest ACTIVE one, which Batch runs for a
        # name without revision. Earlier revisions stay ACTIVE for runs in flight (AWS-QUIRKS 14).
        self._check(spec)
        outputs = self._register(spec)
        active = self._active(spec.key, spec.name)
        for old in active[:-KEEP_REVISIONS]:
            self._deregister(spec.key, str(old["jobDefinitionArn"]))
        return outputs

    def delete(self, observed: Observed) -> None:
        spec: JobDefinitionSpec = observed.state
        for definition in self._active(spec.key, spec.name):
            self._deregister(spec.key, str(definition["jobDefinitionArn"]))
        self.aws.wait_until(
            lambda: True if not self._active(spec.key, spec.name) else None,
            what=f"{spec.key} to have no ACTIVE revision",
            timeout_s=STATUS_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _active(self, key: Key, name: str) -> list[AwsDict]:
        """Every ACTIVE revision of `name`, oldest first (AWS paginates; moto does not)."""
        found: list[AwsDict] = []
        for page in self.aws.pages(
            "batch", "describe_job_definitions", key=key, jobDefinitionName=name, status="ACTIVE"
        ):
            for definition in page.get("jobDefinitions", []):
                if definition.get("jobDefinitionName") == name and definition.get("status") == "ACTIVE":
                    found.append(definition)
        return sorted(found, key=lambda d: int(d["revision"]))

    def _register(self, spec: JobDefinitionSpec) -> Outputs:
        registered = self.aws.call("batch", "register_job_definition", key=spec.key, **self._request(spec))
        return {"arn": str(registered["jobDefinitionArn"]), "revision": str(registered["revision"])}

    def _deregister(self, key: Key, arn: str) -> None:
        try:
            self.aws.call("batch", "deregister_job_definition", key=key, jobDefinition=arn)
        except AwsError as exc:
            # Already INACTIVE (a concurrent destroy) is what we wanted.
            if exc.code != "ClientException" or "INACTIVE" not in exc.message:
                raise

    def _request(self, spec: JobDefinitionSpec) -> AwsDict:
        """The RegisterJobDefinition parameters for `spec`."""
        region = self.aws.context().region
        requirements = [
            {"type": "VCPU", "value": f"{spec.vcpus:g}"},
            {"type": "MEMORY", "value": str(spec.memory_mib)},
        ]
        if spec.gpus > 0:
            requirements.append({"type": "GPU", "value": str(spec.gpus)})
        container: AwsDict = {
            "image": spec.image,
            "command": list(spec.command),
            "resourceRequirements": requirements,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": spec.log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": spec.stream_prefix,
                },
            },
        }
        if spec.job_role_arn:
            container["jobRoleArn"] = spec.job_role_arn
        if spec.execution_role_arn:
            container["executionRoleArn"] = spec.execution_role_arn
        # Batch drops variables with an empty value; not sending them keeps the request equal to what it stores.
        environment = [{"name": k, "value": v} for k, v in sorted(spec.environment.items()) if v != ""]
        if environment:
            container["environment"] = environment
        if spec.secrets:
            container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(spec.secrets.items())]
        if spec.platform == "FARGATE":
            container["networkConfiguration"] = {
                "assignPublicIp": "ENABLED" if spec.assign_public_ip else "DISABLED"
            }
            container["fargatePlatformConfiguration"] = {"platformVersion": "LATEST"}
        retry: AwsDict = {"attempts": spec.retry_attempts}
        if spec.evaluate_on_exit:
            retry["evaluateOnExit"] = [dict(rule) for rule in spec.evaluate_on_exit]
        params: AwsDict = {
            "jobDefinitionName": spec.name,
            "type": "container",
            "platformCapabilities": [spec.platform],
            "containerProperties": container,
            "retryStrategy": retry,
            "propagateTags": True,
        }
        if spec.parameters:
            params["parameters"] = dict(spec.parameters)
        if spec.timeout_s is not None:
            params["timeout"] = {"attemptDurationSeconds": spec.timeout_s}
        if spec.tags:
            params["tags"] = dict(spec.tags)
        return params

    def _normalize(
        self, definition: AwsDict, spec: JobDefinitionSpec, tags: Mapping[str, str]
    ) -> JobDefinitionSpec:
        """The revision in the spec's shape (AWS-QUIRKS 13): [] == absent, LATEST == absent, environment sorted."""
        container: AwsDict = definition.get("containerProperties") or {}
        requirements = {str(r["type"]): str(r["value"]) for r in container.get("resourceRequirements") or []}
        platform = str((definition.get("platformCapabilities") or ["EC2"])[0])
        environment = {
            str(e["name"]): str(e["value"])
            for e in container.get("environment") or []
            if e.get("value", "") != ""
        }
        # Batch stores no empty-valued variable: one the spec leaves empty is as good as absent.
        environment.update({k: "" for k, v in spec.environment.items() if v == "" and k not in environment})
        log_config: AwsDict = container.get("logConfiguration") or {}
        options: AwsDict = log_config.get("options") or {}
        log_group = stream_prefix = ""
        # A log configuration other than awslogs in our region reads as none, so the plan re-registers ours.
        if (
            log_config.get("logDriver") == "awslogs"
            and options.get("awslogs-region") == self.aws.context().region
        ):
            log_group = str(options.get("awslogs-group", ""))
            stream_prefix = str(options.get("awslogs-stream-prefix", ""))
        retry: AwsDict = definition.get("retryStrategy") or {}
        timeout = (definition.get("timeout") or {}).get("attemptDurationSeconds")
        if platform == "FARGATE":
            network: AwsDict = container.get("networkConfiguration") or {}
            assign_public_ip = network.get("assignPublicIp", "DISABLED") == "ENABLED"
        else:
            assign_public_ip = spec.assign_public_ip  # not an EC2 setting: whatever the spec says is right
        return JobDefinitionSpec(
            name=spec.name,
            image=str(container.get("image", "")),
            command=tuple(str(c) for c in container.get("command") or []),
            platform=platform,
            # resourceRequirements, or the deprecated top-level fields of definitions registered elsewhere
            vcpus=float(requirements.get("VCPU") or container.get("vcpus") or 0),
            memory_mib=int(requirements.get("MEMORY") or container.get("memory") or 0),
            job_role_arn=str(container.get("jobRoleArn", "")),
            log_group=log_group,
            stream_prefix=stream_prefix,
            gpus=int(requirements.get("GPU", 0)),
            execution_role_arn=str(container["executionRoleArn"])
            if container.get("executionRoleArn")
            else None,
            environment=environment,
            secrets={str(s["name"]): str(s["valueFrom"]) for s in container.get("secrets") or []},
            parameters={str(k): str(v) for k, v in (definition.get("parameters") or {}).items()},
            retry_attempts=int(retry.get("attempts", 1)),
            evaluate_on_exit=tuple(_exit_rule(rule) for rule in retry.get("evaluateOnExit") or []),
            timeout_s=int(timeout) if timeout is not None else None,
            assign_public_ip=assign_public_ip,
            tags=dict(tags),
            depends_on=spec.depends_on,
        )

    @staticmethod
    def _check(spec: JobDefinitionSpec) -> None:
        problems: list[str] = []
        if spec.platform not in ("FARGATE", "EC2"):
            problems.append(f"platform {spec.platform!r} is not FARGATE or EC2")
        if spec.platform == "FARGATE":
            # AWS-QUIRKS 15: Fargate pulls the image and writes logs with the execution role.
            if not spec.execution_role_arn:
                problems.append("a FARGATE job definition needs an execution role (execution_role_arn)")
            if spec.gpus:
                problems.append("Fargate has no GPUs")
        if spec.vcpus <= 0 or spec.memory_mib <= 0:
            problems.append("vCPUs and memory must be greater than 0")
        if problems:
            raise PlanError(
                f"{spec.key} cannot be registered: " + "; ".join(problems),
                hint="fix the job's settings in jobs.yaml",
            )


def _outputs(definition: AwsDict) -> Outputs:
    return {"arn": str(definition["jobDefinitionArn"]), "revision": str(definition["revision"])}


def _exit_rule(rule: Mapping[str, Any]) -> dict[str, str]:
    # Batch matches actions case-insensitively; moto lower-cases them. The API's enum is RETRY | EXIT.
    return {str(k): (str(v).upper() if k == "action" else str(v)) for k, v in rule.items()}
