"""AwsContext, every resource name and the ARNs that follow from names, and our standard tags.

Imports: stdlib only. Every name starts `<project>-<stage>`; only IDs that AWS generates (VPC, subnets, security
groups, internet gateways, route tables) are not computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_PROJECT = "batchctl:project"
TAG_STAGE = "batchctl:stage"
TAG_JOB = "batchctl:job"  # on job definitions and Batch jobs (and so their ECS tasks): cost per job

# Longest names AWS accepts, used by config validation once names are prefixed.
NAME_LIMITS: dict[str, int] = {
    "iam role": 64,
    "state machine": 80,
    "sqs queue": 80,
    "pipe": 64,
    "schedule": 64,
    "event rule": 64,
    "job definition": 128,
    "job queue": 128,
    "compute environment": 128,
    "log group": 512,
}

# The AWS Management Console lives on one host per partition; the standard partition also has one host per region.
CONSOLE_HOSTS: dict[str, str] = {
    "aws": "{region}.console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


@dataclass(frozen=True, slots=True)
class AwsContext:
    """Where we deploy: fetched once per command (STS GetCallerIdentity), or a placeholder offline."""

    account_id: str
    region: str
    partition: str = "aws"

    @classmethod
    def placeholder(cls, region: str = "us-east-1") -> AwsContext:
        """Context for offline commands (validate): a fixed fake account."""
        return cls(account_id="123456789012", region=region)

    @property
    def url_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    @property
    def console_url(self) -> str:
        """`https://<console host>`, the host of this context's partition (the standard one's if unknown)."""
        host = CONSOLE_HOSTS.get(self.partition, CONSOLE_HOSTS["aws"])
        return "https://" + host.format(region=self.region)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """Build an ARN in this context's partition."""
        reg = self.region if region else ""
        acct = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{reg}:{acct}:{resource}"


@dataclass(frozen=True, slots=True)
class Names:
    """All names and ARNs of one project+stage."""

    project: str
    stage: str
    ctx: AwsContext
    shared_job_queue_arn: str | None = None  # compute.job_queue_arn: a job queue built elsewhere

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stage}"

    def tags(self, user_tags: dict[str, str] | None = None) -> dict[str, str]:
        """Our ownership tags plus the user's (ours win)."""
        return {**(user_tags or {}), TAG_PROJECT: self.project, TAG_STAGE: self.stage}

    # ---- per project+stage -------------------------------------------------------------------------------
    @property
    def vpc(self) -> str:
        return f"{self.prefix}-vpc"

    def subnet(self, index: int) -> str:
        return f"{self.prefix}-public-{index}"

    @property
    def internet_gateway(self) -> str:
        return f"{self.prefix}-igw"

    @property
    def route_table(self) -> str:
        return f"{self.prefix}-public"

    @property
    def security_group(self) -> str:
        return f"{self.prefix}-batch"

    @property
    def compute_environment(self) -> str:
        return f"{self.prefix}-compute"

    @property
    def compute_environment_arn(self) -> str:
        return self.ctx.arn("batch", f"compute-environment/{self.compute_environment}")

    @property
    def job_queue(self) -> str:
        return f"{self.prefix}-queue"

    @property
    def job_queue_arn(self) -> str:
        """The queue every job is submitted to: the stage's own, or the shared one of compute.job_queue_arn."""
        return self.shared_job_queue_arn or self.ctx.arn("batch", f"job-queue/{self.job_queue}")

    @property
    def repository(self) -> str:
        return self.prefix

    @property
    def repository_arn(self) -> str:
        return self.ctx.arn("ecr", f"repository/{self.repository}")

    @property
    def registry(self) -> str:
        return f"{self.ctx.account_id}.dkr.ecr.{self.ctx.region}.{self.ctx.url_suffix}"

    @property
    def repository_uri(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def topic(self) -> str:
        return f"{self.prefix}-events"

    @property
    def topic_arn(self) -> str:
        return self.ctx.arn("sns", self.topic)

    @property
    def execution_role(self) -> str:
        return f"{self.prefix}-execution"

    @property
    def instance_role(self) -> str:
        return f"{self.prefix}-instance"

    @property
    def instance_profile(self) -> str:
        return f"{self.prefix}-instance"

    @property
    def instance_profile_arn(self) -> str:
        return self.ctx.arn("iam", f"instance-profile/{self.instance_profile}", region=False)

    @property
    def schedule_group(self) -> str:
        return self.prefix

    def role_arn(self, role_name: str) -> str:
        return self.ctx.arn("iam", f"role/{role_name}", region=False)

    # ---- per job -----------------------------------------------------------------------------------------
    def job(self, job: str) -> str:
        return f"{self.prefix}-{job}"

    def job_role(self, job: str) -> str:
        return f"{self.prefix}-{job}-job"

    def job_definition(self, job: str, step: str | None = None) -> str:
        return f"{self.prefix}-{job}" + (f"-{step}" if step else "")

    def job_definition_arn(self, job: str, step: str | None = None) -> str:
        """ARN without revision: Batch then uses the latest ACTIVE revision."""
        return self.ctx.arn("batch", f"job-definition/{self.job_definition(job, step)}")

    def log_group(self, job: str) -> str:
        return f"/batchctl/{self.project}/{self.stage}/{job}"

    def log_group_arn(self, name: str) -> str:
        return self.ctx.arn("logs", f"log-group:{name}")

    def state_machine(self, job: str) -> str:
        return f"{self.prefix}-{job}"

    def state_machine_arn(self, job: str) -> str:
        return self.ctx.arn("states", f"stateMachine:{self.state_machine(job)}")

    def execution_arn(self, job: str, run_id: str) -> str:
        return self.ctx.arn("states", f"execution:{self.state_machine(job)}:{run_id}")

    def state_machine_role(self, job: str) -> str:
        return f"{self.prefix}-{job}-sfn"

    def state_machine_log_group(self, job: str) -> str:
        return f"/aws/vendedlogs/states/{self.prefix}-{job}"

    def queue(self, job: str) -> str:
        return f"{self.prefix}-{job}"

    def dead_letter_queue(self, job: str) -> str:
        return f"{self.prefix}-{job}-dlq"

    def queue_arn(self, queue_name: str) -> str:
        return self.ctx.arn("sqs", queue_name)

    def pipe(self, job: str) -> str:
        return f"{self.prefix}-{job}"

    def pipe_role(self, job: str) -> str:
        return f"{self.prefix}-{job}-pipe"

    def schedule(self, job: str) -> str:
        return f"{self.prefix}-{job}"

    def schedule_role(self, job: str) -> str:
        return f"{self.prefix}-{job}-sched"

    def s3_rule(self, job: str) -> str:
        return f"{self.prefix}-{job}-s3"

    def s3_role(self, job: str) -> str:
        return f"{self.prefix}-{job}-s3"

    # ---- console links -----------------------------------------------------------------------------------
    def console_execution_url(self, execution_arn: str) -> str:
        console, region = self.ctx.console_url, self.ctx.region
        return f"{console}/states/home?region={region}#/v2/executions/details/{execution_arn}"

    def console_log_group_url(self, log_group: str) -> str:
        console, region = self.ctx.console_url, self.ctx.region
        encoded = log_group.replace("/", "$252F")
        return f"{console}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{encoded}"
