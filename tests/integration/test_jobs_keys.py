"""jobs.yaml keys of issue 16 deployed to the moto server through the CLI: the resources carry exactly what was
asked, `plan --check` is clean after deploy, and destroy leaves nothing of ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, leftovers, write_project
from tests.support.provisioners import network

IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"


def project(stage: str, jobs: str, *, top: str = "", compute: str = "type: FARGATE") -> str:
    return (
        f"version: 1\nproject: keys\nstage: {stage}\nregion: eu-west-1\n"
        f"image: {{uri: {IMAGE}}}\ncompute: {{{compute}}}\n{top}jobs:\n{jobs}"
    )


class Cli:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(app, ["-c", str(self.config), *args], env=ENV)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    def deploy_check_destroy(self, boto: Any, stage: str, check: Any) -> None:
        """Deploy, let `check` look at what AWS holds, prove the second plan clean, destroy, prove nothing left."""
        self("deploy", "--yes", "--skip-image")
        check()
        self("plan", "--check")
        self("destroy", "--yes")
        assert leftovers(boto, "keys", stage) == []


# ---- item 5 ---------------------------------------------------------------------------------------------------
def test_queue_keys_and_no_timeout_are_deployed(aws_env: str, boto: Any, tmp_path: Path) -> None:
    jobs = (
        "  fib:\n    command: [echo]\n    timeout_s: null\n"
        "    queue: {max_message_size: 65536, delay_s: 30, receive_wait_s: 20, dead_letter: false}\n"
        "  capped:\n    command: [echo]\n    queue: {max_receive_count: 4}\n"
    )
    cli = Cli(write_project(tmp_path, project("q", jobs)))
    sqs, batch = boto.client("sqs"), boto.client("batch")

    def check() -> None:
        url = sqs.get_queue_url(QueueName="keys-q-fib")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["MaximumMessageSize"] == "65536"
        assert attributes["DelaySeconds"] == "30"
        assert attributes["ReceiveMessageWaitTimeSeconds"] == "20"
        assert "RedrivePolicy" not in attributes
        names = [u.rsplit("/", 1)[-1] for u in sqs.list_queues(QueueNamePrefix="keys-q")["QueueUrls"]]
        assert sorted(names) == ["keys-q-capped", "keys-q-capped-dlq", "keys-q-fib"]
        (fib,) = batch.describe_job_definitions(jobDefinitionName="keys-q-fib", status="ACTIVE")[
            "jobDefinitions"
        ]
        assert "timeout" not in fib or not fib["timeout"]
        (capped,) = batch.describe_job_definitions(jobDefinitionName="keys-q-capped", status="ACTIVE")[
            "jobDefinitions"
        ]
        assert capped["timeout"] == {"attemptDurationSeconds": 3600}

    cli.deploy_check_destroy(boto, "q", check)


def test_turning_the_dead_letter_queue_off_removes_the_redrive_policy(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    config = write_project(tmp_path, project("dl", "  fib:\n    command: [echo]\n    queue: {}\n"))
    cli = Cli(config)
    cli("deploy", "--yes", "--skip-image")
    config.write_text(project("dl", "  fib:\n    command: [echo]\n    queue: {dead_letter: false}\n"))

    planned = json.loads(cli("-o", "json", "plan").stdout)
    changes = {c["key"]: c["action"] for c in planned["plan"]["changes"]}
    assert changes["sqs.queue/keys-dl-fib"] == "update"
    cli("deploy", "--yes", "--skip-image", "--prune")

    sqs = boto.client("sqs")
    url = sqs.get_queue_url(QueueName="keys-dl-fib")["QueueUrl"]
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues(QueueNamePrefix="keys-dl")["QueueUrls"]] == [
        "keys-dl-fib"
    ]
    cli("plan", "--check")
    cli("destroy", "--yes")
    assert leftovers(boto, "keys", "dl") == []


# ---- item 3 ---------------------------------------------------------------------------------------------------
def test_fargate_platform_version_and_ephemeral_storage_are_deployed(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    jobs = (
        "  pinned:\n    command: [echo]\n    platform_version: 1.4.0\n    ephemeral_storage_gib: 150\n"
        "  plain:\n    command: [echo]\n    vcpus: 16\n    memory_mib: 122880\n"
    )
    cli = Cli(write_project(tmp_path, project("fg", jobs, compute="type: FARGATE, max_vcpus: 16")))
    batch = boto.client("batch")

    def container(name: str) -> Any:
        (found,) = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")["jobDefinitions"]
        return found["containerProperties"]

    def check() -> None:
        pinned = container("keys-fg-pinned")
        assert pinned["fargatePlatformConfiguration"] == {"platformVersion": "1.4.0"}
        assert pinned["ephemeralStorage"] == {"sizeInGiB": 150}
        plain = container("keys-fg-plain")
        assert plain["fargatePlatformConfiguration"] == {"platformVersion": "LATEST"}
        assert not plain.get("ephemeralStorage")

    cli.deploy_check_destroy(boto, "fg", check)


# ---- item 4 ---------------------------------------------------------------------------------------------------
def test_workflow_logs_reach_the_state_machine_and_its_log_group(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    top = "workflow_logs: {level: ALL, include_execution_data: true, retention_days: 365}\n"
    jobs = "  a:\n    command: [echo]\n  b:\n    command: [echo]\n    workflow_logs: {level: OFF, retention_days: 7}\n"
    cli = Cli(write_project(tmp_path, project("wl", jobs, top=top)))
    sfn, logs = boto.client("stepfunctions"), boto.client("logs")

    def logging_of(job: str) -> tuple[str, bool, int]:
        arn = f"arn:aws:states:eu-west-1:123456789012:stateMachine:keys-wl-{job}"
        config = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
        group = f"/aws/vendedlogs/states/keys-wl-{job}"
        (found,) = [
            g
            for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
            if g["logGroupName"] == group
        ]
        return config["level"], config["includeExecutionData"], found["retentionInDays"]

    def check() -> None:
        assert logging_of("a") == ("ALL", True, 365)
        assert logging_of("b") == ("OFF", True, 7)

    cli.deploy_check_destroy(boto, "wl", check)


# ---- item 6 ---------------------------------------------------------------------------------------------------
def test_outputs_plan_and_status_give_queue_state_machine_and_topic(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    jobs = "  fibonacci:\n    command: [echo]\n    queue: {}\n  nightly:\n    command: [echo]\n"
    cli = Cli(write_project(tmp_path, project("out", jobs)))
    before = json.loads(cli("-o", "json", "plan").stdout)["outputs"]
    assert [o["queue_url"] for o in before] == [None, None]  # not created yet
    cli("deploy", "--yes", "--skip-image")
    url = boto.client("sqs").get_queue_url(QueueName="keys-out-fibonacci")["QueueUrl"]
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:keys-out-fibonacci"
    expected = {
        "job": "fibonacci",
        "queue_url": url,
        "queue_arn": "arn:aws:sqs:eu-west-1:123456789012:keys-out-fibonacci",
        "state_machine_arn": machine,
        "topic_arn": "arn:aws:sns:eu-west-1:123456789012:keys-out-events",
    }

    assert json.loads(cli("-o", "json", "plan").stdout)["outputs"][0] == expected
    assert json.loads(cli("outputs", "-o", "json").stdout)["outputs"][0] == expected
    assert json.loads(cli("-o", "json", "status").stdout)["outputs"][0] == expected
    env = cli("outputs", "-o", "env").stdout.splitlines()
    assert f"FIBONACCI_QUEUE_URL={url}" in env
    assert f"FIBONACCI_STATE_MACHINE_ARN={machine}" in env
    assert "TOPIC_ARN=arn:aws:sns:eu-west-1:123456789012:keys-out-events" in env
    assert not any(line.startswith("NIGHTLY_QUEUE") for line in env)
    text = cli("outputs").stdout
    assert url in text
    assert machine in text
    cli("destroy", "--yes")


# ---- item 2 ---------------------------------------------------------------------------------------------------
S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def attached(iam: Any, role: str) -> list[str]:
    return sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])


def test_managed_policies_are_attached_detached_and_left_in_place(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    iam = boto.client("iam")
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}'
    )
    team = iam.create_policy(PolicyName="team-read", PolicyDocument=document)["Policy"]["Arn"]
    compute = (
        "type: EC2, instance_role: {managed_policies: [" + S3_READ + "], "
        "permissions: [{actions: [s3:GetObject], resources: ['arn:aws:s3:::cache/*']}]}, "
        "execution_role: {managed_policies: [" + team + "]}"
    )
    jobs = f"  a:\n    command: [echo]\n    managed_policies: [{team}, {S3_READ}]\n"
    config = write_project(tmp_path, project("mp", jobs, compute=compute))
    cli = Cli(config)
    cli("deploy", "--yes", "--skip-image")

    assert attached(iam, "keys-mp-a-job") == sorted([team, S3_READ])
    assert attached(iam, "keys-mp-execution") == [team]
    assert S3_READ in attached(iam, "keys-mp-instance")
    assert iam.list_role_policies(RoleName="keys-mp-instance")["PolicyNames"] == ["extra"]
    cli("plan", "--check")

    config.write_text(
        project("mp", f"  a:\n    command: [echo]\n    managed_policies: [{team}]\n", compute=compute)
    )
    planned = {c["key"]: c["action"] for c in json.loads(cli("-o", "json", "plan").stdout)["plan"]["changes"]}
    assert planned["iam.role/keys-mp-a-job"] == "update"
    cli("deploy", "--yes", "--skip-image")
    assert attached(iam, "keys-mp-a-job") == [team]

    cli("destroy", "--yes")
    assert leftovers(boto, "keys", "mp") == []
    # Detached, never deleted: the policies belong to someone else.
    assert iam.get_policy(PolicyArn=team)["Policy"]["AttachmentCount"] == 0


# ---- item 1 ---------------------------------------------------------------------------------------------------
def shared_queue(boto: Any, *, compute_type: str = "FARGATE", max_vcpus: int = 256) -> tuple[str, str]:
    """A compute environment and job queue built elsewhere (no batchctl tags): (queue ARN, environment ARN)."""
    subnets, groups = network(boto, subnets=1, groups=1)
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},'
    trust += '"Action":"sts:AssumeRole"}]}'
    role = boto.client("iam").create_role(RoleName="platform-batch", AssumeRolePolicyDocument=trust)["Role"][
        "Arn"
    ]
    batch = boto.client("batch")
    environment = batch.create_compute_environment(
        computeEnvironmentName="platform-ce",
        type="MANAGED",
        state="ENABLED",
        serviceRole=role,
        computeResources={
            "type": compute_type,
            "maxvCpus": max_vcpus,
            "subnets": subnets,
            "securityGroupIds": groups,
        },
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="platform-shared",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
    return queue, environment


def test_a_shared_job_queue_is_used_and_never_touched(aws_env: str, boto: Any, tmp_path: Path) -> None:
    queue, environment = shared_queue(boto)
    batch = boto.client("batch")
    before = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]
    jobs = "  a:\n    command: [echo]\n"
    cli = Cli(
        write_project(tmp_path, project("sh", jobs, compute=f"type: FARGATE, job_queue_arn: '{queue}'"))
    )

    planned = json.loads(cli("-o", "json", "plan").stdout)["plan"]["changes"]
    kinds = {c["key"].split("/")[0] for c in planned}
    assert not {"batch.compute_environment", "batch.job_queue", "ec2.vpc", "ec2.subnet"} & kinds
    cli("deploy", "--yes", "--skip-image")
    sfn = boto.client("stepfunctions")
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:keys-sh-a"
    assert f'"JobQueue":"{queue}"' in sfn.describe_state_machine(stateMachineArn=arn)["definition"].replace(
        " ", ""
    )
    ours = [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]]
    assert ours == ["platform-shared"]
    cli("plan", "--check")
    cli("destroy", "--yes")

    after = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]
    assert (after["state"], after["status"], after["computeEnvironmentOrder"]) == (
        before["state"],
        before["status"],
        before["computeEnvironmentOrder"],
    )
    assert batch.describe_compute_environments(computeEnvironments=[environment])["computeEnvironments"]
    assert leftovers(boto, "keys", "sh") == []


def test_plan_stops_on_a_missing_disabled_or_mismatched_shared_queue(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    queue, _ = shared_queue(boto, max_vcpus=8)
    config = write_project(
        tmp_path, project("bad", "  a:\n    command: [echo]\n", compute=f"job_queue_arn: '{queue}x'")
    )
    cli = Cli(config)
    assert "does not exist" in cli("plan", code=1).stderr

    config.write_text(
        project("bad", "  a:\n    command: [echo]\n", compute=f"type: EC2, job_queue_arn: '{queue}'")
    )
    assert "would never be placed" in cli("plan", code=1).stderr

    # More vCPUs than the queue's compute environments (8) could ever give.
    config.write_text(
        project(
            "bad",
            "  a:\n    command: [echo]\n    vcpus: 16\n    memory_mib: 32768\n",
            compute=f"type: FARGATE, job_queue_arn: '{queue}'",
        )
    )
    assert "could never be placed" in cli("plan", code=1).stderr

    boto.client("batch").update_job_queue(jobQueue=queue, state="DISABLED")
    config.write_text(project("bad", "  a:\n    command: [echo]\n", compute=f"job_queue_arn: '{queue}'"))
    refused = cli("deploy", "--yes", "--skip-image", code=1)
    assert "DISABLED" in refused.stderr
    assert leftovers(boto, "keys", "bad") == []


# ---- item 9 ---------------------------------------------------------------------------------------------------
def test_cost_tags_reach_instances_queue_job_definitions_and_jobs(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    cli = Cli(write_project(tmp_path, project("ct", "  a:\n    command: [echo]\n", compute="type: EC2")))
    batch, sfn = boto.client("batch"), boto.client("stepfunctions")
    stage = {"batchctl:project": "keys", "batchctl:stage": "ct"}

    def check() -> None:
        (environment,) = batch.describe_compute_environments(computeEnvironments=["keys-ct-compute"])[
            "computeEnvironments"
        ]
        assert environment["computeResources"]["tags"] == stage  # the EC2 instances it launches
        (queue,) = batch.describe_job_queues(jobQueues=["keys-ct-queue"])["jobQueues"]
        assert stage.items() <= queue["tags"].items()
        (definition,) = batch.describe_job_definitions(jobDefinitionName="keys-ct-a", status="ACTIVE")[
            "jobDefinitions"
        ]
        assert definition["propagateTags"] is True
        assert definition["tags"] == {**stage, "batchctl:job": "a"}
        arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:keys-ct-a"
        states = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]
        (task,) = [s for s in states.values() if s.get("Resource", "").endswith("batch:submitJob.sync")]
        assert task["Parameters"]["Tags"] == {**stage, "batchctl:job": "a"}
        assert task["Parameters"]["PropagateTags"] is True

    cli.deploy_check_destroy(boto, "ct", check)


# ---- item 8 ---------------------------------------------------------------------------------------------------
def test_efs_volumes_shared_memory_and_ulimits_are_deployed(aws_env: str, boto: Any, tmp_path: Path) -> None:
    jobs = (
        "  train:\n    command: [echo]\n"
        "    volumes: [{efs: fs-0123456789abcdef0, path: /mnt/data, access_point: fsap-0123456789abcdef0}]\n"
        "    shared_memory_mib: 2048\n    ulimits: [{name: nofile, soft_limit: 4096, hard_limit: 8192}]\n"
    )
    cli = Cli(write_project(tmp_path, project("vol", jobs, compute="type: EC2")))
    batch = boto.client("batch")

    def check() -> None:
        (found,) = batch.describe_job_definitions(jobDefinitionName="keys-vol-train", status="ACTIVE")[
            "jobDefinitions"
        ]
        container = found["containerProperties"]
        (volume,) = container["volumes"]
        assert (
            volume["efsVolumeConfiguration"]["authorizationConfig"]["accessPointId"]
            == "fsap-0123456789abcdef0"
        )
        assert container["mountPoints"] == [
            {"sourceVolume": "efs-0", "containerPath": "/mnt/data", "readOnly": False}
        ]
        assert container["linuxParameters"]["sharedMemorySize"] == 2048
        assert container["ulimits"] == [{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}]
        policy = boto.client("iam").get_role_policy(RoleName="keys-vol-train-job", PolicyName="efs")
        assert "elasticfilesystem:ClientMount" in json.dumps(policy["PolicyDocument"])

    cli.deploy_check_destroy(boto, "vol", check)


# ---- item 7 ---------------------------------------------------------------------------------------------------
def test_an_s3_trigger_is_a_rule_on_the_buckets_events(aws_env: str, boto: Any, tmp_path: Path) -> None:
    # A Session of its own: boto3 adds its S3 transfer methods once per client class, and the shared botocore
    # session's other boto3 Sessions already registered that hook.
    s3 = boto3.Session().client("s3")
    s3.create_bucket(Bucket="team-inbox", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    jobs = "  ingest:\n    command: [echo]\n    s3: {bucket: team-inbox, prefix: in/, suffix: .csv}\n"
    cli = Cli(write_project(tmp_path, project("s3", jobs)))

    # The bucket does not send its events to EventBridge yet: the plan stops with the command, nothing changes.
    refused = cli("deploy", "--yes", "--skip-image", code=1)
    assert "does not send its events to EventBridge" in refused.stderr
    assert "put-bucket-notification-configuration --bucket team-inbox" in refused.stderr
    assert leftovers(boto, "keys", "s3") == []
    s3.put_bucket_notification_configuration(
        Bucket="team-inbox", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events = boto.client("events")

    def check() -> None:
        rule = events.describe_rule(Name="keys-s3-ingest-s3")
        assert json.loads(rule["EventPattern"])["detail"] == {
            "bucket": {"name": ["team-inbox"]},
            "object": {"key": [{"wildcard": "in/*.csv"}]},
        }
        (target,) = events.list_targets_by_rule(Rule="keys-s3-ingest-s3")["Targets"]
        assert target["Arn"] == "arn:aws:states:eu-west-1:123456789012:stateMachine:keys-s3-ingest"
        assert target["RoleArn"] == "arn:aws:iam::123456789012:role/keys-s3-ingest-s3"
        assert target["InputTransformer"]["InputPathsMap"]["key"] == "$.detail.object.key"
        trigger = json.loads(cli("-o", "json", "plan").stdout)["plan"]["triggers"][0]
        assert trigger["kind"] == "s3"
        # The bucket is not ours: its settings stay as they were.
        assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket="team-inbox")

    cli.deploy_check_destroy(boto, "s3", check)
    assert s3.head_bucket(Bucket="team-inbox")
