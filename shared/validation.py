"""Validation messages in the shape people read: one level, keyed by dotted field path."""

from typing import Any

from marshmallow import validate

# Text PostgreSQL can store: a NUL character or an unpaired surrogate (JSON "\ud800") is refused here, not a 500 there.
TEXT = validate.Regexp(r"\A[^\x00\ud800-\udfff]*\Z", error="must not contain NUL characters or unpaired surrogates")


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
