"""The Rasa domain as plain data, read from one file or from the folder of topic files, without importing Rasa.

`domain/` holds one file per topic; Rasa merges the folder itself (`--domain domain`). Code outside Rasa's edge
(the workflow validator, the list of responses actions send, the tests) reads it here, merged the same way, so
that no reader depends on how the domain is split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT

DEFAULT_DOMAIN = PROJECT_ROOT / "domain"
YAML_SUFFIXES = (".yml", ".yaml")
# Sections that list names (an intent may carry its properties: `- greet: {use_entities: []}`).
LIST_SECTIONS = ("intents", "entities", "actions", "e2e_actions")


class DomainFileError(ValueError):
    """A domain file is not a YAML mapping, or two files define the same name."""


def domain_files(path: str | Path = DEFAULT_DOMAIN) -> list[Path]:
    """The domain's YAML files: the file itself, or every one under the folder, in a stable order (by path)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return [path]


def _item_name(item: Any) -> str:
    return str(next(iter(item))) if isinstance(item, dict) and item else str(item)


def load_domain(path: str | Path = DEFAULT_DOMAIN) -> dict[str, Any]:
    """The merged domain: the lists (intents, entities, actions) joined and the mappings (slots, forms,
    responses, session_config) merged, in file order. A name defined twice is an error rather than one
    definition silently hiding the other."""
    merged: dict[str, Any] = {}
    defined_in: dict[tuple[str, str], Path] = {}
    for file in domain_files(path):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DomainFileError(f"{file}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise DomainFileError(f"{file}: a domain file must be a YAML mapping")
        for section, value in data.items():
            if section == "version":
                merged.setdefault(section, value)
                continue
            if section in LIST_SECTIONS:
                names = [(_item_name(item), item) for item in value or []]
            elif isinstance(value, dict):
                names = list(value.items())
            else:
                names = [("", value)]
            for name, item in names:
                first = defined_in.setdefault((section, name), file)
                if first != file:
                    what = f"'{name}' in {section}" if name else f"{section}"
                    raise DomainFileError(f"{file}: {what} is already defined in {first}")
                if section in LIST_SECTIONS:
                    merged.setdefault(section, []).append(item)
                elif isinstance(value, dict):
                    merged.setdefault(section, {})[name] = item
                else:
                    merged[section] = item
    return merged
