"""A Fargate job's execution role is enforced when its attempt starts: the Fargate agent pulls the image and reads
the job's secrets with that role, and a call its policies do not allow stops the attempt before the container runs,
with the reason ECS gives (Batch shows it as the attempt's and the job's statusReason):

- ecr:GetAuthorizationToken on * missing: "ResourceInitializationError: unable to pull secrets or registry auth:
  execution resource retrieval failed: unable to retrieve ecr registry auth: ... AccessDeniedException: ...";
- ecr:BatchGetImage or ecr:GetDownloadUrlForLayer on the image's repository missing: "CannotPullContainerError:
  pull image manifest has been retried 5 time(s): failed to resolve ref IMAGE: ... 403 Forbidden";
- secretsmanager:GetSecretValue on a secret, or ssm:GetParameters on a parameter, missing: "ResourceInitializationError:
  unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm
  (secrets from ssm): ... AccessDeniedException: ...";
- kms:Decrypt on the customer-managed key a secret or SecureString is encrypted under, missing: the same, with
  "AccessDeniedException: Access to KMS is not allowed".

Every attempt fails alike, so the job uses up its retry strategy's attempts (evaluateOnExit decides, as for Spot
interruptions in spot.py) and ends FAILED. Only Fargate jobs whose execution role was created through this strict
server are judged; EC2 jobs pull with the instance role, which is not judged.
[Batch user guide "AWS Batch execution IAM role" and "Required IAM permissions for private registry
authentication"; ECS developer guide "Amazon ECS task execution IAM role", "Amazon ECS stopped task error messages"]

Imports: stdlib, app (StrictApp), policy, service_roles (refusal); moto's Secrets Manager, SSM and KMS backends inside
functions.
"""

from __future__ import annotations

import re
from typing import Any

from batchctl.sandbox.strict.app import StrictApp
from batchctl.sandbox.strict.policy import Decision, evaluate, role_documents
from batchctl.sandbox.strict.service_roles import refusal

FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[^:@]+)"
    r"(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$"
)
RETRIEVAL = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"
AWS_MANAGED_KEYS = ("alias/aws/secretsmanager", "alias/aws/ssm")


def _denied(role_arn: str, documents: list[dict[str, Any]], action: str, resource: str) -> str | None:
    """AWS's AccessDenied text when `action` on `resource` is not allowed, else None."""
    decision = evaluate(documents, action, resource)
    if decision is Decision.ALLOWED:
        return None
    return f"AccessDeniedException: {refusal('ecs', role_arn, action, resource, decision).message}"


def _image_refusal(role_arn: str, documents: list[dict[str, Any]], image: str, partition: str) -> str | None:
    found = ECR_IMAGE.match(image)
    if found is None:
        return None  # not ECR: no ECR permission involved
    denied = _denied(role_arn, documents, "ecr:GetAuthorizationToken", "*")
    if denied:
        return f"{RETRIEVAL}: unable to retrieve ecr registry auth: service call has been retried 3 time(s): {denied}"
    repository = f"arn:{partition}:ecr:{found['region']}:{found['account']}:repository/{found['repository']}"
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        if evaluate(documents, action, repository) is not Decision.ALLOWED:
            reference = found["digest"] or found["tag"] or "latest"
            host = image.split("/", 1)[0]
            return (
                f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
                f"{image}: pulling from host {host} failed with status code [manifests {reference}]: 403 Forbidden"
            )
    return None


def _key_arn(account: str, region: str, key_id: str | None) -> str | None:
    """The ARN of a customer-managed KMS key (None for no key, an AWS managed key, or a key moto does not hold)."""
    if not key_id or key_id in AWS_MANAGED_KEYS:
        return None
    from moto.kms.models import kms_backends

    try:
        key = kms_backends[account][region].describe_key(key_id)
    except Exception:  # moto raises NotFoundException, or KeyError for an unknown alias: not ours to judge
        return None
    return str(key.arn) if key.key_manager == "CUSTOMER" else None


def _secret(account: str, region: str, reference: str) -> tuple[str, str | None] | None:
    """(full ARN, customer key ARN) of a Secrets Manager reference (ARN, partial ARN, with JSON key...)."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = ":".join(reference.split(":")[:7])
    try:
        secret = secretsmanager_backends[account][region].describe_secret(secret_id)
    except Exception:  # moto raises SecretNotFoundException: not ours to judge (ECS reports it otherwise)
        return None
    return str(secret.arn), _key_arn(account, region, getattr(secret, "kms_key_id", None))


def _parameter(account: str, region: str, partition: str, reference: str) -> tuple[str, str | None]:
    """(ARN, customer key ARN) of an SSM parameter reference (ARN or name)."""
    from moto.ssm.models import ssm_backends

    name = reference.split(":parameter", 1)[1] if reference.startswith("arn:") else reference
    name = name if name.startswith("/") else f"/{name}"
    arn = f"arn:{partition}:ssm:{region}:{account}:parameter{name}"
    parameter = ssm_backends[account][region].get_parameter(name)
    key = parameter.keyid if parameter is not None and parameter.parameter_type == "SecureString" else None
    return arn, _key_arn(account, region, key)


def _secrets_refusal(
    role_arn: str, documents: list[dict[str, Any]], secrets: list[dict[str, Any]], region: str
) -> str | None:
    partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
    for secret in secrets:
        reference = str(secret.get("valueFrom", ""))
        if ":secretsmanager:" in reference:
            found = _secret(account, region, reference)
            if found is None:
                continue
            (resource, key), action, what = found, "secretsmanager:GetSecretValue", "secret from asm"
        else:
            (resource, key), action, what = (
                _parameter(account, region, partition, reference),
                "ssm:GetParameters",
                "secrets from ssm",
            )
        prefix = f"{RETRIEVAL}: unable to retrieve {what}: service call has been retried 1 time(s)"
        denied = _denied(role_arn, documents, action, resource)
        if denied:
            return f"{prefix}: {denied}"
        if key and evaluate(documents, "kms:Decrypt", key) is not Decision.ALLOWED:
            return f"{prefix}: AccessDeniedException: Access to KMS is not allowed"
    return None


def start_refusal(job: Any, compute_type: str) -> str | None:
    """Why a Fargate job's execution role cannot start it (ECS's reason), or None."""
    app = getattr(job, "batchctl_strict", None)
    if not isinstance(app, StrictApp) or compute_type not in FARGATE_TYPES:
        return None
    properties = getattr(job.job_definition, "container_properties", None) or {}
    role_arn = str(properties.get("executionRoleArn") or "")
    if not role_arn or not app.roles.known(role_arn):
        return None
    documents = role_documents(role_arn)
    if documents is None:
        return None
    region = str(getattr(job.job_definition, "_region", "") or "us-east-1")
    return _image_refusal(
        role_arn, documents, str(properties.get("image", "")), role_arn.split(":")[1]
    ) or _secrets_refusal(role_arn, documents, list(properties.get("secrets") or []), region)
