"""`batchctl sandbox`: embedded AWS on 127.0.0.1 for trying batchctl without an account."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState
from batchctl.errors import UsageError


def sandbox(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 4750,  # not 5000: macOS's AirPlay receiver and many development servers listen there
    docker: Annotated[
        bool | None,
        typer.Option(
            "--docker/--no-docker",
            help="Run Batch jobs' containers and Lambda handlers on the local Docker engine (default: when one "
            "answers).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Enforce AWS rules moto lacks: async states, IAM propagation, request limits."
        ),
    ] = False,
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=0.0, help="Multiply AWS's waits by this (with --strict).")
    ] = 1.0,
    spot_interruption_rate: Annotated[
        float,
        typer.Option(
            "--spot-interruption-rate",
            min=0.0,
            max=1.0,
            help="Share of Spot job attempts interrupted (--strict).",
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Spot interruption draws (--strict).")] = 0,
) -> None:
    """Run an embedded AWS (moto) on 127.0.0.1 until Ctrl-C; point batchctl at it with AWS_ENDPOINT_URL."""
    from batchctl import sandbox as sandbox_mod

    state: CliState = ctx.obj
    ui = state.ui
    if not strict and (time_scale != 1.0 or spot_interruption_rate or seed):
        raise UsageError(
            "--time-scale, --spot-interruption-rate and --seed tune the strict sandbox",
            hint="add --strict",
        )
    options = (
        sandbox_mod.StrictOptions(
            time_scale=time_scale, spot_interruption_rate=spot_interruption_rate, seed=seed
        )
        if strict
        else None
    )
    running = sandbox_mod.start(port=port, use_docker=docker, strict=options)
    credentials = " ".join(f"{name}={value}" for name, value in sandbox_mod.SANDBOX_CREDENTIALS.items())

    def listening() -> None:
        ui.info(f"sandbox listening on {running.url} (Ctrl-C stops it); in another shell:")
        exports = (
            f"AWS_ENDPOINT_URL={running.url} AWS_DEFAULT_REGION={sandbox_mod.SANDBOX_REGION} {credentials}"
        )
        ui.result(escape(f"export {exports}"))
        if strict:
            ui.info(f"strict: AWS's rules moto lacks are enforced (time scale {time_scale:g}).")
        if running.use_docker:
            ui.info("Batch jobs and Lambda handlers run in containers on the local Docker engine.")
        else:
            ui.info(
                "no Docker engine answers: Batch jobs finish at once without running their container "
                "(so they print no output), and a Lambda handler's code does not run (its call succeeds and "
                "returns the event it was given)."
            )

    try:
        ui.emit({"endpoint_url": running.url, "docker": running.use_docker, "strict": strict}, listening)
        sandbox_mod.wait_forever(running)
    except KeyboardInterrupt:
        ui.info("sandbox stopped")
    finally:
        running.stop()
