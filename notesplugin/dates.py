"""Date facts every stage shares, so a reader and the engine never disagree on a year."""
from __future__ import annotations

PIVOT = 69  # two-digit years below this are 20xx, the rest 19xx (as strptime's %y reads them)


def full_year(year: int) -> int:
    """A year as written ("98", "2026") as four digits: 98 -> 1998, 24 -> 2024."""
    if year >= 100:
        return year
    return year + (2000 if year < PIVOT else 1900)
