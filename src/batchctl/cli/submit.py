"""`batchctl submit`: run a job now, through its queue (as the web app would) or straight to its workflow (--direct);
with --wait follow the run to its end (exit 0 when it succeeded, 1 otherwise), with --logs show its output too."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState, reporting, state_of
from batchctl.errors import BatchctlError, ExitCode, RunError

if TYPE_CHECKING:
    from batchctl.aws import Aws
    from batchctl.logtail import LogEvent, LogSource
    from batchctl.naming import Names
    from batchctl.runs import JobInfo, Message, RunStatus, RunUpdate, SubmitResult
    from batchctl.ui import Ui

PIPE_WAIT_S = 300.0  # how long --wait looks for the run the pipe starts for our message
POLL_S = 2.0
STREAM_REFRESH_S = 5.0


def names_of(state: CliState) -> Names:
    """The names and ARNs of the configured project+stage in the caller's account."""
    from batchctl.naming import Names

    cfg = state.config()
    return Names(project=cfg.project, stage=cfg.stage, ctx=state.context())


def read_messages(body: str | None, body_file: str | None) -> tuple[list[Message], str]:
    """The messages to send and where they came from: --body, a file, stdin (-), or a .jsonl file (one per line)."""
    from batchctl.runs import Message, parse_jsonl

    if body is not None:
        return [Message(body=body)], "--body"
    assert body_file is not None
    if body_file == "-":
        return [Message(body=_strip_final_newline(sys.stdin.read()))], "stdin"
    path = Path(body_file)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RunError(
            f"cannot read {body_file}: {exc.strerror or exc}", hint="check the path given to --body-file"
        ) from None
    except UnicodeDecodeError as exc:
        raise RunError(
            f"cannot read {body_file}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    if path.suffix.lower() == ".jsonl":
        return parse_jsonl(text, source=body_file), body_file
    return [Message(body=_strip_final_newline(text))], body_file


def _strip_final_newline(text: str) -> str:
    # Editors end files with a newline; it is not part of the body.
    return text.removesuffix("\n").removesuffix("\r")


def submit(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job name from jobs.yaml.")],
    body: Annotated[str | None, typer.Option("--body", help="The message body.")] = None,
    body_file: Annotated[
        str | None,
        typer.Option(
            "--body-file",
            help="Read the body from FILE (- for stdin); a .jsonl file sends one message per line.",
        ),
    ] = None,
    direct: Annotated[
        bool, typer.Option("--direct", help="Start the workflow directly instead of sending to the queue.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the run to its end: exit 0 if it succeeded, 1 if not.")
    ] = False,
    logs: Annotated[
        bool, typer.Option("--logs", help="Show the container output while waiting (implies --wait).")
    ] = False,
) -> None:
    """Run a job now, through its queue (or --direct), and print the message or run id."""
    state = state_of(ctx)
    ui = state.ui
    if (body is None) == (body_file is None):
        raise typer.BadParameter(
            "give exactly one of --body and --body-file", param_hint="'--body' / '--body-file'"
        )
    wait = wait or logs
    with reporting(ui):
        from batchctl import runs

        info = runs.find_job(state.config(), job)
        messages, source = read_messages(body, body_file)
        if len(messages) > 1 and (direct or wait):
            raise RunError(
                f"{source} holds {len(messages)} messages: {'--direct' if direct else '--wait'} takes one body",
                hint="send the .jsonl file through the queue without --direct/--wait, or give one --body",
            )
        aws = state.aws()
        names = names_of(state)
        if direct:
            run_id = runs.start_direct(aws, names, job=info, body=messages[0].body)
            ui.info(f"started run {run_id} of {job}")
            if not wait:
                _print_result(ui, {"job": job, "route": "direct", "run_id": run_id}, run_id)
                return
        else:
            sent_at = datetime.now(UTC)
            with ui.status(f"sending {len(messages)} message(s) to {names.queue(job)}"):
                result = runs.submit_queue(aws, names, job=info, messages=messages, source=source)
            if len(messages) > 1:
                _report_batch(ui, job, result)
                return
            message_id = result.sent[0].message_id
            if not wait:
                ui.info(f"sent message {message_id} to {names.queue(job)}")
                _print_result(ui, {"job": job, "route": "queue", "message_id": message_id}, message_id)
                return
            ui.info(f"sent message {message_id}; waiting for the pipe to start its run")
            with ui.status("waiting for the run to start"):
                run_id = runs.find_execution_for_message(
                    aws,
                    names,
                    job=job,
                    message_id=message_id,
                    sent_at=sent_at,
                    timeout_s=PIPE_WAIT_S,
                    poll_s=POLL_S,
                )
            ui.info(f"run {run_id} started")
        outcome = wait_for_run(state, aws, names, job=info, run_id=run_id, logs=logs)
        _print_result(
            ui,
            {
                "job": job,
                "route": "direct" if direct else "queue",
                "run_id": run_id,
                "status": outcome.status,
                "error": outcome.error,
                "cause": outcome.cause,
            },
            run_id,
        )
        if not outcome.succeeded:
            raise typer.Exit(int(ExitCode.FAILED))


def _print_result(ui: Ui, payload: dict[str, object], text: str) -> None:
    if ui.is_json:
        ui.json(payload)
    else:
        ui.result(escape(text))


def _report_batch(ui: Ui, job: str, result: SubmitResult) -> None:
    sent, failed = len(result.sent), len(result.failed)
    if ui.is_json:
        ui.json(
            {
                "job": job,
                "route": "queue",
                "sent": sent,
                "failed": [{"line": f.line, "code": f.code, "reason": f.reason} for f in result.failed],
                "message_ids": [{"line": s.line, "message_id": s.message_id} for s in result.sent],
            }
        )
    else:
        for failure in result.failed:
            ui.warn(f"line {failure.line} not sent: {failure.code}: {failure.reason}")
        ui.result(f"sent {sent}, failed {failed}")
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))


def describe_update(update: RunUpdate) -> str:
    """One progress line for a change seen while following a run (markup-escaped)."""
    if update.batch_job_id is None:
        return f"run {escape(update.run_id)}: {escape(update.status)}"
    step = f"{update.step}: " if update.step else ""
    text = f"  {escape(step)}Batch job {escape(update.batch_job_id)} {escape(update.batch_status or '')}"
    if update.reason:
        text += f" ({escape(update.reason)})"
    return text


class RunStreams:
    """The log streams of one run (refreshed every few seconds while it runs), for `logtail` to read."""

    def __init__(self, aws: Aws, names: Names, *, job: str, run_id: str, step: str | None = None) -> None:
        from batchctl import runs

        self._aws, self._names, self._job, self._run_id, self._step = aws, names, job, run_id, step
        self._lock = threading.Lock()
        # The first look also proves that the run exists, and gives its start.
        self._streams, self._final, self.started = runs.run_log_streams(aws, names, job=job, run_id=run_id)
        self._checked_at = time.monotonic()

    def refresh(self) -> None:
        from batchctl import runs

        with self._lock:
            self._streams, self._final, _ = runs.run_log_streams(
                self._aws, self._names, job=self._job, run_id=self._run_id
            )
            self._checked_at = time.monotonic()

    def __call__(self) -> Collection[str]:
        if not self._final and time.monotonic() - self._checked_at >= STREAM_REFRESH_S:
            self.refresh()
        with self._lock:
            return [s for s, step in self._streams.items() if self._step is None or step == self._step]


def write_event(event: LogEvent, *, flush: bool) -> None:
    """One log line on stdout, labelled with its stream once more than one stream has shown."""
    from batchctl.logtail import stream_label

    prefix = f"{stream_label(event.stream)} | " if event.many_streams else ""
    sys.stdout.write(f"{prefix}{event.message}\n")
    if flush:
        sys.stdout.flush()


def wait_for_run(
    state: CliState, aws: Aws, names: Names, *, job: JobInfo, run_id: str, logs: bool
) -> RunStatus:
    """Follow a run to its end, printing progress on stderr (and its container output on stdout with `logs`)."""
    from batchctl import logtail, runs

    ui = state.ui
    tailer: logtail.Tailer | None = None
    thread: threading.Thread | None = None
    stop = threading.Event()
    failures: list[BatchctlError] = []
    streams: RunStreams | None = None
    if logs:
        source: LogSource | None = None
        try:
            source = logtail.resolve_log_source(
                aws, names, job=job.name, definitions=job.job_definitions(names)
            )
        except RunError as exc:
            ui.warn(f"no container output to show: {exc.message}")
        if source is not None:
            streams = RunStreams(aws, names, job=job.name, run_id=run_id)
            tailer = logtail.Tailer(
                aws=aws,
                group=source.group,
                start_ms=int(streams.started.timestamp() * 1000) - 60_000,
                on_event=lambda event: write_event(event, flush=True),
                streams=streams,
            )

            def pump() -> None:
                assert tailer is not None
                try:
                    tailer.follow(stop_event=stop, poll_s=1.0)
                except BatchctlError as exc:
                    failures.append(exc)

            thread = threading.Thread(target=pump, name="batchctl-logs", daemon=True)
            thread.start()
    try:
        outcome = runs.follow(
            aws,
            names,
            job=job.name,
            run_id=run_id,
            on_update=lambda u: ui.info(describe_update(u)),
            poll_s=POLL_S,
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
    if tailer is not None and streams is not None and not failures:
        # The last lines can reach CloudWatch Logs a moment after the job ends: read once more.
        time.sleep(1.0)
        try:
            streams.refresh()
            tailer.poll()
        except BatchctlError as exc:
            failures.append(exc)
    for failure in failures:
        ui.warn(f"reading the container output failed: {failure.message}")
    verdict = f"run {run_id} of {job.name} {outcome.status}"
    if outcome.succeeded:
        ui.info(escape(verdict))
    else:
        details = [part for part in (outcome.error, runs.summarize_cause(outcome.cause)) if part]
        ui.error(RunError(": ".join([verdict, *details])))
    return outcome
