"""DESIGN §7: `submit JOB --body-file lines.jsonl` of 10,000 lines ≤ 5 s (SendMessageBatch, concurrent), every
message accounted for.

Arrange (not timed): deploy a 3-job file (job-000 has a queue). Then 3 timed submits of the same 10,000-line file;
after each, the queue's ApproximateNumberOfMessages, read straight from moto (not through the proxy), must have grown
by exactly 10,000. The sandbox's pipe relay is off, so nothing drains the queue meanwhile.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness as h

LINES = 10_000
REPEAT = 3
BOUND_S = 5.0
JOB = "job-000"


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def main() -> list[h.Row]:
    h.heading(f"submit of {LINES:,} lines")
    with h.stack() as box, tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp:
        folder = h.project_folder(Path(tmp), jobs=3, name="submit")
        lines = folder / "lines.jsonl"
        lines.write_text("".join(json.dumps({"n": i, "payload": f"line {i}"}) + "\n" for i in range(LINES)))
        h.deploy_unmeasured(box, folder)
        sqs = box.client("sqs")
        url = sqs.get_queue_url(QueueName=f"bench-b-{JOB}")["QueueUrl"]

        times: list[float] = []
        counted: list[int] = []
        cpu: list[float] = []
        moto_cpu: list[float] = []
        calls_seen = None
        for i in range(REPEAT):
            before = queue_depth(sqs, url)
            box.reset_calls()
            moto_before = box.server_cpu_s()
            result = h.batchctl(box, folder, "submit", JOB, "--body-file", str(lines), timeout_s=120)
            moto_cpu.append(box.server_cpu_s() - moto_before)
            cpu.append(result.cpu_s)
            if h.not_available(result):
                print(f"  `batchctl submit` is not available yet: {result.stderr.strip()[:200]}")
                return [h.Row(f"`submit --body-file`, {LINES:,} lines", "≤ 5 s", "not available yet", "n/a")]
            result.check()
            times.append(result.seconds)
            counted.append(queue_depth(sqs, url) - before)
            if i == 0:
                calls_seen = box.calls()
                print(f"  output: {result.stdout.strip()[-200:]}")
            print(
                f"  run {i + 1}: {h.secs(result.seconds)}, queue grew by {counted[-1]:,}; CPU: batchctl "
                f"{h.secs(cpu[-1])}, the sandbox (moto) {h.secs(moto_cpu[-1])}"
            )
        assert calls_seen is not None
        h.print_calls(calls_seen, title="AWS calls of one submit")

    took = h.median(times)
    complete = all(n == LINES for n in counted)
    return [
        h.Row(
            f"`submit --body-file`, {LINES:,} lines",
            "≤ 5 s, all in the queue",
            f"{h.secs(took)} (median of {REPEAT}); queue grew by {', '.join(f'{n:,}' for n in counted)}",
            h.verdict(took <= BOUND_S and complete),
            f"CPU: batchctl {h.secs(h.median(cpu))}, sandbox {h.secs(h.median(moto_cpu))}; "
            f"latency alone 1,000 calls × {h.DELAY_MS:.0f} ms / 32 in flight = {h.secs(1000 * h.DELAY_MS / 1000 / 32)}",
        )
    ]


if __name__ == "__main__":
    h.emit(main())
    sys.exit(0)
