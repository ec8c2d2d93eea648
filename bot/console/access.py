"""Which handoffs an agent may see and act on: those of their queues (admins: all). Checked on every
endpoint; the live feed applies the same rule (`AgentView.can_see`) to every push."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.console.agents import AgentView
from bot.console.responses import ApiError
from bot.handoff import store
from bot.handoff.store import HandoffView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def visible_handoff(session: Session, handoff_id: int, agent: AgentView) -> HandoffView:
    """The handoff, if the agent may see it: 404 when there is none, 403 when it is another queue's."""
    view = store.get(session, handoff_id)
    if view is None:
        raise ApiError(404, "There is no such conversation.")
    if not agent.can_see(view.queue):
        raise ApiError(403, "This conversation is in a queue you do not work.")
    return view
