"""Rules on where jobs can run at all: GPU jobs need GPU instance types, the image's CPU architecture needs
instance types of the same architecture. A job that breaks one would wait RUNNABLE forever (or fail with
"exec format error"), so validate refuses it offline.

Imports: config.awsvalues, config.models, config.steps, yamlpos (KeyPath), stdlib. rules.cross_field_rules calls these.
"""

from __future__ import annotations

from collections.abc import Iterator

from batchctl.config import awsvalues
from batchctl.config.models import FARGATE_TYPES, JobsFile, Rule
from batchctl.config.steps import ResolvedStep
from batchctl.yamlpos import KeyPath

DEFAULT_INSTANCE_TYPES = ("optimal",)


def _instance_types(cfg: JobsFile) -> tuple[str, ...]:
    return tuple(cfg.compute.instance_types or DEFAULT_INSTANCE_TYPES)


def _instance_types_at(cfg: JobsFile) -> KeyPath:
    """compute.instance_types when jobs.yaml sets it; else image.platform, the key that made the default wrong."""
    set_here = "instance_types" in cfg.compute.model_fields_set
    return ("compute", "instance_types") if set_here else ("image", "platform")


def gpu_placement_rule(cfg: JobsFile, step: ResolvedStep) -> Rule | None:
    """A step asking for GPUs on EC2/SPOT when none of compute.instance_types has a GPU (Batch would never place
    it: `optimal` and `default_*` are CPU-only families), or None."""
    if cfg.compute.type in FARGATE_TYPES or not step.settings.gpus:
        return None
    types = _instance_types(cfg)
    if any(awsvalues.is_gpu_type(t) for t in types):
        return None
    return Rule(
        step.source["gpus"],
        f"needs {step.settings.gpus} GPU(s) but no type of compute.instance_types ({', '.join(types)}) has one, "
        f"so Batch would never place it: list GPU families in compute.instance_types, e.g. "
        f"[{awsvalues.GPU_FAMILY_EXAMPLES}]",
        involves=(*step.chain["gpus"], ("compute", "instance_types"), ("compute", "type")),
    )


def platform_rules(cfg: JobsFile) -> Iterator[Rule]:
    """EC2/SPOT instance types whose CPU architecture is not image.platform's (Fargate follows runtimePlatform)."""
    if cfg.compute.type in FARGATE_TYPES:
        return
    platform = cfg.image.platform
    types = _instance_types(cfg)
    involves: tuple[KeyPath, ...] = (
        ("compute", "instance_types"),
        ("image", "platform"),
        ("compute", "type"),
    )
    if platform == "linux/arm64":
        wrong = [t for t in types if not awsvalues.is_arm_type(t)]
        if wrong:
            yield Rule(
                _instance_types_at(cfg),
                f"image.platform is linux/arm64 but {', '.join(wrong)} "
                f"{'is' if len(wrong) == 1 else 'are'} x86_64: list default_arm64 or Graviton families in "
                f"compute.instance_types, e.g. [{awsvalues.GRAVITON_FAMILY_EXAMPLES}]",
                involves=involves,
            )
    else:
        wrong = [t for t in types if awsvalues.is_arm_type(t)]
        if wrong:
            yield Rule(
                _instance_types_at(cfg),
                f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} arm64 (Graviton) but the image is built "
                f"for {platform}: set image.platform: linux/arm64, or list x86_64 types",
                involves=involves,
            )
