"""naming: console links use the console host of the caller's partition (standard, China, GovCloud)."""

from __future__ import annotations

import json
import re

import pytest

from batchctl import asl
from batchctl.naming import AwsContext, Names

ACCOUNT = "123456789012"
# (partition, region, console origin): the standard partition has a console host per region; China and GovCloud
# have one console host each, with the region in the query string.
PARTITIONS = [
    ("aws", "eu-west-1", "https://eu-west-1.console.aws.amazon.com"),
    ("aws-cn", "cn-north-1", "https://console.amazonaws.cn"),
    ("aws-us-gov", "us-gov-west-1", "https://console.amazonaws-us-gov.com"),
]


def names_in(partition: str, region: str) -> Names:
    return Names(
        project="demo", stage="dev", ctx=AwsContext(account_id=ACCOUNT, region=region, partition=partition)
    )


@pytest.mark.parametrize(("partition", "region", "origin"), PARTITIONS)
def test_execution_url_uses_the_partitions_console_host(partition: str, region: str, origin: str) -> None:
    names = names_in(partition, region)
    arn = names.execution_arn("etl", "run-1")
    assert arn.startswith(f"arn:{partition}:states:{region}:{ACCOUNT}:execution:demo-dev-etl:")

    assert names.console_execution_url(arn) == (
        f"{origin}/states/home?region={region}#/v2/executions/details/{arn}"
    )


@pytest.mark.parametrize(("partition", "region", "origin"), PARTITIONS)
def test_log_group_url_uses_the_partitions_console_host(partition: str, region: str, origin: str) -> None:
    names = names_in(partition, region)
    assert names.console_log_group_url("/batchctl/demo/dev/etl") == (
        f"{origin}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        "$252Fbatchctl$252Fdemo$252Fdev$252Fetl"
    )


@pytest.mark.parametrize(("partition", "region", "origin"), PARTITIONS)
def test_notification_links_in_the_workflow_point_at_the_partitions_console(
    partition: str, region: str, origin: str
) -> None:
    names = names_in(partition, region)
    step = asl.WorkflowStep(
        name="main",
        job_definition_arn=names.job_definition_arn("etl", "main"),
        array_size=None,
        spot_retries=0,
    )
    definition = asl.job_workflow(
        names=names, job="etl", steps=[step], topic_arn=names.topic_arn, compute_type="FARGATE"
    )
    message = definition["States"][asl.SUCCESS_MESSAGE]["Parameters"]

    assert message["log_group_url"].startswith(f"{origin}/cloudwatch/home?region={region}#")
    match = re.fullmatch(r"States\.Format\('(.*)', \$\$\.Execution\.Id\)", message["execution_url.$"])
    assert match
    assert match.group(1).startswith(f"{origin}/states/home?region={region}#")
    text = json.dumps(definition)
    assert [o for _, _, o in PARTITIONS if o in text] == [origin]
