"""Deleting EC2 network resources AWS still holds on to: DependencyViolation retried within a bound, the ENIs ECS
released for us deleted and anyone else's reported (AWS-QUIRKS 5), a gateway detached once public addresses are
unmapped (6), cleanup after a failed create.
Imports: specs, aws, errors, provisioners.base."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from enum import Enum
from typing import Any

from batchctl.aws import Aws
from batchctl.errors import AwsError, ForeignNetworkInterfaceError
from batchctl.provisioners.base import POLL_INTERVAL_S, tags_from_list
from batchctl.specs import AwsDict, Key

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


class EniFate(Enum):
    """What a subnet's or security group's delete does with one network interface in its way."""

    DELETE = "delete"  # ECS released it: ours to delete (AWS-QUIRKS 5)
    WAIT = "wait"  # ECS still uses it, or it goes with its instance: the retried delete looks again
    FOREIGN = "foreign"  # anyone else's: named in an error, never deleted


# The description ECS gives the ENI of an awsvpc task (every Fargate task Batch runs), in any partition.
ECS_TASK_DESCRIPTION = re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:attachment/[0-9a-f-]+")
# A Fargate task's ENI is a plain "interface"; a task on a trunked container instance gets a "branch" ENI.
ECS_INTERFACE_TYPES = frozenset({"interface", "branch"})


def eni_fate(eni: AwsDict) -> EniFate:
    """Decide from a DescribeNetworkInterfaces item. Ours are the ENIs AWS created for a compute environment:
    requester-managed with ECS's task attachment ARN as description (as terraform picks out Lambda/DMS ENIs by
    description and requester). An instance's own ENI (a Batch EC2 instance's) goes when the instance does; it
    is never deleted here. Anything else (Lambda, NAT gateway, endpoints, an ENI someone made) is foreign."""
    description = str(eni.get("Description", ""))
    if (
        eni.get("RequesterManaged") is True
        and str(eni.get("InterfaceType", "interface")) in ECS_INTERFACE_TYPES
        and ECS_TASK_DESCRIPTION.fullmatch(description)
    ):
        return EniFate.DELETE if eni.get("Status") == "available" else EniFate.WAIT
    attachment = eni.get("Attachment") or {}
    if attachment.get("InstanceId") and attachment.get("DeleteOnTermination") is True:
        return EniFate.WAIT
    return EniFate.FOREIGN


def describe_eni(eni: AwsDict) -> str:
    """One ENI for an error message: id, description, requester and tags."""
    tags = tags_from_list(eni.get("TagSet", []))
    tag_text = ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none"
    return (
        f"{eni['NetworkInterfaceId']} (description {str(eni.get('Description', ''))!r}, "
        f"requester {eni.get('RequesterId', 'unknown')}, tags {tag_text})"
    )


def clear_network_interfaces(aws: Aws, *, key: Key, what: str, filter_name: str, resource_id: str) -> None:
    """Before `what` (a subnet or security group) is deleted: delete the ENIs ECS released for our compute
    environment (AWS-QUIRKS 5); ForeignNetworkInterfaceError, deleting nothing, if any ENI is not ours."""
    enis = [
        eni
        for page in aws.pages(
            "ec2",
            "describe_network_interfaces",
            key=key,
            Filters=[{"Name": filter_name, "Values": [resource_id]}],
        )
        for eni in page.get("NetworkInterfaces", [])
    ]
    foreign = [eni for eni in enis if eni_fate(eni) is EniFate.FOREIGN]
    if foreign:
        named = "; ".join(describe_eni(eni) for eni in foreign)
        raise ForeignNetworkInterfaceError(
            f"{what} is still used by {len(foreign)} network interface(s) batchctl did not create: {named}. "
            f"They and {what} are left as they are",
            hint="delete those interfaces yourself (or move them) if nothing needs them, then run destroy again",
        )
    for eni in enis:
        if eni_fate(eni) is not EniFate.DELETE:
            continue
        eni_id = str(eni["NetworkInterfaceId"])
        log.debug("deleting leftover network interface %s of %s", eni_id, what)
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
