"""Run the CLI as `python -m batchctl`."""

from batchctl.cli import main

main()
