"""Which service role a sandbox request acts with: the Step Functions executor and the pipe relay sign their calls
with an access key that names the role (moto's executor signs every call with one fixed key, whatever the role).
The strict sandbox reads the key back and judges the call against that role's policies (strict/service_roles.py);
the lenient sandbox ignores it (moto maps an unknown key to its default account, as it does the fixed one).

Imports: stdlib; boto3 inside client_as.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

PREFIX = "BATCHCTLROLE"

_lock = threading.Lock()
_roles: dict[str, str] = {}  # access key → role ARN (process-global, as moto's backends are)


def key_for(role_arn: str) -> str:
    """The access key that says "acting as `role_arn`" (stable for a role)."""
    key = PREFIX + hashlib.sha256(role_arn.encode()).hexdigest()[:16].upper()
    with _lock:
        _roles[key] = role_arn
    return key


def role_for(access_key: str | None) -> str | None:
    """The role ARN a key from key_for stands for; None for any other key."""
    if not access_key or not access_key.startswith(PREFIX):
        return None
    with _lock:
        return _roles.get(access_key)


def client_as(service: str, *, region: str, endpoint_url: str, role_arn: str | None) -> Any:
    """A boto3 client of the sandbox at `endpoint_url` signed as `role_arn` (with the sandbox's key without one)."""
    import boto3

    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=key_for(role_arn) if role_arn else "sandbox",
        aws_secret_access_key="sandbox",
    )
