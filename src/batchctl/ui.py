"""Everything batchctl writes to the terminal: two rich consoles (stdout for results, stderr for progress, warnings
and errors), verbosity, and the renderers of plans, events and errors. Imports: plan, diff, errors, rich.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from batchctl.diff import Action
from batchctl.errors import BatchctlError, ConfigValidationError
from batchctl.plan import UNKNOWN, ApplyResult, Event, Phase, Plan, to_jsonable
from batchctl.specs import Key

SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "magenta"),
    Action.DELETE: ("-", "red"),
    Action.NOOP: ("=", "dim"),
}
PAST = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.REPLACE: "replaced",
    Action.DELETE: "deleted",
    Action.NOOP: "unchanged",
}


class Output(StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass
class Ui:
    """Output for one invocation. `verbosity`: -1 quiet, 0 normal, 1 one line per AWS call, 2 botocore too."""

    out: Console
    err: Console
    output: Output = Output.TEXT
    verbosity: int = 0
    debug: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Changes the coming apply will make (0: unknown), and how many have finished: `[done/total]` on each line.
    _progress_total: int = 0
    _progress_done: int = 0

    @classmethod
    def create(cls, *, output: Output, verbosity: int, color: bool, debug: bool) -> Ui:
        # emoji=False: rich would turn `:100:` into an emoji, and `jobs.yaml:100:5:` is a position.
        out = Console(highlight=False, emoji=False, no_color=not color or None, soft_wrap=True)
        err = Console(stderr=True, highlight=False, emoji=False, no_color=not color or None, soft_wrap=True)
        ui = cls(out=out, err=err, output=output, verbosity=verbosity, debug=debug)
        ui._configure_logging()
        return ui

    def _configure_logging(self) -> None:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root = logging.getLogger("batchctl")
        root.handlers[:] = [handler]
        root.propagate = False
        root.setLevel(logging.DEBUG if self.verbosity >= 1 else logging.WARNING)
        if self.verbosity >= 2:
            boto_logger = logging.getLogger("botocore")
            boto_logger.handlers[:] = [handler]
            boto_logger.setLevel(logging.DEBUG)
            # botocore's DEBUG output includes request headers; the signature never holds the secret key,
            # but Authorization and security tokens are redacted below anyway.
            handler.addFilter(_redact_filter)

    @property
    def is_json(self) -> bool:
        return self.output is Output.JSON

    @property
    def interactive(self) -> bool:
        return bool(self.err.is_interactive) and self.verbosity >= 0

    # ---- plain messages ----------------------------------------------------------------------------------
    def info(self, message: str) -> None:
        """Progress or information on stderr; hidden by -q."""
        if self.verbosity >= 0:
            with self._lock:
                self.err.print(message)

    def detail(self, message: str) -> None:
        """A detail line (build output, waits) shown with -v."""
        if self.verbosity >= 1:
            with self._lock:
                self.err.print(f"  [dim]{escape(message)}[/]")

    def warn(self, message: str) -> None:
        with self._lock:
            self.err.print(f"[yellow]warning:[/] {escape(message)}")

    def error(self, exc: BatchctlError) -> None:
        """An error a user can act on: `error: ...` and `hint: ...` on stderr, never a traceback."""
        with self._lock:
            if isinstance(exc, ConfigValidationError):
                for issue in exc.issues:
                    self.err.print(escape(str(issue)))
                count = len(exc.issues)
                self.err.print(f"[red]error:[/] {count} problem{'s' if count != 1 else ''} in the config")
            else:
                self.err.print(f"[red]error:[/] {escape(exc.message)}")
            if exc.hint:
                self.err.print(f"[dim]hint:[/] {escape(exc.hint)}")

    def internal_error(self) -> None:
        with self._lock:
            self.err.print(
                "[red]internal error:[/] this is a bug in batchctl; rerun with --debug and report it"
            )

    def result(self, text: str) -> None:
        """The requested result, on stdout (never hidden by -q)."""
        self.out.print(text)

    def json(self, payload: Mapping[str, Any]) -> None:
        """One JSON document on stdout, always with a "version" key."""
        document = {"version": 1, **payload}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()

    def emit(self, payload: Mapping[str, Any], text: str | Callable[[], None] | None = None) -> None:
        """A command's result: with -o json the document `payload`; otherwise `text` on stdout (plain text, one
        line per result line), or the renderer `text` is called, or (None) nothing."""
        if self.is_json:
            self.json(payload)
        elif callable(text):
            text()
        elif text is not None:
            self.result(escape(text))

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner for long waits, only on an interactive stderr."""
        if self.interactive:
            with self.err.status(escape(message)):
                yield
        else:
            with nullcontext():
                yield

    # ---- plans and progress ------------------------------------------------------------------------------
    def render_plan(self, plan: Plan, *, show_noop: bool = False) -> None:
        """The plan in words, on stdout (it is the result of `plan`)."""
        lines: list[str] = []
        for change in plan.changes:
            if change.action is Action.NOOP and not show_noop:
                continue
            symbol, color = SYMBOLS[change.action]
            text = f"[{color}]{symbol} {escape(change.key.label)}[/]"
            if change.action in (Action.UPDATE, Action.REPLACE) and change.fields:
                text += f" [dim]({', '.join(change.fields)})[/]"
            lines.append(text)
            if change.action in (Action.UPDATE, Action.REPLACE) and self.verbosity >= 1:
                for name in change.fields:
                    before = _short(to_jsonable(getattr(change.observed, name)))
                    after = _short(to_jsonable(getattr(change.desired, name)))
                    lines.append(f"    {name}: {escape(before)} → {escape(after)}")
        for line in lines:
            self.out.print(line)
        summary = plan.summary()
        if plan.destroy:
            tail = f"{summary['delete']} to delete"
            if plan.stops_runs:
                tail += f"; stops {plan.stops_runs} running run(s) first"
        else:
            tail = (
                ", ".join(
                    f"{summary[a.value]} to {a.value}" for a in (Action.CREATE, Action.UPDATE, Action.REPLACE)
                )
                + f", {summary['noop']} unchanged"
            )
            if summary["delete"]:  # duplicates of ours under one name: the one in use stays
                tail += f", {summary['delete']} duplicate(s) to delete"
        self.out.print(f"Plan for {escape(plan.project)}/{escape(plan.stage)}: {tail}.")
        self._key_block(
            f"Not in jobs.yaml any more ({len(plan.orphans)}; `batchctl deploy --prune` deletes them, "
            "`destroy` always does):",
            plan.orphans,
            "[red]- ",
        )
        self._key_block(
            f"[yellow]Warning: {len(plan.foreign)} resource(s) carry this stage's tags but batchctl would never "
            "name them so: left alone (not a change; `--prune` and `destroy` never delete them):[/]",
            plan.foreign,
            "[yellow]! ",
        )
        for key, count in plan.running_runs.items():
            self.out.print(f"[yellow]! {escape(str(key))} has {count} running run(s): destroy stops them[/]")
        if plan.triggers:
            self.out.print("Triggers:")
            for trigger in plan.triggers:
                self.out.print(f"  {escape(trigger.job)}: {escape(trigger.text)}")
        for note in plan.notes:
            self.out.print(f"[yellow]Note:[/] {escape(note)}")

    def _key_block(self, heading: str, keys: tuple[Key, ...], bullet: str) -> None:
        """A heading and one line per key (`bullet` opens the line's markup), if there are any keys."""
        if keys:
            self.out.print(heading)
            for key in keys:
                self.out.print(f"{bullet}{escape(key.label)}[/]")

    def start_progress(self, total: int) -> None:
        """The coming apply makes `total` changes: each finished one is shown as `[done/total]`."""
        with self._lock:
            self._progress_total, self._progress_done = total, 0

    def _count(self) -> str:
        """` [done/total]` for one more finished change (empty when the total is unknown)."""
        with self._lock:
            self._progress_done += 1
            done, total = self._progress_done, self._progress_total
        return f" \\[{done}/{max(done, total)}]" if total else ""

    def render_event(self, event: Event) -> None:
        """One stderr line per finished change, with how many of all are done (so CI logs show progress)."""
        if event.phase is Phase.START:
            if self.verbosity >= 1:
                self.info(f"  … {event.action.value} {escape(event.key.label)}")
            return
        symbol, color = SYMBOLS[event.action]
        if event.phase is Phase.DONE:
            self.info(
                f"[{color}]{symbol}[/] {PAST[event.action]} {escape(event.key.label)} ({event.duration_s:.1f}s)"
                + self._count()
            )
        elif event.phase is Phase.FAILED:
            counted = self._count()
            with self._lock:
                self.err.print(
                    f"[red]✗ failed to {event.action.value} {escape(event.key.label)}[/] "
                    f"({event.duration_s:.1f}s){counted}: {escape(event.error or '')}"
                )

    def render_kept_orphans(self, plan: Plan) -> None:
        """After a deploy without --prune: a warning naming what jobs.yaml no longer declares, if anything."""
        if plan.orphans:
            shown = ", ".join(key.label for key in plan.orphans[:3]) + (
                ", ..." if len(plan.orphans) > 3 else ""
            )
            self.warn(
                f"{len(plan.orphans)} resource(s) of this stage are no longer in jobs.yaml and were kept "
                f"({shown}); `batchctl deploy --prune` deletes them"
            )

    def render_image(self, reference: str, digest: str | None) -> None:
        """Where deploy put the job image: pushed (with its digest), or (None) named on the local engine."""
        if digest is not None:
            self.info(f"[green]↑[/] pushed {escape(reference)} ({escape(digest)})")
        else:
            self.info(f"image {escape(reference)} is on the local engine (the sandbox's Batch runs it there)")

    def render_apply_result(self, result: ApplyResult, *, verb: str) -> None:
        """Closing lines of deploy/destroy: counts, and what was not done when it stopped early."""
        done = len(result.done)
        if result.interrupted:
            self.info(f"[yellow]interrupted:[/] {done} change(s) done, {len(result.not_started)} not started")
        if result.failed or result.interrupted:
            for change in result.not_started:
                self.info(f"  not started: {change.action.value} {escape(change.key.label)}")
        elif done:
            self.info(f"{verb} complete: {done} change(s) applied.")


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if text == UNKNOWN:
        return text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is when a record arrives, not the stream of when it was set up: a command
    run in-process (tests, CliRunner) swaps sys.stderr and closes its own when the command ends."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except (OSError, ValueError):  # stderr closed or gone: logging must never break the command
            self.handleError(record)


def _redact_filter(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    for marker in ("Authorization", "X-Amz-Security-Token", "aws_secret_access_key", "SecretAccessKey"):
        if marker.lower() in message.lower():
            record.msg = f"[{record.name}: message with credentials redacted]"
            record.args = ()
            break
    return True


def render_table(
    ui: Ui,
    *,
    columns: list[str],
    rows: list[list[str]],
    title: str | None = None,
    no_wrap: Collection[str] = (),
) -> None:
    """A table of results on stdout; the `no_wrap` columns (ids, times) are never folded onto two lines."""
    # No box: columns two spaces apart, so more of a row fits a narrow terminal (a header rule would be one more
    # line to skip for `awk`).
    table = Table(title=title, box=None, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=column in no_wrap)
    for row in rows:
        table.add_row(*(escape(c) for c in row))
    ui.out.print(table)
