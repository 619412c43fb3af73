"""AWS Batch's asynchronous states, which moto skips (its compute environments and job queues are VALID at once and
deleted at once, whatever their state):

- A compute environment is CREATING, then VALID; UPDATING after each update; a service role that Batch cannot assume
  yet (IAM propagation, see iam.py) or whose trust policy does not name batch.amazonaws.com makes it INVALID with
  AWS's CLIENT_ERROR statusReason, until an update once the role is usable. [Batch API_ComputeEnvironmentDetail;
  the statusReason is AWS's, quoted in terraform-provider-aws#21281]
- CreateJobQueue/UpdateJobQueue over a compute environment that is not VALID is refused (ClientException).
- A job queue is CREATING, then VALID; UPDATING after an update, during which it still holds its old compute
  environments. [Batch API_JobQueueDetail]
- A compute environment or job queue must be DISABLED (and not CREATING/UPDATING) to be deleted; it is then DELETING
  for a while before it is gone. A compute environment that a job queue (even a DELETING one) references cannot be
  deleted: "Cannot delete, found existing JobQueue relationship." [Batch API_DeleteComputeEnvironment,
  API_DeleteJobQueue; terraform-provider-aws#2044, #46925]
- ListJobs without jobStatus (and without filters) lists RUNNING jobs only. [Batch API_ListJobs]

Only resources created through this strict server are tracked; others keep moto's behaviour.
Imports: stdlib and the strict wire and iam; StrictApp only for typing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batchctl.sandbox.strict.wire import Call, RefusedError, Reply, json_reply

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

# How long AWS takes, in seconds (multiplied by StrictOptions.time_scale).
SECONDS = {
    ("compute-environment", "CREATING"): 30.0,
    ("compute-environment", "UPDATING"): 20.0,
    ("compute-environment", "DELETING"): 30.0,
    ("job-queue", "CREATING"): 20.0,
    ("job-queue", "UPDATING"): 20.0,
    ("job-queue", "DELETING"): 60.0,  # terraform-provider-aws#2044: about a minute
}
SETTLING = ("CREATING", "UPDATING", "DELETING")
BATCH_PRINCIPAL = "batch.amazonaws.com"


@dataclass
class Tracked:
    """A compute environment or job queue as AWS would describe it, with the time its current status ends."""

    kind: str  # "compute-environment" or "job-queue"
    arn: str
    name: str
    state: str
    status: str
    until: float
    settles_to: str = "VALID"
    reason: str | None = None
    service_role: str | None = None
    refs: set[str] = field(default_factory=set)  # job queue: compute environment ARNs it holds
    next_refs: set[str] = field(default_factory=set)


class BatchStates:
    def __init__(self, app: StrictApp) -> None:
        self.app = app
        self.by_arn: dict[str, Tracked] = {}
        self.by_name: dict[tuple[str, str, str], str] = {}  # (region, kind, name) → ARN

    def clear(self) -> None:
        with self.app.lock:
            self.by_arn.clear()
            self.by_name.clear()

    def find(self, identifier: Any, kind: str, region: str) -> Tracked | None:
        arn = (
            identifier
            if str(identifier).startswith("arn:")
            else self.by_name.get((region, kind, str(identifier)))
        )
        with self.app.lock:
            found = self.by_arn.get(str(arn)) if arn else None
            if found is not None and found.kind == kind:
                self._settle(found)
                return found
        return None

    def _settle(self, item: Tracked) -> None:
        if item.status in ("CREATING", "UPDATING") and self.app.clock.passed(item.until):
            item.status, item.refs = item.settles_to, set(item.next_refs)

    def track(self, item: Tracked, region: str) -> None:
        with self.app.lock:
            self.by_arn[item.arn] = item
            self.by_name[(region, item.kind, item.name)] = item.arn

    def created(self, call: Call, reply: Reply, kind: str) -> Tracked:
        """Track what a create made: CREATING from now on."""
        out = reply.json()
        prefix = "computeEnvironment" if kind == "compute-environment" else "jobQueue"
        state = str(call.params.get("state") or "ENABLED")
        item = Tracked(
            kind, out[f"{prefix}Arn"], out[f"{prefix}Name"], state=state, status="CREATING", until=0.0
        )
        self.begin(item, "CREATING")
        self.track(item, call.region)
        return item

    def forget(self, item: Tracked) -> None:
        with self.app.lock:
            self.by_arn.pop(item.arn, None)
            self.by_name = {k: v for k, v in self.by_name.items() if v != item.arn}

    def begin(self, item: Tracked, status: str) -> None:
        with self.app.lock:
            item.status = status
            item.until = self.app.clock.deadline(SECONDS[(item.kind, status)])

    def role_verdict(self, item: Tracked) -> None:
        """Where a compute environment settles: INVALID while Batch cannot assume its service role."""
        role = item.service_role
        if role and not self.app.roles.assumable(role, BATCH_PRINCIPAL):
            item.settles_to = "INVALID"
            item.reason = (
                f"CLIENT_ERROR - User: {BATCH_PRINCIPAL} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role} (Service: AWSSecurityTokenService; Status Code: 403; Error Code: AccessDenied; "
                f"Request ID: {uuid.uuid4()}; Proxy: null)"
            )
        else:
            item.settles_to, item.reason = "VALID", None

    def referencing_queues(self, ce_arn: str) -> list[Tracked]:
        with self.app.lock:
            queues = [q for q in self.by_arn.values() if q.kind == "job-queue"]
            for queue in queues:
                self._settle(queue)
            return [q for q in queues if ce_arn in q.refs | q.next_refs]

    def order_arns(self, call: Call) -> set[str] | None:
        """The compute environments a create/update names (refusing ones that are not VALID), or None if absent."""
        order = call.params.get("computeEnvironmentOrder")
        if order is None:
            return None
        arns: set[str] = set()
        for entry in order if isinstance(order, list) else []:
            identifier = str(entry.get("computeEnvironment", "")) if isinstance(entry, dict) else ""
            ce = self.find(identifier, "compute-environment", call.region)
            if ce is not None and ce.status != "VALID":
                raise RefusedError(
                    "ClientException",
                    f"computeEnvironment {identifier} is not in a VALID state (status {ce.status})",
                )
            arns.add(ce.arn if ce else identifier)
        return arns

    def delete(self, call: Call, identifier: Any, kind: str, label: str) -> Reply | None:
        """DISABLED and settled → DELETING now, gone later (moto gets the delete then); else refuse."""
        item = self.find(identifier, kind, call.region)
        if item is None:
            return None
        if item.status == "DELETING":
            return json_reply({})
        if item.state != "DISABLED":
            raise RefusedError(
                "ClientException", f"Cannot delete, {label} {item.name} must be DISABLED (state {item.state})"
            )
        if item.status in SETTLING:
            raise RefusedError("ClientException", f"Cannot delete, {label} {item.name} is {item.status}")
        if kind == "compute-environment" and self.referencing_queues(item.arn):
            raise RefusedError("ClientException", "Cannot delete, found existing JobQueue relationship.")
        self.begin(item, "DELETING")
        until = item.until
        self.app.defer(call, ready=lambda: self.app.clock.passed(until), done=lambda: self.forget(item))
        return json_reply({})

    def overlay(self, described: dict[str, Any], arn_key: str) -> None:
        """Give one described item the status AWS would show now."""
        with self.app.lock:
            item = self.by_arn.get(str(described.get(arn_key)))
            if item is None:
                return
            self._settle(item)
            described["status"] = item.status
            described["state"] = item.state
            if item.status == "INVALID" and item.reason:
                described["statusReason"] = item.reason
            elif item.status != "VALID":
                described.pop("statusReason", None)


def install(app: StrictApp) -> None:
    states = BatchStates(app)
    app.on_reset(states.clear)

    @app.after("batch", "CreateComputeEnvironment")
    def ce_created(call: Call, reply: Reply) -> Reply:
        if reply.ok:
            item = states.created(call, reply, "compute-environment")
            with app.lock:
                item.service_role = call.params.get("serviceRole")
                states.role_verdict(item)
        return reply

    @app.after("batch", "UpdateComputeEnvironment")
    def ce_updated(call: Call, reply: Reply) -> Reply:
        item = states.find(call.params.get("computeEnvironment"), "compute-environment", call.region)
        if reply.ok and item is not None:
            with app.lock:
                item.state = str(call.params.get("state") or item.state)
                item.service_role = call.params.get("serviceRole") or item.service_role
                states.role_verdict(item)
            states.begin(item, "UPDATING")
        return reply

    @app.before("batch", "DeleteComputeEnvironment")
    def ce_delete(call: Call) -> Reply | None:
        return states.delete(
            call, call.params.get("computeEnvironment"), "compute-environment", "compute environment"
        )

    @app.after("batch", "DescribeComputeEnvironments")
    def ce_described(call: Call, reply: Reply) -> Reply:
        return reply.edit_json(
            lambda item: states.overlay(item, "computeEnvironmentArn"), "computeEnvironments"
        )

    @app.before("batch", "CreateJobQueue", "UpdateJobQueue")
    def queue_targets_valid(call: Call) -> None:
        states.order_arns(call)

    @app.after("batch", "CreateJobQueue")
    def queue_created(call: Call, reply: Reply) -> Reply:
        if reply.ok:
            item = states.created(call, reply, "job-queue")
            refs = states.order_arns(call) or set()
            with app.lock:
                item.refs, item.next_refs = refs, set(refs)
        return reply

    @app.after("batch", "UpdateJobQueue")
    def queue_updated(call: Call, reply: Reply) -> Reply:
        item = states.find(call.params.get("jobQueue"), "job-queue", call.region)
        if reply.ok and item is not None:
            refs = states.order_arns(call)
            with app.lock:
                item.state = str(call.params.get("state") or item.state)
                if refs is not None:
                    item.next_refs = refs  # the old ones stay in `refs` until the update settles
            states.begin(item, "UPDATING")
        return reply

    @app.before("batch", "DeleteJobQueue")
    def queue_delete(call: Call) -> Reply | None:
        return states.delete(call, call.params.get("jobQueue"), "job-queue", "job queue")

    @app.after("batch", "DescribeJobQueues")
    def queue_described(call: Call, reply: Reply) -> Reply:
        return reply.edit_json(lambda item: states.overlay(item, "jobQueueArn"), "jobQueues")

    @app.before("batch", "ListJobs")
    def running_by_default(call: Call) -> Call | None:
        if call.params.get("jobStatus") or call.params.get("filters"):
            return None
        return call.with_json_body(call.params | {"jobStatus": "RUNNING"})
