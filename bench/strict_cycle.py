"""The example's first deploy and its destroy on the strict sandbox at `--time-scale 1` (AWS's durations: a compute
environment CREATING for 30 s, a job queue DELETING for 60 s, a new role invisible for 10 s...), each against its
critical path: the longest chain through the dependency graph batchctl respects (a resource is created after, and
deleted before, what it references), each resource weighted with the waits AWS imposes on it, read from the strict
sandbox's own tables. Wall time within 1.2 × that path is the bound: what batchctl adds (API latency, polling) is
small next to what AWS makes everyone wait.

`deploy --skip-image` (the image build is Docker's time, not AWS's; see `image` figures elsewhere), AWS calls through
the proxy adding 80 ms each. About five minutes, so not part of `bench/run`: run it alone,
`.venv/bin/python bench/strict_cycle.py`.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import harness as h

BOUND = 1.2
TIME_SCALE = 1.0
_DONE = re.compile(r"^\S+ (?:created|updated|replaced|deleted) (\S+/\S+) \((\d+(?:\.\d+)?)s\)")


def reported(stderr: str, chain: list[str]) -> str:
    """What the command reported for each resource of the chain (its own seconds per resource)."""
    took = {m.group(1): m.group(2) for line in stderr.splitlines() if (m := _DONE.match(line.strip()))}
    return ", ".join(f"{key.split('/', 1)[0]} {took[key]}s" for key in chain if key in took)


def waits() -> tuple[dict[str, float], dict[str, float], float, set[str]]:
    """(create waits by kind, delete waits by kind, role propagation, kinds whose create needs an assumable role),
    from the strict sandbox's tables, in seconds at time scale 1."""
    from batchctl.sandbox.strict import batch_states, iam, pipes

    ce = "compute-environment"
    queue = "job-queue"
    create = {
        "batch.compute_environment": batch_states.SECONDS[(ce, "CREATING")],
        "batch.job_queue": batch_states.SECONDS[(queue, "CREATING")],
        "pipes.pipe": pipes.SECONDS["CREATING"],
    }
    # Deleting a compute environment or queue means disabling it first (UPDATING), then DELETING until it is gone.
    delete = {
        "batch.compute_environment": batch_states.SECONDS[(ce, "UPDATING")]
        + batch_states.SECONDS[(ce, "DELETING")],
        "batch.job_queue": batch_states.SECONDS[(queue, "UPDATING")]
        + batch_states.SECONDS[(queue, "DELETING")],
        "pipes.pipe": pipes.SECONDS["DELETING"],
    }
    assumes_role = {"sfn.state_machine", "pipes.pipe", "scheduler.schedule", "batch.compute_environment"}
    return create, delete, iam.PROPAGATION_S, assumes_role


def kind(key: str) -> str:
    return key.split("/", 1)[0]


def critical_paths(folder: Path) -> tuple[tuple[float, list[str]], tuple[float, list[str]]]:
    """(deploy path, destroy path): total seconds and the chain of resources."""
    from batchctl import graph

    create, delete, propagation_s, assumes_role = waits()
    edges = {str(k): {str(d) for d in deps} for k, deps in graph.edges(h.offline_specs(folder)).items()}
    dependents: dict[str, set[str]] = {k: set() for k in edges}
    for key, deps in edges.items():
        for dep in deps:
            dependents[dep].add(key)

    done: dict[str, tuple[float, list[str]]] = {}

    def created(key: str) -> tuple[float, list[str]]:
        if key not in done:
            starts = [(0.0, [])]
            for dep in edges[key]:
                at, path = created(dep)
                if kind(dep) == "iam.role" and kind(key) in assumes_role:
                    at, path = at + propagation_s, [*path, f"(role propagation {propagation_s:.0f}s)"]
                starts.append((at, path))
            at, path = max(starts, key=lambda item: item[0])
            done[key] = (at + create.get(kind(key), 0.0), [*path, key])
        return done[key]

    gone: dict[str, tuple[float, list[str]]] = {}

    def deleted(key: str) -> tuple[float, list[str]]:
        if key not in gone:
            at, path = max((deleted(d) for d in dependents[key]), default=(0.0, []), key=lambda item: item[0])
            gone[key] = (at + delete.get(kind(key), 0.0), [*path, key])
        return gone[key]

    deploy = max((created(k) for k in edges), key=lambda item: item[0])
    destroy = max((deleted(k) for k in edges), key=lambda item: item[0])
    return deploy, destroy


def describe(path: list[str]) -> str:
    return " → ".join(path)


def main() -> list[h.Row]:
    h.heading(f"the example's first deploy and destroy on the strict sandbox at --time-scale {TIME_SCALE:g}")
    rows: list[h.Row] = []
    with (
        h.stack(strict_time_scale=TIME_SCALE) as box,
        tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp,
    ):
        folder = Path(tmp) / "example"
        folder.mkdir()
        for name in ("jobs.yaml", "Dockerfile"):
            shutil.copy(h.ROOT / name, folder / name)
        shutil.copytree(h.ROOT / "job", folder / "job")
        (deploy_path_s, deploy_chain), (destroy_path_s, destroy_chain) = critical_paths(folder)
        print(f"  deploy's critical path {h.secs(deploy_path_s)}: {describe(deploy_chain)}")
        print(f"  destroy's critical path {h.secs(destroy_path_s)}: {describe(destroy_chain)}")
        deployed = h.batchctl(box, folder, "deploy", "--yes", "--skip-image", timeout_s=900).check()
        print(f"  deploy: {h.secs(deployed.seconds)} (CPU {h.secs(deployed.cpu_s)})")
        print(f"    as reported along the path: {reported(deployed.stderr, deploy_chain)}")
        destroyed = h.batchctl(box, folder, "destroy", "--yes", timeout_s=900).check()
        print(f"  destroy: {h.secs(destroyed.seconds)} (CPU {h.secs(destroyed.cpu_s)})")
        print(f"    as reported along the path: {reported(destroyed.stderr, destroy_chain)}")
        for name, run, path_s in (
            ("first `deploy` of the example, strict sandbox at time scale 1", deployed, deploy_path_s),
            ("`destroy` of the example, strict sandbox at time scale 1", destroyed, destroy_path_s),
        ):
            ratio = run.seconds / path_s
            rows.append(
                h.Row(
                    name,
                    f"≤ {BOUND:g} × critical path",
                    f"{h.secs(run.seconds)} vs path {h.secs(path_s)} ({ratio:.2f}×)",
                    h.verdict(ratio <= BOUND),
                )
            )
    h.emit(rows)
    return rows


if __name__ == "__main__":
    main()
    sys.exit(0)
