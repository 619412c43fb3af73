"""The pure parts of the runs package: body limits, .jsonl parsing, job lookup, run ids, input sources, Batch job
ids from an execution history, failure causes, and why a Batch job stays RUNNABLE."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from batchctl import asl, runs
from batchctl.config import parse_config
from batchctl.errors import RunError
from batchctl.runs import ComputeEnvironmentView, check_body, parse_jsonl, stuck_reason

CONFIG = """\
version: 1
project: demo
stage: dev
jobs:
  fibonacci:
    command: [python, fib.py, --body, Ref::body]
    queue: {}
  daily-report:
    command: [python, report.py, --time, Ref::time]
    schedule: {cron: "30 21 * * ? *"}
  etl:
    steps:
      - {name: extract, command: [python, extract.py]}
      - {name: load, command: [python, load.py, Ref::body, Ref::body]}
"""
ONE_REF = (("python", "fib.py", "--body", "Ref::body"),)
NO_REF = (("python", "report.py"),)


# ---- body limits ------------------------------------------------------------------------------------------------


def test_small_body_fits_every_limit() -> None:
    body = '{"n": 30}'
    for via_queue in (True, False):
        assert runs.body_problems(body, commands=ONE_REF, via_queue=via_queue) == []
        sizes = runs.measure_body(body, commands=ONE_REF, via_queue=via_queue)
        assert sizes.sqs_message_bytes == len(body) <= runs.SQS_MESSAGE_LIMIT_BYTES
        assert len(body) < sizes.workflow_input_bytes <= runs.STEP_FUNCTIONS_INPUT_LIMIT_BYTES
        assert len(body) < sizes.submit_job_bytes <= runs.SUBMIT_JOB_LIMIT_BYTES
        assert 2 * len(body) < sizes.container_overrides_chars <= runs.CONTAINER_OVERRIDES_LIMIT_CHARS
        check_body(body, commands=ONE_REF, via_queue=via_queue)  # the raising form agrees: no error


def test_body_over_the_overrides_limit_names_only_that_limit() -> None:
    # About 4,000 characters: far below SQS, Step Functions and SubmitJob, but the body travels twice in the
    # container overrides (BATCHCTL_BODY and Ref::body in the command).
    with pytest.raises(RunError) as caught:
        check_body("x" * 4000, commands=ONE_REF)
    message = caught.value.message
    assert "container overrides hold at most 8,192 characters" in message
    assert "SubmitJob" not in message
    assert "SQS message holds" not in message
    assert "Step Functions" not in message
    assert caught.value.hint is not None
    assert "S3" in caught.value.hint


def test_body_over_the_submit_job_limit_names_it() -> None:
    with pytest.raises(RunError) as caught:
        check_body("x" * 20_000, commands=ONE_REF)
    message = caught.value.message
    assert "SubmitJob request holds at most 30,720 bytes (30 KiB)" in message
    assert "container overrides" in message
    assert "SQS message holds" not in message


def test_body_over_the_sqs_and_step_functions_limits_names_all_four() -> None:
    with pytest.raises(RunError) as caught:
        check_body("x" * 300_000, commands=ONE_REF)
    message = caught.value.message
    assert "an SQS message holds at most 262,144 bytes (256 KiB); this one has 300,000" in message
    assert "Step Functions execution input holds at most 262,144 bytes" in message
    assert "SubmitJob" in message
    assert "container overrides" in message


def test_direct_route_has_no_sqs_limit() -> None:
    with pytest.raises(RunError) as caught:
        check_body("x" * 300_000, commands=ONE_REF, via_queue=False)
    assert "SQS" not in caught.value.message
    assert "Step Functions execution input" in caught.value.message


def test_step_functions_input_counts_the_pipe_record_around_the_body() -> None:
    # Fits SQS on its own, but not once wrapped in the SQS record the pipe hands to the workflow.
    body = "x" * (runs.SQS_MESSAGE_LIMIT_BYTES - 100)
    problems = runs.body_problems(body, commands=NO_REF)
    assert not any("SQS message" in p for p in problems)
    assert any("Step Functions execution input" in p for p in problems)


def test_sqs_size_is_in_utf8_bytes() -> None:
    body = "é" * (runs.SQS_MESSAGE_LIMIT_BYTES // 2 + 1)  # 2 bytes each
    assert runs.measure_body(body).sqs_message_bytes == len(body) * 2
    assert any("SQS message holds" in p for p in runs.body_problems(body))


def test_each_ref_body_in_the_command_counts_again() -> None:
    body = "x" * 2000
    none = runs.measure_body(body, commands=(("run",),)).container_overrides_chars
    one = runs.measure_body(body, commands=(("run", "Ref::body"),)).container_overrides_chars
    two = runs.measure_body(body, commands=(("run", "Ref::body", "Ref::body"),)).container_overrides_chars
    assert one - none >= 2000
    assert two - one >= 2000
    check_body(body * 3, commands=NO_REF)  # 6,000 characters once fits
    with pytest.raises(RunError):
        check_body(body * 3, commands=ONE_REF)


def test_json_escaping_counts_toward_the_overrides() -> None:
    plain = runs.measure_body("a" * 1000).container_overrides_chars
    quoted = runs.measure_body('"' * 1000).container_overrides_chars
    assert quoted - plain >= 2000  # each quote is written \" in both places


def test_worst_step_decides() -> None:
    commands = (("extract.py",), ("load.py", "Ref::body", "Ref::body"))
    assert runs.measure_body("x" * 100, commands=commands) == runs.measure_body(
        "x" * 100, commands=commands[1:]
    )


def test_empty_body_and_characters_sqs_refuses() -> None:
    with pytest.raises(RunError, match="cannot be empty"):
        check_body("")
    check_body("", via_queue=False)
    with pytest.raises(RunError, match=r"U\+0001 \(at offset 2\)"):
        check_body("ab\x01c")


def test_check_body_names_where_the_body_came_from() -> None:
    with pytest.raises(RunError, match=r"^bodies.jsonl:7 cannot be sent"):
        check_body("x" * 9000, where="bodies.jsonl:7")


# ---- .jsonl -----------------------------------------------------------------------------------------------------


def test_jsonl_gives_one_message_per_line_with_its_number() -> None:
    messages = parse_jsonl('{"n": 1}\n\n  {"n": 2}  \r\n[3]\n', source="in.jsonl")
    assert [(m.line, m.body) for m in messages] == [(1, '{"n": 1}'), (3, '{"n": 2}'), (4, "[3]")]


def test_jsonl_invalid_line_is_named() -> None:
    with pytest.raises(RunError) as caught:
        parse_jsonl('{"n": 1}\n{"n": 2}\n{"n": \n{"n": 4}\n', source="in.jsonl")
    assert caught.value.message.startswith("in.jsonl:3: not valid JSON")
    assert "nothing was sent" in caught.value.message


def test_jsonl_keeps_a_line_separator_inside_a_string() -> None:
    # U+2028 is legal inside a JSON string; str.splitlines() would cut the line there.
    (message,) = parse_jsonl('{"text": "a\u2028b"}\n', source="in.jsonl")
    assert json.loads(message.body) == {"text": "a\u2028b"}


def test_jsonl_without_messages_is_an_error() -> None:
    with pytest.raises(RunError, match="no messages"):
        parse_jsonl("\n  \n", source="empty.jsonl")


# ---- jobs -------------------------------------------------------------------------------------------------------


def test_unknown_job_lists_the_known_ones_and_a_close_match() -> None:
    cfg = parse_config(CONFIG)
    with pytest.raises(RunError) as caught:
        runs.find_job(cfg, "fibonaci")
    assert "daily-report, etl, fibonacci" in caught.value.message
    assert caught.value.hint == "did you mean 'fibonacci'?"


def test_job_info_from_config() -> None:
    cfg = parse_config(CONFIG)
    fib = runs.find_job(cfg, "fibonacci")
    assert (fib.has_queue, fib.has_schedule, fib.steps) == (True, False, ("main",))
    assert fib.commands == ONE_REF
    etl = runs.find_job(cfg, "etl")
    assert etl.steps == ("extract", "load")
    assert etl.commands[1] == ("python", "load.py", "Ref::body", "Ref::body")
    daily = runs.find_job(cfg, "daily-report")
    assert (daily.has_queue, daily.has_schedule) == (False, True)


def test_job_definitions_follow_naming() -> None:
    from batchctl.naming import AwsContext, Names

    names = Names(project="demo", stage="dev", ctx=AwsContext.placeholder())
    cfg = parse_config(CONFIG)
    assert runs.find_job(cfg, "fibonacci").job_definitions(names) == {"main": "demo-dev-fibonacci"}
    assert runs.find_job(cfg, "etl").job_definitions(names) == {
        "extract": "demo-dev-etl-extract",
        "load": "demo-dev-etl-load",
    }


# ---- runs -------------------------------------------------------------------------------------------------------


def test_run_ids_are_valid_execution_names() -> None:
    run_id = runs.new_run_id(datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    assert re.fullmatch(r"cli-20240501T100000Z-[0-9a-f]{8}", run_id)
    assert runs.new_run_id(datetime(2024, 5, 1, 10, 0, tzinfo=UTC)) != run_id


def test_iso_utc_matches_step_functions_times() -> None:
    assert runs.iso_utc(datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)) == "2024-05-01T10:00:00.123Z"


def test_retry_names_count_from_the_original_run() -> None:
    assert runs.retry_name("abc", 1) == "abc-r1"
    assert runs.retry_name("abc-r1", 2) == "abc-r2"
    long = "x" * 80
    assert runs.retry_name(long, 12) == "x" * 76 + "-r12"
    assert len(runs.retry_name(long, 12)) == runs.EXECUTION_NAME_LIMIT


@pytest.mark.parametrize(
    ("input_text", "source"),
    [
        ('[{"messageId": "m-1", "body": "{}"}]', "queue"),
        (json.dumps(asl.direct_input(body="{}", run_id="r", time="t")), "cli"),
        (asl.scheduled_input(job="daily"), "schedule"),
        ('{"n": 1}', "manual"),
        ('{"time": "2020-09-27T12:31:00Z"}', "manual"),
        ("not json", "unknown"),
        (None, "unknown"),
    ],
)
def test_source_comes_from_the_input_shape(input_text: str | None, source: str) -> None:
    assert runs.source_of_input(input_text) == source


def _event(kind: str, details_key: str, **details: object) -> dict[str, object]:
    return {"type": kind, details_key: details}


def test_batch_job_ids_come_from_the_history_with_their_step() -> None:
    submitted = json.dumps({"JobId": "job-1", "JobName": "x"})
    events = [
        _event("ExecutionStarted", "executionStartedEventDetails", input="{}"),
        _event("TaskStateEntered", "stateEnteredEventDetails", name=asl.run_state_name("extract")),
        _event(
            "TaskSubmitted",
            "taskSubmittedEventDetails",
            resourceType="batch",
            resource="submitJob.sync",
            output=submitted,
        ),
        _event(
            "TaskSucceeded",
            "taskSucceededEventDetails",
            resourceType="batch",
            resource="submitJob.sync",
            output=submitted,
        ),
        _event("TaskStateEntered", "stateEnteredEventDetails", name=asl.run_state_name("load")),
        _event(
            "TaskFailed",
            "taskFailedEventDetails",
            resourceType="batch",
            resource="submitJob.sync",
            error="States.TaskFailed",
            cause=json.dumps({"JobId": "job-2", "Status": "FAILED"}),
        ),
        _event("TaskStateEntered", "stateEnteredEventDetails", name="Notify failure"),
        _event(
            "TaskSubmitted",
            "taskSubmittedEventDetails",
            resourceType="sns",
            resource="publish",
            output='{"JobId": "no"}',
        ),
    ]
    assert runs.batch_jobs_from_history(events) == [("extract", "job-1"), ("load", "job-2")]


def test_summarize_cause_reads_the_describe_jobs_json() -> None:
    cause = json.dumps(
        {
            "JobId": "j",
            "Status": "FAILED",
            "StatusReason": "Essential container in task exited",
            "Attempts": [{"Container": {"ExitCode": 2, "Reason": "boom"}}],
        }
    )
    assert runs.summarize_cause(cause) == "Essential container in task exited; exit code 2; boom"
    assert runs.summarize_cause("plain\n  text") == "plain text"
    assert runs.summarize_cause(None) == ""
    assert runs.summarize_cause("x" * 500, limit=10) == "x" * 9 + "…"


# ---- why a Batch job stays RUNNABLE -----------------------------------------------------------------------------

VALID = ComputeEnvironmentView(
    name="ce", state="ENABLED", status="VALID", type="FARGATE_SPOT", max_vcpus=16, subnets=("subnet-1",)
)


def _reason(
    *,
    vcpus: float | None = 1,
    environments: tuple[ComputeEnvironmentView, ...] = (VALID,),
    queue_state: str = "ENABLED",
    queue_status: str = "VALID",
    assign_public_ip: str | None = "ENABLED",
    public: frozenset[str] = frozenset(),
) -> str | None:
    return stuck_reason(
        job_vcpus=vcpus,
        queue_name="demo-dev-queue",
        queue_state=queue_state,
        queue_status=queue_status,
        queue_status_reason="bad CE" if queue_status == "INVALID" else None,
        environments=environments,
        assign_public_ip=assign_public_ip,
        public_subnets=public,
    )


def test_a_healthy_environment_explains_nothing() -> None:
    assert _reason() is None


def test_more_vcpus_than_the_environment_allows() -> None:
    small = ComputeEnvironmentView(name="ce", state="ENABLED", status="VALID", type="EC2", max_vcpus=2)
    assert _reason(vcpus=4, environments=(small,)) == (
        "the job asks for 4 vCPUs but compute environment ce allows at most 2 (compute.max_vcpus in jobs.yaml)"
    )
    # One environment that can take it is enough.
    assert _reason(vcpus=4, environments=(small, VALID)) is None


def test_invalid_environment_shows_its_status_reason() -> None:
    invalid = ComputeEnvironmentView(
        name="ce",
        state="ENABLED",
        status="INVALID",
        status_reason="not authorized to perform ecs:DescribeClusters",
    )
    assert _reason(environments=(invalid,)) == (
        "compute environment ce is INVALID: not authorized to perform ecs:DescribeClusters"
    )


def test_disabled_environment_and_queue() -> None:
    disabled = ComputeEnvironmentView(name="ce", state="DISABLED", status="VALID")
    assert _reason(environments=(disabled,)) == "compute environment ce is DISABLED"
    assert _reason(queue_state="DISABLED") == "job queue demo-dev-queue is DISABLED: it places no jobs"
    assert _reason(queue_status="INVALID") == "job queue demo-dev-queue is INVALID: bad CE"
    assert _reason(environments=()) == "job queue demo-dev-queue has no compute environment"


def test_fargate_in_public_subnets_without_public_ip() -> None:
    reason = _reason(assign_public_ip="DISABLED", public=frozenset({"subnet-1"}))
    assert reason is not None
    assert "public subnets (subnet-1) without a public IP (assignPublicIp DISABLED)" in reason
    assert "pull the image" in reason
    # A private subnet (with NAT) or a public IP is fine.
    assert _reason(assign_public_ip="DISABLED", public=frozenset()) is None
    assert _reason(assign_public_ip="ENABLED", public=frozenset({"subnet-1"})) is None
    assert "assignPublicIp DISABLED" in (_reason(assign_public_ip=None, public=frozenset({"subnet-1"})) or "")


def test_log_reading_starts_a_minute_before_the_run() -> None:
    started = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert runs.log_start_ms(started) == 1_714_557_600_000 - 60_000
    assert runs.LOG_LOOKBACK_MS == 60_000


def test_every_attempt_of_a_batch_job_has_its_stream_oldest_first() -> None:
    # DescribeJobs of a job in its third attempt: two attempts ended (each a task of its own), one running.
    item = {
        "attempts": [
            {"container": {"logStreamName": "main/default/task-1"}},
            {"container": {}},  # an attempt that never started its container
            {"container": {"logStreamName": "main/default/task-2"}},
        ],
        "container": {"logStreamName": "main/default/task-3"},
    }

    assert runs.batchjobs.log_streams_of(item) == (
        "main/default/task-1",
        "main/default/task-2",
        "main/default/task-3",
    )
    assert runs.batchjobs.log_streams_of({"container": {}}) == ()


def test_array_children_are_named_by_index() -> None:
    parent = runs.BatchJob(job_id="abc", step="load", array_size=3)
    single = runs.BatchJob(job_id="def", step="extract")

    assert runs.batchjobs.array_children([single, parent]) == [
        ("load", "abc:0"),
        ("load", "abc:1"),
        ("load", "abc:2"),
    ]
