"""Second step of the etl job, an array job: shard AWS_BATCH_JOB_ARRAY_INDEX of N loads its slice of records."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from extract import records
from runinfo import current

SHARDS = int(os.environ.get("LOAD_SHARDS", "4"))


def shard(rows: list[dict[str, int]], index: int, shards: int) -> list[dict[str, int]]:
    return [row for row in rows if row["id"] % shards == index]


def main() -> int:
    run = current()
    index = int(os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0"))
    rows = shard(records(int(run.json_body().get("count", 100))), index, SHARDS)
    print(json.dumps({"step": "load", "shard": index, "loaded": len(rows), "run_id": run.run_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
