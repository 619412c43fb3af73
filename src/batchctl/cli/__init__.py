"""The command line. The only package that imports typer; commands are thin and live one per module."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    from batchctl.cli.app import app

    app()
