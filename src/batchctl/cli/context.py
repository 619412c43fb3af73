"""What every command shares: global options in `CliState` (ctx.obj), the error-reporting guard, and lazy access
to the config, the AWS session and the AwsContext."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from batchctl.errors import BatchctlError, ExitCode

if TYPE_CHECKING:
    from batchctl.aws import Aws
    from batchctl.config import JobsFile
    from batchctl.naming import AwsContext
    from batchctl.ui import Ui


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

    def config(self) -> JobsFile:
        """jobs.yaml, loaded and validated once (exit 3 on any issue)."""
        if self._config is None:
            from batchctl.config import load_config

            self._config = load_config(self.config_path, stage=self.stage, region=self.region)
        return self._config

    def aws(self) -> Aws:
        """The AWS session for this project: --profile, then region from --region / jobs.yaml / environment."""
        if self._aws is None:
            from batchctl.aws import Aws, create_session

            region = self.region or self.config().region
            session = create_session(profile=self.profile, region=region)
            self._aws = Aws(session, endpoint_url=self.endpoint_url)
        return self._aws

    def context(self) -> AwsContext:
        return self.aws().context()


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.obj
    assert isinstance(state, CliState)
    return state


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
    except (typer.Exit, typer.Abort):
        raise
    except Exception:
        if ui.debug:
            raise
        ui.internal_error()
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


def confirm_or_exit(ui: Ui, *, question: str, yes: bool) -> None:
    """Ask on a TTY; off a TTY `--yes` is required (exit 2)."""
    if yes:
        return
    if not sys.stdin.isatty():
        ui.err.print(
            "[red]error:[/] refusing to change resources without confirmation: stdin is not a terminal"
        )
        ui.err.print("[dim]hint:[/] rerun with --yes")
        raise typer.Exit(int(ExitCode.USAGE))
    if not typer.confirm(question, default=False, err=True):
        ui.info("Nothing changed.")
        raise typer.Exit(int(ExitCode.OK))


def jsonable(value: Any) -> Any:
    from batchctl.plan import to_jsonable

    return to_jsonable(value)
