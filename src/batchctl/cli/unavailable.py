"""Commands of the documented surface that this version does not implement yet. They say so and exit 2;
they never pretend to work."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl.cli.context import not_available, state_of

HINT = "see README for what works in this version"


def register(app: typer.Typer) -> None:
    """Add the not-yet-available commands to `app` so `--help` shows the whole surface."""

    @app.command("submit")
    def submit(
        ctx: typer.Context,
        job: Annotated[str, typer.Argument(help="Job name from jobs.yaml.")],
        body: Annotated[str | None, typer.Option("--body", help="Message body.")] = None,
        body_file: Annotated[
            str | None, typer.Option("--body-file", help="File (or - for stdin); .jsonl.")
        ] = None,
        direct: Annotated[bool, typer.Option("--direct", help="Start the workflow directly.")] = False,
        wait: Annotated[bool, typer.Option("--wait", help="Follow the run to its end.")] = False,
        logs: Annotated[bool, typer.Option("--logs", help="With --wait, show container output.")] = False,
    ) -> None:
        """Run a job now, through its queue (or --direct)."""
        not_available(state_of(ctx).ui, "submit", HINT)

    @app.command("status")
    def status(
        ctx: typer.Context,
        job: Annotated[str | None, typer.Argument(help="Job name (all jobs if omitted).")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="Runs to show.")] = 20,
        failed: Annotated[
            bool, typer.Option("--failed", help="Only failed runs, with error and cause.")
        ] = False,
    ) -> None:
        """Recent runs: id, source, state, started, duration, Batch job ids."""
        not_available(state_of(ctx).ui, "status", HINT)

    @app.command("retry")
    def retry(ctx: typer.Context, run: Annotated[str, typer.Argument(help="Run id.")]) -> None:
        """Re-run a failed run with its original input."""
        not_available(state_of(ctx).ui, "retry", HINT)

    logs_app = typer.Typer(help="Container output of a job's runs.", no_args_is_help=True)

    @logs_app.command("tail")
    def tail(
        ctx: typer.Context,
        job: Annotated[str, typer.Argument(help="Job name.")],
        follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep polling for new events.")] = False,
        since: Annotated[str, typer.Option("--since", help="10m, 2h, 1d or an ISO time.")] = "1h",
        filter_pattern: Annotated[
            str | None, typer.Option("--filter", help="CloudWatch filter pattern.")
        ] = None,
        run: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
        step: Annotated[str | None, typer.Option("--step", help="Only this step.")] = None,
    ) -> None:
        """Print (and follow) a job's container output."""
        not_available(state_of(ctx).ui, "logs tail", HINT)

    app.add_typer(logs_app, name="logs")

    schedule_app = typer.Typer(help="Pause or resume a job's schedule.", no_args_is_help=True)

    @schedule_app.command("pause")
    def pause(ctx: typer.Context, job: Annotated[str, typer.Argument(help="Job name.")]) -> None:
        """Stop a job's schedule without a deploy."""
        not_available(state_of(ctx).ui, "schedule pause", HINT)

    @schedule_app.command("resume")
    def resume(ctx: typer.Context, job: Annotated[str, typer.Argument(help="Job name.")]) -> None:
        """Restart a job's schedule without a deploy."""
        not_available(state_of(ctx).ui, "schedule resume", HINT)

    app.add_typer(schedule_app, name="schedule")
