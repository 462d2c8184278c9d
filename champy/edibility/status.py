"""Edibility statuses, from the most dangerous to the least, and how to compare them."""

from __future__ import annotations

from collections.abc import Iterable

# Danger order: a verdict earlier in the tuple is more dangerous. "unknown" means no source lists the species.
STATUSES = ("deadly", "poisonous", "inedible", "edible", "choice", "unknown")
TOXIC_STATUSES = frozenset({"deadly", "poisonous"})
EDIBLE_STATUSES = frozenset({"edible", "choice"})


def is_toxic(status: str) -> bool:
    """True for the statuses that can poison: deadly and poisonous."""
    return status in TOXIC_STATUSES


def most_dangerous(statuses: Iterable[str]) -> str:
    """The most dangerous of several verdicts (deadly > poisonous > inedible > edible > choice)."""
    return min(statuses, key=STATUSES.index)


def is_conflict(statuses: Iterable[str]) -> bool:
    """True when one verdict says edible (or choice) and another says not edible."""
    edible = {status in EDIBLE_STATUSES for status in statuses}
    return edible == {True, False}
