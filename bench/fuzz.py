"""The long fuzz: 10,000 seeded hostile requests against the real stack (Rasa with both channels, the action server,
the shop page, the agent console, PostgreSQL), as `tests/e2e/test_fuzz.py` runs 600 of them in CI.

The surfaces (tests/support/fuzz.py): the REST channel, engine.io's HTTP transport and socket.io events, the
shop page's API, the agent console's HTTP API and its websocket (`/ws`), and Rasa's HTTP API behind its token as
production runs it (no token, a wrong one, the right one). It runs that very test with more requests, so the
stack is started exactly as the tests start it. It prints the requests tried per endpoint and the statuses they
got, and fails on any answer >= 500, a request without valid credentials that is not refused with 401 or 403, a
request that hangs or loses its connection, a traceback in any server's log, or a server that stops answering.

    python bench/fuzz.py [--requests 10000] [--seed 12]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    env = dict(os.environ, TANDEM_FUZZ_REQUESTS=str(args.requests), TANDEM_FUZZ_SEED=str(args.seed))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/e2e/test_fuzz.py",
        "-s",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "timeout=7200",
    ]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
