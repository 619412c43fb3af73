"""One mapping per resource kind: a spec → its CloudFormation resource (first) and the resources CloudFormation
splits off it (a gateway's attachment, a route table's routes and associations). The values are the spec's, field by
field, in the shapes the provisioners send; names, ARNs and `Ref`s of dependencies go through the `Resolver`.

Imports: specs, export.cfn, stdlib. `MAPPERS` is explicit: a kind without a mapping is a KeyError, never a resource
silently left out of the template.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from batchctl.export.cfn import Resolver, deep_sub, sub, tag_list
from batchctl.specs import (
    EVENT_RULE_TARGET_ID,
    RUNNABLE_TIMEOUT_REASONS,
    AwsDict,
    ComputeEnvironmentSpec,
    EventRuleSpec,
    InstanceProfileSpec,
    InternetGatewaySpec,
    JobDefinitionSpec,
    JobQueueSpec,
    Kind,
    LogGroupSpec,
    PipeSpec,
    QueueSpec,
    RepositorySpec,
    RoleSpec,
    RouteTableSpec,
    ScheduleGroupSpec,
    ScheduleSpec,
    SecurityGroupSpec,
    StateMachineSpec,
    SubnetSpec,
    TopicSpec,
    VpcSpec,
)

EC2_TYPES = frozenset({"EC2", "SPOT"})


@dataclass(frozen=True)
class Target:
    """Where a mapping writes: the resource's logical ID, and the image expression job definitions run."""

    logical: str
    image: Any = None


Resources = dict[str, AwsDict]
Mapper = Callable[[Any, Resolver, Target], Resources]


def _resource(kind: str, properties: AwsDict) -> AwsDict:
    return {"Type": kind, "Properties": {k: v for k, v in properties.items() if v is not None}}


def role(spec: RoleSpec, r: Resolver, t: Target) -> Resources:
    policies = [
        {"PolicyName": n, "PolicyDocument": deep_sub(d)} for n, d in sorted(spec.inline_policies.items())
    ]
    return {
        t.logical: _resource(
            "AWS::IAM::Role",
            {
                "RoleName": spec.name,
                "AssumeRolePolicyDocument": deep_sub(spec.trust_policy),
                "Policies": policies or None,
                "ManagedPolicyArns": [sub(a) for a in spec.managed_policy_arns] or None,
                "Description": spec.description or None,
                "Tags": tag_list(spec.tags),
            },
        )
    }


def instance_profile(spec: InstanceProfileSpec, r: Resolver, t: Target) -> Resources:
    # AWS::IAM::InstanceProfile takes no Tags (listed in the template's Metadata).
    return {
        t.logical: _resource(
            "AWS::IAM::InstanceProfile",
            {"InstanceProfileName": spec.name, "Roles": [r.value(spec.role_name, Kind.IAM_ROLE)]},
        )
    }


def vpc(spec: VpcSpec, r: Resolver, t: Target) -> Resources:
    return {
        t.logical: _resource(
            "AWS::EC2::VPC",
            {
                "CidrBlock": spec.cidr_block,
                "EnableDnsSupport": True,
                "EnableDnsHostnames": True,
                "Tags": tag_list(spec.tags),
            },
        )
    }


def subnet(spec: SubnetSpec, r: Resolver, t: Target) -> Resources:
    # deploy picks the az_index-th available zone of the region sorted by name; Fn::GetAZs lists them so too.
    return {
        t.logical: _resource(
            "AWS::EC2::Subnet",
            {
                "VpcId": r.value(spec.vpc_id),
                "CidrBlock": spec.cidr_block,
                "AvailabilityZone": {"Fn::Select": [spec.az_index, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": spec.map_public_ip_on_launch,
                "Tags": tag_list(spec.tags),
            },
        )
    }


def internet_gateway(spec: InternetGatewaySpec, r: Resolver, t: Target) -> Resources:
    return {
        t.logical: _resource("AWS::EC2::InternetGateway", {"Tags": tag_list(spec.tags)}),
        f"{t.logical}Attachment": _resource(
            "AWS::EC2::VPCGatewayAttachment",
            {"VpcId": r.value(spec.vpc_id), "InternetGatewayId": {"Ref": t.logical}},
        ),
    }


def route_table(spec: RouteTableSpec, r: Resolver, t: Target) -> Resources:
    out = {
        t.logical: _resource(
            "AWS::EC2::RouteTable", {"VpcId": r.value(spec.vpc_id), "Tags": tag_list(spec.tags)}
        )
    }
    for index, (destination, gateway) in enumerate(spec.routes):
        out[f"{t.logical}Route{index}"] = _resource(
            "AWS::EC2::Route",
            {
                "RouteTableId": {"Ref": t.logical},
                "DestinationCidrBlock": destination,
                "GatewayId": r.value(gateway),
            },
        )
    for index, subnet_id in enumerate(spec.subnet_ids):
        out[f"{t.logical}Association{index}"] = _resource(
            "AWS::EC2::SubnetRouteTableAssociation",
            {"RouteTableId": {"Ref": t.logical}, "SubnetId": r.value(subnet_id)},
        )
    return out


def security_group(spec: SecurityGroupSpec, r: Resolver, t: Target) -> Resources:
    # No SecurityGroupEgress: AWS's default allow-all egress, as deploy leaves it.
    return {
        t.logical: _resource(
            "AWS::EC2::SecurityGroup",
            {
                "GroupName": spec.name,
                "GroupDescription": spec.description,
                "VpcId": r.value(spec.vpc_id),
                "Tags": tag_list(spec.tags),
            },
        )
    }


def repository(spec: RepositorySpec, r: Resolver, t: Target) -> Resources:
    lifecycle = None
    if spec.lifecycle_policy is not None:
        lifecycle = {"LifecyclePolicyText": json.dumps(spec.lifecycle_policy, sort_keys=True)}
    return {
        t.logical: _resource(
            "AWS::ECR::Repository",
            {
                "RepositoryName": spec.name,
                "ImageScanningConfiguration": {"ScanOnPush": spec.scan_on_push},
                "ImageTagMutability": spec.image_tag_mutability,
                "LifecyclePolicy": lifecycle,
                "Tags": tag_list(spec.tags),
            },
        )
    }


def log_group(spec: LogGroupSpec, r: Resolver, t: Target) -> Resources:
    return {
        t.logical: _resource(
            "AWS::Logs::LogGroup",
            {"LogGroupName": spec.name, "RetentionInDays": spec.retention_days, "Tags": tag_list(spec.tags)},
        )
    }


def topic(spec: TopicSpec, r: Resolver, t: Target) -> Resources:
    subscriptions = [{"Protocol": "email", "Endpoint": email} for email in spec.emails]
    return {
        t.logical: _resource(
            "AWS::SNS::Topic",
            {"TopicName": spec.name, "Subscription": subscriptions or None, "Tags": tag_list(spec.tags)},
        )
    }


def queue(spec: QueueSpec, r: Resolver, t: Target) -> Resources:
    redrive = None
    if spec.dead_letter_arn is not None:
        redrive = {"deadLetterTargetArn": r.value(spec.dead_letter_arn, Kind.SQS_QUEUE)}
        if spec.max_receive_count is not None:
            redrive["maxReceiveCount"] = spec.max_receive_count
    return {
        t.logical: _resource(
            "AWS::SQS::Queue",
            {
                "QueueName": spec.name,
                "FifoQueue": True if spec.fifo else None,
                "VisibilityTimeout": spec.visibility_timeout_s,
                "MessageRetentionPeriod": spec.retention_s,
                "RedrivePolicy": redrive,
                "SqsManagedSseEnabled": True,  # as the provisioner asks for (SSE-SQS)
                "Tags": tag_list(spec.tags),
            },
        )
    }


def compute_environment(spec: ComputeEnvironmentSpec, r: Resolver, t: Target) -> Resources:
    resources: AwsDict = {
        "Type": spec.compute_type,
        "MaxvCpus": spec.max_vcpus,
        "Subnets": [r.value(s) for s in spec.subnet_ids],
        "SecurityGroupIds": [r.value(g) for g in spec.security_group_ids],
    }
    if spec.compute_type in EC2_TYPES:
        resources["MinvCpus"] = spec.min_vcpus
        resources["InstanceTypes"] = list(spec.instance_types)
        if spec.instance_role_arn:
            resources["InstanceRole"] = r.value(spec.instance_role_arn, Kind.IAM_INSTANCE_PROFILE)
        if spec.allocation_strategy:
            resources["AllocationStrategy"] = spec.allocation_strategy
    return {
        t.logical: _resource(
            "AWS::Batch::ComputeEnvironment",
            {
                "ComputeEnvironmentName": spec.name,
                "Type": "MANAGED",
                "State": spec.state,
                "ComputeResources": resources,
                "ServiceRole": sub(spec.service_role_arn) if spec.service_role_arn else None,
                "Tags": dict(spec.tags) or None,
            },
        )
    }


def job_queue(spec: JobQueueSpec, r: Resolver, t: Target) -> Resources:
    order = [
        {"Order": index, "ComputeEnvironment": r.value(arn, Kind.COMPUTE_ENVIRONMENT)}
        for index, arn in enumerate(spec.compute_environment_arns, start=1)
    ]
    actions = None
    if spec.runnable_timeout_s is not None:
        actions = [
            {
                "Reason": reason,
                "State": "RUNNABLE",
                "MaxTimeSeconds": spec.runnable_timeout_s,
                "Action": "CANCEL",
            }
            for reason in RUNNABLE_TIMEOUT_REASONS
        ]
    return {
        t.logical: _resource(
            "AWS::Batch::JobQueue",
            {
                "JobQueueName": spec.name,
                "State": spec.state,
                "Priority": spec.priority,
                "ComputeEnvironmentOrder": order,
                "JobStateTimeLimitActions": actions,
                "Tags": dict(spec.tags) or None,
            },
        )
    }


def job_definition(spec: JobDefinitionSpec, r: Resolver, t: Target) -> Resources:
    requirements = [
        {"Type": "VCPU", "Value": f"{spec.vcpus:g}"},
        {"Type": "MEMORY", "Value": str(spec.memory_mib)},
    ]
    if spec.gpus > 0:
        requirements.append({"Type": "GPU", "Value": str(spec.gpus)})
    container: AwsDict = {
        "Image": t.image if t.image is not None else sub(spec.image),
        "Command": list(spec.command),
        "ResourceRequirements": requirements,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": r.value(spec.log_group, Kind.LOG_GROUP),
                "awslogs-region": {"Ref": "AWS::Region"},
                "awslogs-stream-prefix": spec.stream_prefix,
            },
        },
        "JobRoleArn": r.value(spec.job_role_arn, Kind.IAM_ROLE) if spec.job_role_arn else None,
        "ExecutionRoleArn": r.value(spec.execution_role_arn, Kind.IAM_ROLE)
        if spec.execution_role_arn
        else None,
    }
    # Batch drops variables with an empty value; the provisioner does not send them either.
    environment = [{"Name": k, "Value": v} for k, v in sorted(spec.environment.items()) if v != ""]
    if environment:
        container["Environment"] = environment
    if spec.secrets:
        container["Secrets"] = [{"Name": k, "ValueFrom": sub(v)} for k, v in sorted(spec.secrets.items())]
    if spec.platform == "FARGATE":
        container["NetworkConfiguration"] = {
            "AssignPublicIp": "ENABLED" if spec.assign_public_ip else "DISABLED"
        }
        container["FargatePlatformConfiguration"] = {"PlatformVersion": "LATEST"}
    retry: AwsDict = {"Attempts": spec.retry_attempts}
    if spec.evaluate_on_exit:
        retry["EvaluateOnExit"] = [
            {k[:1].upper() + k[1:]: v for k, v in e.items()} for e in spec.evaluate_on_exit
        ]
    return {
        t.logical: _resource(
            "AWS::Batch::JobDefinition",
            {
                "JobDefinitionName": spec.name,
                "Type": "container",
                "PlatformCapabilities": [spec.platform],
                "ContainerProperties": {k: v for k, v in container.items() if v is not None},
                "RetryStrategy": retry,
                "PropagateTags": True,
                "Parameters": dict(spec.parameters) or None,
                "Timeout": {"AttemptDurationSeconds": spec.timeout_s} if spec.timeout_s is not None else None,
                "Tags": dict(spec.tags) or None,
            },
        )
    }


def state_machine(spec: StateMachineSpec, r: Resolver, t: Target) -> Resources:
    destinations = []
    if spec.log_group_arn:
        # A log group's Arn attribute ends in ":*", the form Step Functions wants.
        name = spec.log_group_arn.split(":log-group:", 1)[1]
        group = r.value(name, Kind.LOG_GROUP)
        arn = (
            {"Fn::GetAtt": [group["Ref"], "Arn"]}
            if isinstance(group, dict)
            else sub(spec.log_group_arn + ":*")
        )
        destinations.append({"CloudWatchLogsLogGroup": {"LogGroupArn": arn}})
    return {
        t.logical: _resource(
            "AWS::StepFunctions::StateMachine",
            {
                "StateMachineName": spec.name,
                "StateMachineType": spec.type,
                "RoleArn": r.value(spec.role_arn, Kind.IAM_ROLE),
                # Serialized once, as the provisioner does; Fn::Sub fills in partition, region and account.
                "DefinitionString": sub(json.dumps(spec.definition, sort_keys=True, indent=2)),
                "LoggingConfiguration": {
                    "Level": spec.log_level,
                    "IncludeExecutionData": spec.include_execution_data,
                    "Destinations": destinations,
                },
                "Tags": tag_list(spec.tags),
            },
        )
    }


def pipe(spec: PipeSpec, r: Resolver, t: Target) -> Resources:
    return {
        t.logical: _resource(
            "AWS::Pipes::Pipe",
            {
                "Name": spec.name,
                "Description": spec.description or None,
                "DesiredState": spec.desired_state,
                "RoleArn": r.value(spec.role_arn, Kind.IAM_ROLE),
                "Source": r.value(spec.source_arn, Kind.SQS_QUEUE),
                "SourceParameters": {"SqsQueueParameters": {"BatchSize": spec.batch_size}},
                "Target": r.value(spec.target_arn, Kind.STATE_MACHINE),
                # A STANDARD state machine only accepts FIRE_AND_FORGET (AWS-QUIRKS 24).
                "TargetParameters": {
                    "StepFunctionStateMachineParameters": {"InvocationType": spec.invocation_type}
                },
                "Tags": dict(spec.tags) or None,
            },
        )
    }


def schedule_group(spec: ScheduleGroupSpec, r: Resolver, t: Target) -> Resources:
    return {
        t.logical: _resource(
            "AWS::Scheduler::ScheduleGroup", {"Name": spec.name, "Tags": tag_list(spec.tags)}
        )
    }


def schedule(spec: ScheduleSpec, r: Resolver, t: Target) -> Resources:
    target: AwsDict = {
        "Arn": r.value(spec.target_arn, Kind.STATE_MACHINE),
        "RoleArn": r.value(spec.role_arn, Kind.IAM_ROLE),
        "RetryPolicy": {
            "MaximumRetryAttempts": spec.retry_attempts,
            "MaximumEventAgeInSeconds": spec.max_event_age_s,
        },
    }
    if spec.input:
        target["Input"] = spec.input
    return {
        t.logical: _resource(
            "AWS::Scheduler::Schedule",
            {
                "Name": spec.name,
                "GroupName": r.value(spec.group_name, Kind.SCHEDULE_GROUP),
                "ScheduleExpression": spec.expression,
                "ScheduleExpressionTimezone": spec.timezone,
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": target,
                "State": spec.state,
                # Schedules take no tags: this marker is how batchctl (and a reader) knows whose it is.
                "Description": spec.description or None,
            },
        )
    }


def event_rule(spec: EventRuleSpec, r: Resolver, t: Target) -> Resources:
    return {
        t.logical: _resource(
            "AWS::Events::Rule",
            {
                "Name": spec.name,
                "EventPattern": dict(spec.event_pattern),
                "State": spec.state,
                "Description": spec.description or None,
                "Targets": [
                    {
                        "Id": EVENT_RULE_TARGET_ID,
                        "Arn": r.value(spec.target_arn, Kind.STATE_MACHINE),
                        "RoleArn": r.value(spec.role_arn, Kind.IAM_ROLE),
                        "InputTransformer": {
                            "InputPathsMap": dict(spec.input_paths),
                            "InputTemplate": spec.input_template,
                        },
                    }
                ],
                "Tags": tag_list(spec.tags),
            },
        )
    }


MAPPERS: Mapping[Kind, Mapper] = {
    Kind.IAM_ROLE: role,
    Kind.IAM_INSTANCE_PROFILE: instance_profile,
    Kind.VPC: vpc,
    Kind.SUBNET: subnet,
    Kind.INTERNET_GATEWAY: internet_gateway,
    Kind.ROUTE_TABLE: route_table,
    Kind.SECURITY_GROUP: security_group,
    Kind.ECR_REPOSITORY: repository,
    Kind.LOG_GROUP: log_group,
    Kind.SNS_TOPIC: topic,
    Kind.SQS_QUEUE: queue,
    Kind.COMPUTE_ENVIRONMENT: compute_environment,
    Kind.JOB_QUEUE: job_queue,
    Kind.JOB_DEFINITION: job_definition,
    Kind.STATE_MACHINE: state_machine,
    Kind.PIPE: pipe,
    Kind.SCHEDULE_GROUP: schedule_group,
    Kind.SCHEDULE: schedule,
    Kind.EVENT_RULE: event_rule,
}
