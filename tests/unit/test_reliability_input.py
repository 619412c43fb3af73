"""Bad input through `batchctl validate` (DESIGN §8): whatever the file holds, the command exits 0 or 3, never prints
a traceback, and every error line carries a `FILE:LINE:COL:` position.

tests/unit/test_config.py holds the same kind of property for `parse_config` (only ConfigErrors escape) and
test_yamlpos.py the loader's own limits; here the whole command runs, from the bytes on disk to the lines on stderr,
so a message that breaks the one-line-per-issue format, or an exception raised while printing, is caught too.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.config import _Dropped
from batchctl.yamlpos import MAX_ALIAS_NODES
from tests.unit.test_config import FULL, mutated_documents

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
SUMMARY = re.compile(r"error: \d+ problems? in the config")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validate")


def validate(path: Path, content: bytes) -> Any:
    path.write_bytes(content)
    return CliRunner().invoke(app, ["-c", str(path), "validate"], env=ENV)


def check_outcome(path: Path, result: Any) -> list[str]:
    """The contract of every run; returns the positioned error lines."""
    assert result.exit_code in (0, 3), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 0:
        assert result.stderr == ""
        return []
    positioned = re.compile(rf"^(error: )?{re.escape(str(path))}:\d+:\d+: \S")
    lines = result.stderr.splitlines()
    problems = [line for line in lines if not line.startswith("hint: ") and not SUMMARY.fullmatch(line)]
    assert problems, result.stderr
    unpositioned = [line for line in problems if not positioned.match(line)]
    assert unpositioned == [], result.stderr
    return problems


# ---- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_documents())
def test_validate_of_a_mutated_document_exits_0_or_3_with_positions(workdir: Path, text: str) -> None:
    path = workdir / "mutated.yaml"
    check_outcome(path, validate(path, text.encode()))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_validate_of_mutated_bytes_exits_0_or_3_with_positions(workdir: Path, data: st.DataObject) -> None:
    raw = FULL.encode()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw)))
        cut = data.draw(st.integers(min_value=0, max_value=8))
        insert = data.draw(
            st.one_of(
                st.binary(max_size=4),
                st.sampled_from(
                    [b"&a ", b"*a", b"<<: ", b"!!binary ", b"\t", b"\xef\xbb\xbf", b": :", b"---\n"]
                ),
            )
        )
        raw = raw[:at] + insert + raw[at + cut :]
    path = workdir / "bytes.yaml"
    check_outcome(path, validate(path, raw))


# ---- the cases the issue names -----------------------------------------------------------------------------------

BOMB = (
    "version: 1\nproject: demo\nstage: dev\n"
    "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"
    + "".join(f"x{n}: &x{n} [" + ", ".join([f"*x{n - 1}"] * 10) + "]\n" for n in range(1, 10))
    + "jobs: {fib: {command: *x9}}\n"
)
MERGE_BOMB = (
    "version: 1\nproject: demo\nstage: dev\n"
    "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n"
    + "".join(
        f"m{n}: &m{n} {{k: [*m{n - 1}, *m{n - 1}, *m{n - 1}, *m{n - 1}], <<: *m{n - 1}}}\n"
        for n in range(1, 12)
    )
    + "jobs: {fib: {command: [x], environment: *m11}}\n"
)
DUPLICATE_JOB_KEY = FULL.replace("    vcpus: 2\n", "    vcpus: 2\n    vcpus: 4\n", 1)
DUPLICATE_JOB = FULL + "  fibonacci:\n    command: [echo]\n"


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line that starts (after indentation) with `needle`."""
    found = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip().startswith(needle)]
    return found[nth - 1]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"", r":1:1: the file is empty", id="empty"),
        pytest.param(b"\n\n# nothing but a comment\n", r":1:1: the file is empty", id="only-a-comment"),
        pytest.param(b"- version\n- 1\n", r":1:1: expected a mapping .*, got a list", id="a-list"),
        pytest.param(b"just words\n", r":1:1: expected a mapping .*, got 'just words'", id="a-scalar"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r":3:1: binary data \(a NUL byte\)", id="png"),
        pytest.param(b"version: 1\nproject: d\xff\n", r":2:11: not UTF-8 text \(byte 0xff\)", id="latin-1"),
        pytest.param(codecs.BOM_UTF16_LE + "version: 1\n".encode("utf-16-le"), r":1:\d+: ", id="utf-16"),
        pytest.param(
            b"version: 1\n# " + b"x" * (10 * 1024 * 1024) + b"\n",
            r":1:1: the file is larger than 5,242,880 bytes",
            id="10-MB",
        ),
        pytest.param(
            BOMB.encode(),
            rf":\d+:\d+: anchors and aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
            id="bomb",
        ),
        pytest.param(
            MERGE_BOMB.encode(), r":\d+:\d+: anchors and aliases expand to more than", id="merge-key-bomb"
        ),
        pytest.param(
            b"a: &a [1, *a]\n", r":1:4: an alias refers to a node that contains it", id="recursive-alias"
        ),
        pytest.param(
            b"version: 1\nproject: demo\nproject: other\n",
            r":3:1: duplicate key 'project'",
            id="duplicate-root-key",
        ),
        pytest.param(
            DUPLICATE_JOB_KEY.encode(),
            rf":{line_of(DUPLICATE_JOB_KEY, 'vcpus: 4')}:5: duplicate key 'vcpus'",
            id="duplicate-key-in-a-job",
        ),
        pytest.param(
            DUPLICATE_JOB.encode(),
            rf":{line_of(DUPLICATE_JOB, 'fibonacci:', 2)}:3: duplicate key 'fibonacci'",
            id="duplicate-job",
        ),
        # Whether our depth limit or the YAML parser's own stops this first depends on the PyYAML release:
        # the behaviour that matters is one positioned syntax error, exit 3, no crash.
        pytest.param(b"version: 1\njobs: " + b"[" * 100_000, r":\d+:\d+: \S", id="deep-unclosed"),
        pytest.param(
            b"version: 1\njobs: " + b"[" * 100 + b"]" * 100,
            r":2:71: data is nested more than 64 levels",
            id="deep",
        ),
    ],
)
def test_broken_files_exit_3_with_one_positioned_error(workdir: Path, content: bytes, expected: str) -> None:
    path = workdir / "jobs.yaml"
    result = validate(path, content)
    (problem,) = check_outcome(path, result)
    assert result.exit_code == 3
    assert re.search(rf"^error: {re.escape(str(path))}{expected}", problem), problem


def test_a_duplicate_key_is_an_error_even_when_both_values_are_valid(workdir: Path) -> None:
    # Last-wins would silently accept this file with memory_mib 8192; first-wins with 4096. Neither is right.
    text = FULL.replace("    memory_mib: 4096\n", "    memory_mib: 4096\n    memory_mib: 8192\n", 1)
    path = workdir / "jobs.yaml"
    result = validate(path, text.encode())
    assert result.exit_code == 3
    assert f"{path}:{line_of(text, 'memory_mib: 8192')}:5: duplicate key 'memory_mib'" in result.stderr


def test_thousands_of_bad_jobs_give_every_issue_with_its_position(workdir: Path) -> None:
    """A large file full of mistakes (about 0.5 MB, 10,000 issues) is reported in full, in line order."""
    jobs = "".join(f"  job{n}:\n    commandx: [echo, {n}]\n" for n in range(5000))
    text = f"version: 1\nproject: demo\nstage: dev\njobs:\n{jobs}"
    path = workdir / "jobs.yaml"
    result = validate(path, text.encode())
    problems = check_outcome(path, result)
    assert result.exit_code == 3
    assert len(problems) == 10_000  # per job: the unknown key, and the missing command/steps
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == sorted(lines)
    assert problems[:2] == [
        f"{path}:5:3: jobs.job0: a job needs command (one container) or steps (several in sequence)",
        f"{path}:6:5: jobs.job0.commandx: unknown key 'commandx'; did you mean 'command'?",
    ]


# ---- the salvage bookkeeping that keeps that linear ---------------------------------------------------------------


def _overlaps(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


PATHS = st.lists(st.sampled_from(["jobs", "a", "b", "steps", 0, 1]), min_size=1, max_size=4).map(tuple)


@settings(max_examples=300, deadline=None)
@given(dropped=st.lists(PATHS, max_size=6), probe=st.one_of(st.just(()), PATHS))
def test_dropped_keys_answer_like_a_scan_of_every_dropped_key(
    dropped: list[tuple[Any, ...]], probe: tuple[Any, ...]
) -> None:
    index = _Dropped()
    for path in dropped:
        index.add(path)
    assert index.overlaps(probe) == any(_overlaps(probe, d) for d in dropped)
    assert index.covers(probe) == any(d == probe[: len(d)] for d in dropped)


def test_the_base_document_is_valid(workdir: Path) -> None:
    path = workdir / "jobs.yaml"
    assert validate(path, FULL.encode()).exit_code == 0
    assert yaml.safe_load(FULL)["project"] == "demo"
