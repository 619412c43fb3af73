"""yamlpos: plain data with positions, and what the loader refuses (duplicates, bombs, huge or binary input)."""

from __future__ import annotations

import re

import pytest

from batchctl import yamlpos
from batchctl.errors import ConfigSyntaxError
from batchctl.yamlpos import MAX_ALIAS_NODES, MAX_DOCUMENT_BYTES, Position, load_with_positions

DOC = """\
version: 1
jobs:
  fibonacci:
    command: [python, run.py]
    steps:
      - name: extract
        command: [a]
      - name: load
        command:
          - b
"""

LOADERS = [
    pytest.param(False, id="pure-python"),
    pytest.param(
        True, id="libyaml", marks=pytest.mark.skipif(not yamlpos._LIBYAML, reason="PyYAML without libyaml")
    ),
]


def load(text: str, *, libyaml: bool = False) -> tuple[object, yamlpos.Positions]:
    return yamlpos._parse(text, filename="jobs.yaml", libyaml=libyaml)


@pytest.mark.parametrize("libyaml", LOADERS)
def test_records_one_based_positions_of_keys_and_list_items(libyaml: bool) -> None:
    data, positions = load(DOC, libyaml=libyaml)

    assert data == {
        "version": 1,
        "jobs": {
            "fibonacci": {
                "command": ["python", "run.py"],
                "steps": [{"name": "extract", "command": ["a"]}, {"name": "load", "command": ["b"]}],
            }
        },
    }
    assert positions.lookup(("version",)) == Position(1, 1)
    assert positions.lookup(("jobs", "fibonacci")) == Position(3, 3)
    assert positions.lookup(("jobs", "fibonacci", "command", 1)) == Position(4, 23)
    assert positions.lookup(("jobs", "fibonacci", "steps", 1)) == Position(8, 9)
    assert positions.lookup(("jobs", "fibonacci", "steps", 1, "command")) == Position(9, 9)
    assert positions.lookup(("jobs", "fibonacci", "steps", 1, "command", 0)) == Position(10, 13)


def test_lookup_falls_back_to_the_deepest_existing_ancestor() -> None:
    _, positions = load(DOC)

    assert positions.lookup(("jobs", "fibonacci", "steps", 0, "vcpus")) == Position(6, 9)
    assert positions.lookup(("jobs", "nope", "command")) == Position(2, 1)
    assert positions.lookup(("region",)) == Position(1, 1)  # root: where the document starts
    assert positions.lookup(()) == Position(1, 1)


def test_root_position_is_where_the_document_starts() -> None:
    _, positions = load("# comment\n\nproject: demo\n")

    assert positions.lookup(("missing",)) == Position(3, 1)


@pytest.mark.parametrize("libyaml", LOADERS)
def test_duplicate_key_is_refused_at_the_second_key(libyaml: bool) -> None:
    text = "jobs:\n  a:\n    vcpus: 1\n    memory_mib: 2\n    vcpus: 2\n"

    with pytest.raises(ConfigSyntaxError) as caught:
        load(text, libyaml=libyaml)

    assert str(caught.value) == "jobs.yaml:5:5: duplicate key 'vcpus' (each key may appear once in a mapping)"


@pytest.mark.parametrize("libyaml", LOADERS)
def test_timestamps_stay_strings(libyaml: bool) -> None:
    data, _ = load("day: 2024-01-31\nwhen: 2024-01-31T10:00:00Z\nnum: 12\nflag: true\n", libyaml=libyaml)

    assert data == {"day": "2024-01-31", "when": "2024-01-31T10:00:00Z", "num": 12, "flag": True}


def test_safe_loader_itself_still_reads_dates() -> None:
    # The resolver table is the subclass's own copy: PyYAML's SafeLoader is untouched.
    import datetime

    import yaml

    assert yaml.safe_load("d: 2024-01-31") == {"d": datetime.date(2024, 1, 31)}


def test_keys_are_kept_as_written() -> None:
    data, _ = load("ON: 1\n1: x\nnull: y\n")

    assert data == {"ON": 1, "1": "x", "null": "y"}


def test_merge_keys_let_explicit_keys_win() -> None:
    text = "base: &base {vcpus: 1, memory_mib: 2048}\njob:\n  <<: *base\n  vcpus: 2\n"

    data, positions = load(text)

    assert data == {"base": {"vcpus": 1, "memory_mib": 2048}, "job": {"vcpus": 2, "memory_mib": 2048}}
    assert positions.lookup(("job", "vcpus")) == Position(4, 3)
    assert positions.lookup(("job", "memory_mib")) == Position(1, 24)  # where the merged value was written


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):  # 10**10 nodes once expanded
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")

    with pytest.raises(ConfigSyntaxError) as caught:
        load("\n".join(lines) + "\n")

    assert f"more than {MAX_ALIAS_NODES:,} nodes" in str(caught.value)
    assert "alias bomb" in str(caught.value)


def test_modest_alias_reuse_is_fine() -> None:
    data, _ = load("env: &env {A: '1', B: '2'}\nx: *env\ny: *env\n")

    assert data == {"env": {"A": "1", "B": "2"}, "x": {"A": "1", "B": "2"}, "y": {"A": "1", "B": "2"}}


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(
        ConfigSyntaxError, match=r"^jobs.yaml:1:4: an alias refers to a node that contains it"
    ):
        load("a: &a [1, *a]\n")


def test_a_document_over_5_mib_is_refused_before_parsing() -> None:
    # Valid YAML, so only the size check can refuse it.
    text = "a: " + "x" * (6 * 1024 * 1024) + "\n"

    with pytest.raises(ConfigSyntaxError) as caught:
        load_with_positions(text, filename="jobs.yaml")

    assert str(caught.value).startswith("jobs.yaml:1:1: the document is 6,291,460 bytes")
    assert f"{MAX_DOCUMENT_BYTES:,}" in str(caught.value)


def test_size_counts_utf8_bytes_not_characters() -> None:
    text = "a: " + "é" * (MAX_DOCUMENT_BYTES // 2 + 10) + "\n"  # fewer characters than the limit, more bytes

    with pytest.raises(ConfigSyntaxError, match="bytes"):
        load_with_positions(text, filename="jobs.yaml")


@pytest.mark.parametrize("libyaml", LOADERS)
def test_syntax_errors_carry_the_problem_position(libyaml: bool) -> None:
    with pytest.raises(ConfigSyntaxError, match=r"^jobs.yaml:3:1: "):
        load("a: 1\nb: [1, 2\n", libyaml=libyaml)


@pytest.mark.parametrize("libyaml", LOADERS)
def test_tabs_get_a_hint(libyaml: bool) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        load("a:\n\tb: 1\n", libyaml=libyaml)

    assert str(caught.value).startswith("jobs.yaml:2:1: ")
    assert caught.value.hint == "indent YAML with spaces; tabs are not allowed"


@pytest.mark.parametrize("libyaml", LOADERS)
def test_binary_garbage_is_refused_with_its_position(libyaml: bool) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        load("a: 1\nb: \x00\x01\x02\x89PNG\n", libyaml=libyaml)

    assert str(caught.value).startswith("jobs.yaml:2:4: unacceptable character #x0000")
    assert caught.value.hint is not None
    assert "binary" in caught.value.hint


@pytest.mark.parametrize("libyaml", LOADERS)
def test_deep_nesting_is_an_error_not_a_crash(libyaml: bool) -> None:
    # libyaml's own composer recurses on the C stack and segfaults on this; ours must raise. Which limit stops it
    # first (ours, or the one newer PyYAML releases have) is the parser's business: assert a positioned error.
    with pytest.raises(ConfigSyntaxError) as caught:
        load("[" * 200_000, libyaml=libyaml)
    assert re.match(r"jobs\.yaml:\d+:\d+: \S", str(caught.value)), caught.value


def test_nesting_beyond_the_limit_is_refused_with_a_position() -> None:
    text = "a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(70)) + "  " * 71 + "x: 1\n"

    with pytest.raises(ConfigSyntaxError, match="nested more than 64 levels"):
        load(text)


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['true']\n",
        "a: !!python/name:os.system\n",
        "a: !!set {x, y}\n",
        "a: !Ref name\n",
    ],
)
def test_unsafe_or_unknown_tags_are_refused(text: str) -> None:
    with pytest.raises(ConfigSyntaxError, match=r"^jobs.yaml:1:\d+: "):
        load(text)


def test_several_documents_are_refused() -> None:
    with pytest.raises(ConfigSyntaxError, match=r"^jobs.yaml:2:1: .*single document"):
        load("a: 1\n---\nb: 2\n")


def test_complex_keys_are_refused() -> None:
    with pytest.raises(ConfigSyntaxError, match="mapping key must be plain text"):
        load("? [a, b]\n: 1\n")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_an_empty_document_is_none(text: str) -> None:
    data, _ = load_with_positions(text, filename="jobs.yaml")

    assert data is None


@pytest.mark.skipif(not yamlpos._LIBYAML, reason="PyYAML without libyaml")
def test_both_loaders_agree_on_data_and_positions() -> None:
    text = DOC + "anchors:\n  base: &b {x: 1, y: [1, 2.5, null, 'q']}\n  use:\n    <<: *b\n    x: 2\n"

    pure_data, pure_positions = load(text, libyaml=False)
    fast_data, fast_positions = load(text, libyaml=True)

    assert pure_data == fast_data
    assert pure_positions._table == fast_positions._table
