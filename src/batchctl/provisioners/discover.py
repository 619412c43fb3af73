"""Find the per-job resources this project and stage own in AWS, whatever jobs.yaml says today.

A job removed from jobs.yaml, a step renamed, a queue or schedule dropped: their resources are no longer among the
specs, so neither `deploy` nor `destroy` would see them. `find_managed` lists every resource of the per-job kinds
whose name could be ours and keeps those carrying our project+stage tags; what it finds that no spec names is an
orphan (`deploy --prune` and `destroy` delete orphans; `plan` lists them).

Only tags decide ownership (schedules, untaggable: our tagged group and our marker in the Description): a
same-named resource of another stage, another project or nobody is never returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from batchctl.aws import Aws, AwsDict
from batchctl.naming import TAG_PROJECT, TAG_STAGE, Names
from batchctl.provisioners.base import tags_from_list
from batchctl.provisioners.scheduler import foreign_in_group, group_schedules
from batchctl.specs import Key, Kind, schedule_owned


def _ours(tags: Mapping[str, str], names: Names) -> bool:
    return tags.get(TAG_PROJECT) == names.project and tags.get(TAG_STAGE) == names.stage


def _roles(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    """Every role under our prefix tagged ours, whatever its suffix: a per-job one (-job, -sfn, -pipe, -sched, -s3)
    may be an orphan, any other (`<project>-<stage>-Admin`) is foreign. The stage's own roles are left to their
    provisioner."""
    stage_roles = {names.execution_role, names.instance_role}
    candidates = [
        str(role["RoleName"])
        for page in aws.pages("iam", "list_roles", key="iam roles", PaginationConfig={"PageSize": 1000})
        for role in page.get("Roles", [])
        if str(role["RoleName"]).startswith(names.prefix + "-")
        and str(role["RoleName"]) not in declared | stage_roles
    ]
    found = set()
    for name in candidates:
        tags = tags_from_list(
            aws.call("iam", "list_role_tags", key=f"iam.role/{name}", RoleName=name).get("Tags", [])
        )
        if _ours(tags, names):
            found.add(name)
    return found


def _job_definitions(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    found = set()
    for page in aws.pages(
        "batch", "describe_job_definitions", key="job definitions", status="ACTIVE", maxResults=100
    ):
        for definition in page.get("jobDefinitions", []):
            name = str(definition.get("jobDefinitionName", ""))
            tags = {str(k): str(v) for k, v in (definition.get("tags") or {}).items()}
            if (
                name not in declared
                and name.startswith(names.prefix + "-")
                and definition.get("status") == "ACTIVE"
                and _ours(tags, names)
            ):
                found.add(name)
    return found


def _log_groups(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    prefixes = (f"/batchctl/{names.project}/{names.stage}/", f"/aws/vendedlogs/states/{names.prefix}-")
    found = set()
    for prefix in prefixes:
        for page in aws.pages("logs", "describe_log_groups", key="log groups", logGroupNamePrefix=prefix):
            for group in page.get("logGroups", []):
                name = str(group["logGroupName"])
                if name in declared:
                    continue
                arn = str(group["arn"]).removesuffix(":*")
                tags = aws.call(
                    "logs", "list_tags_for_resource", key=f"logs.log_group/{name}", resourceArn=arn
                )
                if _ours(tags.get("tags", {}), names):
                    found.add(name)
    return found


def _state_machines(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    found = set()
    for page in aws.pages("stepfunctions", "list_state_machines", key="state machines"):
        for machine in page.get("stateMachines", []):
            name = str(machine["name"])
            if name in declared or not name.startswith(names.prefix + "-"):
                continue
            tags = aws.call(
                "stepfunctions",
                "list_tags_for_resource",
                key=f"sfn.state_machine/{name}",
                resourceArn=machine["stateMachineArn"],
            )
            if _ours(tags_from_list(tags.get("tags", []), key="key", value="value"), names):
                found.add(name)
    return found


def _queues(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    found = set()
    for page in aws.pages("sqs", "list_queues", key="sqs queues", QueueNamePrefix=names.prefix + "-"):
        for url in page.get("QueueUrls", []):
            if str(url).rsplit("/", 1)[-1] in declared:
                continue
            tags = aws.call("sqs", "list_queue_tags", key=f"sqs.queue/{url}", QueueUrl=url).get("Tags", {})
            if _ours(tags, names):
                found.add(str(url).rsplit("/", 1)[-1])
    return found


def _pipes(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    found = set()
    for page in aws.pages("pipes", "list_pipes", key="pipes", NamePrefix=names.prefix + "-"):
        for pipe in page.get("Pipes", []):
            if str(pipe["Name"]) in declared:
                continue
            described: AwsDict = aws.call(
                "pipes", "describe_pipe", key=f"pipes.pipe/{pipe['Name']}", Name=pipe["Name"]
            )
            if _ours(described.get("Tags", {}), names):
                found.add(str(pipe["Name"]))
    return found


def _event_rules(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    found = set()
    for page in aws.pages("events", "list_rules", key="events rules", NamePrefix=names.prefix + "-"):
        for rule in page.get("Rules", []):
            if str(rule["Name"]) in declared:
                continue
            listed = aws.call(
                "events", "list_tags_for_resource", key=f"events.rule/{rule['Name']}", ResourceARN=rule["Arn"]
            )
            if _ours(tags_from_list(listed.get("Tags", [])), names):
                found.add(str(rule["Name"]))
    return found


def _schedules(aws: Aws, names: Names, declared: set[str]) -> set[str]:
    """Schedules carry no tags: ours are those in our (tagged) schedule group whose Description is our marker for
    this project and stage. Any other schedule in the group is someone else's (`foreign_schedules`)."""
    group = names.schedule_group
    found = group_schedules(aws, group, skip=declared)
    owned = {
        name
        for name, description in (found or {}).items()
        if schedule_owned(description, name=name, group=group, project=names.project, stage=names.stage)
    }
    if not owned:
        return set()
    group_key = f"scheduler.schedule_group/{group}"
    found_group = aws.call("scheduler", "get_schedule_group", key=group_key, Name=group)
    listed = aws.call("scheduler", "list_tags_for_resource", key=group_key, ResourceArn=found_group["Arn"])
    return owned if _ours(tags_from_list(listed.get("Tags", [])), names) else set()


def foreign_schedules(aws: Aws, names: Names, declared: Iterable[Key] = ()) -> list[str]:
    """Names (sorted) of the schedules in this stage's schedule group that batchctl did not create (no marker of
    ours in their Description): reported, never updated or deleted; while one is there, `destroy` keeps the
    group. Schedules `declared` names are skipped: reading one that is not ours stops the plan already."""
    skip = {key.name for key in declared if key.kind is Kind.SCHEDULE}
    return foreign_in_group(aws, names.schedule_group, project=names.project, stage=names.stage, skip=skip)


# The kinds a job (or a step, queue or schedule of it) brings; shared kinds never become orphans of an edit.
FINDERS: Mapping[Kind, Callable[[Aws, Names, set[str]], set[str]]] = {
    Kind.IAM_ROLE: _roles,
    Kind.JOB_DEFINITION: _job_definitions,
    Kind.LOG_GROUP: _log_groups,
    Kind.STATE_MACHINE: _state_machines,
    Kind.SQS_QUEUE: _queues,
    Kind.PIPE: _pipes,
    Kind.SCHEDULE: _schedules,
    Kind.EVENT_RULE: _event_rules,
}


def find_orphans(aws: Aws, names: Names, declared: Iterable[Key]) -> dict[Kind, set[str]]:
    """Names of the resources of the per-job kinds tagged with this project and stage that `declared` does not
    name, by kind. Declared names are skipped before any per-resource call (their provisioners read them), so a
    project without orphans costs one listing per kind (kinds listed in parallel)."""
    by_kind: dict[Kind, set[str]] = {kind: set() for kind in FINDERS}
    for key in declared:
        if key.kind in by_kind:
            by_kind[key.kind].add(key.name)
    with ThreadPoolExecutor(max_workers=len(FINDERS), thread_name_prefix="discover") as pool:
        futures = {kind: pool.submit(find, aws, names, by_kind[kind]) for kind, find in FINDERS.items()}
        return {kind: future.result() for kind, future in futures.items()}
