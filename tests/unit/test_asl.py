"""asl: the job workflow's structure (DESIGN §4), checked on the dicts and by the real `statelint` linter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from statelint.linter import Linter

from batchctl import asl
from batchctl.naming import AwsContext, Names

NAMES = Names(project="demo", stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1"))
TOPIC = NAMES.topic_arn
OK_LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:on-success"
KO_LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:on-failure"
BATCH_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def step(
    name: str, *, job: str = "etl", array_size: int | None = None, spot_retries: int = 2
) -> asl.WorkflowStep:
    return asl.WorkflowStep(
        name=name,
        job_definition_arn=NAMES.job_definition_arn(job, name),
        array_size=array_size,
        spot_retries=spot_retries,
    )


ONE_STEP = [step("main", job="fibonacci")]
TWO_STEPS = [step("extract"), step("load-data")]
ARRAY = [step("extract"), step("load", array_size=4)]
NO_SPOT = [step("main", spot_retries=0)]

CASES: dict[str, dict[str, Any]] = {
    "one step, topic": {"steps": ONE_STEP, "topic_arn": TOPIC},
    "one step, nothing to notify": {"steps": ONE_STEP, "topic_arn": None},
    "two steps, topic": {"steps": TWO_STEPS, "topic_arn": TOPIC},
    "two steps, no topic": {"steps": TWO_STEPS, "topic_arn": None},
    "array step": {"steps": ARRAY, "topic_arn": TOPIC},
    "no spot retries": {"steps": NO_SPOT, "topic_arn": TOPIC},
    "topic and lambdas": {
        "steps": TWO_STEPS,
        "topic_arn": TOPIC,
        "on_success_lambda": OK_LAMBDA,
        "on_failure_lambda": KO_LAMBDA,
    },
    "lambdas without topic": {"steps": ONE_STEP, "topic_arn": None, "on_success_lambda": OK_LAMBDA},
    "failure lambda only": {"steps": ARRAY, "topic_arn": None, "on_failure_lambda": KO_LAMBDA},
}


def workflow(case: str, *, compute_type: str = "FARGATE_SPOT") -> dict[str, Any]:
    return asl.job_workflow(names=NAMES, job="etl", compute_type=compute_type, **CASES[case])


def transitions(state: dict[str, Any]) -> Iterator[str]:
    """Every state name a state can move to: Next, Default, Choices, Catch."""
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for rule in state.get("Choices", []):
        yield rule["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def reachable(states: dict[str, Any], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(transitions(states[name]))
    return seen


def run_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: state
        for name, state in definition["States"].items()
        if state.get("Resource", "").endswith(":states:::batch:submitJob.sync")
    }


def resolve(document: Any, path: str) -> Any:
    """Resolve a simple `$.a.b` path (all the normalizers use on object inputs)."""
    assert path.startswith("$.")
    for part in path[2:].split("."):
        document = document[part]
    return document


MISSING = object()


def lookup(document: Any, path: str) -> Any:
    """Resolve `$`, `$.a.b`, `$[0]` or `$[0].a` as a Choice rule does; MISSING where nothing is there."""
    assert path.startswith("$")
    for part in re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]", path[1:]):
        name, index = part
        if name and isinstance(document, dict) and name in document:
            document = document[name]
        elif index and isinstance(document, list) and int(index) < len(document):
            document = document[int(index)]
        else:
            return MISSING
    return document


def string_matches(pattern: str, value: str) -> bool:
    """ASL StringMatches: `*` is any run of characters; a backslash makes the next character literal."""
    regex, escaped = "", False
    for char in pattern:
        if escaped or char not in "*\\":
            regex, escaped = regex + re.escape(char), False
        elif char == "\\":
            escaped = True
        else:
            regex += ".*"
    return re.fullmatch(regex, value, re.DOTALL) is not None


def rule_holds(rule: dict[str, Any], document: Any) -> bool:
    """Evaluate the Choice rule operators our definitions use, as the engine does."""
    if "And" in rule:
        return all(rule_holds(r, document) for r in rule["And"])
    if "Or" in rule:
        return any(rule_holds(r, document) for r in rule["Or"])
    value = lookup(document, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not MISSING) == rule["IsPresent"]
    assert value is not MISSING, f"a comparison on a missing path fails the execution: {rule}"
    if "IsString" in rule:
        return isinstance(value, str) == rule["IsString"]
    if "StringEquals" in rule:
        return bool(value == rule["StringEquals"])
    if "StringMatches" in rule:
        return isinstance(value, str) and string_matches(rule["StringMatches"], value)
    if "NumericLessThan" in rule:
        return bool(value < rule["NumericLessThan"])
    raise AssertionError(f"operator not emulated: {rule}")


def choice(*rules: tuple[str, str, Any, str], default: str) -> dict[str, Any]:
    """The Choice state ASL writes for (variable, operator, value, next state) rules and a default."""
    return {
        "Type": "Choice",
        "Choices": [{"Variable": v, operator: value, "Next": then} for v, operator, value, then in rules],
        "Default": default,
    }


def route(states: dict[str, Any], start: str, document: Any) -> str:
    """Follow Choice states from `start` on `document`; the first state that is not a Choice."""
    name = start
    while states[name]["Type"] == "Choice":
        choice = states[name]
        name = next((r["Next"] for r in choice["Choices"] if rule_holds(r, document)), choice["Default"])
    return name


# ---- structure ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_every_transition_targets_a_real_state(case: str) -> None:
    definition = workflow(case)
    states = definition["States"]
    assert definition["StartAt"] in states
    for name, state in states.items():
        for target in transitions(state):
            assert target in states, f"{name} → {target}"
        # Every path ends in Succeed or Fail: no End on a Task or Pass.
        if state["Type"] in {"Succeed", "Fail"}:
            assert not list(transitions(state))
        else:
            assert list(transitions(state)), name
            assert "End" not in state
    assert reachable(states, definition["StartAt"]) == set(states)


@pytest.mark.parametrize("case", CASES)
def test_statelint_accepts_the_definition(case: str) -> None:
    assert Linter.validate(workflow(case)) == []


def test_statelint_catches_a_broken_definition() -> None:
    # The oracle works: the same linter rejects a definition with a dangling transition.
    definition = workflow("two steps, topic")
    definition["States"]["Run extract"]["Next"] = "Run nowhere"
    problems = Linter.validate(definition)
    assert any("Run nowhere" in p for p in problems)


@pytest.mark.parametrize("case", CASES)
def test_definition_is_json_and_deterministic(case: str) -> None:
    first = json.dumps(workflow(case), sort_keys=True)
    assert first == json.dumps(workflow(case), sort_keys=True)
    assert json.loads(first) == workflow(case)


@pytest.mark.parametrize("case", CASES)
def test_state_names_fit_the_limit(case: str) -> None:
    assert all(len(name) <= 80 for name in workflow(case)["States"])


def test_steps_run_in_order() -> None:
    states = workflow("two steps, topic")["States"]
    assert states["From CLI"]["Next"] == "Run extract"
    assert states["Run extract"]["Next"] == "Run load-data"
    assert states["Run load-data"]["Next"] == asl.SUCCESS_MESSAGE


def test_rejects_no_steps_and_duplicate_steps() -> None:
    with pytest.raises(ValueError, match="no steps"):
        asl.job_workflow(compute_type="FARGATE_SPOT", names=NAMES, job="etl", steps=[], topic_arn=None)
    with pytest.raises(ValueError, match="duplicate"):
        asl.job_workflow(
            compute_type="FARGATE_SPOT", names=NAMES, job="etl", steps=[step("a"), step("a")], topic_arn=None
        )


# ---- input normalization -----------------------------------------------------------------------------------
def test_choice_routes_on_the_input_shape() -> None:
    states = workflow("one step, topic")["States"]
    # A pipe's array of SQS records has no $.source; its records have a messageId. review 14: anything that is
    # neither is a person starting a run by hand.
    assert states[asl.NORMALIZE] == choice(
        ("$.source", "IsPresent", True, asl.CHECK_SOURCE),
        ("$[0].messageId", "IsPresent", True, asl.FROM_QUEUE),
        ("$[0]", "IsPresent", True, asl.UNKNOWN_INPUT),
        default=asl.MANUAL_BODY,
    )
    routes = {rule["StringEquals"]: rule["Next"] for rule in states[asl.CHECK_SOURCE]["Choices"]}
    assert routes == {"schedule": asl.FROM_SCHEDULE, "cli": asl.FROM_CLI, "s3": asl.FROM_S3}
    assert states[states[asl.CHECK_SOURCE]["Default"]]["Type"] == "Fail"


@pytest.mark.parametrize(
    ("document", "first"),
    [
        ([{"messageId": "m-1", "body": "{}"}], asl.FROM_QUEUE),
        ({"source": "schedule", "body": "", "time": "t", "id": "s"}, asl.FROM_SCHEDULE),
        ({"source": "cli", "body": "", "time": "t", "id": "c"}, asl.FROM_CLI),
        ({"source": "webhook", "body": "{}"}, asl.UNKNOWN_INPUT),
        ([{"Records": []}], asl.UNKNOWN_INPUT),
        ({"time": "2020-09-27T12:31:00Z"}, asl.MANUAL_NO_BODY),  # the CDK article's console input
        ({}, asl.MANUAL_NO_BODY),
        ("a bare string", asl.MANUAL_NO_BODY),
        ({"body": "n=30"}, asl.MANUAL_TEXT_BODY),
        ({"body": {"a": 1}}, asl.MANUAL_JSON_BODY),
        ({"body": [1, 2]}, asl.MANUAL_JSON_BODY),
        ({"body": 30}, asl.MANUAL_JSON_BODY),
        ({"body": None}, asl.MANUAL_JSON_BODY),
    ],
)
def test_each_input_shape_takes_its_path(document: Any, first: str) -> None:
    assert route(workflow("one step, topic")["States"], asl.NORMALIZE, document) == first


def test_manual_start_takes_its_body_as_a_string() -> None:
    # review 14: a string as is, any other JSON value JSON-encoded (States.JsonToString), else empty.
    states = workflow("one step, topic")["States"]
    assert states[asl.MANUAL_BODY] == choice(
        ("$.body", "IsPresent", False, asl.MANUAL_NO_BODY),
        ("$.body", "IsString", True, asl.MANUAL_TEXT_BODY),
        default=asl.MANUAL_JSON_BODY,
    )
    bodies = {
        asl.MANUAL_NO_BODY: {"input.$": "$", "body": ""},
        asl.MANUAL_TEXT_BODY: {"input.$": "$", "body.$": "$.body"},
        asl.MANUAL_JSON_BODY: {"input.$": "$", "body.$": "States.JsonToString($.body)"},
    }
    for name, parameters in bodies.items():
        assert states[name] == {"Type": "Pass", "Parameters": parameters, "Next": asl.MANUAL_TIME}


@pytest.mark.parametrize(
    ("time", "first"),
    [
        (MISSING, asl.FROM_MANUAL),
        ("2020-09-27T12:31:00Z", asl.FROM_MANUAL_AT),
        ("2020-09-27T12:31:00.250Z", asl.FROM_MANUAL_AT),
        ("2020-09-27T12:31Z", asl.INVALID_TIME),  # no seconds
        ("2020-09-27T12:31:00+09:00", asl.INVALID_TIME),  # not UTC
        ("2020-09-27 12:31:00", asl.INVALID_TIME),
        ("yesterday", asl.INVALID_TIME),
        (1601209860, asl.INVALID_TIME),
        (None, asl.INVALID_TIME),
    ],
)
def test_manual_start_time_is_its_utc_time_or_the_start(time: Any, first: str) -> None:
    states = workflow("one step, topic")["States"]
    assert states[asl.MANUAL_TIME] == choice(
        ("$.input.time", "IsPresent", False, asl.FROM_MANUAL),
        ("$.input.time", "IsString", False, asl.INVALID_TIME),
        ("$.input.time", "StringMatches", "*-*-*T*:*:*Z", asl.FROM_MANUAL_AT),
        default=asl.INVALID_TIME,
    )
    document = {"input": {} if time is MISSING else {"time": time}, "body": ""}
    assert route(states, asl.MANUAL_TIME, document) == first


def test_manual_start_normalizes_to_the_run_record() -> None:
    states = workflow("two steps, topic")["States"]
    for name, time in ((asl.FROM_MANUAL, "$$.State.EnteredTime"), (asl.FROM_MANUAL_AT, "$.input.time")):
        assert states[name]["Type"] == "Pass"
        assert states[name]["Next"] == "Run extract"
        assert states[name]["Parameters"]["run"] == {
            "body.$": "$.body",
            "time.$": f"States.Format('{{}}Z', States.ArrayGetItem(States.StringSplit({time}, '.Z+'), 0))",
            "source": "manual",
            "id.$": "$$.Execution.Name",
        }
    fail = states[asl.INVALID_TIME]
    assert fail["Type"] == "Fail"
    assert fail["Error"] == "batchctl.InvalidTime"
    assert "2020-09-27T12:31:00Z" in fail["Cause"]


def test_direct_input_normalizes_to_the_run_record() -> None:
    states = workflow("one step, topic")["States"]
    document = asl.direct_input(body='{"n": 30}', run_id="r-1", time="2024-05-01T10:00:00Z")
    assert document["source"] == "cli"
    run = states[asl.FROM_CLI]["Parameters"]["run"]
    normalized = {
        k.removesuffix(".$"): resolve(document, v) if k.endswith(".$") else v for k, v in run.items()
    }
    assert normalized == {"body": '{"n": 30}', "time": "2024-05-01T10:00:00Z", "source": "cli", "id": "r-1"}


@pytest.mark.parametrize(
    ("time", "sent"),
    [
        ("2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00Z"),  # what `submit --direct` sent (milliseconds)
        ("2024-05-01T10:00:00.123456Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    ],
)
def test_direct_input_time_has_second_precision(time: str, sent: str) -> None:
    # review 15: a run's time is ISO-8601 UTC with second precision, whatever started it.
    assert asl.direct_input(body="", run_id="r-1", time=time)["time"] == sent


def test_scheduled_input_is_a_json_string_with_scheduler_placeholders() -> None:
    text = asl.scheduled_input(job="daily-report")
    document = json.loads(text)
    assert document["source"] == "schedule"
    assert document["time"] == "<aws.scheduler.scheduled-time>"
    assert document["id"] == "<aws.scheduler.execution-id>"
    states = workflow("one step, topic")["States"]
    run = states[asl.FROM_SCHEDULE]["Parameters"]["run"]
    normalized = {
        k.removesuffix(".$"): resolve(document, v) if k.endswith(".$") else v for k, v in run.items()
    }
    assert normalized == {
        "body": "",
        "time": "<aws.scheduler.scheduled-time>",
        "source": "schedule",
        "id": "<aws.scheduler.execution-id>",
    }
    assert text == asl.scheduled_input(job="daily-report")  # stable, so the schedule diffs clean


def test_queue_input_reads_the_first_sqs_record() -> None:
    state = workflow("one step, topic")["States"][asl.FROM_QUEUE]
    # "$[0]" then "$.body": the string on AWS and on moto ("$[0].body" is a one-element list on moto).
    assert state["InputPath"] == "$[0]"
    assert state["Parameters"]["run"] == {
        "body.$": "$.body",
        # review 15: when the run started, at second precision (AWS: 2026-12-03T17:55:42.123Z; moto:
        # 2026-12-03T17:55:42.123456+00:00; both become 2026-12-03T17:55:42Z).
        "time.$": "States.Format('{}Z', States.ArrayGetItem(States.StringSplit($$.State.EnteredTime, '.Z+'), 0))",
        "source": "queue",
        "id.$": "$.messageId",
    }


@pytest.mark.parametrize(
    "shape", [asl.FROM_QUEUE, asl.FROM_SCHEDULE, asl.FROM_CLI, asl.FROM_MANUAL, asl.FROM_MANUAL_AT]
)
def test_every_shape_prepares_results_and_spot_counters(shape: str) -> None:
    parameters = workflow("two steps, topic")["States"][shape]["Parameters"]
    assert set(parameters) == {"run", "started_at.$", "batch", "spot"}
    assert parameters["batch"] == {}
    assert parameters["spot"] == {"extract": 0, "load_data": 0}
    assert {k.removesuffix(".$") for k in parameters["run"]} == {"body", "time", "source", "id"}


# ---- Batch tasks --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_each_step_submits_a_batch_job_with_run_parameters_and_environment(case: str) -> None:
    definition = workflow(case)
    tasks = run_tasks(definition)
    assert len(tasks) == len(CASES[case]["steps"])
    for spec in CASES[case]["steps"]:
        task = tasks[asl.run_state_name(spec.name)]
        parameters = task["Parameters"]
        assert task["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        assert parameters["JobQueue"] == NAMES.job_queue_arn
        # The name resolves to the latest ACTIVE revision on AWS and on moto.
        assert spec.job_definition_arn.endswith("/" + parameters["JobDefinition"])
        assert BATCH_JOB_NAME.match(parameters["JobName"])
        assert parameters["Parameters"] == {
            "body.$": "$.run.body",
            "time.$": "$.run.time",
            "source.$": "$.run.source",
            "id.$": "$.run.id",
        }
        assert parameters["ContainerOverrides"]["Environment"] == [
            {"Name": "BATCHCTL_BODY", "Value.$": "$.run.body"},
            {"Name": "BATCHCTL_TIME", "Value.$": "$.run.time"},
            {"Name": "BATCHCTL_SOURCE", "Value.$": "$.run.source"},
            {"Name": "BATCHCTL_RUN_ID", "Value.$": "$$.Execution.Name"},
        ]
        if spec.array_size:
            assert parameters["ArrayProperties"] == {"Size": spec.array_size}
        else:
            assert "ArrayProperties" not in parameters
        # review 5: Batch bounds the job (its timeout per attempt, the queue's RUNNABLE cancel); see below.
        assert "TimeoutSeconds" not in task
        # Handlers get each step's whole DescribeJobs result; without one the state keeps the job id only.
        if "lambda" in case:
            assert "ResultSelector" not in task
        else:
            assert task["ResultSelector"] == {"JobId.$": "$.JobId"}
        assert task["ResultPath"].startswith("$.batch.")


def test_a_task_waits_as_long_as_batch_works_on_its_job() -> None:
    # review 5: a step of 1000 children in waves, queued behind other runs, may take longer than any sum of its
    # attempts' timeouts, while Batch is still working. The task has no TimeoutSeconds: Batch's own timeout
    # ends each attempt, and the job queue cancels a job that can never be placed.
    spec = asl.WorkflowStep("main", NAMES.job_definition_arn("j"), array_size=1000, spot_retries=2)
    definition = asl.job_workflow(
        compute_type="FARGATE_SPOT", names=NAMES, job="j", steps=[spec], topic_arn=None
    )
    (task,) = run_tasks(definition).values()
    assert "TimeoutSeconds" not in task
    assert "TimeoutSecondsPath" not in task
    assert "HeartbeatSeconds" not in task
    assert not hasattr(asl, "QUEUE_MARGIN_S")


def test_step_results_use_jsonpath_safe_unique_keys() -> None:
    steps = [step("load-data"), step("load_data"), step("2nd")]
    definition = asl.job_workflow(
        compute_type="FARGATE_SPOT", names=NAMES, job="etl", steps=steps, topic_arn=None
    )
    paths = [t["ResultPath"] for t in run_tasks(definition).values()]
    assert paths == ["$.batch.load_data", "$.batch.load_data_2", "$.batch.step_2nd"]
    assert all(re.fullmatch(r"\$\.batch\.[A-Za-z][A-Za-z0-9_]*", p) for p in paths)


def test_job_names_are_valid_for_batch_even_from_odd_names() -> None:
    names = Names(project="p" * 40, stage="s" * 40, ctx=NAMES.ctx)
    spec = asl.WorkflowStep("step.one", names.job_definition_arn("j", "x"), None, 0)
    (task,) = run_tasks(
        asl.job_workflow(compute_type="FARGATE_SPOT", names=names, job="j" * 60, steps=[spec], topic_arn=None)
    ).values()
    assert BATCH_JOB_NAME.match(task["Parameters"]["JobName"])


def test_partition_follows_the_context() -> None:
    china = Names(project="demo", stage="dev", ctx=AwsContext("123456789012", "cn-north-1", "aws-cn"))
    definition = asl.job_workflow(
        compute_type="FARGATE_SPOT",
        names=china,
        job="etl",
        steps=ONE_STEP,
        topic_arn=china.topic_arn,
        on_success_lambda=OK_LAMBDA,
    )
    resources = {s["Resource"] for s in definition["States"].values() if "Resource" in s}
    assert resources == {
        "arn:aws-cn:states:::batch:submitJob.sync",
        "arn:aws-cn:states:::sns:publish",
        "arn:aws-cn:states:::lambda:invoke",
    }


# ---- Spot reclaims ------------------------------------------------------------------------------------------
# The Cause of a failed `.sync` Batch task is the job's DescribeJobs JSON: AWS writes it compact (as in this
# abridged example from a real execution), moto with ", " and ": " separators.
def batch_cause(status_reason: str, *, body: str = "{}", compact: bool = True) -> str:
    job = {
        "Attempts": [{"Container": {"ExitCode": 137}, "StatusReason": status_reason}],
        "JobName": "demo-dev-etl-load-data",
        "Parameters": {"body": body},
        "Status": "FAILED",
        "StatusReason": status_reason,
    }
    return json.dumps(job, separators=(",", ":") if compact else None)


FARGATE_SPOT_RECLAIM = "Your Spot Task was interrupted."
EC2_HOST_LOST = "Host EC2 (instance i-0123456789abcdef0) terminated."


def reclaim_rule(states: dict[str, Any], step_name: str) -> dict[str, Any]:
    guard, retry = states[f"Check {step_name} reclaim"]["Choices"]
    assert guard == {"Variable": "$.error.Cause", "IsPresent": False, "Next": asl.FAILURE_MESSAGE}
    assert retry["Next"] == f"Count {step_name} reclaim"
    return dict(retry)


def test_spot_reclaim_loops_back_a_bounded_number_of_times() -> None:
    states = workflow("two steps, topic")["States"]
    task = states["Run load-data"]
    first, last = task["Catch"]
    assert first == {
        "ErrorEquals": ["States.TaskFailed"],
        "ResultPath": "$.error",
        "Next": "Check load-data reclaim",
    }
    assert last == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": asl.FAILURE_MESSAGE}

    check = states["Check load-data reclaim"]
    retry = reclaim_rule(states, "load-data")
    assert {"Variable": "$.spot.load_data", "NumericLessThan": 2} in retry["And"]
    assert check["Default"] == asl.FAILURE_MESSAGE

    count = states["Count load-data reclaim"]
    assert count["Next"] == "Run load-data"
    assert count["ResultPath"] == "$.spot"
    # Only this step's counter moves; the others are carried over.
    assert count["Parameters"] == {
        "load_data.$": "States.MathAdd($.spot.load_data, 1)",
        "extract.$": "$.spot.extract",
    }


@pytest.mark.parametrize(
    ("compute_type", "reclaimed", "other"),
    [("FARGATE_SPOT", FARGATE_SPOT_RECLAIM, EC2_HOST_LOST), ("SPOT", EC2_HOST_LOST, FARGATE_SPOT_RECLAIM)],
)
def test_reclaim_check_matches_the_compute_types_own_status_reason(
    compute_type: str, reclaimed: str, other: str
) -> None:
    # review 2: Fargate Spot says "Your Spot Task was interrupted.", EC2 Spot "Host EC2 (instance …) terminated.".
    rule = reclaim_rule(workflow("one step, topic", compute_type=compute_type)["States"], "main")
    for compact in (True, False):
        state = {"spot": {"main": 0}, "error": {"Cause": batch_cause(reclaimed, compact=compact)}}
        assert rule_holds(rule, state), (compute_type, compact)
        state["error"]["Cause"] = batch_cause(other, compact=compact)
        assert not rule_holds(rule, state)
        state["error"]["Cause"] = batch_cause("Essential container in task exited", compact=compact)
        assert not rule_holds(rule, state)
        # The wording inside the run's own data (here the body, JSON-escaped in the Cause) is no reclaim.
        state["error"]["Cause"] = batch_cause("Essential container in task exited", body=reclaimed)
        assert not rule_holds(rule, state)
    exhausted = {"spot": {"main": 2}, "error": {"Cause": batch_cause(reclaimed)}}
    assert not rule_holds(rule, exhausted)


@pytest.mark.parametrize("compute_type", ["FARGATE", "EC2", "FARGATE_SPOT", "SPOT"])
def test_reclaim_check_and_batch_exit_rules_name_the_same_reasons(compute_type: str) -> None:
    # The job definition EXITs on exactly the reasons the workflow then resubmits on (build.py uses these).
    reasons = asl.reclaim_reasons(compute_type)
    states = workflow("one step, topic", compute_type=compute_type)["States"]
    if not reasons:
        assert "Check main reclaim" not in states
        assert states["Run main"]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": asl.FAILURE_MESSAGE}
        ]
        return
    rule = reclaim_rule(states, "main")
    for reason in reasons:
        text = reason.removesuffix("*") + " and the rest of the reason."
        assert rule_holds(rule, {"spot": {"main": 0}, "error": {"Cause": batch_cause(text)}})


def test_reclaim_reasons_per_compute_type() -> None:
    assert asl.reclaim_reasons("FARGATE_SPOT") == ("Your Spot Task was interrupted*",)
    assert asl.reclaim_reasons("SPOT") == ("Host EC2*",)
    assert asl.reclaim_reasons("EC2") == ("Host EC2*",)  # an on-demand instance lost under the job
    assert asl.reclaim_reasons("FARGATE") == ()
    with pytest.raises(ValueError, match="unknown compute type 'GPU'"):
        asl.reclaim_reasons("GPU")


def test_spot_counter_allows_exactly_spot_retries_resubmissions() -> None:
    # Walk the loop as the engine would for a job reclaimed every time: count the resubmissions.
    for retries in (1, 2, 5):
        spec = step("main", spot_retries=retries)
        states = asl.job_workflow(
            names=NAMES, job="etl", steps=[spec], topic_arn=None, compute_type="FARGATE_SPOT"
        )["States"]
        spot, resubmissions, state = {"main": 0}, 0, "Check main reclaim"
        while state == "Check main reclaim":
            _, rule = states[state]["Choices"]
            (limit,) = [c["NumericLessThan"] for c in rule["And"] if "NumericLessThan" in c]
            if spot["main"] < limit:
                spot["main"] += 1  # the Count state's MathAdd(…, 1)
                resubmissions += 1
                assert states[rule["Next"]]["Next"] == "Run main"
            else:
                state = states[state]["Default"]
        assert resubmissions == retries
        assert state == asl.FAILED


def test_no_spot_retries_means_no_reclaim_loop() -> None:
    states = workflow("no spot retries")["States"]
    assert not [name for name in states if "reclaim" in name]
    assert states["Run main"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": asl.FAILURE_MESSAGE}
    ]


# ---- success and failure paths ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_failure_path_ends_in_fail_and_never_succeeds(case: str) -> None:
    states = workflow(case)["States"]
    failure_entries = {c["Next"] for t in run_tasks({"States": states}).values() for c in t["Catch"]}
    failure_entries = {e for e in failure_entries if "reclaim" not in e}
    assert len(failure_entries) == 1
    (entry,) = failure_entries
    assert asl.FAILED in reachable(states, entry)
    assert asl.SUCCEEDED not in reachable(states, entry)
    fail = states[asl.FAILED]
    assert fail["Type"] == "Fail"
    assert fail["CausePath"] == "$.error.Cause"
    assert fail["ErrorPath"] == "States.Format('batchctl.{}', $.error.Error)"


@pytest.mark.parametrize("case", CASES)
def test_tasks_after_normalization_catch_every_error(case: str) -> None:
    for name, state in workflow(case)["States"].items():
        if state["Type"] == "Task":
            assert any(c["ErrorEquals"] == ["States.ALL"] for c in state["Catch"]), name


def test_success_path_notifies_then_calls_the_handler_then_succeeds() -> None:
    states = workflow("topic and lambdas")["States"]
    assert states[asl.SUCCESS_MESSAGE]["Next"] == asl.NOTIFY_SUCCESS
    assert states[asl.NOTIFY_SUCCESS]["Next"] == asl.SUCCESS_HANDLER
    assert states[asl.SUCCESS_HANDLER]["Next"] == asl.SUCCEEDED
    # A failing success notification fails the run: its errors take the failure path.
    for name in (asl.NOTIFY_SUCCESS, asl.SUCCESS_HANDLER):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": asl.FAILURE_MESSAGE}
        ]


def test_failure_notifications_never_hide_the_run_error() -> None:
    states = workflow("topic and lambdas")["States"]
    assert states[asl.FAILURE_MESSAGE]["Next"] == asl.NOTIFY_FAILURE
    assert states[asl.NOTIFY_FAILURE]["Next"] == asl.FAILURE_HANDLER
    assert states[asl.FAILURE_HANDLER]["Next"] == asl.FAILED
    # A failing notification is skipped; $.error (what Fail reports) is left alone.
    assert states[asl.NOTIFY_FAILURE]["Catch"][0]["ResultPath"] == "$.notify_error"
    assert states[asl.NOTIFY_FAILURE]["Catch"][0]["Next"] == asl.FAILURE_HANDLER
    assert states[asl.FAILURE_HANDLER]["Catch"][0] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.notify_error",
        "Next": asl.FAILED,
    }


def test_sns_publishes_the_payload_to_the_topic() -> None:
    states = workflow("two steps, topic")["States"]
    for name in (asl.NOTIFY_SUCCESS, asl.NOTIFY_FAILURE):
        task = states[name]
        assert task["Resource"] == "arn:aws:states:::sns:publish"
        assert task["Parameters"] == {"TopicArn": TOPIC, "Message.$": "$.notification"}
        assert task["ResultPath"] is None


def test_without_topic_there_is_no_sns_state() -> None:
    definition = workflow("two steps, no topic")
    assert "sns:publish" not in json.dumps(definition)
    # Nothing to notify: errors go straight to Fail and success straight to Succeed.
    assert definition["States"]["Run load-data"]["Next"] == asl.SUCCEEDED
    assert definition["States"]["Run extract"]["Catch"][-1]["Next"] == asl.FAILED


def test_lambda_handlers_get_the_payload() -> None:
    states = workflow("topic and lambdas")["States"]
    for name, function in ((asl.SUCCESS_HANDLER, OK_LAMBDA), (asl.FAILURE_HANDLER, KO_LAMBDA)):
        task = states[name]
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert task["Parameters"]["FunctionName"] == function
        payload = task["Parameters"]["Payload"]
        # The notification's fields as before, then what the hand-written handlers got: {state, context}.
        notification = states[asl.SUCCESS_MESSAGE if name == asl.SUCCESS_HANDLER else asl.FAILURE_MESSAGE]
        assert notification["Parameters"].items() <= payload.items()
        assert payload["state.$"] == "$"
        assert payload["context"]["Execution"]["Id.$"] == "$$.Execution.Id"
        assert "Input" not in json.dumps(payload["context"])  # the input is in the state, once
        assert payload["metadata"]["job"] == "etl"
        assert task["ResultPath"] is None
        # The Lambda service's errors are retried as the hand-written workflows did; the function's own never.
        (retry,) = task["Retry"]
        assert set(retry["ErrorEquals"]) == {
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        }
        assert (retry["MaxAttempts"], retry["BackoffRate"], retry["IntervalSeconds"]) == (6, 2.0, 2)


def test_only_configured_handlers_appear() -> None:
    success_only = workflow("lambdas without topic")["States"]
    assert asl.SUCCESS_HANDLER in success_only
    assert asl.FAILURE_HANDLER not in success_only
    assert asl.FAILURE_MESSAGE not in success_only
    failure_only = workflow("failure lambda only")["States"]
    assert asl.FAILURE_HANDLER in failure_only
    assert asl.SUCCESS_MESSAGE not in failure_only


def test_notification_payload_carries_the_design_fields() -> None:
    states = workflow("two steps, topic")["States"]
    success = states[asl.SUCCESS_MESSAGE]["Parameters"]
    failure = states[asl.FAILURE_MESSAGE]["Parameters"]
    assert states[asl.SUCCESS_MESSAGE]["ResultPath"] == "$.notification"
    for message, status in ((success, "SUCCEEDED"), (failure, "FAILED")):
        assert message["project"] == "demo"
        assert message["stage"] == "dev"
        assert message["job"] == "etl"
        assert message["status"] == status
        assert message["run_id.$"] == "$$.Execution.Name"
        assert message["batch_jobs.$"] == "$.batch"
        assert message["started_at.$"] == "$.started_at"
        assert message["finished_at.$"] == "$$.State.EnteredTime"
        assert message["log_group"] == NAMES.log_group("etl")
        assert message["log_group_url"] == NAMES.console_log_group_url(NAMES.log_group("etl"))
    assert failure["error.$"] == "$.error.Error"
    assert failure["cause.$"] == "$.error.Cause"
    assert "error.$" not in success


def test_execution_url_is_the_console_url_of_the_execution() -> None:
    message = workflow("one step, topic")["States"][asl.SUCCESS_MESSAGE]["Parameters"]
    match = re.fullmatch(r"States\.Format\('(.*)', \$\$\.Execution\.Id\)", message["execution_url.$"])
    assert match
    template = match.group(1)
    # States.Format: one unescaped {} placeholder; ' { } \ are escaped with a backslash.
    assert len(re.findall(r"(?<!\\)\{\}", template)) == 1
    arn = NAMES.execution_arn("etl", "run-1")
    rendered = re.sub(r"\\(.)", r"\1", template.replace("{}", "\x00")).replace("\x00", arn)
    assert rendered == NAMES.console_execution_url(arn)
