"""Service roles are enforced: a call the Step Functions executor or the pipe relay makes is judged against the
policies of the role it acts with (the state machine's role; the pipe's role), and a call they do not allow is
refused as AWS refuses it: AccessDeniedException (SNS: AuthorizationError, SQS: AccessDenied), HTTP 403, with
AWS's "User: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is not authorized to perform: ACTION on resource:
RESOURCE because no identity-based policy allows the ACTION action". The execution then fails with that error, as on
AWS, and a pipe leaves the message in its queue.
[IAM User Guide "Troubleshooting access denied error messages"; Step Functions developer guide "How Step Functions
generates IAM policies for integrated services" (submitJob.sync: batch:SubmitJob on the queue and the definition's
revision, batch:DescribeJobs, batch:TerminateJob); Pipes user guide "Execution role"]

Only roles created through this strict server are judged (others keep moto's leniency, as in iam.py). The calls
judged, with the resource AWS authorizes each on: batch SubmitJob (job queue and job definition revision; with tags
also batch:TagResource on the new job), TerminateJob/CancelJob (the job), DescribeJobs/ListJobs (*); lambda Invoke
(lambda:InvokeFunction on the function, qualified when a qualifier is given); sns Publish (the topic); sqs
ReceiveMessage/DeleteMessage/SendMessage/GetQueueAttributes (the queue); states StartExecution (the state machine).
Other calls made with a service role pass unjudged.

Imports: stdlib, the strict wire, policy, batchctl.sandbox.rolekeys; StrictApp only for typing; moto's Batch
backend inside _job_definition_arn.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from batchctl.sandbox.rolekeys import role_for
from batchctl.sandbox.strict.policy import Decision, evaluate, role_documents
from batchctl.sandbox.strict.wire import Call, RefusedError

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

SESSION = "batchctl-sandbox"
ACTION_PREFIX = {"stepfunctions": "states"}
ACTION_NAME = {("lambda", "Invoke"): "InvokeFunction"}
DENIED_CODE = {"sns": "AuthorizationError", "sqs": "AccessDenied"}


def access_key(call: Call) -> str | None:
    found = re.search(r"Credential=([^/]+)/", str(call.environ.get("HTTP_AUTHORIZATION", "")))
    return found.group(1) if found else None


def action_of(call: Call) -> str:
    prefix = ACTION_PREFIX.get(call.service, call.service)
    return f"{prefix}:{ACTION_NAME.get((call.service, call.operation), call.operation)}"


def refusal(service: str, role_arn: str, action: str, resource: str, decision: Decision) -> RefusedError:
    parts = role_arn.split(":")
    partition, account, name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    message = (
        f"User: arn:{partition}:sts::{account}:assumed-role/{name}/{SESSION} is not authorized to perform: "
        f"{action} on resource: {resource} {why}"
    )
    return RefusedError(DENIED_CODE.get(service, "AccessDeniedException"), message, 403)


def judge(role_arn: str, action: str, resource: str) -> Decision:
    """The decision for a role of moto's IAM (ALLOWED when moto holds no such role: not ours to judge)."""
    documents = role_documents(role_arn)
    return Decision.ALLOWED if documents is None else evaluate(documents, action, resource)


def _arn(call: Call, account: str, partition: str, service: str, resource: str) -> str:
    return f"arn:{partition}:{service}:{call.region}:{account}:{resource}"


def _job_definition_arn(call: Call, account: str, partition: str, reference: str) -> str:
    """A SubmitJob jobDefinition (ARN, name:revision or name) as the ARN of the revision it names; a bare name is
    the latest ACTIVE revision, as Batch resolves it."""
    if reference.startswith("arn:"):
        return reference
    if ":" in reference:
        return _arn(call, account, partition, "batch", f"job-definition/{reference}")
    from moto.batch.models import batch_backends

    latest = batch_backends[account][call.region].get_job_definition_by_name(reference)
    revision = f":{latest.revision}" if latest is not None else ""
    return _arn(call, account, partition, "batch", f"job-definition/{reference}{revision}")


def _queue_arn(call: Call, account: str, partition: str, url: str) -> str:
    parts = url.rstrip("/").split("/")
    owner = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else account
    return f"arn:{partition}:sqs:{call.region}:{owner}:{parts[-1]}"


def _function_arn(call: Call, account: str, partition: str) -> str:
    name = str(call.params.get("FunctionName", ""))
    qualifier = call.params.get("Qualifier")
    if not name.startswith("arn:"):
        pieces = name.split(":")  # name, name:qualifier, account:function:name[:qualifier]
        if len(pieces) >= 3 and pieces[1] == "function":
            name = _arn(call, pieces[0], partition, "lambda", ":".join(pieces[1:]))
        else:
            name = _arn(call, account, partition, "lambda", f"function:{name}")
    return f"{name}:{qualifier}" if qualifier and name.count(":") == 6 else name


def resources(call: Call, role_arn: str) -> list[tuple[str, str]] | None:
    """(action, resource) pairs AWS authorizes `call` on; None for a call this module does not judge."""
    parts = role_arn.split(":")
    partition, account = parts[1], parts[4]
    action = action_of(call)
    params = call.params

    def arn(service: str, resource: str) -> str:
        return _arn(call, account, partition, service, resource)

    if call.service == "batch":
        if call.operation == "SubmitJob":
            queue = str(params.get("jobQueue", ""))
            pairs = [
                (action, queue if queue.startswith("arn:") else arn("batch", f"job-queue/{queue}")),
                (action, _job_definition_arn(call, account, partition, str(params.get("jobDefinition", "")))),
            ]
            if params.get("tags"):
                pairs.append(("batch:TagResource", arn("batch", "job/*")))
            return pairs
        if call.operation in ("TerminateJob", "CancelJob"):
            return [(action, arn("batch", f"job/{params.get('jobId', '')}"))]
        if call.operation in ("DescribeJobs", "ListJobs"):
            return [(action, "*")]
        return None
    if call.service == "lambda" and call.operation == "Invoke":
        return [(action, _function_arn(call, account, partition))]
    if call.service == "sns" and call.operation == "Publish":
        return [(action, str(params.get("TopicArn") or params.get("TargetArn") or ""))]
    if call.service == "sqs" and call.operation in (
        "ReceiveMessage",
        "DeleteMessage",
        "SendMessage",
        "GetQueueAttributes",
    ):
        return [(action, _queue_arn(call, account, partition, str(params.get("QueueUrl", ""))))]
    if call.service == "stepfunctions" and call.operation == "StartExecution":
        return [(action, str(params.get("stateMachineArn", "")))]
    return None


def install(app: StrictApp) -> None:
    @app.guard
    def acting_role(call: Call) -> None:
        role_arn = role_for(access_key(call))
        if role_arn is None or not app.roles.known(role_arn):
            return
        for action, resource in resources(call, role_arn) or []:
            decision = judge(role_arn, action, resource)
            if decision is not Decision.ALLOWED:
                raise refusal(call.service, role_arn, action, resource, decision)
