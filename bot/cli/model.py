"""`tandem model list|train|check|publish|rollback`: the Rasa model's way from the data to the customers.

    tandem model check              validate, train (or reuse), conversation tests, NLU regression check
    tandem model publish [MODEL]    check if needed, then every running Rasa loads it, one after the other
    tandem model rollback           the model that served before serves again
    tandem model list               the kept models; * marks the one serving

A failed check is the command's report, not an error: the reasons go to stdout and the exit code is 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, CliError, set_handler

if TYPE_CHECKING:
    from bot.model_release.check import CheckResult
    from bot.model_release.progress import ProgressEvent
    from bot.model_release.publish import PublishResult
    from bot.model_release.service import Workspace


def _workspace(args: argparse.Namespace) -> Workspace:
    from dataclasses import replace

    from bot.model_release.service import Workspace
    from bot.settings import get_settings

    ws = Workspace.from_settings(get_settings(), getattr(args, "rasa_url", None) or ())
    return replace(ws, models_dir=Path(args.models_dir)) if args.models_dir else ws


def _by(args: argparse.Namespace) -> str:
    return f"{getpass.getuser()} (tandem model {args.model_command})"


def _say(event: ProgressEvent) -> None:
    from bot.model_release.progress import as_line

    print(as_line(event), flush=True)


def _sentiment(args: argparse.Namespace) -> Path | None:
    return Path(args.sentiment_model) if getattr(args, "sentiment_model", None) else None


def print_check(result: CheckResult) -> None:
    print()
    for step in result.steps:
        mark = "ok " if step.passed else "FAILED"
        print(f"{mark:<6} {step.step:<13} {step.seconds:6.0f} s  {step.summary}")
        for line in step.details[:20]:
            print(f"{'':>6}   - {line}")
        if len(step.details) > 20:
            print(f"{'':>6}   ... and {len(step.details) - 20} more")
    regression: dict[str, Any] | None = dict(result.regression) if result.regression else None
    if regression and regression.get("serving_model"):
        changed = [c for c in regression["changes"] if abs(c["delta"]) > 1e-9]
        metric = regression["metric"]
        print(f"\nper intent ({metric}, {regression['serving_model']} -> {regression['candidate_model']}):")
        for change in changed:
            flag = "  WORSE" if change["worse"] else ""
            print(
                f"  {change['intent']:<26} {change['serving'][metric]:.2f} -> {change['candidate'][metric]:.2f}"
                f"  ({change['delta']:+.2f}){flag}"
            )
        print(f"  {len(regression['changes']) - len(changed)} intent(s) unchanged")
    verdict = "passed: it may be published" if result.passed else "failed: it may not be published"
    print(f"\ncheck of {result.model or 'the data'} {verdict} ({result.seconds:.0f} s)")


def print_publish(result: PublishResult, verb: str = "published") -> None:
    for loaded in result.loaded:
        print(f"  {loaded.instance} loaded it in {loaded.seconds:.1f} s")
    if not result.loaded:
        print("  no Rasa server runs here: it serves from the next `tandem up`")
    print(f"{verb} {result.model} (before: {result.previous or 'none'})")
    if result.pruned:
        print(f"  removed old models: {', '.join(result.pruned)}")


def _cmd_list(args: argparse.Namespace) -> int:
    from bot.model_release.service import models

    views = models(_workspace(args))
    if args.json:
        rows = [
            {
                "name": v.name,
                "serving": v.serving,
                "kept_for_rollback": v.in_stack and not v.serving,
                "trained_at": v.trained_at.isoformat(),
                "trained_by": v.trained_by,
                "check": (v.check or {}).get("passed"),
                "published": [p.at.isoformat() for p in v.publications if p.action != "withdraw"],
                "withdrawn": v.withdrawn,
                "file_exists": v.exists,
            }
            for v in views
        ]
        print(json.dumps(rows, indent=1))
        return 0
    if not views:
        print("no models yet: `tandem model check` trains and checks one")
        return 0
    for v in views:
        mark = "*" if v.serving else ("r" if v.in_stack else " ")
        check = "-" if not v.check else ("passed" if v.check.get("passed") else "failed")
        state = "withdrawn" if v.withdrawn else ("published" if v.published else "")
        print(f"{mark} {v.name:<28} {v.trained_at:%Y-%m-%d %H:%M}  check {check:<6}  {state:<9}  by {v.trained_by}")
    print("* serving   r kept for `tandem model rollback`")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from bot.model_release.service import train
    from bot.model_release.train import TrainingFailed

    try:
        view = train(_workspace(args), by=_by(args), progress=_say, sentiment_model=_sentiment(args))
    except TrainingFailed as exc:
        raise CliError(str(exc)) from exc
    print(f"{view.name}: {view.path} (not checked; `tandem model check` next)")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from bot.model_release.service import run_check

    result = run_check(_workspace(args), by=_by(args), progress=_say, sentiment_model=_sentiment(args))
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print_check(result)
    return 0 if result.passed else EXIT_FAILED


def _cmd_publish(args: argparse.Namespace) -> int:
    from bot.model_release.publish import PublishError
    from bot.model_release.registry import RegistryError
    from bot.model_release.service import AlreadyServing, PublishRefused, publish

    try:
        result, published = publish(
            _workspace(args), args.model, by=_by(args), progress=_say, sentiment_model=_sentiment(args)
        )
    except AlreadyServing as exc:
        print(str(exc))
        return 0
    except PublishRefused as exc:
        print_check(exc.result)
        return EXIT_FAILED
    except RegistryError as exc:
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    except PublishError as exc:
        raise CliError(str(exc)) from exc
    if result is not None:
        print_check(result)
    print_publish(published)
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from bot.model_release.publish import PublishError
    from bot.model_release.registry import RegistryError
    from bot.model_release.service import rollback

    try:
        result = rollback(_workspace(args), by=_by(args), progress=_say)
    except (RegistryError, PublishError) as exc:
        raise CliError(str(exc)) from exc
    print_publish(result, "rolled back to")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser("model", help="train, check, publish or roll back the Rasa model")
    sub = model.add_subparsers(dest="model_command", metavar="COMMAND", required=True)

    def command(
        name: str, help: str, handler: Any, *, servers: bool = False, sentiment: bool = False
    ) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help)
        parser.add_argument("--models-dir", help="where models live (default: $TANDEM_MODELS_DIR or models/)")
        if servers:
            parser.add_argument(
                "--rasa-url",
                action="append",
                metavar="URL",
                help="a Rasa server to load it into (repeatable; default: those `tandem up` runs)",
            )
        if sentiment:
            parser.add_argument(
                "--sentiment-model", help="train with this sentiment model (default: the serving model's)"
            )
        set_handler(parser, handler)
        return parser

    listing = command("list", "the kept models, the serving one marked", _cmd_list)
    listing.add_argument("--json", action="store_true", help="as JSON")
    command("train", "train the model of the data as it is now (reused if it exists)", _cmd_train, sentiment=True)
    check = command(
        "check",
        "validate, train, run the conversation tests and the NLU regression check",
        _cmd_check,
        sentiment=True,
    )
    check.add_argument("--json", action="store_true", help="the result as JSON")
    publish = command(
        "publish",
        "check if needed, then load the model into every running Rasa",
        _cmd_publish,
        servers=True,
        sentiment=True,
    )
    publish.add_argument("model", nargs="?", help="a model's name (default: the model of the data as it is now)")
    command("rollback", "publish the model that served before", _cmd_rollback, servers=True)
