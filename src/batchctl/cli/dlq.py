"""`batchctl dlq JOB`: how many messages wait in the job's dead-letter queue; `--show N` prints some of them
without taking them; `--redrive` moves them back to the job's queue. `runs.dlq` does the work."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from batchctl.cli.complete import complete_job
from batchctl.cli.context import CliState


def dlq(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job name (a job with `queue:`).", autocompletion=complete_job)],
    show: Annotated[
        int,
        typer.Option(
            "--show", min=0, max=10, metavar="N", help="Also print N messages (1-10); they stay in the queue."
        ),
    ] = 0,
    redrive: Annotated[
        bool,
        typer.Option("--redrive", help="Move the messages back to the job's queue (SQS message move task)."),
    ] = False,
) -> None:
    """Messages in a job's dead-letter queue: how many, some of them (--show N), or move them back (--redrive)."""
    from batchctl import runs
    from batchctl.runs import dlq as dead_letters

    state: CliState = ctx.obj
    ui = state.ui
    info = runs.find_job(state.config(), job)
    aws = state.aws()
    queue = dead_letters.dead_letter_queue(aws, state.names(), info)
    peeked = dead_letters.peek(aws, queue, show)
    if show and peeked:
        ui.info(
            f"{len(peeked)} message(s) read with visibility timeout {dead_letters.PEEK_VISIBILITY_TIMEOUT_S}: "
            "they stay in the queue, visible, and SQS keeps no order"
        )
    payload: dict[str, Any] = {
        "job": job,
        "dead_letter_queue": queue.name,
        "waiting": queue.waiting,
        "in_flight": queue.in_flight,
        "messages": [
            {"message_id": m.message_id, "body": m.body, "receive_count": m.receive_count} for m in peeked
        ],
        "redrive": None,
    }
    if redrive and queue.waiting == 0:
        ui.info("nothing to move back")
    elif redrive:
        handle = dead_letters.redrive(aws, queue)
        payload["redrive"] = {"task_handle": handle, "destination": queue.queue_arn}
        ui.info(
            escape(
                f"moving about {queue.waiting} message(s) back to the queue of {job} in the background; "
                f"`batchctl dlq {job}` shows how many remain"
            )
        )

    def text() -> None:
        flight = f" ({queue.in_flight} in flight)" if queue.in_flight else ""
        ui.result(escape(f"{queue.waiting} message(s) in {queue.name}{flight}"))
        for message in peeked:  # a body on one line as it is, however long
            ui.out.print(escape(f"{message.message_id}: {message.body}"), soft_wrap=True)

    ui.emit(payload, text)
