"""`tandem status`: every process of the running assistant in one place; exit 0 only when all are healthy."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_FAILED, set_handler


def _cmd_status(args: argparse.Namespace) -> int:
    from bot.settings import get_settings
    from bot.status import stack_status

    status = stack_status(get_settings().state_dir)
    if status.supervisor_pid is None:
        print("Tandem is not running here (start it with `./tandem up`).")
        return EXIT_FAILED
    print(f"tandem up, PID {status.supervisor_pid}")
    width = max((len(p.name) for p in status.processes), default=0)
    for p in status.processes:
        pid = f"PID {p.pid}" if p.pid is not None else "no PID"
        timing = f" in {p.answer_ms:.0f} ms" if p.answer_ms is not None else ""
        restarts = f", restarted {p.restarts}x" if p.restarts else ""
        log = f"  (log: {p.log})" if p.log and not p.healthy else ""
        print(f"  {p.name:<{width}}  {pid:<10}  {p.state}{timing}{restarts}{log}")
    return 0 if status.healthy else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser("status", help="is every process of the running assistant up and answering?")
    set_handler(status, _cmd_status)
