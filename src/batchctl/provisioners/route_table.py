"""EC2 route tables: the public route table's IPv4 routes (destination CIDR → gateway) and explicit subnet
associations, found by Name tag like the other network resources (ec2.Ec2Base); outputs are {"id": ...}.
Imports: specs, aws, errors, provisioners.base, provisioners.ec2, provisioners.ec2_teardown."""

from __future__ import annotations

import logging
from typing import ClassVar

from batchctl.errors import AwsError
from batchctl.provisioners.base import Observed, observation, resolved, tags_from_list
from batchctl.provisioners.ec2 import Ec2Base, Ec2Spec, name_tag, tag_specifications
from batchctl.provisioners.ec2_teardown import DELETE_WAIT_TIMEOUT_S
from batchctl.specs import AwsDict, Kind, Outputs, RouteTableSpec

log = logging.getLogger(__name__)

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


class RouteTableProvisioner(Ec2Base):
    """Route table with IPv4 routes (destination CIDR → gateway) and explicit subnet associations."""

    kind: ClassVar[Kind] = Kind.ROUTE_TABLE
    describe_op = "describe_route_tables"
    items_key = "RouteTables"
    id_key = "RouteTableId"
    id_filter = "route-table-id"
    not_found_code = "InvalidRouteTableID.NotFound"
    noun = "route table"

    @staticmethod
    def to_request(spec: RouteTableSpec) -> AwsDict:
        """The CreateRouteTable parameters for `spec` (each route and subnet association is a call of its own)."""
        return {
            "VpcId": resolved(spec.vpc_id, key=spec.key, field="vpc_id"),
            "TagSpecifications": tag_specifications("route-table", spec),
        }

    @staticmethod
    def from_described(item: AwsDict) -> RouteTableSpec:
        """A DescribeRouteTables item in the spec's shape: the routes we manage and the explicitly associated
        subnets, both sorted."""
        return RouteTableSpec(
            name=name_tag(item),
            vpc_id=str(item["VpcId"]),
            routes=tuple(sorted(_routes(item).items())),
            subnet_ids=tuple(sorted(_associations(item))),
            tags=tags_from_list(item.get("Tags", [])),
        )

    def _keep_one(self, spec: Ec2Spec, ours: list[AwsDict]) -> AwsDict:
        """In use: of the tables in our VPC (else all), the one with the most subnets associated, first by ID."""
        vpc_id = self._our_vpc(spec)
        candidates = [item for item in ours if vpc_id and item.get("VpcId") == vpc_id] or ours
        kept = max(candidates, key=lambda item: len(_associations(item)))
        return self._remember(spec, kept, [i for i in ours if i is not kept], self.from_described)

    def read(self, spec: RouteTableSpec) -> Observed[RouteTableSpec] | None:
        table = self._find(spec)
        if table is None:
            return None
        return observation(spec, self.from_described(table), {"id": str(table["RouteTableId"])})

    def create(self, spec: RouteTableSpec) -> Outputs:
        table = self.aws.call("ec2", "create_route_table", key=spec.key, **self.to_request(spec))[
            "RouteTable"
        ]
        table_id = str(table["RouteTableId"])
        try:
            for destination, target in self._desired_routes(spec).items():
                self._on_new(spec, "create_route", **_route(table_id, destination, target))
            for subnet_id in self._desired_subnets(spec):
                self._associate(spec, table_id, subnet_id)
        except AwsError:
            self._cleanup(spec, table_id)
            raise
        return {"id": table_id}

    def update(self, spec: RouteTableSpec, observed: Observed[RouteTableSpec]) -> Outputs:
        before = observed.state
        table_id = observed.outputs["id"]
        want = self._desired_routes(spec)
        have = {destination: str(target) for destination, target in before.routes}
        for destination in sorted(have.keys() - want.keys()):
            self.aws.call(
                "ec2", "delete_route", key=spec.key, RouteTableId=table_id, DestinationCidrBlock=destination
            )
        for destination, target in sorted(want.items()):
            if destination not in have:
                self.aws.call("ec2", "create_route", key=spec.key, **_route(table_id, destination, target))
            elif have[destination] != target:
                self.aws.call("ec2", "replace_route", key=spec.key, **_route(table_id, destination, target))
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

    def delete(self, observed: Observed[RouteTableSpec]) -> None:
        spec = observed.state
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
        return {dest: resolved(target, key=spec.key, field="routes") for dest, target in spec.routes}

    @staticmethod
    def _desired_subnets(spec: RouteTableSpec) -> list[str]:
        return sorted(resolved(s, key=spec.key, field="subnet_ids") for s in spec.subnet_ids)


def _route(table_id: str, destination: str, target: str) -> AwsDict:
    """The parameters of CreateRoute and ReplaceRoute: an IPv4 destination through a gateway."""
    return {"RouteTableId": table_id, "DestinationCidrBlock": destination, "GatewayId": target}


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
