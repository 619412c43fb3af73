"""Spot interruptions: with `StrictOptions.spot_interruption_rate`, that share of Batch job attempts on SPOT or
FARGATE_SPOT compute (the first compute environment of the job's queue) is interrupted, with the compute type's own
statusReason ("Your Spot Task was interrupted." on Fargate Spot, "Host EC2 (instance i-...) terminated." on EC2
Spot), and the job is retried as its retryStrategy says: up to `attempts` attempts, the first `evaluateOnExit` rule
whose onStatusReason/onReason/onExitCode globs all match decides RETRY or EXIT, no match retries. moto never retries
a job and ignores evaluateOnExit once registered, so the attempts are made here.
[Batch user guide "Automated job retries", API_RetryStrategy, API_EvaluateOnExit; "Spot Instance interruptions"]

An in-process patch of moto's Batch Job (process-global, applied once): it judges only jobs submitted through a strict
server (the request's StrictApp, captured when the job is created), so lenient servers in the same process see moto's
behaviour. The same patch stops a Fargate job whose execution role cannot start it (job_start.py).
Imports: stdlib, app (CURRENT), job_start; moto inside patch_job_attempts.
"""

from __future__ import annotations

import fnmatch
import threading
import time
import uuid
from typing import Any

from batchctl.sandbox.strict.app import CURRENT, StrictApp
from batchctl.sandbox.strict.job_start import start_refusal

SPOT_TYPES = ("SPOT", "FARGATE_SPOT")
_patched = threading.Lock()
_patch_done = False


def interruption_reason(compute_type: str, app: StrictApp) -> str:
    if compute_type == "FARGATE_SPOT":
        return "Your Spot Task was interrupted."
    instance = "i-" + "".join(app.rng.choice("0123456789abcdef") for _ in range(17))
    return f"Host EC2 (instance {instance}) terminated."


def decide(rules: Any, *, status_reason: str, reason: str | None = None, exit_code: int | None = None) -> str:
    """RETRY or EXIT for one failed attempt, per evaluateOnExit (no rule, or no match: RETRY)."""
    for rule in rules if isinstance(rules, list) else []:
        checks = [
            ("onStatusReason", status_reason),
            ("onReason", reason),
            ("onExitCode", None if exit_code is None else str(exit_code)),
        ]
        wanted = [(rule[key], value) for key, value in checks if rule.get(key) is not None]
        if wanted and all(value is not None and fnmatch.fnmatchcase(value, glob) for glob, value in wanted):
            return str(rule.get("action", "RETRY")).upper()
    return "RETRY"


def attempt_stream(job: Any) -> str:
    """The log stream of one interrupted attempt: every attempt is a task of its own, so its own stream
    (`<prefix>/default/<task id>`, beside the job's). Not drawn from the seeded generator, so the interruptions a
    seed gives stay the same."""
    return f"{str(job._stream_name).rsplit('/', 1)[0]}/{uuid.uuid4().hex}"


def compute_type(job: Any) -> str:
    environments = getattr(job.job_queue, "environments", None) or []
    resources = (getattr(environments[0], "compute_resources", None) or {}) if environments else {}
    return str(resources.get("type", ""))


def interrupted_attempts(job: Any) -> str | None:
    """Add the attempts a spot interruption ends; the reason if none is left to run, None if one runs for real."""
    app = getattr(job, "batchctl_strict", None)
    kind = compute_type(job)
    if not isinstance(app, StrictApp) or app.options.spot_interruption_rate <= 0 or kind not in SPOT_TYPES:
        return None
    strategy = getattr(job.job_definition, "retry_strategy", None) or {}
    attempts = max(1, int(strategy.get("attempts") or 1))
    reason = ""
    for _ in range(attempts):
        with app.lock:
            interrupted = app.rng.random() < app.options.spot_interruption_rate
            reason = interruption_reason(kind, app) if interrupted else ""
        if not interrupted:
            return None
        _append_attempt(job, reason)
        if decide(strategy.get("evaluateOnExit"), status_reason=reason) == "EXIT":
            break
    return reason


def _append_attempt(job: Any, reason: str) -> None:
    now_ms = int(time.time() * 1000)
    job.attempts.append(
        {
            "container": {"logStreamName": attempt_stream(job), "networkInterfaces": [], "reason": reason},
            "startedAt": now_ms,
            "stoppedAt": now_ms,
            "statusReason": reason,
        }
    )


def refused_attempts(job: Any, reason: str) -> str:
    """Add the attempts a start refusal ends (each attempt fails alike, until the retry strategy gives up)."""
    strategy = getattr(job.job_definition, "retry_strategy", None) or {}
    for _ in range(max(1, int(strategy.get("attempts") or 1))):
        _append_attempt(job, reason)
        if decide(strategy.get("evaluateOnExit"), status_reason=reason) == "EXIT":
            break
    return reason


def failed_attempts(job: Any) -> str | None:
    """The reason a strict job fails without running (its execution role refuses its start, job_start.py, or Spot
    takes every attempt back), with its attempts added; None when an attempt runs for real."""
    refused = start_refusal(job, compute_type(job))
    if refused is not None:
        return refused_attempts(job, refused)
    return interrupted_attempts(job)


def _fail(job: Any, reason: str) -> None:
    from datetime import datetime

    job.job_started_at = datetime.now()
    job.log_stream_name = job.attempts[-1]["container"]["logStreamName"] if job.attempts else job._stream_name
    job.job_stopped_reason = reason
    job._mark_stopped(success=False)


def patch_job_attempts() -> None:
    """Make moto's Batch jobs (with and without Docker) go through `failed_attempts` first. Idempotent."""
    global _patch_done
    with _patched:
        if _patch_done:
            return
        from moto.batch import models as batch_models
        from moto.batch_simple import models as simple_models

        original_init = batch_models.Job.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self.batchctl_strict = CURRENT.get()

        original_finish = simple_models.BatchSimpleBackend._mark_job_as_finished

        def mark_finished(self: Any, include_start_attempt: bool, job: Any) -> None:
            reason = failed_attempts(job) if include_start_attempt else None
            if reason is None:
                original_finish(self, include_start_attempt, job)
                return
            self.backend._jobs[job.job_id] = job
            _fail(job, reason)

        original_run = batch_models.Job.run

        def run(self: Any) -> None:
            reason = failed_attempts(self)
            if reason is None:
                original_run(self)
            else:
                _fail(self, reason)

        setattr(batch_models.Job, "__init__", init)  # noqa: B010 (monkeypatch)
        setattr(batch_models.Job, "run", run)  # noqa: B010
        setattr(simple_models.BatchSimpleBackend, "_mark_job_as_finished", mark_finished)  # noqa: B010
        _patch_done = True
