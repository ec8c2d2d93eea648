"""Rasa's own reading of a test stories file, run as a child process (`python -m bot.rasa_checks.stories FILE --domain DIR`)
so that the console and the review, which never import Rasa, can check a file before it replaces the real one.

The file must be a test stories file as `rasa test` finds them (a `test_` name with `stories:`), pass Rasa's schema
(`YAMLStoryReader`), raise none of the reader's warnings (an intent not in the domain, an empty step), and name only
actions the domain has. Prints one JSON line, `{"stories": n}` or `{"error": "..."}`; exits 0 or 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


def check(path: Path, domain_dir: Path) -> int:
    """How many stories the file holds; ValueError with Rasa's words when Rasa would not read it as they are."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.exceptions import RasaException

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the domain's own warnings are `rasa data validate`'s business
        domain = Domain.load(str(domain_dir))
    if not YAMLStoryReader.is_test_stories_file(path):
        raise ValueError(f"{path.name} is not a test stories file (a test_*.yml file with `stories:`)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            steps = YAMLStoryReader(domain, str(path)).read_from_file(path)
        except (RasaException, ValueError) as exc:
            raise ValueError(f"Rasa cannot read the stories: {exc}") from exc
    problems = [str(w.message).split("\n", 1)[-1].strip() for w in caught if issubclass(w.category, UserWarning)]
    if problems:
        raise ValueError(f"Rasa's story reader objects: {problems[0]}")
    known = set(domain.action_names_or_texts)
    for step in steps:
        for event in step.events:
            if isinstance(event, ActionExecuted) and event.action_name and event.action_name not in known:
                raise ValueError(f"story {step.block_name!r}: {event.action_name!r} is not an action of the domain")
    return len({step.block_name for step in steps})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.rasa_checks.stories", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--domain", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        print(json.dumps({"stories": check(args.file, args.domain)}))
    except ValueError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
