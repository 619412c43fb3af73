"""config: the jobs.yaml models and the checks of each field and section (models.py), and the property that a
broken file raises only ConfigError (offline, pure). Shared documents and helpers for the other test_config_* files."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from batchctl.config import JobsFile, NetworkConfig, ScheduleConfig, cron_problem, parse_config, rate_problem
from batchctl.errors import ConfigError, ConfigIssue, ConfigValidationError

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


@pytest.mark.parametrize("seconds", [599, 86401])
def test_runnable_timeout_within_what_aws_accepts(seconds: int) -> None:
    # jobStateTimeLimitActions[].maxTimeSeconds is 600..86400.
    assert at(only_issue(MINIMAL + f"compute: {{runnable_timeout_s: {seconds}}}\n")) == (
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
