"""`batchctl schema`: the JSON Schema of jobs.yaml, for editors."""

from __future__ import annotations

import json
import sys

import typer

from batchctl.cli.context import reporting, state_of


def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of jobs.yaml (for editor completion and checks)."""
    ui = state_of(ctx).ui
    with reporting(ui):
        from batchctl.config import config_schema

        sys.stdout.write(json.dumps(config_schema(), indent=2, sort_keys=True) + "\n")
