"""`tandem sentiment build|predict`: fine-tune the sentiment model, or try it on a few texts."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_BAD_INPUT, CliError, models_dir, set_handler


def _cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.sentiment.data import SentimentDataMissing
    from bot.sentiment.training import RECIPES, ensure_model

    on_step = None
    if args.progress_file:
        from bot.sentiment.progress import ProgressFile

        on_step = ProgressFile(Path(args.progress_file)).write
    try:
        path = ensure_model(models_dir(args), RECIPES[args.recipe], on_step=on_step)
    except SentimentDataMissing as exc:
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    print(f"sentiment model '{args.recipe}': {path}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import json

    from bot.sentiment.defaults import default_model_path
    from bot.sentiment.model import SentimentModelError, load_sentiment_model

    try:
        model = load_sentiment_model(args.model or default_model_path())
    except SentimentModelError as exc:
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    for text in args.text:
        print(json.dumps({"text": text, **model.predict(text).as_dict()}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from bot.sentiment.training import RECIPES  # numpy, but no PyTorch: the recipes are in --help

    sentiment = subparsers.add_parser("sentiment", help="build or try the sentiment model")
    sub = sentiment.add_subparsers(dest="sentiment_command", metavar="COMMAND", required=True)
    build = sub.add_parser("build", help="fine-tune the default sentiment model (cached; minutes on a CPU)")
    build.add_argument("--recipe", choices=sorted(RECIPES), default="default")
    build.add_argument("--models-dir", help="where models live (default: $TANDEM_MODELS_DIR or models/)")
    build.add_argument("--progress-file", help="keep the steps done and in all in this JSON file while training")
    set_handler(build, _cmd_build)
    predict = sub.add_parser("predict", help="print the sentiment of each TEXT")
    predict.add_argument("text", nargs="+")
    predict.add_argument("--model", help="model folder or hub id (default: the built default model)")
    set_handler(predict, _cmd_predict)
