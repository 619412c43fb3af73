"""The embedded sandbox (`batchctl sandbox`): moto on 127.0.0.1 with our fixes, the pipe relay, and optionally the
strict rules. Modules: server (start, Sandbox), patches (patch_moto), relay (PipeRelay), scheduler
(ScheduleRunner), errors, strict/ (rules).

Imports nothing from moto at module level: moto is the optional `sandbox` extra and slow to import.
"""

from __future__ import annotations

from batchctl.sandbox.errors import SandboxError
from batchctl.sandbox.patches import patch_moto
from batchctl.sandbox.relay import SANDBOX_REGION, PipeRelay
from batchctl.sandbox.scheduler import ScheduleRunner
from batchctl.sandbox.server import SANDBOX_CREDENTIALS, Sandbox, docker_answers, start, wait_forever
from batchctl.sandbox.strict import StrictOptions

__all__ = [
    "SANDBOX_CREDENTIALS",
    "SANDBOX_REGION",
    "PipeRelay",
    "Sandbox",
    "SandboxError",
    "ScheduleRunner",
    "StrictOptions",
    "docker_answers",
    "patch_moto",
    "start",
    "wait_forever",
]
