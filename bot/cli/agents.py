"""`tandem agents ...`: who may sign in to the agent console.

    tandem agents create USERNAME --name "Alice Smith" --role agent --queues billing,delivery [--password-stdin]
    tandem agents create USERNAME --name "Cara Lee" --role cx     (the insights dashboard only)
    tandem agents list
    tandem agents set-password USERNAME [--password-stdin]
    tandem agents deactivate USERNAME
    tandem agents activate USERNAME

Passwords are read from the terminal (twice) or, for scripts, from one line of standard input.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.cli.common import CliError, add_database_url, database_url, set_handler


def _password(args: argparse.Namespace) -> str:
    from bot.console.passwords import check_policy

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise CliError("the passwords do not match")
    check_policy(password)
    return password


def _known_queues() -> tuple[str, ...]:
    from bot.handoff.routing import default_rules

    return default_rules().queue_keys


def _cmd_create(args: argparse.Namespace) -> int:
    from bot.console.agents import AgentError, check_queues, check_username, create_agent
    from bot.console.passwords import PasswordPolicyError
    from bot.db.session import session_scope
    from bot.handoff.routing import HandoffConfigError

    try:
        known = _known_queues()
        username = check_username(args.username)
        queues = check_queues((args.queues or "").split(","), known)  # before asking for a password
        password = _password(args)
        with session_scope(database_url(args)) as session:
            agent = create_agent(
                session, username, args.name, password, role=args.role, queues=queues, known_queues=known
            )
    except (AgentError, PasswordPolicyError, HandoffConfigError) as exc:
        raise CliError(str(exc)) from exc
    scope = "every queue" if agent.is_admin else ", ".join(agent.queues) if agent.works_queues else "the insights"
    print(f"Created {agent.role} {agent.username} ({agent.display_name}): {scope}.")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from bot.console.agents import list_agents
    from bot.db.session import session_scope

    with session_scope(database_url(args)) as session:
        agents = list_agents(session)
    if not agents:
        print("No agents yet. Create one with `tandem agents create USERNAME --name ... --queues ...`.")
        return 0
    rows = [("USERNAME", "NAME", "ROLE", "QUEUES", "ACTIVE", "LAST SEEN")]
    for a in agents:
        rows.append(
            (
                a.username,
                a.display_name,
                a.role,
                "(all)" if a.is_admin else ",".join(a.queues) or "-",
                "yes" if a.active else "no",
                a.last_seen_at.strftime("%Y-%m-%d %H:%M") if a.last_seen_at else "never",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    return 0


def _cmd_set_password(args: argparse.Namespace) -> int:
    from bot.console.agents import AgentError, get_agent, set_password
    from bot.console.passwords import PasswordPolicyError
    from bot.db.session import session_scope

    url = database_url(args)
    try:
        with session_scope(url) as session:
            if get_agent(session, args.username) is None:
                raise AgentError(f"no agent {args.username.strip().lower()!r}")
        password = _password(args)
        with session_scope(url) as session:
            agent = set_password(session, args.username, password)
    except (AgentError, PasswordPolicyError) as exc:
        raise CliError(str(exc)) from exc
    print(f"New password set for {agent.username}; their open sessions were signed out.")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> int:
    from bot.console.agents import AgentError, activate, deactivate
    from bot.db.session import session_scope

    try:
        with session_scope(database_url(args)) as session:
            agent = (activate if active else deactivate)(session, args.username)
    except AgentError as exc:
        raise CliError(str(exc)) from exc
    if active:
        print(f"Activated {agent.username}: they can sign in again.")
    else:
        print(f"Deactivated {agent.username}: they can no longer sign in, and their sessions have ended.")
    return 0


def _cmd_deactivate(args: argparse.Namespace) -> int:
    return _set_active(args, False)


def _cmd_activate(args: argparse.Namespace) -> int:
    return _set_active(args, True)


def register(subparsers: argparse._SubParsersAction) -> None:
    agents = subparsers.add_parser("agents", help="agent console accounts: create, list, set a password, (de)activate")
    sub = agents.add_subparsers(dest="agents_command", metavar="COMMAND", required=True)

    create = sub.add_parser("create", help="add an agent or admin")
    create.add_argument("username", help="the sign-in name (letters, digits, . _ - @)")
    create.add_argument("--name", required=True, help='the name customers see, e.g. "Alice Smith"')
    create.add_argument(
        "--role",
        choices=("agent", "admin", "cx"),
        default="agent",
        help="admins see every queue and the insights; cx (the customer-experience team) sees only the insights",
    )
    create.add_argument(
        "--queues", default="", help="comma-separated queue keys of config/handoff.yml, e.g. billing,delivery"
    )
    create.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add_database_url(create)
    set_handler(create, _cmd_create)

    listing = sub.add_parser("list", help="list the agents")
    add_database_url(listing)
    set_handler(listing, _cmd_list)

    password = sub.add_parser("set-password", help="set a new password (signs the agent out everywhere)")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add_database_url(password)
    set_handler(password, _cmd_set_password)

    off = sub.add_parser("deactivate", help="stop an agent from signing in and end their sessions")
    off.add_argument("username")
    add_database_url(off)
    set_handler(off, _cmd_deactivate)

    on = sub.add_parser("activate", help="let a deactivated agent sign in again")
    on.add_argument("username")
    add_database_url(on)
    set_handler(on, _cmd_activate)
