"""Exceptions a user can act on, and the exit codes they map to. Imports: stdlib only.

BatchctlError                  (1)  printed as "error: ..." + "hint: ...", never with a traceback
├── ConfigError                (3)
│   ├── ConfigNotFoundError
│   ├── ConfigSyntaxError
│   └── ConfigValidationError       .issues: every problem at once, one positioned line each
├── PlanError                  (1)
│   ├── DependencyCycleError
│   ├── ReplacementRefusedError
│   ├── NotManagedError             a resource with our name but without our tags
│   └── ForeignNetworkInterfaceError  an ENI batchctl did not create keeps our subnet/security group alive
├── AwsError                   (1)  .service .operation .code .key
│   ├── AwsAuthError           (4)
│   ├── UnsupportedOperationError   the endpoint lacks the operation (an emulator: the sandbox has no SQS move task)
│   └── WaitTimeoutError
├── RunError                   (1)  submit/status/retry/logs: unknown job, no such run, body too large
│   └── RunUsageError          (2)  also a UsageError: an unknown job or step, a bad --since, no such --body-file
├── ImageError                 (1)
│   ├── DockerUnavailableError
│   ├── ImageBuildError
│   └── ImagePushError
└── UsageError                 (2)  options that cannot go together, a missing required choice
    └── ConfirmationRequiredError   a change needs a yes, and stdin is not a terminal to ask on
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

__all__ = [
    "AwsAuthError",
    "AwsError",
    "BatchctlError",
    "ConfigError",
    "ConfigIssue",
    "ConfigNotFoundError",
    "ConfigSyntaxError",
    "ConfigValidationError",
    "ConfirmationRequiredError",
    "DependencyCycleError",
    "DockerUnavailableError",
    "ExitCode",
    "ForeignNetworkInterfaceError",
    "ImageBuildError",
    "ImageError",
    "ImagePushError",
    "NotManagedError",
    "PlanError",
    "ReplacementRefusedError",
    "RunError",
    "RunUsageError",
    "UnsupportedOperationError",
    "UsageError",
    "WaitTimeoutError",
]


class ExitCode(IntEnum):
    """Process exit codes; a public contract."""

    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    DRIFT = 5
    INTERNAL = 70
    INTERRUPTED = 130


class BatchctlError(Exception):
    """Base of every error a user can act on. Printed without a traceback."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(BatchctlError):
    """jobs.yaml is missing, unreadable or invalid."""

    exit_code = ExitCode.CONFIG


class ConfigNotFoundError(ConfigError):
    """The config file does not exist or cannot be read."""


class ConfigSyntaxError(ConfigError):
    """The config file is not valid YAML (or not a mapping)."""


class ConfigIssue:
    """One positioned problem in jobs.yaml: `jobs.yaml:LINE:COL: path: message`."""

    __slots__ = ("col", "file", "line", "message", "path")

    def __init__(self, *, file: str, line: int, col: int, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.col = col
        self.path = path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}"

    def __repr__(self) -> str:
        return f"ConfigIssue({self})"


class ConfigValidationError(ConfigError):
    """jobs.yaml parsed but breaks one or more rules; every issue is listed."""

    def __init__(self, issues: list[ConfigIssue], *, hint: str | None = None) -> None:
        self.issues = issues
        count = len(issues)
        head = f"{count} problem{'s' if count != 1 else ''} in {issues[0].file if issues else 'config'}"
        super().__init__(head + "\n" + "\n".join(str(i) for i in issues), hint=hint)


class PlanError(BatchctlError):
    """The plan cannot be made or must not be applied."""


class DependencyCycleError(PlanError):
    """Resources depend on each other in a cycle."""


class ReplacementRefusedError(PlanError):
    """The plan replaces a resource and --allow-replace was not given."""


class NotManagedError(PlanError):
    """A resource with our name exists but does not carry our project+stage tags."""


class ForeignNetworkInterfaceError(PlanError):
    """A network interface AWS did not create for our compute environment is in our subnet or uses our security
    group: it is never deleted, so neither is the subnet or group."""


class AwsError(BatchctlError):
    """An AWS call failed; says which service, operation and resource."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        operation: str = "",
        code: str = "",
        key: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.service = service
        self.operation = operation
        self.code = code
        self.key = key


class AwsAuthError(AwsError):
    """Credentials are missing or the caller is not allowed to do this."""

    exit_code = ExitCode.AUTH


class UnsupportedOperationError(AwsError):
    """The endpoint answered that it does not implement the operation (HTTP 501, NotImplemented, InvalidAction,
    UnknownOperationException): an emulator such as the sandbox lacks it, or AWS does not offer it there."""


class WaitTimeoutError(AwsError):
    """A bounded wait for an AWS state ran out of time."""


class RunError(BatchctlError):
    """A run could not be submitted, found or followed."""


class ImageError(BatchctlError):
    """Building or pushing the job image failed."""


class DockerUnavailableError(ImageError):
    """No Docker engine answers."""


class ImageBuildError(ImageError):
    """The image build failed."""


class ImagePushError(ImageError):
    """The registry refused the push."""


class UsageError(BatchctlError):
    """The command line asks for something that cannot be done as given."""

    exit_code = ExitCode.USAGE


class ConfirmationRequiredError(UsageError):
    """A command that changes resources needs confirmation, and there is no terminal to ask on (use --yes)."""


class RunUsageError(RunError, UsageError):
    """A run command names what jobs.yaml or the options rule out (an unknown job or step, a job without a queue or
    schedule, a --since that is no time, a --body-file that cannot be read): exit 2, found before any AWS call."""
