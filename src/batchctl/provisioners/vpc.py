"""EC2 networking: the VPC, its public subnets, the internet gateway and the egress-only security group (route
table: route_table.py), each found by its Name tag and proven ours by tag (ec2.Ec2Base); outputs are {"id": ...}.
Imports: specs, aws, errors, provisioners.base, provisioners.ec2, provisioners.ec2_teardown."""

from __future__ import annotations

from typing import ClassVar

from batchctl.errors import AwsError, PlanError
from batchctl.provisioners.base import Observed, observation, resolved, tags_from_list
from batchctl.provisioners.ec2 import Ec2Base, Ec2Spec, name_tag, tag_specifications
from batchctl.provisioners.ec2_teardown import (
    DELETE_WAIT_TIMEOUT_S,
    ENI_RELEASE_TIMEOUT_S,
    VPC_DELETE_TIMEOUT_S,
    clear_network_interfaces,
    delete_quietly,
    detach_internet_gateway,
)
from batchctl.specs import AwsDict, InternetGatewaySpec, Kind, Outputs, SecurityGroupSpec, SubnetSpec, VpcSpec


# ---- VPC -----------------------------------------------------------------------------------------------------
class VpcProvisioner(Ec2Base):
    """VPC with DNS support and DNS hostnames on (Fargate and ECR endpoints need both)."""

    kind: ClassVar[Kind] = Kind.VPC
    describe_op = "describe_vpcs"
    items_key = "Vpcs"
    id_key = "VpcId"
    id_filter = "vpc-id"
    not_found_code = "InvalidVpcID.NotFound"
    noun = "VPC"

    @staticmethod
    def to_request(spec: VpcSpec) -> AwsDict:
        """The CreateVpc parameters for `spec` (DNS support and hostnames follow with ModifyVpcAttribute)."""
        return {"CidrBlock": spec.cidr_block, "TagSpecifications": tag_specifications("vpc", spec)}

    @staticmethod
    def from_described(item: AwsDict) -> VpcSpec:
        """A DescribeVpcs item in the spec's shape (its name is its Name tag)."""
        return VpcSpec(
            name=name_tag(item), cidr_block=str(item["CidrBlock"]), tags=tags_from_list(item.get("Tags", []))
        )

    def read(self, spec: VpcSpec) -> Observed[VpcSpec] | None:
        vpc = self._find(spec)
        if vpc is None:
            return None
        return observation(spec, self.from_described(vpc), {"id": str(vpc["VpcId"])})

    def create(self, spec: VpcSpec) -> Outputs:
        vpc = self.aws.call("ec2", "create_vpc", key=spec.key, **self.to_request(spec))["Vpc"]
        vpc_id = str(vpc["VpcId"])
        try:
            self._wait_state(spec, vpc_id, "available")
            # ModifyVpcAttribute takes one attribute per call.
            self._on_new(spec, "modify_vpc_attribute", VpcId=vpc_id, EnableDnsSupport={"Value": True})
            self._on_new(spec, "modify_vpc_attribute", VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        except AwsError:
            delete_quietly(self.aws, key=spec.key, operation="delete_vpc", VpcId=vpc_id)
            raise
        return {"id": vpc_id}

    def update(self, spec: VpcSpec, observed: Observed[VpcSpec]) -> Outputs:
        vpc_id = observed.outputs["id"]
        if dict(spec.tags) != dict(observed.state.tags):
            self._retag(spec, vpc_id, observed.state.tags)
        return {"id": vpc_id}

    def delete(self, observed: Observed[VpcSpec]) -> None:
        spec = observed.state
        vpc_id = observed.outputs["id"]
        self._delete_with_retry(
            spec,
            vpc_id,
            lambda: self.aws.call("ec2", "delete_vpc", key=spec.key, VpcId=vpc_id),
            timeout_s=VPC_DELETE_TIMEOUT_S,
        )


class _EniHolder(Ec2Base):
    """A subnet or security group: network interfaces in it or using it block its delete."""

    eni_filter: ClassVar[str]

    def _delete_clearing_interfaces(
        self, spec: SubnetSpec | SecurityGroupSpec, resource_id: str, operation: str, **params: str
    ) -> None:
        """Delete with `operation`, each attempt first deleting the ENIs ECS released for us and stopping at
        anyone else's (ForeignNetworkInterfaceError); DependencyViolation is retried while ECS lets go."""

        def attempt() -> None:
            clear_network_interfaces(
                self.aws,
                key=spec.key,
                what=f"{spec.key} ({resource_id})",
                filter_name=self.eni_filter,
                resource_id=resource_id,
            )
            self.aws.call("ec2", operation, key=spec.key, **params)

        self._delete_with_retry(spec, resource_id, attempt, timeout_s=ENI_RELEASE_TIMEOUT_S)


# ---- Subnets -------------------------------------------------------------------------------------------------
class SubnetProvisioner(_EniHolder):
    """Subnet in the `az_index`-th available AZ (sorted by name); before delete the ENIs ECS left are removed,
    and an ENI anyone else made keeps the subnet (ForeignNetworkInterfaceError)."""

    kind: ClassVar[Kind] = Kind.SUBNET
    describe_op = "describe_subnets"
    items_key = "Subnets"
    id_key = "SubnetId"
    id_filter = "subnet-id"
    not_found_code = "InvalidSubnetID.NotFound"
    noun = "subnet"
    eni_filter = "subnet-id"

    @staticmethod
    def to_request(spec: SubnetSpec, *, zones: list[str]) -> AwsDict:
        """The CreateSubnet parameters for `spec`, its zone picked from `zones` (the region's available ones,
        sorted). MapPublicIpOnLaunch follows with ModifySubnetAttribute."""
        return {
            "VpcId": resolved(spec.vpc_id, key=spec.key, field="vpc_id"),
            "CidrBlock": spec.cidr_block,
            "AvailabilityZone": zones[spec.az_index],
            "TagSpecifications": tag_specifications("subnet", spec),
        }

    @staticmethod
    def from_described(item: AwsDict, *, zones: list[str]) -> SubnetSpec:
        """A DescribeSubnets item in the spec's shape. A subnet in a zone `zones` does not list (any more) has
        az_index -1: diff then plans a replacement."""
        zone = str(item["AvailabilityZone"])
        return SubnetSpec(
            name=name_tag(item),
            vpc_id=str(item["VpcId"]),
            cidr_block=str(item["CidrBlock"]),
            az_index=zones.index(zone) if zone in zones else -1,
            map_public_ip_on_launch=bool(item.get("MapPublicIpOnLaunch", False)),
            tags=tags_from_list(item.get("Tags", [])),
        )

    def read(self, spec: SubnetSpec) -> Observed[SubnetSpec] | None:
        subnet = self._find(spec)
        if subnet is None:
            return None
        state = self.from_described(subnet, zones=self._zones(spec))
        return observation(spec, state, {"id": str(subnet["SubnetId"])})

    def create(self, spec: SubnetSpec) -> Outputs:
        resolved(spec.vpc_id, key=spec.key, field="vpc_id")  # an unfilled Ref fails here, before any call
        zones = self._zones(spec)
        if not 0 <= spec.az_index < len(zones):
            raise PlanError(
                f"{spec.key}: az_index {spec.az_index} is out of range; region {self.aws.region} has "
                f"{len(zones)} available availability zone(s) ({', '.join(zones)})",
                hint="use fewer subnets or another region",
            )
        subnet = self.aws.call("ec2", "create_subnet", key=spec.key, **self.to_request(spec, zones=zones))[
            "Subnet"
        ]
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
            delete_quietly(self.aws, key=spec.key, operation="delete_subnet", SubnetId=subnet_id)
            raise
        return {"id": subnet_id}

    def update(self, spec: SubnetSpec, observed: Observed[SubnetSpec]) -> Outputs:
        before = observed.state
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

    def delete(self, observed: Observed[SubnetSpec]) -> None:
        spec = observed.state
        subnet_id = observed.outputs["id"]

        # ENIs ECS released for us go first (AWS-QUIRKS 5); anyone else's stops the delete.
        self._delete_clearing_interfaces(spec, subnet_id, "delete_subnet", SubnetId=subnet_id)

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


# ---- Internet gateway ----------------------------------------------------------------------------------------
class InternetGatewayProvisioner(Ec2Base):
    """Internet gateway attached to one VPC; read reports the attached VPC ("" when detached)."""

    kind: ClassVar[Kind] = Kind.INTERNET_GATEWAY
    describe_op = "describe_internet_gateways"
    items_key = "InternetGateways"
    id_key = "InternetGatewayId"
    id_filter = "internet-gateway-id"
    not_found_code = "InvalidInternetGatewayID.NotFound"
    noun = "internet gateway"

    @staticmethod
    def to_request(spec: InternetGatewaySpec) -> AwsDict:
        """The CreateInternetGateway parameters for `spec` (attaching it to its VPC is a call of its own)."""
        return {"TagSpecifications": tag_specifications("internet-gateway", spec)}

    @staticmethod
    def from_described(item: AwsDict) -> InternetGatewaySpec:
        """A DescribeInternetGateways item in the spec's shape: `vpc_id` is the attached VPC, "" when detached."""
        return InternetGatewaySpec(
            name=name_tag(item), vpc_id=_attached_vpc(item), tags=tags_from_list(item.get("Tags", []))
        )

    def read(self, spec: InternetGatewaySpec) -> Observed[InternetGatewaySpec] | None:
        igw = self._find(spec)
        if igw is None:
            return None
        return observation(spec, self.from_described(igw), {"id": str(igw["InternetGatewayId"])})

    def create(self, spec: InternetGatewaySpec) -> Outputs:
        vpc_id = resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        igw = self.aws.call("ec2", "create_internet_gateway", key=spec.key, **self.to_request(spec))[
            "InternetGateway"
        ]
        igw_id = str(igw["InternetGatewayId"])
        try:
            self._on_new(spec, "attach_internet_gateway", InternetGatewayId=igw_id, VpcId=vpc_id)
        except AwsError:
            delete_quietly(
                self.aws, key=spec.key, operation="delete_internet_gateway", InternetGatewayId=igw_id
            )
            raise
        return {"id": igw_id}

    def update(self, spec: InternetGatewaySpec, observed: Observed[InternetGatewaySpec]) -> Outputs:
        before = observed.state
        igw_id = observed.outputs["id"]
        vpc_id = resolved(spec.vpc_id, key=spec.key, field="vpc_id")
        if vpc_id != before.vpc_id:
            old = resolved(before.vpc_id, key=spec.key, field="vpc_id")
            if old:
                detach_internet_gateway(self.aws, key=spec.key, igw_id=igw_id, vpc_id=old)
            if vpc_id:
                self.aws.call(
                    "ec2", "attach_internet_gateway", key=spec.key, InternetGatewayId=igw_id, VpcId=vpc_id
                )
        if dict(spec.tags) != dict(before.tags):
            self._retag(spec, igw_id, before.tags)
        return {"id": igw_id}

    def delete(self, observed: Observed[InternetGatewaySpec]) -> None:
        spec = observed.state
        igw_id = observed.outputs["id"]
        # Detach from whatever it is attached to now, not what the plan saw.
        live = self._by_id(spec, igw_id)
        if live is None:
            return
        attached = _attached_vpc(live)
        if attached:
            detach_internet_gateway(self.aws, key=spec.key, igw_id=igw_id, vpc_id=attached)
        self._delete_with_retry(
            spec,
            igw_id,
            lambda: self.aws.call("ec2", "delete_internet_gateway", key=spec.key, InternetGatewayId=igw_id),
            timeout_s=DELETE_WAIT_TIMEOUT_S,
        )

    def _vpc_of(self, item: AwsDict) -> str:
        return _attached_vpc(item)

    def _keep_one(self, spec: Ec2Spec, ours: list[AwsDict]) -> AwsDict:
        """In use: the gateway attached to our VPC, else one attached to any VPC, else the first by ID."""
        vpc_id = self._our_vpc(spec)
        attached = [item for item in ours if _attached_vpc(item)]
        in_vpc = [item for item in attached if vpc_id and _attached_vpc(item) == vpc_id]
        kept = (in_vpc or attached or ours)[0]
        return self._remember(spec, kept, [i for i in ours if i is not kept], self.from_described)


def _attached_vpc(igw: AwsDict) -> str:
    for attachment in igw.get("Attachments", []):
        # Internet gateway attachments report "available" when attached (other gateways say "attached").
        if attachment.get("State") in ("available", "attached", "attaching"):
            return str(attachment["VpcId"])
    return ""


# ---- Security group ------------------------------------------------------------------------------------------
class SecurityGroupProvisioner(_EniHolder):
    """Egress-only security group: AWS's default allow-all egress rule and no ingress rule."""

    kind: ClassVar[Kind] = Kind.SECURITY_GROUP
    describe_op = "describe_security_groups"
    items_key = "SecurityGroups"
    id_key = "GroupId"
    id_filter = "group-id"
    not_found_code = "InvalidGroup.NotFound"
    noun = "security group"
    eni_filter = "group-id"

    @staticmethod
    def to_request(spec: SecurityGroupSpec) -> AwsDict:
        """The CreateSecurityGroup parameters for `spec`: named as the spec is, tagged at birth."""
        return {
            "GroupName": spec.name,
            "Description": spec.description,
            "VpcId": resolved(spec.vpc_id, key=spec.key, field="vpc_id"),
            "TagSpecifications": tag_specifications("security-group", spec),
        }

    @staticmethod
    def from_described(item: AwsDict) -> SecurityGroupSpec:
        """A DescribeSecurityGroups item in the spec's shape (its name is its Name tag, else its group name)."""
        return SecurityGroupSpec(
            name=name_tag(item) or str(item["GroupName"]),
            vpc_id=str(item.get("VpcId", "")),
            description=str(item.get("Description", "")),
            tags=tags_from_list(item.get("Tags", [])),
        )

    def _keep_one(self, spec: Ec2Spec, ours: list[AwsDict]) -> AwsDict:
        """In use: the group a compute environment uses, else one in our VPC, else the first by ID."""
        used = {
            str(group)
            for page in self.aws.pages("batch", "describe_compute_environments", key=spec.key)
            for environment in page.get("computeEnvironments", [])
            for group in (environment.get("computeResources") or {}).get("securityGroupIds", [])
        }
        vpc_id = self._our_vpc(spec)
        referenced = [item for item in ours if str(item["GroupId"]) in used]
        in_vpc = [item for item in ours if vpc_id and item.get("VpcId") == vpc_id]
        kept = (referenced or in_vpc or ours)[0]
        return self._remember(spec, kept, [i for i in ours if i is not kept], self.from_described)

    def read(self, spec: SecurityGroupSpec) -> Observed[SecurityGroupSpec] | None:
        # Group names are unique per VPC and CreateSecurityGroup uses ours, so a same-named group without our
        # Name tag would make create fail (InvalidGroup.Duplicate): find it too, so ownership is checked.
        same_name = self._describe(spec, [{"Name": "group-name", "Values": [spec.name]}])
        group = self._find(spec, extra=same_name)
        if group is None:
            return None
        return observation(spec, self.from_described(group), {"id": str(group["GroupId"])})

    def create(self, spec: SecurityGroupSpec) -> Outputs:
        group = self.aws.call("ec2", "create_security_group", key=spec.key, **self.to_request(spec))
        return {"id": str(group["GroupId"])}

    def update(self, spec: SecurityGroupSpec, observed: Observed[SecurityGroupSpec]) -> Outputs:
        group_id = observed.outputs["id"]
        if dict(spec.tags) != dict(observed.state.tags):
            self._retag(spec, group_id, observed.state.tags)
        return {"id": group_id}

    def delete(self, observed: Observed[SecurityGroupSpec]) -> None:
        spec = observed.state
        group_id = observed.outputs["id"]

        # Leftover Batch/Fargate ENIs may still use the group (AWS-QUIRKS 5) until ECS releases them.
        self._delete_clearing_interfaces(spec, group_id, "delete_security_group", GroupId=group_id)
