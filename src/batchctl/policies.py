"""IAM trust and permission policy documents, as plain dicts, derived from what each role's user calls.

Imports: naming, specs (AwsDict), stdlib. Least privilege (DESIGN §3): `"Action": "*"` never appears, and
`"Resource": "*"` only for the actions in STAR_RESOURCE_ALLOWLIST, where AWS offers no narrower resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from batchctl.naming import Names
from batchctl.specs import AwsDict

VERSION = "2012-10-17"

# Actions we allow on Resource "*", and why: AWS offers no resource-level permission for them.
STAR_RESOURCE_REASONS: Mapping[str, str] = {
    # The registry login token is account-wide; ECR defines no resource for it.
    "ecr:GetAuthorizationToken": "ECR login is account-wide",
    # DescribeJobs takes job IDs and supports no resource-level permission (Step Functions polls it for .sync).
    "batch:DescribeJobs": "no resource-level permission",
    # AWS-QUIRKS 23: Step Functions' log delivery to CloudWatch Logs goes through the vended-logs APIs, which
    # support no resource-level permission; AWS's own Step Functions logging policy grants them on "*".
    "logs:CreateLogDelivery": "vended-logs delivery API",
    "logs:GetLogDelivery": "vended-logs delivery API",
    "logs:UpdateLogDelivery": "vended-logs delivery API",
    "logs:DeleteLogDelivery": "vended-logs delivery API",
    "logs:ListLogDeliveries": "vended-logs delivery API",
    "logs:PutResourcePolicy": "vended-logs delivery adds the group's resource policy",
    "logs:DescribeResourcePolicies": "vended-logs delivery reads the resource policies",
    "logs:DescribeLogGroups": "vended-logs delivery checks the group; listing supports no narrower resource",
}
STAR_RESOURCE_ALLOWLIST: frozenset[str] = frozenset(STAR_RESOURCE_REASONS)

INSTANCE_ROLE_MANAGED_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"

# AWS-QUIRKS 22: Step Functions tracks `.sync` Batch jobs through this managed EventBridge rule in our account.
BATCH_SYNC_RULE = "rule/StepFunctionsGetEventsForBatchJobsRule"
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
SQS_PIPE_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")

# A private ECR registry: <account>.dkr.ecr.<region>.amazonaws.com (.com.cn in China), dkr.ecr-fips for FIPS
# endpoints, <account>.dkr-ecr.<region>.on.aws for dual-stack ones. ECR Public (public.ecr.aws) is anonymous.
_ECR_REGISTRY = re.compile(
    r"(?P<account>\d{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.(?P<domain>amazonaws\.com|amazonaws\.com\.cn|on\.aws)"
)
_PUBLIC_ECR = "public.ecr.aws"


def ecr_repository_arn(image_uri: str) -> str | None:
    """The repository ARN of a private ECR image (`<registry>/<repo>[:tag][@digest]`); None for any other image."""
    registry, slash, reference = image_uri.partition("/")
    match = _ECR_REGISTRY.fullmatch(registry)
    if match is None or not slash:
        return None
    repository = reference.split("@", 1)[0]
    repository = repository.rsplit(":", 1)[0] if ":" in repository.rsplit("/", 1)[-1] else repository
    if not repository:
        return None
    region = match["region"]
    partition = "aws-cn" if match["domain"] == "amazonaws.com.cn" else _partition_of_region(region)
    return f"arn:{partition}:ecr:{region}:{match['account']}:repository/{repository}"


def _partition_of_region(region: str) -> str:
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def image_pull_note(image_uri: str | None, *, account_id: str) -> str | None:
    """What pulling `image_uri` (None: the stage's own repository) needs beyond the execution role, for `plan`.

    None when the execution role's grant is all it takes (ECR in this account) or every pull is anonymous (ECR
    Public). Registries outside ECR may be private: Batch then needs repositoryCredentials, which batchctl does
    not set; another account's ECR repository must allow this account in its repository policy.
    """
    if image_uri is None or image_uri.startswith(f"{_PUBLIC_ECR}/"):
        return None
    repository_arn = ecr_repository_arn(image_uri)
    if repository_arn is None:
        return (
            f"image {image_uri} is not in Amazon ECR: if its registry needs a login, jobs cannot pull it "
            "(Batch needs repositoryCredentials, a Secrets Manager secret with the registry's user name and "
            "password, which batchctl does not set); use a public image, or copy it to ECR"
        )
    owner = repository_arn.split(":")[4]
    if owner != account_id:
        return (
            f"image {image_uri} is in account {owner}: the repository policy of {repository_arn} must allow "
            f"account {account_id} to pull ({', '.join(ECR_PULL_ACTIONS)})"
        )
    return None


def _statement(sid: str, actions: Iterable[str], resources: Iterable[str]) -> AwsDict:
    """One Allow statement; actions and resources sorted and de-duplicated, so documents compare stably."""
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": sorted(set(resources))}


def _document(statements: Iterable[AwsDict]) -> AwsDict:
    return {"Version": VERSION, "Statement": list(statements)}


def trust_policy(service: str) -> AwsDict:
    """Trust policy letting one AWS service principal (e.g. `states.amazonaws.com`) assume the role."""
    if "." not in service or any(c in service for c in ", *"):
        raise ValueError(f"not a single AWS service principal: {service!r}")
    return _document(
        [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    )


def instance_role_managed_policies(names: Names) -> tuple[str, ...]:
    """Managed policies of the ECS container instance role (EC2/SPOT compute environments), in our partition."""
    return (INSTANCE_ROLE_MANAGED_POLICY.replace("arn:aws:", f"arn:{names.ctx.partition}:", 1),)


def job_role_policies(*, permissions: Sequence[tuple[Sequence[str], Sequence[str]]]) -> dict[str, AwsDict]:
    """The job's own role: exactly the (actions, resources) pairs of jobs.yaml `permissions`, or none at all."""
    if not permissions:
        return {}
    statements = []
    for index, (actions, resources) in enumerate(permissions, start=1):
        # Config validation refuses these first; this keeps a wildcard action out of any document we build.
        if any(action in ("*", "*:*") for action in actions):
            raise ValueError('permissions must name their actions: "*" is never granted')
        if not actions or not resources:
            raise ValueError("each permission needs at least one action and one resource")
        statements.append(_statement(f"Job{index}", actions, resources))
    return {"job": _document(statements)}


def efs_client_policy(*, names: Names, volumes: Sequence[tuple[str, bool]]) -> dict[str, AwsDict]:
    """The job role's EFS access for volumes mounted through an access point with IAM authorization: ClientMount,
    and ClientWrite where the volume is not read-only. `volumes`: (file system ID, read only)."""
    if not volumes:
        return {}
    arns = {fs: names.ctx.arn("elasticfilesystem", f"file-system/{fs}") for fs, _ in volumes}
    statements = [_statement("MountEfs", ["elasticfilesystem:ClientMount"], sorted(set(arns.values())))]
    writable = sorted({arns[fs] for fs, read_only in volumes if not read_only})
    if writable:
        statements.append(_statement("WriteEfs", ["elasticfilesystem:ClientWrite"], writable))
    return {"efs": _document(statements)}


def execution_role_policies(
    *,
    names: Names,
    image_uri: str | None,
    log_group_arns: Sequence[str],
    secret_arns: Sequence[str],
    kms_key_arns: Sequence[str] = (),
) -> dict[str, AwsDict]:
    """The Fargate/ECS execution role: pull the jobs' image, write the jobs' logs, read the listed secrets.

    `kms_key_arns` (jobs.yaml `secrets_kms_keys`): the customer-managed keys the secrets are encrypted under. ECS
    decrypts a secret or SecureString with the execution role, which then needs kms:Decrypt on that key (keys
    AWS manages, such as aws/secretsmanager and aws/ssm, need no grant). Exactly these keys are granted.

    `image_uri` is jobs.yaml's `image.uri`, or None for the image batchctl builds into the stage's repository.
    An ECR image is pulled from its own repository (any account or region); an image outside ECR needs no ECR
    permission at all (see image_pull_note for what it may need instead).
    """
    repository_arn = names.repository_arn if image_uri is None else ecr_repository_arn(image_uri)
    statements = []
    if repository_arn:
        statements += [
            _statement("PullImage", ECR_PULL_ACTIONS, [repository_arn]),
            _statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        ]
    if log_group_arns:
        # CreateLogStream is authorized on the group, PutLogEvents on the stream: name both forms.
        streams = [resource for arn in log_group_arns for resource in (arn, f"{arn}:log-stream:*")]
        statements.append(_statement("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], streams))
    secrets = [_secret_resources(arn) for arn in secret_arns if _service_of(arn) == "secretsmanager"]
    if secrets:
        resources = [resource for group in secrets for resource in group]
        statements.append(_statement("ReadSecrets", ["secretsmanager:GetSecretValue"], resources))
    parameters = [_parameter_arn(names, ref) for ref in secret_arns if _service_of(ref) != "secretsmanager"]
    if parameters:
        statements.append(_statement("ReadParameters", ["ssm:GetParameters"], parameters))
    if kms_key_arns:
        statements.append(_statement("DecryptSecrets", ["kms:Decrypt"], kms_key_arns))
    return {"execution": _document(statements)}


def _service_of(reference: str) -> str:
    """The service of an ARN (`arn:aws:ssm:...` → `ssm`); a bare name is an SSM parameter, as ECS reads it."""
    parts = reference.split(":")
    return parts[2] if reference.startswith("arn:") and len(parts) > 2 else "ssm"


def _secret_resources(arn: str) -> tuple[str, ...]:
    """IAM resources for a Secrets Manager reference, which may carry `:json-key:version-stage:version-id`."""
    # arn:partition:secretsmanager:region:account:secret:name[:json-key:stage:version]
    base = ":".join(arn.split(":")[:7])
    # A secret's full ARN ends in "-" and 6 random characters; a reference by name matches it via "-??????".
    return (base, f"{base}-??????")


def _parameter_arn(names: Names, reference: str) -> str:
    """The SSM parameter ARN of an ARN or a (same-region) parameter name."""
    if reference.startswith("arn:"):
        return reference
    return names.ctx.arn("ssm", f"parameter/{reference.lstrip('/')}")


def state_machine_policies(
    *,
    names: Names,
    job_definition_arns: Sequence[str],
    topic_arn: str | None,
    lambda_arns: Sequence[str],
    log_group_arn: str | None,
) -> dict[str, AwsDict]:
    """A job's workflow role: what its ASL (asl.job_workflow) calls, and its execution logging."""
    definitions = [resource for arn in job_definition_arns for resource in (arn, f"{arn}:*")]
    statements = [
        # AWS-QUIRKS 22: a `.sync` Batch task submits, polls, terminates on timeout/abort, and relies on the rule.
        _statement("SubmitBatchJobs", ["batch:SubmitJob"], [names.job_queue_arn, *definitions]),
        _statement("DescribeBatchJobs", ["batch:DescribeJobs"], ["*"]),
        # TerminateJob is authorized on the job ARN; job IDs are only known at run time.
        _statement("TerminateBatchJobs", ["batch:TerminateJob"], [names.ctx.arn("batch", "job/*")]),
        # SubmitJob with tags is also authorized as batch:TagResource on the new job.
        _statement("TagBatchJobs", ["batch:TagResource"], [names.ctx.arn("batch", "job/*")]),
        _statement(
            "BatchJobEvents",
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            [names.ctx.arn("events", BATCH_SYNC_RULE)],
        ),
    ]
    if topic_arn:
        statements.append(_statement("Notify", ["sns:Publish"], [topic_arn]))
    if lambda_arns:
        # The function, and its versions and aliases (a qualified ARN is another resource).
        handlers = [resource for arn in lambda_arns for resource in (arn, f"{arn}:*")]
        statements.append(_statement("CallHandlers", ["lambda:InvokeFunction"], handlers))
    if log_group_arn:
        statements.append(_statement("DeliverLogs", LOG_DELIVERY_ACTIONS, ["*"]))
    return {"workflow": _document(statements)}


def pipe_policies(*, queue_arn: str, state_machine_arn: str) -> dict[str, AwsDict]:
    """A job's pipe role (AWS-QUIRKS 25): read and delete from its queue, start its workflow."""
    return {
        "pipe": _document(
            [
                _statement("ReadQueue", SQS_PIPE_SOURCE_ACTIONS, [queue_arn]),
                _statement("StartWorkflow", ["states:StartExecution"], [state_machine_arn]),
            ]
        )
    }


def schedule_policies(*, state_machine_arn: str) -> dict[str, AwsDict]:
    """A job's schedule role (AWS-QUIRKS 35): EventBridge Scheduler starts its workflow."""
    return {
        "schedule": _document([_statement("StartWorkflow", ["states:StartExecution"], [state_machine_arn])])
    }


def event_rule_policies(*, state_machine_arn: str) -> dict[str, AwsDict]:
    """A job's S3 trigger role: its EventBridge rule starts the job's workflow."""
    return {"start": _document([_statement("StartWorkflow", ["states:StartExecution"], [state_machine_arn])])}
