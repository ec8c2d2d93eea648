"""Console agents and their signed-in sessions, in SQL (tables `agents` and `agent_sessions`).

Like `bot.handoff.store`, every function works in the caller's session and does not commit. A session token
is only ever stored as its SHA-256, so a copy of the database signs nobody in; deactivating an agent or
changing their password ends their sessions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.console.passwords import DUMMY_HASH, check_policy, hash_password, verify_password
from bot.db.models import AGENT_ROLES, Agent, AgentSession, utcnow

SESSION_TTL = timedelta(hours=12)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MAX_NAME_CHARS = 100


class AgentError(ValueError):
    """A refused agent change (duplicate or unknown username, bad role or queue); safe to show."""


@dataclass(frozen=True)
class AgentView:
    id: int
    username: str
    display_name: str
    role: str
    queues: tuple[str, ...]
    active: bool
    created_at: datetime
    last_seen_at: datetime | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def works_queues(self) -> bool:
        """Agents and admins take conversations; the CX team (`cx`) reads the insights and takes none."""
        return self.role in ("agent", "admin")

    @property
    def sees_insights(self) -> bool:
        return self.role in ("admin", "cx")

    @property
    def home(self) -> str:
        """Where the console opens for them: the queue, or the insights for the CX team."""
        return "/" if self.works_queues else "/insights"

    def can_see(self, queue: str) -> bool:
        """Agents work their queues; admins work every queue."""
        return self.is_admin or queue in self.queues

    @property
    def queue_filter(self) -> list[str] | None:
        """The `queues` argument of `store.open_queue`: None (all) for admins."""
        return None if self.is_admin else list(self.queues)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "queues": list(self.queues),
        }


@dataclass(frozen=True)
class SignedIn:
    """A valid console session: who, and the CSRF token their pages must send back."""

    agent: AgentView
    csrf_token: str
    expires_at: datetime


def _view(a: Agent) -> AgentView:
    return AgentView(
        id=a.id,
        username=a.username,
        display_name=a.display_name,
        role=a.role,
        queues=tuple(a.queues or ()),
        active=bool(a.active),
        created_at=a.created_at,
        last_seen_at=a.last_seen_at,
    )


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise AgentError(
            "a username has 2 to 64 characters: letters, digits, '.', '_', '-' or '@', starting with a letter or digit"
        )
    return name


def check_queues(queues: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    """The queue keys, each one of `known` (config/handoff.yml), without duplicates."""
    result: list[str] = []
    for queue in queues:
        queue = queue.strip()
        if not queue:
            continue
        if queue not in known:
            raise AgentError(f"unknown queue {queue!r}; the queues in config/handoff.yml are: {', '.join(known)}")
        if queue not in result:
            result.append(queue)
    return tuple(result)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _load(session: Session, username: str) -> Agent:
    agent = session.execute(select(Agent).where(Agent.username == normalize_username(username))).scalar_one_or_none()
    if agent is None:
        raise AgentError(f"no agent {normalize_username(username)!r}")
    return agent


# --- managing agents (tandem agents ...) --------------------------------------------------------------------------


def create_agent(
    session: Session,
    username: str,
    display_name: str,
    password: str,
    *,
    role: str = "agent",
    queues: Sequence[str] = (),
    known_queues: Sequence[str],
    now: datetime | None = None,
) -> AgentView:
    name = check_username(username)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > MAX_NAME_CHARS:
        raise AgentError(f"a display name has 1 to {MAX_NAME_CHARS} characters")
    if role not in AGENT_ROLES:
        raise AgentError(f"a role is one of {', '.join(AGENT_ROLES)}, not {role!r}")
    keys = check_queues(queues, known_queues)
    if role == "agent" and not keys:
        raise AgentError("an agent needs at least one queue (--queues billing,delivery); admins see every queue")
    if role == "cx" and keys:
        raise AgentError("a cx user reads the insights and works no queue; leave out --queues")
    check_policy(password)
    if session.execute(select(Agent.id).where(Agent.username == name)).first() is not None:
        raise AgentError(f"there is already an agent {name!r}")
    agent = Agent(
        username=name,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        queues=list(keys),
        active=True,
        created_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(agent)
            session.flush()
    except IntegrityError as exc:
        raise AgentError(f"there is already an agent {name!r}") from exc
    return _view(agent)


def list_agents(session: Session) -> list[AgentView]:
    return [_view(a) for a in session.execute(select(Agent).order_by(Agent.username)).scalars()]


def get_agent(session: Session, username: str) -> AgentView | None:
    agent = session.execute(select(Agent).where(Agent.username == normalize_username(username))).scalar_one_or_none()
    return _view(agent) if agent else None


def set_password(session: Session, username: str, password: str) -> AgentView:
    """A new password; every session of the agent ends."""
    agent = _load(session, username)
    agent.password_hash = hash_password(password)
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
    session.flush()
    return _view(agent)


def deactivate(session: Session, username: str) -> AgentView:
    """The agent can no longer sign in, and their open sessions stop working at once."""
    agent = _load(session, username)
    agent.active = False
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
    session.flush()
    return _view(agent)


def activate(session: Session, username: str) -> AgentView:
    """A deactivated agent may sign in again (with the password they had; `set-password` to change it)."""
    agent = _load(session, username)
    agent.active = True
    session.flush()
    return _view(agent)


# --- signing in ---------------------------------------------------------------------------------------------------


def authenticate(session: Session, username: str, password: str) -> AgentView | None:
    """The active agent with this username and password, else None (the same time is spent either way)."""
    agent = session.execute(select(Agent).where(Agent.username == normalize_username(username))).scalar_one_or_none()
    encoded = agent.password_hash if agent is not None else DUMMY_HASH
    matches = verify_password(password or "", encoded)
    if agent is None or not matches or not agent.active:
        return None
    return _view(agent)


def start_session(session: Session, agent_id: int, *, now: datetime | None = None) -> tuple[str, str]:
    """A new session for the agent: returns (cookie token, CSRF token). Expired sessions are swept here."""
    now = now or utcnow()
    session.execute(delete(AgentSession).where(AgentSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        AgentSession(
            token_hash=_token_hash(token),
            agent_id=agent_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
    )
    session.flush()
    return token, csrf


def signed_in(session: Session, token: str | None, *, now: datetime | None = None) -> SignedIn | None:
    """The session of a cookie token, if it is valid: not expired, and its agent still active."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.execute(
        select(AgentSession, Agent)
        .join(Agent, Agent.id == AgentSession.agent_id)
        .where(AgentSession.token_hash == _token_hash(token), AgentSession.expires_at > now, Agent.active.is_(True))
    ).first()
    if row is None:
        return None
    agent_session, agent = row
    return SignedIn(_view(agent), agent_session.csrf_token, agent_session.expires_at)


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == _token_hash(token)))
