"""Shell completion of JOB and RUN arguments (`batchctl --install-completion` installs it): job names from jobs.yaml,
run ids from the account as `status` lists them. Completion never fails and never waits long: no jobs.yaml, no
credentials or no network complete nothing. Imports: stdlib (yaml, config, runs and AWS only when completing)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

RUNS_WAIT_S = 4.0  # how long completing a run id may wait for AWS before it offers nothing
RUNS_LISTED = 50


def _root_params(ctx: Any) -> dict[str, Any]:
    """The global options as parsed so far (before or after the command)."""
    return dict(ctx.find_root().params or {})


def complete_job(ctx: Any, incomplete: str) -> list[str]:
    """Job names of jobs.yaml (-c or BATCHCTL_CONFIG, else ./jobs.yaml) that start with `incomplete`."""
    import yaml

    path = Path(_root_params(ctx).get("config") or "jobs.yaml")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        return []
    return sorted(name for name in map(str, jobs) if name.startswith(incomplete or ""))


def complete_run(ctx: Any, incomplete: str) -> list[str]:
    """Run ids of the stage's newest runs (of the command's JOB when it has one) that start with `incomplete`;
    nothing when AWS does not answer within RUNS_WAIT_S."""
    found: list[str] = []
    worker = threading.Thread(target=_list_run_ids, args=(ctx, found), daemon=True)
    worker.start()
    worker.join(RUNS_WAIT_S)
    if worker.is_alive():
        return []
    return [run_id for run_id in found if run_id.startswith(incomplete or "")]


def _list_run_ids(ctx: Any, found: list[str]) -> None:
    from batchctl.cli.context import CliState
    from batchctl.ui import Output, Ui

    params = _root_params(ctx)
    ui = Ui.create(output=Output.TEXT, verbosity=-1, color=False, debug=False)
    state = CliState(
        config_path=Path(params.get("config") or "jobs.yaml"),
        ui=ui,
        stage=params.get("stage"),
        profile=params.get("profile"),
        region=params.get("region"),
        endpoint_url=params.get("endpoint_url"),
    )
    try:
        from batchctl import runs

        cfg = state.config()
        job = (ctx.params or {}).get("job")
        jobs = [job] if job in cfg.jobs else sorted(cfg.jobs)
        summaries = runs.list_runs(state.aws(), state.names(), jobs=jobs, limit=RUNS_LISTED)
    except Exception:  # no config, credentials or network; completion must never fail nor print a traceback (from this thread) in the user's shell
        return
    found.extend(summary.run_id for summary in summaries)
