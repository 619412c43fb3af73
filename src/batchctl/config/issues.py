"""pydantic's errors → positioned issues (`jobs.yaml:14:7: jobs.etl.vcpus: ...`), every problem of a file at once.

Imports: config.models, errors, yamlpos, pydantic (and pydantic_core), stdlib.
"""

from __future__ import annotations

import copy
import re
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from batchctl.config.models import LAMBDA_ARN, NAME_PATTERN, REGION_PATTERN, RULES_ERROR, JobsFile
from batchctl.errors import ConfigIssue
from batchctl.yamlpos import KeyPath, Positions

_MAX_SALVAGE_PASSES = 12

# What a pattern means, for messages: pydantic would only print the regular expression.
_PATTERN_MEANING = {
    NAME_PATTERN: "use lowercase letters, digits and '-', starting with a letter",
    REGION_PATTERN: "expected an AWS region such as eu-west-1",
    LAMBDA_ARN: "expected a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)",
    r"^vpc-[0-9a-f]{8,17}$": "expected a VPC ID such as vpc-0123456789abcdef0",
    r"^subnet-[0-9a-f]{8,17}$": "expected a subnet ID such as subnet-0123456789abcdef0",
    r"^sg-[0-9a-f]{8,17}$": "expected a security group ID such as sg-0123456789abcdef0",
    r"^\S+$": "must not be empty or contain spaces",
}


def _unwrap_type(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    tp: Any = JobsFile
    for part in loc:
        tp = _unwrap_type(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap_type(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# What a type error expected, in the words of a YAML author rather than of Python.
_EXPECTED = {
    "model_type": "a mapping (key: value)",
    "dict_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _message(error: ErrorDetails, loc: KeyPath) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        model = _model_at(loc[:-1])
        message = f"unknown key {key!r}"
        if model is not None:
            import difflib  # only on the error path

            close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
        return message
    if kind == "missing":
        return f"required key {str(loc[-1])!r} is missing" if loc else "required value is missing"
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANING.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return f"{describe(value)}: {meaning}"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        message = f"expected {expected}, got {describe(value)}"
        if kind == "string_type" and isinstance(value, bool):
            message += f": quote it as '{describe(value)}'"
        return message
    if kind == "too_short" and loc == ("jobs",):
        return "declare at least one job"
    if kind.startswith("batchctl_") or isinstance(value, Mapping | list | tuple):
        return error["msg"]
    return f"{error['msg']}, got {describe(value)}"


def render_path(loc: Sequence[str | int]) -> str:
    """Render a key path as `jobs.fibonacci.steps[1].command` (odd keys quoted: `tags["a.b"]`)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in part)
            out += '["' + shown.replace('"', '\\"') + '"]'
    return out


@dataclass(frozen=True, slots=True)
class _Found:
    loc: KeyPath
    message: str
    involves: tuple[KeyPath, ...]
    is_rule: bool


def _clean_loc(loc: Iterable[str | int]) -> KeyPath:
    parts = tuple(p for p in loc if isinstance(p, str | int))
    return parts[:-1] if parts and parts[-1] == "[key]" else parts


def _expand(error: ErrorDetails) -> Iterator[_Found]:
    base = _clean_loc(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == RULES_ERROR:
        for rule in ctx["rules"]:
            loc = (*base, *rule.loc)
            involves = tuple((*base, *i) for i in (rule.involves or (rule.loc,)))
            yield _Found(loc, rule.message, involves, is_rule=True)
    else:
        yield _Found(base, _message(error, _clean_loc(error["loc"])), (base,), is_rule=False)


class _Dropped:
    """The keys dropped while salvaging, with prefix lookups in O(depth): a file with thousands of bad keys must
    not take quadratic time (20,000 bad jobs took minutes when each check scanned every dropped key)."""

    def __init__(self) -> None:
        self.paths: set[KeyPath] = set()
        self._prefixes: set[KeyPath] = set()

    def add(self, path: KeyPath) -> None:
        self.paths.add(path)
        self._prefixes.update(path[:end] for end in range(len(path) + 1))

    def covers(self, path: KeyPath) -> bool:
        """True when `path` or one of its ancestors was dropped."""
        return any(path[:end] in self.paths for end in range(1, len(path) + 1))

    def overlaps(self, path: KeyPath) -> bool:
        """True when `path` is, contains or lies inside a dropped key."""
        return self.covers(path) or path in self._prefixes


def _salvage_target(found: _Found, error_type: str, data: Any) -> KeyPath | None:
    """The key to drop so that the rest of the file can be validated: the bad value, or what lacks a key."""
    if found.loc in _ROOT_PLACEHOLDERS:
        return found.loc
    loc = found.loc[:-1] if error_type == "missing" else found.loc
    # Dropping a list item would shift the indexes that positions refer to: drop the whole list instead.
    first_index = next((i for i, part in enumerate(loc) if isinstance(part, int)), None)
    if first_index is not None:
        loc = loc[:first_index]
    node = data
    for depth, part in enumerate(loc):
        if not isinstance(node, dict) or part not in node:
            loc = loc[:depth]
            break
        node = node[part]
    return loc or None


# Root keys that every rule needs; when one is missing or bad, a stand-in lets the other rules run (rules that
# read it, such as name lengths, are then not reported).
_ROOT_PLACEHOLDERS: dict[KeyPath, Any] = {("version",): 1, ("project",): "p", ("stage",): "s"}


def _drop(data: dict[str, Any], loc: KeyPath) -> bool:
    """Remove `loc` (or put a stand-in there); say whether the data changed."""
    node: Any = data
    for part in loc[:-1]:
        node = node[part]
    if loc in _ROOT_PLACEHOLDERS:
        if node.get(loc[-1]) == _ROOT_PLACEHOLDERS[loc]:
            return False
        node[loc[-1]] = _ROOT_PLACEHOLDERS[loc]
        return True
    del node[loc[-1]]
    return True


def _collect_issues(data: dict[str, Any], first: ValidationError) -> list[_Found]:
    """Report every problem: field errors, then cross-field rules on what remains once bad keys are dropped.

    pydantic runs a model's after-validators only when all its fields are valid, so one unknown key would hide
    every rule of that model (Fargate pairs, name lengths...). We drop each bad key, validate again, and report
    the rules found then, unless a rule read a key we dropped (it would describe a state the user never wrote).
    """
    found: dict[tuple[KeyPath, str], _Found] = {}
    dropped = _Dropped()
    errors = first.errors()
    current = data
    for attempt in range(_MAX_SALVAGE_PASSES):
        expanded = [(error, f) for error in errors for f in _expand(error)]
        for _, f in expanded:
            if attempt == 0 or (f.is_rule and not any(dropped.overlaps(i) for i in f.involves)):
                found.setdefault((f.loc, f.message), f)
        if all(error["type"] == RULES_ERROR and not error["loc"] for error in errors):
            break  # only JobsFile's own rules: everything else already validated
        targets = {
            t for error, f in expanded if (t := _salvage_target(f, error["type"], current)) is not None
        }
        current = copy.deepcopy(current)
        changed = False
        for target in sorted(targets, key=len):
            if not dropped.covers(target) or target in _ROOT_PLACEHOLDERS:
                changed = _drop(current, target) or changed
                dropped.add(target)
        if not changed:
            break
        try:
            JobsFile.model_validate(current)
        except ValidationError as again:
            errors = again.errors()
            continue
        break
    return list(found.values())


def positioned_issues(
    data: dict[str, Any],
    error: ValidationError,
    positions: Positions,
    *,
    filename: str,
    overrides: Mapping[str, str],
) -> list[ConfigIssue]:
    """Every problem of `data` (whose validation raised `error`), at its line and column, sorted by position.

    `overrides` are the root keys set from the command line (--stage, --region); their issues say so.
    """
    issues = []
    for f in _collect_issues(data, error):
        line, col = positions.lookup(f.loc)
        message = f.message
        if f.loc[:1] and f.loc[0] in overrides:
            message += f" (from --{f.loc[0]} {overrides[str(f.loc[0])]})"
        issues.append(
            ConfigIssue(file=filename, line=line, col=col, path=render_path(f.loc), message=message)
        )
    return sorted(issues, key=lambda i: (i.line, i.col))
