"""Usage mistakes reported as every batchctl error is: an `error:` line and a `hint:` line on stderr, exit 2, before
any AWS call. click's own (a bad option value, an unknown command or option, a missing argument) and a global option
jobs.yaml would otherwise report as a problem of the file (`--region 'us east 1'`). Imports: typer, errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from typer._click.exceptions import UsageError as ClickUsageError

from batchctl.errors import ConfigValidationError, ExitCode, UsageError

# The root keys of jobs.yaml a global option sets, and what the hint says about each.
OVERRIDE_HINTS = {
    "region": "an AWS region name such as eu-west-1 (`aws ec2 describe-regions` lists them)",
    "stage": "--stage replaces `stage:` of jobs.yaml and follows its rules (`batchctl schema`)",
}


@contextmanager
def click_usage_errors() -> Iterator[None]:
    """Print click's usage errors in batchctl's two lines (no box, no usage block) and exit 2."""
    try:
        yield
    except ClickUsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "batchctl"
        message = " ".join(exc.format_message().split())  # one line, however click wrapped it
        typer.echo(f"error: {message}", err=True)
        typer.echo(f"hint: `{command} --help` lists what it takes", err=True)
        raise typer.Exit(int(ExitCode.USAGE)) from None


def check_endpoint_url(value: str | None, *, given_as: str) -> None:
    """UsageError unless `value` (None: not given) is an http(s) URL with a host: botocore would fail on it later
    in its own words (or, for `http://[`, with a bare ValueError)."""
    if value is None:
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        problem = str(exc)
    else:
        problem = (
            "the scheme must be http or https"
            if parts.scheme not in ("http", "https")
            else "it names no host"
            if not parts.hostname
            else ""
            if port_ok
            else "port 0"
        )
    if problem:
        shown = value if len(value) <= 60 else value[:59] + "…"
        raise UsageError(
            f"{given_as} {shown!r} is not an endpoint URL: {problem}",
            hint="give scheme, host and port, e.g. http://127.0.0.1:4750 for `batchctl sandbox`",
        )


def raise_override_issue(exc: ConfigValidationError, overrides: dict[str, str | None]) -> None:
    """A UsageError naming the option when a problem of jobs.yaml comes from a global option (--region, --stage);
    returns when none does (the config error stands)."""
    for issue in exc.issues:
        value = overrides.get(issue.path)
        if value is not None:
            message = issue.message.removesuffix(f" (from --{issue.path} {value})")
            raise UsageError(f"--{issue.path}: {message}", hint=OVERRIDE_HINTS.get(issue.path)) from None
