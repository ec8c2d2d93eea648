"""Accepted examples into Rasa's training data as a person would add them: the line under the intent's examples in
the `data/nlu/<topic>.yml` that holds it, and a new intent in the file and domain topic the CX user chose, so that a
git diff shows exactly the added lines, with every comment, the order, the quoting and the block style kept.

ruamel.yaml's round-trip parser (0.17.21, the one Rasa installs) finds where each intent and its examples are; the
lines are inserted into the text as it was, not re-dumped: a dump would re-indent the domain's lists (data/ and
domain/ indent differently) and escape emoji in quoted strings (domain/chitchat.yml). Each edit is checked by
parsing the result: it must equal the old file's data plus exactly what was added, or nothing is written.
Edits are planned first (`FileEdit`), then applied together, so a refused example changes no file.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.review.examples import normalise, parse_markdown
from bot.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
DOMAIN_DIR = PROJECT_ROOT / "domain"
YAML_SUFFIXES = (".yml", ".yaml")
FILE_STEM = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
NEW_FILE_HEADER = 'version: "3.1"\n\nnlu:\n'


class NluFileError(ValueError):
    """A training data or domain file that cannot be changed as asked; the message says which and why."""


class DuplicateExample(NluFileError):
    """The example is in the training data already (compared as text: case, spaces and end punctuation aside)."""

    def __init__(self, example: str, intent: str, path: Path) -> None:
        super().__init__(f"{example!r} is already an example of {intent} in {path.name}")
        self.intent, self.path = intent, path


@dataclass(frozen=True)
class FileEdit:
    """A file's text before and after one change (`before` is None for a new file)."""

    path: Path
    before: str | None
    after: str

    def diff(self) -> str:
        old = (self.before or "").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, self.after.splitlines(keepends=True), str(self.path), str(self.path)))


def _round_trip(text: str, path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise NluFileError(f"{path.name} is not valid YAML: {exc}") from exc


def _plain(text: str | None) -> Any:
    return yaml.safe_load(text) if text else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, parent_indent: int) -> int:
    """The last line of the block that starts after line `start` and is indented deeper than `parent_indent`
    (blank lines inside count; blank lines and comments after it do not)."""
    last = start
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped:
            continue
        if _indent(lines[i]) <= parent_indent:
            break
        last = i
    return last


def _insert(text: str, after_line: int, new_lines: list[str]) -> str:
    lines = text.splitlines(keepends=True)
    if not lines[after_line].endswith("\n"):
        lines[after_line] += "\n"
    return "".join(lines[: after_line + 1] + new_lines + lines[after_line + 1 :])


def _verify(edit: FileEdit, expected: Any) -> FileEdit:
    try:
        got = _plain(edit.after)
    except yaml.YAMLError as exc:  # pragma: no cover - the inserted lines are plain scalars
        raise NluFileError(f"{edit.path.name}: the change would not parse ({exc}); nothing was written") from exc
    if got != expected:
        raise NluFileError(f"{edit.path.name}: the change would alter more than the added lines; nothing was written")
    return edit


# --- reading the training data -------------------------------------------------------------------------------------


def nlu_files(nlu_dir: Path = NLU_DIR) -> list[Path]:
    return sorted(p for p in Path(nlu_dir).rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)


def _examples(value: Any) -> Iterator[str]:
    for line in str(value or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            yield line[2:].strip()


def intent_examples(nlu_dir: Path = NLU_DIR) -> Iterator[tuple[Path, str, str]]:
    """(file, intent, example) of every intent example in the training data, in file order."""
    for path in nlu_files(nlu_dir):
        data = _plain(path.read_text(encoding="utf-8")) or {}
        for item in (data.get("nlu") or []) if isinstance(data, dict) else []:
            if isinstance(item, dict) and "intent" in item:
                for example in _examples(item.get("examples")):
                    yield path, str(item["intent"]), example


def find_example(example: str, nlu_dir: Path = NLU_DIR) -> tuple[Path, str] | None:
    """Where the example's text is already an example, as (file, intent)."""
    wanted = normalise(parse_markdown(example)[0])
    for path, intent, known in intent_examples(nlu_dir):
        if normalise(parse_markdown(known)[0]) == wanted:
            return path, intent
    return None


def intent_file(intent: str, nlu_dir: Path = NLU_DIR) -> Path | None:
    """The file that holds the intent's examples; where several do (`inform`: its own topic, and a few answers to
    the bot's questions in answers.yml), the one with the most of them."""
    counts: dict[Path, int] = {}
    for path, name, _ in intent_examples(nlu_dir):
        if name == intent:
            counts[path] = counts.get(path, 0) + 1
    return max(counts, key=lambda p: counts[p]) if counts else _empty_intent_file(intent, nlu_dir)


def _empty_intent_file(intent: str, nlu_dir: Path) -> Path | None:
    for path in nlu_files(nlu_dir):
        data = _plain(path.read_text(encoding="utf-8")) or {}
        items = (data.get("nlu") or []) if isinstance(data, dict) else []
        if any(isinstance(item, dict) and item.get("intent") == intent for item in items):
            return path
    return None


def topic_file(folder: Path, name: str) -> Path:
    """`folder/<name>.yml` for a topic name a user typed ("orders", "orders.yml"), refusing anything else."""
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix in YAML_SUFFIXES else name
    if not FILE_STEM.fullmatch(stem):
        raise NluFileError(f"{name!r} is not a topic file name (lower case letters, digits, _ and -)")
    return Path(folder) / f"{stem}.yml"


# --- planning the edits ------------------------------------------------------------------------------------------


def _check_example(example: str) -> str:
    example = example.strip()
    if not example or "\n" in example or "\r" in example:
        raise NluFileError("an example is one line of text")
    return example


def plan_example(intent: str, example: str, *, nlu_dir: Path = NLU_DIR, new_file: str | None = None) -> FileEdit:
    """The edit that adds `example` (Rasa's markdown-style annotation for entities) to the intent: in the file that
    holds the intent, else in `new_file` (a topic name under `nlu_dir`, created if missing). A text that is an
    example anywhere in the training data already is refused."""
    example = _check_example(example)
    duplicate = find_example(example, nlu_dir)
    if duplicate is not None:
        raise DuplicateExample(parse_markdown(example)[0], duplicate[1], duplicate[0])
    path = intent_file(intent, nlu_dir)
    if path is None:
        if new_file is None:
            raise NluFileError(f"no file in {Path(nlu_dir).name}/ holds the intent {intent}: choose the file for it")
        path = topic_file(nlu_dir, new_file)
        if not path.exists():
            after = f"{NEW_FILE_HEADER}- intent: {intent}\n  examples: |\n    - {example}\n"
            return _verify(FileEdit(path, None, after), {"version": "3.1", "nlu": [_item(intent, example)]})
        return _append_intent(path, intent, example)
    return _append_example(path, intent, example)


def _item(intent: str, example: str) -> dict[str, str]:
    return {"intent": intent, "examples": f"- {example}\n"}


def _append_example(path: Path, intent: str, example: str) -> FileEdit:
    from ruamel.yaml.scalarstring import LiteralScalarString

    text = path.read_text(encoding="utf-8")
    data = _round_trip(text, path)
    items = data["nlu"]
    mine = [i for i, item in enumerate(items) if isinstance(item, dict) and item.get("intent") == intent]
    index = max(mine, key=lambda i: (len(list(_examples(items[i].get("examples")))), -i))  # the largest, else first
    item = items[index]
    if "examples" not in item or not isinstance(item["examples"], LiteralScalarString):
        raise NluFileError(f"{path.name}: the examples of {intent} are not a literal block (`examples: |`)")
    lines = text.splitlines(keepends=True)
    key_line, key_col = item.lc.key("examples")
    end = _block_end(lines, key_line, key_col)
    content = [line for line in lines[key_line + 1 : end + 1] if line.strip()]
    indent = _indent(content[0]) if content else key_col + 2
    edit = FileEdit(path, text, _insert(text, end, [f"{' ' * indent}- {example}\n"]))
    expected = _plain(text)
    old = expected["nlu"][index]["examples"] or ""
    expected["nlu"][index]["examples"] = (
        old + f"- {example}\n" if old.endswith("\n") or not old else old + f"\n- {example}"
    )
    return _verify(edit, expected)


def _append_intent(path: Path, intent: str, example: str) -> FileEdit:
    """A new intent after the file's last item, laid out as the file's first intent is."""
    from ruamel.yaml.comments import CommentedMap

    text = path.read_text(encoding="utf-8")
    data = _round_trip(text, path)
    if not isinstance(data, dict) or "nlu" not in data:
        raise NluFileError(f"{path.name} has no `nlu:` list")
    if list(data)[-1] != "nlu" or not data["nlu"]:
        raise NluFileError(f"{path.name}: `nlu:` must be the file's last key and hold an item")
    lines = text.splitlines(keepends=True)
    items = data["nlu"]
    dash = _indent(lines[items.lc.item(0)[0]])
    key, examples = 2, 4  # the layout of Rasa's own files, unless the file shows another
    for item in items:
        if isinstance(item, CommentedMap) and "intent" in item and "examples" in item:
            key_line, key_col = item.lc.key("examples")
            content = [line for line in lines[key_line + 1 : _block_end(lines, key_line, key_col) + 1] if line.strip()]
            key = key_col - dash
            examples = (_indent(content[0]) if content else key_col + 2) - dash
            break
    last = _block_end(lines, items.lc.item(len(items) - 1)[0], dash)
    new = ["\n", f"{' ' * dash}- intent: {intent}\n", f"{' ' * (dash + key)}examples: |\n"]
    new.append(f"{' ' * (dash + examples)}- {example}\n")
    expected = _plain(text)
    expected["nlu"].append(_item(intent, example))
    return _verify(FileEdit(path, text, _insert(text, last, new)), expected)


def plan_domain_intent(intent: str, domain_file: Path) -> FileEdit | None:
    """The edit that lists a new intent in a domain topic file (after its last intent); None when it is listed."""
    if not domain_file.exists():
        choices = ", ".join(p.stem for p in sorted(domain_file.parent.glob("*.yml")))
        raise NluFileError(f"no domain file {domain_file.name}; the topics are: {choices}")
    text = domain_file.read_text(encoding="utf-8")
    data = _round_trip(text, domain_file)
    if not isinstance(data, dict):
        raise NluFileError(f"{domain_file.name} is not a YAML mapping")
    expected = deepcopy(_plain(text)) or {}
    lines = text.splitlines(keepends=True)
    intents = data.get("intents")
    if intents is None:
        dash = next((_indent(lines[v.lc.item(0)[0]]) for v in data.values() if _is_block_list(v)), 2)
        after = text + ("" if text.endswith("\n") else "\n") + f"\nintents:\n{' ' * dash}- {intent}\n"
        expected["intents"] = [intent]
        return _verify(FileEdit(domain_file, text, after), expected)
    if any(_name(i) == intent for i in intents):
        return None
    if not _is_block_list(intents):
        raise NluFileError(f"{domain_file.name}: `intents:` must be a block list (one `- name` a line)")
    last_line = intents.lc.item(len(intents) - 1)[0]
    dash = _indent(lines[last_line])
    edit = FileEdit(domain_file, text, _insert(text, _block_end(lines, last_line, dash), [f"{' ' * dash}- {intent}\n"]))
    expected["intents"] = list(expected["intents"]) + [intent]
    return _verify(edit, expected)


def _is_block_list(value: Any) -> bool:
    style = getattr(value, "fa", None)
    return isinstance(value, list) and bool(value) and style is not None and not style.flow_style()


def _name(item: Any) -> str:
    return str(next(iter(item))) if isinstance(item, dict) and item else str(item)


def apply(edits: Iterable[FileEdit]) -> None:
    """Write each file whole (a temporary file renamed over it, with the old file's permissions): a reader never
    sees half of it."""
    for edit in edits:
        edit.path.parent.mkdir(parents=True, exist_ok=True)
        mode = edit.path.stat().st_mode & 0o777 if edit.path.exists() else 0o644
        fd, staging = tempfile.mkstemp(prefix=f".{edit.path.name}.", dir=edit.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(edit.after)
            os.chmod(staging, mode)
            os.replace(staging, edit.path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
