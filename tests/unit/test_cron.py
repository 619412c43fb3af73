"""Next run times of AWS cron and rate expressions, and the triggers `plan` prints."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from batchctl.build import build_triggers
from batchctl.config import load_config
from batchctl.cron import next_runs
from batchctl.naming import AwsContext, Names

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday; 21:00 in Tokyo


def iso(expression: str, zone: str = "UTC", count: int = 3, after: datetime = NOW) -> list[str]:
    return [r.isoformat() for r in next_runs(expression, zone, after=after, count=count)]


def test_daily_tokyo_schedule_runs_at_2130_local() -> None:
    assert iso("cron(30 21 * * ? *)", "Asia/Tokyo") == [
        "2026-11-23T21:30:00+09:00",
        "2026-11-24T21:30:00+09:00",
        "2026-11-25T21:30:00+09:00",
    ]


def test_weekdays_every_15_minutes_in_a_window() -> None:
    assert iso("cron(0/15 9-10 ? * MON-FRI *)", count=2, after=datetime(2026, 11, 21, tzinfo=UTC)) == [
        "2026-11-23T09:00:00+00:00",  # Saturday the 21st and Sunday the 22nd are skipped
        "2026-11-23T09:15:00+00:00",
    ]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 8 L * ? *)", ["2026-11-30T08:00:00+00:00", "2026-12-31T08:00:00+00:00"]),
        ("cron(0 8 ? * 6#3 *)", ["2026-12-18T08:00:00+00:00", "2027-01-15T08:00:00+00:00"]),  # third Friday
        ("cron(0 8 ? * 2L *)", ["2026-11-30T08:00:00+00:00", "2026-12-28T08:00:00+00:00"]),  # last Monday
        ("cron(0 8 15W * ? *)", ["2026-12-15T08:00:00+00:00", "2027-01-15T08:00:00+00:00"]),
        ("cron(0 8 1 JAN,JUL ? 2027)", ["2027-01-01T08:00:00+00:00", "2027-07-01T08:00:00+00:00"]),
    ],
)
def test_special_characters(expression: str, expected: list[str]) -> None:
    assert iso(expression, count=2) == expected


def test_nearest_weekday_moves_off_a_weekend() -> None:
    # 2027-08-15 is a Sunday: 15W runs Monday the 16th.
    runs = iso("cron(0 8 15W * ? *)", count=12)
    assert "2027-08-16T08:00:00+00:00" in runs


def test_a_wall_time_skipped_by_dst_runs_at_the_next_valid_time() -> None:
    # Europe/Berlin skips 02:00-03:00 on 2027-03-28.
    runs = iso("cron(30 2 * * ? *)", "Europe/Berlin", count=1, after=datetime(2027, 3, 28, 0, 0, tzinfo=UTC))
    assert runs == ["2027-03-28T03:30:00+02:00"]


def test_rate_counts_from_now() -> None:
    assert iso("rate(2 hours)", count=2) == ["2026-11-23T14:00:00+00:00", "2026-11-23T16:00:00+00:00"]


def test_a_year_in_the_past_has_no_next_run() -> None:
    assert iso("cron(0 8 1 1 ? 2020)") == []


def test_example_triggers_in_words() -> None:
    cfg = load_config(Path(__file__).resolve().parents[2] / "jobs.yaml")
    names = Names(project=cfg.project, stage=cfg.stage, ctx=AwsContext.placeholder())
    triggers = {t.job: t for t in build_triggers(cfg, names, now=NOW)}
    assert triggers["fibonacci"].kind == "queue"
    assert "SQS queue demo-dev-fibonacci" in triggers["fibonacci"].text
    assert triggers["daily-report"].next_runs[0] == "2026-11-23T21:30:00+09:00"
    assert "cron(30 21 * * ? *) in Asia/Tokyo" in triggers["daily-report"].text
    assert "Mon 2026-11-23 21:30 JST" in triggers["daily-report"].text
    assert triggers["etl"].kind == "direct"
