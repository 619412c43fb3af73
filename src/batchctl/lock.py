"""The lock every mutating command holds on its project+stage: the SSM parameter `/batchctl/<project>/<stage>/lock`,
created only if absent, renewed by a heartbeat, deleted on exit; `read_lock`/`break_lock` for `batchctl unlock`.

Imports: errors, aws, naming.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from batchctl.aws import Aws, is_code
from batchctl.errors import AwsError, BatchctlError
from batchctl.naming import TAG_PROJECT, TAG_STAGE

log = logging.getLogger(__name__)

TTL_S = 60.0  # a lease lasts this long after its last renewal
HEARTBEAT_S = 20.0  # renewed this often, so two renewals can fail before it runs out
GRACE_S = 10.0  # an expired lock is taken over only this long after its expiry: clocks of two hosts differ
MARGIN_S = 5.0  # the holder neither renews nor deletes within this long of its own expiry
POLL_S = 2.0  # a waiting command looks again this often
MAX_RACES = 5  # immediate retries after losing a race for a free or expired lock
MAX_WALK = 20  # versions read back past writes of writers that lost a race (each such write is one lost race)
RECORD_FORMAT = 1


def lock_parameter(project: str, stage: str) -> str:
    """The name of the SSM parameter holding the lock of this project+stage."""
    return f"/batchctl/{project}/{stage}/lock"


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _new_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class LockRecord:
    """One write to the lock parameter: who holds the lock, since when, until when.

    `token` names one hold (all its renewals share it); `write` names this write and `prev` the write its writer
    had read last ("" when it created the parameter): see `is_effective`.
    """

    token: str
    write: str
    prev: str
    owner: str
    command: str
    host: str
    pid: int
    since: float
    expires: float
    readable: bool = True

    def to_value(self) -> str:
        """The parameter value: compact JSON (Standard parameters hold up to 4 KB)."""
        data = {name: getattr(self, name) for name in _FIELDS} | {"format": RECORD_FORMAT}
        data["since"], data["expires"] = round(self.since, 3), round(self.expires, 3)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def is_expired(self, now: float, *, grace_s: float = 0.0) -> bool:
        return now >= self.expires + grace_s

    def describe(self, now: float) -> str:
        """`<owner> (<command> on <host>, pid <pid>) since <time>; <expiry>` for messages."""
        if not self.readable:
            return "a value batchctl did not write (it never expires by itself)"
        left = self.expires - now
        expiry = (
            f"expired at {_when(self.expires)} ({-left:.0f}s ago)"
            if left <= 0
            else f"expires at {_when(self.expires)} (in {left:.0f}s) unless its heartbeat renews it"
        )
        return f"{self.owner} ({self.command} on {self.host}, pid {self.pid}) since {_when(self.since)}; {expiry}"

    def to_dict(self) -> dict[str, Any]:
        """The holder in `unlock -o json`: who, what, where, and ISO times."""
        if not self.readable:
            return {"readable": False}
        return {
            "readable": True,
            "owner": self.owner,
            "command": self.command,
            "host": self.host,
            "pid": self.pid,
            "since": datetime.fromtimestamp(self.since, UTC).isoformat(),
            "expires": datetime.fromtimestamp(self.expires, UTC).isoformat(),
        }


# The fields of a record in its JSON value, with how each is read back.
_FIELDS: dict[str, Callable[[Any], Any]] = {
    "token": str,
    "write": str,
    "prev": str,
    "owner": str,
    "command": str,
    "host": str,
    "pid": int,
    "since": float,
    "expires": float,
}


def parse_record(value: str) -> LockRecord:
    """The record in a parameter value; anything else is an unreadable record that never expires, so that a value
    we did not write blocks every command until someone looks at it (`batchctl unlock`)."""
    try:
        data = json.loads(value)
        record: LockRecord | None = LockRecord(**{name: read(data[name]) for name, read in _FIELDS.items()})
    except (ValueError, KeyError, TypeError):
        record = None
    if record is not None and record.token and record.write:
        return record
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    unknown = dict.fromkeys(("token", "prev"), "") | dict.fromkeys(("owner", "command", "host"), "unknown")
    return LockRecord(
        **unknown, write=f"unreadable-{digest}", pid=0, since=0.0, expires=math.inf, readable=False
    )


def is_effective(record: LockRecord, *, version: int, previous: LockRecord | None) -> bool:
    """Whether the write at `version` counts, given the one before it (None: version 1, or not readable).

    SSM has no compare-and-swap, but it numbers every write of a parameter and PutParameter returns the number.
    So a write counts only if it directly follows the write its writer had read (`prev`): two writers that read
    the same version and both write cannot both follow it, and a writer learns which it was by reading the
    version before its own. A create counts by the atomicity of PutParameter without Overwrite. A value we did
    not write counts as written by someone we cannot judge.
    """
    if not record.readable:
        return True
    if version == 1:
        return record.prev == ""
    return previous is not None and previous.write == record.prev


@dataclass(frozen=True, slots=True)
class LockState:
    """The lock parameter as read: its newest write, and the newest one that counts (the holder)."""

    latest: LockRecord | None  # None: no parameter
    holder: LockRecord | None  # None: free (no parameter, or only writes that lost their race)


def _get(aws: Aws, name: str, version: int | None = None) -> tuple[int, LockRecord] | None:
    """The version and record of the parameter (or of one version of it); None if there is none."""
    selector = name if version is None else f"{name}:{version}"
    try:
        answer = aws.call("ssm", "get_parameter", key=name, Name=selector)
    except AwsError as exc:
        if is_code(exc, "ParameterNotFound", "ParameterVersionNotFound"):
            return None
        raise
    parameter = answer["Parameter"]
    return int(parameter["Version"]), parse_record(str(parameter["Value"]))


def read_state(aws: Aws, name: str) -> LockState:
    """Read the newest version, then walk back over writes that lost their race to the holder's."""
    top = _get(aws, name)
    if top is None:
        return LockState(latest=None, holder=None)
    version, latest = top
    current = latest
    for _ in range(MAX_WALK):
        before = _get(aws, name, version - 1) if version > 1 and current.readable else None
        previous = before[1] if before else None
        if is_effective(current, version=version, previous=previous):
            return LockState(latest=latest, holder=current)
        if previous is None:
            return LockState(latest=latest, holder=None)
        version, current = version - 1, previous
    # Twenty lost races in a row cannot happen by chance: treat the newest write as the holder, which blocks.
    return LockState(latest=latest, holder=latest)


class LockHeldError(BatchctlError):
    """Another command holds the lock of this project+stage (or kept winning it while we tried)."""

    def __init__(
        self, *, project: str, stage: str, holder: LockRecord | None, now: float, waited_s: float
    ) -> None:
        where = f"{project}/{stage}"
        if holder is None:
            message = f"could not take the lock of {where}: other commands kept taking it"
        else:
            message = f"{where} is locked by {holder.describe(now)}"
        if waited_s > 0:
            message = f"still locked after waiting {waited_s:g}s: {message}"
        super().__init__(
            message,
            hint="wait for that command to finish (or pass --lock-timeout SECONDS to wait for it); "
            "if it is gone, `batchctl unlock` breaks its lock",
        )
        self.holder = holder


class LockLostError(BatchctlError):
    """The lock was taken from us (it expired, or was broken) while our command ran."""


class LockChangedError(BatchctlError):
    """`unlock` was asked to break one hold, but another command holds the lock now."""


class StageLock:
    """The lock of one project+stage, held by one command: `with StageLock(aws, ...) as lock:`.

    Taking it creates the parameter with PutParameter(Overwrite=False), which fails with ParameterAlreadyExists
    while someone holds it: the one atomic step SSM offers. Our record says who holds it, which command, host,
    pid, since when and until when (`expires`, TTL_S ahead); a heartbeat thread renews it every HEARTBEAT_S.
    Renewing, and taking over a lock whose holder stopped renewing (expired more than GRACE_S ago), overwrite the
    parameter; overwrites are made safe by the version check of `is_effective` (read, write, then read the
    version before ours): a renewal cannot overwrite a takeover, and of two takeovers only one counts.
    Release deletes the parameter only if the holder is still us with at least MARGIN_S left.

    What remains: a lease is a promise about time. A holder that stops renewing for TTL_S + GRACE_S (a frozen
    process, a host whose clock is GRACE_S + MARGIN_S off, a network that fails every renewal) can be taken
    over; it learns so locally once its lease runs out (MARGIN_S early) and sets `lost`, but an AWS call already
    in flight finishes. Release reads, then deletes: a takeover would have to fit between the two, which needs
    our lease to have run out (MARGIN_S + GRACE_S) meanwhile. `batchctl unlock` breaks whatever hold it shows.
    """

    def __init__(
        self,
        aws: Aws,
        *,
        project: str,
        stage: str,
        command: str,
        timeout_s: float = 0.0,
        ttl_s: float = TTL_S,
        heartbeat_s: float = HEARTBEAT_S,
        grace_s: float = GRACE_S,
        margin_s: float = MARGIN_S,
        poll_s: float = POLL_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_notice: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.aws = aws
        self.project = project
        self.stage = stage
        self.command = command
        self.name = lock_parameter(project, stage)
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self.heartbeat_s = heartbeat_s  # 0: no heartbeat thread (call renew() yourself)
        self.grace_s = grace_s
        self.margin_s = margin_s
        self.poll_s = poll_s
        self.clock = clock  # wall clock: expiry times are compared across hosts
        self.sleep = sleep
        self.on_notice = on_notice or log.warning
        self.token = secrets.token_hex(16)
        self.lost = threading.Event()  # set once the lock is no longer ours
        self.lost_reason = ""
        self.stop = stop  # also set then: the engine's stop event, so that no new change starts
        self._record: LockRecord | None = None  # our newest write that counts, while we hold the lock
        self._owner: str | None = None
        self._mutex = threading.Lock()  # one renewal or release at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"{self.project}/{self.stage}"

    @property
    def held(self) -> bool:
        return self._record is not None and not self.lost.is_set()

    # ---- acquire -----------------------------------------------------------------------------------------
    def acquire(self, timeout_s: float | None = None) -> LockRecord:
        """Take the lock, waiting up to `timeout_s` (default: the constructor's) while a live holder has it, and
        start the heartbeat. Raises LockHeldError naming the holder."""
        if self._record is not None:
            return self._record
        if self.lost.is_set():
            raise RuntimeError(f"this lock of {self.where} was lost; take a new StageLock")
        self.token = secrets.token_hex(16)  # a new hold: records of an earlier one are not ours
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = self.clock() + wait_s
        races = 0
        waiting = False
        taken = False
        try:
            while True:
                holder = self._attempt()
                if self._record is not None:
                    self._start_heartbeat()
                    taken = True
                    return self._record
                now = self.clock()
                if (holder is None or holder.is_expired(now, grace_s=self.grace_s)) and races < MAX_RACES:
                    # We lost a race for a free or expired lock: someone else wrote just now. Look again after
                    # a random pause, so that writers who collided once do not collide again.
                    races += 1
                    self.sleep(random.uniform(0.0, 0.2))
                    continue
                if now >= deadline:
                    raise LockHeldError(
                        project=self.project, stage=self.stage, holder=holder, now=now, waited_s=wait_s
                    )
                if not waiting and holder is not None:
                    waiting = True
                    self.on_notice(
                        f"{self.where} is locked by {holder.describe(now)}; waiting up to {wait_s:g}s for it"
                    )
                self.sleep(min(self.poll_s, deadline - now))
        finally:
            if self._record is not None and not taken:  # e.g. Ctrl-C between our write and returning it
                self.release()

    def _attempt(self) -> LockRecord | None:
        """One try; sets `_record` on success, else returns the holder seen (None: none that counts)."""
        now = self.clock()
        record = LockRecord(
            token=self.token,
            write=_new_id(),
            prev="",
            owner=self._caller(),
            command=self.command,
            host=socket.gethostname(),
            pid=os.getpid(),
            since=now,
            expires=now + self.ttl_s,
        )
        try:
            self._put(record, create=True)
        except AwsError as exc:
            if not is_code(exc, "ParameterAlreadyExists"):
                raise
        else:
            self._record = record
            return None
        state = read_state(self.aws, self.name)
        holder = state.holder
        if state.latest is None:  # released since our create: try the create again
            return None
        if holder is not None and not holder.is_expired(self.clock(), grace_s=self.grace_s):
            return holder
        # Free (only writes that lost their race) or expired: overwrite, counting only if nobody wrote between.
        record = replace(record, prev=state.latest.write)
        if not self._overwrite(record):
            return holder
        self._record = record
        # An overwrite cannot carry Tags (SSM rejects Tags with Overwrite=true), and the parameter may have been
        # created by an overwrite that found it deleted, untagged: tag it now.
        self.aws.call(
            "ssm",
            "add_tags_to_resource",
            key=self.name,
            ResourceType="Parameter",
            ResourceId=self.name,
            Tags=self._tags(),
        )
        if holder is not None:
            self.on_notice(
                f"took over the expired lock of {self.where} held by {holder.describe(self.clock())}"
            )
        return None

    def _caller(self) -> str:
        if self._owner is None:
            self._owner = str(self.aws.call("sts", "get_caller_identity").get("Arn", "unknown"))
        return self._owner

    def _tags(self) -> list[dict[str, str]]:
        return [{"Key": TAG_PROJECT, "Value": self.project}, {"Key": TAG_STAGE, "Value": self.stage}]

    def _put(self, record: LockRecord, *, create: bool) -> int:
        """Write `record`; return the version SSM gave it."""
        params: dict[str, Any] = {"Name": self.name, "Value": record.to_value(), "Type": "String"}
        if create:
            params |= {
                "Overwrite": False,
                "Tier": "Standard",  # not the account's default tier, which may be a paid one
                "Description": f"batchctl lock of {self.where}; `batchctl unlock` breaks it",
                "Tags": self._tags(),
            }
        else:
            params["Overwrite"] = True
        answer = self.aws.call("ssm", "put_parameter", key=self.name, **params)
        return int(answer["Version"])

    def _overwrite(self, record: LockRecord) -> bool:
        """Write `record` over the parameter; True if the write counts (see `is_effective`)."""
        version = self._put(record, create=False)
        before = _get(self.aws, self.name, version - 1) if version > 1 else None
        return is_effective(record, version=version, previous=before[1] if before else None)

    # ---- heartbeat ---------------------------------------------------------------------------------------
    def renew(self) -> bool:
        """Extend our lease by the TTL. False when it was not renewed: with `lost` set once the lock is no
        longer ours; without, after losing races to writers that lost theirs too (the lease still stands)."""
        with self._mutex:
            for _ in range(3):
                record = self._record
                if record is None or self.lost.is_set() or self._ran_out(record):
                    return False
                found = self._read_ours()
                if found is None:
                    return False
                latest, holder = found
                self._record = holder
                if self._ran_out(holder):
                    return False
                renewed = replace(
                    holder, write=_new_id(), prev=latest.write, expires=self.clock() + self.ttl_s
                )
                if self._overwrite(renewed):
                    self._record = renewed
                    return True
            return False

    def _ran_out(self, record: LockRecord) -> bool:
        """True, with `lost` set, once our lease is within `margin_s` of its end: too late to renew safely."""
        if self.clock() < record.expires - self.margin_s:
            return False
        self._lose(f"its lease ran out at {_when(record.expires)} before it could be renewed")
        return True

    def _read_ours(self) -> tuple[LockRecord, LockRecord] | None:
        """Read the lock: its newest write and our newest write that counts; None, with `lost` set, if the
        lock is no longer ours."""
        state = read_state(self.aws, self.name)
        if state.latest is None or state.holder is None or state.holder.token != self.token:
            self._lose(self._why_not_ours(state))
            return None
        return state.latest, state.holder

    def _why_not_ours(self, state: LockState) -> str:
        if state.latest is None:
            return "it was removed (by `batchctl unlock`?)"
        if state.holder is None:
            return "it was replaced"
        return f"it is now held by {state.holder.describe(self.clock())}"

    def _lose(self, reason: str) -> None:
        if self.lost.is_set():
            return
        self.lost_reason = reason
        self.lost.set()
        if self.stop is not None:
            self.stop.set()
        self.on_notice(f"the lock of {self.where} was lost: {reason}")

    def _start_heartbeat(self) -> None:
        if self.heartbeat_s <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"batchctl-lock-{self.stage}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        """Renew every `heartbeat_s`, and at the latest when the lease is about to run out."""
        pause = self.heartbeat_s
        try:
            while True:
                record = self._record
                if record is None or self.lost.is_set():
                    return
                due_in = record.expires - self.margin_s - self.clock()
                if self._stop.wait(max(0.0, min(pause, due_in))):
                    return
                try:
                    self.renew()
                    pause = self.heartbeat_s
                except BatchctlError as exc:
                    # A failed renewal (throttling, network) is retried sooner; renew() gives the lock up once
                    # the lease has run out. Raising here would end the heartbeat without a word.
                    log.warning("renewing the lock of %s failed: %s", self.where, exc.message)
                    pause = self.heartbeat_s / 4
        finally:
            if not self._stop.is_set() and self._record is not None:
                self._lose("its heartbeat stopped")

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # ---- release -----------------------------------------------------------------------------------------
    def release(self) -> bool:
        """Stop the heartbeat and delete the lock if it is still ours with time left; True when deleted. A lock
        that is no longer ours is never deleted; one whose lease ran out is left to expire."""
        self._stop_heartbeat()
        with self._mutex:
            record, self._record = self._record, None
            if record is None or self.lost.is_set():
                return False
            found = self._read_ours()
            if found is None:
                return False
            if self.clock() >= found[1].expires - self.margin_s:
                self.on_notice(f"left the lock of {self.where} to expire: its lease ran out before release")
                return False
            _delete(self.aws, self.name)
            return True

    def __enter__(self) -> StageLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.release()
        except BatchctlError as error:
            # The command's own outcome matters more; the lock expires by itself within TTL_S + GRACE_S.
            self.on_notice(f"could not release the lock of {self.where}: {error.message}")
        if self.lost.is_set() and exc_type is None:
            raise LockLostError(
                f"the lock of {self.where} was lost while {self.command} ran: {self.lost_reason}",
                hint="another command may have changed the stage meanwhile: "
                "`batchctl plan` shows where it stands",
            )


def read_lock(aws: Aws, *, project: str, stage: str) -> LockRecord | None:
    """The holder of the lock of this project+stage (expired or not); None when nobody holds it."""
    return read_state(aws, lock_parameter(project, stage)).holder


def break_lock(
    aws: Aws, *, project: str, stage: str, expected: LockRecord | None = None
) -> LockRecord | None:
    """Delete the lock of this project+stage, whoever holds it; with `expected`, only if that hold (as shown to
    the user) is still the one there. Returns the holder broken (None: there was no lock)."""
    name = lock_parameter(project, stage)
    state = read_state(aws, name)
    if state.latest is None:
        return None
    holder = state.holder
    if expected is not None and (holder is None or holder.token != expected.token):
        now = time.time()
        raise LockChangedError(
            f"the lock of {project}/{stage} changed since it was shown: "
            + (f"it is now held by {holder.describe(now)}" if holder else "nobody holds it now"),
            hint="run `batchctl unlock` again to see the current holder",
        )
    _delete(aws, name)
    return holder


def _delete(aws: Aws, name: str) -> None:
    """Delete the lock parameter; already gone is fine."""
    try:
        aws.call("ssm", "delete_parameter", key=name, Name=name)
    except AwsError as exc:
        if not is_code(exc, "ParameterNotFound"):
            raise
