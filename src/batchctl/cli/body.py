"""The body of a run, from --body, --body-file FILE or stdin (--body-file -): `read_body` for `run --local`,
`read_messages` for `submit` (a .jsonl file holds one message per line)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from batchctl.errors import RunError, RunUsageError

if TYPE_CHECKING:
    from batchctl.runs import Message


def read_body(body: str | None, body_file: str | None) -> str | None:
    """`run --local`'s body: --body, or the text of --body-file (- for stdin), as it is."""
    if body_file is None:
        return body
    if body_file == "-":
        return sys.stdin.read()
    try:
        return Path(body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunUsageError(
            f"cannot read --body-file {body_file}: {getattr(exc, 'strerror', None) or exc}",
            hint="check the path given to --body-file",
        ) from None


def read_messages(body: str | None, body_file: str | None) -> tuple[list[Message], str]:
    """`submit`'s messages and where they came from: --body, a file, stdin (-), or a .jsonl file (one per line)."""
    from batchctl.runs import Message, parse_jsonl

    if body is not None:
        return [Message(body=body)], "--body"
    assert body_file is not None
    if body_file == "-":
        return [Message(body=_strip_final_newline(sys.stdin.read()))], "stdin"
    path = Path(body_file)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RunUsageError(
            f"cannot read {body_file}: {exc.strerror or exc}", hint="check the path given to --body-file"
        ) from None
    except UnicodeDecodeError as exc:
        raise RunError(
            f"cannot read {body_file}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    if path.suffix.lower() == ".jsonl":
        return parse_jsonl(text, source=body_file), body_file
    return [Message(body=_strip_final_newline(text))], body_file


def _strip_final_newline(text: str) -> str:
    # Editors end files with a newline; it is not part of the body.
    return text.removesuffix("\n").removesuffix("\r")
