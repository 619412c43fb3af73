"""kms:Decrypt for secrets under customer-managed keys (review 11): the execution role may decrypt with exactly the
keys jobs.yaml lists in `secrets_kms_keys`, and nothing else may."""

from __future__ import annotations

from batchctl import policies
from batchctl.build import build_specs
from batchctl.config import parse_config
from batchctl.naming import AwsContext
from batchctl.specs import Kind
from tests.unit.test_config import MINIMAL
from tests.unit.test_policies import NAMES, SECRET, allowed, grants

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"
CTX = AwsContext(account_id="123456789012", region="eu-west-1")


def test_execution_role_decrypts_with_exactly_the_listed_keys() -> None:
    document = policies.execution_role_policies(
        names=NAMES, image_uri=None, log_group_arns=[], secret_arns=[SECRET], kms_key_arns=[KEY]
    )["execution"]

    assert allowed(document, "kms:Decrypt", KEY)
    assert not allowed(document, "kms:Decrypt", OTHER_KEY)
    assert [r for a, r in grants(document) if a.startswith("kms:")] == [KEY]


def test_execution_role_has_no_kms_grant_without_keys() -> None:
    document = policies.execution_role_policies(
        names=NAMES, image_uri=None, log_group_arns=[], secret_arns=[SECRET]
    )["execution"]

    assert not [a for a, _ in grants(document) if a.startswith("kms:")]


def test_build_passes_secrets_kms_keys_to_the_execution_role_only() -> None:
    cfg = parse_config(MINIMAL + f"    secrets: {{DB: '{SECRET}'}}\n" + f"secrets_kms_keys: ['{KEY}']\n")
    roles = [s for s in build_specs(cfg, CTX) if s.kind is Kind.IAM_ROLE]

    decrypting = [
        role.name
        for role in roles
        for document in role.inline_policies.values()
        if allowed(document, "kms:Decrypt", KEY)
    ]
    assert decrypting == ["demo-dev-execution"]
