"""`batchctl retry RUN`: re-run a failed run with its original input (Step Functions redrive when it can resume the
run, otherwise a new execution `<run>-r<n>`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import reporting, state_of
from batchctl.cli.submit import names_of


def retry(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run id (the RUN column of `batchctl status`).")],
) -> None:
    """Re-run a failed run with its original input; prints the id of the run now going."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl import runs

        cfg = state.config()
        aws = state.aws()
        result = runs.retry_run(aws, names_of(state), jobs=sorted(cfg.jobs), run_id=run)
        if result.redriven:
            ui.info(escape(f"redrove run {run} of {result.job}: it resumes at the state that did not finish"))
        else:
            ui.info(escape(f"started run {result.run_id} of {result.job} with the input of run {run}"))
        if ui.is_json:
            ui.json(
                {
                    "job": result.job,
                    "retried": result.retried,
                    "run_id": result.run_id,
                    "method": "redrive" if result.redriven else "new-execution",
                }
            )
        else:
            ui.result(escape(result.run_id))
