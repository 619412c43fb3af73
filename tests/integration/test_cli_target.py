"""`plan`, `deploy` and `destroy` name what they act on before any change (issue 14 item 3, issue 15 item 7):
project, stage, account, region and profile, as one stderr line and as the `target` of their JSON; AWS_REGION is
honoured when neither --region nor jobs.yaml names a region."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability_support import SMALL, cli

MOTO_ACCOUNT = "123456789012"
HEADER = f"project demo, stage dev: account {MOTO_ACCOUNT}, region eu-west-1, profile default"
TARGET = {
    "project": "demo",
    "stage": "dev",
    "account": MOTO_ACCOUNT,
    "region": "eu-west-1",
    "profile": "default",
}


def small(tmp_path: Path) -> Path:
    config = tmp_path / "jobs.yaml"
    config.write_text(SMALL)
    return config


def test_plan_deploy_and_destroy_name_their_target_before_any_change(aws_env: str, tmp_path: Path) -> None:
    config = small(tmp_path)
    for args in (("plan",), ("deploy", "--yes"), ("plan", "-o", "json"), ("destroy", "--yes", "-o", "json")):
        result = cli(config, *args)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines()[0] == HEADER, (args, result.stderr)
        if "json" in args:
            assert json.loads(result.stdout)["target"] == TARGET, args
        else:
            assert HEADER not in result.stdout  # stdout carries only the result


def test_aws_region_is_used_when_neither_option_nor_jobs_yaml_names_one(aws_env: str, tmp_path: Path) -> None:
    config = small(tmp_path)
    env = {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"}
    result = cli(config, "plan", "-o", "json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"]["region"] == "eu-west-2"
    assert "region eu-west-2," in result.stderr
    chosen = cli(config, "plan", "-o", "json", "--region", "ap-northeast-1", env=env)
    assert json.loads(chosen.stdout)["target"]["region"] == "ap-northeast-1"
