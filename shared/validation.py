"""Validation messages in the shape people read: one level, keyed by dotted field path."""

from typing import Any


def flatten_messages(messages: Any, path: str = "", *, whole: str = "form") -> dict[str, list[str]]:
    """Marshmallow's nested messages keyed by dotted path ({"skills.0.url": [...]}); messages about
    the whole object (marshmallow's `_schema`) go under `whole`."""
    if not isinstance(messages, dict):
        return {path or whole: messages if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        child = path if key == "_schema" else f"{path}.{key}" if path else str(key)
        flat.update(flatten_messages(value, child, whole=whole))
    return flat
