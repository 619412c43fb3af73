"""DESIGN §7: a no-op `plan` (and `deploy`) of 50 jobs ≤ 2 s, ≤ 1 read call per resource, zero mutating calls;
and the same plan read sequentially (`--parallelism 1`) for the ratio.

Arrange (not timed): deploy the 50-job file once. Then `plan --check` (exit 0 proves nothing would change) 3 times,
median; one no-op `deploy --yes --skip-image`; one `plan --check --parallelism 1`.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import harness as h

JOBS = 50
REPEAT = 3
BOUND_S = 2.0
# Plan kinds are `<service>.<type>`; the proxy counts by signing name.
KIND_SERVICE = {"sfn": "stepfunctions"}


def per_service(calls: Counter[str], resources: Counter[str]) -> None:
    reads = Counter()
    for op, n in calls.items():
        if h.is_read(op):
            reads[op.split(":", 1)[0]] += n
    print("  read calls per resource, by service (resources from the plan):")
    for service in sorted(set(reads) | set(resources)):
        count = resources.get(service, 0)
        ratio = f"{reads[service] / count:.2f}" if count else "-"
        print(f"    {service:14} {reads[service]:5d} reads / {count:4d} resources = {ratio}")


def main() -> list[h.Row]:
    h.heading(f"no-op plan of {JOBS} jobs")
    with h.stack() as box, tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp:
        folder = h.project_folder(Path(tmp), jobs=JOBS, name="plan50")
        arranged = h.deploy_unmeasured(box, folder)
        print(f"  arranged: first deploy took {h.secs(arranged.seconds)} (not a figure)")
        kinds = [str(spec.kind.value) for spec in h.offline_specs(folder)]
        resources = len(kinds)
        print(f"  {resources} resources")
        by_service = Counter(KIND_SERVICE.get(k, k) for k in (kind.split(".")[0] for kind in kinds))

        times, calls_seen, drift = [], Counter(), False
        cpu: list[float] = []
        moto_cpu: list[float] = []
        for i in range(REPEAT):
            box.reset_calls()
            moto_before = box.server_cpu_s()
            result = h.batchctl(box, folder, "plan", "--check")
            moto_cpu.append(box.server_cpu_s() - moto_before)
            cpu.append(result.cpu_s)
            if result.returncode == 5:
                drift = True
            elif result.returncode != 0:
                result.check()
            times.append(result.seconds)
            calls = box.calls()
            if i == 0:
                calls_seen = calls
            elif calls != calls_seen:
                print(
                    f"  note: run {i + 1} made different calls: {sum(calls.values())} vs {sum(calls_seen.values())}"
                )
        plan_s = h.median(times)
        if drift:
            pending = [c for c in h.plan_json(box, folder)["changes"] if c["action"] != "noop"]
            print(
                f"  drift right after deploy: {[(c['key'], c['action'], list(c.get('fields', {}))) for c in pending][:8]}"
            )
        print(
            f"  plan --check: median {h.secs(plan_s)} {h.spread(times)}; exit {'5 (drift!)' if drift else '0'}; "
            f"CPU: batchctl {h.secs(h.median(cpu))}, the sandbox (moto) {h.secs(h.median(moto_cpu))}"
        )
        h.print_calls(calls_seen, title="AWS calls of one no-op plan")
        reads = sum(n for op, n in calls_seen.items() if h.is_read(op))
        plan_mutating = h.mutating(calls_seen)
        per_service(calls_seen, by_service)

        box.reset_calls()
        deploy = h.batchctl(box, folder, "deploy", "--yes", "--skip-image").check()
        deploy_calls = box.calls()
        deploy_mutating = h.mutating(deploy_calls)
        print(
            f"  no-op deploy: {h.secs(deploy.seconds)}; {sum(deploy_calls.values())} calls, mutating: "
            f"{dict(deploy_mutating) or 'none'}"
        )

        box.reset_calls()
        sequential = h.batchctl(box, folder, "plan", "--check", "--parallelism", "1", timeout_s=400)
        if sequential.returncode not in (0, 5):
            sequential.check()
        seq_calls = box.calls()
        ratio = sequential.seconds / plan_s
        print(
            f"  plan --check --parallelism 1: {h.secs(sequential.seconds)} ({sum(seq_calls.values())} calls); "
            f"default parallelism is {ratio:.1f}× faster"
        )

        # Diagnostic, not a figure: the same plan with no added latency shows what is CPU (batchctl + moto).
        box.set_delay(0)
        undelayed = h.batchctl(box, folder, "plan", "--check")
        box.set_delay(h.DELAY_MS)
        print(
            f"  diagnostic: the same plan with 0 ms added latency: {h.secs(undelayed.seconds)} "
            f"(so about {h.secs(max(0.0, plan_s - undelayed.seconds))} of the default run is the 80 ms latency)"
        )

    per_resource = reads / resources
    return [
        h.Row(
            f"no-op `plan`, {JOBS} jobs ({resources} resources)",
            "≤ 2 s",
            f"{h.secs(plan_s)} (median of {REPEAT}); `--parallelism 1`: {h.secs(sequential.seconds)} ({ratio:.1f}×)",
            h.verdict(plan_s <= BOUND_S and not drift),
            "plan --check exit 5: drift after deploy"
            if drift
            else f"CPU: batchctl {h.secs(h.median(cpu))}, sandbox {h.secs(h.median(moto_cpu))}",
        ),
        h.Row(
            "no-op `deploy`, same file",
            "≤ 2 s",
            h.secs(deploy.seconds),
            h.verdict(deploy.seconds <= BOUND_S),
        ),
        h.Row(
            "read calls per resource (no-op plan)",
            "≤ 1",
            f"{per_resource:.2f} ({reads} reads / {resources} resources)",
            h.verdict(per_resource <= 1),
        ),
        h.Row(
            "mutating calls (no-op plan + no-op deploy)",
            "0",
            str(sum(plan_mutating.values()) + sum(deploy_mutating.values()))
            + (
                f" ({', '.join(sorted(set(plan_mutating) | set(deploy_mutating)))})"
                if plan_mutating or deploy_mutating
                else ""
            ),
            h.verdict(not plan_mutating and not deploy_mutating),
        ),
    ]


if __name__ == "__main__":
    h.emit(main())
    sys.exit(0)
