"""`batchctl unlock`: break a stale lock of this project+stage after showing who holds it; and what the mutating
commands use to hold that lock (`stage_lock`, `LockTimeoutOption`)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState, confirm_or_exit

if TYPE_CHECKING:
    from batchctl.lock import LockRecord, StageLock
    from batchctl.ui import Ui

LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0.0,
        metavar="SECONDS",
        help="If another command holds this stage's lock, wait up to this long for it (default: fail at once).",
    ),
]


def stage_lock(
    state: CliState, *, command: str, timeout_s: float, stop: threading.Event | None = None
) -> StageLock:
    """The lock of the configured project+stage for `command`, to hold from before the plan is read until the
    command ends; losing it sets `stop` (the engine's: no new change starts)."""
    from batchctl.lock import StageLock

    cfg = state.config()
    return StageLock(
        state.aws(),
        project=cfg.project,
        stage=cfg.stage,
        command=command,
        timeout_s=timeout_s,
        on_notice=state.ui.warn,
        stop=stop,
    )


def unlock(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Break the lock without asking.")] = False,
) -> None:
    """Break the lock of this project and stage, left by a command that is gone (shows the holder, then asks)."""
    state: CliState = ctx.obj
    ui = state.ui
    from batchctl.lock import break_lock, read_lock

    cfg = state.config()
    where = f"{cfg.project}/{cfg.stage}"
    holder = read_lock(state.aws(), project=cfg.project, stage=cfg.stage)
    if holder is None:
        ui.info(escape(f"{where} is not locked."))
        _report(ui, cfg.project, cfg.stage, holder=None)
        return
    now = time.time()
    ui.info(escape(f"{where} is locked by {holder.describe(now)}"))
    if not holder.is_expired(now):
        ui.warn(
            "its holder renewed it recently: if that command still runs, breaking its lock lets another "
            "command change the stage at the same time"
        )
    confirm_or_exit(ui, question=f"Break the lock of {where}?", yes=yes)
    broken = break_lock(state.aws(), project=cfg.project, stage=cfg.stage, expected=holder)
    if broken is None:
        ui.info(escape(f"the lock of {where} went away meanwhile: nothing to break"))
    _report(ui, cfg.project, cfg.stage, holder=broken)


def _report(ui: Ui, project: str, stage: str, *, holder: LockRecord | None) -> None:
    """The result: the holder whose lock was broken (None: there was none)."""
    text = (
        f"broke the lock of {project}/{stage} held by {holder.owner} ({holder.command})" if holder else None
    )
    ui.emit(
        {"project": project, "stage": stage, "broken": holder is not None, "lock": _as_dict(holder)},
        text,
    )


def _as_dict(holder: LockRecord | None) -> dict[str, object] | None:
    return holder.to_dict() if holder is not None else None
