"""Predictive model files on disk: read one with clear errors, write one atomically.

The parsing itself is pure (`rules.predict.parse_model`); this module is the
I/O around it, so that `rules/` stays free of it. A model file is JSON data,
never pickle: loading one cannot execute code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sfsync.errors import ConfigError
from sfsync.rules.predict import LeadModel, dump_model, parse_model

# A model is a few hundred weights (tens of KB); anything far larger is not one.
MAX_MODEL_BYTES = 5_000_000
MODEL_FILE_MODE = 0o644


def load_model(path: Path) -> LeadModel:
    """The model saved at `path`; a missing, corrupt or incompatible file is a ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{path}: model file not found (`sfsync train --out {path}` makes one)")
    try:
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_MODEL_BYTES} bytes, not a model file")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the model file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None
    return parse_model(text, str(path))


def check_writable(path: Path) -> None:
    """Fail before any work when `path` cannot take a model file."""
    parent = path.parent
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; name the model file (e.g. {path}/model.json)")
    if not parent.is_dir():
        raise ConfigError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"{path}: not writable")


def save_model(model: LeadModel, path: Path) -> None:
    """Write the model next to its final name, then rename: readers never see half a file."""
    check_writable(path)
    text = dump_model(model)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, MODEL_FILE_MODE)  # mkstemp makes 0600; the worker may run as another user
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: could not write the model ({exc.strerror})") from None
