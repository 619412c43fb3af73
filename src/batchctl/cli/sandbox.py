"""`batchctl sandbox`: embedded AWS on 127.0.0.1 for trying batchctl without an account."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl.cli.context import reporting, state_of


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
    ui = state_of(ctx).ui
    with reporting(ui):
        from batchctl import sandbox as sandbox_mod

        running = sandbox_mod.start(port=port, use_docker=docker)
        try:
            lines = [
                f"export AWS_ENDPOINT_URL={running.url}",
                "export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox",
            ]
            if ui.is_json:
                ui.json({"endpoint_url": running.url, "docker": running.use_docker})
            else:
                ui.info(f"sandbox listening on {running.url} (Ctrl-C stops it); in another shell:")
                for line in lines:
                    ui.result(line)
                if running.use_docker:
                    ui.info("Batch jobs run their containers on the local Docker engine.")
                else:
                    ui.info(
                        "no Docker engine answers: Batch jobs finish at once without running their container "
                        "(so they print no output)."
                    )
            sandbox_mod.wait_forever(running)
        except KeyboardInterrupt:
            ui.info("sandbox stopped")
        finally:
            running.stop()
