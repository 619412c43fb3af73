"""DESIGN §7: peak memory of `deploy` for 500 jobs ≤ 200 MB.

`deploy --yes --skip-image` of a 500-job file (about 4,200 resources) on an empty sandbox, through the proxy; the
peak is the process's maximum resident set size (ru_maxrss from wait4, the same figure `/usr/bin/time -v` prints).
On moto this deploy takes minutes; it is bounded (killed after DEPLOY_TIMEOUT_S, the peak so far still reported).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness as h

JOBS = 500
BOUND_MB = 200.0  # decimal MB, as DESIGN writes it (ru_maxrss is in KiB)
DEPLOY_TIMEOUT_S = 330


def main() -> list[h.Row]:
    h.heading(f"peak memory of deploy, {JOBS} jobs")
    with h.stack() as box, tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp:
        folder = h.project_folder(Path(tmp), jobs=JOBS, name="deploy500")
        validate = h.batchctl(None, folder, "validate").check()
        print(f"  for scale: `validate` of this file peaks at {validate.maxrss_mib * 1.048576:.0f} MB")
        box.reset_calls()
        result = h.batchctl(
            box, folder, "deploy", "--yes", "--skip-image", timeout_s=DEPLOY_TIMEOUT_S, keep_stdout=False
        )
        calls = box.calls()
        done = sum(1 for line in result.stderr.splitlines() if " created " in line)
        state = "killed at the time bound" if result.timed_out else f"exit {result.returncode}"
        peak_mb = result.maxrss_mib * 1.048576
        print(
            f"  deploy: {h.secs(result.seconds)}, {state}, {done} resources created, peak RSS "
            f"{peak_mb:.0f} MB ({result.maxrss_mib:.0f} MiB)"
        )
        h.print_calls(calls, title=f"AWS calls of the {JOBS}-job deploy")
        if result.returncode != 0 and not result.timed_out:
            print("  " + "\n  ".join(result.stderr.splitlines()[-10:]))

    finished = result.returncode == 0 and not result.timed_out
    return [
        h.Row(
            f"peak memory of `deploy`, {JOBS} jobs ({done} resources)",
            "≤ 200 MB",
            f"{peak_mb:.0f} MB (deploy took {h.secs(result.seconds)})",
            h.verdict(peak_mb <= BOUND_MB and finished),
            "" if finished else f"deploy did not finish: {state}",
        )
    ]


if __name__ == "__main__":
    h.emit(main())
    sys.exit(0)
