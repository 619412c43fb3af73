"""`batchctl submit`: run a job now, through its queue (as the web app would) or straight to its workflow (--direct);
with --wait follow the run to its end (exit 0 when it succeeded, 1 otherwise), with --logs show its output too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.body import read_messages
from batchctl.cli.complete import complete_job
from batchctl.cli.context import CliState
from batchctl.cli.follow import wait_for_run
from batchctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from batchctl.runs import SubmitResult
    from batchctl.ui import Ui

PIPE_WAIT_S = 300.0  # how long --wait looks for the run the pipe starts for our message
POLL_S = 2.0


def submit(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job name from jobs.yaml.", autocompletion=complete_job)],
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
    run_time: Annotated[
        str | None,
        typer.Option("--time", help="With --direct: the run's time, ISO-8601 (UTC unless it has an offset)."),
    ] = None,
) -> None:
    """Run a job now, through its queue (or --direct), and print the message or run id."""
    state: CliState = ctx.obj
    ui = state.ui
    if (body is None) == (body_file is None):
        raise UsageError(
            "give exactly one of --body and --body-file",
            hint="--body TEXT, or --body-file FILE (- for stdin)",
        )
    from batchctl import runs

    if run_time is not None and not direct:
        raise UsageError(
            "--time needs --direct", hint="a run started through the queue takes its time from it"
        )
    time_text = runs.submit.parse_run_time(run_time) if run_time is not None else None
    wait = wait or logs
    info = runs.find_job(state.config(), job)
    messages, source = read_messages(body, body_file)
    if len(messages) > 1 and (direct or wait):
        raise UsageError(
            f"{source} holds {len(messages)} messages: {'--direct' if direct else '--wait'} takes one body",
            hint="send the .jsonl file through the queue without --direct/--wait, or give one --body",
        )
    if not direct:
        info.require_queue()
    for message in messages:  # every limit is checked before the first AWS call
        where = source if len(messages) == 1 else f"{source}:{message.line}"
        runs.check_body(message.body, commands=info.commands, via_queue=not direct, where=where)
    aws = state.aws()
    names = state.names()
    if direct:
        run_id = runs.start_direct(aws, names, job=info, body=messages[0].body, time=time_text)
        ui.info(f"started run {run_id} of {job}")
        if not wait:
            ui.emit({"job": job, "route": "direct", "run_id": run_id}, run_id)
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
            ui.emit({"job": job, "route": "queue", "message_id": message_id}, message_id)
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
    outcome = wait_for_run(state, aws, names, job=info, run_id=run_id, logs=logs, poll_s=POLL_S)
    ui.emit(
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


def _report_batch(ui: Ui, job: str, result: SubmitResult) -> None:
    sent, failed = len(result.sent), len(result.failed)

    def counts() -> None:
        for failure in result.failed:
            ui.warn(f"line {failure.line} not sent: {failure.code}: {failure.reason}")
        ui.result(f"sent {sent}, failed {failed}")

    ui.emit(
        {
            "job": job,
            "route": "queue",
            "sent": sent,
            "failed": [{"line": f.line, "code": f.code, "reason": f.reason} for f in result.failed],
            "message_ids": [{"line": s.line, "message_id": s.message_id} for s in result.sent],
        },
        counts,
    )
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))
