"""Build `MatchData` from file texts and a nickname table handed in by the caller.

Pure: the caller reads the shipped lists (`enrich_data.shipped_texts`) and the
maintained nickname table (the `nicknames` package), so matching itself does
no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sfsync.rules.enrich_company import suffix_pattern
from sfsync.rules.enrich_data import word_list
from sfsync.rules.enrich_geo import build_geo_index
from sfsync.rules.enrich_text import host_of
from sfsync.rules.matching_config import MatchingConfig
from sfsync.rules.matching_text import MatchData, fold


def variant_table(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Folded name -> the names it is a nickname or formal form of, both ways round."""
    table: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        x, y = fold(a), fold(b)
        if x and y and x != y:
            table[x].add(y)
            table[y].add(x)
    return {name: frozenset(others) for name, others in table.items()}


def build_match_data(
    texts: Mapping[str, str],
    config: MatchingConfig,
    nicknames: Iterable[tuple[str, str]],
) -> MatchData:
    """Reference data from the shipped list texts, matching.yaml's additions and nickname pairs."""
    free = frozenset(host_of(d) for d in word_list(texts["free_mail.txt"]) if host_of(d))
    suffixes = [*word_list(texts["legal_suffixes.txt"]), *config.legal_suffixes]
    return MatchData(
        free_mail=free,
        legal_suffixes=suffix_pattern(suffixes),
        geo=build_geo_index(texts["country_aliases.csv"], texts["state_aliases.csv"]),
        name_variants=variant_table([*nicknames, *config.name_variants]),
        default_country=config.default_country,
    )
