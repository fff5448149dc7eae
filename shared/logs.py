"""Logging for every process: one JSON object per line, or readable text for the local run.

Each line carries time, level, logger, message and service, plus what the process is doing at
the time, kept in a context variable: `request_id` while a web request is served, `event_id`,
`event_type` and `topic` while the consumer handles an event. `SKILLSTACK_LOG_FORMAT=text`
gives the human-readable format; `SKILLSTACK_LOG_LEVEL` sets the level (INFO).
"""

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

_context: ContextVar[dict[str, str]] = ContextVar("skillstack_log_context", default={})
_process_service = "skillstack"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(service)s]: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add fields to every log line written inside the block (this thread or task only)."""
    token = _context.set(_context.get() | {name: value for name, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**fields: str):
    """Add fields to the log context until `unbind_log_context(token)`: for request hooks that cannot use a block."""
    return _context.set(_context.get() | fields)


def unbind_log_context(token) -> None:
    _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the service name and the current context fields onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get()
        record.service = fields.get("service", _process_service)
        for name, value in fields.items():
            if name != "service":
                setattr(record, name, value)
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time, so a swapped stream (test capture) is never stale."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message and any context fields."""
    formatter = JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )
    formatter.converter = time.gmtime
    formatter.default_time_format, formatter.default_msec_format = "%Y-%m-%dT%H:%M:%S", "%s.%03dZ"
    return formatter


def configure_logging(service: str, log_format: str | None = None, level: str | None = None) -> None:
    """Send this process's logs to stderr as JSON lines (or text); safe to call again."""
    global _process_service
    _process_service = service
    log_format = (log_format or os.environ.get("SKILLSTACK_LOG_FORMAT") or "json").lower()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "skillstack", False)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.skillstack = True
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(TEXT_FORMAT) if log_format == "text" else json_formatter())
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("SKILLSTACK_LOG_LEVEL") or "INFO").upper())
    logging.getLogger("kafka").setLevel(logging.WARNING)
