"""The command line. The only package that imports typer; commands are thin and live one per module."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    import os

    # pydantic otherwise scans every installed distribution's entry points for plugins on the first model it
    # builds (tens of ms on each start); batchctl uses none. Set the variable yourself to load plugins anyway.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from batchctl.cli.app import app

    app()
