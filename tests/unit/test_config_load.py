"""Loading jobs.yaml: every problem at once as positioned issues, overrides, files, schema (issues.py, load.py)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from batchctl.config import config_schema, load_config, parse_config, render_path
from batchctl.errors import ConfigNotFoundError, ConfigSyntaxError, ConfigValidationError, ExitCode
from tests.unit.test_config import FULL, MINIMAL, at, edit, issues_of, only_issue

# ---- positioned field errors ----------------------------------------------------------------------------------


def test_unknown_key_is_reported_with_a_suggestion() -> None:
    issue = only_issue(MINIMAL + "    vcpu: 2\n")

    assert at(issue) == (7, "jobs.hello.vcpu")
    assert issue.col == 5
    assert issue.message == "unknown key 'vcpu'; did you mean 'vcpus'?"
    assert str(issue) == "jobs.yaml:7:5: jobs.hello.vcpu: unknown key 'vcpu'; did you mean 'vcpus'?"


def test_unknown_top_level_key_without_a_close_match() -> None:
    issue = only_issue(MINIMAL + "zzz: 1\n")

    assert at(issue) == (7, "zzz")
    assert issue.message == "unknown key 'zzz'"


def test_a_missing_required_key_points_at_its_parent() -> None:
    text = edit(MINIMAL, "    command: [echo, hi]\n", "    steps:\n      - name: one\n        vcpus: 1\n")

    issue = only_issue(text)

    assert at(issue) == (7, "jobs.hello.steps[0].command")
    assert issue.message == "required key 'command' is missing"


def test_a_missing_top_level_key_points_at_the_document() -> None:
    issue = only_issue(edit(MINIMAL, "version: 1\n", "# no version\n"))

    assert at(issue) == (2, "version")
    assert issue.message == "required key 'version' is missing"


def test_vcpus_zero_on_line_4(tmp_path: Path) -> None:
    # STYLE §6: a jobs.yaml with `vcpus: 0` on line 4 gives one issue at line 4.
    path = tmp_path / "jobs.yaml"
    path.write_text(
        "version: 1\nproject: demo\nstage: dev\ndefaults: {vcpus: 0}\njobs: {a: {command: [x]}}\n"
    )

    with pytest.raises(ConfigValidationError) as caught:
        load_config(path)

    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.col, issue.path) == (str(path), 4, 12, "defaults.vcpus")
    assert issue.message == "Input should be greater than 0, got 0"
    assert caught.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("line", "path", "message"),
    [
        (
            "project: Demo_1",
            "project",
            "'Demo_1': use lowercase letters, digits and '-', starting with a letter",
        ),
        ("project: abcdefghijklmnopqrstu", "project", "String should have at most 20 characters"),
        ("stage: 1dev", "stage", "'1dev': use lowercase letters, digits and '-', starting with a letter"),
        ("stage: abcdefghijklmnopq", "stage", "String should have at most 16 characters"),
    ],
)
def test_project_and_stage_names(line: str, path: str, message: str) -> None:
    key = line.split(":")[0]
    text = edit(MINIMAL, f"{key}: {'demo' if key == 'project' else 'dev'}\n", line + "\n")

    issue = only_issue(text)

    assert (issue.line, issue.path) == (2 if key == "project" else 3, path)
    assert issue.message.startswith(message)


def test_region_pattern() -> None:
    issue = only_issue(MINIMAL + "region: europe\n")

    assert at(issue) == (7, "region")
    assert issue.message == "'europe': expected an AWS region such as eu-west-1"


def test_version_must_be_1() -> None:
    issue = only_issue(edit(MINIMAL, "version: 1", "version: 2"))

    assert at(issue) == (1, "version")
    assert issue.message == "Input should be 1, got 2"


def test_job_names_follow_the_name_pattern() -> None:
    issue = only_issue(edit(MINIMAL, "  hello:", "  Hello_World:"))

    assert at(issue) == (5, "jobs.Hello_World")
    assert "lowercase letters" in issue.message


def test_at_least_one_job() -> None:
    issue = only_issue("version: 1\nproject: demo\nstage: dev\njobs: {}\n")

    assert at(issue) == (4, "jobs")
    assert issue.message == "declare at least one job"


def test_type_errors_say_what_was_expected() -> None:
    text = MINIMAL + "    retries: yes\n    timeout_s: [60]\n    environment: {DEBUG: true}\n"

    issues = issues_of(text)

    assert [(i.line, i.path, i.message) for i in issues] == [
        (7, "jobs.hello.retries", "expected a number, not true"),
        (8, "jobs.hello.timeout_s", "expected a whole number, got a list"),
        (9, "jobs.hello.environment.DEBUG", "expected text, got true: quote it as 'true'"),
    ]


def test_a_job_that_is_not_a_mapping() -> None:
    issue = only_issue(edit(MINIMAL, "  hello:\n    command: [echo, hi]\n", "  hello: [echo, hi]\n"))

    assert at(issue) == (5, "jobs.hello")
    assert issue.message == "expected a mapping (key: value), got a list"


# ---- every issue at once --------------------------------------------------------------------------------------


def test_five_mistakes_give_five_positioned_issues_sorted_by_line() -> None:
    text = FULL
    text = edit(text, "  max_vcpus: 16\n", "  max_vcpus: 0\n")  # line 13: field error
    text = edit(text, "memory_mib: 2048, timeout_s", "memory_mib: 3000, timeout_s")  # 15: inherited bad pair
    text = edit(text, "--body, Ref::body]", "--body, Ref::bodyy]")  # 23: unknown placeholder
    text = edit(text, "timezone: Asia/Tokyo}", "timezone: Asia/Tokio}")  # 31: unknown zone
    text = edit(text, "    vcpus: 2\n", "    vcpu: 2\n")  # 32: unknown key

    issues = issues_of(text)

    assert [(i.line, i.path) for i in issues] == [
        (13, "compute.max_vcpus"),
        (15, "defaults.memory_mib"),
        (23, "jobs.fibonacci.command[3]"),
        (31, "jobs.daily-report.schedule.timezone"),
        (32, "jobs.daily-report.vcpu"),
    ]
    assert all(i.file == "jobs.yaml" for i in issues)


def test_an_unknown_key_and_a_bad_fargate_pair_in_the_same_job_are_both_reported() -> None:
    issues = issues_of(MINIMAL + "    memory_mib: 1000\n    colour: blue\n")

    assert [at(i) for i in issues] == [(7, "jobs.hello.memory_mib"), (8, "jobs.hello.colour")]


def test_model_rules_are_reported_alongside_field_errors() -> None:
    text = (
        edit(MINIMAL, "    command: [echo, hi]\n", "    descripton: typo\n")
        + "    schedule: {cron: '0 1 * * ? *', rate: 1 hour}\n"
    )

    issues = issues_of(text)

    assert [at(i) for i in issues] == [
        (5, "jobs.hello"),
        (6, "jobs.hello.descripton"),
        (7, "jobs.hello.schedule.rate"),
    ]


def test_rules_that_read_a_broken_value_are_not_guessed() -> None:
    # With vcpus unreadable we cannot tell whether 16384 MiB fits: report vcpus only, not an invented pair.
    issue = only_issue(MINIMAL + "    vcpus: lots\n    memory_mib: 16384\n")

    assert at(issue) == (7, "jobs.hello.vcpus")


def test_the_error_message_lists_every_issue() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        parse_config(MINIMAL + "    vcpu: 1\n    gpus: 1\n", filename="conf/jobs.yaml")

    assert str(caught.value).splitlines() == [
        "2 problems in conf/jobs.yaml",
        "conf/jobs.yaml:7:5: jobs.hello.vcpu: unknown key 'vcpu'; did you mean 'vcpus'?",
        "conf/jobs.yaml:8:5: jobs.hello.gpus: GPUs need compute type EC2 or SPOT; Fargate has none",
    ]


# ---- overrides ------------------------------------------------------------------------------------------------


def test_stage_and_region_overrides() -> None:
    cfg = parse_config(FULL, stage="prod", region="eu-west-1")

    assert (cfg.stage, cfg.region) == ("prod", "eu-west-1")


def test_an_invalid_stage_override_is_reported_at_the_stage_key() -> None:
    issue = only_issue(MINIMAL, stage="Prod")

    assert at(issue) == (3, "stage")
    assert issue.message.endswith("(from --stage Prod)")


def test_a_stage_override_is_length_checked_with_the_names() -> None:
    job = "j" * 50  # demo-<stage>-<job>-job with stage "dev" fits; a 16-character stage does not
    text = edit(MINIMAL, "  hello:", f"  {job}:")

    parse_config(text)
    issues = issues_of(text, stage="a" * 16)

    assert [at(i) for i in issues] == [(5, f"jobs.{job}")] * 2  # the job role and the state machine role


# ---- load_config ----------------------------------------------------------------------------------------------


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(FULL, encoding="utf-8")

    assert load_config(path, stage="prod").stage == "prod"


def test_load_config_accepts_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())

    assert load_config(path).project == "demo"


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFoundError) as caught:
        load_config(tmp_path / "nope.yaml")

    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: no such file"
    assert caught.value.hint is not None
    assert "batchctl init" in caught.value.hint
    assert "-c PATH" in caught.value.hint


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_not_utf8_is_reported_with_its_position(tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(bom + b"version: 1\nproject: d\xe9mo\n")

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}:2:11: not UTF-8 text (byte 0xe9)"


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00")

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}:3:1: binary data (a NUL byte)"
    assert caught.value.hint is not None
    assert "binary" in caught.value.hint


def test_a_6_mb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(MINIMAL + "# " + "x" * (6 * 1024 * 1024) + "\n")

    with pytest.raises(ConfigSyntaxError, match="larger than 5,242,880 bytes"):
        load_config(path)


@pytest.mark.parametrize("content", ["", "\n", "# just a comment\n"])
def test_an_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(content)

    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}:1:1: the file is empty"
    assert caught.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("text", "where", "found"),
    [("- a\n- b\n", "1:1", "a list"), ("\n\njust text\n", "3:1", "'just text'"), ("42\n", "1:1", "42")],
)
def test_a_document_that_is_not_a_mapping(text: str, where: str, found: str) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        parse_config(text)

    assert str(caught.value) == (
        f"jobs.yaml:{where}: expected a mapping with version, project, stage and jobs, got {found}"
    )


def test_yaml_syntax_errors_become_config_syntax_errors() -> None:
    with pytest.raises(ConfigSyntaxError, match=r"^jobs.yaml:7:5: duplicate key 'command'"):
        parse_config(MINIMAL + "    command: [again]\n")


# ---- schema and helpers ---------------------------------------------------------------------------------------


def test_schema_is_a_json_schema_with_properties() -> None:
    schema = config_schema()

    assert isinstance(schema, dict)
    assert {"version", "project", "stage", "jobs"} <= set(schema["properties"])
    assert set(schema["required"]) == {"version", "project", "stage", "jobs"}
    assert schema["additionalProperties"] is False
    assert json.loads(json.dumps(schema)) == schema
    assert schema["properties"]["project"]["pattern"] == "^[a-z][a-z0-9-]*$"


def test_render_path() -> None:
    assert render_path(("jobs", "fibonacci", "steps", 1, "command")) == "jobs.fibonacci.steps[1].command"
    assert render_path(("tags", "a.b")) == 'tags["a.b"]'
    assert render_path(("jobs", "Bad", "[key]")) == "jobs.Bad"
    assert render_path(("notify", 'a"\x7f')) == 'notify["a\\"\\x7f"]'
