"""The strict sandbox's IAM evaluation (sandbox/strict/policy.py) decides as AWS's policy evaluation logic does."""

from __future__ import annotations

from typing import Any

import pytest

from batchctl.sandbox.strict.policy import Decision, evaluate

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    ("resource", "decision"),
    [
        (f"{SECRET}-AbC123", Decision.ALLOWED),  # `?` is one character each
        (f"{SECRET}-AbC12", Decision.IMPLICIT_DENY),
        (f"{SECRET}-AbC1234", Decision.IMPLICIT_DENY),
        (SECRET, Decision.IMPLICIT_DENY),
    ],
)
def test_question_marks_match_exactly_one_character(resource: str, decision: Decision) -> None:
    policy = document(allow("secretsmanager:GetSecretValue", f"{SECRET}-??????"))

    assert evaluate([policy], "secretsmanager:GetSecretValue", resource) is decision


def test_action_names_are_case_insensitive_and_resources_are_not() -> None:
    policy = document(allow("SNS:publish", "arn:aws:sns:eu-west-1:123456789012:Topic"))

    assert evaluate([policy], "sns:Publish", "arn:aws:sns:eu-west-1:123456789012:Topic") is Decision.ALLOWED
    assert (
        evaluate([policy], "sns:Publish", "arn:aws:sns:eu-west-1:123456789012:topic")
        is Decision.IMPLICIT_DENY
    )


def test_an_explicit_deny_in_any_document_wins() -> None:
    allowed = document(allow("batch:*", "*"))
    denied = document({"Effect": "Deny", "Action": "batch:SubmitJob", "Resource": "*"})

    assert evaluate([allowed, denied], "batch:SubmitJob", "arn:x") is Decision.EXPLICIT_DENY
    assert evaluate([allowed, denied], "batch:DescribeJobs", "*") is Decision.ALLOWED


def test_nothing_allowed_is_an_implicit_deny() -> None:
    assert evaluate([], "sqs:ReceiveMessage", "arn:q") is Decision.IMPLICIT_DENY
    assert evaluate([document(allow("sqs:SendMessage", "arn:q"))], "sqs:ReceiveMessage", "arn:q") is (
        Decision.IMPLICIT_DENY
    )


def test_not_action_and_not_resource_allow_everything_else() -> None:
    policy = document(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"},
    )

    assert evaluate([policy], "batch:SubmitJob", "arn:x") is Decision.ALLOWED
    assert evaluate([policy], "iam:PassRole", "arn:x") is Decision.IMPLICIT_DENY
    assert evaluate([document(policy["Statement"][1])], "s3:GetObject", "arn:aws:s3:::public/a") is (
        Decision.ALLOWED
    )
    assert evaluate([document(policy["Statement"][1])], "s3:GetObject", "arn:aws:s3:::secret/a") is (
        Decision.IMPLICIT_DENY
    )


def test_a_single_statement_object_and_string_lists_are_read() -> None:
    policy = {"Statement": allow(["sns:Publish", "sqs:SendMessage"], ["arn:a", "arn:b"])}

    assert evaluate([policy], "sqs:SendMessage", "arn:b") is Decision.ALLOWED


def test_a_conditional_allow_is_not_counted() -> None:
    policy = document(allow("sns:Publish", "*") | {"Condition": {"Bool": {"aws:SecureTransport": "true"}}})

    assert evaluate([policy], "sns:Publish", "arn:t") is Decision.IMPLICIT_DENY
