"""Crontab expressions as people write them, made safe for APScheduler."""

from __future__ import annotations

CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_days(expression: str) -> str:
    """The expression with a numeric day-of-week field spelled out in day names.

    crontab counts days from Sunday = 0 (or 7); APScheduler counts from
    Monday = 0, so "1-5" would silently mean Tuesday to Saturday. Names mean
    the same to both.
    """
    fields = expression.split()
    if len(fields) != 5 or not any(ch.isdigit() for ch in fields[4]):
        return expression
    names = {CRONTAB_DAYS[d] for part in fields[4].split(",") for d in _days(part)}
    fields[4] = ",".join(name for name in CRONTAB_DAYS[:7] if name in names)
    return " ".join(fields)


def _days(part: str) -> range:
    spec, _, step = part.partition("/")
    if spec == "*":
        first, last = 0, 6
    elif "-" in spec:
        first, last = (int(x) for x in spec.split("-", 1))
    else:
        first = last = int(spec)
    if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last):
        raise ValueError(f"day of week {part!r} is out of range 0-7")
    return range(first, last + 1, int(step) if step else 1)
