"""IAM policy evaluation for the strict sandbox's service roles: does a role's identity-based policy allow an action
on a resource? AWS's logic for one account: an explicit Deny wins, then any Allow, else the request is implicitly
denied. [IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements: Action, NotAction, Resource,
NotResource"]

moto has an evaluator (moto.iam.access_control.IAMPolicyStatement); we apply the same statement walk with AWS's
matching, which moto's lacks: `?` matches one character (our secret grants end in `-??????`), action names are
case-insensitive, and NotResource is honoured. A statement with a Condition is not judged here: an Allow under a
condition is not counted, a Deny under one is not applied (the sandbox has no request context to test it with).

Imports: stdlib; moto's IAM backend inside role_documents.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


def as_strings(value: Any) -> list[str]:
    """A policy element's string or list of strings as a list (anything else: empty)."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def _resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(fnmatch.fnmatchcase(resource, pattern) for pattern in patterns)


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        if _action_matches(as_strings(statement["NotAction"]), action):
            return False
    elif not _action_matches(as_strings(statement.get("Action")), action):
        return False
    if "NotResource" in statement:
        return not _resource_matches(as_strings(statement["NotResource"]), resource)
    return _resource_matches(as_strings(statement.get("Resource")), resource)


def evaluate(documents: Sequence[dict[str, Any]], action: str, resource: str) -> Decision:
    """AWS's decision for `action` on `resource` under identity-based `documents`."""
    allowed = False
    for document in documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, dict) or "Condition" in statement:
                continue
            if not _applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            if statement.get("Effect") == "Allow":
                allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def _document(text: Any) -> dict[str, Any] | None:
    if isinstance(text, dict):
        return text
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def role_documents(role_arn: str) -> list[dict[str, Any]] | None:
    """The inline and attached (default version) policy documents of a role in moto's IAM; None if no such role."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    if len(parts) < 6:
        return None
    partition, account, name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
    try:
        backend = iam_backends[account][partition]
    except KeyError:
        return None
    role = next((r for r in list(backend.roles.values()) if r.name == name), None)
    if role is None:
        return None
    documents = [_document(text) for text in list(role.policies.values())]
    for policy in list(role.managed_policies.values()):
        version = next((v for v in getattr(policy, "versions", []) if v.is_default), None)
        documents.append(_document(version.document) if version is not None else None)
    return [document for document in documents if document is not None]
