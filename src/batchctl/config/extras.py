"""Field types and sections of jobs.yaml for queues, Fargate, workflow logs, roles and shared compute (issue 16).

Imports: pydantic, pydantic_core, stdlib (models.py imports this module, so it imports nothing of config's own).
Each range is AWS's own, from the API reference of the service that takes the value.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

# SQS CreateQueue/SetQueueAttributes: MaximumMessageSize 1,024..1,048,576 bytes, DelaySeconds 0..900,
# ReceiveMessageWaitTimeSeconds 0..20. A message starts a run with the SQS record as the execution's input, and Step
# Functions takes at most 256 KiB of input, so a larger message could never start one: we stop at 256 KiB.
MESSAGE_SIZE_MIN = 1024
MESSAGE_SIZE_MAX = 262_144
SQS_MESSAGE_SIZE_MAX = 1_048_576


def _whole(value: object) -> object:
    # As models._no_bool: `delay_s: yes` is a mistake, not 1.
    if isinstance(value, bool):
        raise PydanticCustomError(
            "batchctl_bool_not_number", "expected a number, not {value}", {"value": str(value).lower()}
        )
    return value


def _check_message_size(value: int) -> int:
    if not MESSAGE_SIZE_MIN <= value <= MESSAGE_SIZE_MAX:
        raise PydanticCustomError(
            "batchctl_message_size",
            "expected {low}..{high} bytes: SQS takes {low}..{sqs_high}, but a message above {high} (256 KiB) could "
            "never start a run, since Step Functions takes at most 256 KiB of input",
            {"low": MESSAGE_SIZE_MIN, "high": MESSAGE_SIZE_MAX, "sqs_high": SQS_MESSAGE_SIZE_MAX},
        )
    return value


MessageSize = Annotated[int, BeforeValidator(_whole), AfterValidator(_check_message_size)]
DelaySeconds = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=900)]
ReceiveWaitSeconds = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=20)]


# Batch EphemeralStorage.sizeInGiB: 21..200 (Fargate's 20 GiB is the default without it); Fargate platform
# versions are LATEST or a version such as 1.4.0. Ephemeral storage and EFS volumes need 1.4.0 or later.
EPHEMERAL_STORAGE_GIB = (21, 200)
PLATFORM_VERSION_FOR_STORAGE = (1, 4, 0)


def _check_platform_version(value: str) -> str:
    if value != "LATEST" and not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise PydanticCustomError(
            "batchctl_platform_version", "expected LATEST or a Fargate platform version such as 1.4.0"
        )
    return value


def platform_at_least(version: str, wanted: tuple[int, ...]) -> bool:
    """Whether a Fargate platform version (LATEST or X.Y.Z) is `wanted` or later."""
    return version == "LATEST" or tuple(int(part) for part in version.split(".")) >= wanted


PlatformVersion = Annotated[str, AfterValidator(_check_platform_version)]
EphemeralStorageGib = Annotated[
    int, BeforeValidator(_whole), Field(ge=EPHEMERAL_STORAGE_GIB[0], le=EPHEMERAL_STORAGE_GIB[1])
]
