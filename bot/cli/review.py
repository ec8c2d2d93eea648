"""`tandem review ...`: the NLU inbox in the terminal (issue 18; the console's pages call the same services).

    tandem review inbox [--reason R ...] [--since DATE] [--until DATE] [--intent X] [--page N]
    tandem review annotate ID --intent X [--new-intent-file TOPIC] [--domain-file TOPIC] [--entity S:E:NAME ...]
    tandem review annotate ID --discard

`inbox` first brings the inbox's table up to date with the analytics tables (bot.review.messages: new messages
redacted, purged ones dropped), then
lists a page: each distinct message (personal data replaced) with its count, reasons, the NLU's intent and the id to
annotate it by, grouped by meaning. `annotate` records the decision (audited, `--by` or your login name) and writes
an accepted example into data/nlu/ (a new intent into domain/ too), printing the diff. Exit codes as every
command's: 1 for a refused annotation (annotated already, a duplicate example, an unknown intent), 2 for bad input.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_BAD_INPUT, CliError, add_database_url, database_url, iso_date, redact, set_handler
from bot.review.config import REASONS

if TYPE_CHECKING:
    from bot.review.examples import EntitySpan


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return args.by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError) as exc:
        raise CliError("say who annotates: --by NAME", code=EXIT_BAD_INPUT) from exc


def _moment(day: date | None) -> datetime | None:
    return datetime.combine(day, datetime.min.time()) if day else None


def _cmd_inbox(args: argparse.Namespace) -> int:
    from bot.db.session import DatabaseUnavailable, unit_of_work
    from bot.review.inbox import InboxError, InboxFilter, inbox_page, reason_counts
    from bot.review.messages import refresh

    try:
        f = InboxFilter(tuple(args.reason or ()), _moment(args.since), _moment(args.until), args.intent)
        with unit_of_work(database_url(args)) as session:
            refresh(session)
        with unit_of_work(database_url(args)) as session:
            page = inbox_page(session, f, page=args.page, page_size=args.page_size, group=not args.no_groups)
            counts = reason_counts(session, f)
    except InboxError as exc:
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    except DatabaseUnavailable as exc:
        raise CliError(f"cannot read the inbox ({redact(database_url(args))}): {exc}") from exc
    reasons = ", ".join(f"{r} {n:,}" for r, n in counts.items())
    print(f"{page.messages:,} messages, {page.distinct:,} distinct (page {page.page} of {page.pages}); {reasons}")
    if page.note:
        print(page.note)
    for number, group in enumerate(page.groups, start=1):
        if len(group.items) > 1:
            print(f"group {number}: {group.count:,} messages")
        for item in group.items:
            nlu = f"{item.intent or '-'} {item.confidence:.2f}" if item.confidence is not None else item.intent or "-"
            print(f"  #{item.message_id}  x{item.count}  {','.join(item.reasons)}  {nlu}  {item.text}")
    return 0


def _entity(text: str) -> EntitySpan:
    from bot.review.examples import EntitySpan

    try:
        start, end, name = text.split(":", 2)
        return EntitySpan(int(start), int(end), name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not START:END:ENTITY (offsets in the shown text): {text!r}") from exc


def _cmd_annotate(args: argparse.Namespace) -> int:
    from bot.db.session import DatabaseUnavailable, unit_of_work
    from bot.review.annotations import AnnotationError
    from bot.review.audit import AuditError
    from bot.review.messages import refresh
    from bot.review.nlu_files import NluFileError
    from bot.review.service import TrainingData, annotate_message

    data = TrainingData(
        **({"nlu_dir": Path(args.nlu_dir)} if args.nlu_dir else {}),
        **({"domain_dir": Path(args.domain_dir)} if args.domain_dir else {}),
    )
    try:
        with unit_of_work(database_url(args)) as session:
            refresh(session)
        with unit_of_work(database_url(args)) as session:
            done = annotate_message(
                session,
                args.id,
                by=_who(args),
                intent=args.intent,
                discard=args.discard,
                entities=tuple(args.entity) if args.entity else None,
                nlu_file=args.new_intent_file,
                domain_file=args.domain_file,
                data=data,
            )
    except (AnnotationError, NluFileError, AuditError) as exc:
        raise CliError(str(exc)) from exc
    except DatabaseUnavailable as exc:
        raise CliError(f"nothing was recorded ({redact(database_url(args))}): {exc}") from exc
    view = done.annotation
    if not view.accepted:
        print(f"annotation {view.id}: discarded {view.text!r}")
        return 0
    print(f"annotation {view.id}: {view.action} as {view.intent}, written to {view.nlu_file}")
    for edit in done.edits:
        print(edit.diff(), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("review", help="the NLU inbox: messages the bot was unsure about, annotate them")
    commands = parser.add_subparsers(dest="review_command", metavar="SUBCOMMAND", required=True)

    inbox = commands.add_parser("inbox", help="a page of the NLU inbox, the most frequent messages first")
    inbox.add_argument("--reason", action="append", choices=REASONS, help="only these reasons (repeatable)")
    inbox.add_argument("--since", type=iso_date, metavar="DATE", help="written on or after this day (UTC)")
    inbox.add_argument("--until", type=iso_date, metavar="DATE", help="written before this day (UTC)")
    inbox.add_argument("--intent", help="only messages the NLU gave this intent")
    inbox.add_argument("--page", type=int, default=1, help="page number (default 1)")
    inbox.add_argument("--page-size", type=int, help="messages per page (default: config/review.yml)")
    inbox.add_argument("--no-groups", action="store_true", help="do not group by meaning (no sentence encoder)")
    add_database_url(inbox)
    set_handler(inbox, _cmd_inbox)

    annotate = commands.add_parser("annotate", help="accept an inbox message as an example of an intent, or discard it")
    annotate.add_argument("id", type=int, metavar="ID", help="the message's id, as the inbox shows it (#ID)")
    decision = annotate.add_mutually_exclusive_group(required=True)
    decision.add_argument("--intent", help="the right intent (the NLU's own: a confirmation)")
    decision.add_argument("--discard", action="store_true", help="not worth an example")
    annotate.add_argument(
        "--new-intent-file",
        metavar="TOPIC",
        help="for an intent the domain lacks: the data/nlu topic file it goes into",
    )
    annotate.add_argument(
        "--domain-file", metavar="TOPIC", help="the domain topic for a new intent (default: same name)"
    )
    annotate.add_argument(
        "--entity", action="append", type=_entity, metavar="START:END:ENTITY", help="mark an entity (repeatable)"
    )
    annotate.add_argument("--by", help="who annotates, for the audit (default: your user name)")
    annotate.add_argument("--nlu-dir", help="the training data folder (default: data/nlu)")
    annotate.add_argument("--domain-dir", help="the domain folder (default: domain)")
    add_database_url(annotate)
    set_handler(annotate, _cmd_annotate)

    from bot.cli import review_conversations

    review_conversations.register(commands)
