"""The benchmarks' AWS: batchctl's own sandbox (moto on 127.0.0.1 with batchctl's fixes) in this process, without
the pipe relay (it would drain the queues `submit` fills and start executions that load moto during the timings).

Run: python bench/sandbox_server.py [--strict-time-scale F]; prints `MOTO_PORT=<port>` once it answers, then serves
until killed. With --strict-time-scale, the strict sandbox (AWS's rules and asynchronous states, durations × F).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from batchctl import sandbox
from batchctl.sandbox.strict import StrictOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strict-time-scale", type=float, default=None)
    scale = parser.parse_args().strict_time_scale
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    strict = StrictOptions(time_scale=scale) if scale is not None else None
    box = sandbox.start(port=0, use_docker=False, strict=strict)
    if box.relay is not None:
        box.relay.stop()
        box.relay = None
    print(f"MOTO_PORT={box.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    box.stop()


if __name__ == "__main__":
    main()
