"""Global options after the command: `batchctl plan -o json` parses as `batchctl -o json plan`, for every command
alike, by moving the root's options (and their values) found after the command name in front of it. Imports: typer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from typer.core import TyperOption


def globals_first(args: list[str], *, root: Sequence[Any], command: Callable[[str], Any]) -> list[str]:
    """`args` with every option of `root` found after the command name moved in front of it. `command(name)` is the
    command of that name (None: not a command). An option the command (or one of its subcommands) defines itself
    stays its own, as does a value of one of its options; `--` ends the search."""
    globals_ = Options(root)
    at = 0
    while at < len(args) and args[at] != "--" and (width := globals_.width(args, at)):
        at += width
    found = command(args[at]) if at < len(args) and args[at] != "--" else None
    if found is None:
        return args  # no command: click reports what is wrong
    own = Options(_all_params(found))
    moved: list[str] = []
    kept: list[str] = []
    rest = at + 1
    while rest < len(args) and args[rest] != "--":
        if width := own.width(args, rest):
            target = kept
        elif width := globals_.width(args, rest):
            target = moved
        else:  # an argument, or an option click will report
            target, width = kept, 1
        target.extend(args[rest : rest + width])
        rest += width
    return [*args[:at], *moved, args[at], *kept, *args[rest:]]


class Options:
    """The option names of some parameters, and how many command-line arguments each one spans."""

    def __init__(self, params: Sequence[Any]) -> None:
        options = [p for p in params if isinstance(p, TyperOption)]
        self.takes_value = {
            name: not (p.is_flag or p.count) for p in options for name in [*p.opts, *p.secondary_opts]
        }

    def width(self, args: list[str], at: int) -> int:
        """How many of `args` from `at` one of these options spans (option and value), 0 if it is none of them.
        Forms: `--name`, `--name value`, `--name=value`, `-x`, `-x value`, `-xvalue`, and flags together: `-vv`."""
        token = args[at]
        if not token.startswith("-") or token == "-":
            return 0
        long = token.startswith("--")
        name = token.partition("=")[0] if long else token[:2]
        if name not in self.takes_value:
            return 0
        if self.takes_value[name]:
            attached = "=" in token if long else len(token) > 2
            return 1 if attached else min(2, len(args) - at)
        if long or all(self.takes_value.get(f"-{flag}") is False for flag in token[2:]):
            return 1
        return 0


def flags_without_type() -> None:
    """Help lists a flag (`--yes`, `--help`) or a counter (`-v`) without a `<bool>`/`<int>` placeholder: it takes
    no value. typer shows `display_type_rich()` in the type column and nothing for None."""
    if getattr(TyperOption, "_batchctl_flags", False):
        return
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperOption._batchctl_flags = True  # type: ignore[attr-defined]


def _all_params(command: Any) -> list[Any]:
    """The parameters of a command, or of a group and of every command under it."""
    nested = getattr(command, "commands", {}).values()
    return [*command.params, *(p for sub in nested for p in _all_params(sub))]
