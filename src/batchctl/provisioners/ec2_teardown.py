"""Deleting EC2 network resources AWS still holds on to: DependencyViolation retried within a bound, the ENIs ECS
released for us deleted and anyone else's reported (AWS-QUIRKS 5), a gateway detached once public addresses are
unmapped (6), cleanup after a failed create.
Imports: specs, aws, errors, provisioners.base."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
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


# An instance in these states is going away, and its own ENIs with it.
LEAVING_STATES = frozenset({"shutting-down", "terminated"})


def eni_fate(
    eni: AwsDict, *, instances: Mapping[str, AwsDict] | None = None, profile_arn: str | None = None
) -> EniFate:
    """Decide from a DescribeNetworkInterfaces item. Ours are the ENIs AWS created for a compute environment:
    requester-managed with ECS's task attachment ARN as description (as terraform picks out Lambda/DMS ENIs by
    description and requester). An instance's own ENI (a Batch EC2 instance's) goes when the instance does; it
    is never deleted here, and waited on only for an instance of our compute environment (it runs with our
    instance profile `profile_arn`) or one going away: given `instances` (DescribeInstances items by ID), any other
    instance's ENI is foreign at once. Anything else (Lambda, NAT gateway, endpoints, an ENI someone made) is
    foreign."""
    description = str(eni.get("Description", ""))
    if (
        eni.get("RequesterManaged") is True
        and str(eni.get("InterfaceType", "interface")) in ECS_INTERFACE_TYPES
        and ECS_TASK_DESCRIPTION.fullmatch(description)
    ):
        return EniFate.DELETE if eni.get("Status") == "available" else EniFate.WAIT
    attachment = eni.get("Attachment") or {}
    instance_id = attachment.get("InstanceId")
    if instance_id and attachment.get("DeleteOnTermination") is True:
        instance = None if instances is None else instances.get(str(instance_id))
        if instance is None:  # not asked, or gone already
            return EniFate.WAIT
        if (instance.get("State") or {}).get("Name") in LEAVING_STATES:
            return EniFate.WAIT
        profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
        return EniFate.WAIT if profile_arn is not None and profile == profile_arn else EniFate.FOREIGN
    return EniFate.FOREIGN


def describe_eni(eni: AwsDict) -> str:
    """One ENI for an error message: id, description, requester and tags."""
    tags = tags_from_list(eni.get("TagSet", []))
    tag_text = ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none"
    instance = (eni.get("Attachment") or {}).get("InstanceId")
    attached = f", attached to instance {instance}" if instance else ""
    return (
        f"{eni['NetworkInterfaceId']} (description {str(eni.get('Description', ''))!r}, "
        f"requester {eni.get('RequesterId', 'unknown')}, tags {tag_text}{attached})"
    )


def _instances(aws: Aws, *, key: Key, enis: list[AwsDict]) -> dict[str, AwsDict]:
    """The instances `enis` are attached to, by ID (a filter, so an instance gone meanwhile is just absent)."""
    ids = sorted({str(i) for eni in enis if (i := (eni.get("Attachment") or {}).get("InstanceId"))})
    if not ids:
        return {}
    return {
        str(instance["InstanceId"]): instance
        for page in aws.pages(
            "ec2", "describe_instances", key=key, Filters=[{"Name": "instance-id", "Values": ids}]
        )
        for reservation in page.get("Reservations", [])
        for instance in reservation.get("Instances", [])
    }


def clear_network_interfaces(
    aws: Aws, *, key: Key, what: str, filter_name: str, resource_id: str, profile_arn: str | None = None
) -> None:
    """Before `what` (a subnet or security group) is deleted: delete the ENIs ECS released for our compute
    environment (AWS-QUIRKS 5); ForeignNetworkInterfaceError, deleting nothing, if any ENI is not ours (an ENI of
    an instance that does not run with our instance profile `profile_arn` included: it is named at once, never
    waited on)."""
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
    instances = _instances(aws, key=key, enis=enis)
    fates = {
        str(eni["NetworkInterfaceId"]): eni_fate(eni, instances=instances, profile_arn=profile_arn)
        for eni in enis
    }
    foreign = [eni for eni in enis if fates[str(eni["NetworkInterfaceId"])] is EniFate.FOREIGN]
    if foreign:
        named = "; ".join(describe_eni(eni) for eni in foreign)
        raise ForeignNetworkInterfaceError(
            f"{what} is still used by {len(foreign)} network interface(s) batchctl did not create: {named}. "
            f"They and {what} are left as they are",
            hint="delete those interfaces yourself (or move them) if nothing needs them, then run destroy again",
        )
    for eni in enis:
        if fates[str(eni["NetworkInterfaceId"])] is not EniFate.DELETE:
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
