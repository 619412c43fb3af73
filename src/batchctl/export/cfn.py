"""CloudFormation intrinsics for the export: the pseudo-parameter context, Fn::Sub of built strings, logical IDs,
and the `Resolver` that turns a spec's names, ARNs and `Ref`s into `Ref`/`Fn::GetAtt` of the resources it depends on.

Imports: naming, specs, stdlib. The specs are built with `PSEUDO_CONTEXT`, so every ARN reads
`arn:${AWS::Partition}:…:${AWS::Region}:${AWS::AccountId}:…` and one template serves any account and region.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from batchctl.naming import AwsContext, Names
from batchctl.specs import AwsDict, Key, Kind, Ref

PSEUDO_CONTEXT = AwsContext(
    account_id="${AWS::AccountId}", region="${AWS::Region}", partition="${AWS::Partition}"
)
_PSEUDO = ("${AWS::AccountId}", "${AWS::Region}", "${AWS::Partition}")
_WORD = re.compile(r"[A-Za-z0-9]+")
_KIND_PREFIX: Mapping[Kind, str] = {
    Kind.IAM_ROLE: "Role",
    Kind.IAM_INSTANCE_PROFILE: "InstanceProfile",
    Kind.VPC: "Vpc",
    Kind.SUBNET: "Subnet",
    Kind.INTERNET_GATEWAY: "InternetGateway",
    Kind.ROUTE_TABLE: "RouteTable",
    Kind.SECURITY_GROUP: "SecurityGroup",
    Kind.ECR_REPOSITORY: "Repository",
    Kind.LOG_GROUP: "LogGroup",
    Kind.SNS_TOPIC: "Topic",
    Kind.SQS_QUEUE: "Queue",
    Kind.COMPUTE_ENVIRONMENT: "ComputeEnvironment",
    Kind.JOB_QUEUE: "JobQueue",
    Kind.JOB_DEFINITION: "JobDefinition",
    Kind.STATE_MACHINE: "StateMachine",
    Kind.PIPE: "Pipe",
    Kind.SCHEDULE_GROUP: "ScheduleGroup",
    Kind.SCHEDULE: "Schedule",
    Kind.EVENT_RULE: "EventRule",
}


def sub(value: str) -> Any:
    """`value` as is, or `Fn::Sub` of it when it holds a pseudo parameter (any other `${` escaped as `${!`)."""
    if not any(p in value for p in _PSEUDO):
        return value
    escaped = value.replace("${", "${!")
    for pseudo in _PSEUDO:
        escaped = escaped.replace("${!" + pseudo[2:], pseudo)
    return {"Fn::Sub": escaped}


def deep_sub(value: Any) -> Any:
    """`sub` applied to every string inside dicts and lists (policy documents, tags)."""
    if isinstance(value, str):
        return sub(value)
    if isinstance(value, Mapping):
        return {k: deep_sub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [deep_sub(v) for v in value]
    return value


def logical_ids(keys: Iterable[Key]) -> dict[Key, str]:
    """A stable, unique logical ID for each key: its kind and its name in CamelCase (a clash gets a number)."""
    ids: dict[Key, str] = {}
    taken: set[str] = set()
    for key in sorted(keys):
        base = _KIND_PREFIX[key.kind] + "".join(w[:1].upper() + w[1:] for w in _WORD.findall(key.name))
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}{n}", n + 1
        taken.add(candidate)
        ids[key] = candidate
    return ids


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as most resource types take them: [{"Key", "Value"}], sorted by key."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def arn_table(specs: Iterable[Any], names: Names) -> dict[tuple[Kind, str], tuple[Key, str | None]]:
    """(kind, ARN or name a spec field holds) → (the key, the attribute to GetAtt; None: `Ref`)."""
    table: dict[tuple[Kind, str], tuple[Key, str | None]] = {}
    ctx = names.ctx
    for spec in specs:
        key, name = spec.key, spec.name
        forms: dict[str, str | None] = {}
        match key.kind:
            case Kind.IAM_ROLE:
                forms = {names.role_arn(name): "Arn", name: None}
            case Kind.IAM_INSTANCE_PROFILE:
                forms = {ctx.arn("iam", f"instance-profile/{name}", region=False): "Arn", name: None}
            case Kind.SQS_QUEUE:
                forms = {names.queue_arn(name): "Arn"}
            case Kind.SNS_TOPIC:
                forms = {ctx.arn("sns", name): None}
            case Kind.COMPUTE_ENVIRONMENT:
                forms = {ctx.arn("batch", f"compute-environment/{name}"): None}
            case Kind.JOB_QUEUE:
                forms = {ctx.arn("batch", f"job-queue/{name}"): None}
            case Kind.STATE_MACHINE:
                forms = {ctx.arn("states", f"stateMachine:{name}"): None}
            case Kind.LOG_GROUP | Kind.SCHEDULE_GROUP:
                forms = {name: None}
            case Kind.ECR_REPOSITORY:
                forms = {ctx.arn("ecr", f"repository/{name}"): "Arn", name: None}
            case _:
                forms = {}
        for value, attr in forms.items():
            table[(key.kind, value)] = (key, attr)
    return table


@dataclass
class Resolver:
    """Intrinsics for one spec: a value naming a resource it depends on becomes a `Ref`/`Fn::GetAtt` of it; any
    other value stays a literal (Fn::Sub of the pseudo parameters)."""

    ids: Mapping[Key, str]
    table: Mapping[tuple[Kind, str], tuple[Key, str | None]]
    depends: frozenset[Key]

    def intrinsic(self, key: Key, attr: str | None) -> AwsDict:
        """`Ref` (attr None) or `Fn::GetAtt` of the resource of `key`."""
        logical = self.ids[key]
        return {"Ref": logical} if attr is None else {"Fn::GetAtt": [logical, attr]}

    def value(self, value: str | Ref, kind: Kind | None = None) -> Any:
        """A field's value: a Ref's resource (`Ref` gives the ID of every EC2 kind), a dependency of `kind` the
        value names, or the literal."""
        if isinstance(value, Ref):
            return self.intrinsic(value.key, None)
        if kind is not None:
            found = self.table.get((kind, value))
            if found is not None and found[0] in self.depends:
                return self.intrinsic(*found)
        return sub(value)
