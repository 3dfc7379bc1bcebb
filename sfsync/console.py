"""The terminal every command writes to, and how sfsync errors leave it.

One place for the consoles and for `exits_cleanly`, which turns an sfsync
error into its exit code and a one-line message (no traceback).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from sfsync.errors import SfsyncError

# soft_wrap: long lines (file:line: key: reason) stay whole for people and for grep.
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def exits_cleanly(fn: F) -> F:
    """Run a command; an sfsync error becomes its exit code and one line on stderr."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SfsyncError as exc:
            # Text, not markup: the message may quote the org or a mappings file ("[/x]").
            err.print(Text.assemble(("error: ", "bold red"), exc.user_message), highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
