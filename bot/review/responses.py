"""The domain's responses as the console's editor shows them (each with its variations: text, buttons, the slot
condition that picks it, such as `sentiment: negative`, and its channel), and the text edit that changes, adds or
removes one variation in its `domain/<topic>.yml`, exactly at its lines (bot.review.yaml_spans).

A condition here is what the domain uses for its empathetic variants: one slot of the domain that has a list of
values (`categorical`) equal to one of them. A variation with any other condition keeps it untouched.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, SequenceNode

from bot.domain_files import domain_files, load_domain
from bot.review import yaml_spans
from bot.review.response_checks import placeholders
from bot.review.yaml_spans import SpanError
from bot.settings import PROJECT_ROOT

MAX_TEXT = 2000  # what one message of the bot may say
CONDITIONS_FILE = PROJECT_ROOT / "config" / "response_conditions.yml"


class ResponseError(SpanError):
    """A response that cannot be changed as asked (no such variation or condition); safe to show."""


class NoSuchResponse(ResponseError):
    """No response of the domain has the name (404)."""


@dataclass(frozen=True)
class Condition:
    slot: str
    value: str

    @property
    def label(self) -> str:
        return f"{self.slot} = {self.value}"


@dataclass(frozen=True)
class Variation:
    index: int
    text: str | None
    condition: tuple[Condition, ...]  # all of them must hold (Rasa's rule)
    condition_editable: bool  # none, or one slot condition of the allowed kind
    channel: str | None
    buttons: tuple[str, ...]  # their titles
    other: tuple[str, ...]  # keys the editor does not change (image, custom, ...)
    line: int  # 1-based, where it starts in its file


@dataclass(frozen=True)
class Response:
    name: str
    file: str  # relative to the project: what git shows
    version: str  # of the file's content, sent back with an edit
    line: int
    variations: tuple[Variation, ...]

    def placeholders(self) -> set[str]:
        """What the response is given to fill in (by an action or a workflow): its variations' placeholders."""
        return {name for v in self.variations for name in placeholders(v.text or "")}


@dataclass(frozen=True)
class VariationEdit:
    """`change` variation `index` (its text; its condition too when `set_condition`), `add` one, or `remove` one."""

    op: str
    index: int | None = None
    text: str | None = None
    set_condition: bool = False
    condition: Condition | None = None


OPS = ("change", "add", "remove")


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def allowed_conditions(domain_dir: Path, config: Path = CONDITIONS_FILE) -> tuple[Condition, ...]:
    """Every slot = value a variation may be given in the editor: the values of the categorical slots that
    config/response_conditions.yml names (`sentiment`: negative, neutral, positive)."""
    wanted = (yaml_spans.plain(config.read_text(encoding="utf-8")) or {}).get("slots") or []
    slots = load_domain(domain_dir).get("slots") or {}
    return tuple(
        Condition(str(name), str(value))
        for name in wanted
        if isinstance(slot := slots.get(name), dict) and slot.get("type") == "categorical"
        for value in slot.get("values") or []
    )


def _conditions(raw: Any) -> tuple[tuple[Condition, ...], bool]:
    if raw is None:
        return (), True
    items = raw if isinstance(raw, list) else [raw]
    out = [
        Condition(
            str(c.get("name")), str(c.get("value")).lower() if isinstance(c.get("value"), bool) else str(c["value"])
        )
        for c in items
        if isinstance(c, dict) and c.get("type") == "slot" and "value" in c
    ]
    return tuple(out), len(out) == len(items) == 1


def _variation(index: int, raw: Any, line: int, allowed: frozenset[Condition] | None = None) -> Variation:
    """`allowed`: the conditions the editor offers (None: any one slot condition counts as editable)."""
    raw = raw if isinstance(raw, dict) else {}
    condition, editable = _conditions(raw.get("condition"))
    if allowed is not None and condition and not set(condition) <= allowed:
        editable = False
    buttons = tuple(str(b.get("title", "")) for b in raw.get("buttons") or [] if isinstance(b, dict))
    text = raw.get("text")
    other = tuple(sorted(str(k) for k in raw if k not in ("text", "condition", "channel", "buttons")))
    channel = raw.get("channel")
    return Variation(
        index,
        None if text is None else str(text),
        condition,
        editable,
        None if channel is None else str(channel),
        buttons,
        other,
        line,
    )


def _file_responses(path: Path, root: Path, allowed: frozenset[Condition]) -> list[Response]:
    text = path.read_text(encoding="utf-8")
    data = yaml_spans.plain(text) or {}
    if not isinstance(data, dict) or not isinstance(data.get("responses"), dict):
        return []
    tree = yaml_spans.compose(text, path.name)
    nodes = yaml_spans.child(tree, "responses")
    assert nodes is not None
    found = []
    stamp, name = yaml_spans.version(text), relative(path, root)
    for key, value in nodes[1].value:
        raw = data["responses"].get(key.value) or []
        items = value.value if isinstance(value, SequenceNode) else []
        variations = tuple(
            _variation(i, raw[i] if i < len(raw) else None, node.start_mark.line + 1, allowed)
            for i, node in enumerate(items)
        )
        found.append(Response(str(key.value), name, stamp, key.start_mark.line + 1, variations))
    return found


def list_responses(domain_dir: Path, root: Path) -> tuple[Response, ...]:
    """Every response of the domain, in file order (the files by name), each file's in its own order."""
    allowed = frozenset(allowed_conditions(domain_dir))
    return tuple(r for path in domain_files(domain_dir) for r in _file_responses(path, root, allowed))


def find(domain_dir: Path, root: Path, name: str) -> tuple[Response, Path]:
    allowed = frozenset(allowed_conditions(domain_dir))
    for path in domain_files(domain_dir):
        for response in _file_responses(path, root, allowed):
            if response.name == name:
                return response, path
    raise NoSuchResponse(f"there is no response {name!r} in the domain")


# --- planning an edit --------------------------------------------------------------------------------------------


def _sequence(tree: Node, name: str, file: str) -> SequenceNode:
    node = yaml_spans.at(tree, ("responses", name))
    if not isinstance(node, SequenceNode) or not node.value or node.flow_style:
        raise ResponseError(f"{file}: the variations of {name} are not a block list (one `- text:` each)")
    return node


def _condition_lines(col: int, condition: Condition) -> list[str]:
    pad = " " * col
    value = yaml_spans.render(condition.value, None)
    return [
        f"{pad}condition:\n",
        f"{pad}  - type: slot\n",
        f"{pad}    name: {condition.slot}\n",
        f"{pad}    value: {value}\n",
    ]


def _raw_condition(condition: Condition) -> list[dict[str, Any]]:
    return [{"type": "slot", "name": condition.slot, "value": yaml_spans.plain(f"v: {condition.value}")["v"]}]


def _item(text: str, name: str, index: int, file: str) -> MappingNode:
    item = _sequence(yaml_spans.compose(text, file), name, file).value[index]
    if not isinstance(item, MappingNode) or item.flow_style:
        raise ResponseError(f"{file}: variation {index + 1} of {name} is not a block mapping")
    return item


def _set_condition(text: str, name: str, index: int, condition: Condition | None, file: str) -> str:
    item = _item(text, name, index, file)
    lines = yaml_spans.lines_of(text)
    found = yaml_spans.child(item, "condition")
    col = item.start_mark.column
    if found is None:
        if condition is None:
            return text
        last = yaml_spans.last_line(text, item)
        return yaml_spans.splice(text, last + 1, last, _condition_lines(col, condition))
    key, value = found
    first, last = key.start_mark.line, yaml_spans.last_line(text, value)
    if condition is not None:
        new = _condition_lines(col, condition)
        if first == item.start_mark.line:  # `- condition:` opens the item: keep its dash
            new[0] = lines[first][: key.start_mark.column] + new[0].lstrip(" ")
        return yaml_spans.splice(text, first, last, new)
    if first != item.start_mark.line:
        return yaml_spans.splice(text, first, last, [])
    if len(item.value) == 1:
        raise ResponseError(f"variation {index + 1} of {name} has nothing but its condition")
    following = lines[last + 1] if last + 1 < len(lines) else ""  # the next key takes the dash the condition had
    dash = lines[first][: key.start_mark.column]
    if yaml_spans.indent(following) != len(dash):
        raise ResponseError(f"{file}: variation {index + 1} of {name} is laid out in a way the editor cannot change")
    return yaml_spans.splice(text, first, last + 1, [dash + following[len(dash) :]])


def plan(text: str, name: str, edit: VariationEdit, file: str) -> tuple[str, dict[str, Any]]:
    """The file's new text after `edit` of response `name`, and what changed (for the audit), verified by parsing."""
    expected = deepcopy(yaml_spans.plain(text))
    variations = expected["responses"][name]
    seq = _sequence(yaml_spans.compose(text, file), name, file)
    count = len(seq.value)
    if edit.op == "add":
        if edit.text is None:
            raise ResponseError("a new variation needs a text")
        col = yaml_spans.indent(yaml_spans.lines_of(text)[seq.value[0].start_mark.line])
        rendered = f"{' ' * (col + 2)}text: {yaml_spans.render(edit.text, chr(34))}\n"
        new = [f"{' ' * col}- text: {yaml_spans.render(edit.text, chr(34))}\n"]
        raw: dict[str, Any] = {"text": edit.text}
        if edit.condition is not None:
            new = _condition_lines(col + 2, edit.condition)
            new[0] = " " * col + "- " + new[0].lstrip(" ")
            new.append(rendered)
            raw = {"condition": _raw_condition(edit.condition), "text": edit.text}
        last = yaml_spans.last_line(text, seq)
        after = yaml_spans.splice(text, last + 1, last, new)
        variations.append(raw)
        changes = {"op": "add", "variation": count + 1, "text": {"before": None, "after": edit.text}}
        if edit.condition is not None:
            changes["condition"] = {"before": None, "after": edit.condition.label}
        return yaml_spans.verify(after, expected, file), changes
    if edit.index is None or not 0 <= edit.index < count:
        raise ResponseError(
            f"{name} has {count} variation{'s' if count != 1 else ''}: there is no number {(edit.index or 0) + 1}"
        )
    i = edit.index
    old = _variation(i, variations[i], 0)
    if edit.op == "remove":
        if count == 1:
            raise ResponseError(
                f"a response keeps at least one variation: {name} is what the bot says wherever it is used"
            )
        item = seq.value[i]
        after = yaml_spans.splice(text, item.start_mark.line, yaml_spans.last_line(text, item), [])
        del variations[i]
        changes = {"op": "remove", "variation": i + 1, "text": {"before": old.text, "after": None}}
        if old.condition:
            changes["condition"] = {"before": " and ".join(c.label for c in old.condition), "after": None}
        return yaml_spans.verify(after, expected, file), changes
    after = text
    changes = {"op": "change", "variation": i + 1}
    if edit.text is not None and edit.text != old.text:
        item = _item(text, name, i, file)
        found = yaml_spans.child(item, "text")
        if found is None:
            raise ResponseError(f"variation {i + 1} of {name} has no text to change ({', '.join(old.other)})")
        after = yaml_spans.replace_scalar(text, found[1], edit.text)
        variations[i]["text"] = edit.text
        changes["text"] = {"before": old.text, "after": edit.text}
    current = old.condition[0] if len(old.condition) == 1 else None
    if edit.set_condition and (edit.condition != current or not old.condition_editable):
        if not old.condition_editable and old.condition:
            raise ResponseError(
                f"variation {i + 1} of {name} has a condition the editor cannot change: edit it in {file}"
            )
        after = _set_condition(after, name, i, edit.condition, file)
        if edit.condition is None:
            variations[i].pop("condition", None)
        else:
            variations[i]["condition"] = _raw_condition(edit.condition)
        changes["condition"] = {
            "before": current.label if current else None,
            "after": edit.condition.label if edit.condition else None,
        }
    if len(changes) == 2:
        raise ResponseError("nothing to save: the variation is as it was")
    return yaml_spans.verify(after, expected, file), changes
