"""`batchctl outputs`: each job's queue URL and ARN, state machine ARN and the topic ARN, for the apps that submit
runs: a table, JSON, or `.env` lines (`FIBONACCI_QUEUE_URL=…`)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.context import CliState

if TYPE_CHECKING:
    from batchctl.endpoints import JobEndpoints
    from batchctl.ui import Ui


class OutputsFormat(StrEnum):
    """The global -o choices, and `env`."""

    TEXT = "text"
    JSON = "json"
    ENV = "env"


def outputs(
    ctx: typer.Context,
    output: Annotated[
        OutputsFormat | None,
        typer.Option("--output", "-o", help="text, json, or env (KEY=value lines for a .env file)."),
    ] = None,
) -> None:
    """Print each job's queue URL and ARN, state machine ARN and the topic ARN (for apps that submit)."""
    from batchctl import endpoints

    state: CliState = ctx.obj
    ui = state.ui
    cfg = state.config()
    with ui.status("reading queue URLs"):
        found = endpoints.read_endpoints(state.aws(), cfg, state.names())
    chosen = output or OutputsFormat(ui.output.value)
    payload = {"project": cfg.project, "stage": cfg.stage, "outputs": [e.to_dict() for e in found]}
    if chosen is OutputsFormat.JSON:
        ui.json(payload)
    elif chosen is OutputsFormat.ENV:
        for line in endpoints.env_lines(found):
            ui.out.print(line, markup=False, highlight=False)
    else:
        _render(ui, found)
    missing = [e.job for e in found if e.queue_name and not e.queue_url]
    if missing:
        ui.warn(f"no queue yet for {', '.join(missing)}: run `batchctl deploy`")


def _render(ui: Ui, found: list[JobEndpoints]) -> None:
    from rich.markup import escape

    for e in found:
        ui.result(escape(e.job))
        for label, value in (
            ("queue URL", e.queue_url),
            ("queue ARN", e.queue_arn),
            ("state machine ARN", e.state_machine_arn),
        ):
            if value:
                ui.result(f"  {label:<18} {escape(value)}")
    topic = next((e.topic_arn for e in found if e.topic_arn), None)
    if topic:
        ui.result(f"topic ARN            {escape(topic)}")
