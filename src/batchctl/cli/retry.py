"""`batchctl retry RUN`: re-run a failed run with its original input (Step Functions redrive when it can resume the
run, otherwise a new execution `<run>-r<n>`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.complete import complete_run
from batchctl.cli.context import CliState


def retry(
    ctx: typer.Context,
    run: Annotated[
        str, typer.Argument(help="Run id (the RUN column of `batchctl status`).", autocompletion=complete_run)
    ],
) -> None:
    """Re-run a failed run with its original input; prints the id of the run now going."""
    from batchctl import runs

    state: CliState = ctx.obj
    ui = state.ui
    result = runs.retry_run(state.aws(), state.names(), jobs=sorted(state.config().jobs), run_id=run)
    if result.redriven:
        ui.info(escape(f"redrove run {run} of {result.job}: it resumes at the state that did not finish"))
    else:
        ui.info(escape(f"started run {result.run_id} of {result.job} with the input of run {run}"))
    payload = {
        "job": result.job,
        "retried": result.retried,
        "run_id": result.run_id,
        "method": "redrive" if result.redriven else "new-execution",
    }
    ui.emit(payload, result.run_id)
