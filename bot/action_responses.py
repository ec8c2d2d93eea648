"""The domain responses that actions send by name, never a story or rule: declared in one place so that Rasa's
data validation does not call them unused and a test can check that the domain has every one."""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain_files import load_domain
from bot.settings import PROJECT_ROOT

# Responses whose names actions build from data (f"utter_order_{status}"): one per value the data can take.
ACTION_RESPONSE_FAMILIES: dict[str, tuple[str, ...]] = {
    "utter_order_{}": ("placed", "processing", "shipped", "out_for_delivery", "delivered", "cancelled", "returned"),
    "utter_cannot_cancel_{}": (
        "shipped",
        "out_for_delivery",
        "delivered",
        "already_cancelled",
        "returned",
        "not_found",
    ),
    "utter_no_orders_{}": (
        "order_for_status",
        "order_for_delivery",
        "order_for_cancel",
        "order_for_address",
        "order_for_change",
    ),
    "utter_cannot_change_address_{}": ("shipped", "delivered", "closed"),
    "utter_cannot_change_order_{}": ("shipped", "delivered", "closed"),
}
RASA_DEFAULT_ACTION_RESPONSES = frozenset({"utter_default"})  # sent by Rasa's action_default_fallback
_NAMED_IN_ACTIONS = re.compile(r'["\'](utter_[a-z_]+)["\']')  # response="utter_x", or a table of them


def sent_by_actions(root: Path = PROJECT_ROOT) -> frozenset[str]:
    """Every response an action may send: named in actions/, built from data, said by a workflow, or a
    form's question (`utter_ask_<slot>`, unless an `action_ask_<slot>` asks instead)."""
    from bot.journeys.workflows import responses_used

    used = set(RASA_DEFAULT_ACTION_RESPONSES)
    for path in (root / "actions").glob("*.py"):
        used |= set(_NAMED_IN_ACTIONS.findall(path.read_text()))
    for family, values in ACTION_RESPONSE_FAMILIES.items():
        used |= {family.format(value) for value in values}
    used |= responses_used()
    domain = load_domain(root / "domain")
    asking_actions = set(domain.get("actions") or [])  # a form asks with action_ask_<slot> where there is one
    used |= {
        f"utter_ask_{slot}"
        for form in (domain.get("forms") or {}).values()
        for slot in form["required_slots"]
        if f"action_ask_{slot}" not in asking_actions
    }
    return frozenset(used)


def unused_response_warning(name: str) -> str:
    """Rasa's validator's words for a response that no story or rule uses (rasa/validator.py)."""
    return f"The utterance '{name}' is not used in any story or rule."
