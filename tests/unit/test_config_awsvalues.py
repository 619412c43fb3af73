"""What AWS refuses, refused offline by validate: tag text and counts (review 12), GPU jobs without GPU instance types
(review 10), KMS key ARNs (review 11), image platform against instance types (review 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.config import parse_config
from batchctl.config.awsvalues import bad_tag_characters, is_arm_type, is_gpu_type
from tests.unit.test_config import MINIMAL, at, issues_of, only_issue

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"

# ---- tags (review 12) ---------------------------------------------------------------------------------------------


def test_tag_characters_follow_aws_pattern() -> None:
    # [\p{L}\p{Z}\p{N}_.:/=+\-@]: any script's letters and digits, any space separator, seven symbols.
    assert bad_tag_characters("Team A_1.x:y/z=w+v-u@t") == []
    assert bad_tag_characters("équipe données ٣ 東京\u3000") == []
    assert bad_tag_characters("a,b (x#1)") == [",", "(", "#", ")"]
    assert bad_tag_characters("tab\there!") == ["\t", "!"]


def test_a_tag_key_with_refused_characters_is_positioned() -> None:
    issue = only_issue(MINIMAL + "tags:\n  'a,b (x#1)': data\n")

    assert at(issue) == (8, 'tags["a,b (x#1)"]')
    assert "',' '(' '#' ')'" in issue.message
    assert "letters, digits, spaces and _ . : / = + - @" in issue.message


def test_a_tag_value_with_refused_characters_is_positioned() -> None:
    issue = only_issue(MINIMAL + "tags:\n  team: data\n  owner: 'a,b (x#1)'\n")

    assert at(issue) == (9, "tags.owner")
    assert "tag value" in issue.message


def test_unicode_letters_and_spaces_are_accepted_in_tags() -> None:
    cfg = parse_config(MINIMAL + "tags:\n  Équipe données: Tōkyō 1\n  cost-center: ''\n")

    assert cfg.tags == {"Équipe données": "Tōkyō 1", "cost-center": ""}


def test_tag_lengths() -> None:
    issues = issues_of(MINIMAL + f"tags:\n  {'k' * 129}: v\n  ok: {'v' * 257}\n  '': v\n")

    assert sorted(i.line for i in issues) == [8, 9, 10]
    parse_config(MINIMAL + f"tags:\n  {'k' * 128}: {'v' * 256}\n")


def test_aws_prefix_is_reserved_in_any_case() -> None:
    issue = only_issue(MINIMAL + "tags:\n  'AWS:owner': x\n")

    assert at(issue) == (8, 'tags["AWS:owner"]')


def test_at_most_47_tags_since_batchctl_adds_three() -> None:
    parse_config(MINIMAL + "tags:\n" + "".join(f"  k{i}: v\n" for i in range(47)))
    issue = only_issue(MINIMAL + "tags:\n" + "".join(f"  k{i}: v\n" for i in range(48)))

    assert at(issue) == (7, "tags")
    assert "48 tags" in issue.message
    assert "batchctl:project, batchctl:stage and Name" in issue.message


def test_validate_refuses_a_bad_tag_with_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(MINIMAL + 'tags:\n  "a,b (x#1)": x\n')

    result = CliRunner().invoke(app, ["-c", str(path), "validate"], env=ENV)

    assert result.exit_code == 3
    assert f'{path}:8:3: tags["a,b (x#1)"]: AWS refuses' in result.stderr
    assert "Traceback" not in result.output


# ---- GPUs (review 10) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("types", ["g4dn.xlarge", "g5", "g6e.2xlarge", "p3", "p4d.24xlarge", "p5", "p6-b200"])
def test_gpu_families(types: str) -> None:
    assert is_gpu_type(types)


@pytest.mark.parametrize("types", ["optimal", "default_x86_64", "default_arm64", "c5", "m6g", "g4ad", "inf2"])
def test_not_gpu_families(types: str) -> None:
    assert not is_gpu_type(types)


def test_a_gpu_job_on_optimal_is_refused_with_gpu_families_named() -> None:
    issue = only_issue(MINIMAL + "    gpus: 1\ncompute: {type: EC2}\n")

    assert at(issue) == (7, "jobs.hello.gpus")
    assert "never place" in issue.message
    assert "g4dn, g5, g6, p3, p4d" in issue.message


def test_a_gpu_step_is_refused_where_its_gpus_come_from() -> None:
    text = """\
version: 1
project: demo
stage: dev
defaults: {gpus: 1}
compute: {type: SPOT, instance_types: [c5, m5.large]}
jobs:
  train:
    steps:
      - {name: prep, command: [x], gpus: 0}
      - {name: fit, command: [y]}
"""
    issue = only_issue(text)

    assert at(issue) == (4, "defaults.gpus")
    assert "c5, m5.large" in issue.message


def test_a_gpu_job_with_a_gpu_family_is_accepted() -> None:
    cfg = parse_config(MINIMAL + "    gpus: 1\ncompute: {type: EC2, instance_types: [c5, g5.xlarge]}\n")

    assert cfg.jobs["hello"].gpus == 1


def test_fargate_still_refuses_gpus() -> None:
    issue = only_issue(MINIMAL + "    gpus: 1\ncompute: {type: FARGATE_SPOT}\n")

    assert issue.message == "GPUs need compute type EC2 or SPOT; Fargate has none"


# ---- KMS keys of secrets (review 11) ------------------------------------------------------------------------------


def test_secrets_kms_keys_take_key_arns() -> None:
    cfg = parse_config(MINIMAL + f"secrets_kms_keys: [{KEY}, {MRK}]\n")

    assert cfg.secrets_kms_keys == [KEY, MRK]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("arn:aws:kms:eu-west-1:123456789012:alias/db", "an alias grants nothing"),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", "expected a KMS key ARN"),
        ("arn:aws:kms:eu-west-1:123456789012:key/*", "expected a KMS key ARN"),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db", "expected a KMS key ARN"),
    ],
)
def test_secrets_kms_keys_refuse_anything_but_a_key_arn(value: str, says: str) -> None:
    issue = only_issue(MINIMAL + f"secrets_kms_keys:\n  - '{value}'\n")

    assert at(issue) == (8, "secrets_kms_keys[0]")
    assert says in issue.message


# ---- image platform against instance types (review 9) ------------------------------------------------------------


@pytest.mark.parametrize("types", ["default_arm64", "m6g", "c7gn.large", "t4g.micro", "a1", "r8gd", "g5g"])
def test_arm_types(types: str) -> None:
    assert is_arm_type(types)


@pytest.mark.parametrize("types", ["optimal", "default_x86_64", "c5", "m7i-flex.large", "g4dn", "p4de"])
def test_x86_types(types: str) -> None:
    assert not is_arm_type(types)


def test_arm64_on_optimal_is_refused_at_the_platform() -> None:
    issue = only_issue(MINIMAL + "image: {platform: linux/arm64}\ncompute: {type: EC2}\n")

    assert at(issue) == (7, "image.platform")
    assert "default_arm64" in issue.message


def test_arm64_with_an_x86_type_is_refused_at_the_instance_types() -> None:
    issue = only_issue(
        MINIMAL + "image: {platform: linux/arm64}\ncompute: {type: SPOT, instance_types: [m6g, c5]}\n"
    )

    assert at(issue) == (8, "compute.instance_types")
    assert "c5 is x86_64" in issue.message


def test_amd64_with_a_graviton_type_is_refused() -> None:
    issue = only_issue(MINIMAL + "compute: {type: EC2, instance_types: [m6g, c5]}\n")

    assert at(issue) == (7, "compute.instance_types")
    assert "image.platform: linux/arm64" in issue.message


def test_arm64_on_graviton_and_on_fargate_is_accepted() -> None:
    ec2 = parse_config(
        MINIMAL
        + "image: {platform: linux/arm64}\ncompute: {type: EC2, instance_types: [default_arm64, c7g]}\n"
    )
    fargate = parse_config(MINIMAL + "image: {platform: linux/arm64}\ncompute: {type: FARGATE}\n")

    assert ec2.image.platform == fargate.image.platform == "linux/arm64"
    assert parse_config(MINIMAL).image.platform == "linux/amd64"


def test_platforms_other_than_linux_amd64_and_arm64_are_refused() -> None:
    issue = only_issue(MINIMAL + "image: {platform: linux/386}\n")

    assert at(issue) == (7, "image.platform")


def test_fargate_spot_takes_arm64() -> None:
    # ECS API reference, CapacityProviderStrategyItem: FARGATE_SPOT supports Linux ARM64 tasks on platform version
    # 1.4.0 or later (Batch runs LATEST); older pages said x86_64 only.
    cfg = parse_config(MINIMAL + "image: {platform: linux/arm64}\ncompute: {type: FARGATE_SPOT}\n")

    assert (cfg.compute.type, cfg.image.platform) == ("FARGATE_SPOT", "linux/arm64")
