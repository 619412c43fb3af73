"""jobs.yaml as validated, frozen models: load_config() and what other modules use, re-exported from the package.

models.py (field types, one model per section, JobsFile) · steps.py (each step's effective settings) · rules.py
(rules over several sections) · expressions.py (cron, rate, time zone) · issues.py (pydantic errors → positioned
issues) · load.py (parse, load, schema).
"""

from batchctl.config.expressions import cron_problem, rate_problem, timezone_problem
from batchctl.config.issues import _Dropped, render_path
from batchctl.config.load import config_schema, load_config, parse_config
from batchctl.config.models import (
    FARGATE_MEMORY_MIB,
    FARGATE_TYPES,
    LOG_RETENTION_DAYS,
    RUN_PARAMETERS,
    ComputeConfig,
    Defaults,
    ImageConfig,
    JobConfig,
    JobsFile,
    NetworkConfig,
    NotifyConfig,
    Permission,
    QueueConfig,
    ScheduleConfig,
    StepConfig,
)
from batchctl.config.steps import StepSettings, resolve_steps

__all__ = [
    "FARGATE_MEMORY_MIB",
    "FARGATE_TYPES",
    "LOG_RETENTION_DAYS",
    "RUN_PARAMETERS",
    "ComputeConfig",
    "Defaults",
    "ImageConfig",
    "JobConfig",
    "JobsFile",
    "NetworkConfig",
    "NotifyConfig",
    "Permission",
    "QueueConfig",
    "ScheduleConfig",
    "StepConfig",
    "StepSettings",
    "_Dropped",
    "config_schema",
    "cron_problem",
    "load_config",
    "parse_config",
    "rate_problem",
    "render_path",
    "resolve_steps",
    "timezone_problem",
]
