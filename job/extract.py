"""First step of the etl job: produce the records the load step will write (deterministic from the body)."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from runinfo import current


def records(count: int) -> list[dict[str, int]]:
    return [{"id": i, "value": i * i} for i in range(count)]


def main() -> int:
    run = current()
    count = int(run.json_body().get("count", 100))
    rows = records(count)
    print(json.dumps({"step": "extract", "run_id": run.run_id, "records": len(rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
