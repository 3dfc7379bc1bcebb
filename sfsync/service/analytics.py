"""Lead analytics for the status page and `sfsync report`: plain data in, plain data out.

Computed from `reads.LeadFacts` (one row per lead): each lead's score,
rating and converted/deleted flags, and the Status, LeadSource and OwnerId its
latest decision recorded. Analytics whose data no decision recorded say so
through `Analytics.missing` instead of showing an empty chart. Speed-to-lead,
SLA compliance and routing's load per rep are in `speed.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sfsync.service.reads import LeadFacts

BAND_WIDTH = 10
TOP_BAND = 90  # the last band holds every score from 90 up
NO_RATING = "(none)"
NOT_RECORDED = {
    "owner": "leads per owner and load per rep need the lead's OwnerId in the store",
    "status": "leads by Status need the lead's Status in the store",
    "source": "conversion rate by source needs the lead's LeadSource in the store",
}


@dataclass(frozen=True)
class Rate:
    """Leads in a group, how many converted, and the share."""

    group: str
    leads: int
    converted: int

    @property
    def rate(self) -> float:
        """Share converted, 0 for an empty group."""
        return self.converted / self.leads if self.leads else 0.0


@dataclass(frozen=True)
class Analytics:
    """Everything the lead-analytics section shows."""

    leads: int
    by_stage: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    scores: list[tuple[str, int]]
    ratings: list[tuple[str, int]]
    conversion_by_band: list[Rate]
    conversion_by_source: list[Rate]
    per_owner: list[tuple[str, int]]
    load_per_rep: list[tuple[str, int]]
    missing: list[str] = field(default_factory=list)


def analyse(facts: Sequence[LeadFacts]) -> Analytics:
    """All analytics at once; deleted leads count only in the stage breakdown."""
    live = [f for f in facts if not f.deleted]
    return Analytics(
        leads=len(live),
        by_stage=stages(facts),
        by_status=_counts(live, lambda f: f.status),
        scores=score_bands(live),
        ratings=sorted(Counter(f.rating or NO_RATING for f in live).items()),
        conversion_by_band=conversion(live, lambda f: band(f.score)),
        conversion_by_source=conversion(live, lambda f: f.source),
        per_owner=_counts(live, lambda f: f.owner),
        load_per_rep=_counts([f for f in live if not f.converted], lambda f: f.owner),
        missing=missing(live),
    )


def stages(facts: Sequence[LeadFacts]) -> list[tuple[str, int]]:
    """Open, converted and deleted leads (the lifecycle the store records)."""
    counted = Counter(
        "deleted" if f.deleted else "converted" if f.converted else "open" for f in facts
    )
    return [(name, counted[name]) for name in ("open", "converted", "deleted")]


def band(score: float | None) -> str | None:
    """The score band label, e.g. '40-49' (the top band is '90+'); None for an unscored lead."""
    if score is None:
        return None
    low = min(max(int(score // BAND_WIDTH) * BAND_WIDTH, 0), TOP_BAND)
    return f"{low}-{low + BAND_WIDTH - 1}" if low < TOP_BAND else f"{low}+"


def score_bands(facts: Sequence[LeadFacts]) -> list[tuple[str, int]]:
    """How many scored leads fall in each band, every band shown (zeros too)."""
    counted = Counter(band(f.score) for f in facts if f.score is not None)
    labels = [band(low) or "" for low in range(0, TOP_BAND + 1, BAND_WIDTH)]
    return [(label, counted[label]) for label in labels]


def conversion(facts: Sequence[LeadFacts], key: Callable[[LeadFacts], str | None]) -> list[Rate]:
    """Conversion rate per group; leads without a group value are left out."""
    leads: Counter[str] = Counter()
    won: Counter[str] = Counter()
    for fact in facts:
        group = key(fact)
        if group is not None:
            leads[group] += 1
            won[group] += fact.converted
    return [Rate(group, leads[group], won[group]) for group in sorted(leads)]


def missing(facts: Sequence[LeadFacts]) -> list[str]:
    """What the analytics could not show because the store does not record it."""
    return [
        why
        for name, why in NOT_RECORDED.items()
        if not any(getattr(f, name) is not None for f in facts)
    ]


def _counts(
    facts: Sequence[LeadFacts], key: Callable[[LeadFacts], str | None]
) -> list[tuple[str, int]]:
    counted = Counter(value for f in facts if (value := key(f)) is not None)
    return counted.most_common()
