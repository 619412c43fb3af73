"""What every benchmark shares: the sandbox and the delaying proxy as subprocesses, running the batchctl CLI as a
user would (a subprocess, timed from spawn to exit, with its peak RSS), jobs.yaml generation, and result rows.

Everything listens on and talks to 127.0.0.1 only. Each figure script starts its own sandbox, so one figure's
resources never slow another's reads.
"""

from __future__ import annotations

import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = Path(os.environ.get("BENCH_PYTHON", ROOT / ".venv" / "bin" / "python"))
BATCHCTL = Path(os.environ.get("BENCH_BATCHCTL", PYTHON.parent / "batchctl"))
REGION = "us-east-1"
ACCOUNT = "123456789012"
DELAY_MS = float(os.environ.get("BENCH_DELAY_MS", "80"))
IMAGE_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/bench:1"
# One cheap read per service batchctl calls (see Stack.warm).
WARM_UP = (
    ("sts", "get_caller_identity"),
    ("iam", "list_roles"),
    ("ec2", "describe_vpcs"),
    ("logs", "describe_log_groups"),
    ("batch", "describe_job_queues"),
    ("stepfunctions", "list_state_machines"),
    ("scheduler", "list_schedule_groups"),
    ("pipes", "list_pipes"),
    ("sqs", "list_queues"),
    ("sns", "list_topics"),
    ("ecr", "describe_repositories"),
    ("resourcegroupstaggingapi", "get_resources"),
)
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Filter", "Lookup", "Search", "Receive")

sys.path.insert(0, str(BENCH))


# ---- results ------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the final table."""

    figure: str
    bound: str
    measured: str
    verdict: str  # "pass", "MISS", or "n/a" (e.g. the command is not available yet)
    note: str = ""


def verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def emit(rows: Sequence[Row]) -> None:
    """Print the rows; append them as JSON lines to $BENCH_RESULTS when bench/run collects them."""
    print()
    for row in rows:
        print(
            f"  {row.verdict:4}  {row.figure}: {row.measured} (bound {row.bound}){'  ' + row.note if row.note else ''}"
        )
    target = os.environ.get("BENCH_RESULTS")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(asdict(row)) + "\n")


def heading(text: str) -> None:
    print(f"\n## {text}", flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def spread(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "] s"


def print_calls(calls: Counter[str], *, title: str = "AWS calls by operation") -> None:
    reads = sum(n for op, n in calls.items() if is_read(op))
    print(f"  {title}: {sum(calls.values())} in all, {reads} reads, {sum(calls.values()) - reads} mutating")
    for op, n in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
        print(f"    {n:6d}  {op}{'' if is_read(op) else '  (mutating)'}")


def is_read(operation: str) -> bool:
    return operation.split(":", 1)[-1].startswith(READ_PREFIXES)


def mutating(calls: Counter[str]) -> Counter[str]:
    return Counter({op: n for op, n in calls.items() if not is_read(op)})


# ---- the CLI as a subprocess --------------------------------------------------------------------------------------


@dataclass
class Run:
    """One finished command: wall time from spawn to exit, exit code, output, and the child's peak RSS."""

    args: list[str]
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    maxrss_mib: float
    cpu_s: float = 0.0  # user + system CPU of the child (and the children it waited for)
    timed_out: bool = False

    def check(self) -> Run:
        if self.returncode != 0 or self.timed_out:
            tail = "\n".join(self.stderr.splitlines()[-15:])
            raise SystemExit(
                f"`{' '.join(self.args)}` failed (exit {self.returncode}, timed out: {self.timed_out}):\n{tail}"
            )
        return self


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 300,
    keep_stdout: bool = True,
) -> Run:
    """Run a command, timing spawn → exit; `os.wait4` gives this child's own peak RSS (ru_maxrss, KiB on Linux)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out if keep_stdout else subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Run(
            args=list(args),
            seconds=seconds,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            maxrss_mib=usage.ru_maxrss / 1024,
            cpu_s=usage.ru_utime + usage.ru_stime,
            timed_out=expired.is_set(),
        )


def base_env() -> dict[str, str]:
    """The environment of every batchctl run: no user AWS config, fixed credentials and region, no color."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BATCHCTL_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/nonexistent/bench-aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/bench-aws-credentials",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "TERM": "dumb",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# ---- the sandbox and the proxy ------------------------------------------------------------------------------------


def _spawn_announcing(
    args: Sequence[str], *, key: str, timeout_s: float = 60
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a server process and read `KEY=<port>` from its stdout."""
    proc = subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=base_env(),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.decode().splitlines():
                if line.startswith(f"{key}="):
                    return proc, int(line.split("=", 1)[1])
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"{' '.join(args)} did not announce {key} within {timeout_s:.0f} s: {buffer!r}")


def http_json(url: str, *, method: str = "GET", payload: Any = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body else None


@dataclass
class Stack:
    """moto (batchctl's sandbox, relay off) and the proxy in front of it."""

    moto_port: int
    proxy_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def env(self) -> dict[str, str]:
        """Environment for a batchctl run whose AWS calls go through the proxy."""
        return base_env() | {"AWS_ENDPOINT_URL": self.proxy_url}

    def server_cpu_s(self) -> float:
        """CPU seconds (user + system) the moto server has used so far. moto handles requests in threads of one
        Python process, so its CPU work is serial: the CPU it spends on a command is a floor for that command."""
        fields = Path(f"/proc/{self.processes[0].pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def calls(self) -> Counter[str]:
        return Counter(http_json(f"{self.proxy_url}/__bench__/calls")["calls"])

    def reset_calls(self) -> None:
        http_json(f"{self.proxy_url}/__bench__/reset", method="POST")

    def set_delay(self, delay_ms: float) -> None:
        http_json(f"{self.proxy_url}/__bench__/delay?ms={delay_ms}", method="POST")

    def reset_moto(self) -> None:
        """Forget every resource (moto's reset; batchctl's patches and the sandbox config stay), then warm up."""
        http_json(f"{self.moto_url}/moto-api/reset", method="POST")
        self.warm()

    def warm(self) -> None:
        """One read per service straight to moto, so no figure pays moto's one-time setup of an account's backend
        (IAM loads AWS's managed policies, STS and EC2 build their defaults: about 2 s of CPU in all). AWS has no
        such cold start."""
        for service, operation in WARM_UP:
            getattr(self.client(service), operation)()

    def client(self, service: str, *, through_proxy: bool = False) -> Any:
        """A plain boto3 client, straight to moto (arranging, checking: never timed) unless `through_proxy`."""
        import boto3
        from botocore.config import Config

        return boto3.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        ).client(
            service,
            endpoint_url=self.proxy_url if through_proxy else self.moto_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32),
        )


@contextmanager
def stack(*, delay_ms: float = DELAY_MS, strict_time_scale: float | None = None) -> Iterator[Stack]:
    """The sandbox (strict, its AWS durations × `strict_time_scale`, when that is given) behind the delaying proxy."""
    server = [str(PYTHON), str(BENCH / "sandbox_server.py")]
    if strict_time_scale is not None:
        server += ["--strict-time-scale", str(strict_time_scale)]
    moto, moto_port = _spawn_announcing(server, key="MOTO_PORT")
    try:
        proxy, proxy_port = _spawn_announcing(
            [
                str(PYTHON),
                str(BENCH / "proxy.py"),
                "--target",
                f"127.0.0.1:{moto_port}",
                "--delay-ms",
                str(delay_ms),
            ],
            key="PROXY_PORT",
        )
    except BaseException:
        moto.terminate()
        moto.wait(timeout=10)
        raise
    box = Stack(moto_port=moto_port, proxy_port=proxy_port, processes=[moto, proxy])
    print(
        f"  sandbox (moto) on {box.moto_url}, proxy on {box.proxy_url} adding {delay_ms:.0f} ms per request"
    )
    try:
        box.warm()
        yield box
    finally:
        for proc in reversed(box.processes):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def batchctl(
    box: Stack | None, folder: Path, *args: str, timeout_s: float = 300, keep_stdout: bool = True
) -> Run:
    """`batchctl ARGS` in `folder` (its jobs.yaml), AWS calls through the proxy."""
    env = box.env() if box is not None else base_env()
    return run([str(BATCHCTL), *args], cwd=folder, env=env, timeout_s=timeout_s, keep_stdout=keep_stdout)


def not_available(result: Run) -> bool:
    """True when the command exists only as a placeholder in this version."""
    return "not available" in (result.stderr + result.stdout).lower()


# ---- jobs.yaml ----------------------------------------------------------------------------------------------------


def jobs_yaml(*, jobs: int, project: str = "bench", stage: str = "b") -> str:
    """A jobs.yaml with `jobs` jobs: a mix of on-demand (queue), scheduled and two-step jobs, like the example, with
    a prebuilt image `uri` so no Docker is needed."""
    lines = [
        "version: 1",
        f"project: {project}",
        f"stage: {stage}",
        f"region: {REGION}",
        "tags: {team: data}",
        f"image: {{uri: {IMAGE_URI}}}",
        "network: {cidr: 10.20.0.0/24}",
        "compute: {type: FARGATE_SPOT, max_vcpus: 16}",
        "defaults: {vcpus: 1, memory_mib: 2048, timeout_s: 3600, retries: 1, log_retention_days: 30}",
        "notify: {topic: true}",
        "jobs:",
    ]
    for i in range(jobs):
        name = f"job-{i:03d}"
        kind = i % 3
        lines.append(f"  {name}:")
        lines.append(f"    description: Benchmark job {i}.")
        if kind == 0:
            lines += [
                "    command: [python, /opt/app/job/fibonacci.py, --body, Ref::body]",
                "    environment: {LOG_LEVEL: info}",
                "    queue: {visibility_timeout_s: 60, max_receive_count: 3}",
            ]
        elif kind == 1:
            lines += [
                "    command: [python, /opt/app/job/report.py, --time, Ref::time]",
                '    schedule: {cron: "30 21 * * ? *", timezone: Asia/Tokyo}',
                "    vcpus: 2",
                "    memory_mib: 4096",
            ]
        else:
            lines += [
                "    steps:",
                "      - {name: extract, command: [python, /opt/app/job/extract.py]}",
                "      - {name: load, command: [python, /opt/app/job/load.py], array_size: 4}",
            ]
    return "\n".join(lines) + "\n"


def project_folder(parent: Path, *, jobs: int, name: str, stage: str = "b") -> Path:
    folder = parent / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "jobs.yaml").write_text(jobs_yaml(jobs=jobs, stage=stage))
    return folder


def offline_specs(folder: Path) -> list[Any]:
    """The specs batchctl builds for a folder's jobs.yaml, offline (placeholder account): counts and graph only."""
    from batchctl import build
    from batchctl.config import load_config
    from batchctl.naming import AwsContext

    cfg = load_config(folder / "jobs.yaml")
    return build.build_specs(cfg, AwsContext.placeholder(cfg.region or REGION))


def plan_json(box: Stack, folder: Path, *extra: str) -> dict[str, Any]:
    result = batchctl(box, folder, "-o", "json", "plan", *extra).check()
    document: dict[str, Any] = json.loads(result.stdout)
    plan: dict[str, Any] = document.get("plan", document)
    return plan


def deploy_unmeasured(box: Stack, folder: Path, *, timeout_s: float = 300) -> Run:
    """Arrange: deploy the project (not a figure)."""
    result = batchctl(box, folder, "deploy", "--yes", "--skip-image", timeout_s=timeout_s)
    return result.check()
