"""Scheduled job: write the daily report for the day the schedule fired (its time, in Asia/Tokyo)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from runinfo import current

REPORT_ZONE = ZoneInfo(os.environ.get("REPORT_TIMEZONE", "Asia/Tokyo"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time", default=None, help="scheduled time, ISO-8601 (else $BATCHCTL_TIME)")
    args = parser.parse_args(argv)
    try:
        run = current(time=args.time)
    except ValueError as exc:
        print(f"bad --time: {exc}", file=sys.stderr)
        return 2
    local = run.time.astimezone(REPORT_ZONE)
    print(
        json.dumps(
            {
                "report_date": local.date().isoformat(),
                "scheduled_at": run.time.isoformat(),
                "run_id": run.run_id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
