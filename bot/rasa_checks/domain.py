"""`python -m bot.rasa_checks.domain FOLDER`: the domain folder as Rasa itself loads it (its schema, its checks), for the
console's response editor, which must not import Rasa: one JSON line on stdout, `{"problems": [...]}`."""

from __future__ import annotations

import json
import sys
import warnings


def problems(folder: str) -> list[str]:
    """What Rasa refuses or warns about in the domain (an invalid response, a response action without a response)."""
    from rasa.shared.core.domain import Domain

    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            domain = Domain.load(folder)
        except Exception as exc:  # whatever Rasa raises is the answer, reported as text
            return [str(exc).strip() or type(exc).__name__]
        domain.check_missing_responses()
    found += [str(w.message) for w in caught if "response" in str(w.message).lower()]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bot.rasa_checks.domain FOLDER", file=sys.stderr)
        return 2
    print(json.dumps({"problems": problems(argv[0])}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
