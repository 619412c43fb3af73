"""IAM eventual consistency: a role created (or re-trusted) in the strict sandbox cannot be assumed by a service for
`PROPAGATION_S` (scaled), and never by a service its trust policy does not name. The services refuse such roles with
their own errors (see sfn.py, schedules.py, pipes.py, batch_states.py); this module keeps the roles' clocks.

AWS: "Changes that I make are not always immediately visible" (IAM User Guide, troubleshooting); terraform-provider-aws
retries these errors for 2 minutes (internal/service/iam/wait.go, scheduler/retry.go, sfn/state_machine.go).
Imports: stdlib, the strict wire and policy (as_strings); StrictApp only for typing.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from batchctl.sandbox.strict.policy import as_strings
from batchctl.sandbox.strict.wire import Call, Reply

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import Clock, StrictApp

PROPAGATION_S = 10.0  # how long a new role stays invisible to other services (AWS: seconds, rarely a minute)


@dataclass(frozen=True)
class Role:
    name: str
    trusted: frozenset[str]  # service principals allowed to assume it ("*" for any)
    usable_at: float  # clock time from which services can assume it


class Roles:
    """The roles created through this strict server (others are not judged: moto's defaults apply)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._roles: dict[str, Role] = {}

    def record(self, name: str, trust_document: str) -> None:
        role = Role(name, trusted_services(trust_document), self._clock.deadline(PROPAGATION_S))
        with self._lock:
            self._roles[name] = role

    def forget(self, name: str) -> None:
        with self._lock:
            self._roles.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._roles.clear()

    def known(self, role_arn: str) -> bool:
        """True for a role created through this strict server (only those are judged)."""
        with self._lock:
            return role_name(role_arn) in self._roles

    def assumable(self, role_arn: str, principal: str) -> bool:
        """False while the role is propagating or when its trust policy does not name `principal`."""
        with self._lock:
            role = self._roles.get(role_name(role_arn))
        if role is None:
            return True
        trusted = "*" in role.trusted or principal in role.trusted
        return trusted and self._clock.passed(role.usable_at)


def role_name(role_arn: str) -> str:
    """`arn:aws:iam::123456789012:role/path/name` → `name`."""
    return role_arn.rsplit("/", 1)[-1]


def trusted_services(trust_document: str) -> frozenset[str]:
    """Service principals an assume-role policy allows to call sts:AssumeRole."""
    try:
        document = json.loads(trust_document)
    except ValueError:
        return frozenset()
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    found: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = as_strings(statement.get("Action"))
        if not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.add("*")
        elif isinstance(principal, dict):
            found.update(as_strings(principal.get("Service")))
    return frozenset(found)


def install(app: StrictApp) -> Roles:
    roles = Roles(app.clock)
    app.on_reset(roles.clear)

    @app.after("iam", "CreateRole")
    def created(call: Call, reply: Reply) -> Reply:
        if reply.ok:
            found = re.search(rb"<RoleName>([^<]+)</RoleName>", reply.body)
            name = found.group(1).decode() if found else str(call.params.get("RoleName", ""))
            roles.record(name, str(call.params.get("AssumeRolePolicyDocument", "")))
        return reply

    @app.after("iam", "UpdateAssumeRolePolicy")
    def retrusted(call: Call, reply: Reply) -> Reply:
        if reply.ok:
            roles.record(str(call.params.get("RoleName", "")), str(call.params.get("PolicyDocument", "")))
        return reply

    @app.after("iam", "DeleteRole")
    def deleted(call: Call, reply: Reply) -> Reply:
        if reply.ok:
            roles.forget(str(call.params.get("RoleName", "")))
        return reply

    return roles
