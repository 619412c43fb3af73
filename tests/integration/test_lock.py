"""The stage lock against the moto server: create-if-absent, waiting, heartbeat, takeover of an expired lock,
unlock, release that never deletes another holder's lock, and contention from many threads at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
from typer.testing import CliRunner

from batchctl.aws import Aws
from batchctl.cli import app as cli_app
from batchctl.cli.context import CliState
from batchctl.cli.unlock import stage_lock
from batchctl.lock import (
    LockChangedError,
    LockHeldError,
    LockLostError,
    LockRecord,
    StageLock,
    break_lock,
    lock_parameter,
    read_lock,
)
from batchctl.ui import Output, Ui

MOTO_ARN = "arn:aws:sts::123456789012:user/moto"  # what moto's GetCallerIdentity answers


class FakeTime:
    """An injected wall clock; sleeping advances it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def project() -> str:
    return f"t{uuid4().hex[:8]}"


def make_lock(
    aws: Aws, project: str, *, command: str = "deploy", notices: list[str] | None = None, **options: Any
) -> StageLock:
    sink: Callable[[str], None] = notices.append if notices is not None else lambda _m: None
    return StageLock(aws, project=project, stage="dev", command=command, on_notice=sink, **options)


def fresh_aws() -> Aws:
    """An Aws of its own (own Session, own clients), as another process would have; clients made now, so that
    threads given one contend on the lock rather than on building clients."""
    own = Aws(boto3.Session())
    own.client("ssm")
    own.client("sts")
    return own


def run_holding(lock: StageLock, body: Callable[[], None]) -> None:
    """Run `body` while holding `lock`, as a command does."""
    with lock:
        body()


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run `target(0)` … `target(count - 1)` in threads at once; wait for all."""
    workers = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)


def stored(boto: Any, project: str) -> tuple[int, dict[str, Any]]:
    parameter = boto.client("ssm").get_parameter(Name=lock_parameter(project, "dev"))["Parameter"]
    return int(parameter["Version"]), json.loads(parameter["Value"])


def exists(boto: Any, project: str) -> bool:
    ssm = boto.client("ssm")
    try:
        ssm.get_parameter(Name=lock_parameter(project, "dev"))
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


# ---- acquire and release -------------------------------------------------------------------------------------
def test_acquire_creates_the_tagged_parameter_naming_the_holder_and_release_deletes_it(
    aws: Aws, boto: Any, project: str
) -> None:
    lock = make_lock(aws, project, command="deploy --prune", heartbeat_s=0)
    held = lock.acquire()
    version, value = stored(boto, project)
    assert version == 1
    assert value["token"] == lock.token == held.token
    assert value["owner"] == MOTO_ARN
    assert value["command"] == "deploy --prune"
    assert value["pid"] > 0
    assert value["host"]
    assert value["expires"] - value["since"] == pytest.approx(60)
    tags = boto.client("ssm").list_tags_for_resource(
        ResourceType="Parameter", ResourceId=lock_parameter(project, "dev")
    )["TagList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"batchctl:project": project, "batchctl:stage": "dev"}
    assert lock.release() is True
    assert not exists(boto, project)


def test_a_second_command_fails_at_once_naming_the_holder(aws: Aws, boto: Any, project: str) -> None:
    first = make_lock(aws, project, command="destroy", heartbeat_s=0)
    first.acquire()
    before = stored(boto, project)
    with pytest.raises(LockHeldError) as caught:
        make_lock(fresh_aws(), project, heartbeat_s=0).acquire()
    message = caught.value.message
    assert message.startswith(f"{project}/dev is locked by {MOTO_ARN} (destroy on ")
    assert f"pid {before[1]['pid']}" in message
    assert " since " in message
    assert "expires at " in message
    assert caught.value.hint is not None
    assert "`batchctl unlock`" in caught.value.hint
    assert caught.value.holder is not None
    assert caught.value.holder.token == first.token
    assert stored(boto, project) == before  # the loser wrote nothing
    first.release()


def test_a_waiting_command_gets_the_lock_when_the_holder_releases(aws: Aws, boto: Any, project: str) -> None:
    first = make_lock(aws, project)
    first.acquire()
    notices: list[str] = []
    second = make_lock(fresh_aws(), project, notices=notices, timeout_s=30, poll_s=0.05)
    done: list[LockRecord] = []
    waiter = threading.Thread(target=lambda: done.append(second.acquire()))
    waiter.start()
    deadline = time.monotonic() + 10
    while not notices and time.monotonic() < deadline:
        time.sleep(0.02)
    assert notices
    assert "is locked by" in notices[0]
    assert "waiting up to 30s" in notices[0]
    assert not done
    assert first.release() is True
    waiter.join(timeout=15)
    assert done
    assert done[0].token == second.token
    assert stored(boto, project)[1]["token"] == second.token
    assert second.release() is True


def test_waiting_gives_up_after_the_timeout(aws: Aws, project: str) -> None:
    first = make_lock(aws, project, heartbeat_s=0)
    first.acquire()
    fake = FakeTime(start=time.time())  # the holder's lease (real time) outlasts the waiter's fake 30 s
    second = make_lock(fresh_aws(), project, heartbeat_s=0, timeout_s=30, clock=fake.clock, sleep=fake.sleep)
    started = fake.now
    with pytest.raises(LockHeldError) as caught:
        second.acquire()
    assert fake.now - started >= 30
    assert caught.value.message.startswith("still locked after waiting 30s: ")
    first.release()


# ---- expiry, heartbeat, takeover -----------------------------------------------------------------------------
def test_an_expired_lock_is_taken_over_saying_so_and_its_old_holder_neither_renews_nor_deletes(
    aws: Aws, boto: Any, project: str
) -> None:
    then = FakeTime()
    crashed = make_lock(aws, project, command="destroy", heartbeat_s=0, clock=then.clock)
    crashed.acquire()
    later = FakeTime(start=then.now + 60 + 10 + 1)  # past the TTL and the grace period
    notices: list[str] = []
    taker = make_lock(fresh_aws(), project, notices=notices, heartbeat_s=0, clock=later.clock)
    taker.acquire()
    assert len(notices) == 1
    assert notices[0].startswith(
        f"took over the expired lock of {project}/dev held by {MOTO_ARN} (destroy on "
    )
    assert "expired at " in notices[0]
    version, value = stored(boto, project)
    assert version == 2
    assert value["token"] == taker.token
    # The old holder wakes up: its lease has run out, so it neither renews nor deletes.
    then.now = later.now
    assert crashed.renew() is False
    assert crashed.lost.is_set()
    assert crashed.release() is False
    assert stored(boto, project)[1]["token"] == taker.token
    assert taker.release() is True


def test_a_holder_that_lost_its_lock_is_told_even_when_it_thinks_its_lease_stands(
    aws: Aws, boto: Any, project: str
) -> None:
    """A clock far behind (or a stalled process) renews too late: the version check refuses the renewal, and
    the command's stop event is set so that it starts no new change."""
    slow = FakeTime()
    stop = threading.Event()
    holder = make_lock(aws, project, heartbeat_s=0, clock=slow.clock, stop=stop)
    taker_time = FakeTime(start=slow.now + 100)
    taker = make_lock(fresh_aws(), project, heartbeat_s=0, clock=taker_time.clock)
    renewed: list[bool] = []

    def taken_meanwhile() -> None:
        taker.acquire()
        renewed.append(holder.renew())  # its own clock says the lease stands; the store says otherwise

    with pytest.raises(LockLostError) as caught:
        run_holding(holder, taken_meanwhile)
    assert renewed == [False]
    assert stop.is_set()
    assert "was lost while deploy ran: it is now held by " in caught.value.message
    assert stored(boto, project)[1]["token"] == taker.token
    taker.release()


def test_the_heartbeat_keeps_the_lock_past_its_ttl(aws: Aws, boto: Any, project: str) -> None:
    fake = FakeTime()  # the lease runs on this clock; the heartbeat thread beats every 50 ms of real time
    holder = make_lock(aws, project, heartbeat_s=0.05, clock=fake.clock)
    with holder:
        first_expiry = stored(boto, project)[1]["expires"]
        for _ in range(15):  # 150 s: two and a half TTLs, one step of 10 s after each renewal
            version = stored(boto, project)[0]
            fake.now += 10
            deadline = time.monotonic() + 60
            while stored(boto, project)[0] <= version and time.monotonic() < deadline:
                time.sleep(0.02)
        _, value = stored(boto, project)
        assert value["token"] == holder.token
        assert value["expires"] > fake.now > first_expiry + 60
        assert not holder.lost.is_set()
        with pytest.raises(LockHeldError):
            make_lock(fresh_aws(), project, heartbeat_s=0, clock=fake.clock).acquire()
    assert not exists(boto, project)


def test_a_write_that_lost_its_race_does_not_count(aws: Aws, boto: Any, project: str) -> None:
    holder = make_lock(aws, project, heartbeat_s=0)
    holder.acquire()
    _, value = stored(boto, project)
    # A taker that read an older write, and wrote after someone else: its record sits on top but counts not.
    ghost = {
        **value,
        "token": "someone-else",
        "write": "g1",
        "prev": "not-the-latest",
        "expires": time.time() + 600,
    }
    boto.client("ssm").put_parameter(
        Name=lock_parameter(project, "dev"), Value=json.dumps(ghost), Type="String", Overwrite=True
    )
    shown = read_lock(aws, project=project, stage="dev")
    assert shown is not None
    assert shown.token == holder.token
    with pytest.raises(LockHeldError) as caught:
        make_lock(fresh_aws(), project, heartbeat_s=0).acquire()
    assert caught.value.holder is not None
    assert caught.value.holder.token == holder.token
    assert holder.renew() is True
    version, value = stored(boto, project)
    assert version == 3
    assert value["token"] == holder.token
    assert value["prev"] == "g1"
    assert holder.release() is True


def test_a_parameter_recreated_by_an_overwrite_is_taken_and_tagged(aws: Aws, boto: Any, project: str) -> None:
    name = lock_parameter(project, "dev")
    ghost = {
        "token": "gone",
        "write": "g0",
        "prev": "w-before-delete",
        "owner": "x",
        "command": "deploy",
        "host": "h",
        "pid": 1,
        "since": time.time(),
        "expires": time.time() + 600,
    }
    boto.client("ssm").put_parameter(Name=name, Value=json.dumps(ghost), Type="String", Overwrite=True)
    lock = make_lock(aws, project, heartbeat_s=0)
    lock.acquire()
    version, value = stored(boto, project)
    assert version == 2
    assert value["token"] == lock.token
    tags = boto.client("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert {t["Key"] for t in tags} == {"batchctl:project", "batchctl:stage"}
    assert lock.release() is True


# ---- unlock --------------------------------------------------------------------------------------------------
def test_unlock_breaks_the_lock_and_its_old_holder_then_keeps_its_hands_off(
    aws: Aws, boto: Any, project: str
) -> None:
    gone = make_lock(aws, project, command="schedule pause", heartbeat_s=0)
    gone.acquire()
    shown = read_lock(aws, project=project, stage="dev")
    assert shown is not None
    assert shown.command == "schedule pause"
    broken = break_lock(fresh_aws(), project=project, stage="dev", expected=shown)
    assert broken is not None
    assert broken.token == gone.token
    assert not exists(boto, project)
    assert read_lock(aws, project=project, stage="dev") is None
    successor = make_lock(fresh_aws(), project, heartbeat_s=0)
    successor.acquire()
    assert gone.renew() is False
    assert gone.lost.is_set()
    assert gone.release() is False
    assert stored(boto, project)[1]["token"] == successor.token
    successor.release()


def test_unlock_refuses_when_the_lock_changed_hands_since_it_was_shown(
    aws: Aws, boto: Any, project: str
) -> None:
    first = make_lock(aws, project, heartbeat_s=0)
    first.acquire()
    shown = read_lock(aws, project=project, stage="dev")
    first.release()
    second = make_lock(aws, project, heartbeat_s=0)
    second.acquire()
    with pytest.raises(LockChangedError, match="changed since it was shown: it is now held by "):
        break_lock(aws, project=project, stage="dev", expected=shown)
    assert stored(boto, project)[1]["token"] == second.token
    second.release()


def test_a_value_batchctl_did_not_write_blocks_until_unlocked(aws: Aws, boto: Any, project: str) -> None:
    name = lock_parameter(project, "dev")
    boto.client("ssm").put_parameter(Name=name, Value="held by hand", Type="String")
    with pytest.raises(LockHeldError, match="a value batchctl did not write"):
        make_lock(aws, project, heartbeat_s=0).acquire()
    assert boto.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "held by hand"
    assert break_lock(aws, project=project, stage="dev") is not None
    with make_lock(aws, project, heartbeat_s=0):
        assert stored(boto, project)[0] == 1


# ---- release on the way out ----------------------------------------------------------------------------------
@pytest.mark.parametrize("raised", [KeyboardInterrupt, ValueError])
def test_ctrl_c_or_an_exception_releases_the_lock(
    aws: Aws, boto: Any, project: str, raised: type[BaseException]
) -> None:
    seen: list[bool] = []
    stop = threading.Event()

    def interrupted() -> None:
        seen.append(exists(boto, project))
        raise raised()

    with pytest.raises(raised):
        run_holding(make_lock(aws, project, stop=stop), interrupted)
    assert seen == [True]
    assert not stop.is_set()  # giving the lock back is not losing it
    assert not exists(boto, project)


def test_ctrl_c_between_taking_the_lock_and_holding_it_gives_it_back(
    aws: Aws, boto: Any, project: str
) -> None:
    then = FakeTime()
    make_lock(aws, project, heartbeat_s=0, clock=then.clock).acquire()  # crashed long ago

    def interrupt(_message: str) -> None:  # the takeover notice comes after the write that took the lock
        raise KeyboardInterrupt

    later = FakeTime(start=then.now + 3600)
    taker = StageLock(
        fresh_aws(), project=project, stage="dev", command="deploy", clock=later.clock, on_notice=interrupt
    )
    with pytest.raises(KeyboardInterrupt):
        taker.acquire()
    assert not exists(boto, project)
    assert not taker.held


def test_stage_lock_takes_project_and_stage_from_the_config(
    aws_env: str, tmp_path: Path, boto: Any, project: str
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text(f"version: 1\nproject: {project}\nstage: dev\njobs:\n  a:\n    command: [echo]\n")
    ui = Ui.create(output=Output.TEXT, verbosity=0, color=False, debug=False)
    state = CliState(config_path=config, ui=ui)
    with stage_lock(state, command="deploy", timeout_s=0) as lock:
        assert stored(boto, project)[1]["token"] == lock.token
        other = CliState(config_path=config, ui=ui)
        with pytest.raises(LockHeldError):
            stage_lock(other, command="destroy", timeout_s=0).acquire()
    assert not exists(boto, project)


# ---- concurrency ---------------------------------------------------------------------------------------------
def test_contending_threads_never_hold_the_lock_together(aws_env: str, project: str) -> None:
    threads, rounds = 6, 4
    guard = threading.Lock()
    inside = [0]
    most_inside = [0]
    held_rounds: list[str] = []
    failures: list[BaseException] = []

    sessions = [fresh_aws() for _ in range(threads)]  # each its own Session and clients, as processes have

    def contend(index: int) -> None:
        own = sessions[index]
        try:
            for _ in range(rounds):
                with make_lock(own, project, command=f"deploy #{index}", timeout_s=60, poll_s=0.02):
                    with guard:
                        inside[0] += 1
                        most_inside[0] = max(most_inside[0], inside[0])
                    time.sleep(0.03)  # the critical section: another holder would overlap it
                    with guard:
                        inside[0] -= 1
                        held_rounds.append(f"{index}")
        except BaseException as exc:
            failures.append(exc)

    run_threads(contend, threads)
    assert not failures, failures
    assert most_inside[0] == 1
    assert len(held_rounds) == threads * rounds
    assert read_lock(fresh_aws(), project=project, stage="dev") is None


def test_of_many_threads_taking_over_one_expired_lock_exactly_one_wins(
    aws_env: str, boto: Any, project: str
) -> None:
    threads = 6
    then = FakeTime(start=time.time() - 3600)
    make_lock(fresh_aws(), project, command="deploy", heartbeat_s=0, clock=then.clock).acquire()  # crashed
    start = threading.Barrier(threads)
    winners: list[StageLock] = []
    refused: list[LockHeldError] = []
    failures: list[BaseException] = []

    locks = [make_lock(fresh_aws(), project, command=f"deploy #{i}", heartbeat_s=0) for i in range(threads)]

    def take(index: int) -> None:
        lock = locks[index]
        start.wait()
        try:
            lock.acquire()
            winners.append(lock)
        except LockHeldError as exc:
            refused.append(exc)
        except BaseException as exc:
            failures.append(exc)

    run_threads(take, threads)
    assert not failures, failures
    assert len(winners) == 1
    assert len(refused) == threads - 1
    (winner,) = winners
    assert all(exc.holder is not None and exc.holder.token == winner.token for exc in refused)
    shown = read_lock(fresh_aws(), project=project, stage="dev")
    assert shown is not None
    assert shown.token == winner.token
    assert winner.renew() is True  # the losers' writes on top of its own do not count
    assert winner.release() is True
    assert not exists(boto, project)


# ---- the unlock command --------------------------------------------------------------------------------------
@pytest.fixture
def unlock_cli(tmp_path: Path, project: str) -> Callable[..., Any]:
    """`batchctl -c jobs.yaml ARGS...`."""
    config = tmp_path / "jobs.yaml"
    config.write_text(f"version: 1\nproject: {project}\nstage: dev\njobs:\n  a:\n    command: [echo]\n")

    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli_app.app, ["-c", str(config), *args], env={"COLUMNS": "200"})
        assert "Traceback" not in result.stdout + result.stderr
        return result

    return run


def test_unlock_command_without_a_lock_says_so(
    aws_env: str, unlock_cli: Callable[..., Any], project: str
) -> None:
    result = unlock_cli("unlock")
    assert result.exit_code == 0, result.stderr
    assert f"{project}/dev is not locked." in result.stderr
    as_json = json.loads(unlock_cli("-o", "json", "unlock").stdout)
    assert as_json == {"version": 1, "project": project, "stage": "dev", "broken": False, "lock": None}


def test_unlock_command_needs_yes_off_a_terminal(
    aws: Aws, boto: Any, unlock_cli: Callable[..., Any], project: str
) -> None:
    holder = make_lock(aws, project, heartbeat_s=0)
    holder.acquire()
    result = unlock_cli("unlock")
    assert result.exit_code == 2
    assert f"{project}/dev is locked by {MOTO_ARN} (deploy on " in result.stderr
    assert "rerun with --yes" in result.stderr
    assert stored(boto, project)[1]["token"] == holder.token
    holder.release()


def test_unlock_command_breaks_the_lock_with_yes(
    aws: Aws, boto: Any, unlock_cli: Callable[..., Any], project: str
) -> None:
    make_lock(aws, project, command="destroy", heartbeat_s=0).acquire()
    result = unlock_cli("unlock", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "its holder renewed it recently" in result.stderr
    assert result.stdout.strip() == f"broke the lock of {project}/dev held by {MOTO_ARN} (destroy)"
    assert not exists(boto, project)
    make_lock(aws, project, heartbeat_s=0).acquire()
    as_json = json.loads(unlock_cli("-o", "json", "unlock", "--yes").stdout)
    assert as_json["broken"] is True
    assert as_json["lock"]["owner"] == MOTO_ARN
    assert as_json["lock"]["command"] == "deploy"
    assert not exists(boto, project)
