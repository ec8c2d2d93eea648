"""`tandem review conversations|save-test`: the conversation review in the terminal (the console's
/review/conversations calls the same services, bot.review.conversations and bot.review.saved_tests).

    tandem review conversations [--since DATE] [--until DATE] [--channel C] [--intent X] [--fallback yes|no]
        [--handoff yes|no] [--sentiment-below S] [--csat-min N] [--csat-max N] [--outcome O] [--tag T ...]
        [--reviewed yes|no] [--page N] [--page-size N]
    tandem review save-test ID [--correct LINE:INTENT ...] [--name NAME] [--file PATH] [--by NAME]

`conversations` lists a page, newest first: id, start, channel, the first message (personal data replaced), signals,
intents, journeys, tags. `save-test` appends the conversation as a Rasa test story (redacted, its intents corrected
where `--correct` says: LINE as the console's transcript numbers it) to config/review.yml's test file, checked by
Rasa's story reader first, audited (`--by` or your login name), and prints the diff. Exit codes: 1 for a refused
story, 2 for bad input.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.cli.common import EXIT_BAD_INPUT, CliError, add_database_url, database_url, iso_date, redact, set_handler

YES_NO = {"yes": True, "no": False}


def _moment(day: date | None, *, after: bool = False) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1) if after else day, datetime.min.time())


def _cmd_conversations(args: argparse.Namespace) -> int:
    from bot.db.session import DatabaseUnavailable, unit_of_work
    from bot.review.conversations import ConversationError, ConversationFilter, search

    try:
        f = ConversationFilter(
            since=_moment(args.since),
            until=_moment(args.until, after=True),
            channel=args.channel,
            intent=args.intent,
            fallback=YES_NO.get(args.fallback or ""),
            handoff=YES_NO.get(args.handoff or ""),
            sentiment_below=args.sentiment_below,
            csat_min=args.csat_min,
            csat_max=args.csat_max,
            outcome=args.outcome,
            tags=tuple(t.lower() for t in args.tag or ()),
            reviewed=YES_NO.get(args.reviewed or ""),
        )
        with unit_of_work(database_url(args)) as session:
            page = search(session, f, page=args.page, page_size=args.page_size)
    except ConversationError as exc:
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    except DatabaseUnavailable as exc:
        raise CliError(f"cannot read the conversations ({redact(database_url(args))}): {exc}") from exc
    print(f"{page.total:,} conversations (page {page.page} of {page.pages})")
    for c in page.items:
        signals = [f"{c.fallbacks} fallback(s)"] if c.fallbacks else []
        signals += ["handoff"] if c.handed_off else []
        signals += [f"mood {c.sentiment_min:+.2f}"] if c.sentiment_min is not None else []
        signals += [f"CSAT {c.csat}"] if c.csat is not None else []
        signals += [f"reviewed by {c.reviewed_by}"] if c.reviewed else []
        print(f"#{c.id}  {c.started_at:%Y-%m-%d %H:%M}  {c.channel or '-'}  {c.first_message or '-'}")
        details = [", ".join(signals), ", ".join(c.intents), "; ".join(c.journeys), " ".join(f"[{t}]" for t in c.tags)]
        print("      " + "  |  ".join(d for d in details if d))
    return 0


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by).strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError) as exc:
        raise CliError("say who saves it: --by NAME", code=EXIT_BAD_INPUT) from exc


def _correction(text: str) -> tuple[int, str]:
    line, _, intent = text.partition(":")
    if not line.isdigit() or not intent.strip():
        raise argparse.ArgumentTypeError(f"not LINE:INTENT (a transcript line number and an intent): {text!r}")
    return int(line), intent.strip()


def _cmd_save_test(args: argparse.Namespace) -> int:
    from bot.db.session import DatabaseUnavailable, unit_of_work
    from bot.review.audit import AuditError
    from bot.review.conversations import ConversationError
    from bot.review.nlu_files import NluFileError
    from bot.review.saved_tests import StoryFile, save_test
    from bot.settings import get_settings

    file = StoryFile(Path(args.file).resolve()) if args.file else StoryFile.default()
    try:
        with unit_of_work(database_url(args)) as session:
            saved = save_test(
                session,
                args.id,
                by=_who(args),
                tracker_url=args.tracker_url or get_settings().tracker_db_url,
                file=file,
                corrections=dict(args.correct or ()),
                name=args.name,
            )
    except (ConversationError, NluFileError, AuditError) as exc:
        raise CliError(str(exc)) from exc
    except DatabaseUnavailable as exc:
        raise CliError(f"nothing was saved ({redact(database_url(args))}): {exc}") from exc
    print(f"saved the test story {saved.story!r} in {saved.file}; ./tandem test runs it")
    print(saved.diff(), end="")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add `conversations` and `save-test` to `tandem review`'s subcommands."""
    found = commands.add_parser("conversations", help="find conversations to review (newest first)")
    found.add_argument("--since", type=iso_date, metavar="DATE", help="started on or after this day (UTC)")
    found.add_argument("--until", type=iso_date, metavar="DATE", help="started on or before this day (UTC)")
    found.add_argument("--channel", help="only this channel (socketio, rest, ...)")
    found.add_argument("--intent", help="with a message the NLU gave this intent")
    found.add_argument("--fallback", choices=tuple(YES_NO), help="had a fallback (yes) or none (no)")
    found.add_argument("--handoff", choices=tuple(YES_NO), help="handed to a person (yes) or not (no)")
    found.add_argument("--sentiment-below", type=float, metavar="S", help="the customer's lowest mood below S (-1..1)")
    found.add_argument("--csat-min", type=int, metavar="N", help="a journey's CSAT at least N (1-5)")
    found.add_argument("--csat-max", type=int, metavar="N", help="a journey's CSAT at most N (1-5)")
    found.add_argument("--outcome", help="went through a journey with this outcome or state")
    found.add_argument("--tag", action="append", help="tagged with this (repeatable: all of them)")
    found.add_argument("--reviewed", choices=tuple(YES_NO), help="marked reviewed (yes) or not (no)")
    found.add_argument("--page", type=int, default=1, help="page number (default 1)")
    found.add_argument("--page-size", type=int, help="conversations per page (default: config/review.yml)")
    add_database_url(found)
    set_handler(found, _cmd_conversations)

    save = commands.add_parser("save-test", help="append a conversation as a Rasa test story (tests/conversations/)")
    save.add_argument("id", type=int, metavar="ID", help="the conversation's id, as `review conversations` shows it")
    save.add_argument(
        "--correct", action="append", type=_correction, metavar="LINE:INTENT", help="another intent for a message"
    )
    save.add_argument("--name", help="the story's name (default: reviewed conversation ID)")
    save.add_argument("--file", help="the test file (default: config/review.yml's conversations.test_file)")
    save.add_argument("--tracker-url", help="Rasa's tracker store (default: the configured one)")
    save.add_argument("--by", help="who saves it, for the audit (default: your user name)")
    add_database_url(save)
    set_handler(save, _cmd_save_test)
