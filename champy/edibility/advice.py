"""Plain-language edibility warnings for a list of candidate species, and the permanent disclaimer."""

from __future__ import annotations

from champy.edibility.status import EDIBLE_STATUSES, STATUSES, is_toxic
from champy.edibility.table import EdibilityInfo, lookup, split_list
from champy.scoring.percent import probability_text

_STATUS_WORDS = {"deadly": "DEADLY", "poisonous": "poisonous"}
DISCLAIMER = (
    "Never eat a wild mushroom on the strength of this app or of any identification from a photo: "
    "photo identification is often wrong and some deadly species look like edible ones. "
    "Have every mushroom checked in person by an expert before eating it. "
    "If you suspect mushroom poisoning, call a poison centre or the emergency number at once."
)


def edibility_warnings(candidates: list[tuple[str, float]], min_probability: float = 0.05) -> list[str]:
    """Warnings for (species, probability) candidates given in descending probability.

    One per toxic candidate at or above `min_probability`; one naming the dangerous look-alikes (deadly first) of the
    top candidate; one when an edible top candidate could be confused with a likely toxic one.
    """
    likely = [(lookup(species), probability) for species, probability in candidates if probability >= min_probability]
    toxic = [(info, probability) for info, probability in likely if is_toxic(info.status)]
    warnings = [
        f"{named(info)} is {info.status} and is a candidate with {probability_text(probability)} probability."
        for info, probability in toxic
    ]
    if candidates and candidates[0][1] >= min_probability:
        top = likely[0][0]
        if top.toxic_lookalikes:
            ranked = sorted(
                (lookup(name) for name in top.toxic_lookalikes), key=lambda info: STATUSES.index(info.status)
            )
            listed = ", ".join(f"{named(info)}, {_STATUS_WORDS.get(info.status, 'toxic')}" for info in ranked)
            warnings.append(f"{named(top)} has dangerous look-alikes: {listed}.")
        others = [
            f"{info.species} ({info.status}, {probability_text(p)})" for info, p in toxic if info.species != top.species
        ]
        if top.status in EDIBLE_STATUSES and others:
            warnings.append(f"{named(top)} is {top.status} but could be confused with {', '.join(others)}.")
    return list(dict.fromkeys(warnings))


def named(info: EdibilityInfo | str) -> str:
    """The species with its first common name: "Amanita phalloides (Death Cap)" (a name is looked up first)."""
    info = lookup(info) if isinstance(info, str) else info
    common = split_list(info.common_name)
    return f"{info.species} ({common[0]})" if common else info.species
