"""Run ids a person can copy: the shortest prefix that names one run among others (`short_ids`), and the run a
typed id or prefix names (`resolve_run`). Pure. Imports: errors, stdlib.

An id is shown whole unless a prefix of at least MIN_PREFIX characters names it alone and saves real space; a
prefix never stops where another id of the same list would also start, so what is shown never looks like
another run. An exact id always wins over a prefix (`r1` is a run of its own, not a prefix of `r1-r1`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from batchctl.errors import RunError, UsageError

__all__ = ["MIN_PREFIX", "resolve_run", "short_ids"]

MIN_PREFIX = 8
# A prefix shorter than the id by fewer characters than this is not worth the doubt: show the id whole.
MIN_SAVING = 4
_SHOWN_AMBIGUOUS = 5


def short_ids(ids: Iterable[str]) -> dict[str, str]:
    """Each id → what to show: its shortest prefix (≥ MIN_PREFIX) that no other id starts with, or the id whole."""
    unique = sorted(set(ids))
    shown: dict[str, str] = {}
    for index, run_id in enumerate(unique):
        # Among sorted ids, the ones sharing the longest prefix with run_id are its neighbours.
        shared = 0
        for other in (
            unique[index - 1] if index else None,
            unique[index + 1] if index + 1 < len(unique) else None,
        ):
            if other is not None:
                shared = max(shared, _common_prefix(run_id, other))
        length = max(MIN_PREFIX, shared + 1)
        shown[run_id] = run_id if length > len(run_id) - MIN_SAVING else run_id[:length]
    return shown


def resolve_run(prefix: str, candidates: Collection[str]) -> str:
    """The one run id among `candidates` that is `prefix` itself or starts with it.

    None matches: a RunError. Several match: a UsageError naming some of them (the id typed is too short)."""
    text = prefix.strip()
    if not text:
        raise UsageError("a run id is empty", hint="run ids are the RUN column of `batchctl status`")
    if text in candidates:
        return text
    matches = sorted(c for c in candidates if c.startswith(text))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunError(f"no run {text!r}", hint="run ids are the RUN column of `batchctl status`")
    listed = ", ".join(matches[:_SHOWN_AMBIGUOUS]) + (", …" if len(matches) > _SHOWN_AMBIGUOUS else "")
    raise UsageError(
        f"run id {text!r} is ambiguous: {len(matches)} runs start with it ({listed})",
        hint="give more of the id (`batchctl status -o json` shows each run id whole)",
    )


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
