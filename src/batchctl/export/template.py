"""jobs.yaml → one CloudFormation template of every resource `deploy` creates, from the very specs `build` gives
deploy (built here with pseudo parameters for account, region and partition), in the plan's order, with the plan's
edges as Ref/GetAtt/DependsOn. Pure: no AWS call, no Docker, no terminal.

Imports: build, graph, config, specs, export.cfn, export.resources, yaml, stdlib.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from batchctl import build, graph
from batchctl.config import JobsFile
from batchctl.export.cfn import PSEUDO_CONTEXT, Resolver, arn_table, logical_ids
from batchctl.export.resources import MAPPERS, Target
from batchctl.specs import AwsDict, Key, Kind

FORMATS = ("json", "yaml")
KEY_METADATA = "batchctl:key"
# Data lives here: a deleted stack leaves these in place (DeletionPolicy Retain), unlike `batchctl destroy`.
RETAINED_KINDS = frozenset({Kind.ECR_REPOSITORY, Kind.LOG_GROUP})
CREATES_REPOSITORY = "CreatesRepository"
USES_IMAGE_URI = "UsesImageUri"


@dataclass(frozen=True)
class Note:
    """Something deploy does that the template does another way (`expressed`) or not at all (a warning)."""

    topic: str
    text: str
    expressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text}


@dataclass(frozen=True)
class Export:
    """The template, the specs it came from (key → logical IDs of its resources) and the notes on what differs."""

    template: AwsDict
    resources: dict[Key, tuple[str, ...]]
    notes: tuple[Note, ...]

    @property
    def warnings(self) -> list[str]:
        """One line per note the template does not express."""
        return [f"{n.topic}: {n.text}" for n in self.notes if not n.expressed]


def build_template(cfg: JobsFile, *, image_tag: str | None, config_path: str, version: str) -> Export:
    """The template of this project and stage; `image_tag` is the tag deploy would push (None with image.uri)."""
    specs = graph.order(build.build_specs(cfg, PSEUDO_CONTEXT, image_tag=image_tag))
    edges = graph.edges(specs)
    names = build.names_for(cfg, PSEUDO_CONTEXT)
    ids = logical_ids(s.key for s in specs)
    table = arn_table(specs, names)
    parameters, conditions, image = _image(cfg, names.repository, image_tag)
    builds_image = not cfg.image.uri
    resources: dict[str, AwsDict] = {}
    by_key: dict[Key, tuple[str, ...]] = {}
    notes = list(_notes(cfg))
    for spec in specs:
        # The repository is conditional (CreateRepository): nothing may DependsOn it, and a job definition does not
        # need it (Batch never checks an image when a definition is registered).
        deps = frozenset(d for d in edges[spec.key] if d.kind is not Kind.ECR_REPOSITORY)
        resolver = Resolver(ids=ids, table=table, depends=deps)
        mapped = MAPPERS[spec.kind](spec, resolver, Target(ids[spec.key], image))
        before = [logical for d in sorted(deps) for logical in by_key[d]]
        for logical, resource in mapped.items():
            resource["Metadata"] = {KEY_METADATA: str(spec.key)}
            needed = sorted(set(before) - set(_referenced(resource["Properties"])))
            if needed:
                resource["DependsOn"] = needed
            if spec.kind in RETAINED_KINDS:
                resource["DeletionPolicy"] = "Retain"
                resource["UpdateReplacePolicy"] = "Retain"
            if spec.kind is Kind.ECR_REPOSITORY:
                resource["Condition"] = CREATES_REPOSITORY
            resources[logical] = resource
        by_key[spec.key] = tuple(mapped)
    dropped = sorted(str(k) for k, deps in edges.items() for d in deps if d.kind is Kind.ECR_REPOSITORY)
    if dropped:
        notes.append(
            Note(
                "image repository",
                f"{', '.join(dropped)} do not wait for the repository: it is optional (CreateRepository) and Batch "
                "checks no image when a job definition is registered",
                expressed=True,
            )
        )
    template: AwsDict = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"batchctl {version}: project {cfg.project}, stage {cfg.stage}, exported from {config_path}"
        )[:1024],
        "Metadata": {
            "batchctl": {
                "version": version,
                "config": config_path,
                "project": cfg.project,
                "stage": cfg.stage,
                "expressed_otherwise": [n.to_dict() for n in notes if n.expressed],
                "not_expressed": [n.to_dict() for n in notes if not n.expressed],
            }
        },
        "Parameters": parameters,
    }
    if conditions:
        template["Conditions"] = conditions
    template["Resources"] = resources
    if builds_image:
        template["Outputs"] = {
            "Image": {"Description": "The image every job definition runs", "Value": image},
        }
    return Export(template=template, resources=by_key, notes=tuple(notes))


def render(template: AwsDict, fmt: str) -> str:
    """The template as JSON or YAML text (ending in a newline)."""
    if fmt == "yaml":
        return str(yaml.safe_dump(template, sort_keys=False, width=120, allow_unicode=True))
    return json.dumps(template, indent=2) + "\n"


def _image(cfg: JobsFile, repository: str, tag: str | None) -> tuple[AwsDict, AwsDict, Any]:
    """Parameters, conditions and the image expression the job definitions run."""
    if cfg.image.uri:
        parameters: AwsDict = {
            "ImageUri": {
                "Type": "String",
                "Default": cfg.image.uri,
                "Description": "The image every job runs",
            }
        }
        return parameters, {}, {"Ref": "ImageUri"}
    parameters = {
        "ImageTag": {
            "Type": "String",
            "Default": tag or "latest",
            "Description": "Tag in the stage's ECR repository (default: the content-derived tag batchctl pushes)",
        },
        "ImageUri": {
            "Type": "String",
            "Default": "",
            "Description": "A full image reference to run instead (empty: the stage's repository at ImageTag)",
        },
        "CreateRepository": {
            "Type": "String",
            "Default": "true",
            "AllowedValues": ["true", "false"],
            "Description": "false when the stage's ECR repository already exists (kept by destroy --keep-images)",
        },
    }
    conditions = {
        USES_IMAGE_URI: {"Fn::Not": [{"Fn::Equals": [{"Ref": "ImageUri"}, ""]}]},
        CREATES_REPOSITORY: {"Fn::Equals": [{"Ref": "CreateRepository"}, "true"]},
    }
    own = {
        "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + repository + ":${ImageTag}"
    }
    return parameters, conditions, {"Fn::If": [USES_IMAGE_URI, {"Ref": "ImageUri"}, own]}


def _referenced(value: Any) -> Iterator[str]:
    """Logical IDs a value names with Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            yield value["Ref"]
        attr = value.get("Fn::GetAtt")
        if isinstance(attr, list) and attr:
            yield str(attr[0])
        for v in value.values():
            yield from _referenced(v)
    elif isinstance(value, list):
        for v in value:
            yield from _referenced(v)


def _notes(cfg: JobsFile) -> Iterator[Note]:
    yield Note(
        "compute environment",
        "deploy waits for the compute environment to be VALID; CloudFormation waits for it to stabilize",
        expressed=True,
    )
    yield Note(
        "stage lock",
        "deploy holds a lock per project and stage; CloudFormation runs one operation per stack at a time",
        expressed=True,
    )
    yield Note(
        "ownership",
        "deploy proves each resource is tagged for this project and stage before changing it; a stack owns "
        "what it created and fails on a name that already exists",
        expressed=True,
    )
    yield Note(
        "region",
        f"jobs.yaml names region {cfg.region or '(none)'}; the template uses the region the stack is deployed in",
        expressed=True,
    )
    yield Note(
        "prune and drift",
        "deploy --prune deletes what jobs.yaml no longer declares and plan shows drift; a stack deletes what the "
        "template no longer holds and detects drift on its own",
        expressed=True,
    )
    if not cfg.image.uri:
        yield Note(
            "image",
            "the template never builds or pushes the image: run `batchctl image push` so the stage's repository "
            "holds ImageTag before jobs run",
            expressed=False,
        )
    if any(job.schedule for job in cfg.jobs.values()):
        yield Note(
            "schedule role propagation",
            "deploy retries CreateSchedule for up to 2 minutes while a new role becomes assumable by Scheduler; "
            "CloudFormation does not (retry the stack operation if a schedule fails on its role)",
            expressed=False,
        )
    if cfg.compute.type in ("EC2", "SPOT"):
        yield Note(
            "instance profile tags",
            "AWS::IAM::InstanceProfile takes no tags: the instance profile is untagged",
            expressed=False,
        )
    yield Note(
        "retained data",
        "the ECR repository and the log groups have DeletionPolicy Retain: deleting the stack keeps them",
        expressed=True,
    )
