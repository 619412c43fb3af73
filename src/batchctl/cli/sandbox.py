"""`batchctl sandbox`: embedded AWS on 127.0.0.1 for trying batchctl without an account."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState


def sandbox(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 5000,
    docker: Annotated[
        bool | None,
        typer.Option(
            "--docker/--no-docker",
            help="Run Batch jobs' containers on the local Docker engine (default: when one answers).",
        ),
    ] = None,
) -> None:
    """Run an embedded AWS (moto) on 127.0.0.1 until Ctrl-C; point batchctl at it with AWS_ENDPOINT_URL."""
    from batchctl import sandbox as sandbox_mod

    state: CliState = ctx.obj
    ui = state.ui
    running = sandbox_mod.start(port=port, use_docker=docker)
    credentials = " ".join(f"{name}={value}" for name, value in sandbox_mod.SANDBOX_CREDENTIALS.items())

    def listening() -> None:
        ui.info(f"sandbox listening on {running.url} (Ctrl-C stops it); in another shell:")
        ui.result(escape(f"export AWS_ENDPOINT_URL={running.url}\nexport {credentials}"))
        if running.use_docker:
            ui.info("Batch jobs run their containers on the local Docker engine.")
        else:
            ui.info(
                "no Docker engine answers: Batch jobs finish at once without running their container "
                "(so they print no output)."
            )

    try:
        ui.emit({"endpoint_url": running.url, "docker": running.use_docker}, listening)
        sandbox_mod.wait_forever(running)
    except KeyboardInterrupt:
        ui.info("sandbox stopped")
    finally:
        running.stop()
