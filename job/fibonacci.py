"""On-demand job: compute the n-th Fibonacci number, n taken from the message body {"n": 30}."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from runinfo import current

MAX_N = 100_000


def fibonacci(n: int) -> int:
    """F(0) = 0, F(1) = 1, iteratively (no recursion limit, exact big integers)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body", default=None, help='JSON object with "n" (else $BATCHCTL_BODY)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "info").upper(), format="%(levelname)s %(message)s")
    run = current(body=args.body)
    try:
        n = int(run.json_body().get("n", 10))
    except (ValueError, TypeError) as exc:
        logging.error("bad body %r: %s", run.body, exc)
        return 2
    if not 0 <= n <= MAX_N:
        logging.error("n must be between 0 and %d, got %d", MAX_N, n)
        return 2
    value = fibonacci(n)
    logging.info("run %s from %s", run.run_id, run.source)
    print(json.dumps({"n": n, "fibonacci": str(value), "digits": len(str(value))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
