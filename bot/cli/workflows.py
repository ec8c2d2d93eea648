"""`tandem workflows validate [PATHS...]`: check workflow files before they reach customers.

Problems are the command's report, not an error: they go to stdout and the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

from bot.cli.common import set_handler


def _cmd_validate(args: argparse.Namespace) -> int:
    from bot.journeys.workflows.loader import DEFAULT_WORKFLOWS_DIR, workflow_files
    from bot.journeys.workflows.validator import DEFAULT_DOMAIN, validate_workflows

    paths = args.paths or [str(DEFAULT_WORKFLOWS_DIR)]
    files = workflow_files(paths)
    problems = validate_workflows(paths, args.domain or DEFAULT_DOMAIN)
    for problem in problems:
        print(replace(problem, file=_short(problem.file)))
    if problems:
        print(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {len(files)} workflow file"
            f"{'s' if len(files) != 1 else ''}."
        )
        return 1
    if not files:
        print("No workflow files found.")
        return 1
    print(f"{len(files)} workflow file{'s' if len(files) != 1 else ''} OK.")
    return 0


def _short(path: str) -> str:
    """The path relative to the current folder when it is inside it (what an editor's terminal shows)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def register(subparsers: argparse._SubParsersAction) -> None:
    workflows = subparsers.add_parser("workflows", help="resolution workflows: validate the YAML files")
    sub = workflows.add_subparsers(dest="workflows_command", metavar="COMMAND", required=True)
    validate = sub.add_parser("validate", help="check workflow files (default: workflows/)")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="workflow files or folders")
    validate.add_argument("--domain", help="the Rasa domain with the responses, a file or a folder (default: domain/)")
    set_handler(validate, _cmd_validate)
