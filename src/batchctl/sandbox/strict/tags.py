"""Tag rules on every create and tag call of Batch, SQS, SNS, Step Functions, Pipes, CloudWatch Logs, IAM, ECR and
EventBridge Scheduler: at most 50 tags; keys 1..128 characters, values up to 256, both of letters, spaces, digits and
`_ . : / = + - @` (`^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`); no key may start with `aws:` (reserved for AWS).

AWS: "Tag naming limits and requirements" (Tagging AWS Resources user guide) and each API's Tag type (e.g. Batch
API_TagResource, SQS API_TagQueue, IAM API_Tag). moto checks some of these for some services only (IAM, SQS count).
Each service answers with its own code; the message is AWS's constraint-validation format.
Imports: stdlib and the strict wire; StrictApp only for typing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from batchctl.sandbox.strict.wire import Call, RefusedError

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

MAX_TAGS, MAX_KEY, MAX_VALUE = 50, 128, 256
PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
# service → (code for a malformed tag, code for too many tags)
CODES = {
    "batch": ("ClientException", "ClientException"),
    "sqs": ("InvalidParameterValue", "InvalidParameterValue"),
    "sns": ("InvalidParameter", "TagLimitExceeded"),
    "stepfunctions": ("ValidationException", "TooManyTags"),
    "pipes": ("ValidationException", "ValidationException"),
    "logs": ("InvalidParameterException", "InvalidParameterException"),
    "iam": ("ValidationError", "LimitExceeded"),
    "ecr": ("InvalidTagParameterException", "TooManyTagsException"),
    "scheduler": ("ValidationException", "ValidationException"),
}
TAGGING_VERBS = ("Create", "Register", "Submit", "Tag")


def tags_of(call: Call) -> tuple[str, list[tuple[str, str]]] | None:
    """The request's tags as (parameter name, [(key, value)]), or None if it has none."""
    if call.protocol == "query":
        found: dict[int, dict[str, str]] = {}
        for name, value in call.params.items():
            match = re.fullmatch(r"Tags\.member\.(\d+)\.(Key|Value)", name)
            if match:
                found.setdefault(int(match.group(1)), {})[match.group(2)] = value
        pairs = [(t.get("Key", ""), t.get("Value", "")) for _, t in sorted(found.items())]
        return ("tags", pairs) if found else None
    for name in ("tags", "Tags"):
        value = call.params.get(name)
        if isinstance(value, dict):
            return name, [(str(k), str(v)) for k, v in value.items()]
        if isinstance(value, list):
            return name, [_pair(item) for item in value if isinstance(item, dict)]
    return None


def _pair(item: dict[str, Any]) -> tuple[str, str]:
    key = item.get("Key", item.get("key", ""))
    value = item.get("Value", item.get("value", ""))
    return str(key), str(value)


def allowed_text(text: str) -> bool:
    """Every character is a letter, a space separator, a number, or one of _ . : / = + - @."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def problems(pairs: list[tuple[str, str]], parameter: str) -> tuple[str, list[str]]:
    """('count' or 'format', the constraint violations in AWS's wording) for a list of tags."""
    if len(pairs) > MAX_TAGS:
        return "count", [
            f"Value '{dict(pairs)}' at '{parameter}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TAGS}"
        ]
    found: list[str] = []
    for index, (key, value) in enumerate(pairs, 1):
        at_key, at_value = f"{parameter}.{index}.member.key", f"{parameter}.{index}.member.value"
        if not 1 <= len(key) <= MAX_KEY:
            found.append(
                f"Value '{key}' at '{at_key}' failed to satisfy constraint: Member must have length "
                f"{'greater than or equal to 1' if not key else f'less than or equal to {MAX_KEY}'}"
            )
        if not allowed_text(key):
            found.append(
                f"Value '{key}' at '{at_key}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {PATTERN}"
            )
        if key.lower().startswith("aws:"):
            found.append(
                f"Value '{key}' at '{at_key}' failed to satisfy constraint: "
                "Tag keys beginning with 'aws:' are reserved for AWS use"
            )
        if len(value) > MAX_VALUE:
            found.append(
                f"Value '{value}' at '{at_value}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_VALUE}"
            )
        if not allowed_text(value):
            found.append(
                f"Value '{value}' at '{at_value}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {PATTERN}"
            )
    return "format", found


def check(call: Call) -> None:
    """Refuse `call` as its service would if its tags break a rule."""
    found = tags_of(call)
    if found is None:
        return
    parameter, pairs = found
    kind, violations = problems(pairs, parameter)
    if not violations:
        return
    malformed_code, count_code = CODES[call.service]
    plural = "s" if len(violations) > 1 else ""
    message = f"{len(violations)} validation error{plural} detected: " + "; ".join(violations)
    raise RefusedError(count_code if kind == "count" else malformed_code, message)


def install(app: StrictApp) -> None:
    models = app.models
    for service in CODES:
        operations = [op for op in models.model(service).operation_names if op.startswith(TAGGING_VERBS)]

        @app.before(service, *operations)
        def tagged(call: Call) -> None:
            check(call)
