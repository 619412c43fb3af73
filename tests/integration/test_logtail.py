"""logtail.py against the moto server: finding a job's log group, reading events merged in time order across
streams, --since/--filter/--step/--run narrowing, paging without duplicates, following, throttling."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import ANY, Stubber

from batchctl import logtail
from batchctl.errors import RunError
from batchctl.logtail import LogEvent, Tailer
from batchctl.naming import Names

NOW_MS = int(datetime.now(UTC).timestamp() * 1000)


@pytest.fixture
def names(aws: Any) -> Names:
    return Names(project=f"t{uuid4().hex[:8]}", stage="dev", ctx=aws.context())


def _group(boto: Any, names: Names, job: str = "fib") -> str:
    group = names.log_group(job)
    boto.client("logs").create_log_group(logGroupName=group)
    return group


def _write(boto: Any, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    logs = boto.client("logs")
    existing = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]
    if not any(s["logStreamName"] == stream for s in existing):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": NOW_MS + offset, "message": message} for offset, message in events],
    )


def _read(aws: Any, group: str, **options: Any) -> list[LogEvent]:
    events: list[LogEvent] = []
    logtail.tail(aws, group, on_event=events.append, **({"start_ms": NOW_MS - 60_000} | options))
    return events


def _two_streams(boto: Any, group: str) -> None:
    _write(boto, group, "main/default/aaaa1111", [(0, "a0 start"), (20, "a2 ERROR disk"), (40, "a4 done")])
    _write(boto, group, "main/default/bbbb2222", [(10, "b1 start"), (30, "b3 ERROR net"), (50, "b5 done")])


def test_two_streams_come_out_merged_in_time_order(aws: Any, boto: Any, names: Names) -> None:
    group = _group(boto, names)
    _two_streams(boto, group)
    events = _read(aws, group)
    assert [e.message for e in events] == [
        "a0 start",
        "b1 start",
        "a2 ERROR disk",
        "b3 ERROR net",
        "a4 done",
        "b5 done",
    ]
    # Lines get a stream label once a second stream has shown.
    assert [e.many_streams for e in events] == [False, True, True, True, True, True]
    assert {e.stream for e in events} == {"main/default/aaaa1111", "main/default/bbbb2222"}


def test_since_and_filter_narrow_the_events(aws: Any, boto: Any, names: Names) -> None:
    group = _group(boto, names)
    _two_streams(boto, group)
    assert [e.message for e in _read(aws, group, start_ms=NOW_MS + 25)] == [
        "b3 ERROR net",
        "a4 done",
        "b5 done",
    ]
    assert [e.message for e in _read(aws, group, filter_pattern="ERROR")] == ["a2 ERROR disk", "b3 ERROR net"]
    assert [e.message for e in _read(aws, group, filter_pattern="ERROR", start_ms=NOW_MS + 25)] == [
        "b3 ERROR net"
    ]


def test_small_pages_give_every_event_once(aws: Any, boto: Any, names: Names, recorder: Any) -> None:
    group = _group(boto, names)
    _two_streams(boto, group)
    # Two events at the same millisecond on different streams, at a page boundary.
    _write(boto, group, "main/default/cccc3333", [(20, "c2 same time")])
    events = _read(aws, group, page_limit=2)
    assert len(events) == 7
    assert len({e.event_id for e in events}) == 7
    assert [e.timestamp_ms for e in events] == sorted(e.timestamp_ms for e in events)
    assert recorder.calls.count("logs:FilterLogEvents") == 4


def test_a_full_first_page_reads_the_rest_in_time_slices_once_and_in_order(
    aws: Any, boto: Any, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Scaled down: a first page of 3 events counts as full, the rest of the range is cut in 4 slices.
    monkeypatch.setattr(logtail, "SLICE_AFTER_EVENTS", 3)
    monkeypatch.setattr(logtail, "TIME_SLICES", 4)
    monkeypatch.setattr(logtail, "MIN_SLICE_MS", 1)
    group = _group(boto, names)
    offsets = range(-50_000, 0, 2_500)  # 20 events over the last 50 s, alternating streams, two at one time
    _write(boto, group, "main/default/aaaa1111", [(o, f"a {o}") for o in offsets[::2]])
    _write(
        boto, group, "main/default/bbbb2222", [(o, f"b {o}") for o in offsets[1::2]] + [(-2_500, "b same")]
    )
    queries: list[dict[str, object]] = []
    original = logtail.Tailer._filter

    def spy(self: Tailer, params: dict[str, object], **options: Any) -> Any:
        queries.append(params)
        return original(self, params, **options)

    monkeypatch.setattr(logtail.Tailer, "_filter", spy)
    events = _read(aws, group, page_limit=3)
    assert len(events) == 21
    assert len({e.event_id for e in events}) == 21
    assert [e.timestamp_ms for e in events] == sorted(e.timestamp_ms for e in events)
    # One page over the whole range, then 4 slices: 3 closed (endTime), the last open.
    assert "endTime" not in queries[0]
    slice_starts = {q["startTime"] for q in queries[1:]}
    assert len(slice_starts) == 4
    assert sum(1 for q in queries[1:] if "endTime" in q and "nextToken" not in q) == 3


def test_step_and_streams_narrow_to_those_streams(aws: Any, boto: Any, names: Names) -> None:
    group = _group(boto, names, "etl")
    _write(boto, group, "extract/default/1111", [(0, "extracting")])
    _write(boto, group, "load/default/2222", [(10, "loading")])
    _write(boto, group, "loader/default/3333", [(20, "not a step of ours")])
    assert [e.message for e in _read(aws, group, stream_prefix="load/")] == ["loading"]
    assert [e.message for e in _read(aws, group, streams=lambda: ["extract/default/1111"])] == ["extracting"]


def test_run_streams_that_do_not_exist_yet_read_as_nothing(
    aws: Any, boto: Any, names: Names, recorder: Any
) -> None:
    group = _group(boto, names)
    _two_streams(boto, group)
    assert _read(aws, group, streams=lambda: []) == []
    assert "logs:FilterLogEvents" not in recorder.calls
    assert _read(aws, group, streams=lambda: ["main/default/not-running-yet"]) == []


def test_a_stream_that_shows_up_late_is_read_from_the_start(aws: Any, boto: Any, names: Names) -> None:
    group = _group(boto, names)
    _two_streams(boto, group)
    known = ["main/default/bbbb2222"]
    events: list[LogEvent] = []
    tailer = Tailer(
        aws=aws, group=group, start_ms=NOW_MS - 60_000, on_event=events.append, streams=lambda: known
    )
    tailer.poll()
    assert [e.message for e in events] == ["b1 start", "b3 ERROR net", "b5 done"]
    known.append("main/default/aaaa1111")  # its job started running after the other's last line
    tailer.poll()
    assert [e.message for e in events][3:] == ["a0 start", "a2 ERROR disk", "a4 done"]


def test_a_stream_asked_for_before_it_existed_is_read_from_the_start(
    aws: Any, boto: Any, names: Names
) -> None:
    group = _group(boto, names)
    _write(boto, group, "main/default/bbbb2222", [(10, "b1 start"), (50, "b5 done")])
    known = ["main/default/bbbb2222", "main/default/aaaa1111"]  # a's job has not started: no stream yet
    events: list[LogEvent] = []
    tailer = Tailer(
        aws=aws, group=group, start_ms=NOW_MS - 60_000, on_event=events.append, streams=lambda: known
    )
    tailer.poll()
    assert [e.message for e in events] == ["b1 start", "b5 done"]
    # a's first lines are older than b's newest: each stream resumes from its own position, not from b's.
    _write(boto, group, "main/default/aaaa1111", [(0, "a0 start"), (20, "a2 work")])
    tailer.poll()
    assert [e.message for e in events][2:] == ["a0 start", "a2 work"]
    tailer.poll()
    assert len(events) == 4


def test_each_stream_keeps_its_own_position(aws: Any, boto: Any, names: Names) -> None:
    group = _group(boto, names)
    _two_streams(boto, group)  # a: 0, 20, 40; b: 10, 30, 50
    streams = ["main/default/aaaa1111", "main/default/bbbb2222"]
    events: list[LogEvent] = []
    tailer = Tailer(
        aws=aws, group=group, start_ms=NOW_MS - 60_000, on_event=events.append, streams=lambda: streams
    )
    tailer.poll()
    assert len(events) == 6
    # a writes a line at 45: after a's own newest line (40), before b's (50). It must not be lost.
    _write(boto, group, "main/default/aaaa1111", [(45, "a4.5 late")])
    tailer.poll()
    assert [e.message for e in events][6:] == ["a4.5 late"]
    tailer.poll()
    assert len(events) == 7


def test_follow_shows_a_new_event_once(aws: Any, boto: Any, names: Names) -> None:
    group = _group(boto, names)
    _write(boto, group, "main/default/aaaa1111", [(0, "first")])
    events: list[LogEvent] = []
    stop = threading.Event()
    passes = threading.Semaphore(0)

    def pause(_seconds: float) -> None:
        passes.release()
        stop.wait(0.02)

    thread = threading.Thread(
        target=logtail.tail,
        args=(aws, group),
        kwargs={
            "start_ms": NOW_MS - 60_000,
            "on_event": events.append,
            "follow": True,
            "stop_event": stop,
            "sleep": pause,
        },
    )
    thread.start()
    try:
        assert passes.acquire(timeout=10)
        _write(boto, group, "main/default/aaaa1111", [(5, "second")])
        deadline = time.monotonic() + 10
        while len(events) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # A few more passes, each starting at the newest timestamp: nothing is printed twice.
        for _ in range(3):
            assert passes.acquire(timeout=10)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [e.message for e in events] == ["first", "second"]


def test_follow_backs_off_when_throttled(aws: Any) -> None:
    client = aws.client("logs")
    slept: list[float] = []
    events: list[LogEvent] = []
    page = {
        "events": [
            {
                "logStreamName": "main/default/a",
                "timestamp": NOW_MS,
                "message": "hello",
                "ingestionTime": NOW_MS,
                "eventId": "1",
            }
        ]
    }
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error(
                "filter_log_events", service_error_code="ThrottlingException", http_status_code=400
            )
        stub.add_response(
            "filter_log_events",
            page,
            {"logGroupName": "/g", "startTime": ANY, "limit": 10000, "interleaved": True},
        )
        logtail.tail(aws, "/g", start_ms=0, on_event=events.append, sleep=slept.append)
        stub.assert_no_pending_responses()
    assert [e.message for e in events] == ["hello"]
    assert slept == [1.0, 2.0, 4.0]


def test_throttling_that_does_not_stop_is_an_error(aws: Any) -> None:
    client = aws.client("logs")
    with Stubber(client) as stub:
        for _ in range(logtail.THROTTLE_MAX_RETRIES + 1):
            stub.add_client_error(
                "filter_log_events", service_error_code="ThrottlingException", http_status_code=400
            )
        with pytest.raises(logtail.AwsError, match="ThrottlingException"):
            logtail.tail(aws, "/g", start_ms=0, on_event=lambda _e: None, sleep=lambda _s: None)


def test_a_missing_log_group_is_a_clear_error(aws: Any, names: Names) -> None:
    with pytest.raises(RunError, match="does not exist"):
        _read(aws, names.log_group("fib"))


# ---- where the logs are ---------------------------------------------------------------------------------------


def _definition(boto: Any, name: str, *, group: str | None, prefix: str | None = "main") -> None:
    options = {k: v for k, v in {"awslogs-group": group, "awslogs-stream-prefix": prefix}.items() if v}
    properties: dict[str, Any] = {"image": "busybox", "vcpus": 1, "memory": 512}
    if group or prefix:
        properties["logConfiguration"] = {"logDriver": "awslogs", "options": options}
    boto.client("batch").register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=properties
    )


def test_log_group_comes_from_the_latest_active_job_definition(aws: Any, boto: Any, names: Names) -> None:
    logs = boto.client("logs")
    for group in ("/custom/old", "/custom/new"):
        logs.create_log_group(logGroupName=group)
    name = names.job_definition("fib")
    _definition(boto, name, group="/custom/old")
    _definition(boto, name, group="/custom/new", prefix="step")
    source = logtail.resolve_log_source(aws, names, job="fib", definitions={"main": name})
    assert (source.group, source.origin, dict(source.stream_prefixes)) == (
        "/custom/new",
        "job definition",
        {"main": "step"},
    )


def test_log_group_falls_back_to_ours_then_to_batchs(aws: Any, boto: Any, names: Names) -> None:
    name = names.job_definition("fib")
    with pytest.raises(
        RunError,
        match=f"no log group found for job 'fib' \\(tried {names.log_group('fib')}, /aws/batch/job\\)",
    ):
        logtail.resolve_log_source(aws, names, job="fib", definitions={"main": name})
    boto.client("logs").create_log_group(logGroupName="/aws/batch/job")
    _definition(
        boto, name, group=None, prefix=None
    )  # no awslogs options: Batch's default group and stream names
    source = logtail.resolve_log_source(aws, names, job="fib", definitions={"main": name})
    assert (source.group, source.origin, dict(source.stream_prefixes)) == (
        "/aws/batch/job",
        "Batch default",
        {"main": name},
    )
    _group(boto, names)
    assert logtail.resolve_log_source(
        aws, names, job="fib", definitions={"main": name}
    ).group == names.log_group("fib")
