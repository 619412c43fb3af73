"""The explicit registry of provisioners, one per Kind. A missing kind is a KeyError, never a skipped resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchctl.aws import Aws
from batchctl.provisioners.base import Provisioner
from batchctl.provisioners.batch import ComputeEnvironmentProvisioner, JobQueueProvisioner
from batchctl.provisioners.ecr import RepositoryProvisioner
from batchctl.provisioners.events import EventRuleProvisioner
from batchctl.provisioners.iam import InstanceProfileProvisioner, RoleProvisioner
from batchctl.provisioners.job_definition import JobDefinitionProvisioner
from batchctl.provisioners.logs import LogGroupProvisioner
from batchctl.provisioners.pipes import PipeProvisioner
from batchctl.provisioners.route_table import RouteTableProvisioner
from batchctl.provisioners.scheduler import ScheduleGroupProvisioner, ScheduleProvisioner
from batchctl.provisioners.sfn import StateMachineProvisioner
from batchctl.provisioners.sns import TopicProvisioner
from batchctl.provisioners.sqs import QueueProvisioner
from batchctl.provisioners.vpc import (
    InternetGatewayProvisioner,
    SecurityGroupProvisioner,
    SubnetProvisioner,
    VpcProvisioner,
)
from batchctl.specs import Kind

PROVISIONERS: Mapping[Kind, type[Provisioner[Any]]] = {
    Kind.IAM_ROLE: RoleProvisioner,
    Kind.IAM_INSTANCE_PROFILE: InstanceProfileProvisioner,
    Kind.VPC: VpcProvisioner,
    Kind.SUBNET: SubnetProvisioner,
    Kind.INTERNET_GATEWAY: InternetGatewayProvisioner,
    Kind.ROUTE_TABLE: RouteTableProvisioner,
    Kind.SECURITY_GROUP: SecurityGroupProvisioner,
    Kind.ECR_REPOSITORY: RepositoryProvisioner,
    Kind.LOG_GROUP: LogGroupProvisioner,
    Kind.SNS_TOPIC: TopicProvisioner,
    Kind.SQS_QUEUE: QueueProvisioner,
    Kind.COMPUTE_ENVIRONMENT: ComputeEnvironmentProvisioner,
    Kind.JOB_QUEUE: JobQueueProvisioner,
    Kind.JOB_DEFINITION: JobDefinitionProvisioner,
    Kind.STATE_MACHINE: StateMachineProvisioner,
    Kind.PIPE: PipeProvisioner,
    Kind.SCHEDULE_GROUP: ScheduleGroupProvisioner,
    Kind.SCHEDULE: ScheduleProvisioner,
    Kind.EVENT_RULE: EventRuleProvisioner,
}


# Every service the provisioners call (for Aws.preload).
SERVICES = (
    "iam",
    "ec2",
    "logs",
    "resourcegroupstaggingapi",
    "batch",
    "sqs",
    "stepfunctions",
    "pipes",
    "scheduler",
    "sns",
    "ecr",
    "events",
    "s3",
)


def build_provisioners(aws: Aws) -> dict[Kind, Provisioner[Any]]:
    """One provisioner instance per kind, sharing `aws` (and so its clients)."""
    return {kind: cls(aws) for kind, cls in PROVISIONERS.items()}
