"""CloudWatch Logs rules moto lacks.

- FilterLogEvents naming in `logStreamNames` a stream that does not exist is refused with ResourceNotFoundException
  "The specified log stream does not exist." (moto reads the streams that exist and ignores the others). A Batch
  job's stream exists only once its container runs, so a run's named streams can be missing.
  [CloudWatch Logs API_FilterLogEvents, Errors; AWS-QUIRKS 41]

Imports: stdlib and the strict wire; StrictApp only for typing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchctl.sandbox.strict.wire import Call, RefusedError

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

MISSING_STREAM = "The specified log stream does not exist."


def install(app: StrictApp) -> None:
    def exists(call: Call, group: str, stream: str) -> bool | None:
        """Whether the stream exists; None when the group cannot be read (moto then answers for the group)."""
        answer = app.internal(
            call, "DescribeLogStreams", {"logGroupName": group, "logStreamNamePrefix": stream, "limit": 50}
        )
        if not answer.ok:
            return None
        return any(s.get("logStreamName") == stream for s in answer.json().get("logStreams", []))

    @app.before("logs", "FilterLogEvents")
    def named_streams_exist(call: Call) -> None:
        names = call.params.get("logStreamNames")
        group = call.params.get("logGroupName")
        if not isinstance(names, list) or not group:
            return
        if any(exists(call, str(group), str(name)) is False for name in names):
            raise RefusedError("ResourceNotFoundException", MISSING_STREAM)
