"""Structured logs: stable event names, run and lead ids bound, JSON when not on a terminal.

Values under secret-looking keys are masked as a last line of defence; the
code never logs tokens, passwords, keys or lead bodies in the first place.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_HINTS = ("token", "secret", "password", "authorization", "assertion", "private_key")
MASK = "***"


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask values whose key names a secret."""
    for key in list(event):
        if any(hint in key.lower() for hint in SECRET_HINTS):
            event[key] = MASK
    return event


def _factory(stream: TextIO | None) -> Any:
    # Resolve stderr when a logger is made, not once: tests and daemons swap the stream.
    if stream is not None:
        return structlog.PrintLoggerFactory(file=stream)
    return lambda *_args: structlog.PrintLogger(file=sys.stderr)


def configure(
    *, json: bool | None = None, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Set up structlog once per process; JSON by default when stderr is not a terminal."""
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=_factory(stream),
        cache_logger_on_first_use=False,
    )
