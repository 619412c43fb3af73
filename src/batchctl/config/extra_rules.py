"""Rules over the keys of config/extras.py: what each needs of the others (queue without dead-letter queue, Fargate
settings, workflow logs, roles, a shared job queue). Imports: config.models, config.extras, yamlpos, stdlib.

rules.cross_field_rules adds these to its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from batchctl.config.models import JobsFile, Rule
from batchctl.yamlpos import KeyPath


def _queue_rules(cfg: JobsFile) -> Iterator[Rule]:
    for job, job_cfg in cfg.jobs.items():
        queue = job_cfg.queue
        if queue is None:
            continue
        loc: KeyPath = ("jobs", job, "queue")
        if not queue.dead_letter and "max_receive_count" in queue.model_fields_set:
            yield Rule(
                (*loc, "max_receive_count"),
                "max_receive_count moves a message to the dead-letter queue, and dead_letter is false: drop one",
                involves=((*loc, "max_receive_count"), (*loc, "dead_letter")),
            )


def extra_rules(cfg: JobsFile) -> list[Rule]:
    """Every rule over the keys of config/extras.py."""
    return [*_queue_rules(cfg)]
