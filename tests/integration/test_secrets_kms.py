"""A secret under a customer-managed KMS key (review 11): after `deploy`, the execution role's policy on the moto
server lets it kms:Decrypt with exactly the keys of `secrets_kms_keys`, and no other role may."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, example_text, write_project

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:/demo/db-AbCdEf"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WITH_SECRET = {
    "    environment:\n      LOG_LEVEL: info\n": (
        f"    environment:\n      LOG_LEVEL: info\n    secrets:\n      DB_PASSWORD: {SECRET_ARN}\n"
    ),
    "notify:\n": f"secrets_kms_keys: ['{KEY}']\n\nnotify:\n",
}


def _kms_grants(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        found += [(a, r) for a in actions if a.startswith("kms:") for r in resources]
    return found


def test_deploy_grants_kms_decrypt_on_exactly_the_listed_key(aws_env: str, boto: Any, tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="kms", **WITH_SECRET))

    deployed = CliRunner().invoke(app, ["-c", str(config), "deploy", "--yes", "--skip-image"], env=ENV)

    assert deployed.exit_code == 0, deployed.output
    iam = boto.client("iam")
    granted: dict[str, list[tuple[str, str]]] = {}
    for role in iam.list_roles()["Roles"]:
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            if _kms_grants(document):
                granted[role["RoleName"]] = _kms_grants(document)
    assert granted == {"demo-kms-execution": [("kms:Decrypt", KEY)]}
