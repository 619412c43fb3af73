"""The stage lock's pure parts: its record, which writes count (the version check that stands in for the
compare-and-swap SSM lacks), expiry, and the messages that name the holder."""

from __future__ import annotations

import json
import math

import pytest

from batchctl.errors import BatchctlError, ExitCode
from batchctl.lock import (
    LockHeldError,
    LockRecord,
    is_effective,
    lock_parameter,
    parse_record,
)

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def record(
    *, token: str = "tok-a", write: str = "w1", prev: str = "", expires: float = T0 + 60
) -> LockRecord:
    return LockRecord(
        token=token,
        write=write,
        prev=prev,
        owner="arn:aws:iam::123456789012:user/alice",
        command="deploy --prune",
        host="build-7",
        pid=4242,
        since=T0,
        expires=expires,
    )


def test_lock_parameter_is_per_project_and_stage() -> None:
    assert lock_parameter("shop", "prod") == "/batchctl/shop/prod/lock"


def test_record_round_trips_through_the_parameter_value() -> None:
    original = record(prev="w0")
    value = original.to_value()
    assert len(value) < 4096  # a Standard parameter holds 4 KB
    assert json.loads(value)["format"] == 1
    assert parse_record(value) == original


@pytest.mark.parametrize("value", ["garbage", "[]", '{"token": "x"}', json.dumps({"token": "", "write": ""})])
def test_a_value_batchctl_did_not_write_is_unreadable_and_never_expires(value: str) -> None:
    found = parse_record(value)
    assert not found.readable
    assert found.expires == math.inf
    assert not found.is_expired(T0 + 10**9, grace_s=10)
    assert found.write.startswith("unreadable-")
    assert parse_record(value).write == found.write  # the same value is the same write
    assert "did not write" in found.describe(T0)


def test_a_create_counts_only_as_version_one_replacing_nothing() -> None:
    assert is_effective(record(prev=""), version=1, previous=None)
    # An overwrite that found the parameter deleted creates version 1, replacing nothing its writer read.
    assert not is_effective(record(prev="w0"), version=1, previous=None)


def test_an_overwrite_counts_only_directly_after_the_write_its_writer_read() -> None:
    holder = record(write="w1")
    assert is_effective(record(token="tok-b", write="w2", prev="w1"), version=2, previous=holder)
    # Two writers read w1; the second write follows the first, not w1: it lost the race.
    first = record(token="tok-b", write="w2", prev="w1")
    assert not is_effective(record(token="tok-c", write="w3", prev="w1"), version=3, previous=first)
    # The version before could not be read (deleted meanwhile): the write cannot be shown to count.
    assert not is_effective(record(write="w2", prev="w1"), version=2, previous=None)


def test_an_unreadable_value_always_counts() -> None:
    assert is_effective(parse_record("garbage"), version=7, previous=record())


def test_expiry_waits_for_the_grace_period() -> None:
    held = record(expires=T0 + 60)
    assert not held.is_expired(T0 + 59)
    assert held.is_expired(T0 + 60)
    assert not held.is_expired(T0 + 65, grace_s=10)
    assert held.is_expired(T0 + 70, grace_s=10)


def test_describe_names_who_what_where_since_and_until() -> None:
    text = record(expires=T0 + 60).describe(T0 + 20)
    assert text == (
        "arn:aws:iam::123456789012:user/alice (deploy --prune on build-7, pid 4242) since 2027-01-15 08:00:00 UTC; "
        "expires at 2027-01-15 08:01:00 UTC (in 40s) unless its heartbeat renews it"
    )
    assert record(expires=T0 + 60).describe(T0 + 90).endswith("expired at 2027-01-15 08:01:00 UTC (30s ago)")


def test_to_dict_gives_iso_times() -> None:
    assert record().to_dict() == {
        "readable": True,
        "owner": "arn:aws:iam::123456789012:user/alice",
        "command": "deploy --prune",
        "host": "build-7",
        "pid": 4242,
        "since": "2027-01-15T08:00:00+00:00",
        "expires": "2027-01-15T08:01:00+00:00",
    }


def test_lock_held_error_names_the_holder_and_how_to_get_past_it() -> None:
    error = LockHeldError(project="shop", stage="prod", holder=record(), now=T0 + 5, waited_s=0)
    assert isinstance(error, BatchctlError)
    assert error.exit_code == ExitCode.FAILED
    assert error.message.startswith(
        "shop/prod is locked by arn:aws:iam::123456789012:user/alice (deploy --prune"
    )
    assert "since 2027-01-15 08:00:00 UTC" in error.message
    assert "expires at 2027-01-15 08:01:00 UTC" in error.message
    assert error.hint is not None
    assert "--lock-timeout" in error.hint
    assert "`batchctl unlock`" in error.hint
    waited = LockHeldError(project="shop", stage="prod", holder=record(), now=T0 + 5, waited_s=30)
    assert waited.message.startswith("still locked after waiting 30s: shop/prod is locked by arn:")
    churn = LockHeldError(project="shop", stage="prod", holder=None, now=T0, waited_s=0)
    assert churn.message == "could not take the lock of shop/prod: other commands kept taking it"
