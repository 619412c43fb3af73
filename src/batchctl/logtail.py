"""Reading and following the CloudWatch Logs of a job's containers: find the log group, then FilterLogEvents page by
page (merged in time order across streams, never an event twice), and with `follow` keep polling like
`aws logs tail --follow`. Imports: naming, aws, errors, provisioners.base, stdlib.

Pages are as large as FilterLogEvents allows (10,000 events). A token chain is sequential, so when the first page is
full the rest of the range is cut into time slices read concurrently (a few at a time: FilterLogEvents allows about
5 calls a second per account) and printed in order.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from batchctl.aws import Aws, AwsDict
from batchctl.errors import AwsAuthError, AwsError, RunError, RunUsageError
from batchctl.naming import Names
from batchctl.provisioners.base import active_job_definitions

__all__ = [
    "BATCH_DEFAULT_LOG_GROUP",
    "LogEvent",
    "LogSource",
    "Tailer",
    "parse_since",
    "resolve_log_source",
    "stream_label",
    "tail",
]

log = logging.getLogger(__name__)

BATCH_DEFAULT_LOG_GROUP = "/aws/batch/job"  # where Batch writes when a job definition names no awslogs-group
MAX_PAGE_EVENTS = 10_000  # FilterLogEvents' largest page
MAX_STREAM_NAMES = 100  # FilterLogEvents takes at most 100 logStreamNames
# A first page this full means many more events: the rest of the range is read in TIME_SLICES slices,
# SLICE_PARALLELISM at a time (FilterLogEvents: about 5 calls a second per account, AWS-QUIRKS 40).
SLICE_AFTER_EVENTS = MAX_PAGE_EVENTS
TIME_SLICES = 8
SLICE_PARALLELISM = 4
MIN_SLICE_MS = 1_000
THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
THROTTLE_FIRST_DELAY_S = 1.0
THROTTLE_MAX_DELAY_S = 30.0
THROTTLE_MAX_RETRIES = 8
SINCE_HINT = "use a duration such as 30s, 10m, 2h, 1d, 1w, or an ISO-8601 time such as 2024-05-01T10:00:00Z"

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, *, now: datetime | None = None) -> int:
    """`10m`, `2h`, `1d` (before now) or an ISO-8601 time (UTC unless it has an offset) → epoch milliseconds.
    Anything else, or a time before 1970 (FilterLogEvents' startTime is epoch milliseconds ≥ 0), is a
    RunUsageError (exit 2)."""
    value = text.strip()
    shown = text if len(text) <= 40 else text[:39] + "…"
    moment = now or datetime.now(UTC)
    match = _DURATION.fullmatch(value.lower())
    try:
        if match:
            start = moment - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        else:
            parsed = datetime.fromisoformat(value)
            start = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        start_ms = int(start.timestamp() * 1000)
    except ValueError:
        if not match:
            raise RunUsageError(
                f"--since {shown!r} is neither a duration nor an ISO-8601 time", hint=SINCE_HINT
            ) from None
        start_ms = -1  # more digits than Python turns into a number: far before 1970
    except OverflowError:  # further back than year 1, or past year 9999
        start_ms = -1
    if start_ms < 0:
        raise RunUsageError(
            f"--since {shown!r} reaches back before 1970: CloudWatch Logs holds no event that old",
            hint="ask for a shorter time, such as 30d or 52w (log groups keep events at most 10 years), or an "
            "ISO-8601 time such as 2024-05-01T10:00:00Z",
        )
    return start_ms


# ---- where a job's logs are ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogSource:
    """A job's container log group and each step's stream prefix (streams are `<prefix>/<container>/<task id>`)."""

    group: str
    stream_prefixes: Mapping[str, str]
    origin: str  # "job definition", "batchctl default" or "Batch default", for messages


def _latest_active_definition(aws: Aws, name: str) -> AwsDict | None:
    active = active_job_definitions(aws, name)
    return active[-1] if active else None


def _log_options(definition: AwsDict) -> dict[str, str] | None:
    """The awslogs options of a job definition; None when it logs with another driver."""
    container = definition.get("containerProperties") or {}
    configuration = container.get("logConfiguration") or {}
    driver = configuration.get("logDriver")
    if driver not in (None, "awslogs"):
        return None
    return {str(k): str(v) for k, v in (configuration.get("options") or {}).items()}


def _group_exists(aws: Aws, name: str) -> bool:
    # DescribeLogGroups filters by prefix: page and compare the exact name.
    for page in aws.pages("logs", "describe_log_groups", key=name, logGroupNamePrefix=name):
        if any(group.get("logGroupName") == name for group in page.get("logGroups", [])):
            return True
    return False


def resolve_log_source(aws: Aws, names: Names, *, job: str, definitions: Mapping[str, str]) -> LogSource:
    """Find a job's log group: the awslogs-group of its latest ACTIVE job definition, else the group batchctl names
    for it, else Batch's default /aws/batch/job. `definitions` maps each step to its job definition name."""
    prefixes: dict[str, str] = {}
    configured: str | None = None
    for step, definition_name in definitions.items():
        definition = _latest_active_definition(aws, definition_name)
        options = _log_options(definition) if definition is not None else None
        if options is None:
            # Without an awslogs-stream-prefix Batch names streams `<job definition>/default/<task id>`.
            prefixes[step] = definition_name
            continue
        prefixes[step] = options.get("awslogs-stream-prefix") or definition_name
        configured = configured or options.get("awslogs-group")
    candidates = [
        (configured, "job definition"),
        (names.log_group(job), "batchctl default"),
        (BATCH_DEFAULT_LOG_GROUP, "Batch default"),
    ]
    tried: list[str] = []
    for group, origin in candidates:
        if group is None or group in tried:
            continue
        tried.append(group)
        if _group_exists(aws, group):
            return LogSource(group=group, stream_prefixes=prefixes, origin=origin)
    raise RunError(
        f"no log group found for job {job!r} (tried {', '.join(tried)})",
        hint="deploy the job with `batchctl deploy`; the group fills once a run has started its container",
    )


# ---- events -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One log line; `many_streams` says whether more than one stream has shown so far (then label lines)."""

    timestamp_ms: int
    ingestion_ms: int
    event_id: str
    stream: str
    message: str
    many_streams: bool = False

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


def stream_label(stream: str) -> str:
    """`<step>/<task id prefix>` for a Batch stream `<step>/<container>/<task id>`; other names as they are."""
    parts = stream.split("/")
    if len(parts) >= 3:
        return f"{parts[0]}/{parts[-1][:8]}"
    return stream


def _event_of(raw: AwsDict, *, many: bool) -> LogEvent:
    return LogEvent(
        timestamp_ms=int(raw.get("timestamp", 0)),
        ingestion_ms=int(raw.get("ingestionTime", 0)),
        event_id=str(raw.get("eventId", "")),
        stream=str(raw.get("logStreamName", "")),
        message=str(raw.get("message", "")).rstrip("\n"),
        many_streams=many,
    )


class _MissingStreamError(Exception):
    """FilterLogEvents named a stream that does not exist."""


@dataclass
class Tailer:
    """FilterLogEvents over one log group from `start_ms`, remembering what it printed (so a later pass or a follow
    never prints an event twice: AWS-QUIRKS 42, as `aws logs tail --follow` does)."""

    aws: Aws
    group: str
    start_ms: int
    on_event: Callable[[LogEvent], None]
    filter_pattern: str | None = None
    stream_prefix: str | None = None
    # Called before each pass; None means every stream. An empty answer means "nothing to read yet" (a run whose
    # Batch jobs have no stream until they run, AWS-QUIRKS 41).
    streams: Callable[[], Collection[str]] | None = None
    page_limit: int = MAX_PAGE_EVENTS
    sleep: Callable[[float], None] | None = None
    # Label every line with its stream from the first, when more than one stream can show (else from the second).
    label_streams: bool = False
    emitted: int = 0
    # Per stream: the newest timestamp printed and the ids printed at it.
    _positions: dict[str, tuple[int, set[str]]] = field(default_factory=dict)

    def poll(self) -> int:
        """One pass: every page from where each stream stopped (or the start); returns how many events it printed.

        Each stream keeps its own position. Parallel jobs write at their own pace: a stream whose job started late
        (or that did not exist yet when first asked for) holds lines older than the newest line of the others, and
        reading it from the others' position would drop them.
        """
        if self.streams is None:
            return self._pass(start_ms=self._resume_ms(), names=None)
        wanted = set(self.streams())
        seen = {name for name in wanted if name in self._positions}
        printed = 0
        if seen:
            printed += self._pass(start_ms=min(self._positions[name][0] for name in seen), names=seen)
        if wanted - seen:
            printed += self._pass(start_ms=self.start_ms, names=wanted - seen)
        return printed

    def _resume_ms(self) -> int:
        """Where a pass over the whole group starts: the newest line seen in any stream, as `aws logs tail` does."""
        newest = [timestamp for timestamp, _ids in self._positions.values()]
        return max(newest) if newest else self.start_ms

    def _pass(self, *, start_ms: int, names: set[str] | None) -> int:
        params: dict[str, object] = {
            "logGroupName": self.group,
            "startTime": start_ms,
            "limit": self.page_limit,
            # AWS always interleaves streams (the parameter is deprecated and ignored there); moto only when asked,
            # and without it pages would come stream by stream.
            "interleaved": True,
        }
        if self.filter_pattern:
            params["filterPattern"] = self.filter_pattern
        keep: set[str] | None = None
        if names is not None and len(names) <= MAX_STREAM_NAMES:
            params["logStreamNames"] = sorted(names)
        elif names is not None:
            keep = names  # too many names for one call: read the whole group and keep those streams
        elif self.stream_prefix:
            params["logStreamNamePrefix"] = self.stream_prefix
        try:
            first = self._filter(params, missing_ok=False)
        except _MissingStreamError:
            # One named stream that does not exist (yet: AWS-QUIRKS 41) fails the whole call: read the others.
            names = {name for name in names or () if self._stream_exists(name)}
            if not names:
                return 0
            params["logStreamNames"] = sorted(names)
            first = self._filter(params)
        printed = self._emit(first.get("events", []), names=names, keep=keep)
        token: str | None = first.get("nextToken")
        if token and len(first.get("events", [])) >= SLICE_AFTER_EVENTS:
            newest = max(int(e.get("timestamp", 0)) for e in first["events"])
            sliced = self._sliced(params, from_ms=newest, names=names, keep=keep)
            if sliced is not None:
                self.emitted += printed + sliced
                return printed + sliced
        # AWS-QUIRKS 39: an empty page with a nextToken is not the end.
        while token:
            page = self._filter(params | {"nextToken": token})
            printed += self._emit(page.get("events", []), names=names, keep=keep)
            token = page.get("nextToken")
        self.emitted += printed
        return printed

    def _sliced(
        self, params: dict[str, object], *, from_ms: int, names: set[str] | None, keep: set[str] | None
    ) -> int | None:
        """Read from `from_ms` (the newest timestamp of the first page) on in TIME_SLICES consecutive time ranges
        (the last one open), SLICE_PARALLELISM at a time, printing them in order. Events at `from_ms` that the first
        page printed already are skipped by `_is_new`. None when the range is too short to cut."""
        start = from_ms
        end = int(time.time() * 1000)
        if end - start < TIME_SLICES * MIN_SLICE_MS:
            return None
        cuts = [start + (end - start) * i // TIME_SLICES for i in range(TIME_SLICES)]
        ranges: list[tuple[int, int | None]] = [(cut, following - 1) for cut, following in pairwise(cuts)]
        ranges.append((cuts[-1], None))

        def fetch(time_range: tuple[int, int | None]) -> list[list[AwsDict]]:
            first_ms, last_ms = time_range
            query = params | {"startTime": first_ms} | ({"endTime": last_ms} if last_ms is not None else {})
            pages: list[list[AwsDict]] = []
            token: str | None = None
            while True:
                page = self._filter(query | ({"nextToken": token} if token else {}))
                pages.append(list(page.get("events", [])))
                token = page.get("nextToken")
                if not token:
                    return pages

        printed = 0
        with ThreadPoolExecutor(max_workers=SLICE_PARALLELISM) as pool:
            for pages in pool.map(fetch, ranges):  # in order; later slices are read meanwhile
                for events in pages:
                    printed += self._emit(events, names=names, keep=keep)
        return printed

    def _emit(self, events: Sequence[AwsDict], *, names: set[str] | None, keep: set[str] | None) -> int:
        """Print one page's new events in time order; returns how many."""
        raw_events = list(events)
        # FilterLogEvents interleaves streams; sort the page anyway so equal times come out in a stable order.
        raw_events.sort(
            key=lambda e: (
                int(e.get("timestamp", 0)),
                int(e.get("ingestionTime", 0)),
                str(e.get("eventId", "")),
            )
        )
        printed = 0
        for raw in raw_events:
            stream = str(raw.get("logStreamName", ""))
            if keep is not None and stream not in keep:
                continue
            # The prefix filter is exact on AWS; moto ignores it, so check it here too.
            if names is None and self.stream_prefix and not stream.startswith(self.stream_prefix):
                continue
            if not self._is_new(raw):
                continue
            self.on_event(_event_of(raw, many=self.label_streams or len(self._positions) > 1))
            printed += 1
        return printed

    def _is_new(self, raw: AwsDict) -> bool:
        """Track each stream's newest timestamp and the ids printed at it; later passes skip what is behind it."""
        stream = str(raw.get("logStreamName", ""))
        event_id = str(raw.get("eventId", ""))
        timestamp = int(raw.get("timestamp", 0))
        position = self._positions.get(stream)
        if position is None or timestamp > position[0]:
            self._positions[stream] = (timestamp, {event_id})
            return True
        newest, ids = position
        if timestamp < newest or event_id in ids:
            return False
        ids.add(event_id)
        return True

    def _stream_exists(self, name: str) -> bool:
        # DescribeLogStreams filters by prefix: compare the exact name.
        try:
            for page in self.aws.pages(
                "logs",
                "describe_log_streams",
                key=self.group,
                logGroupName=self.group,
                logStreamNamePrefix=name,
            ):
                if any(stream.get("logStreamName") == name for stream in page.get("logStreams", [])):
                    return True
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":  # the group itself is gone: nothing to read
                raise
        return False

    def _filter(self, params: dict[str, object], *, missing_ok: bool = True) -> AwsDict:
        """FilterLogEvents, backing off on throttling (AWS-QUIRKS 40: about 5 calls a second per account). A named
        stream that does not exist reads as no events, or with `missing_ok=False` raises _MissingStreamError."""
        delay = THROTTLE_FIRST_DELAY_S
        sleep = self.sleep or self.aws.sleep
        for retry in range(THROTTLE_MAX_RETRIES + 1):
            try:
                return self.aws.call("logs", "filter_log_events", key=self.group, **params)
            except AwsAuthError:
                raise
            except AwsError as exc:
                if exc.code == "ResourceNotFoundException" and "logStreamNames" in params:
                    # A stream named by a run may not exist yet (AWS-QUIRKS 41): nothing to read this time.
                    if not missing_ok:
                        raise _MissingStreamError from exc
                    return {"events": []}
                if exc.code == "ResourceNotFoundException":
                    raise RunError(
                        f"log group {self.group} does not exist", hint="deploy the job first"
                    ) from exc
                if exc.code not in THROTTLE_CODES or retry == THROTTLE_MAX_RETRIES:
                    raise
                log.debug("FilterLogEvents throttled; retrying in %.1fs", delay)
                sleep(delay)
                delay = min(delay * 2, THROTTLE_MAX_DELAY_S)
        raise AssertionError("unreachable")

    def follow(self, *, stop_event: threading.Event, poll_s: float = 1.0) -> None:
        """Poll until `stop_event` is set; each pass starts at the newest timestamp seen."""
        sleep = self.sleep or stop_event.wait
        while not stop_event.is_set():
            self.poll()
            if stop_event.is_set():
                return
            sleep(poll_s)


def tail(
    aws: Aws,
    group: str,
    *,
    start_ms: int,
    on_event: Callable[[LogEvent], None],
    filter_pattern: str | None = None,
    stream_prefix: str | None = None,
    streams: Callable[[], Collection[str]] | None = None,
    follow: bool = False,
    stop_event: threading.Event | None = None,
    sleep: Callable[[float], None] | None = None,
    poll_s: float = 1.0,
    page_limit: int = MAX_PAGE_EVENTS,
    label_streams: bool = False,
) -> int:
    """Print a log group's events from `start_ms` in time order (one pass), or keep following until `stop_event`
    is set; returns how many events were printed. `streams` narrows to those streams (e.g. one run's jobs),
    `stream_prefix` to one step's streams."""
    tailer = Tailer(
        aws=aws,
        group=group,
        start_ms=start_ms,
        on_event=on_event,
        filter_pattern=filter_pattern,
        stream_prefix=stream_prefix,
        streams=streams,
        page_limit=page_limit,
        sleep=sleep,
        label_streams=label_streams,
    )
    if follow:
        tailer.follow(stop_event=stop_event or threading.Event(), poll_s=poll_s)
    else:
        tailer.poll()
    return tailer.emitted
