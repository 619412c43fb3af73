"""jobs.yaml keys of issue 16: each validated offline with its position, and built into the request AWS receives."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from batchctl import build
from batchctl.config import parse_config, resolve_steps
from batchctl.naming import AwsContext
from batchctl.provisioners.job_definition import JobDefinitionProvisioner
from batchctl.provisioners.sfn import logging_configuration
from batchctl.provisioners.sqs import QueueProvisioner
from batchctl.specs import (
    EventRuleSpec,
    JobDefinitionSpec,
    LogGroupSpec,
    QueueSpec,
    RoleSpec,
    StateMachineSpec,
)
from tests.unit.test_config import at, only_issue

CTX = AwsContext(account_id="123456789012", region="eu-west-1")
HEAD = "version: 1\nproject: demo\nstage: dev\n"


def specs_of(text: str) -> list[Any]:
    return build.build_specs(parse_config(text), CTX, image_tag="abc123")


def named(specs: list[Any], kind: type[Any], name: str) -> Any:
    (spec,) = [s for s in specs if isinstance(s, kind) and s.name == name]
    return spec


# ---- item 5: queue attributes, no dead-letter queue, no timeout ----------------------------------------------
QUEUE_JOB = HEAD + "jobs:\n  fib:\n    command: [echo]\n    queue: {QUEUE}\n"


def test_queue_keys_reach_create_queue() -> None:
    text = QUEUE_JOB.replace("{QUEUE}", "{max_message_size: 65536, delay_s: 30, receive_wait_s: 20}")
    inbox = named(specs_of(text), QueueSpec, "demo-dev-fib")

    attributes = QueueProvisioner.to_request(inbox)["Attributes"]
    assert attributes["MaximumMessageSize"] == "65536"
    assert attributes["DelaySeconds"] == "30"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "20"


def test_unset_queue_keys_send_nothing_new() -> None:
    inbox = named(specs_of(QUEUE_JOB.replace("{QUEUE}", "{}")), QueueSpec, "demo-dev-fib")

    attributes = QueueProvisioner.to_request(inbox)["Attributes"]
    # SQS's defaults stay SQS's: a queue deployed before these keys existed reads as unchanged.
    assert not {"MaximumMessageSize", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"} & set(attributes)
    assert inbox.max_message_size is None


@pytest.mark.parametrize(
    ("queue", "key", "words"),
    [
        ("{max_message_size: 262145}", "max_message_size", "1024..262144 bytes"),
        ("{max_message_size: 1023}", "max_message_size", "Step Functions takes at most 256 KiB"),
        ("{delay_s: 901}", "delay_s", "900"),
        ("{receive_wait_s: 21}", "receive_wait_s", "20"),
        ("{delay_s: true}", "delay_s", "not true"),
    ],
)
def test_queue_key_ranges_are_awss(queue: str, key: str, words: str) -> None:
    issue = only_issue(QUEUE_JOB.replace("{QUEUE}", queue))

    assert at(issue) == (7, f"jobs.fib.queue.{key}")
    assert words in issue.message


def test_dead_letter_false_makes_no_dead_letter_queue() -> None:
    specs = specs_of(QUEUE_JOB.replace("{QUEUE}", "{dead_letter: false}"))

    assert [s.name for s in specs if isinstance(s, QueueSpec)] == ["demo-dev-fib"]
    inbox = named(specs, QueueSpec, "demo-dev-fib")
    assert (inbox.dead_letter_arn, inbox.max_receive_count, inbox.depends_on) == (None, None, ())
    assert "RedrivePolicy" not in QueueProvisioner.to_request(inbox)["Attributes"]


def test_max_receive_count_without_a_dead_letter_queue_is_refused() -> None:
    issue = only_issue(QUEUE_JOB.replace("{QUEUE}", "{dead_letter: false, max_receive_count: 5}"))

    assert at(issue) == (7, "jobs.fib.queue.max_receive_count")
    assert "dead_letter is false" in issue.message


def test_the_trigger_says_there_is_no_dead_letter_queue() -> None:
    from datetime import UTC, datetime

    cfg = parse_config(QUEUE_JOB.replace("{QUEUE}", "{dead_letter: false}"))
    (trigger,) = build.build_triggers(cfg, build.names_for(cfg, CTX), now=datetime(2026, 1, 1, tzinfo=UTC))

    assert "no dead-letter queue" in trigger.text


TIMEOUTS = (
    HEAD
    + "defaults: {timeout_s: 600}\n"
    + "jobs:\n"
    + "  free:\n    command: [echo]\n    timeout_s: null\n"
    + "  bounded:\n    command: [echo]\n"
    + "  etl:\n    timeout_s: null\n    steps:\n"
    + "      - {name: a, command: [x]}\n"
    + "      - {name: b, command: [y], timeout_s: 120}\n"
)


def test_timeout_null_means_no_batch_timeout() -> None:
    cfg = parse_config(TIMEOUTS)

    assert [s.timeout_s for s in resolve_steps(cfg, "free")] == [None]
    assert [s.timeout_s for s in resolve_steps(cfg, "bounded")] == [600]
    assert [s.timeout_s for s in resolve_steps(cfg, "etl")] == [None, 120]
    specs = build.build_specs(cfg, CTX, image_tag="t")
    free = named(specs, JobDefinitionSpec, "demo-dev-free")
    assert "timeout" not in JobDefinitionProvisioner.to_request(free, region="eu-west-1")
    bounded = named(specs, JobDefinitionSpec, "demo-dev-bounded")
    request = JobDefinitionProvisioner.to_request(bounded, region="eu-west-1")
    assert request["timeout"] == {"attemptDurationSeconds": 600}


def test_defaults_timeout_null_applies_to_every_job() -> None:
    cfg = parse_config(HEAD + "defaults: {timeout_s: null}\njobs:\n  a:\n    command: [echo]\n")

    assert [s.timeout_s for s in resolve_steps(cfg, "a")] == [None]


def test_a_timeout_below_a_minute_is_still_refused() -> None:
    issue = only_issue(HEAD + "jobs:\n  a:\n    command: [echo]\n    timeout_s: 59\n")

    assert at(issue) == (7, "jobs.a.timeout_s")


# ---- item 3: Fargate platform version, ephemeral storage, limits ----------------------------------------------
def fargate_project(job: str, *, compute_type: str = "FARGATE", defaults: str = "{}") -> str:
    return (
        HEAD
        + f"compute: {{type: {compute_type}}}\ndefaults: {defaults}\njobs:\n  big:\n    command: [x]\n"
        + job
    )


def test_platform_version_and_ephemeral_storage_reach_the_job_definition() -> None:
    specs = specs_of(fargate_project("    platform_version: 1.4.0\n    ephemeral_storage_gib: 200\n"))
    request = JobDefinitionProvisioner.to_request(
        named(specs, JobDefinitionSpec, "demo-dev-big"), region="eu-west-1"
    )

    container = request["containerProperties"]
    assert container["fargatePlatformConfiguration"] == {"platformVersion": "1.4.0"}
    assert container["ephemeralStorage"] == {"sizeInGiB": 200}


def test_fargate_defaults_to_latest_without_ephemeral_storage() -> None:
    container = JobDefinitionProvisioner.to_request(
        named(specs_of(fargate_project("")), JobDefinitionSpec, "demo-dev-big"), region="eu-west-1"
    )["containerProperties"]

    assert container["fargatePlatformConfiguration"] == {"platformVersion": "LATEST"}
    assert "ephemeralStorage" not in container


def test_defaults_give_every_job_its_platform_and_storage() -> None:
    spec = named(
        specs_of(fargate_project("", defaults="{platform_version: 1.4.0, ephemeral_storage_gib: 30}")),
        JobDefinitionSpec,
        "demo-dev-big",
    )

    assert (spec.platform_version, spec.ephemeral_storage_gib) == ("1.4.0", 30)


def test_compute_gives_the_platform_and_storage_that_defaults_and_the_job_leave_open() -> None:
    text = (
        HEAD
        + "compute: {type: FARGATE, platform_version: 1.4.0, ephemeral_storage_gib: 40}\n"
        + "jobs:\n  big:\n    command: [x]\n  own:\n    command: [x]\n    platform_version: LATEST\n"
    )
    specs = specs_of(text)
    big, own = (named(specs, JobDefinitionSpec, f"demo-dev-{job}") for job in ("big", "own"))

    assert (big.platform_version, big.ephemeral_storage_gib) == ("1.4.0", 40)
    assert (own.platform_version, own.ephemeral_storage_gib) == (None, 40)  # None: LATEST, the job's own


def test_compute_fargate_keys_on_ec2_are_refused_where_they_are() -> None:
    issue = only_issue(
        HEAD + "compute: {type: EC2, platform_version: 1.4.0}\njobs:\n  a:\n    command: [x]\n"
    )

    assert at(issue)[1] == "compute.platform_version"
    assert "is for Fargate" in issue.message


@pytest.mark.parametrize("size", [20, 201])
def test_ephemeral_storage_is_21_to_200_gib(size: int) -> None:
    issue = only_issue(fargate_project(f"    ephemeral_storage_gib: {size}\n"))

    assert at(issue) == (9, "jobs.big.ephemeral_storage_gib")


def test_a_platform_version_is_latest_or_x_y_z() -> None:
    issue = only_issue(fargate_project("    platform_version: latest-ish\n"))

    assert at(issue) == (9, "jobs.big.platform_version")
    assert "LATEST" in issue.message


def test_ephemeral_storage_needs_platform_1_4_0() -> None:
    issue = only_issue(fargate_project("    platform_version: 1.3.0\n    ephemeral_storage_gib: 50\n"))

    assert at(issue) == (10, "jobs.big.ephemeral_storage_gib")
    assert "1.4.0 or later, not 1.3.0" in issue.message


@pytest.mark.parametrize("key", ["platform_version: 1.4.0", "ephemeral_storage_gib: 30"])
def test_fargate_keys_on_ec2_are_refused(key: str) -> None:
    issue = only_issue(fargate_project(f"    {key}\n", compute_type="EC2"))

    assert at(issue) == (9, f"jobs.big.{key.split(':')[0]}")
    assert "is for Fargate" in issue.message


@pytest.mark.parametrize(
    ("resources", "path", "words"),
    [
        ("vcpus: 32\n    memory_mib: 65536", "jobs.big.vcpus", "not 32"),
        ("vcpus: 16\n    memory_mib: 131072", "jobs.big.memory_mib", "32768–122880 MiB"),
    ],
)
def test_fargate_limits_of_16_vcpus_and_120_gib(resources: str, path: str, words: str) -> None:
    text = fargate_project(f"    {resources}\n").replace(
        "compute: {type: FARGATE}", "compute: {type: FARGATE, max_vcpus: 64}"
    )
    issue = only_issue(text)

    assert issue.path == path
    assert words in issue.message


def test_sixteen_vcpus_with_120_gib_is_fargates_largest_task() -> None:
    specs = specs_of(fargate_project("    vcpus: 16\n    memory_mib: 122880\n"))

    assert named(specs, JobDefinitionSpec, "demo-dev-big").memory_mib == 122880


# ---- item 4: workflow logs ------------------------------------------------------------------------------------
LOGS = (
    HEAD
    + "defaults: {log_retention_days: 14}\n"
    + "workflow_logs: {level: ALL, include_execution_data: true, retention_days: 365}\n"
    + "jobs:\n"
    + "  loud:\n    command: [x]\n"
    + "  quiet:\n    command: [x]\n    workflow_logs: {level: FATAL, include_execution_data: false}\n"
)


def machine_and_log_group(text: str, job: str) -> tuple[StateMachineSpec, LogGroupSpec]:
    specs = specs_of(text)
    machine = named(specs, StateMachineSpec, f"demo-dev-{job}")
    group = named(specs, LogGroupSpec, f"/aws/vendedlogs/states/demo-dev-{job}")
    return machine, group


def test_top_level_workflow_logs_apply_to_every_job() -> None:
    machine, group = machine_and_log_group(LOGS, "loud")

    assert logging_configuration(machine) == {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [
            {
                "cloudWatchLogsLogGroup": {
                    "logGroupArn": "arn:aws:logs:eu-west-1:123456789012:log-group:"
                    "/aws/vendedlogs/states/demo-dev-loud:*"
                }
            }
        ],
    }
    assert group.retention_days == 365


def test_a_jobs_workflow_logs_override_key_by_key() -> None:
    machine, group = machine_and_log_group(LOGS, "quiet")

    assert (machine.log_level, machine.include_execution_data, group.retention_days) == ("FATAL", False, 365)


def test_without_workflow_logs_errors_are_logged_without_data_for_the_jobs_retention() -> None:
    machine, group = machine_and_log_group(HEAD + "jobs:\n  a:\n    command: [x]\n", "a")

    assert (machine.log_level, machine.include_execution_data, group.retention_days) == ("ERROR", False, 30)


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        (LOGS.replace("level: ALL", "level: DEBUG"), 5, "workflow_logs.level"),
        (LOGS.replace("retention_days: 365", "retention_days: 366"), 5, "workflow_logs.retention_days"),
        (LOGS.replace("level: FATAL", "level: fatal"), 11, "jobs.quiet.workflow_logs.level"),
        (
            LOGS.replace("include_execution_data: false}", "retention_days: 2}"),
            11,
            "jobs.quiet.workflow_logs.retention_days",
        ),
        (LOGS.replace("level: FATAL", "levels: FATAL"), 11, "jobs.quiet.workflow_logs.levels"),
    ],
)
def test_workflow_logs_are_checked_with_positions(text: str, line: int, path: str) -> None:
    assert at(only_issue(text)) == (line, path)


def test_a_bare_off_is_the_level_off() -> None:
    # YAML 1.1 reads OFF as false.
    machine, _ = machine_and_log_group(LOGS.replace("level: FATAL", "level: OFF"), "quiet")

    assert machine.log_level == "OFF"


# ---- item 6: outputs ------------------------------------------------------------------------------------------
def test_env_lines_name_each_jobs_endpoints_and_the_topic() -> None:
    from batchctl import endpoints

    cfg = parse_config(
        HEAD + "jobs:\n  daily-report:\n    command: [x]\n  fib:\n    command: [x]\n    queue: {}\n"
    )
    found = endpoints.expected_endpoints(cfg, build.names_for(cfg, CTX))
    found = [endpoints.replace(e, queue_url="https://q/fib") if e.queue_name else e for e in found]

    assert endpoints.env_lines(found) == [
        "DAILY_REPORT_STATE_MACHINE_ARN=arn:aws:states:eu-west-1:123456789012:stateMachine:demo-dev-daily-report",
        "FIB_QUEUE_URL=https://q/fib",
        "FIB_QUEUE_ARN=arn:aws:sqs:eu-west-1:123456789012:demo-dev-fib",
        "FIB_STATE_MACHINE_ARN=arn:aws:states:eu-west-1:123456789012:stateMachine:demo-dev-fib",
        "TOPIC_ARN=arn:aws:sns:eu-west-1:123456789012:demo-dev-events",
    ]


def test_without_a_topic_there_is_no_topic_arn() -> None:
    from batchctl import endpoints

    cfg = parse_config(HEAD + "notify: {topic: false}\njobs:\n  a:\n    command: [x]\n")
    (found,) = endpoints.expected_endpoints(cfg, build.names_for(cfg, CTX))

    assert (found.topic_arn, found.queue_url, found.queue_arn) == (None, None, None)
    assert not any(line.startswith("TOPIC_ARN") for line in endpoints.env_lines([found]))


# ---- item 2: managed policies and the stage roles' blocks -----------------------------------------------------
S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
TEAM = "arn:aws:iam::123456789012:policy/team/ReadReports"
ROLES = (
    HEAD
    + "compute:\n  type: EC2\n"
    + "  instance_role:\n    permissions: [{actions: [s3:GetObject], resources: ['arn:aws:s3:::cache/*']}]\n"
    + f"    managed_policies: [{S3_READ}]\n"
    + f"  execution_role: {{managed_policies: [{TEAM}]}}\n"
    + f"jobs:\n  a:\n    command: [x]\n    managed_policies: [{TEAM}, {S3_READ}]\n"
)


def role(specs: list[Any], name: str) -> RoleSpec:
    return named(specs, RoleSpec, f"demo-dev-{name}")  # type: ignore[no-any-return]


def test_managed_policies_are_attached_by_arn_to_each_role() -> None:
    specs = specs_of(ROLES)

    assert role(specs, "a-job").managed_policy_arns == (TEAM, S3_READ)  # sorted
    assert role(specs, "execution").managed_policy_arns == (TEAM,)
    instance = role(specs, "instance")
    assert instance.managed_policy_arns == (
        S3_READ,
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    )
    # Attached, never copied: no managed policy's statements show up inline.
    assert set(instance.inline_policies) == {"extra"}
    (statement,) = instance.inline_policies["extra"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (["s3:GetObject"], ["arn:aws:s3:::cache/*"])


def test_execution_role_permissions_add_to_what_it_needs() -> None:
    text = (
        HEAD + "compute:\n  execution_role:\n    permissions: [{actions: [kms:Decrypt], resources: ['*']}]\n"
    )
    execution = role(specs_of(text + "jobs:\n  a:\n    command: [x]\n"), "execution")

    assert "extra" in execution.inline_policies
    assert len(execution.inline_policies) > 1  # pull, logs: still there


@pytest.mark.parametrize(
    ("text", "line", "path", "words"),
    [
        (
            ROLES.replace(f"[{TEAM}, {S3_READ}]", "[s3-read]"),
            13,
            "jobs.a.managed_policies[0]",
            "managed policy ARN",
        ),
        (
            ROLES.replace(f"[{TEAM}, {S3_READ}]", f"[{TEAM}, {TEAM}]"),
            13,
            "jobs.a.managed_policies[1]",
            "twice",
        ),
        (
            ROLES.replace("[s3:GetObject]", "['*']"),
            7,
            "compute.instance_role.permissions[0].actions[0]",
            "wildcard",
        ),
        (ROLES.replace("type: EC2", "type: FARGATE"), 6, "compute.instance_role", "EC2/SPOT"),
        (
            ROLES.replace("managed_policies: [arn", "managed_policy: [arn", 1),
            8,
            "compute.instance_role.managed_policy",
            "",
        ),
    ],
)
def test_role_keys_are_checked_with_positions(text: str, line: int, path: str, words: str) -> None:
    issue = only_issue(text)

    assert at(issue) == (line, path)
    assert words in issue.message


def test_a_role_holds_at_most_twenty_managed_policies() -> None:
    arns = ", ".join(f"arn:aws:iam::123456789012:policy/p{i}" for i in range(20))
    text = HEAD + f"compute:\n  type: SPOT\n  instance_role: {{managed_policies: [{arns}]}}\n"
    issue = only_issue(text + "jobs:\n  a:\n    command: [x]\n")

    assert issue.path == "compute.instance_role.managed_policies"
    assert "batchctl attaches 1 itself" in issue.message


# ---- item 1: a job queue built elsewhere ----------------------------------------------------------------------
SHARED = "arn:aws:batch:eu-west-1:123456789012:job-queue/platform-shared"
SHARED_JOBS = (
    HEAD
    + f"compute: {{type: EC2, job_queue_arn: '{SHARED}'}}\njobs:\n  a:\n    command: [x]\n    vcpus: 64\n"
)


def test_a_shared_queue_means_no_compute_environment_queue_network_or_instance_role() -> None:
    specs = specs_of(SHARED_JOBS)
    kinds = {s.kind.value for s in specs}

    assert not {"batch.compute_environment", "batch.job_queue", "ec2.vpc", "ec2.subnet"} & kinds
    assert not {"iam.instance_profile"} & kinds
    assert [s.name for s in specs if isinstance(s, RoleSpec) and s.name.endswith("-instance")] == []
    machine = named(specs, StateMachineSpec, "demo-dev-a")
    assert SHARED in json.dumps(machine.definition)
    sfn_role = role(specs, "a-sfn")
    assert SHARED in json.dumps(sfn_role.inline_policies)
    # EC2 job definitions, as the shared queue's compute environments run.
    assert named(specs, JobDefinitionSpec, "demo-dev-a").platform == "EC2"


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [
        ("type: EC2, max_vcpus: 8, ", "compute.max_vcpus", "managed where they were built"),
        ("type: EC2, runnable_timeout_s: 900, ", "compute.runnable_timeout_s", "drop one"),
        ("type: EC2, instance_role: {managed_policies: []}, ", "compute.instance_role", "drop one"),
    ],
)
def test_keys_that_shape_our_own_compute_are_refused_with_a_shared_queue(
    edit: str, path: str, words: str
) -> None:
    issue = only_issue(SHARED_JOBS.replace("type: EC2, ", edit))

    assert issue.path == path
    assert words in issue.message


def test_a_shared_queue_needs_no_network() -> None:
    issue = only_issue(SHARED_JOBS.replace("compute:", "network: {cidr: 10.20.0.0/24}\ncompute:"))

    assert at(issue) == (4, "network")


def test_a_shared_queue_is_in_the_stages_region() -> None:
    issue = only_issue(SHARED_JOBS.replace("stage: dev\n", "stage: dev\nregion: us-east-1\n"))

    assert issue.path == "compute.job_queue_arn"
    assert "eu-west-1" in issue.message


def test_a_job_queue_arn_has_the_arn_form() -> None:
    issue = only_issue(SHARED_JOBS.replace(SHARED, "platform-shared"))

    assert at(issue) == (4, "compute.job_queue_arn")
    assert "job-queue/NAME" in issue.message


# ---- item 9: cost tags ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("compute_type", "tagged"), [("EC2", True), ("SPOT", True), ("FARGATE", False)])
def test_instances_launched_for_the_stage_carry_its_tags(compute_type: str, tagged: bool) -> None:
    from batchctl.provisioners.batch import ComputeEnvironmentProvisioner
    from batchctl.specs import ComputeEnvironmentSpec

    text = HEAD + f"compute: {{type: {compute_type}}}\ntags: {{team: data}}\njobs:\n  a:\n    command: [x]\n"
    (environment,) = [s for s in specs_of(text) if isinstance(s, ComputeEnvironmentSpec)]
    # The network's IDs are known after apply: stand-ins for the request.
    environment = dataclasses.replace(environment, subnet_ids=("subnet-1",), security_group_ids=("sg-1",))
    resources = ComputeEnvironmentProvisioner.to_request(environment)["computeResources"]

    expected = {"team": "data", "batchctl:project": "demo", "batchctl:stage": "dev"}
    assert resources.get("tags") == (expected if tagged else None)


def test_each_batch_job_carries_the_stage_and_job_tags_and_passes_them_on() -> None:
    specs = specs_of(HEAD + "jobs:\n  a:\n    command: [x]\n")
    machine = named(specs, StateMachineSpec, "demo-dev-a")
    (task,) = [
        s for s in machine.definition["States"].values() if s.get("Resource", "").endswith("submitJob.sync")
    ]
    tags = {"batchctl:project": "demo", "batchctl:stage": "dev", "batchctl:job": "a"}

    assert task["Parameters"]["Tags"] == tags
    assert task["Parameters"]["PropagateTags"] is True
    definition = JobDefinitionProvisioner.to_request(
        named(specs, JobDefinitionSpec, "demo-dev-a"), region="eu-west-1"
    )
    assert (definition["propagateTags"], definition["tags"]) == (True, tags)
    # Tagging on SubmitJob is authorized as batch:TagResource too.
    statements = role(specs, "a-sfn").inline_policies["workflow"]["Statement"]
    assert any(s["Action"] == ["batch:TagResource"] for s in statements)


# ---- item 8: EFS volumes, shared memory, ulimits --------------------------------------------------------------
VOLUMES = (
    "    volumes:\n"
    "      - {efs: fs-0123456789abcdef0, path: /mnt/data, access_point: fsap-0123456789abcdef0}\n"
    "      - {efs: fs-0123456789abcdef1, path: /mnt/models, read_only: true}\n"
)
EC2_EXTRAS = "    shared_memory_mib: 8192\n    ulimits: [{name: nofile, soft_limit: 65536}, {name: memlock, soft_limit: 0, hard_limit: 10}]\n"


def test_volumes_shared_memory_and_ulimits_reach_the_container() -> None:
    specs = specs_of(fargate_project(VOLUMES + EC2_EXTRAS, compute_type="EC2"))
    spec = named(specs, JobDefinitionSpec, "demo-dev-big")
    container = JobDefinitionProvisioner.to_request(spec, region="eu-west-1")["containerProperties"]

    assert container["volumes"] == [
        {
            "name": "efs-0",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-0123456789abcdef0",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"},
            },
        },
        {
            "name": "efs-1",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-0123456789abcdef1",
                "transitEncryption": "ENABLED",
            },
        },
    ]
    assert container["mountPoints"] == [
        {"sourceVolume": "efs-0", "containerPath": "/mnt/data", "readOnly": False},
        {"sourceVolume": "efs-1", "containerPath": "/mnt/models", "readOnly": True},
    ]
    assert container["linuxParameters"] == {"sharedMemorySize": 8192}
    assert container["ulimits"] == [
        {"name": "nofile", "softLimit": 65536, "hardLimit": 65536},
        {"name": "memlock", "softLimit": 0, "hardLimit": 10},
    ]
    request = JobDefinitionProvisioner.to_request(spec, region="eu-west-1")
    read_back = JobDefinitionProvisioner.from_described(request, region="eu-west-1", desired=spec)
    assert read_back == dataclasses.replace(spec, depends_on=())
    # IAM authorization through the access point: the job role may mount and write that file system only.
    (mount, write) = role(specs, "big-job").inline_policies["efs"]["Statement"]
    arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0"
    assert (mount["Action"], mount["Resource"]) == (["elasticfilesystem:ClientMount"], [arn])
    assert (write["Action"], write["Resource"]) == (["elasticfilesystem:ClientWrite"], [arn])


@pytest.mark.parametrize(
    ("job", "compute_type", "path", "words"),
    [
        ("    shared_memory_mib: 64\n", "FARGATE", "jobs.big.shared_memory_mib", "EC2/SPOT"),
        ("    ulimits: [{name: nofile, soft_limit: 1}]\n", "FARGATE_SPOT", "jobs.big.ulimits", "EC2/SPOT"),
        ("    ulimits: [{name: files, soft_limit: 1}]\n", "EC2", "jobs.big.ulimits[0].name", ""),
        (
            "    ulimits: [{name: nofile, soft_limit: 9, hard_limit: 8}]\n",
            "EC2",
            "jobs.big.ulimits[0].hard_limit",
            "below",
        ),
        ("    platform_version: 1.3.0\n" + VOLUMES, "FARGATE", "jobs.big.volumes", "1.4.0 or later"),
        (
            VOLUMES.replace("/mnt/models", "/mnt/data"),
            "EC2",
            "jobs.big.volumes[1].path",
            "mounted by volumes[0]",
        ),
        (VOLUMES.replace("/mnt/models", "mnt"), "EC2", "jobs.big.volumes[1].path", "absolute path"),
        (VOLUMES.replace("fs-0123456789abcdef1", "efs-1"), "EC2", "jobs.big.volumes[1].efs", ""),
    ],
)
def test_container_keys_are_checked_with_positions(
    job: str, compute_type: str, path: str, words: str
) -> None:
    issue = only_issue(fargate_project(job, compute_type=compute_type))

    assert issue.path == path
    assert words in issue.message


# ---- item 7: S3 trigger ---------------------------------------------------------------------------------------
def s3_job(trigger: str) -> str:
    return HEAD + f"jobs:\n  ingest:\n    command: [x]\n    s3: {trigger}\n"


@pytest.mark.parametrize(
    ("trigger", "key"),
    [
        ("{bucket: demo-in}", None),
        ("{bucket: demo-in, prefix: in/}", [{"prefix": "in/"}]),
        ("{bucket: demo-in, suffix: .csv}", [{"suffix": ".csv"}]),
        ("{bucket: demo-in, prefix: 'in/*', suffix: .csv}", [{"wildcard": "in/\\**.csv"}]),
    ],
)
def test_the_rule_matches_object_created_in_the_bucket_by_prefix_and_suffix(trigger: str, key: Any) -> None:
    specs = specs_of(s3_job(trigger))
    rule = named(specs, EventRuleSpec, "demo-dev-ingest-s3")

    detail: dict[str, Any] = {"bucket": {"name": ["demo-in"]}}
    if key is not None:
        detail["object"] = {"key": key}
    assert rule.event_pattern == {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}
    assert rule.target_arn == "arn:aws:states:eu-west-1:123456789012:stateMachine:demo-dev-ingest"
    assert rule.role_arn == "arn:aws:iam::123456789012:role/demo-dev-ingest-s3"
    template = json.loads(
        rule.input_template.replace("<bucket>", "demo-in")
        .replace("<key>", "in/a.csv")
        .replace("<time>", "2026-12-04T10:00:00Z")
        .replace("<id>", "e-1")
    )
    assert template == {
        "source": "s3", "job": "ingest", "body": "s3://demo-in/in/a.csv", "time": "2026-12-04T10:00:00Z", "id": "e-1"
    }  # fmt: skip
    (statement,) = role(specs, "ingest-s3").inline_policies["start"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (["states:StartExecution"], [rule.target_arn])


def test_the_workflow_takes_the_s3_input_as_a_run() -> None:
    machine = named(specs_of(s3_job("{bucket: demo-in}")), StateMachineSpec, "demo-dev-ingest")
    states = machine.definition["States"]
    choice = states["Check input source"]["Choices"]

    assert {"Variable": "$.source", "StringEquals": "s3", "Next": "From S3"} in choice
    assert states["From S3"]["Parameters"]["run"]["source"] == "s3"


def test_plan_says_what_starts_the_run() -> None:
    from datetime import UTC, datetime

    cfg = parse_config(s3_job("{bucket: demo-in, prefix: in/, suffix: .csv}"))
    (trigger,) = build.build_triggers(cfg, build.names_for(cfg, CTX), now=datetime(2026, 1, 1, tzinfo=UTC))

    assert trigger.kind == "s3"
    assert "S3 bucket demo-in with a key starting 'in/' and ending '.csv'" in trigger.text


@pytest.mark.parametrize(
    ("trigger", "path"),
    [
        ("{bucket: Demo_In}", "jobs.ingest.s3.bucket"),
        ("{bucket: demo-in, prefixes: in/}", "jobs.ingest.s3.prefixes"),
    ],
)
def test_s3_keys_are_checked_with_positions(trigger: str, path: str) -> None:
    assert at(only_issue(s3_job(trigger))) == (7, path)
