"""Matching's rules and reference data, loaded once per process: `load_matcher(mappings)`.

The only I/O matching needs: `matching.yaml`, the shipped lists in
`sfsync/data/` and the maintained nickname table of the `nicknames` package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nicknames

from sfsync.mappings import load_model
from sfsync.rules.enrich_data import shipped_texts
from sfsync.rules.matching_config import MatchingConfig
from sfsync.rules.matching_data import build_match_data
from sfsync.rules.matching_text import MatchData

MATCHING_FILE = "matching.yaml"


@dataclass(frozen=True, eq=False)
class Matcher:
    """Parsed matching rules and the reference data they read; built once per process."""

    config: MatchingConfig
    data: MatchData


def nickname_pairs() -> list[tuple[str, str]]:
    """(formal name, nickname) pairs of the maintained `nicknames` table (reads its CSV)."""
    return [(t.name1, t.name2) for t in nicknames.name_triplets()]


def matcher_for(directory: Path) -> Matcher | None:
    """The mappings' matcher, or None when they have no matching.yaml (no matching in the cycle)."""
    return load_matcher(directory) if (directory / MATCHING_FILE).is_file() else None


def load_matcher(directory: Path) -> Matcher:
    """`matching.yaml` of a mappings directory; a bad file is a ConfigError with file:line:key."""
    config = load_model(directory / MATCHING_FILE, MatchingConfig)
    return Matcher(config, build_match_data(shipped_texts(), config, nickname_pairs()))
