"""What each step of a job runs with: step override, else job override, else defaults (StepSettings).

Imports: config.models, yamlpos (KeyPath), stdlib. resolve_traced() also says where each value was set, for rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batchctl.config.models import JobsFile, StepConfig
from batchctl.yamlpos import KeyPath


@dataclass(frozen=True)
class StepSettings:
    """One step with everything resolved: step override, else job override, else defaults."""

    name: str
    command: tuple[str, ...]
    vcpus: float
    memory_mib: int
    gpus: int
    timeout_s: int | None  # None: no Batch timeout (`timeout_s: null`)
    retries: int
    spot_retries: int
    array_size: int | None
    environment: dict[str, str]  # job env merged with step env (step wins)


_INHERITED = ("vcpus", "memory_mib", "gpus", "timeout_s", "retries")


@dataclass(frozen=True, slots=True)
class ResolvedStep:
    """A step's settings and where they came from, so that a broken rule points at the key that set the value."""

    settings: StepSettings
    source: dict[str, KeyPath]  # where each inherited value was set (or would be defaulted)
    chain: dict[str, tuple[KeyPath, ...]]  # every key read to find it, for `involves`


def _is_null(model: Any, key: str) -> bool:
    """Whether `key` is written out as null in `model` (only `timeout_s` may be)."""
    return (
        key == "timeout_s"
        and model is not None
        and key in model.model_fields_set
        and getattr(model, key) is None
    )


def resolve_traced(cfg: JobsFile, job: str) -> list[ResolvedStep]:
    """Resolve a job's steps, recording for each inherited value the key that set it and the keys read on the way."""
    job_cfg = cfg.jobs[job]
    job_loc: KeyPath = ("jobs", job)
    entries: list[tuple[StepConfig | None, KeyPath]]
    if job_cfg.steps is None:
        entries = [(None, job_loc)]
    else:
        entries = [(step, (*job_loc, "steps", index)) for index, step in enumerate(job_cfg.steps)]
    resolved: list[ResolvedStep] = []
    for step, step_loc in entries:
        values: dict[str, Any] = {}
        source: dict[str, KeyPath] = {}
        chain: dict[str, tuple[KeyPath, ...]] = {}
        for key in (*_INHERITED, "spot_retries"):
            candidates: list[tuple[Any, KeyPath]] = []
            if step is not None and key != "spot_retries":
                candidates.append((getattr(step, key), (*step_loc, key)))
            candidates.append((getattr(job_cfg, key), (*job_loc, key)))
            candidates.append((getattr(cfg.defaults, key), ("defaults", key)))
            # `timeout_s: null` written out means "no timeout" and ends the search; elsewhere None is "unset".
            nulls = {loc for model, loc in ((step, step_loc), (job_cfg, job_loc)) if _is_null(model, key)}
            setter = next(
                i
                for i, (v, w) in enumerate(candidates)
                if v is not None or w[:-1] in nulls or w[0] == "defaults"
            )
            values[key], source[key] = candidates[setter]
            # The keys read up to the one that set the value; later ones (e.g. defaults) never mattered.
            chain[key] = tuple(w for _, w in candidates[: setter + 1])
        settings = StepSettings(
            name=step.name if step is not None else "main",
            command=tuple(step.command if step is not None else job_cfg.command or ()),
            vcpus=float(values["vcpus"]),
            memory_mib=int(values["memory_mib"]),
            gpus=int(values["gpus"]),
            timeout_s=None if values["timeout_s"] is None else int(values["timeout_s"]),
            retries=int(values["retries"]),
            spot_retries=int(values["spot_retries"]),
            array_size=(
                step.array_size if step is not None and step.array_size is not None else job_cfg.array_size
            ),
            environment={**job_cfg.environment, **(step.environment if step is not None else {})},
        )
        resolved.append(ResolvedStep(settings, source, chain))
    return resolved


def resolve_steps(cfg: JobsFile, job: str) -> list[StepSettings]:
    """Resolve a job's steps (a `command` job is one step named "main") with inherited settings."""
    return [r.settings for r in resolve_traced(cfg, job)]
