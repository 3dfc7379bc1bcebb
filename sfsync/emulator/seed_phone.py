"""Phone numbers kept as parts, so one number can be written in every way people write it.

A planted `phone_format` duplicate must carry the same number as its original
in another format ("+1 (415) 555-0134" vs "415.555.0134"), which needs the
parts, not the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from sfsync.emulator.seed_regions import City, Region


@dataclass(frozen=True)
class Phone:
    """A phone number as country code, trunk prefix, area code and local digits."""

    calling_code: str
    trunk: str
    area: str
    local: str
    grouping: str = "blocks"

    def styles(self) -> tuple[str, ...]:
        """Every way this number is written, most common first."""
        if self.calling_code == "1":
            return _nanp_styles(self)
        return _international_styles(self)

    def format(self, style: int) -> str:
        """The number written in style `style` (wrapping around the list)."""
        styles = self.styles()
        return styles[style % len(styles)]


def random_phone(rng: Random, region: Region, city: City) -> Phone:
    """A random number in `city`: real area code, random local digits."""
    digits = region.national_digits - len(city.area) if region.national_digits else 0
    size = digits or region.local_digits
    # Local numbers never start with 0 or 1 (those would read as trunk or country code).
    local = str(rng.randrange(2 * 10 ** (size - 1), 10**size))
    return Phone(region.calling_code, region.trunk, city.area, local, region.grouping)


def _nanp_styles(p: Phone) -> tuple[str, ...]:
    a, b = p.local[:3], p.local[3:]
    return (
        f"+1 ({p.area}) {a}-{b}",
        f"({p.area}) {a}-{b}",
        f"{p.area}.{a}.{b}",
        f"{p.area}-{a}-{b}",
        f"+1 {p.area} {a} {b}",
        f"1-{p.area}-{a}-{b}",
        f"+1{p.area}{p.local}",
    )


def _group(local: str, grouping: str) -> str:
    if grouping == "none":
        return local
    if grouping == "pairs":
        return " ".join(local[i : i + 2] for i in range(0, len(local), 2))
    split = len(local) - 4
    return f"{local[:split]} {local[split:]}"


def _international_styles(p: Phone) -> tuple[str, ...]:
    grouped = _group(p.local, p.grouping)
    area = f"{p.area} " if p.area else ""
    national = f"{p.trunk}{area}{grouped}"
    styles = [
        f"+{p.calling_code} {area}{grouped}",
        national,
        f"00{p.calling_code} {area}{grouped}",
        f"+{p.calling_code}{p.area}{p.local}",
    ]
    if p.trunk and p.area:
        styles.append(f"+{p.calling_code} ({p.trunk}){p.area} {grouped}")
    return tuple(dict.fromkeys(styles))
