"""The `./tandem` entry point as a newcomer first meets it."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_help_says_what_the_commands_do_and_none_of_the_script() -> None:
    for flag in ("--help", "-h", "help"):
        shown = subprocess.run([str(ROOT / "tandem"), flag], capture_output=True, text=True, timeout=30, check=True)
        lines = shown.stdout.splitlines()
        assert lines[0].startswith("Tandem's one entry point")
        assert any("./tandem up" in line for line in lines) and any("./tandem down" in line for line in lines)
        assert not any(word in shown.stdout for word in ("set -euo", 'cd "$(dirname', "#!/usr/bin/env"))


def test_tandem_rasa_passes_everything_after_it_to_rasa():
    """`./tandem rasa data validate --max-history 5` reaches Rasa's own command line untouched."""
    from bot.cli import build_parser

    args = build_parser().parse_args(["rasa", "data", "validate", "--max-history", "5"])
    assert args.arguments == ["data", "validate", "--max-history", "5"]
