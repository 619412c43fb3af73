"""AWS Batch container job definitions: one revision per change, read as the latest ACTIVE one.

Imports: specs, aws, errors, provisioners.base. Handles AWS-QUIRKS 13-15 (the normalization that makes an unchanged
definition read back equal, keeping recent revisions for runs in flight, Fargate's execution role).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError, PlanError
from batchctl.provisioners.base import (
    POLL_INTERVAL_S,
    Hints,
    Observed,
    active_job_definitions,
    check_owned,
    observation,
    prefetching,
)
from batchctl.specs import AwsDict, JobDefinitionSpec, Key, Kind, Outputs

# Old revisions stay ACTIVE for in-flight runs (AWS-QUIRKS 14); older ones than these are retired.
KEEP_REVISIONS = 3
# Deregistered revisions turn INACTIVE within moments; a bound all the same.
INACTIVE_TIMEOUT_S = 600.0


class JobDefinitionProvisioner:
    """Container job definition named `spec.name`: read is the latest ACTIVE revision, a change a new revision."""

    kind: ClassVar[Kind] = Kind.JOB_DEFINITION

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.hints: Hints[list[AwsDict]] = Hints()

    @staticmethod
    def to_request(spec: JobDefinitionSpec, *, region: str) -> AwsDict:
        """The RegisterJobDefinition parameters for `spec`, logging to `region`."""
        requirements = [
            {"type": "VCPU", "value": f"{spec.vcpus:g}"},
            {"type": "MEMORY", "value": str(spec.memory_mib)},
        ]
        if spec.gpus > 0:
            requirements.append({"type": "GPU", "value": str(spec.gpus)})
        container: AwsDict = {
            "image": spec.image,
            "command": list(spec.command),
            "resourceRequirements": requirements,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": spec.log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": spec.stream_prefix,
                },
            },
        }
        if spec.job_role_arn:
            container["jobRoleArn"] = spec.job_role_arn
        if spec.execution_role_arn:
            container["executionRoleArn"] = spec.execution_role_arn
        # Batch drops variables with an empty value; not sending them keeps the request equal to what it stores.
        environment = [{"name": k, "value": v} for k, v in sorted(spec.environment.items()) if v != ""]
        if environment:
            container["environment"] = environment
        if spec.secrets:
            container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(spec.secrets.items())]
        if spec.platform == "FARGATE":
            container["networkConfiguration"] = {
                "assignPublicIp": "ENABLED" if spec.assign_public_ip else "DISABLED"
            }
            # The image's architecture (image.platform): without it Fargate runs X86_64, where an arm64 image
            # exits at once with "exec format error".
            container["runtimePlatform"] = {
                "cpuArchitecture": spec.cpu_architecture,
                "operatingSystemFamily": "LINUX",
            }
            container["fargatePlatformConfiguration"] = {"platformVersion": spec.platform_version or "LATEST"}
            if spec.ephemeral_storage_gib is not None:
                container["ephemeralStorage"] = {"sizeInGiB": spec.ephemeral_storage_gib}
        container.update(_container_extras(spec))
        retry: AwsDict = {"attempts": spec.retry_attempts}
        if spec.evaluate_on_exit:
            retry["evaluateOnExit"] = [dict(rule) for rule in spec.evaluate_on_exit]
        params: AwsDict = {
            "jobDefinitionName": spec.name,
            "type": "container",
            "platformCapabilities": [spec.platform],
            "containerProperties": container,
            "retryStrategy": retry,
            "propagateTags": True,
        }
        if spec.parameters:
            params["parameters"] = dict(spec.parameters)
        if spec.timeout_s is not None:
            params["timeout"] = {"attemptDurationSeconds": spec.timeout_s}
        if spec.tags:
            params["tags"] = dict(spec.tags)
        return params

    @staticmethod
    def from_described(
        item: AwsDict, *, region: str, desired: JobDefinitionSpec | None = None
    ) -> JobDefinitionSpec:
        """A DescribeJobDefinitions revision in the spec's shape (AWS-QUIRKS 13): [] == absent, LATEST == absent,
        environment sorted. `desired` decides what Batch does not store: a variable it leaves empty, and the public
        IP setting of an EC2 definition (which has none)."""
        container: AwsDict = item.get("containerProperties") or {}
        requirements = {str(r["type"]): str(r["value"]) for r in container.get("resourceRequirements") or []}
        platform = str((item.get("platformCapabilities") or ["EC2"])[0])
        environment = {
            str(e["name"]): str(e["value"])
            for e in container.get("environment") or []
            if e.get("value", "") != ""
        }
        # Batch stores no empty-valued variable: one the spec leaves empty is as good as absent.
        wanted_empty = [k for k, v in (desired.environment if desired else {}).items() if v == ""]
        environment.update({k: "" for k in wanted_empty if k not in environment})
        log_config: AwsDict = container.get("logConfiguration") or {}
        options: AwsDict = log_config.get("options") or {}
        log_group = stream_prefix = ""
        # A log configuration other than awslogs in our region reads as none, so the plan re-registers ours.
        if log_config.get("logDriver") == "awslogs" and options.get("awslogs-region") == region:
            log_group = str(options.get("awslogs-group", ""))
            stream_prefix = str(options.get("awslogs-stream-prefix", ""))
        retry: AwsDict = item.get("retryStrategy") or {}
        timeout = (item.get("timeout") or {}).get("attemptDurationSeconds")
        platform_version: str | None = None
        storage: AwsDict = container.get("ephemeralStorage") or {}
        if platform == "FARGATE":
            network: AwsDict = container.get("networkConfiguration") or {}
            assign_public_ip = network.get("assignPublicIp", "DISABLED") == "ENABLED"
            # No runtimePlatform means AWS's default, X86_64: a definition registered before we sent it reads equal.
            runtime: AwsDict = container.get("runtimePlatform") or {}
            cpu_architecture = str(runtime.get("cpuArchitecture") or "X86_64")
            fargate_platform: AwsDict = container.get("fargatePlatformConfiguration") or {}
            # LATEST == absent (AWS-QUIRKS 13): both read as None, as the spec says LATEST.
            if fargate_platform.get("platformVersion") not in (None, "", "LATEST"):
                platform_version = str(fargate_platform["platformVersion"])
        else:
            # Not EC2 settings: whatever the spec says is right.
            assign_public_ip = desired.assign_public_ip if desired else True
            cpu_architecture = desired.cpu_architecture if desired else "X86_64"
        return JobDefinitionSpec(
            name=str(item["jobDefinitionName"]),
            image=str(container.get("image", "")),
            command=tuple(str(c) for c in container.get("command") or []),
            platform=platform,
            # resourceRequirements, or the deprecated top-level fields of definitions registered elsewhere
            vcpus=float(requirements.get("VCPU") or container.get("vcpus") or 0),
            memory_mib=int(requirements.get("MEMORY") or container.get("memory") or 0),
            job_role_arn=str(container.get("jobRoleArn", "")),
            log_group=log_group,
            stream_prefix=stream_prefix,
            gpus=int(requirements.get("GPU", 0)),
            execution_role_arn=str(container["executionRoleArn"])
            if container.get("executionRoleArn")
            else None,
            environment=environment,
            secrets={str(s["name"]): str(s["valueFrom"]) for s in container.get("secrets") or []},
            parameters={str(k): str(v) for k, v in (item.get("parameters") or {}).items()},
            retry_attempts=int(retry.get("attempts", 1)),
            evaluate_on_exit=tuple(_exit_rule(rule) for rule in retry.get("evaluateOnExit") or []),
            timeout_s=int(timeout) if timeout is not None else None,
            assign_public_ip=assign_public_ip,
            cpu_architecture=cpu_architecture,
            platform_version=platform_version,
            ephemeral_storage_gib=int(storage["sizeInGiB"]) if storage.get("sizeInGiB") else None,
            volumes=_volumes_of(container),
            shared_memory_mib=_shared_memory_of(container),
            ulimits=tuple(
                (str(u["name"]), int(u["softLimit"]), int(u["hardLimit"]))
                for u in container.get("ulimits") or []
            ),
            tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
        )

    def prefetch(self, specs: Sequence[JobDefinitionSpec]) -> None:
        """Every ACTIVE job definition of the account in one paged DescribeJobDefinitions (100 a page; a list of
        names is not accepted, only name:revision), instead of one call per name."""

        def fetch() -> None:
            wanted = {spec.name for spec in specs}
            active: dict[str, list[AwsDict]] = {}
            for page in self.aws.pages(
                "batch", "describe_job_definitions", key="job definitions", status="ACTIVE", maxResults=100
            ):
                for definition in page.get("jobDefinitions", []):
                    name = definition.get("jobDefinitionName")
                    if name in wanted and definition.get("status") == "ACTIVE":
                        active.setdefault(str(name), []).append(definition)
            # The same DescribeJobDefinitions (status ACTIVE) that `read` makes by name: what it lacks is absent.
            self.hints.put(
                {n: sorted(found, key=lambda d: int(d["revision"])) for n, found in active.items()},
                absent=wanted - set(active),
            )

        prefetching("job definitions", fetch)

    def read(self, spec: JobDefinitionSpec) -> Observed[JobDefinitionSpec] | None:
        if self.hints.absent(spec.name):
            return None
        active = self.hints.take(spec.name) or active_job_definitions(self.aws, spec.name, key=spec.key)
        if not active:
            return None
        latest = active[-1]
        state = self.from_described(latest, region=self.aws.context().region, desired=spec)
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, _outputs(latest))

    def create(self, spec: JobDefinitionSpec) -> Outputs:
        _check(spec)
        return self._register(spec)

    def update(self, spec: JobDefinitionSpec, observed: Observed[JobDefinitionSpec]) -> Outputs:
        # A job definition cannot change: a new revision becomes the latest ACTIVE one, which Batch runs for a
        # name without revision. Earlier revisions stay ACTIVE for runs in flight (AWS-QUIRKS 14).
        _check(spec)
        outputs = self._register(spec)
        active = active_job_definitions(self.aws, spec.name, key=spec.key)
        for old in active[:-KEEP_REVISIONS]:
            self._deregister(spec.key, str(old["jobDefinitionArn"]))
        return outputs

    def delete(self, observed: Observed[JobDefinitionSpec]) -> None:
        spec = observed.state
        for definition in active_job_definitions(self.aws, spec.name, key=spec.key):
            self._deregister(spec.key, str(definition["jobDefinitionArn"]))
        self.aws.wait_until(
            lambda: True if not active_job_definitions(self.aws, spec.name, key=spec.key) else None,
            what=f"{spec.key} to have no ACTIVE revision",
            timeout_s=INACTIVE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _register(self, spec: JobDefinitionSpec) -> Outputs:
        request = self.to_request(spec, region=self.aws.context().region)
        registered = self.aws.call("batch", "register_job_definition", key=spec.key, **request)
        return {"arn": str(registered["jobDefinitionArn"]), "revision": str(registered["revision"])}

    def _deregister(self, key: Key, arn: str) -> None:
        try:
            self.aws.call("batch", "deregister_job_definition", key=key, jobDefinition=arn)
        except AwsError as exc:
            # Already INACTIVE (a concurrent destroy) is what we wanted.
            if exc.code != "ClientException" or "INACTIVE" not in exc.message:
                raise


def _check(spec: JobDefinitionSpec) -> None:
    """Refuse, before any call, what Batch would reject or register unusable."""
    problems: list[str] = []
    if spec.platform not in ("FARGATE", "EC2"):
        problems.append(f"platform {spec.platform!r} is not FARGATE or EC2")
    if spec.platform == "FARGATE":
        # AWS-QUIRKS 15: Fargate pulls the image and writes logs with the execution role.
        if not spec.execution_role_arn:
            problems.append("a FARGATE job definition needs an execution role (execution_role_arn)")
        if spec.gpus:
            problems.append("Fargate has no GPUs")
    if spec.vcpus <= 0 or spec.memory_mib <= 0:
        problems.append("vCPUs and memory must be greater than 0")
    if problems:
        raise PlanError(
            f"{spec.key} cannot be registered: " + "; ".join(problems),
            hint="fix the job's settings in jobs.yaml",
        )


def _container_extras(spec: JobDefinitionSpec) -> AwsDict:
    """EFS volumes and their mount points, shared memory and ulimits, as containerProperties takes them."""
    extras: AwsDict = {}
    if spec.volumes:
        volumes, mounts = [], []
        for index, (file_system, path, access_point, read_only) in enumerate(spec.volumes):
            name = f"efs-{index}"
            # In transit encryption is required with IAM authorization, and right without it too.
            efs: AwsDict = {"fileSystemId": file_system, "transitEncryption": "ENABLED"}
            if access_point:
                efs["authorizationConfig"] = {"accessPointId": access_point, "iam": "ENABLED"}
            volumes.append({"name": name, "efsVolumeConfiguration": efs})
            mounts.append({"sourceVolume": name, "containerPath": path, "readOnly": read_only})
        extras["volumes"], extras["mountPoints"] = volumes, mounts
    if spec.shared_memory_mib is not None:
        extras["linuxParameters"] = {"sharedMemorySize": spec.shared_memory_mib}
    if spec.ulimits:
        extras["ulimits"] = [
            {"name": n, "softLimit": soft, "hardLimit": hard} for n, soft, hard in spec.ulimits
        ]
    return extras


def _volumes_of(container: AwsDict) -> tuple[tuple[str, str, str | None, bool], ...]:
    """The EFS volumes of a described container, joined to their mount points (others are not ours)."""
    mounts = {str(m.get("sourceVolume")): m for m in container.get("mountPoints") or []}
    found = []
    for volume in container.get("volumes") or []:
        efs: AwsDict = volume.get("efsVolumeConfiguration") or {}
        mount = mounts.get(str(volume.get("name")))
        if efs and mount:
            access_point = (efs.get("authorizationConfig") or {}).get("accessPointId")
            found.append(
                (
                    str(efs["fileSystemId"]),
                    str(mount["containerPath"]),
                    str(access_point) if access_point else None,
                    bool(mount.get("readOnly", False)),
                )
            )
    return tuple(found)


def _shared_memory_of(container: AwsDict) -> int | None:
    size = (container.get("linuxParameters") or {}).get("sharedMemorySize")
    return int(size) if size else None


def _outputs(definition: AwsDict) -> Outputs:
    return {"arn": str(definition["jobDefinitionArn"]), "revision": str(definition["revision"])}


def _exit_rule(rule: Mapping[str, Any]) -> dict[str, str]:
    # Batch matches actions case-insensitively; moto lower-cases them. The API's enum is RETRY | EXIT.
    return {str(k): (str(v).upper() if k == "action" else str(v)) for k, v in rule.items()}
