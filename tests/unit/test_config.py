"""config: the jobs.yaml models, cross-field rules, and load_config's positioned errors (offline, pure)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from batchctl.config import (
    JobsFile,
    NetworkConfig,
    ScheduleConfig,
    StepSettings,
    config_schema,
    cron_problem,
    load_config,
    parse_config,
    rate_problem,
    render_path,
    resolve_steps,
)
from batchctl.errors import (
    ConfigError,
    ConfigIssue,
    ConfigNotFoundError,
    ConfigSyntaxError,
    ConfigValidationError,
    ExitCode,
)

# DESIGN.md §2, verbatim.
FULL = """\
version: 1
project: demo                # [a-z][a-z0-9-]*, short: it prefixes every name
stage: dev                   # feature/dev/prod...; --stage overrides; stages never share resources
region: ap-northeast-1       # optional: else --region / AWS config
tags: {team: data}           # added to everything we create
image:                       # built with docker-py, pushed to the stage's ECR repository <project>-<stage>
  context: .                 # (scan on push, lifecycle keeps the last N images); or `uri:` for a prebuilt image,
  dockerfile: Dockerfile     # which is also how one image is promoted from stage to stage
network:                     # either `cidr:` (we create VPC, 2 public subnets in 2 AZs, IGW, routes, egress-only SG)
  cidr: 10.20.0.0/24         # or `vpc_id:` + `subnet_ids:` + `security_group_ids:` (used as they are, validated)
compute:
  type: FARGATE_SPOT         # FARGATE | FARGATE_SPOT | EC2 | SPOT
  max_vcpus: 16
  instance_types: [optimal]  # EC2/SPOT only; gpus only on EC2/SPOT
defaults: {vcpus: 1, memory_mib: 2048, timeout_s: 3600, retries: 1, log_retention_days: 30}
notify:
  topic: true                # SNS topic <project>-<stage>-events gets a JSON message per finished run
  emails: [ops@example.com]  # optional subscriptions (AWS asks each address to confirm)
  on_success_lambda: null    # optional function ARNs, invoked with the same payload (the seed's handlers)
  on_failure_lambda: null
jobs:
  fibonacci:                 # on demand
    command: [python, /opt/app/job/fibonacci.py, --body, Ref::body]
    environment: {LOG_LEVEL: info}
    secrets: {DB_PASSWORD: arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:/demo/db}
    permissions:             # extra IAM statements for the job's own role (least privilege by default: none)
      - {actions: [s3:GetObject], resources: ["arn:aws:s3:::demo-input/*"]}
    queue: {visibility_timeout_s: 60, max_receive_count: 3, retention_s: 604800}   # + a dead-letter queue
  daily-report:              # scheduled
    command: [python, /opt/app/job/report.py, --time, Ref::time]
    schedule: {cron: "30 21 * * ? *", timezone: Asia/Tokyo}   # or rate(1 hour); timezone default UTC
    vcpus: 2
    memory_mib: 4096
  etl:                       # several containers in sequence, one Batch job each, same input
    steps:
      - {name: extract, command: [python, /opt/app/job/extract.py]}
      - {name: load, command: [python, /opt/app/job/load.py], array_size: 4}
"""

# Line 6 is the job's `command`; tests append job keys from line 7 on.
MINIMAL = """\
version: 1
project: demo
stage: dev
jobs:
  hello:
    command: [echo, hi]
"""


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def issues_of(text: str, **overrides: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(text, **overrides)
    return caught.value.issues


def only_issue(text: str, **overrides: str) -> ConfigIssue:
    issues = issues_of(text, **overrides)
    assert len(issues) == 1, "\n".join(map(str, issues))
    return issues[0]


def at(issue: ConfigIssue) -> tuple[int, str]:
    return issue.line, issue.path


# ---- the valid example ----------------------------------------------------------------------------------------


def test_the_design_example_parses() -> None:
    cfg = parse_config(FULL)

    assert (cfg.version, cfg.project, cfg.stage, cfg.region) == (1, "demo", "dev", "ap-northeast-1")
    assert cfg.tags == {"team": "data"}
    assert cfg.network.cidr == "10.20.0.0/24"
    assert cfg.compute.type == "FARGATE_SPOT"
    assert cfg.notify.emails == ["ops@example.com"]
    assert list(cfg.jobs) == ["fibonacci", "daily-report", "etl"]
    fibonacci = cfg.jobs["fibonacci"]
    assert fibonacci.command == ["python", "/opt/app/job/fibonacci.py", "--body", "Ref::body"]
    assert fibonacci.queue is not None
    assert fibonacci.queue.retention_s == 604800
    assert fibonacci.permissions[0].actions == ["s3:GetObject"]
    schedule = cfg.jobs["daily-report"].schedule
    assert schedule is not None
    assert (schedule.expression, schedule.timezone, schedule.enabled) == (
        "cron(30 21 * * ? *)",
        "Asia/Tokyo",
        True,
    )


def test_models_are_frozen() -> None:
    cfg = parse_config(MINIMAL)

    with pytest.raises(ValidationError):
        cfg.__setattr__("project", "other")  # what `cfg.project = ...` calls


def test_defaults_when_sections_are_omitted() -> None:
    cfg = parse_config(MINIMAL)

    assert cfg.network.cidr == "10.20.0.0/24"
    assert (cfg.compute.type, cfg.compute.max_vcpus, cfg.compute.runnable_timeout_s) == (
        "FARGATE_SPOT",
        16,
        1800,
    )
    assert (cfg.image.context, cfg.image.dockerfile, cfg.image.uri, cfg.image.keep_images) == (
        ".",
        "Dockerfile",
        None,
        10,
    )
    assert cfg.notify.topic is True
    assert cfg.defaults.log_retention_days == 30


def test_numbers_in_commands_and_environment_become_text() -> None:
    cfg = parse_config(edit(MINIMAL, "[echo, hi]", "[sleep, 30]\n    environment: {PORT: 8080}"))

    assert cfg.jobs["hello"].command == ["sleep", "30"]
    assert cfg.jobs["hello"].environment == {"PORT": "8080"}


# ---- resolve_steps --------------------------------------------------------------------------------------------


def test_resolve_steps_of_a_command_job_is_one_step_named_main_with_defaults() -> None:
    cfg = parse_config(FULL)

    assert resolve_steps(cfg, "fibonacci") == [
        StepSettings(
            name="main",
            command=("python", "/opt/app/job/fibonacci.py", "--body", "Ref::body"),
            vcpus=1.0,
            memory_mib=2048,
            gpus=0,
            timeout_s=3600,
            retries=1,
            spot_retries=2,
            array_size=None,
            environment={"LOG_LEVEL": "info"},
        )
    ]


def test_resolve_steps_inherits_step_then_job_then_defaults() -> None:
    text = """\
version: 1
project: demo
stage: dev
defaults: {vcpus: 0.5, memory_mib: 1024, timeout_s: 600, retries: 0, spot_retries: 5}
jobs:
  etl:
    vcpus: 2
    memory_mib: 4096
    retries: 3
    array_size: 3
    environment: {A: job, B: job}
    steps:
      - {name: extract, command: [x], memory_mib: 8192, environment: {B: step, C: step}}
      - {name: load, command: [y], vcpus: 4, memory_mib: 8192, timeout_s: 60, array_size: 10}
"""
    extract, load = resolve_steps(parse_config(text), "etl")

    assert (extract.name, extract.command, extract.vcpus, extract.memory_mib) == (
        "extract",
        ("x",),
        2.0,
        8192,
    )
    assert (extract.timeout_s, extract.retries, extract.spot_retries, extract.array_size) == (600, 3, 5, 3)
    assert extract.environment == {"A": "job", "B": "step", "C": "step"}
    assert (load.vcpus, load.memory_mib, load.timeout_s, load.array_size) == (4.0, 8192, 60, 10)
    assert load.environment == {"A": "job", "B": "job"}


# ---- positioned field errors ----------------------------------------------------------------------------------


def test_unknown_key_is_reported_with_a_suggestion() -> None:
    issue = only_issue(MINIMAL + "    vcpu: 2\n")

    assert at(issue) == (7, "jobs.hello.vcpu")
    assert issue.col == 5
    assert issue.message == "unknown key 'vcpu'; did you mean 'vcpus'?"
    assert str(issue) == "jobs.yaml:7:5: jobs.hello.vcpu: unknown key 'vcpu'; did you mean 'vcpus'?"


def test_unknown_top_level_key_without_a_close_match() -> None:
    issue = only_issue(MINIMAL + "zzz: 1\n")

    assert at(issue) == (7, "zzz")
    assert issue.message == "unknown key 'zzz'"


def test_a_missing_required_key_points_at_its_parent() -> None:
    text = edit(MINIMAL, "    command: [echo, hi]\n", "    steps:\n      - name: one\n        vcpus: 1\n")

    issue = only_issue(text)

    assert at(issue) == (7, "jobs.hello.steps[0].command")
    assert issue.message == "required key 'command' is missing"


def test_a_missing_top_level_key_points_at_the_document() -> None:
    issue = only_issue(edit(MINIMAL, "version: 1\n", "# no version\n"))

    assert at(issue) == (2, "version")
    assert issue.message == "required key 'version' is missing"


def test_vcpus_zero_on_line_4(tmp_path: Path) -> None:
    # STYLE §6: a jobs.yaml with `vcpus: 0` on line 4 gives one issue at line 4.
    path = tmp_path / "jobs.yaml"
    path.write_text(
        "version: 1\nproject: demo\nstage: dev\ndefaults: {vcpus: 0}\njobs: {a: {command: [x]}}\n"
    )

    with pytest.raises(ConfigValidationError) as caught:
        load_config(path)

    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.col, issue.path) == (str(path), 4, 12, "defaults.vcpus")
    assert issue.message == "Input should be greater than 0, got 0"
    assert caught.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("line", "path", "message"),
    [
        (
            "project: Demo_1",
            "project",
            "'Demo_1': use lowercase letters, digits and '-', starting with a letter",
        ),
        ("project: abcdefghijklmnopqrstu", "project", "String should have at most 20 characters"),
        ("stage: 1dev", "stage", "'1dev': use lowercase letters, digits and '-', starting with a letter"),
        ("stage: abcdefghijklmnopq", "stage", "String should have at most 16 characters"),
    ],
)
def test_project_and_stage_names(line: str, path: str, message: str) -> None:
    key = line.split(":")[0]
    text = edit(MINIMAL, f"{key}: {'demo' if key == 'project' else 'dev'}\n", line + "\n")

    issue = only_issue(text)

    assert (issue.line, issue.path) == (2 if key == "project" else 3, path)
    assert issue.message.startswith(message)


def test_region_pattern() -> None:
    issue = only_issue(MINIMAL + "region: europe\n")

    assert at(issue) == (7, "region")
    assert issue.message == "'europe': expected an AWS region such as eu-west-1"


def test_version_must_be_1() -> None:
    issue = only_issue(edit(MINIMAL, "version: 1", "version: 2"))

    assert at(issue) == (1, "version")
    assert issue.message == "Input should be 1, got 2"


def test_job_names_follow_the_name_pattern() -> None:
    issue = only_issue(edit(MINIMAL, "  hello:", "  Hello_World:"))

    assert at(issue) == (5, "jobs.Hello_World")
    assert "lowercase letters" in issue.message


def test_at_least_one_job() -> None:
    issue = only_issue("version: 1\nproject: demo\nstage: dev\njobs: {}\n")

    assert at(issue) == (4, "jobs")
    assert issue.message == "declare at least one job"


def test_type_errors_say_what_was_expected() -> None:
    text = MINIMAL + "    retries: yes\n    timeout_s: [60]\n    environment: {DEBUG: true}\n"

    issues = issues_of(text)

    assert [(i.line, i.path, i.message) for i in issues] == [
        (7, "jobs.hello.retries", "expected a number, not true"),
        (8, "jobs.hello.timeout_s", "expected a whole number, got a list"),
        (9, "jobs.hello.environment.DEBUG", "expected text, got true: quote it as 'true'"),
    ]


def test_a_job_that_is_not_a_mapping() -> None:
    issue = only_issue(edit(MINIMAL, "  hello:\n    command: [echo, hi]\n", "  hello: [echo, hi]\n"))

    assert at(issue) == (5, "jobs.hello")
    assert issue.message == "expected a mapping (key: value), got a list"


# ---- jobs and steps -------------------------------------------------------------------------------------------


def test_a_job_needs_command_or_steps() -> None:
    issue = only_issue(edit(MINIMAL, "    command: [echo, hi]\n", "    description: nothing to run\n"))

    assert at(issue) == (5, "jobs.hello")
    assert issue.message == "a job needs command (one container) or steps (several in sequence)"


def test_a_job_cannot_have_both_command_and_steps() -> None:
    issue = only_issue(MINIMAL + "    steps:\n      - {name: a, command: [x]}\n")

    assert at(issue) == (7, "jobs.hello.steps")
    assert issue.message == "give either command (one container) or steps, not both"


def test_step_names_are_unique() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    steps:\n      - {name: a, command: [x]}\n      - {name: b, command: [x]}\n"
        "      - {name: a, command: [y]}\n",
    )

    issue = only_issue(text)

    assert at(issue) == (9, "jobs.hello.steps[2].name")
    assert issue.message == "step name 'a' is already used by steps[0]"


@pytest.mark.parametrize("name", ["Extract", "1st", "a" * 33, "x_y"])
def test_step_name_rules(name: str) -> None:
    text = edit(
        MINIMAL, "    command: [echo, hi]\n", f"    steps:\n      - name: {name}\n        command: [x]\n"
    )

    assert at(only_issue(text)) == (7, "jobs.hello.steps[0].name")


@pytest.mark.parametrize("size", [1, 10001])
def test_array_size_bounds(size: int) -> None:
    assert at(only_issue(MINIMAL + f"    array_size: {size}\n")) == (7, "jobs.hello.array_size")


# ---- environment and secrets ----------------------------------------------------------------------------------

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("BATCHCTL_BODY", "names starting BATCHCTL_ or AWS_BATCH are reserved for batchctl and AWS Batch"),
        ("AWS_BATCH_JOB_ID", "names starting BATCHCTL_ or AWS_BATCH are reserved for batchctl and AWS Batch"),
        ("1ST", "environment variable names use letters, digits and '_' and do not start with a digit"),
        ("MY-VAR", "environment variable names use letters, digits and '_' and do not start with a digit"),
    ],
)
def test_job_environment_names(name: str, message: str) -> None:
    issue = only_issue(MINIMAL + f"    environment:\n      {name}: x\n")

    assert at(issue) == (8, f"jobs.hello.environment.{name}")
    assert issue.message == message


def test_step_environment_follows_the_same_rules() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    steps:\n      - name: a\n        command: [x]\n        environment:\n          BATCHCTL_X: y\n",
    )

    issue = only_issue(text)

    assert at(issue) == (10, "jobs.hello.steps[0].environment.BATCHCTL_X")


def test_environment_must_not_collide_with_secrets() -> None:
    text = MINIMAL + f"    secrets: {{DB: {SECRET}}}\n    environment: {{DB: x}}\n"

    issue = only_issue(text)

    assert at(issue) == (8, "jobs.hello.environment.DB")
    assert issue.message == "DB is also set in secrets; keep one"


def test_step_environment_must_not_collide_with_the_jobs_secrets() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        f"    secrets: {{DB: {SECRET}}}\n    steps:\n      - {{name: a, command: [x], environment: {{DB: x}}}}\n",
    )

    issue = only_issue(text)

    assert at(issue) == (8, "jobs.hello.steps[0].environment.DB")


@pytest.mark.parametrize(
    "value",
    [
        SECRET,
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/demo/db",
        "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x",
    ],
)
def test_secret_arns_accepted(value: str) -> None:
    parse_config(MINIMAL + f"    secrets: {{DB: '{value}'}}\n")


@pytest.mark.parametrize(
    "value", ["db-password", "arn:aws:s3:::bucket/key", "arn:aws:ssm:eu-west-1:1:parameter/x"]
)
def test_secret_values_must_be_secret_or_parameter_arns(value: str) -> None:
    issue = only_issue(MINIMAL + f"    secrets: {{DB: '{value}'}}\n")

    assert at(issue) == (7, "jobs.hello.secrets.DB")
    assert issue.message.startswith("expected the ARN of a Secrets Manager secret")


# ---- permissions, queue ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("'*'", "a wildcard over every service is not allowed: name the actions, e.g. s3:GetObject"),
        ("'*:*'", "a wildcard over every service is not allowed: name the actions, e.g. s3:GetObject"),
        ("s3GetObject", "expected an IAM action as service:Action, e.g. s3:GetObject"),
    ],
)
def test_permission_actions(action: str, message: str) -> None:
    text = (
        MINIMAL + f"    permissions:\n      - actions: [s3:GetObject, {action}]\n        resources: ['*']\n"
    )

    issue = only_issue(text)

    assert at(issue) == (8, "jobs.hello.permissions[0].actions[1]")
    assert issue.message == message


def test_service_wide_actions_and_arn_resources_are_fine() -> None:
    text = (
        MINIMAL
        + "    permissions:\n      - {actions: ['s3:*', 'dynamodb:Get*'], resources: ['arn:aws:s3:::b/*']}\n"
    )

    cfg = parse_config(text)

    assert cfg.jobs["hello"].permissions[0].actions == ["s3:*", "dynamodb:Get*"]


def test_permission_resources_are_arns() -> None:
    issue = only_issue(
        MINIMAL + "    permissions:\n      - {actions: ['s3:GetObject'], resources: [my-bucket]}\n"
    )

    assert at(issue) == (8, "jobs.hello.permissions[0].resources[0]")


def test_permission_needs_actions() -> None:
    issue = only_issue(MINIMAL + "    permissions:\n      - {actions: [], resources: ['*']}\n")

    assert at(issue) == (8, "jobs.hello.permissions[0].actions")


@pytest.mark.parametrize(
    ("queue", "path"),
    [
        ("{visibility_timeout_s: 43201}", "jobs.hello.queue.visibility_timeout_s"),
        ("{max_receive_count: 0}", "jobs.hello.queue.max_receive_count"),
        ("{retention_s: 59}", "jobs.hello.queue.retention_s"),
        ("{retention_s: 1209601}", "jobs.hello.queue.retention_s"),
    ],
)
def test_queue_bounds(queue: str, path: str) -> None:
    assert at(only_issue(MINIMAL + f"    queue: {queue}\n")) == (7, path)


# ---- schedules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cron",
    [
        "30 21 * * ? *",
        "0 12 ? * MON-FRI *",
        "0/15 * * * ? *",
        "0 8 1,15 * ? 2025-2030",
        "0 10 ? * 6L *",
        "0 10 ? * 3#2 *",
        "0 10 L * ? *",
        "0 10 15W * ? *",
        "5 4 ? JAN-MAR,DEC SUN *",
        "*/5 9-17 ? * * *",
    ],
)
def test_valid_cron_expressions(cron: str) -> None:
    assert cron_problem(cron) is None


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("30 21 * * *", "AWS cron has 6 fields"),
        ("30 21 * * * *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("30 21 ? * ? *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("60 21 * * ? *", "minutes '60': 60 is outside 0-59"),
        ("0 24 * * ? *", "hours '24': 24 is outside 0-23"),
        ("0 1 0 * ? *", "day-of-month '0': 0 is outside 1-31"),
        ("0 1 * 13 ? *", "month '13': 13 is outside 1-12"),
        ("0 1 ? * 8 *", "day-of-week '8': 8 is outside 1-7"),
        ("0 1 ? * MON-FRX *", "day-of-week 'MON-FRX': 'FRX' is not a number"),
        ("0 1 * * ? 1969", "year '1969': 1969 is outside 1970-2199"),
        ("0/0 1 * * ? *", "minutes '0/0': step '0' must be a number from 1 to 59"),
        ("? 1 * * ? *", "'?' is only allowed in day-of-month or day-of-week"),
        ("0 1 ? * 3#6 *", "the # occurrence must be 1-5"),
        ("0 1,,2 * * ? *", "hours '1,,2': '' is not a value, range or list"),
    ],
)
def test_invalid_cron_expressions(cron: str, problem: str) -> None:
    found = cron_problem(cron)

    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    ("rate", "ok"),
    [
        ("1 minute", True),
        ("5 minutes", True),
        ("1 hour", True),
        ("2 days", True),
        ("1 hours", False),
        ("5 minute", False),
        ("0 minutes", False),
        ("one hour", False),
        ("1 week", False),
    ],
)
def test_rates_follow_aws_singular_plural_rule(rate: str, ok: bool) -> None:
    assert (rate_problem(rate) is None) is ok


def test_a_bad_cron_is_reported_at_the_cron_key() -> None:
    issue = only_issue(MINIMAL + "    schedule:\n      cron: '0 12 * * *'\n")

    assert at(issue) == (8, "jobs.hello.schedule.cron")
    assert issue.message.startswith("AWS cron has 6 fields")


def test_schedule_needs_exactly_one_of_cron_and_rate() -> None:
    both = only_issue(MINIMAL + "    schedule:\n      cron: '0 12 * * ? *'\n      rate: 1 hour\n")
    neither = only_issue(MINIMAL + "    schedule:\n      timezone: UTC\n")

    assert (at(both), both.message) == ((9, "jobs.hello.schedule.rate"), "give either cron or rate, not both")
    assert (at(neither), neither.message) == ((7, "jobs.hello.schedule"), "a schedule needs cron or rate")


def test_an_unknown_timezone_gets_a_suggestion() -> None:
    issue = only_issue(MINIMAL + "    schedule: {rate: 1 hour, timezone: Asia/Tokio}\n")

    assert at(issue) == (7, "jobs.hello.schedule.timezone")
    assert issue.message.endswith("did you mean 'Asia/Tokyo'?")


@pytest.mark.parametrize(
    "zone", ["localtime", "posixrules", "asia/tokyo", "", "../etc/passwd", "/etc/localtime"]
)
def test_timezone_must_be_an_iana_name(zone: str) -> None:
    with pytest.raises(ValidationError):
        ScheduleConfig(rate="1 hour", timezone=zone)


def test_schedule_expression_and_aws_wrapping() -> None:
    assert ScheduleConfig(rate="5 minutes").expression == "rate(5 minutes)"
    assert ScheduleConfig(cron="cron(0 12 * * ? *)").cron == "0 12 * * ? *"
    assert ScheduleConfig(cron="0 12 * * ? *", timezone="Europe/Paris").expression == "cron(0 12 * * ? *)"


# ---- network, compute, defaults, notify, tags, image ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.20.0.0/27", "the prefix must be /16 to /26"),
        ("10.0.0.0/15", "the prefix must be /16 to /26"),
        ("10.20.0.1/24", "host bits are set: did you mean 10.20.0.0/24?"),
        ("10.20.0.0", "add a prefix length, e.g. 10.20.0.0/24"),
        ("fd00::/56", "expected an IPv4 network such as 10.20.0.0/24"),
    ],
)
def test_network_cidr(cidr: str, message: str) -> None:
    issue = only_issue(MINIMAL + f"network:\n  cidr: '{cidr}'\n")

    assert at(issue) == (8, "network.cidr")
    assert issue.message.startswith(message)


def test_an_empty_network_section_means_the_default_cidr() -> None:
    assert parse_config(MINIMAL + "network: {}\n").network == NetworkConfig(cidr="10.20.0.0/24")


def test_an_existing_network_is_used_as_given() -> None:
    text = MINIMAL + (
        "network:\n  vpc_id: vpc-0123456789abcdef0\n  subnet_ids: [subnet-01234567, subnet-89abcdef]\n"
        "  security_group_ids: [sg-0123456789abcdef0]\n"
    )

    net = parse_config(text).network

    assert (net.cidr, net.vpc_id, net.subnet_ids) == (
        None,
        "vpc-0123456789abcdef0",
        ["subnet-01234567", "subnet-89abcdef"],
    )


def test_network_modes_cannot_be_mixed() -> None:
    issue = only_issue(MINIMAL + "network:\n  cidr: 10.20.0.0/24\n  vpc_id: vpc-0123456789abcdef0\n")

    assert at(issue) == (9, "network.vpc_id")
    assert issue.message.startswith("use either cidr")


def test_an_existing_network_needs_subnets_and_security_groups() -> None:
    issues = issues_of(MINIMAL + "network:\n  vpc_id: vpc-0123456789abcdef0\n  subnet_ids: []\n")

    assert [(i.line, i.path) for i in issues] == [(7, "network"), (9, "network.subnet_ids")]
    assert issues[0].message.startswith("an existing network needs security_group_ids")


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("vpc_id", "vpc-12", 8),
        ("subnet_ids", "[subnet-xyz]", 9),
        ("security_group_ids", "[sgr-0123456789]", 10),
    ],
)
def test_existing_network_id_formats(key: str, value: str, line: int) -> None:
    good = {
        "vpc_id": "vpc-0123456789abcdef0",
        "subnet_ids": "[subnet-01234567]",
        "security_group_ids": "[sg-01234567]",
    }
    good[key] = value
    text = MINIMAL + "network:\n" + "".join(f"  {k}: {v}\n" for k, v in good.items())

    issue = only_issue(text)

    assert (issue.line, issue.path.split("[")[0]) == (line, f"network.{key}")


def test_ec2_min_vcpus_above_max() -> None:
    issue = only_issue(MINIMAL + "compute: {type: EC2, max_vcpus: 4, min_vcpus: 8}\n")

    assert at(issue) == (7, "compute.min_vcpus")
    assert issue.message == "min_vcpus (8) is above max_vcpus (4)"


def test_fargate_refuses_ec2_only_settings() -> None:
    issues = issues_of(MINIMAL + "compute:\n  type: FARGATE\n  min_vcpus: 2\n  instance_types: [c5.large]\n")

    assert [at(i) for i in issues] == [(9, "compute.min_vcpus"), (10, "compute.instance_types")]


def test_runnable_timeout_at_least_600() -> None:
    assert at(only_issue(MINIMAL + "compute: {runnable_timeout_s: 599}\n")) == (
        7,
        "compute.runnable_timeout_s",
    )


@pytest.mark.parametrize(
    ("defaults", "path"),
    [
        ("{log_retention_days: 31}", "defaults.log_retention_days"),
        ("{retries: 10}", "defaults.retries"),
        ("{spot_retries: 11}", "defaults.spot_retries"),
        ("{timeout_s: 59}", "defaults.timeout_s"),
        ("{gpus: -1}", "defaults.gpus"),
        ("{vcpus: .nan}", "defaults.vcpus"),
    ],
)
def test_defaults_bounds(defaults: str, path: str) -> None:
    assert at(only_issue(MINIMAL + f"defaults: {defaults}\n")) == (7, path)


def test_emails_need_the_topic() -> None:
    issue = only_issue(MINIMAL + "notify:\n  topic: false\n  emails: [ops@example.com]\n")

    assert at(issue) == (9, "notify.emails")


def test_notify_formats() -> None:
    text = MINIMAL + "notify:\n  emails: [not-an-email]\n  on_failure_lambda: my-function\n"

    assert [at(i) for i in issues_of(text)] == [(8, "notify.emails[0]"), (9, "notify.on_failure_lambda")]


def test_lambda_arns_are_accepted() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:on-failure"

    assert parse_config(MINIMAL + f"notify: {{on_failure_lambda: '{arn}'}}\n").notify.on_failure_lambda == arn


def test_reserved_tag_keys() -> None:
    issues = issues_of(MINIMAL + "tags:\n  team: data\n  'aws:owner': x\n  'batchctl:stage': y\n")

    assert [at(i) for i in issues] == [(9, 'tags["aws:owner"]'), (10, 'tags["batchctl:stage"]')]


def test_image_uri_excludes_build_settings() -> None:
    issue = only_issue(
        MINIMAL + "image:\n  uri: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1\n  dockerfile: D\n"
    )

    assert at(issue) == (9, "image.dockerfile")
    assert parse_config(MINIMAL + "image: {uri: 'x/y:1'}\n").image.uri == "x/y:1"


def test_keep_images_bounds() -> None:
    assert at(only_issue(MINIMAL + "image: {keep_images: 0}\n")) == (7, "image.keep_images")


# ---- cross-field rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vcpus", "memory"),
    [(0.25, 512), (0.25, 2048), (0.5, 3072), (1, 8192), (2, 16384), (4, 30720), (8, 61440), (16, 122880)],
)
def test_fargate_pairs_accepted(vcpus: float, memory: int) -> None:
    parse_config(MINIMAL + f"    vcpus: {vcpus}\n    memory_mib: {memory}\n")


@pytest.mark.parametrize(
    ("vcpus", "memory", "allowed"),
    [
        (0.25, 1536, "512, 1024 or 2048 MiB"),
        (0.5, 512, "1024, 2048, 3072 or 4096 MiB"),
        (1, 9216, "2048–8192 MiB in steps of 1024"),
        (4, 31744, "8192–30720 MiB in steps of 1024"),
        (8, 18432, "16384–61440 MiB in steps of 4096"),
        (16, 36864, "32768–122880 MiB in steps of 8192"),
    ],
)
def test_fargate_pairs_refused_at_the_memory_key(vcpus: float, memory: int, allowed: str) -> None:
    issue = only_issue(MINIMAL + f"    vcpus: {vcpus}\n    memory_mib: {memory}\n")

    assert at(issue) == (8, "jobs.hello.memory_mib")
    assert issue.message.endswith(f"use {allowed}")


def test_a_fargate_pair_from_defaults_is_reported_at_defaults() -> None:
    text = MINIMAL + "  other:\n    command: [x]\ndefaults:\n  memory_mib: 1000\n"

    issue = only_issue(text)  # once, although two jobs inherit it

    assert at(issue) == (10, "defaults.memory_mib")
    assert issue.message == (
        "Fargate does not run 1 vCPU with 1000 MiB; with 1 vCPU use 2048–8192 MiB in steps of 1024"
    )


def test_a_fargate_vcpu_count_that_does_not_exist() -> None:
    issue = only_issue(MINIMAL + "    vcpus: 3\n")

    assert at(issue) == (7, "jobs.hello.vcpus")
    assert issue.message == "Fargate runs 0.25, 0.5, 1, 2, 4, 8, 16 vCPUs, not 3"


def test_a_step_override_is_checked_per_step() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    memory_mib: 4096\n    steps:\n      - {name: a, command: [x], vcpus: 2}\n"
        "      - {name: b, command: [x], vcpus: 0.25}\n",
    )

    issue = only_issue(text)

    assert at(issue) == (6, "jobs.hello.memory_mib")
    assert "0.25 vCPU with 4096 MiB" in issue.message


def test_gpus_only_on_ec2_or_spot() -> None:
    issue = only_issue(MINIMAL + "    gpus: 1\n")

    assert at(issue) == (7, "jobs.hello.gpus")
    assert issue.message == "GPUs need compute type EC2 or SPOT; Fargate has none"
    parse_config(MINIMAL + "    gpus: 1\ncompute: {type: EC2}\n")


def test_a_step_that_can_never_be_placed() -> None:
    issue = only_issue(MINIMAL + "    vcpus: 8\n    memory_mib: 16384\ncompute: {max_vcpus: 4}\n")

    assert at(issue) == (7, "jobs.hello.vcpus")
    assert issue.message == "can never be placed: needs 8 vCPUs but compute.max_vcpus is 4"


def test_ec2_takes_whole_vcpus_and_some_memory() -> None:
    text = MINIMAL + "    vcpus: 1.5\n    memory_mib: 2\ncompute: {type: SPOT}\n"

    issues = issues_of(text)

    assert [(at(i), i.message) for i in issues] == [
        ((7, "jobs.hello.vcpus"), "EC2/SPOT jobs take whole vCPUs (1 or more), not 1.5"),
        ((8, "jobs.hello.memory_mib"), "EC2/SPOT jobs need at least 4 MiB of memory"),
    ]


def test_ref_placeholders_must_be_ones_we_fill() -> None:
    text = edit(MINIMAL, "[echo, hi]", "[run, Ref::body, --at=Ref::time, Ref::source, Ref::id, Ref::name]")

    issue = only_issue(text)

    assert at(issue) == (6, "jobs.hello.command[5]")
    assert issue.message.startswith("Ref::name is never filled in; batchctl passes Ref::body, Ref::time")


def test_ref_placeholders_in_steps() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    steps:\n      - name: a\n        command: [x, Ref::input]\n",
    )

    assert at(only_issue(text)) == (8, "jobs.hello.steps[0].command[1]")


def test_an_iam_role_name_that_is_too_long() -> None:
    job = "j" * 52  # demo-dev-<job>-job (and -sfn): 9 + 52 + 4 = 65 characters
    text = edit(MINIMAL, "  hello:", f"  {job}:")

    issues = issues_of(text)

    assert [at(i) for i in issues] == [(5, f"jobs.{job}")] * 2
    assert [i.message for i in issues] == [
        f"the IAM role name 'demo-dev-{job}-{suffix}' would be 65 characters, AWS allows 64: "
        "shorten the project, stage or job name"
        for suffix in ("job", "sfn")
    ]


def test_only_the_resources_a_job_has_are_length_checked() -> None:
    job = "j" * 50  # demo-dev-<job>: 59; -job 63, -sfn 63, -pipe 64, -sched 65
    plain = edit(MINIMAL, "  hello:", f"  {job}:")
    scheduled = plain + "    schedule: {rate: 1 hour}\n"
    queued = plain + "    queue: {}\n"

    parse_config(plain)
    parse_config(queued)
    issue = only_issue(scheduled)
    assert at(issue) == (5, f"jobs.{job}")
    assert issue.message.startswith(f"the IAM role name 'demo-dev-{job}-sched' would be 65 characters")


def test_job_definition_names_must_not_clash() -> None:
    text = edit(
        MINIMAL,
        "    command: [echo, hi]\n",
        "    steps:\n      - {name: load, command: [x]}\n  hello-load:\n    command: [y]\n",
    )

    issue = only_issue(text)

    assert at(issue) == (8, "jobs.hello-load")
    assert "job definition name 'demo-dev-hello-load' clashes" in issue.message


def test_queue_names_must_not_clash() -> None:
    text = MINIMAL + "    queue: {}\n  hello-dlq:\n    command: [x]\n    queue: {}\n"

    issue = only_issue(text)

    assert at(issue) == (10, "jobs.hello-dlq.queue")
    assert "SQS queue name 'demo-dev-hello-dlq' clashes" in issue.message


def test_cross_field_rules_also_guard_direct_model_validation() -> None:
    data = yaml.safe_load(MINIMAL + "    gpus: 1\n")

    with pytest.raises(ValidationError, match="GPUs need compute type EC2 or SPOT"):
        JobsFile.model_validate(data)


# ---- every issue at once --------------------------------------------------------------------------------------


def test_five_mistakes_give_five_positioned_issues_sorted_by_line() -> None:
    text = FULL
    text = edit(text, "  max_vcpus: 16\n", "  max_vcpus: 0\n")  # line 13: field error
    text = edit(text, "memory_mib: 2048, timeout_s", "memory_mib: 3000, timeout_s")  # 15: inherited bad pair
    text = edit(text, "--body, Ref::body]", "--body, Ref::bodyy]")  # 23: unknown placeholder
    text = edit(text, "timezone: Asia/Tokyo}", "timezone: Asia/Tokio}")  # 31: unknown zone
    text = edit(text, "    vcpus: 2\n", "    vcpu: 2\n")  # 32: unknown key

    issues = issues_of(text)

    assert [(i.line, i.path) for i in issues] == [
        (13, "compute.max_vcpus"),
        (15, "defaults.memory_mib"),
        (23, "jobs.fibonacci.command[3]"),
        (31, "jobs.daily-report.schedule.timezone"),
        (32, "jobs.daily-report.vcpu"),
    ]
    assert all(i.file == "jobs.yaml" for i in issues)


def test_an_unknown_key_and_a_bad_fargate_pair_in_the_same_job_are_both_reported() -> None:
    issues = issues_of(MINIMAL + "    memory_mib: 1000\n    colour: blue\n")

    assert [at(i) for i in issues] == [(7, "jobs.hello.memory_mib"), (8, "jobs.hello.colour")]


def test_model_rules_are_reported_alongside_field_errors() -> None:
    text = (
        edit(MINIMAL, "    command: [echo, hi]\n", "    descripton: typo\n")
        + "    schedule: {cron: '0 1 * * ? *', rate: 1 hour}\n"
    )

    issues = issues_of(text)

    assert [at(i) for i in issues] == [
        (5, "jobs.hello"),
        (6, "jobs.hello.descripton"),
        (7, "jobs.hello.schedule.rate"),
    ]


def test_rules_that_read_a_broken_value_are_not_guessed() -> None:
    # With vcpus unreadable we cannot tell whether 16384 MiB fits: report vcpus only, not an invented pair.
    issue = only_issue(MINIMAL + "    vcpus: lots\n    memory_mib: 16384\n")

    assert at(issue) == (7, "jobs.hello.vcpus")


def test_the_error_message_lists_every_issue() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(MINIMAL + "    vcpu: 1\n    gpus: 1\n", filename="conf/jobs.yaml")

    assert str(caught.value).splitlines() == [
        "2 problems in conf/jobs.yaml",
        "conf/jobs.yaml:7:5: jobs.hello.vcpu: unknown key 'vcpu'; did you mean 'vcpus'?",
        "conf/jobs.yaml:8:5: jobs.hello.gpus: GPUs need compute type EC2 or SPOT; Fargate has none",
    ]


# ---- overrides ------------------------------------------------------------------------------------------------


def test_stage_and_region_overrides() -> None:
    cfg = parse_config(FULL, stage="prod", region="eu-west-1")

    assert (cfg.stage, cfg.region) == ("prod", "eu-west-1")


def test_an_invalid_stage_override_is_reported_at_the_stage_key() -> None:
    issue = only_issue(MINIMAL, stage="Prod")

    assert at(issue) == (3, "stage")
    assert issue.message.endswith("(from --stage Prod)")


def test_a_stage_override_is_length_checked_with_the_names() -> None:
    job = "j" * 50  # demo-<stage>-<job>-job with stage "dev" fits; a 16-character stage does not
    text = edit(MINIMAL, "  hello:", f"  {job}:")

    parse_config(text)
    issues = issues_of(text, stage="a" * 16)

    assert [at(i) for i in issues] == [(5, f"jobs.{job}")] * 2  # the job role and the state machine role


# ---- load_config ----------------------------------------------------------------------------------------------


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(FULL, encoding="utf-8")

    assert load_config(path, stage="prod").stage == "prod"


def test_load_config_accepts_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())

    assert load_config(path).project == "demo"


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFoundError) as caught:
        load_config(tmp_path / "nope.yaml")

    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: no such file"
    assert caught.value.hint is not None
    assert "batchctl init" in caught.value.hint
    assert "-c PATH" in caught.value.hint


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_not_utf8_is_reported_with_its_position(tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(bom + b"version: 1\nproject: d\xe9mo\n")

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}:2:11: not UTF-8 text (byte 0xe9)"


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00")

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}:3:1: binary data (a NUL byte)"
    assert caught.value.hint is not None
    assert "binary" in caught.value.hint


def test_a_6_mb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(MINIMAL + "# " + "x" * (6 * 1024 * 1024) + "\n")

    with pytest.raises(ConfigSyntaxError, match="larger than 5,242,880 bytes"):
        load_config(path)


@pytest.mark.parametrize("content", ["", "\n", "# just a comment\n"])
def test_an_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(content)

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}:1:1: the file is empty"
    assert caught.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("text", "where", "found"),
    [("- a\n- b\n", "1:1", "a list"), ("\n\njust text\n", "3:1", "'just text'"), ("42\n", "1:1", "42")],
)
def test_a_document_that_is_not_a_mapping(text: str, where: str, found: str) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        parse_config(text)

    assert str(caught.value) == (
        f"jobs.yaml:{where}: expected a mapping with version, project, stage and jobs, got {found}"
    )


def test_yaml_syntax_errors_become_config_syntax_errors() -> None:
    with pytest.raises(ConfigSyntaxError, match=r"^jobs.yaml:7:5: duplicate key 'command'"):
        parse_config(MINIMAL + "    command: [again]\n")


# ---- schema and helpers ---------------------------------------------------------------------------------------


def test_schema_is_a_json_schema_with_properties() -> None:
    schema = config_schema()

    assert isinstance(schema, dict)
    assert {"version", "project", "stage", "jobs"} <= set(schema["properties"])
    assert set(schema["required"]) == {"version", "project", "stage", "jobs"}
    assert schema["additionalProperties"] is False
    assert json.loads(json.dumps(schema)) == schema
    assert schema["properties"]["project"]["pattern"] == "^[a-z][a-z0-9-]*$"


def test_render_path() -> None:
    assert render_path(("jobs", "fibonacci", "steps", 1, "command")) == "jobs.fibonacci.steps[1].command"
    assert render_path(("tags", "a.b")) == 'tags["a.b"]'
    assert render_path(("jobs", "Bad", "[key]")) == "jobs.Bad"
    assert render_path(("notify", 'a"\x7f')) == 'notify["a\\"\\x7f"]'


# ---- property: mutations never escape as anything but ConfigError ---------------------------------------------

BASE: dict[str, Any] = yaml.safe_load(FULL)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["FARGATE", "EC2", "Ref::x", "0 1 * * ? *", "1 hour", "UTC", "10.0.0.0/16", "arn:aws:x"]),
)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=6), SCALARS, max_size=3)
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: dict[str, Any], draw: st.DrawFn) -> None:
    path = draw(st.sampled_from(_paths(data)))
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = draw(st.sampled_from(["drop", "rename", "replace", "add"]))
    if action == "drop":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8)) + str(last)] = parent.pop(last)
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = draw(VALUES)
    else:
        parent[last] = draw(VALUES)


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    data = yaml.safe_load(FULL)
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        if not _paths(data):
            break
        _mutate(data, draw)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _check(text: str) -> None:
    error: ConfigError | None = None
    try:
        parse_config(text)
    except ConfigError as exc:  # anything else propagates and fails the property
        error = exc
    if isinstance(error, ConfigValidationError):
        assert error.issues
        assert all(i.line >= 1 and i.col >= 1 and i.file == "jobs.yaml" for i in error.issues)
        assert [(i.line, i.col) for i in error.issues] == sorted((i.line, i.col) for i in error.issues)
    elif error is not None:
        assert str(error).startswith("jobs.yaml:")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_mutated_documents_only_raise_config_errors(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_text_only_raises_config_errors(data: st.DataObject) -> None:
    text = FULL
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=0, max_value=len(text)))
        cut = data.draw(st.integers(min_value=0, max_value=5))
        insert = data.draw(st.text(alphabet=" \t\n:-[]{}&*!|>'\"#?,%@`x1", max_size=3))
        text = text[:position] + insert + text[position + cut :]
    _check(text)


def test_base_document_used_by_the_properties_is_valid() -> None:
    assert JobsFile.model_validate(BASE).project == "demo"
