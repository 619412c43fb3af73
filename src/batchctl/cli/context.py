"""What every command shares: the global options in `CliState` (ctx.obj) with lazy access to the config, the AWS
session, the names and the project folder; the error guard `reporting` (app.py wraps every command in it); the
confirmation before changes. Imports: typer, errors (the rest lazily: this module loads for `--help`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.errors import BatchctlError, ConfirmationRequiredError, ExitCode

if TYPE_CHECKING:
    from batchctl.aws import Aws
    from batchctl.config import JobsFile
    from batchctl.naming import Names
    from batchctl.plan import Plan
    from batchctl.ui import Ui

ParallelismOption = Annotated[
    int, typer.Option("--parallelism", min=1, max=64, help="AWS calls and changes in flight at once.")
]
# The "result" of a deploy or destroy that had nothing to do (-o json).
NOTHING_DONE: dict[str, list[str]] = {"done": [], "failed": [], "not_started": []}


@dataclass
class CliState:
    """Global options of one invocation, carried in typer's ctx.obj."""

    config_path: Path
    ui: Ui
    stage: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    _config: JobsFile | None = field(default=None, repr=False)
    _aws: Aws | None = field(default=None, repr=False)

    @property
    def project_dir(self) -> Path:
        """The folder of jobs.yaml: paths in it (image.context) are relative to it."""
        return self.config_path.resolve().parent

    def config(self) -> JobsFile:
        """jobs.yaml, loaded and validated once (exit 3 on any issue)."""
        if self._config is None:
            from batchctl.cli.usage import raise_override_issue
            from batchctl.config import load_config
            from batchctl.errors import ConfigValidationError

            try:
                self._config = load_config(self.config_path, stage=self.stage, region=self.region)
            except ConfigValidationError as exc:  # `--region 'us east 1'` is a usage error, not the file's
                raise_override_issue(exc, {"region": self.region, "stage": self.stage})
                raise
        return self._config

    def use_config(self, cfg: JobsFile) -> None:
        """Act on `cfg` instead of jobs.yaml (destroy's stand-in when jobs.yaml cannot be used)."""
        self._config = cfg

    def aws(self) -> Aws:
        """The AWS session for this project: --profile, then region from --region / jobs.yaml / environment."""
        if self._aws is None:
            from batchctl.aws import Aws, create_session
            from batchctl.cli.usage import check_endpoint_url

            check_endpoint_url(self.endpoint_url, given_as="--endpoint-url")
            check_endpoint_url(os.environ.get("AWS_ENDPOINT_URL"), given_as="AWS_ENDPOINT_URL")
            cfg = self.config()  # first: a bad --region is a usage error before any session exists
            region = self.region or cfg.region
            session = create_session(profile=self.profile, region=region)
            self._aws = Aws(session, endpoint_url=self.endpoint_url)
        return self._aws

    def names(self) -> Names:
        """The names and ARNs of the configured project+stage in the caller's account."""
        from batchctl.naming import Names

        cfg = self.config()
        return Names(project=cfg.project, stage=cfg.stage, ctx=self.aws().context())


@contextmanager
def reporting(ui: Ui) -> Iterator[None]:
    """Map errors to messages and exit codes, in one place. --debug re-raises for a traceback."""
    try:
        yield
    except BatchctlError as exc:
        ui.error(exc)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        ui.info("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except (typer.Exit, typer.Abort, typer.TyperException):  # typer's own: usage errors, exits
        raise
    except Exception:
        if ui.debug:
            raise
        ui.internal_error()
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


def confirm_or_exit(ui: Ui, *, question: str, yes: bool) -> None:
    """Ask on a TTY (no: exit 0, nothing changed); off a TTY `--yes` is required (ConfirmationRequiredError)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationRequiredError(
            "refusing to change resources without confirmation: stdin is not a terminal",
            hint="rerun with --yes",
        )
    if not typer.confirm(question, default=False, err=True):
        ui.info("Nothing changed.")
        raise typer.Exit(int(ExitCode.OK))


def confirmation(ui: Ui, plan: Plan, *, yes: bool, also: int = 0) -> Callable[[str], None]:
    """The question deploy and destroy ask before the first change: the plan (on stdout; with -o json the final
    document holds it), then `confirm_or_exit`; the progress then counts the plan's changes (and `also` more)."""

    def confirm(question: str) -> None:
        if not ui.is_json:
            ui.render_plan(plan)
        confirm_or_exit(ui, question=question, yes=yes)
        ui.start_progress(len(plan.pending) + also)

    return confirm
