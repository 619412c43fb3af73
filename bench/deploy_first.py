"""DESIGN §7: the first deploy of 50 jobs runs independent creates concurrently, so its wall time tracks the
dependency chain, not the resource count. Measured: `deploy --yes --skip-image` on an empty sandbox with the default
`--parallelism 16`, then (sandbox reset) with `--parallelism 1`, and their ratio. The floor for 16 in flight comes
from the sequential run's own per-resource durations (as deploy reports them): max(the dependency graph's critical
path, the sum of all durations / 16), and the sandbox's own CPU time during the parallel deploy (moto serves every
request in one Python process, so that CPU is spent serially whatever batchctl does). One run each: the sequential
deploy alone takes minutes."""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import harness as h

JOBS = 50
MIN_SPEEDUP = 4.0  # the bench's reading of "concurrently": at least a quarter of the 16-way parallelism
CHAIN_FACTOR = (
    2.0  # "tracks the chain": within 2× of max(critical path, total work / 16), both from the p1 run
)
_DONE = re.compile(r"^\S+ (?:created|updated|replaced) (\S+/\S+) \((\d+(?:\.\d+)?)s\)")


def durations(stderr: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for line in stderr.splitlines() if (m := _DONE.match(line.strip()))}


def critical_path(folder: Path, weights: dict[str, float]) -> tuple[float, int, list[str]]:
    """Longest path through the dependency graph, weighted by the measured durations (s), and its length."""
    from batchctl import graph

    specs = h.offline_specs(folder)
    edges = {str(k): {str(d) for d in deps} for k, deps in graph.edges(specs).items()}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(key: str) -> tuple[float, list[str]]:
        if key not in best:
            before = max((longest(d) for d in edges[key]), default=(0.0, []), key=lambda item: item[0])
            best[key] = (before[0] + weights.get(key, 0.0), [*before[1], key])
        return best[key]

    total, path = max((longest(k) for k in edges), key=lambda item: item[0])
    depth = max(len(longest(k)[1]) for k in edges)
    return total, depth, path


def main() -> list[h.Row]:
    h.heading(f"first deploy of {JOBS} jobs: --parallelism 16 vs 1")
    with h.stack() as box, tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp:
        folder = h.project_folder(Path(tmp), jobs=JOBS, name="deploy50")
        box.reset_calls()
        moto_before = box.server_cpu_s()
        parallel = h.batchctl(box, folder, "deploy", "--yes", "--skip-image", timeout_s=300).check()
        moto_cpu_s = box.server_cpu_s() - moto_before
        calls = box.calls()
        print(
            f"  CPU during the parallel deploy: batchctl {h.secs(parallel.cpu_s)}, the sandbox (moto) "
            f"{h.secs(moto_cpu_s)}; batchctl peak RSS {parallel.maxrss_mib:.0f} MiB"
        )
        h.print_calls(
            calls, title=f"AWS calls of the first deploy (--parallelism 16), {h.secs(parallel.seconds)}"
        )
        weights = durations(parallel.stderr)
        chain_s, depth, path = critical_path(folder, weights)
        print(f"  {len(weights)} resources created; dependency graph {depth} resources deep")
        print(
            f"  critical path weighted by the reported durations: {h.secs(chain_s)} "
            f"(sum of all durations {h.secs(sum(weights.values()))}):"
        )
        print("    " + " → ".join(f"{k} {weights.get(k, 0):.1f}s" for k in path))

        box.reset_moto()
        box.reset_calls()
        sequential = h.batchctl(
            box, folder, "deploy", "--yes", "--skip-image", "--parallelism", "1", timeout_s=400
        ).check()
        seq_calls = box.calls()
        print(
            f"  --parallelism 1: {h.secs(sequential.seconds)}, {sum(seq_calls.values())} calls "
            f"(parallel run: {sum(calls.values())})"
        )
        diff = Counter(seq_calls)
        diff.subtract(calls)
        if any(diff.values()):
            print(f"  calls differing between the two runs: { ({k: v for k, v in diff.items() if v}) }")
        own = durations(sequential.stderr)
        seq_chain_s, _, _ = critical_path(folder, own)

        # Diagnostic, not a figure: with no added latency the deploy shows the CPU floor (batchctl + moto).
        box.reset_moto()
        box.set_delay(0)
        undelayed = h.batchctl(box, folder, "deploy", "--yes", "--skip-image", timeout_s=300).check()
        box.set_delay(h.DELAY_MS)
        print(f"  diagnostic: the same first deploy with 0 ms added latency: {h.secs(undelayed.seconds)}")

    speedup = sequential.seconds / parallel.seconds
    total_calls = sum(calls.values())
    latency_floor_s = total_calls * h.DELAY_MS / 1000 / 16
    floor_s = max(seq_chain_s, sum(own.values()) / 16, moto_cpu_s)
    print(
        f"  speedup: {speedup:.1f}×. Floors for 16 in flight: latency alone {total_calls} calls × "
        f"{h.DELAY_MS:.0f} ms / 16 = {h.secs(latency_floor_s)}; max(chain {h.secs(seq_chain_s)} and sum "
        f"{h.secs(sum(own.values()))} / 16 of the sequential run's own durations, the sandbox's CPU "
        f"{h.secs(moto_cpu_s)}) = {h.secs(floor_s)}"
    )
    return [
        h.Row(
            f"first `deploy`, {JOBS} jobs ({len(weights)} resources)",
            f"concurrent creates: ≥ {MIN_SPEEDUP:.0f}× faster than `--parallelism 1` (bench's criterion)",
            f"{h.secs(parallel.seconds)}; `--parallelism 1`: {h.secs(sequential.seconds)} ({speedup:.1f}×)",
            h.verdict(speedup >= MIN_SPEEDUP),
            f"dependency chain {depth} deep; 0 ms latency: {h.secs(undelayed.seconds)}",
        ),
        h.Row(
            "first `deploy`: wall vs what 16 in flight allow",
            f"≤ {CHAIN_FACTOR:.0f}× the floor (bench's criterion)",
            f"{h.secs(parallel.seconds)} vs floor {h.secs(floor_s)} "
            f"(chain {h.secs(seq_chain_s)}, sum/16 {h.secs(sum(own.values()) / 16)}, "
            f"sandbox CPU {h.secs(moto_cpu_s)}; {total_calls} calls)",
            h.verdict(parallel.seconds <= CHAIN_FACTOR * floor_s),
        ),
    ]


if __name__ == "__main__":
    h.emit(main())
    sys.exit(0)
