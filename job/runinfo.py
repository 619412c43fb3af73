"""What every job of the example reads: the run's input, as batchctl passes it to each container.

Batch substitutes `Ref::body`, `Ref::time`, ... in the command; the same values arrive as the environment
variables BATCHCTL_BODY, BATCHCTL_TIME, BATCHCTL_SOURCE and BATCHCTL_RUN_ID.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    body: str
    time: datetime
    source: str
    run_id: str

    def json_body(self) -> dict[str, Any]:
        """The body parsed as a JSON object ({} when empty)."""
        if not self.body.strip():
            return {}
        value = json.loads(self.body)
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object as body, got {type(value).__name__}")
        return value


def parse_time(text: str) -> datetime:
    """ISO-8601 time (a trailing Z is UTC); now when empty."""
    if not text:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def current(*, body: str | None = None, time: str | None = None) -> RunInfo:
    """The run's input: command-line values win over the environment."""
    return RunInfo(
        body=body if body is not None else os.environ.get("BATCHCTL_BODY", ""),
        time=parse_time(time if time is not None else os.environ.get("BATCHCTL_TIME", "")),
        source=os.environ.get("BATCHCTL_SOURCE", "cli"),
        run_id=os.environ.get("BATCHCTL_RUN_ID", "local"),
    )
