"""Deleting EC2 network resources AWS still holds on to: DependencyViolation retried within a bound, released ENIs
deleted (AWS-QUIRKS 5), a gateway detached once public addresses are unmapped (6), cleanup after a failed create.
Imports: specs, aws, errors, provisioners.base."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import POLL_INTERVAL_S
from batchctl.specs import Key

log = logging.getLogger(__name__)

DEPENDENCY_VIOLATION = frozenset({"DependencyViolation"})
# Terraform waits up to 20 min for Lambda/Fargate ENIs to be released before a subnet or security group can go;
# Batch's are usually gone within a few minutes.
ENI_RELEASE_TIMEOUT_S = 900.0
VPC_DELETE_TIMEOUT_S = 300.0
# IGW detach fails while the VPC still has mapped public addresses (AWS-QUIRKS 6): they go with their ENIs.
IGW_DETACH_TIMEOUT_S = 600.0
DELETE_WAIT_TIMEOUT_S = 300.0


def delete_until_gone(
    aws: Aws,
    *,
    key: Key,
    what: str,
    attempt: Callable[[], object],
    not_found_code: str,
    gone: Callable[[], bool],
    timeout_s: float,
) -> None:
    """Run `attempt` (which deletes `what`), retrying DependencyViolation until `timeout_s`; then wait until
    `gone()`. Already gone (`not_found_code`) is fine."""
    try:
        aws.retry_on(
            attempt,
            codes=DEPENDENCY_VIOLATION,
            what=f"{what} to lose its dependencies",
            timeout_s=timeout_s,
            interval_s=POLL_INTERVAL_S,
        )
    except AwsError as exc:
        if exc.code != not_found_code:
            raise
    aws.wait_until(
        lambda: True if gone() else None,
        what=f"{what} to be deleted",
        timeout_s=DELETE_WAIT_TIMEOUT_S,
        interval_s=POLL_INTERVAL_S,
        key=key,
    )


def delete_released_interfaces(aws: Aws, *, key: Key, subnet_id: str) -> None:
    """Delete the network interfaces in `subnet_id` that their service released ("available"): Batch/Fargate ENIs
    can outlive the compute environment (AWS-QUIRKS 5). In-use ones belong to the service and become available by
    themselves, so a retried delete looks again."""
    for page in aws.pages(
        "ec2",
        "describe_network_interfaces",
        key=key,
        Filters=[{"Name": "subnet-id", "Values": [subnet_id]}],
    ):
        for eni in page.get("NetworkInterfaces", []):
            if eni.get("Status") != "available":
                continue
            eni_id = str(eni["NetworkInterfaceId"])
            log.debug("deleting leftover network interface %s in %s", eni_id, subnet_id)
            try:
                aws.call("ec2", "delete_network_interface", key=key, NetworkInterfaceId=eni_id)
            except AwsError as exc:
                if exc.code != "InvalidNetworkInterfaceID.NotFound":
                    raise


def detach_internet_gateway(aws: Aws, *, key: Key, igw_id: str, vpc_id: str) -> None:
    """Detach `igw_id` from `vpc_id`, waiting while the VPC still has mapped public addresses; not attached is
    fine."""
    try:
        aws.retry_on(
            lambda: aws.call(
                "ec2", "detach_internet_gateway", key=key, InternetGatewayId=igw_id, VpcId=vpc_id
            ),
            codes=DEPENDENCY_VIOLATION,
            messages=("mapped public address",),
            what=f"{key} ({igw_id}): public addresses in {vpc_id} to be released",
            timeout_s=IGW_DETACH_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
        )
    except AwsError as exc:
        if exc.code != "Gateway.NotAttached":
            raise


def delete_quietly(aws: Aws, *, key: Key, operation: str, **params: Any) -> None:
    """Best-effort cleanup after a failed create; the original error is what the user needs to see."""
    try:
        aws.call("ec2", operation, key=key, **params)
    except AwsError as exc:
        log.debug("cleanup of %s failed: %s", key, exc.code)
