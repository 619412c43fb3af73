"""DESIGN §7: `batchctl --help` ≤ 150 ms and `validate` of a 100-job file ≤ 400 ms, boto3 imported for neither.

Wall time from spawn to exit of the installed console script (what a user waits for), median of 5 after one warm-up
run (so .pyc files exist), with the CPU time (user + system) of the same runs: on a loaded machine wall time grows,
CPU time much less. Offline: no sandbox needed. `python -X importtime` shows what each command imports.

For scale, in the same run: the interpreter alone, and the floor of any typer CLI: `--help` of a two-command typer
app rendered the way typer renders it here (with rich), which imports typer, rich and typer's help formatter.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import harness as h

REPEAT = 5
HELP_BOUND_S = 0.150
VALIDATE_BOUND_S = 0.400
FORBIDDEN = ("boto3", "botocore", "docker", "moto")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
TYPER_FLOOR_APP = """
import typer
app = typer.Typer(no_args_is_help=True, add_completion=False, help="Floor: a two-command typer app.")
@app.command()
def first(name: str = "x") -> None:
    \"\"\"The first command.\"\"\"
@app.command()
def second(count: int = 1) -> None:
    \"\"\"The second command.\"\"\"
app()
"""


def timed(args: list[str], *, cwd: Path) -> tuple[list[float], list[float]]:
    """Wall times and CPU times of REPEAT runs, after one warm-up run."""
    h.run(args, cwd=cwd, env=h.base_env()).check()  # warm-up: byte-compile, fill the page cache
    runs = [h.run(args, cwd=cwd, env=h.base_env()).check() for _ in range(REPEAT)]
    return [r.seconds for r in runs], [r.cpu_s for r in runs]


def import_report(args: list[str], *, cwd: Path, label: str) -> tuple[list[str], float]:
    """Run under -X importtime; print the heaviest imports; return the forbidden modules imported, total µs."""
    result = h.run([str(h.PYTHON), "-X", "importtime", "-m", "batchctl", *args], cwd=cwd, env=h.base_env())
    entries = []
    for line in result.stderr.splitlines():
        found = _LINE.match(line)
        if found:
            entries.append(
                (int(found.group(2)), int(found.group(1)), len(found.group(3)) // 2, found.group(4))
            )
    forbidden = sorted({name for *_, name in entries if name.split(".")[0] in FORBIDDEN})
    total_us = sum(cumulative for cumulative, _self, level, _name in entries if level == 0)
    print(
        f"  `python -X importtime -m batchctl {' '.join(args)}`: {total_us / 1000:.0f} ms of imports in all"
    )
    print("    heaviest (cumulative ms, self ms, module):")
    for cumulative, own, level, name in sorted(entries, reverse=True)[:14]:
        print(f"    {cumulative / 1000:7.1f} {own / 1000:6.1f}  {'  ' * level}{name}")
    print(
        f"    {label}: boto3/botocore/docker/moto imported: {', '.join(forbidden) if forbidden else 'none'}"
    )
    return forbidden, total_us / 1e6


def main() -> list[h.Row]:
    h.heading("startup: --help and validate of 100 jobs (offline)")
    rows: list[h.Row] = []
    with tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp:
        folder = h.project_folder(Path(tmp), jobs=100, name="validate100")
        floor, _ = timed([str(h.PYTHON), "-c", "pass"], cwd=folder)
        print(f"  interpreter alone (`python -c pass`): median {h.ms(h.median(floor))} {h.spread(floor)}")
        typer_app = Path(tmp) / "typer_floor.py"
        typer_app.write_text(TYPER_FLOOR_APP)
        typer_floor, typer_cpu = timed([str(h.PYTHON), str(typer_app), "--help"], cwd=folder)
        print(
            f"  floor: --help of a two-command typer app: median {h.ms(h.median(typer_floor))} "
            f"{h.spread(typer_floor)}, CPU {h.ms(h.median(typer_cpu))}"
        )

        helps, help_cpu = timed([str(h.BATCHCTL), "--help"], cwd=folder)
        print(
            f"  batchctl --help: median {h.ms(h.median(helps))} {h.spread(helps)}, CPU {h.ms(h.median(help_cpu))}"
        )
        validates, validate_cpu = timed([str(h.BATCHCTL), "validate"], cwd=folder)
        print(
            f"  batchctl validate (100 jobs): median {h.ms(h.median(validates))} {h.spread(validates)}, "
            f"CPU {h.ms(h.median(validate_cpu))}"
        )

        help_forbidden, _ = import_report(["--help"], cwd=folder, label="--help")
        validate_forbidden, _ = import_report(["validate"], cwd=folder, label="validate")

    rows.append(
        h.Row(
            "`batchctl --help`",
            "≤ 150 ms",
            f"{h.ms(h.median(helps))} (median of {REPEAT})",
            h.verdict(h.median(helps) <= HELP_BOUND_S),
            f"CPU {h.ms(h.median(help_cpu))}; floor (two-command typer app's --help) "
            f"{h.ms(h.median(typer_floor))}, interpreter alone {h.ms(h.median(floor))}",
        )
    )
    rows.append(
        h.Row(
            "`validate`, 100 jobs",
            "≤ 400 ms",
            f"{h.ms(h.median(validates))} (median of {REPEAT})",
            h.verdict(h.median(validates) <= VALIDATE_BOUND_S),
            f"CPU {h.ms(h.median(validate_cpu))}",
        )
    )
    both = sorted(set(help_forbidden) | set(validate_forbidden))
    rows.append(
        h.Row(
            "boto3/botocore/docker imported by `--help`, `validate`",
            "none",
            ", ".join(both) if both else "none",
            h.verdict(not both),
        )
    )
    return rows


if __name__ == "__main__":
    h.emit(main())
    sys.exit(0)
