"""The AWS cron grammar (cron.parse), next run times of cron and rate expressions, and the triggers `plan` prints."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from batchctl.build import build_triggers
from batchctl.config import ScheduleConfig, cron_problem, load_config
from batchctl.cron import CronError, next_runs, parse
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


# ---- the grammar: what AWS accepts is what parse accepts ------------------------------------------------------


def test_last_weekday_of_the_month() -> None:
    # EventBridge accepts LW (Quartz's "last weekday of the month") although its wildcard table lists only L and W.
    # 2027-01-31 is a Sunday and 2027-01-30 a Saturday: LW runs Friday the 29th where L runs on the 31st.
    assert iso("cron(0 8 LW * ? *)") == [
        "2026-11-30T08:00:00+00:00",
        "2026-12-31T08:00:00+00:00",
        "2027-01-29T08:00:00+00:00",
    ]
    assert iso("cron(0 8 L * ? *)")[2] == "2027-01-31T08:00:00+00:00"


def test_last_weekday_moves_back_from_a_saturday() -> None:
    # 2027-07-31 is a Saturday.
    assert iso("cron(0 8 LW JUL ? 2027)", count=1) == ["2027-07-30T08:00:00+00:00"]


def test_config_accepts_lw_as_the_grammar_does() -> None:
    assert cron_problem("0 8 LW * ? *") is None
    assert ScheduleConfig(cron="cron(0 8 LW * ? *)").expression == "cron(0 8 LW * ? *)"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 8 ? * LW *", "day-of-week 'LW': 'LW' is not a number or SUN-style names"),  # LW is a day of month
        # As in Quartz, L, LW and nW stand alone: not in lists.
        ("0 8 LW,15 * ? *", "day-of-month 'LW,15': 'LW' is not a number"),
        ("0 8 32W * ? *", "day-of-month '32W': 32 is outside 1-31"),
        (
            "0 8 * * *",
            "AWS cron has 6 fields (minutes hours day-of-month month day-of-week year), this has 5 "
            "(add a year field, e.g. '*')",
        ),
        ("0 8 * * * *", "exactly one of day-of-month and day-of-week must be '?', e.g. '0 12 * * ? *'"),
        ("0 ? * * ? *", "hours '?': '?' is only allowed in day-of-month or day-of-week"),
        ("0 8 ? * 2#6 *", "day-of-week '2#6': the # occurrence must be 1-5"),
        ("0/60 8 * * ? *", "minutes '0/60': step '60' must be a number from 1 to 59"),
        ("0 8 ² * ? *", "day-of-month '²': '²' is not a number"),
    ],
)
def test_parse_says_which_field_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse(expression)

    assert str(caught.value) == message
    assert cron_problem(expression) == message  # config reports exactly what the grammar says


def test_the_first_bad_field_from_the_left_is_reported() -> None:
    with pytest.raises(CronError, match=r"^hours '24'"):
        parse("0 24 32 * ? 1969")


def test_parse_takes_the_expression_bare_or_as_scheduler_stores_it() -> None:
    wrapped, bare = parse("cron(0 12 1 * ? *)"), parse(" 0 12 1 * ? * ")

    assert (
        (wrapped.minutes, wrapped.hours, wrapped.months)
        == (bare.minutes, bare.hours, bare.months)
        == (
            frozenset({0}),
            frozenset({12}),
            frozenset(range(1, 13)),
        )
    )
    assert iso("cron(0 12 1 * ? *)") == iso("0 12 1 * ? *")


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("0/20", {0, 20, 40}),
        ("5/20", {5, 25, 45}),
        ("10-20/5", {10, 15, 20}),
        ("50-10/5", {50, 55, 0, 5, 10}),  # a wrapping range keeps its step across the end of the hour
        ("1,2,58-59", {1, 2, 58, 59}),
    ],
)
def test_minute_values(field: str, expected: set[int]) -> None:
    assert parse(f"{field} 9 * * ? *").minutes == expected


def test_a_wrapping_weekday_range_keeps_its_step() -> None:
    # FRI-MON/2 is Friday and Sunday (Quartz steps through the wrap); NOW is Monday 2026-11-23.
    assert iso("cron(0 8 ? * FRI-MON/2 *)") == [
        "2026-11-27T08:00:00+00:00",
        "2026-11-29T08:00:00+00:00",
        "2026-12-04T08:00:00+00:00",
    ]


def test_names_are_case_insensitive() -> None:
    assert parse("0 8 ? jan-Mar * *").months == frozenset({1, 2, 3})
    assert iso("cron(0 8 ? * mon-Fri *)", count=5) == iso("cron(0 8 ? * 2-6 *)", count=5)
