"""Reading jobs.yaml: load_config (a file), parse_config (text), config_schema (JSON Schema for editors).

Imports: config.models, config.issues, errors, yamlpos, pydantic, stdlib. The one place config reads a file.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from batchctl.config.issues import describe, positioned_issues
from batchctl.config.models import JobsFile
from batchctl.errors import ConfigNotFoundError, ConfigSyntaxError, ConfigValidationError
from batchctl.yamlpos import MAX_DOCUMENT_BYTES, load_with_positions


def parse_config(
    text: str, *, filename: str = "jobs.yaml", stage: str | None = None, region: str | None = None
) -> JobsFile:
    """Parse and validate jobs.yaml text; `stage`/`region` override the file's values."""
    data, positions = load_with_positions(text, filename=filename)
    if data is None:
        raise ConfigSyntaxError(
            f"{filename}:1:1: the file is empty",
            hint="run `batchctl init` for a starting point; `batchctl schema` describes every key",
        )
    if not isinstance(data, dict):
        line, col = positions.lookup(())
        raise ConfigSyntaxError(
            f"{filename}:{line}:{col}: expected a mapping with version, project, stage and jobs, "
            f"got {describe(data)}"
        )
    overrides = {k: v for k, v in (("stage", stage), ("region", region)) if v is not None}
    data = {**data, **overrides}
    try:
        return JobsFile.model_validate(data)
    except ValidationError as exc:
        issues = positioned_issues(data, exc, positions, filename=filename, overrides=overrides)
        raise ConfigValidationError(issues, hint="`batchctl schema` prints every key and its type") from exc


def load_config(path: Path, *, stage: str | None = None, region: str | None = None) -> JobsFile:
    """Read and validate jobs.yaml at `path`; `stage`/`region` override the file's values."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigNotFoundError(
            f"{path}: no such file", hint="run `batchctl init` to create jobs.yaml, or pass -c PATH"
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigSyntaxError(
            f"{path}: is a directory, not a YAML file", hint="pass -c PATH/jobs.yaml"
        ) from exc
    except OSError as exc:
        raise ConfigSyntaxError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigSyntaxError(
            f"{path}:1:1: the file is larger than {MAX_DOCUMENT_BYTES:,} bytes (5 MiB)",
            hint="jobs.yaml describes jobs; keep data in S3 or in the image",
        )
    start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    bad = raw.find(b"\x00")
    if bad >= 0:
        what = "binary data (a NUL byte)"
    else:
        try:
            text = raw[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = start + exc.start
            what = f"not UTF-8 text (byte 0x{raw[bad]:02x})"
        else:
            return parse_config(text, filename=str(path), stage=stage, region=region)
    line = raw.count(b"\n", 0, bad) + 1
    col = bad - (raw.rfind(b"\n", 0, bad) + 1) + 1
    raise ConfigSyntaxError(
        f"{path}:{line}:{col}: {what}", hint="is this a binary file? jobs.yaml must be UTF-8 text"
    )


def config_schema() -> dict[str, Any]:
    """JSON Schema of jobs.yaml, for editors (`batchctl schema`)."""
    return JobsFile.model_json_schema()
