"""The whole conversation-quality suite (tests/quality/) through the real stack: the pass rate and every failure.

It runs the suite's test with every conversation instead of CI's sample, so the stack is started exactly as the
tests start it. The full report (failures with transcripts) is printed and kept in the test's temporary folder.

    python -m bench.conversation_quality                     # all of it
    python -m bench.conversation_quality --only change-items # the conversations whose id contains this
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="play only the conversations whose id contains this")
    args = parser.parse_args(argv)
    env = dict(os.environ, TANDEM_QUALITY_ALL="1", TANDEM_QUALITY_VERBOSE="1", TANDEM_QUALITY_ONLY=args.only)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/quality/test_conversation_quality.py",
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
