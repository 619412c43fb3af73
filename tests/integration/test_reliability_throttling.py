"""Throttling storm (DESIGN §8): 30% of all requests (a fixed pseudo-random draw) are answered with the service's
own throttling error; deploy, plan and destroy still finish, converge, and create every resource exactly once;
submit (one body, a .jsonl file, --direct --wait), status and logs tail still answer correctly, and nothing is
sent or started twice.

The throttle is injected at botocore's `before-send` event, per attempt, inside the retry loop: that is where a
real throttle arrives, so botocore's "standard" retry mode (aws.RETRY_CONFIG) sees it. A `before-call` answer
(`(http_response, parsed)` short-circuits the call, see `BaseClient._make_api_call`) is emitted before
`Endpoint._send_request`'s retry loop, so it would never be retried: a situation AWS never produces. As with a real
throttle, the request is not executed.

Time is faked: botocore.endpoint's only use of `time` is the retry backoff sleep, which RetrySleeps records
instead of sleeping (about 50 s of real backoff otherwise).

The run commands are driven through the CLI (CliRunner, in-process) with AWS_ENDPOINT_URL pointing at an
`AwsProxy`: a loopback proxy in front of moto that answers the throttled share itself, in the service's wire
protocol, and forwards the rest; nothing in batchctl or botocore is patched besides the backoff clock.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.endpoint
import pytest
from typer.testing import CliRunner

from batchctl.aws import RETRY_CONFIG
from batchctl.cli import submit as submit_command
from batchctl.cli.app import app
from batchctl.errors import AwsError
from tests.reliability_support import (
    ENV,
    AwsProxy,
    CreateCounter,
    RetrySleeps,
    Throttler,
    deploy,
    destroy,
    example,
    example_text,
    handlers,
    is_mutating,
    leftovers,
    pending,
    plan_for,
    write_project,
)

RATE = 0.3
# aws.RETRY_CONFIG's `max_attempts` (8) allows 9 attempts: a request is let through after 8 throttles in a row, so
# the storm is always one the retries can ride out (see Throttler); the control test below outlasts them.
IN_A_ROW: int = RETRY_CONFIG.retries["max_attempts"]


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> RetrySleeps:
    sleeps = RetrySleeps()
    monkeypatch.setattr(botocore.endpoint, "time", sleeps)
    return sleeps


def test_deploy_plan_destroy_ride_out_a_throttling_storm_and_create_each_resource_once(
    aws: Any, boto: Any, retry_sleeps: RetrySleeps
) -> None:
    cfg = example(stage="storm")
    throttler = Throttler(RATE, seed=20240501, max_in_a_row=IN_A_ROW)
    creates = CreateCounter()
    with (
        handlers(aws, "before-send", throttler),
        handlers(aws, "provide-client-params", creates.remember_params),
        handlers(aws, "after-call", creates),
    ):
        plan, result = deploy(aws, cfg)
        assert result.failed == [], result.failed
        assert len(result.done) == len(plan.pending) > 30

        again, _ = plan_for(aws, cfg)
        assert not again.has_changes, pending(again)

        _, removed = destroy(aws, cfg)
        assert removed.failed == [], removed.failed

    sent = sum(throttler.sent.values())
    throttled = sum(throttler.throttled.values())
    print(
        f"throttling (deploy/plan/destroy): {sent} requests, {throttled} throttled, "
        f"{sum(creates.created.values())} successful creates for {len(plan.pending)} planned"
    )
    # The storm really happened: about 30% of several hundred requests, reads and writes of every service.
    assert sent > 300
    assert 0.2 < throttled / sent < 0.4, (throttled, sent)
    assert sum(n for op, n in throttler.throttled.items() if is_mutating(op)) > 20, throttler.throttled
    assert len({op for op in throttler.throttled if op.startswith(("Create", "Register"))}) >= 5
    # Every service's protocol was exercised (service ids as botocore names them in events).
    services = {"iam", "ec2", "ecr", "cloudwatch-logs", "sqs", "sns", "sfn", "batch", "pipes", "scheduler"}
    assert services <= set(throttler.throttled_services), throttler.throttled_services
    # botocore backed off once per throttle (none ran out of attempts), with the throttling base of 1 s.
    assert len(retry_sleeps.delays) == throttled
    assert max(retry_sleeps.delays) > 0.1

    twice = {key: n for key, n in creates.created.items() if n > 1}
    assert twice == {}, f"created more than once: {twice}"
    created_names = {name for _, name in creates.created}
    missing = [c.key.name for c in plan.pending if c.key.name not in created_names]
    assert missing == [], f"no successful create seen for {missing}"
    assert leftovers(boto, "demo", "storm") == []


def test_a_throttle_that_outlasts_the_retries_is_reported_not_swallowed(
    aws: Any, retry_sleeps: RetrySleeps
) -> None:
    """Control for the test above: with every request throttled, botocore gives up and our error names it."""
    throttler = Throttler(1.0, seed=1)
    with handlers(aws, "before-send", throttler), pytest.raises(AwsError) as raised:
        aws.call("logs", "describe_log_groups", key="logs.log_group/x")
    assert raised.value.code == "ThrottlingException"
    assert "logs DescribeLogGroups failed for logs.log_group/x" in raised.value.message
    # aws.RETRY_CONFIG's `max_attempts: 8` counts retries (botocore.config): 1 + 8 attempts, 8 backoffs.
    assert throttler.sent["DescribeLogGroups"] == 9
    assert len(retry_sleeps.delays) == 8


def _drain(boto: Any, url: str) -> list[str]:
    """Every body in the queue (each received once, then deleted)."""
    sqs = boto.client("sqs")
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        bodies += [m["Body"] for m in got]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )


def test_submit_status_and_logs_tail_ride_out_a_throttling_storm_and_send_each_message_once(
    aws: Any,
    boto: Any,
    aws_env: str,
    tmp_path: Path,
    retry_sleeps: RetrySleeps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stage = "stormrun"
    cfg = example(stage=stage)
    _, deployed = deploy(aws, cfg)  # no storm here: the test above covers deploy
    assert deployed.failed == []
    config = write_project(tmp_path, example_text(stage=stage))
    bodies = [json.dumps({"n": n}) for n in range(25)]
    (tmp_path / "bodies.jsonl").write_text("\n".join(bodies) + "\n")
    group = f"/batchctl/demo/{stage}/fibonacci"
    logs = boto.client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName="main/default/storm")
    now_ms = int(time.time() * 1000)
    lines = [f"line {i}" for i in range(30)]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="main/default/storm",
        logEvents=[{"timestamp": now_ms - 1000 + i, "message": m} for i, m in enumerate(lines)],
    )
    monkeypatch.setattr(submit_command, "POLL_S", 0.05)

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, ["-c", str(config), *args], env=ENV)
        assert "Traceback" not in result.output
        return result

    with AwsProxy(aws_env, rate=RATE, seed=7, max_in_a_row=IN_A_ROW) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        one = run("submit", "fibonacci", "--body", '{"n": 99}')
        assert one.exit_code == 0, one.output
        many = run("submit", "fibonacci", "--body-file", str(tmp_path / "bodies.jsonl"))
        assert many.exit_code == 0, many.output
        assert many.stdout.strip() == "sent 25, failed 0"
        direct = run("-o", "json", "submit", "fibonacci", "--direct", "--wait", "--body", '{"n": 7}')
        assert direct.exit_code == 0, direct.output
        run_id = json.loads(direct.stdout)["run_id"]
        status = run("-o", "json", "status", "fibonacci")
        assert status.exit_code == 0, status.output
        tail = run("-o", "json", "logs", "tail", "fibonacci", "--since", "1h")
        assert tail.exit_code == 0, tail.output
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)  # check the result with moto itself

    # Each command's answer is complete and exact.
    (listed,) = [r for r in json.loads(status.stdout)["runs"] if r["run_id"] == run_id]
    assert listed["status"] == "SUCCEEDED"
    assert [e["message"] for e in json.loads(tail.stdout)["events"]] == lines
    # Nothing was sent or started twice: a throttled request is not executed, and its retry is the only copy.
    queued = _drain(boto, boto.client("sqs").get_queue_url(QueueName=f"demo-{stage}-fibonacci")["QueueUrl"])
    assert Counter(queued) == Counter([*bodies, '{"n": 99}'])
    sfn = boto.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"]
    (arn,) = [m["stateMachineArn"] for m in machine if m["name"] == f"demo-{stage}-fibonacci"]
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [run_id]

    sent = sum(proxy.sent.values())
    throttled = sum(proxy.throttled.values())
    drawn = throttled - proxy.forced
    print(
        f"throttling (run commands): {sent} requests, {throttled} throttled ({proxy.forced} as the first request "
        f"of their operation, {drawn} of the other {sent - proxy.forced} drawn at {RATE:.0%}), "
        f"{len(queued)} messages queued, 1 execution"
    )
    assert 0.15 < drawn / (sent - proxy.forced) < 0.45, (drawn, sent, proxy.forced)
    # The writes that must not be duplicated were themselves throttled at least once.
    for operation in ("sqs:SendMessage", "sqs:SendMessageBatch", "states:StartExecution"):
        assert proxy.throttled[operation] >= 1, (operation, proxy.throttled)
    assert {"sqs", "states", "logs", "sts"} <= {op.split(":")[0] for op in proxy.throttled}, proxy.throttled
    assert len(retry_sleeps.delays) == throttled  # one backoff per throttle: no call ran out of attempts
