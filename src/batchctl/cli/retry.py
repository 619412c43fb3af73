"""`batchctl retry RUN`: re-run a failed run with its original input (Step Functions redrive when it can resume the
run, otherwise a new execution `<run>-r<n>`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.complete import complete_run
from batchctl.cli.context import CliState, confirm_or_exit


def retry(
    ctx: typer.Context,
    run: Annotated[
        str,
        typer.Argument(
            help="Run id or a unique prefix (the RUN column of `batchctl status`).",
            autocompletion=complete_run,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Retry even if the run was already retried successfully.")
    ] = False,
) -> None:
    """Re-run a failed run with its original input; prints the id of the run now going."""
    from batchctl import runs

    state: CliState = ctx.obj
    ui = state.ui

    def ask(question: str) -> None:
        confirm_or_exit(ui, question=question, yes=False)

    # Off a terminal there is no one to ask: retry_run then refuses, with a hint to use --force.
    result = runs.retry_run(
        state.aws(),
        state.names(),
        jobs=sorted(state.config().jobs),
        run_id=run,
        force=force,
        confirm=ask if sys.stdin.isatty() else None,
    )
    if result.redriven:
        ui.info(
            escape(
                f"redrove run {result.retried} of {result.job}: it resumes at the state that did not finish"
            )
        )
    else:
        ui.info(escape(f"started run {result.run_id} of {result.job} with the input of run {result.retried}"))
    payload = {
        "job": result.job,
        "retried": result.retried,
        "run_id": result.run_id,
        "method": "redrive" if result.redriven else "new-execution",
    }
    ui.emit(payload, result.run_id)
