"""The pure parts of logtail.py: --since parsing and stream labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batchctl.errors import RunError
from batchctl.logtail import LogEvent, parse_since, stream_label

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86_400), ("1w", 604_800), (" 10M ", 600), ("0m", 0)],
)
def test_durations_count_back_from_now(text: str, seconds_ago: int) -> None:
    assert parse_since(text, now=NOW) == NOW_MS - seconds_ago * 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # no offset: UTC
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_iso_times(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == int(expected.timestamp() * 1000)


@pytest.mark.parametrize("text", ["yesterday", "10 minutes", "-5m", "5y", ""])
def test_bad_since_is_a_run_error_with_a_hint(text: str) -> None:
    with pytest.raises(RunError) as caught:
        parse_since(text, now=NOW)
    assert "--since" in caught.value.message
    assert caught.value.hint is not None
    assert "10m" in caught.value.hint


def test_stream_labels_show_step_and_task() -> None:
    assert stream_label("extract/default/0123456789abcdef") == "extract/01234567"
    assert stream_label("plain-stream") == "plain-stream"


def test_event_time_is_utc() -> None:
    event = LogEvent(timestamp_ms=NOW_MS, ingestion_ms=NOW_MS, event_id="1", stream="s", message="m")
    assert event.time == NOW
