"""Engagement as the behaviour rules read it, and its fingerprint for the input hash.

Connectors and the events feed report `models.EngagementEvent` values with
the kind as text; here they become `behavior.Engagement` (unknown kinds and
deleted rows dropped). Engagement changes never touch the Lead record, so
the input hash carries a fingerprint of it: new engagement makes a new
version of the lead even when its SystemModstamp did not move.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from json.encoder import encode_basestring as _json

from sfsync.models import EngagementEvent
from sfsync.rules.behavior import Engagement, EventKind

# Spellings feeds use for the kinds (after folding case, spaces and dashes to "_").
KIND_ALIASES: dict[str, EventKind] = {
    "pageview": EventKind.PAGE_VIEW,
    "view": EventKind.PAGE_VIEW,
    "whitepaper_download": EventKind.DOWNLOAD,
    "content_download": EventKind.DOWNLOAD,
    "open": EventKind.EMAIL_OPEN,
    "email_opened": EventKind.EMAIL_OPEN,
    "click": EventKind.EMAIL_CLICK,
    "email_clicked": EventKind.EMAIL_CLICK,
    "form": EventKind.FORM_SUBMISSION,
    "form_submit": EventKind.FORM_SUBMISSION,
    "search": EventKind.SITE_SEARCH,
    "social_engagement": EventKind.SOCIAL,
}
_SEPARATORS = re.compile(r"[\s\-]+")


def parse_kind(text: str) -> EventKind | None:
    """The event kind a feed means by `text` ("Page View", "page-view"), or None."""
    key = _SEPARATORS.sub("_", text.strip().casefold())
    try:
        return EventKind(key)
    except ValueError:
        return KIND_ALIASES.get(key)


def to_engagement(events: Iterable[EngagementEvent]) -> list[Engagement]:
    """The events the behaviour rules can score, oldest first (a stable order to hash)."""
    found = [
        Engagement(kind, event.at, event.detail)
        for event in events
        if not event.deleted and (kind := parse_kind(event.kind)) is not None
    ]
    return sorted(found, key=_order)


def fingerprint(engagement: Sequence[Engagement]) -> str:
    """A short, order-independent hash of a lead's engagement ("" when there is none).

    It is `stable_hash` of the sorted (time, kind, detail) rows, cut to 16
    digits; the JSON text of those rows is written here directly, which costs
    a third of `json.dumps` with its options (it runs for every engaged lead
    the pull reads). A unit test checks both always agree.
    """
    if not engagement:
        return ""
    rows = sorted(_order(e) for e in engagement)
    text = "[" + ", ".join(f"[{_json(a)}, {_json(b)}, {_json(c)}]" for a, b, c in rows) + "]"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _order(event: Engagement) -> tuple[str, str, str]:
    return (_iso(event.at), event.kind.value, event.detail or "")


def _iso(moment: datetime | date) -> str:
    # Dates sort before the datetimes of the same day, consistently.
    return moment.isoformat()
