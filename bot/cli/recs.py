"""`tandem recs ...`: train and refresh the personalization models, import behaviour, compare strategies."""

from __future__ import annotations

import argparse
from datetime import timedelta

from bot.cli.common import EXIT_BAD_INPUT, CliError, add_database_url, database_url, models_dir, set_handler


def _cmd_train(args: argparse.Namespace) -> int:
    from bot.db.session import session_scope
    from bot.personalization.jobs.recommender_training import train

    with session_scope(database_url(args)) as session:
        bundle = train(session, models_dir(args), history_days=args.history_days, progress=not args.no_progress)
    m = bundle.metrics
    print(
        f"personalization model {bundle.version}: {m['customers']} consenting customers, {m['items']} products, "
        f"{m['events']} events; fitted in {m['total_seconds']} s. Running action servers pick it up by themselves."
    )
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from bot.db.session import session_scope
    from bot.personalization.importer import ImportFileError, import_consents, import_events

    importer = import_consents if args.consents else import_events
    rejected = 0
    for path in args.files:
        try:
            with session_scope(database_url(args)) as session:
                report = importer(session, path, format=args.format, source=args.source, progress=not args.no_progress)
        except ImportFileError as exc:
            raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
        print(report)
        rejected += report.rejected_count
        if args.rejects and report.rejected:
            written = report.write_rejects(args.rejects)
            print(f"{written} rejected rows written to {args.rejects}: fix them there and import that file")
    return 1 if rejected else 0


def _cmd_segments(args: argparse.Namespace) -> int:
    from bot.db.session import session_scope
    from bot.personalization.jobs.next_best_action import NextBestActionRules
    from bot.personalization.jobs.segment_refresh import refresh_segments

    churn_path = models_dir(args) / "personalization-churn.joblib"
    churn_path.parent.mkdir(parents=True, exist_ok=True)
    rules = NextBestActionRules.from_env()
    with session_scope(database_url(args)) as session:
        summary = refresh_segments(
            session, progress=not args.no_progress, k=args.clusters, model_path=churn_path, rules=rules
        )
    print(summary)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from bot.db.models import utcnow
    from bot.db.session import session_scope
    from bot.personalization.config import PersonalizationConfig
    from bot.personalization.strategy_report import format_report, strategy_report

    until = utcnow()
    config = PersonalizationConfig.from_env()
    with session_scope(database_url(args)) as session:
        rows = strategy_report(
            session, since=until - timedelta(days=args.days), until=until, conversion_days=config.conversion_days
        )
    print(f"Recommendations of the last {args.days} days (conversion: bought within {config.conversion_days:g} days)")
    print(format_report(rows))
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    from bot.db.session import session_scope
    from bot.personalization.engine import PersonalizationEngine
    from bot.personalization.model_store import ModelCache

    engine = PersonalizationEngine(ModelCache(models_dir(args)))
    with session_scope(database_url(args)) as session:
        result = engine.recommend(
            session, args.customer, category=args.category, n=args.n, solicited=True, channel="cli"
        )
        if not args.log_impressions:
            session.rollback()
    if result.withheld:
        print(f"nothing suggested: {result.withheld}")
        return 1
    print(f"strategy: {result.strategy} (personalized: {result.personalized})")
    for item in result.items:
        print(f"  {item.sku:<12} {item.name:<48} £{item.price:>8.2f}  {item.reason}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    recs = subparsers.add_parser("recs", help="personalization: train, import behaviour, segments, reports")
    sub = recs.add_subparsers(dest="recs_command", metavar="COMMAND", required=True)

    train = sub.add_parser("train", help="fit the recommenders on the database and publish them (live reload)")
    add_database_url(train)
    train.add_argument("--models-dir", help="where models live (default: $TANDEM_MODELS_DIR or models/)")
    train.add_argument("--history-days", type=float, default=365.0, help="behaviour window (default: 365)")
    train.add_argument("--no-progress", action="store_true")
    set_handler(train, _cmd_train)

    imp = sub.add_parser("import", help="import behaviour events (or consent answers) from CSV, JSON or JSON Lines")
    add_database_url(imp)
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--consents", action="store_true", help="the files hold consent answers, not events")
    imp.add_argument("--format", choices=("csv", "json", "jsonl"), help="override the format the extension says")
    imp.add_argument("--source", help="source name for duplicate detection (default: import:<file name>)")
    imp.add_argument("--rejects", metavar="PATH", help="write rejected rows to this CSV, ready to fix and re-import")
    imp.add_argument("--no-progress", action="store_true")
    set_handler(imp, _cmd_import)

    segments = sub.add_parser("segments", help="refresh RFM scores, behaviour clusters, churn risk, next-best-action")
    add_database_url(segments)
    segments.add_argument("--models-dir", help="where the churn model is saved")
    segments.add_argument("--clusters", type=int, default=6)
    segments.add_argument("--no-progress", action="store_true")
    set_handler(segments, _cmd_segments)

    report = sub.add_parser("report", help="CTR and conversion per recommendation strategy")
    add_database_url(report)
    report.add_argument("--days", type=int, default=30, help="impressions of the last N days (default: 30)")
    set_handler(report, _cmd_report)

    recommend = sub.add_parser("recommend", help="show what a customer would be recommended, with reasons")
    add_database_url(recommend)
    recommend.add_argument("customer", help="customer external id, e.g. CUST-00042")
    recommend.add_argument("--category")
    recommend.add_argument("-n", type=int, default=5)
    recommend.add_argument("--models-dir")
    recommend.add_argument("--log-impressions", action="store_true", help="store the impressions (default: dry run)")
    set_handler(recommend, _cmd_recommend)
