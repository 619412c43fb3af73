"""EC2 networking: VPC, public subnets, internet gateway, public route table and an egress-only security group.

Imports: specs, aws, errors, provisioners.base. AWS generates these IDs, so each resource is found by its
`Name` tag (then proven ours by the batchctl project/stage tags); outputs are `{"id": ...}`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError, PlanError
from batchctl.provisioners.base import check_owned, tags_from_list, tags_to_list
from batchctl.specs import (
    AwsDict,
    InternetGatewaySpec,
    Key,
    Kind,
    Observed,
    Outputs,
    Ref,
    RouteTableSpec,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
)

log = logging.getLogger(__name__)

DEPENDENCY_VIOLATION = frozenset({"DependencyViolation"})
# Terraform waits up to 20 min for Lambda/Fargate ENIs to be released before a subnet or security group can go;
# Batch's are usually gone within a few minutes.
ENI_RELEASE_TIMEOUT_S = 900.0
VPC_DELETE_TIMEOUT_S = 300.0
# IGW detach fails while the VPC still has mapped public addresses (AWS-QUIRKS 6): they go with their ENIs.
IGW_DETACH_TIMEOUT_S = 600.0
CREATE_WAIT_TIMEOUT_S = 300.0
DELETE_WAIT_TIMEOUT_S = 300.0
# EC2 is eventually consistent: an ID just returned by Create* may be "NotFound" for a few seconds.
NEW_ID_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 5.0


def _resolved(value: str | Ref, *, key: Key, field: str) -> str:
    """The ID in a spec field; a Ref still unfilled at create/update time is a bug in the caller."""
    if isinstance(value, Ref):
        raise TypeError(f"{key}: {field} is still {value.key}.{value.attr}; the engine must fill Refs first")
    return value


def _tag_spec(resource_type: str, spec: Any) -> list[AwsDict]:
    """TagSpecifications for a Create* call: tagged at birth, so a half-finished run is still found by name."""
    return [{"ResourceType": resource_type, "Tags": tags_to_list(_desired_tags(spec))}]


def _desired_tags(spec: Any) -> dict[str, str]:
    # The Name tag is how read finds the resource again; never let a spec without it lose it.
    return {**spec.tags, "Name": spec.name}


class _Ec2Base:
    """Find-by-Name-tag, retagging and bounded waits shared by the EC2 network provisioners."""

    # Set by each subclass: describe operation, its list key, the id key, the id filter name, the
    # "not found" error code of the id, and a human noun for messages.
    describe_op: ClassVar[str]
    items_key: ClassVar[str]
    id_key: ClassVar[str]
    id_filter: ClassVar[str]
    not_found_code: ClassVar[str]
    noun: ClassVar[str]

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def _describe(self, spec: Any, filters: list[AwsDict]) -> list[AwsDict]:
        return [
            item
            for page in self.aws.pages("ec2", self.describe_op, key=spec.key, Filters=filters)
            for item in page.get(self.items_key, [])
        ]

    def _find(self, spec: Any, *, extra: list[AwsDict] | None = None) -> AwsDict | None:
        """The one resource named `spec.name` that is ours; NotManagedError if only others carry the name."""
        found = self._describe(spec, [{"Name": "tag:Name", "Values": [spec.name]}])
        for item in extra or []:
            if all(item[self.id_key] != f[self.id_key] for f in found):
                found.append(item)
        ours: list[AwsDict] = []
        foreign: list[NotManagedError] = []
        for item in found:
            try:
                check_owned(spec.key, spec.tags, tags_from_list(item.get("Tags", [])))
            except NotManagedError as exc:
                foreign.append(exc)
            else:
                ours.append(item)
        if not ours:
            if foreign:
                raise foreign[0]
            return None
        vpc_id = getattr(spec, "vpc_id", None)
        if len(ours) > 1 and isinstance(vpc_id, str):
            # Two of ours with one name: the one in the VPC the spec wants is the live one.
            in_vpc = [item for item in ours if self._vpc_of(item) == vpc_id]
            ours = in_vpc or ours
        if len(ours) > 1:
            ids = ", ".join(sorted(str(item[self.id_key]) for item in ours))
            raise PlanError(
                f"{spec.key} is ambiguous: {len(ours)} {self.noun}s are tagged Name={spec.name} for this project "
                f"and stage ({ids})",
                hint=f"delete the {self.noun}(s) not in use, or remove their Name tag, then run again",
            )
        return ours[0]

    def _vpc_of(self, item: AwsDict) -> str:
        return str(item.get("VpcId", ""))

    def _by_id(self, spec: Any, resource_id: str) -> AwsDict | None:
        found = self._describe(spec, [{"Name": self.id_filter, "Values": [resource_id]}])
        return found[0] if found else None

    def _retag(self, spec: Any, resource_id: str, live: Mapping[str, str]) -> None:
        """Make the resource's tags equal to the spec's: only the keys that differ are touched."""
        desired = _desired_tags(spec)
        stale = [{"Key": k} for k in sorted(live) if k not in desired]
        changed = {k: v for k, v in desired.items() if live.get(k) != v}
        if stale:
            self.aws.call("ec2", "delete_tags", key=spec.key, Resources=[resource_id], Tags=stale)
        if changed:
            self.aws.call(
                "ec2", "create_tags", key=spec.key, Resources=[resource_id], Tags=tags_to_list(changed)
            )

    def _on_new(self, spec: Any, operation: str, **params: Any) -> AwsDict:
        """Call `operation` on a just-created resource, riding out EC2's eventual consistency on its ID."""
        return self.aws.retry_on(
            lambda: self.aws.call("ec2", operation, key=spec.key, **params),
            codes=frozenset({self.not_found_code}),
            what=f"{spec.key} to become visible",
            timeout_s=NEW_ID_TIMEOUT_S,
            interval_s=2.0,
        )

    def _wait_state(self, spec: Any, resource_id: str, state: str) -> None:
        def probe() -> bool | None:
            item = self._by_id(spec, resource_id)
            return True if item is not None and item.get("State") == state else None

        self.aws.wait_until(
            probe,
            what=f"{spec.key} ({resource_id}) to be {state}",
            timeout_s=CREATE_WAIT_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    def _delete_with_retry(
        self, spec: Any, resource_id: str, attempt: Callable[[], object], *, timeout_s: float
    ) -> None:
        """Run `attempt` (which deletes), retrying DependencyViolation until `timeout_s`; then wait until gone."""
        try:
            self.aws.retry_on(
                attempt,
                codes=DEPENDENCY_VIOLATION,
                what=f"{spec.key} ({resource_id}) to lose its dependencies",
                timeout_s=timeout_s,
                interval_s=POLL_INTERVAL_S,
            )
        except AwsError as exc:
            if exc.code != self.not_found_code:
                raise
        self._wait_gone(spec, resource_id)

    def _wait_gone(self, spec: Any, resource_id: str) -> None:
        self.aws.wait_until(
            lambda: True if self._by_id(spec, resource_id) is None else None,
            what=f"{spec.key} ({resource_id}) to be deleted",
            timeout_s=DELETE_WAIT_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    def _delete_quietly(self, spec: Any, operation: str, **params: Any) -> None:
        """Best-effort cleanup after a failed create; the original error is what the user needs to see."""
        try:
            self.aws.call("ec2", operation, key=spec.key, **params)
        except AwsError as exc:
            log.debug("cleanup of %s failed: %s", spec.key, exc.code)


# ---- VPC -----------------------------------------------------------------------------------------------------
class VpcProvisioner(_Ec2Base):
    """VPC with DNS support and DNS hostnames on (Fargate and ECR endpoints need both)."""

    kind: ClassVar[Kind] = Kind.VPC
    describe_op = "describe_vpcs"
    items_key = "Vpcs"
    id_key = "VpcId"
    id_filter = "vpc-id"
    not_found_code = "InvalidVpcID.NotFound"
    noun = "VPC"

    def read(self, spec: VpcSpec) -> Observed | None:
        vpc = self._find(spec)
        if vpc is None:
            return None
        state = VpcSpec(
            name=spec.name,
            cidr_block=str(vpc["CidrBlock"]),
            tags=tags_from_list(vpc.get("Tags", [])),
            depends_on=spec.depends_on,
        )
        return Observed(state, {"id": str(vpc["VpcId"])})

    def create(self, spec: VpcSpec) -> Outputs:
        vpc = self.aws.call(
            "ec2",
            "create_vpc",
            key=spec.key,
            CidrBlock=spec.cidr_block,
            TagSpecifications=_tag_spec("vpc", spec),
        )["Vpc"]
        vpc_id = str(vpc["VpcId"])
        try:
            self._wait_state(spec, vpc_id, "available")
            # ModifyVpcAttribute takes one attribute per call.
            self._on_new(spec, "modify_vpc_attribute", VpcId=vpc_id, EnableDnsSupport={"Value": True})
            self._on_new(spec, "modify_vpc_attribute", VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        except AwsError:
            self._delete_quietly(spec, "delete_vpc", VpcId=vpc_id)
            raise
        return {"id": vpc_id}

    def update(self, spec: VpcSpec, observed: Observed) -> Outputs:
        before: VpcSpec = observed.state
        vpc_id = observed.outputs["id"]
        if dict(spec.tags) != dict(before.tags):
            self._retag(spec, vpc_id, before.tags)
        return {"id": vpc_id}

    def delete(self, observed: Observed) -> None:
        spec: VpcSpec = observed.state
        vpc_id = observed.outputs["id"]
        self._delete_with_retry(
            spec,
            vpc_id,
            lambda: self.aws.call("ec2", "delete_vpc", key=spec.key, VpcId=vpc_id),
            timeout_s=VPC_DELETE_TIMEOUT_S,
        )


# ---- Subnets -------------------------------------------------------------------------------------------------
class SubnetProvisioner(_Ec2Base):
    """Subnet in the `az_index`-th available AZ (sorted by name); leftover ENIs are removed before delete."""

    kind: ClassVar[Kind] = Kind.SUBNET
    describe_op = "describe_subnets"
    items_key = "Subnets"
    id_key = "SubnetId"
    id_filter = "subnet-id"
    not_found_code = "InvalidSubnetID.NotFound"
    noun = "subnet"

    def read(self, spec: SubnetSpec) -> Observed | None:
        subnet = self._find(spec)
        if subnet is None:
            return None
        zones = self._zones(spec)
        zone = str(subnet["AvailabilityZone"])
        # A subnet in a zone that is no longer listed (or never was) maps to -1: diff then plans a replacement.
        az_index = zones.index(zone) if zone in zones else -1
        state = SubnetSpec(
            name=spec.name,
            vpc_id=str(subnet["VpcId"]),
            cidr_block=str(subnet["CidrBlock"]),
            az_index=az_index,
            map_public_ip_on_launch=bool(subnet.get("MapPublicIpOnLaunch", False)),
            tags=tags_from_list(subnet.get("Tags", [])),
            depends_on=spec.depends_on,
        )
        return Observed(state, {"id": str(subnet["SubnetId"])})

    def create(self, spec: SubnetSpec) -> Outputs:
        vpc_id = _resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        zones = self._zones(spec)
        if not 0 <= spec.az_index < len(zones):
            raise PlanError(
                f"{spec.key}: az_index {spec.az_index} is out of range; region {self.aws.region} has "
                f"{len(zones)} available availability zone(s) ({', '.join(zones)})",
                hint="use fewer subnets or another region",
            )
        subnet = self.aws.call(
            "ec2",
            "create_subnet",
            key=spec.key,
            VpcId=vpc_id,
            CidrBlock=spec.cidr_block,
            AvailabilityZone=zones[spec.az_index],
            TagSpecifications=_tag_spec("subnet", spec),
        )["Subnet"]
        subnet_id = str(subnet["SubnetId"])
        try:
            self._wait_state(spec, subnet_id, "available")
            if bool(subnet.get("MapPublicIpOnLaunch", False)) != spec.map_public_ip_on_launch:
                self._on_new(
                    spec,
                    "modify_subnet_attribute",
                    SubnetId=subnet_id,
                    MapPublicIpOnLaunch={"Value": spec.map_public_ip_on_launch},
                )
        except AwsError:
            self._delete_quietly(spec, "delete_subnet", SubnetId=subnet_id)
            raise
        return {"id": subnet_id}

    def update(self, spec: SubnetSpec, observed: Observed) -> Outputs:
        before: SubnetSpec = observed.state
        subnet_id = observed.outputs["id"]
        if spec.map_public_ip_on_launch != before.map_public_ip_on_launch:
            self.aws.call(
                "ec2",
                "modify_subnet_attribute",
                key=spec.key,
                SubnetId=subnet_id,
                MapPublicIpOnLaunch={"Value": spec.map_public_ip_on_launch},
            )
        if dict(spec.tags) != dict(before.tags):
            self._retag(spec, subnet_id, before.tags)
        return {"id": subnet_id}

    def delete(self, observed: Observed) -> None:
        spec: SubnetSpec = observed.state
        subnet_id = observed.outputs["id"]

        def attempt() -> None:
            # Batch/Fargate ENIs can outlive the compute environment (AWS-QUIRKS 5). Released ones ("available")
            # are ours to delete; in-use ones belong to the service and become available by themselves, so each
            # attempt looks again.
            self._delete_released_enis(spec, subnet_id)
            self.aws.call("ec2", "delete_subnet", key=spec.key, SubnetId=subnet_id)

        self._delete_with_retry(spec, subnet_id, attempt, timeout_s=ENI_RELEASE_TIMEOUT_S)

    def _zones(self, spec: SubnetSpec) -> list[str]:
        """Names of the region's available AZs (no Local/Wavelength zones), sorted: what az_index counts in."""
        zones = self.aws.call(
            "ec2",
            "describe_availability_zones",
            key=spec.key,
            Filters=[
                {"Name": "state", "Values": ["available"]},
                {"Name": "zone-type", "Values": ["availability-zone"]},
            ],
        ).get("AvailabilityZones", [])
        return sorted(str(z["ZoneName"]) for z in zones)

    def _delete_released_enis(self, spec: SubnetSpec, subnet_id: str) -> None:
        for page in self.aws.pages(
            "ec2",
            "describe_network_interfaces",
            key=spec.key,
            Filters=[{"Name": "subnet-id", "Values": [subnet_id]}],
        ):
            for eni in page.get("NetworkInterfaces", []):
                if eni.get("Status") != "available":
                    continue
                eni_id = str(eni["NetworkInterfaceId"])
                log.debug("deleting leftover network interface %s in %s", eni_id, subnet_id)
                try:
                    self.aws.call("ec2", "delete_network_interface", key=spec.key, NetworkInterfaceId=eni_id)
                except AwsError as exc:
                    if exc.code != "InvalidNetworkInterfaceID.NotFound":
                        raise


# ---- Internet gateway ----------------------------------------------------------------------------------------
class InternetGatewayProvisioner(_Ec2Base):
    """Internet gateway attached to one VPC; read reports the attached VPC ("" when detached)."""

    kind: ClassVar[Kind] = Kind.INTERNET_GATEWAY
    describe_op = "describe_internet_gateways"
    items_key = "InternetGateways"
    id_key = "InternetGatewayId"
    id_filter = "internet-gateway-id"
    not_found_code = "InvalidInternetGatewayID.NotFound"
    noun = "internet gateway"

    def read(self, spec: InternetGatewaySpec) -> Observed | None:
        igw = self._find(spec)
        if igw is None:
            return None
        state = InternetGatewaySpec(
            name=spec.name,
            vpc_id=_attached_vpc(igw),
            tags=tags_from_list(igw.get("Tags", [])),
            depends_on=spec.depends_on,
        )
        return Observed(state, {"id": str(igw["InternetGatewayId"])})

    def create(self, spec: InternetGatewaySpec) -> Outputs:
        vpc_id = _resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        igw = self.aws.call(
            "ec2",
            "create_internet_gateway",
            key=spec.key,
            TagSpecifications=_tag_spec("internet-gateway", spec),
        )["InternetGateway"]
        igw_id = str(igw["InternetGatewayId"])
        try:
            self._on_new(spec, "attach_internet_gateway", InternetGatewayId=igw_id, VpcId=vpc_id)
        except AwsError:
            self._delete_quietly(spec, "delete_internet_gateway", InternetGatewayId=igw_id)
            raise
        return {"id": igw_id}

    def update(self, spec: InternetGatewaySpec, observed: Observed) -> Outputs:
        before: InternetGatewaySpec = observed.state
        igw_id = observed.outputs["id"]
        vpc_id = _resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        if vpc_id != before.vpc_id:
            old = _resolved(before.vpc_id, key=spec.key, field="vpc_id")
            if old:
                self._detach(spec, igw_id, old)
            if vpc_id:
                self.aws.call(
                    "ec2", "attach_internet_gateway", key=spec.key, InternetGatewayId=igw_id, VpcId=vpc_id
                )
        if dict(spec.tags) != dict(before.tags):
            self._retag(spec, igw_id, before.tags)
        return {"id": igw_id}

    def delete(self, observed: Observed) -> None:
        spec: InternetGatewaySpec = observed.state
        igw_id = observed.outputs["id"]
        # Detach from whatever it is attached to now, not what the plan saw.
        live = self._by_id(spec, igw_id)
        if live is None:
            return
        attached = _attached_vpc(live)
        if attached:
            self._detach(spec, igw_id, attached)
        self._delete_with_retry(
            spec,
            igw_id,
            lambda: self.aws.call("ec2", "delete_internet_gateway", key=spec.key, InternetGatewayId=igw_id),
            timeout_s=DELETE_WAIT_TIMEOUT_S,
        )

    def _vpc_of(self, item: AwsDict) -> str:
        return _attached_vpc(item)

    def _detach(self, spec: InternetGatewaySpec, igw_id: str, vpc_id: str) -> None:
        try:
            self.aws.retry_on(
                lambda: self.aws.call(
                    "ec2", "detach_internet_gateway", key=spec.key, InternetGatewayId=igw_id, VpcId=vpc_id
                ),
                codes=DEPENDENCY_VIOLATION,
                messages=("mapped public address",),
                what=f"{spec.key} ({igw_id}): public addresses in {vpc_id} to be released",
                timeout_s=IGW_DETACH_TIMEOUT_S,
                interval_s=POLL_INTERVAL_S,
            )
        except AwsError as exc:
            if exc.code != "Gateway.NotAttached":
                raise


def _attached_vpc(igw: AwsDict) -> str:
    for attachment in igw.get("Attachments", []):
        # Internet gateway attachments report "available" when attached (other gateways say "attached").
        if attachment.get("State") in ("available", "attached", "attaching"):
            return str(attachment["VpcId"])
    return ""


# ---- Route table ---------------------------------------------------------------------------------------------
# Route target fields, in the order we report them; a route to anything else still shows (and is replaced).
_ROUTE_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "NetworkInterfaceId",
    "InstanceId",
    "EgressOnlyInternetGatewayId",
    "CarrierGatewayId",
    "LocalGatewayId",
)


class RouteTableProvisioner(_Ec2Base):
    """Route table with IPv4 routes (destination CIDR → gateway) and explicit subnet associations."""

    kind: ClassVar[Kind] = Kind.ROUTE_TABLE
    describe_op = "describe_route_tables"
    items_key = "RouteTables"
    id_key = "RouteTableId"
    id_filter = "route-table-id"
    not_found_code = "InvalidRouteTableID.NotFound"
    noun = "route table"

    def read(self, spec: RouteTableSpec) -> Observed | None:
        table = self._find(spec)
        if table is None:
            return None
        state = RouteTableSpec(
            name=spec.name,
            vpc_id=str(table["VpcId"]),
            routes=tuple(sorted(_routes(table).items())),
            subnet_ids=tuple(sorted(_associations(table))),
            tags=tags_from_list(table.get("Tags", [])),
            depends_on=spec.depends_on,
        )
        return Observed(state, {"id": str(table["RouteTableId"])})

    def create(self, spec: RouteTableSpec) -> Outputs:
        vpc_id = _resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        table = self.aws.call(
            "ec2",
            "create_route_table",
            key=spec.key,
            VpcId=vpc_id,
            TagSpecifications=_tag_spec("route-table", spec),
        )["RouteTable"]
        table_id = str(table["RouteTableId"])
        try:
            for destination, target in self._desired_routes(spec).items():
                self._on_new(
                    spec,
                    "create_route",
                    RouteTableId=table_id,
                    DestinationCidrBlock=destination,
                    GatewayId=target,
                )
            for subnet_id in self._desired_subnets(spec):
                self._associate(spec, table_id, subnet_id)
        except AwsError:
            self._cleanup(spec, table_id)
            raise
        return {"id": table_id}

    def update(self, spec: RouteTableSpec, observed: Observed) -> Outputs:
        before: RouteTableSpec = observed.state
        table_id = observed.outputs["id"]
        want = self._desired_routes(spec)
        have = {destination: str(target) for destination, target in before.routes}
        for destination in sorted(have.keys() - want.keys()):
            self.aws.call(
                "ec2", "delete_route", key=spec.key, RouteTableId=table_id, DestinationCidrBlock=destination
            )
        for destination, target in sorted(want.items()):
            if destination not in have:
                self.aws.call(
                    "ec2",
                    "create_route",
                    key=spec.key,
                    RouteTableId=table_id,
                    DestinationCidrBlock=destination,
                    GatewayId=target,
                )
            elif have[destination] != target:
                self.aws.call(
                    "ec2",
                    "replace_route",
                    key=spec.key,
                    RouteTableId=table_id,
                    DestinationCidrBlock=destination,
                    GatewayId=target,
                )
        want_subnets = set(self._desired_subnets(spec))
        have_subnets = {str(s) for s in before.subnet_ids}
        if want_subnets != have_subnets:
            live = self._by_id(spec, table_id)
            associations = _associations(live) if live is not None else {}
            for subnet_id in sorted(have_subnets - want_subnets):
                if subnet_id in associations:
                    self.aws.call(
                        "ec2", "disassociate_route_table", key=spec.key, AssociationId=associations[subnet_id]
                    )
            for subnet_id in sorted(want_subnets - have_subnets):
                self._associate(spec, table_id, subnet_id)
        if dict(spec.tags) != dict(before.tags):
            self._retag(spec, table_id, before.tags)
        return {"id": table_id}

    def delete(self, observed: Observed) -> None:
        spec: RouteTableSpec = observed.state
        table_id = observed.outputs["id"]
        self._disassociate_all(spec, table_id)
        self._delete_with_retry(
            spec,
            table_id,
            lambda: self.aws.call("ec2", "delete_route_table", key=spec.key, RouteTableId=table_id),
            timeout_s=DELETE_WAIT_TIMEOUT_S,
        )

    def _disassociate_all(self, spec: RouteTableSpec, table_id: str) -> None:
        live = self._by_id(spec, table_id)
        for association_id in _associations(live).values() if live is not None else ():
            try:
                self.aws.call("ec2", "disassociate_route_table", key=spec.key, AssociationId=association_id)
            except AwsError as exc:
                if exc.code != "InvalidAssociationID.NotFound":
                    raise

    def _cleanup(self, spec: RouteTableSpec, table_id: str) -> None:
        """Best-effort removal of a half-created table; the create error is what the user needs to see."""
        try:
            self._disassociate_all(spec, table_id)
            self.aws.call("ec2", "delete_route_table", key=spec.key, RouteTableId=table_id)
        except AwsError as exc:
            log.debug("cleanup of %s failed: %s", spec.key, exc.code)

    def _associate(self, spec: RouteTableSpec, table_id: str, subnet_id: str) -> None:
        """Associate a subnet; if another table holds it explicitly, move it (AssociateRouteTable would fail
        with Resource.AlreadyAssociated)."""
        holders = self._describe(spec, [{"Name": "association.subnet-id", "Values": [subnet_id]}])
        for holder in holders:
            association_id = _associations(holder).get(subnet_id)
            if association_id is None:
                continue
            if holder["RouteTableId"] == table_id:
                return
            self.aws.call(
                "ec2",
                "replace_route_table_association",
                key=spec.key,
                AssociationId=association_id,
                RouteTableId=table_id,
            )
            return
        self._on_new(spec, "associate_route_table", RouteTableId=table_id, SubnetId=subnet_id)

    @staticmethod
    def _desired_routes(spec: RouteTableSpec) -> dict[str, str]:
        return {dest: _resolved(target, key=spec.key, field="routes") for dest, target in spec.routes}

    @staticmethod
    def _desired_subnets(spec: RouteTableSpec) -> list[str]:
        return sorted(_resolved(s, key=spec.key, field="subnet_ids") for s in spec.subnet_ids)


def _routes(table: AwsDict) -> dict[str, str]:
    """IPv4 routes we manage: destination → target, without the VPC's `local` route and propagated routes."""
    routes: dict[str, str] = {}
    for route in table.get("Routes", []):
        destination = route.get("DestinationCidrBlock")
        if destination is None or route.get("GatewayId") == "local":
            continue
        if route.get("Origin") == "EnableVgwRoutePropagation":
            continue
        target = next((str(route[f]) for f in _ROUTE_TARGETS if route.get(f)), "")
        routes[str(destination)] = target
    return routes


def _associations(table: AwsDict) -> dict[str, str]:
    """Explicit subnet associations: subnet ID → association ID (the main association has no subnet)."""
    found: dict[str, str] = {}
    for association in table.get("Associations", []):
        subnet_id = association.get("SubnetId")
        state = association.get("AssociationState", {}).get("State", "associated")
        if association.get("Main") or not subnet_id or state not in ("associated", "associating"):
            continue
        found[str(subnet_id)] = str(association["RouteTableAssociationId"])
    return found


# ---- Security group ------------------------------------------------------------------------------------------
class SecurityGroupProvisioner(_Ec2Base):
    """Egress-only security group: AWS's default allow-all egress rule and no ingress rule."""

    kind: ClassVar[Kind] = Kind.SECURITY_GROUP
    describe_op = "describe_security_groups"
    items_key = "SecurityGroups"
    id_key = "GroupId"
    id_filter = "group-id"
    not_found_code = "InvalidGroup.NotFound"
    noun = "security group"

    def read(self, spec: SecurityGroupSpec) -> Observed | None:
        # Group names are unique per VPC and CreateSecurityGroup uses ours, so a same-named group without our
        # Name tag would make create fail (InvalidGroup.Duplicate): find it too, so ownership is checked.
        same_name = self._describe(spec, [{"Name": "group-name", "Values": [spec.name]}])
        group = self._find(spec, extra=same_name)
        if group is None:
            return None
        state = SecurityGroupSpec(
            name=spec.name,
            vpc_id=str(group.get("VpcId", "")),
            description=str(group.get("Description", "")),
            tags=tags_from_list(group.get("Tags", [])),
            depends_on=spec.depends_on,
        )
        return Observed(state, {"id": str(group["GroupId"])})

    def create(self, spec: SecurityGroupSpec) -> Outputs:
        vpc_id = _resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        group = self.aws.call(
            "ec2",
            "create_security_group",
            key=spec.key,
            GroupName=spec.name,
            Description=spec.description,
            VpcId=vpc_id,
            TagSpecifications=_tag_spec("security-group", spec),
        )
        return {"id": str(group["GroupId"])}

    def update(self, spec: SecurityGroupSpec, observed: Observed) -> Outputs:
        before: SecurityGroupSpec = observed.state
        group_id = observed.outputs["id"]
        if dict(spec.tags) != dict(before.tags):
            self._retag(spec, group_id, before.tags)
        return {"id": group_id}

    def delete(self, observed: Observed) -> None:
        spec: SecurityGroupSpec = observed.state
        group_id = observed.outputs["id"]
        # Leftover Batch/Fargate ENIs may still use the group (AWS-QUIRKS 5) until the service releases them.
        self._delete_with_retry(
            spec,
            group_id,
            lambda: self.aws.call("ec2", "delete_security_group", key=spec.key, GroupId=group_id),
            timeout_s=ENI_RELEASE_TIMEOUT_S,
        )
