"""`batchctl schema`: the JSON Schema of jobs.yaml, for editors."""

from __future__ import annotations

import json
import sys


def schema() -> None:
    """Print the JSON Schema of jobs.yaml (for editor completion and checks)."""
    from batchctl.config import config_schema

    sys.stdout.write(json.dumps(config_schema(), indent=2, sort_keys=True) + "\n")
