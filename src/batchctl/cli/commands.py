"""The command table: each command's module (imported only when the command runs or shows its own help) and the
one-line summary `batchctl --help` lists without loading it. Imports: typer."""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main

# Command name → (module, attribute): a command function, or a Typer holding subcommands.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("batchctl.cli.validate", "validate"),
    "plan": ("batchctl.cli.plan", "plan"),
    "deploy": ("batchctl.cli.deploy", "deploy"),
    "destroy": ("batchctl.cli.destroy", "destroy"),
    "schema": ("batchctl.cli.schema", "schema"),
    "sandbox": ("batchctl.cli.sandbox", "sandbox"),
    "run": ("batchctl.cli.run", "run"),
    "init": ("batchctl.cli.init", "init"),
    "submit": ("batchctl.cli.submit", "submit"),
    "status": ("batchctl.cli.status", "status"),
    "retry": ("batchctl.cli.retry", "retry"),
    "image": ("batchctl.cli.image", "image_app"),
    "logs": ("batchctl.cli.logs", "logs_app"),
    "schedule": ("batchctl.cli.schedule", "schedule_app"),
    "unlock": ("batchctl.cli.unlock", "unlock"),
    "export": ("batchctl.cli.export", "export_app"),
    "dlq": ("batchctl.cli.dlq", "dlq"),
    "outputs": ("batchctl.cli.outputs", "outputs"),
}
# What `batchctl --help` lists for each command without loading it: its help text (a unit test keeps them equal).
SUMMARIES: dict[str, str] = {
    "validate": "Check jobs.yaml offline; exit 3 listing every problem with its line and column.",
    "plan": "Show what deploy would change (reads AWS, changes nothing).",
    "deploy": "Build and push the image, then create or update every resource of jobs.yaml, idempotently.",
    "destroy": "Delete every resource of this project and stage, dependents first.",
    "schema": "Print the JSON Schema of jobs.yaml (for editor completion and checks).",
    "sandbox": "Run an embedded AWS (moto) on 127.0.0.1 until Ctrl-C; point batchctl at it with AWS_ENDPOINT_URL.",
    "run": "Run a job's container locally with the command, environment and Ref:: substitution Batch would use.",
    "init": "Scaffold jobs.yaml, Dockerfile and job/ (one on-demand and one scheduled job) in an empty folder.",
    "submit": "Run a job now, through its queue (or --direct), and print the message or run id.",
    "status": "Recent runs: id (or a unique prefix), source, status, started, duration, Batch jobs.",
    "retry": "Re-run a failed run with its original input; prints the id of the run now going.",
    "image": "Build and push the job image.",
    "logs": "Container output of a job's runs.",
    "schedule": "Pause or resume a job's schedule.",
    "unlock": "Break the lock of this project and stage, left by a command that is gone (shows the holder, then asks).",
    "export": "Export the stage's resources for another tool.",
    "dlq": "Messages in a job's dead-letter queue: how many, some of them (--show N), or move them back (--redrive).",
    "outputs": "Print each job's queue URL and ARN, state machine ARN and the topic ARN (for apps that submit).",
}


def load_command(name: str) -> Any:
    """The click command of `name`, built by typer from its module (imported now)."""
    module_name, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        group: Any = typer.main.get_group(target)  # as add_typer would: a group even with one subcommand
        group.name = name
        return group
    single = typer.Typer(add_completion=False)
    single.command(name)(target)
    return typer.main.get_command(single)
