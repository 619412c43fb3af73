"""What `destroy` needs when jobs.yaml cannot be used: project, stage and region (`read_identity` takes each from a
file that may not validate as a whole, if it is valid on its own), and the stand-in jobs.yaml built from them
(`stand_in`). Imports: config.models, errors, yamlpos, pydantic, stdlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from batchctl.config.models import DEFAULT_CIDR, JobsFile
from batchctl.errors import ConfigError, UsageError
from batchctl.yamlpos import MAX_DOCUMENT_BYTES, load_with_positions

# The one job of the stand-in: a job with every trigger, so each kind a job can bring is declared once. Its own
# resources are read like any other (and deleted if they exist: they would be ours by tag and name).
STAND_IN_JOB = "destroy-template"


@dataclass(frozen=True, slots=True)
class Identity:
    """Project, stage and region of a jobs.yaml; None where the file has no valid value."""

    project: str | None = None
    stage: str | None = None
    region: str | None = None


def read_identity(path: Path) -> Identity:
    """Project, stage and region of the jobs.yaml at `path`, each kept only if it is valid on its own (the rest
    of the file may break any rule); an unreadable or unparsable file gives an empty Identity."""
    try:
        with path.open("rb") as stream:
            text = stream.read(MAX_DOCUMENT_BYTES).decode("utf-8-sig")
        data, _ = load_with_positions(text, filename=str(path))
    except (OSError, UnicodeDecodeError, ConfigError):
        return Identity()
    if not isinstance(data, dict):
        return Identity()
    values = {name: data.get(name) for name in ("project", "stage", "region")}
    return Identity(**{name: value for name, value in values.items() if _is_valid(name, value)})


def _is_valid(name: str, value: object) -> bool:
    if not isinstance(value, str):
        return False
    probe = {"project": "p", "stage": "s", "region": None, name: value}
    try:
        _stand_in_model(str(probe["project"]), str(probe["stage"]), probe["region"])
    except ValidationError:
        return False
    return True


def stand_in(*, project: str, stage: str, region: str | None) -> JobsFile:
    """The jobs.yaml `destroy` uses when it has no valid one: every stage-wide resource batchctl can create (the
    network of `cidr`, an EC2 compute environment with its instance role and profile, the job queue, the
    repository, the topic, the schedule group) and one job with every trigger. Whatever of it exists (tagged ours)
    is deleted; the stage's jobs are found by tag and generated name as orphans. UsageError for a project, stage
    or region batchctl would never use (naming the option)."""
    try:
        return _stand_in_model(project, stage, region)
    except ValidationError as exc:
        error = exc.errors()[0]
        option = str(error["loc"][0]) if error["loc"] else "project"
        raise UsageError(
            f"--{option}: {error['input']!r} is not a valid {option}: {error['msg']}",
            hint="project and stage are lowercase letters, digits and '-', starting with a letter",
        ) from exc


def _stand_in_model(project: str, stage: str, region: str | None) -> JobsFile:
    # The bucket is never read on destroy: the trigger only makes the S3 rule and its role names batchctl's own.
    job = {
        "command": ["true"],
        "queue": {},
        "schedule": {"rate": "rate(1 day)"},
        "s3": {"bucket": "batchctl-stand-in"},
    }
    return JobsFile.model_validate(
        {
            "version": 1,
            "project": project,
            "stage": stage,
            "region": region,
            "network": {"cidr": DEFAULT_CIDR},
            "compute": {"type": "EC2"},
            "notify": {"topic": True},
            "jobs": {STAND_IN_JOB: job},
        }
    )
