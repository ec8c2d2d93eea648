"""Text as every store can keep it: PostgreSQL refuses NUL characters, and UTF-8 cannot encode the lone surrogates
a broken client's JSON may carry. Dropping and replacing those keeps the rest of what someone wrote."""

from __future__ import annotations


def storable(text: str) -> str:
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
