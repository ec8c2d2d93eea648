"""Request bodies that Rasa's own HTTP API handlers fail on (a 500) get a 400 that says what is wrong instead.

Rasa 3.6 reads fields of the body before it checks its shape (a body that is not an object: AttributeError), runs
its event schema recursively (JSON nested a thousand deep: RecursionError), wraps its own 400s in a `try` that
answers 500, and stores what it cannot use later: a "user" event without parse_data, an "action" event naming no
action of the domain (/predict fails on it), a lone surrogate in a text (/story cannot write it).
`validate_api_request`, a request middleware that the channels' blueprints register on Rasa's app
(`bot.channels.accept.ChannelBlueprint`), checks the bodies of the authenticated API routes (`CHECKS`, by the
name of Rasa's handler) before Rasa does. Requests without the token are left to Rasa, which refuses them;
whatever Rasa checks and answers well itself is left to it too.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Collection
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import ruamel.yaml
from rasa.shared.exceptions import SchemaValidationError
from rasa.shared.nlu.training_data.schemas.data_schema import rasa_nlu_data_schema
from rasa.shared.utils.validation import validate_training_data
from sanic import Sanic
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.settings import get_settings

if TYPE_CHECKING:
    from rasa.server import ErrorResponse

MAX_DEPTH = 32  # JSON objects and lists inside each other; Tandem's own requests use four at most

# The actions the served domain runs (None: no model is loaded, and Rasa answers 409 itself).
Actions = Collection[str] | None


class BadRequest(ValueError):
    """What is wrong with a request body, in words its sender can act on; `parameter` names the field."""

    def __init__(self, message: str, parameter: str = "") -> None:
        super().__init__(message)
        self.parameter = parameter


def _walk(body: Any) -> None:
    """Nesting and text of the whole body, without recursion (the body may be nested deeper than Python allows);
    a container that YAML aliases share is walked once."""
    pending, seen = [(body, 1)], set()
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _unicode(value)
        elif isinstance(value, dict | list) and id(value) not in seen:
            seen.add(id(value))
            if depth > MAX_DEPTH:
                raise BadRequest(f"The body is nested more than {MAX_DEPTH} levels deep.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _unicode(key)
                pending.append((item, depth + 1))


def _unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("A text in the body is not valid Unicode: it holds a lone surrogate.") from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _string(body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise BadRequest(f'"{key}" must be a string: {what}.', key)
    return value


def _number(body: dict[str, Any], key: str) -> None:
    value = body.get(key)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise BadRequest(f'"{key}" must be a number.', key)


def _action(name: Any, actions: Actions, what: str, parameter: str) -> None:
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{what}: the name of an action is missing.", parameter)
    if actions is not None and name not in actions:
        shown = name if len(name) <= 60 else name[:60] + "..."
        raise BadRequest(f'{what}: "{shown}" is no action of the domain.', parameter)


_ENTITY = 'objects, each with an "entity" and a "value"'


def _entity_list(value: Any) -> bool:
    """Entities as Rasa's NLU writes them, which is what Rasa reads from them."""
    return isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("entity"), str) and "value" in e for e in value
    )


def _parse_data(value: Any, what: str, parameter: str) -> None:
    """What the NLU made of a message: an intent with a name, and the entities (Rasa reads both)."""
    intent = value.get("intent") if isinstance(value, dict) else None
    if not isinstance(intent, dict) or not isinstance(intent.get("name"), str):
        raise BadRequest(f'{what} needs "parse_data" with an "intent" that has a "name".', parameter)
    if not _entity_list(value.get("entities", [])):
        raise BadRequest(f'The "entities" of {what} must be a list of {_ENTITY}.', parameter)


def _event(event: Any, number: int, actions: Actions) -> None:
    """Only what Rasa's event schema lets through and then fails on; the schema checks the rest."""
    what = f"Event {number}"
    if not isinstance(event, dict):
        raise BadRequest(f"{what} is not a JSON object.")
    kind = event.get("event")
    what = f'{what} ("{kind}")' if isinstance(kind, str) else what
    if kind == "user":
        if not isinstance(event.get("text"), str):
            raise BadRequest(f'{what} needs a "text" string.')
        _parse_data(event.get("parse_data"), what, "")
    elif kind == "action":
        _action(event.get("name"), actions, what, "")
    elif kind == "active_loop" and event.get("name") is not None:
        _action(event.get("name"), actions, what, "")


def _events(*, one_or_many: bool) -> Callable[[Any, Actions], None]:
    """A list of events (at least one), or, where Rasa takes it (`one_or_many`), a single event object."""

    def check(body: Any, actions: Actions) -> None:
        if one_or_many and isinstance(body, dict):
            body = [body]
        if not isinstance(body, list):
            raise BadRequest("The body must be a list of events" + (", or one event object." if one_or_many else "."))
        if one_or_many and not body:
            raise BadRequest("The body holds no event.")
        for number, event in enumerate(body, 1):
            _event(event, number, actions)

    return check


def _execute(body: Any, actions: Actions) -> None:
    body = _object(body)
    _action(body.get("name"), actions, "The action to execute", "name")
    _number(body, "confidence")
    if body.get("policy") is not None:
        _string(body, "policy", "the policy that chose the action")


def _trigger_intent(body: Any, actions: Actions) -> None:
    body = _object(body)
    _string(body, "name", "the intent to trigger")
    entities = body.get("entities")
    if entities is not None and not isinstance(entities, dict) and not _entity_list(entities):
        raise BadRequest(
            f'"entities" must be an object of entity names and values, or a list of {_ENTITY}.', "entities"
        )


def _message(body: Any, actions: Actions) -> None:
    body = _object(body)
    _string(body, "text", "what the user said")
    if body.get("sender") != "user":
        raise BadRequest('"sender" must be "user": only user messages can be added.', "sender")
    if body.get("parse_data"):  # none or empty: Rasa parses the text itself
        _parse_data(body["parse_data"], "The message", "parse_data")


def _parse(body: Any, actions: Actions) -> None:
    text = _object(body).get("text")
    # Rasa also takes a list and parses its first text (the NLU emulators' request format).
    if not isinstance(text[0] if isinstance(text, list) and text else text, str):
        raise BadRequest('"text" must be a string: the message to parse.', "text")


def _load_model(body: Any, actions: Actions) -> None:
    body = _object(body)
    if body.get("model_file") is not None:
        _string(body, "model_file", "the path of the model to serve")


def _nlu_data(body: Any, actions: Actions) -> None:
    """Rasa's own schema for NLU data in JSON, which /model/test/intents applies outside its `try`."""
    try:
        validate_training_data(body, rasa_nlu_data_schema())
    except SchemaValidationError as error:
        raise BadRequest(f"The body is not NLU data in Rasa's JSON format: {error}") from None


def _yaml_data(body: Any, actions: Actions) -> None:
    """Training or test data: Rasa's reader takes `0`, `false` or `null` for an empty mapping, which its schema
    passes and training and testing then fail on."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a YAML mapping: Rasa's training data format.")


# Rasa's handler (rasa/server.py) -> what its body must be, beyond nesting and text, which every one is checked for.
CHECKS: dict[str, Callable[[Any, Actions], None]] = {
    "append_events": _events(one_or_many=True),
    "replace_events": _events(one_or_many=False),
    "tracker_predict": _events(one_or_many=False),
    "execute_action": _execute,
    "trigger_intent": _trigger_intent,
    "add_message": _message,
    "parse": _parse,
    "load_model": _load_model,
    "evaluate_intents": _nlu_data,  # JSON; YAML as for training
    "train": _yaml_data,  # always YAML
}
# The one Content-Type for which /model/test/intents reads YAML (JSON otherwise); /model/train reads only YAML.
YAML_CONTENT_TYPE = "application/x-yaml"


def check(handler: str, body: Any, actions: Actions, *, yaml: bool = False) -> None:
    """Raises BadRequest when `body` (parsed JSON, or YAML) is one that Rasa's `handler` would fail on."""
    _walk(body)
    (_yaml_data if yaml else CHECKS[handler])(body, actions)


def _read_yaml(data: bytes) -> Any:
    """As Rasa reads training data (`rasa.shared.utils.io.read_yaml`), without turning what is empty or false
    into an empty mapping."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8 text.") from None
    try:
        if text.isascii():  # Rasa's way: escaped surrogate pairs become the characters they stand for
            text = text.encode().decode("raw_unicode_escape").encode("utf-16", "surrogatepass").decode("utf-16")
        return ruamel.yaml.YAML(typ="safe").load(text)
    except UnicodeError:
        raise BadRequest("A text in the body is not valid Unicode: it holds a lone surrogate.") from None
    except Exception as error:  # ruamel's errors have no common base; RecursionError too
        raise BadRequest(f"The body is not YAML: {str(error)[:200]}") from None


def _json(request: Request) -> Any:
    try:
        return request.json
    except InvalidUsage:
        raise BadRequest("The body is not JSON.") from None


def _authenticated(request: Request) -> bool:
    """The token Rasa's `requires_auth` checks: Tandem's, which `bot.rasa_cli` gives `rasa run` as `--auth-token`."""
    return request.args.get("token") == get_settings().rasa_api_token


def _served_actions(request: Request) -> Actions:
    agent = request.app.ctx.agent
    if agent is None or not agent.is_ready() or agent.domain is None:
        return None
    return agent.domain.action_names_or_texts


def _bad_request(message: str, parameter: str = "") -> ErrorResponse:
    # Rasa's answer to a bad request, as its own handlers raise it. Imported here: rasa.server loads all of Rasa,
    # which Rasa's process has done anyway, while the channels' modules load without it.
    from rasa.server import ErrorResponse

    return ErrorResponse(HTTPStatus.BAD_REQUEST, "BadRequest", message, {"parameter": parameter, "in": "body"})


async def validate_api_request(request: Request) -> None:
    """Request middleware: a body that Rasa's API handler would fail on is answered with a 400 (ErrorResponse)."""
    route = request.route
    prefix = f"{request.app.name}."
    if route is None or not route.name.startswith(prefix) or request.method not in ("POST", "PUT"):
        return
    handler = route.name[len(prefix) :]
    if handler not in CHECKS or not _authenticated(request):
        return
    yaml = handler == "train" or (
        handler == "evaluate_intents" and request.headers.get("Content-Type") == YAML_CONTENT_TYPE
    )
    try:
        # Training data may be large: read outside the event loop.
        body = await asyncio.to_thread(_read_yaml, request.body) if yaml else _json(request)
        check(handler, body, _served_actions(request), yaml=yaml)
    except BadRequest as problem:
        raise _bad_request(str(problem), problem.parameter) from None


def register(app: Sanic) -> None:
    """Once per app, however many channels call it (Sanic keeps one copy of a middleware)."""
    app.register_middleware(validate_api_request, "request")
