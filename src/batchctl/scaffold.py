"""`batchctl init`: the files of a new project (jobs.yaml, Dockerfile, job code, .dockerignore).

Imports: errors, stdlib. Writes nothing unless every file can be written without overwriting one.
"""

from __future__ import annotations

import re
from pathlib import Path

from batchctl.errors import BatchctlError

JOBS_YAML = """\
# batchctl project: `batchctl validate` checks this file, `batchctl plan` shows what `batchctl deploy` does.
# Every key is documented by `batchctl schema`.
version: 1
project: {project}
stage: dev

image:
  context: .
  dockerfile: Dockerfile

network:
  cidr: 10.20.0.0/24        # a VPC with two public subnets; or vpc_id + subnet_ids + security_group_ids

compute:
  type: FARGATE_SPOT
  max_vcpus: 4

defaults:
  vcpus: 0.5
  memory_mib: 1024
  timeout_s: 900
  retries: 1

notify:
  topic: true               # SNS topic {project}-dev-events: one JSON message per finished run

jobs:
  hello:                    # on demand: batchctl submit hello --body '{{"name": "world"}}'
    command: [python, /opt/app/job/hello.py, --body, Ref::body]
    queue:
      visibility_timeout_s: 60
      max_receive_count: 3

  nightly:                  # every day at 02:00 UTC
    command: [python, /opt/app/job/nightly.py, --time, Ref::time]
    schedule:
      cron: "0 2 * * ? *"
      timezone: UTC
"""

DOCKERFILE = """\
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/app
COPY job/ /opt/app/job/
RUN useradd --create-home --uid 1000 jobs
USER jobs

CMD ["python", "/opt/app/job/hello.py"]
"""

DOCKERIGNORE = """\
# The image needs only the Dockerfile and job/: editing jobs.yaml (memory, schedule...) then leaves the image,
# and so its content-derived tag, unchanged.
*
!Dockerfile
!job
**/__pycache__
**/*.pyc
"""

HELLO = '''\
"""On-demand job: greet the name in the run's body, e.g. {"name": "world"}."""

import argparse
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body", default=os.environ.get("BATCHCTL_BODY", ""))
    args = parser.parse_args()
    try:
        body = json.loads(args.body) if args.body.strip() else {}
    except json.JSONDecodeError as exc:
        print(f"the body is not JSON: {exc}", file=sys.stderr)
        return 2
    print(f"hello, {body.get('name', 'world')} (run {os.environ.get('BATCHCTL_RUN_ID', 'local')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

NIGHTLY = '''\
"""Scheduled job: do the work of the day the schedule fired for (its time arrives as --time, ISO-8601 UTC)."""

import argparse
import os
import sys
from datetime import UTC, datetime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time", default=os.environ.get("BATCHCTL_TIME", ""))
    args = parser.parse_args()
    when = datetime.fromisoformat(args.time.replace("Z", "+00:00")) if args.time else datetime.now(UTC)
    print(f"nightly work for {when.date().isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


class ScaffoldError(BatchctlError):
    """The project files cannot be written."""


PROJECT_NAME = re.compile(r"[a-z][a-z0-9-]{0,19}")
PROJECT_NAME_RULE = "lower-case letters, digits and hyphens, starting with a letter, at most 20 characters"


def suggest_project_name(text: str) -> str:
    """A valid project name close to `text` (lower case, [a-z0-9-], starting with a letter, ≤ 20), for hints."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    name = re.sub(r"^[^a-z]+", "", name)[:20].rstrip("-")
    return name or "jobs"


def project_name(directory: Path) -> str:
    """The folder's name when it is a valid project name as it is.

    A name is never derived silently: two folders cut to the same 20 characters would share every AWS resource name,
    and one project's `destroy` would delete the other's. So a folder name that would have to change is refused,
    with a suggestion for `--project`.
    """
    folder = directory.resolve().name
    if PROJECT_NAME.fullmatch(folder):
        return folder
    raise ScaffoldError(
        f"the folder name {folder!r} is not a valid project name ({PROJECT_NAME_RULE})",
        hint=f"choose the project's name with --project NAME, e.g. --project {suggest_project_name(folder)}",
    )


def scaffold(directory: Path, *, project: str | None = None) -> list[Path]:
    """Write a new project into `directory`; refuse (writing nothing) if any of its files exists."""
    name = project or project_name(directory)
    if not PROJECT_NAME.fullmatch(name):
        raise ScaffoldError(
            f"{name!r} is not a valid project name ({PROJECT_NAME_RULE})",
            hint=f"for example --project {suggest_project_name(name)}",
        )
    files = {
        "jobs.yaml": JOBS_YAML.format(project=name),
        "Dockerfile": DOCKERFILE,
        ".dockerignore": DOCKERIGNORE,
        "job/hello.py": HELLO,
        "job/nightly.py": NIGHTLY,
    }
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    existing = [rel for rel in files if (directory / rel).exists()]
    if existing:
        raise ScaffoldError(
            f"refusing to overwrite existing files in {directory}: {', '.join(existing)}",
            hint="run `batchctl init` in an empty folder (or pass another folder)",
        )
    written: list[Path] = []
    try:
        for rel, content in files.items():
            path = directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            written.append(path)
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise ScaffoldError(f"cannot write {directory}: {exc.strerror or exc}") from exc
    return written
