"""Every command's usage mistakes exit 2 with one `error:` line naming the mistake (and a hint), no traceback, and
before any AWS call: sockets are disabled here, so a call would fail the command another way."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.cli.commands import COMMANDS, load_command

EXAMPLE = Path(__file__).resolve().parents[2] / "jobs.yaml"
ENV = {
    "COLUMNS": "80",
    "NO_COLOR": "1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_PROFILE": None,
}

# The command line as typed (after `batchctl -c jobs.yaml`), and what its one error line says. {missing} is a file
# that does not exist, {jsonl} a .jsonl file of two messages, {dir} an empty folder.
CASES = [
    ("nope", "No such command 'nope'"),
    ("-o yaml validate", "'--output'"),
    ("-q -v validate", "--quiet and --verbose cannot be combined"),
    ("--region 'us east 1' plan", "--region: 'us east 1'"),
    ("plan --region us_east_1", "--region: 'us_east_1'"),
    ("status --stage Prod", "--stage: 'Prod'"),
    ("--endpoint-url 'http://[' status", "--endpoint-url 'http://[' is not an endpoint URL"),
    ("unlock --endpoint-url localhost:4750", "the scheme must be http or https"),
    ("validate extra", "unexpected extra argument"),
    ("schema extra", "unexpected extra argument"),
    ("plan --parallelism 0", "'--parallelism'"),
    ("plan --check=yes", "--check"),
    ("deploy --job nope --yes", "--job nope: jobs.yaml has no such job"),
    ("deploy --job fibonacci --prune --yes", "--prune and --job cannot be combined"),
    ("destroy --parallelism 65 --yes", "'--parallelism'"),
    ("sandbox --port 70000", "'--port'"),
    ("sandbox --seed 3", "tune the strict sandbox"),
    ("run fibonacci --body x", "needs --local"),
    ("run nope --local", "no job named 'nope'"),
    ("run fibonacci --local --body-file {missing}", "cannot read --body-file"),
    ("init {dir} extra", "unexpected extra argument"),
    ("submit nope --body x", "no job named 'nope'"),
    ("submit fibonacci", "exactly one of --body and --body-file"),
    ("submit fibonacci --body-file {missing}", "cannot read"),
    ("submit fibonacci --body-file {jsonl} --wait", "holds 2 messages: --wait takes one body"),
    ("submit fibonacci --body-file {jsonl} --direct", "holds 2 messages: --direct takes one body"),
    ("submit daily-report --body x", "job 'daily-report' has no queue"),
    ("status nope", "no job named 'nope'"),
    ("status --limit 0", "'--limit'"),
    ("retry", "Missing argument"),
    ("image nope", "No such command 'nope'"),
    ("image build extra", "unexpected extra argument"),
    ("image push extra", "unexpected extra argument"),
    ("logs tail nope", "no job named 'nope'"),
    ("logs tail etl --since 10x", "--since '10x' is neither a duration nor an ISO-8601 time"),
    ("logs tail etl --since 100000w", "--since '100000w' reaches back before 1970"),
    ("logs tail etl --since 0001-01-01", "reaches back before 1970"),
    ("logs tail etl --since 99999999999999999999999d", "reaches back before 1970"),
    ("logs tail etl --step nope", "job 'etl' has no step 'nope'"),
    ("schedule pause fibonacci", "job 'fibonacci' has no schedule"),
    ("schedule resume nope", "no job named 'nope'"),
    ("unlock extra", "unexpected extra argument"),
    ("dlq nope", "no job named 'nope'"),
    ("dlq fibonacci --show -1", "'--show'"),
    ("export cloudformation --format xml", "--format xml"),
    ("export nope", "No such command 'nope'"),
    ("outputs extra", "unexpected extra argument"),
    ("cancel", "Missing argument"),
    ("cancel fibonacci --all --reason", "requires an argument"),
]


@pytest.mark.parametrize(("line", "message"), CASES)
def test_a_usage_mistake_exits_2_with_one_error_line_before_any_aws_call(
    line: str, message: str, tmp_path: Path
) -> None:
    jsonl = tmp_path / "bodies.jsonl"
    jsonl.write_text('{"n": 1}\n{"n": 2}\n')
    (tmp_path / "empty").mkdir()
    typed = line.format(missing=tmp_path / "missing.json", jsonl=jsonl, dir=tmp_path / "empty")
    result = CliRunner().invoke(app, ["-c", str(EXAMPLE), *shlex.split(typed)], env=ENV)
    assert result.exit_code == 2, (typed, result.output)
    assert [line[:6] for line in result.stderr.splitlines()] == ["error:", "hint: "], result.stderr
    assert message in result.stderr.splitlines()[0]
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_the_table_walks_every_command() -> None:
    walked = set()
    for line, _message in CASES:
        words = shlex.split(line)
        while words and words[0].startswith("-"):
            words = words[2:] if words[0] in ("-o", "--region") else words[1:]
        if words and words[0] in COMMANDS:
            sub = getattr(load_command(words[0]), "commands", None)
            walked.add(f"{words[0]} {words[1]}" if sub and words[1] in sub else words[0])
    every = set()
    for name in COMMANDS:
        sub = getattr(load_command(name), "commands", None)
        every |= {f"{name} {s}" for s in sub} if sub else {name}
    assert every <= walked, every - walked
