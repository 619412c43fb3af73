"""export cloudformation: the template holds every resource the plan holds (one to one), expresses the plan's edges,
serves any account and region, and AWS's own linter (cfn-lint) finds no error in it, for the example and a matrix of
configs (tests/data/export: each compute type, an existing network, queue/schedule/multi-step/array jobs, secrets,
Lambda handlers, image.uri)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from batchctl import build, engine
from batchctl.config import JobsFile, load_config
from batchctl.export import KEY_METADATA, Export, build_template, render
from batchctl.export.cfn import PSEUDO_CONTEXT
from batchctl.export.resources import MAPPERS, RUNNABLE_TIMEOUT_REASONS
from batchctl.naming import AwsContext
from batchctl.provisioners import batch as batch_provisioner
from batchctl.provisioners import ecr, job_definition, pipes, scheduler, sqs
from batchctl.specs import Key, Kind

ROOT = Path(__file__).resolve().parents[2]
MATRIX = [ROOT / "jobs.yaml", *sorted((ROOT / "tests" / "data" / "export").glob("*.yaml"))]
TAG = "b-0123456789abcdef"
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]
# cfn-lint warnings we accept, by rule id, with the reason. Empty: every warning was fixed.
ACCEPTED_WARNINGS: dict[str, str] = {}
# The CloudFormation type of each kind's own resource (the others a kind adds are its parts: attachment, routes).
PRIMARY_TYPES = {
    Kind.IAM_ROLE: "AWS::IAM::Role",
    Kind.IAM_INSTANCE_PROFILE: "AWS::IAM::InstanceProfile",
    Kind.VPC: "AWS::EC2::VPC",
    Kind.SUBNET: "AWS::EC2::Subnet",
    Kind.INTERNET_GATEWAY: "AWS::EC2::InternetGateway",
    Kind.ROUTE_TABLE: "AWS::EC2::RouteTable",
    Kind.SECURITY_GROUP: "AWS::EC2::SecurityGroup",
    Kind.ECR_REPOSITORY: "AWS::ECR::Repository",
    Kind.LOG_GROUP: "AWS::Logs::LogGroup",
    Kind.SNS_TOPIC: "AWS::SNS::Topic",
    Kind.SQS_QUEUE: "AWS::SQS::Queue",
    Kind.COMPUTE_ENVIRONMENT: "AWS::Batch::ComputeEnvironment",
    Kind.JOB_QUEUE: "AWS::Batch::JobQueue",
    Kind.JOB_DEFINITION: "AWS::Batch::JobDefinition",
    Kind.STATE_MACHINE: "AWS::StepFunctions::StateMachine",
    Kind.PIPE: "AWS::Pipes::Pipe",
    Kind.SCHEDULE_GROUP: "AWS::Scheduler::ScheduleGroup",
    Kind.SCHEDULE: "AWS::Scheduler::Schedule",
    Kind.EVENT_RULE: "AWS::Events::Rule",
}
PART_TYPES = {
    Kind.INTERNET_GATEWAY: {"AWS::EC2::VPCGatewayAttachment"},
    Kind.ROUTE_TABLE: {"AWS::EC2::Route", "AWS::EC2::SubnetRouteTableAssociation"},
}


def config(path: Path) -> JobsFile:
    return load_config(path)


def export(cfg: JobsFile, path: Path) -> Export:
    return build_template(
        cfg, image_tag=None if cfg.image.uri else TAG, config_path=path.name, version="9.9.9"
    )


def planned_keys(cfg: JobsFile) -> list[Key]:
    """The resources `plan` lists for a stage where nothing exists yet (every change a create)."""
    specs = build.build_specs(cfg, AwsContext.placeholder("eu-west-1"), image_tag=TAG)
    plan = engine.make_plan(specs, {}, project=cfg.project, stage=cfg.stage)
    return [change.key for change in plan.changes]


def cfn_lint(template: dict[str, Any]) -> list[Any]:
    return list(lint(json.dumps(template), config=ManualArgs(regions=REGIONS)))


def references(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["Ref"]} if isinstance(value.get("Ref"), str) else set()
        if isinstance(value.get("Fn::GetAtt"), list):
            found.add(value["Fn::GetAtt"][0])
        return found.union(*(references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(references(v) for v in value))
    return set()


@pytest.fixture(params=MATRIX, ids=lambda p: p.stem)
def case(request: pytest.FixtureRequest) -> tuple[JobsFile, Export]:
    path: Path = request.param
    cfg = config(path)
    return cfg, export(cfg, path)


def test_every_kind_has_a_mapping() -> None:
    assert set(MAPPERS) == set(Kind)


def test_plan_and_template_resources_correspond_one_to_one(case: tuple[JobsFile, Export]) -> None:
    cfg, exported = case
    resources = exported.template["Resources"]
    planned = planned_keys(cfg)
    assert len(planned) == len(set(planned))
    # Each planned resource is exactly one template resource of its kind's type...
    primaries: dict[str, list[str]] = {}
    for logical, resource in resources.items():
        key = resource["Metadata"][KEY_METADATA]
        kind = Kind(key.split("/", 1)[0])
        if resource["Type"] == PRIMARY_TYPES[kind]:
            primaries.setdefault(key, []).append(logical)
        else:  # ...and every other template resource is a part of one of them
            assert resource["Type"] in PART_TYPES.get(kind, set()), (logical, key)
    assert sorted(primaries) == sorted(str(k) for k in planned)
    assert all(len(logicals) == 1 for logicals in primaries.values())
    assert sorted(map(str, exported.resources)) == sorted(map(str, planned))


def test_plan_edges_are_refs_or_depends_on(case: tuple[JobsFile, Export]) -> None:
    cfg, exported = case
    resources = exported.template["Resources"]
    specs = build.build_specs(cfg, AwsContext.placeholder("eu-west-1"), image_tag=TAG)
    plan = engine.make_plan(specs, {}, project=cfg.project, stage=cfg.stage)
    noted = json.dumps(exported.template["Metadata"]["batchctl"]["expressed_otherwise"])
    for key, deps in plan.edges.items():
        (logical, *_) = exported.resources[key]
        resource = resources[logical]
        named = references(resource["Properties"]) | set(resource.get("DependsOn", []))
        for dep in deps:
            if dep.kind is Kind.ECR_REPOSITORY:
                assert str(key) in noted  # the one edge left out is named in the Metadata
                continue
            assert named & set(exported.resources[dep]), f"{key} does not wait for {dep}"


@pytest.mark.parametrize("path", MATRIX, ids=lambda p: p.stem)
def test_cfn_lint_finds_no_error(path: Path) -> None:
    exported = export(config(path), path)
    matches = cfn_lint(exported.template)
    errors = [f"{m.rule.id} {m.message} {m.path}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    warnings = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id[:1] == "W"]
    assert [w for w in warnings if w.split()[0] not in ACCEPTED_WARNINGS] == []


def resolved_definitions(template: dict[str, Any], region: str) -> dict[str, Any]:
    """The template with each state machine's DefinitionString (Fn::Sub of the pseudo parameters) as the
    Definition object it becomes in `region`, so cfn-lint checks it against its ASL schema."""
    copy = json.loads(json.dumps(template))
    for resource in copy["Resources"].values():
        props = resource["Properties"]
        if "DefinitionString" in props:
            text = props.pop("DefinitionString")["Fn::Sub"]
            for pseudo, value in {
                "AWS::Partition": "aws",
                "AWS::Region": region,
                "AWS::AccountId": "123456789012",
            }.items():
                text = text.replace("${" + pseudo + "}", value)
            props["Definition"] = json.loads(text.replace("${!", "${"))
    return copy


@pytest.mark.parametrize("path", MATRIX, ids=lambda p: p.stem)
def test_workflow_definitions_pass_cfn_lints_asl_schema(path: Path) -> None:
    template = resolved_definitions(export(config(path), path).template, "us-east-1")
    matches = cfn_lint(template)
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")] == []


def test_one_template_serves_any_account_and_region() -> None:
    path = ROOT / "jobs.yaml"
    cfg = config(path)
    text = render(export(cfg, path).template, "json")
    assert "123456789012" not in text
    assert str(cfg.region) not in text.replace(f"region {cfg.region}", "")  # only the note names it
    assert "${AWS::AccountId}" in text
    assert "${AWS::Partition}" in text


def test_the_image_defaults_to_the_stages_repository_at_the_pushed_tag() -> None:
    path = ROOT / "jobs.yaml"
    template = export(config(path), path).template
    assert template["Parameters"]["ImageTag"]["Default"] == TAG
    assert template["Parameters"]["ImageUri"]["Default"] == ""
    images = {
        json.dumps(r["Properties"]["ContainerProperties"]["Image"], sort_keys=True)
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Batch::JobDefinition"
    }
    (image,) = images
    condition, given, own = json.loads(image)["Fn::If"]
    assert given == {"Ref": "ImageUri"}
    assert own["Fn::Sub"].endswith("/demo-dev:${ImageTag}")
    assert condition in template["Conditions"]


def test_an_image_uri_is_the_default_and_no_repository_is_created() -> None:
    path = ROOT / "tests" / "data" / "export" / "image_uri.yaml"
    cfg = config(path)
    template = export(cfg, path).template
    assert template["Parameters"]["ImageUri"]["Default"] == cfg.image.uri
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::ECR::Repository"]


def test_data_survives_a_deleted_stack(case: tuple[JobsFile, Export]) -> None:
    _, exported = case
    for resource in exported.template["Resources"].values():
        if resource["Type"] in ("AWS::ECR::Repository", "AWS::Logs::LogGroup"):
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_what_the_template_cannot_express_is_in_its_metadata_and_warned() -> None:
    path = ROOT / "tests" / "data" / "export" / "spot.yaml"
    exported = export(config(path), path)
    listed = exported.template["Metadata"]["batchctl"]["not_expressed"]
    assert [n["topic"] for n in listed] == ["image", "instance profile tags"]
    assert len(exported.warnings) == len(listed)


def test_description_names_the_version_and_the_config() -> None:
    path = ROOT / "jobs.yaml"
    description = export(config(path), path).template["Description"]
    assert "batchctl 9.9.9" in description
    assert "jobs.yaml" in description


def test_the_runnable_timeout_reasons_are_the_provisioners() -> None:
    assert RUNNABLE_TIMEOUT_REASONS == batch_provisioner.RUNNABLE_TIMEOUT_REASONS


# ---- the same values the provisioners send --------------------------------------------------------------------
def lowered(value: Any) -> Any:
    """Keys lowercased all the way down: API casing (`maxvCpus`) and CloudFormation's (`MaxvCpus`) compare equal."""
    if isinstance(value, dict):
        return {k.lower(): lowered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lowered(v) for v in value]
    return value


def requests(spec: Any) -> dict[str, Any]:
    """The request the kind's provisioner sends for `spec` (its create call's parameters)."""
    match spec.kind:
        case Kind.JOB_DEFINITION:
            request = job_definition.JobDefinitionProvisioner.to_request(spec, region="eu-west-1")
            request.update(request.pop("containerProperties"))  # compared side by side with its container's
            return dict(request)
        case Kind.COMPUTE_ENVIRONMENT:
            request = batch_provisioner.ComputeEnvironmentProvisioner.to_request(spec)
            request.update(request.pop("computeResources"))
            return dict(request)
        case Kind.JOB_QUEUE:
            return dict(batch_provisioner.JobQueueProvisioner.to_request(spec))
        case Kind.PIPE:
            return dict(pipes.PipeProvisioner.to_request(spec))
        case Kind.SCHEDULE:
            request = scheduler.ScheduleProvisioner.to_request(spec)
            request.update(request.pop("Target"))
            return dict(request)
        case Kind.ECR_REPOSITORY:
            return dict(ecr.RepositoryProvisioner.to_request(spec))
    return {}


# Fields whose value is a literal in both (the rest hold names, ARNs or IDs: Refs and Fn::Sub in the template).
SAME_VALUES = {
    Kind.JOB_DEFINITION: (
        "jobdefinitionname type platformcapabilities retrystrategy propagatetags parameters timeout command "
        "resourcerequirements environment networkconfiguration fargateplatformconfiguration"
    ),
    Kind.COMPUTE_ENVIRONMENT: "computeenvironmentname type state maxvcpus minvcpus instancetypes allocationstrategy",
    Kind.JOB_QUEUE: "jobqueuename state priority jobstatetimelimitactions",
    Kind.PIPE: "name description desiredstate sourceparameters targetparameters",
    Kind.SCHEDULE: (
        "name scheduleexpression scheduleexpressiontimezone flexibletimewindow state description retrypolicy input"
    ),
    Kind.ECR_REPOSITORY: "repositoryname imagescanningconfiguration imagetagmutability",
}


@pytest.mark.parametrize("path", [p for p in MATRIX if p.stem != "fargate"], ids=lambda p: p.stem)
def test_the_template_holds_the_values_the_provisioners_send(path: Path) -> None:
    cfg = config(path)
    exported = export(cfg, path)
    specs = build.build_specs(cfg, PSEUDO_CONTEXT, image_tag=TAG)
    compared = 0
    for spec in specs:
        if spec.kind not in SAME_VALUES or (spec.kind is Kind.COMPUTE_ENVIRONMENT and not cfg.network.vpc_id):
            continue  # a compute environment in a network of our own has no subnet IDs to send yet
        (logical, *_) = exported.resources[spec.key]
        properties = lowered(exported.template["Resources"][logical]["Properties"])
        for part in ("containerproperties", "computeresources", "target"):
            properties.update(properties.pop(part, {}))
        sent = lowered(requests(spec))
        for name in SAME_VALUES[spec.kind].split():
            assert properties.get(name) == sent.get(name), (spec.key, name)
            compared += 1
    assert compared


# ---- what checkov found, fixed in deploy and in the export (README: Security) --------------------------------
def test_new_queues_ask_for_encryption_at_rest() -> None:
    # checkov CKV_AWS_27: SSE-SQS is AWS's default for new queues; the provisioner asks for it explicitly.
    (spec, *_) = [
        s for s in build.build_specs(config(ROOT / "jobs.yaml"), PSEUDO_CONTEXT) if s.kind is Kind.SQS_QUEUE
    ]
    assert sqs.QueueProvisioner.to_request(spec)["Attributes"]["SqsManagedSseEnabled"] == "true"


def test_the_repository_refuses_to_move_a_tag() -> None:
    # checkov CKV_AWS_51: tags are content-derived and never pushed twice, so ECR may hold them immutable.
    (spec,) = [
        s
        for s in build.build_specs(config(ROOT / "jobs.yaml"), PSEUDO_CONTEXT)
        if s.kind is Kind.ECR_REPOSITORY
    ]
    assert ecr.RepositoryProvisioner.to_request(spec)["imageTagMutability"] == "IMMUTABLE"
