"""Species names as the edibility table spells them: "Genus epithet", current names, known source errors fixed."""

from __future__ import annotations

# Names in the source tables that are wrong, mapped to the species they mean; None drops the name.
CORRECTIONS: dict[str, str | None] = {
    # lannyf: not a real name; the false chanterelle is Hygrophoropsis aurantiaca.
    "Hygrophorellus pseudoaurantiacus": "Hygrophoropsis aurantiaca",
    # lannyf: the shaggy inkcap is Coprinus comatus, not a Coprinellus.
    "Coprinellus comatus": "Coprinus comatus",
    # lannyf: "Bitter Bolete" under a name that does not exist; which species was meant cannot be told.
    "Caloboletus castaniceps": None,
}

# Older names used by the sources, mapped to the current names (the ones the photo classes use).
SYNONYMS = {
    "Boletus badius": "Imleria badia",
    "Boletus luridiformis": "Neoboletus luridiformis",
    "Neoboletus erythropus": "Neoboletus luridiformis",
    "Boletus erythropus": "Neoboletus luridiformis",
    "Boletus satanas": "Rubroboletus satanas",
    "Boletus subtomentosus": "Xerocomus subtomentosus",
    "Cantharellus tubaeformis": "Craterellus tubaeformis",
    "Inocybe erubescens": "Inosperma erubescens",
}


def binomial(raw: str) -> str:
    """The first two words as "Genus epithet" ("  leotia LUBRICA var. x" -> "Leotia lubrica"); "" if fewer."""
    words = raw.replace("_", " ").split()
    if len(words) < 2:
        return ""
    return f"{words[0].capitalize()} {words[1].lower()}"


def canonical_species(raw: str) -> str | None:
    """The table's name for `raw`: binomial, corrected, current; None for a name that is dropped or not a binomial."""
    name = binomial(raw)
    if not name:
        return None
    if name in CORRECTIONS:
        corrected = CORRECTIONS[name]
        if corrected is None:
            return None
        name = corrected
    return SYNONYMS.get(name, name)
