"""Look-alike species named in field-guide bullets such as "Death Cap (A. phalloides) - DEADLY. Greenish cap"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from champy.edibility.names import canonical_species

BULLET_SEPARATOR = " | "
# A bullet whose head is exactly a binomial: "Mycena pura (Lilac Bonnet)", "Clitocybe fragrans".
_HEAD_BINOMIAL = re.compile(r"^[A-Z][a-z]+ [a-z][a-z-]+$")
# A binomial opening a parenthesis: "(Boletus edulis)", "(A. spissa)", "(Inocybe geophylla var. lilacina)".
_PAREN_BINOMIAL = re.compile(r"\(([A-Z][a-z]+|[A-Z]\.) ([a-z][a-z-]+)")
_PARENTHESES = re.compile(r"\([^)]*\)")
# The sources write a dangerous verdict in capitals; "NOT POISONOUS" is not one.
_TOXIC_WORD = re.compile(r"(?<!NOT )\b(POISONOUS|DEADLY|TOXIC)\b")
# Words that open a head like "Various tricholomas" or "Other Russulas": a group, not a species.
_NOT_GENERA = {"Other", "Various", "Some", "Many", "Edible"}
_NOT_EPITHETS = {"species", "spp", "sp"}


@dataclass(frozen=True)
class Lookalike:
    """A species named as a look-alike, and whether its bullet calls it poisonous, deadly or toxic."""

    species: str
    flagged_toxic: bool


def bullet_species(bullet: str, host_genus: str) -> str | None:
    """The species a bullet names, abbreviated genera ("A. spissa") expanded from `host_genus`; None if none."""
    head = bullet.split(" - ", 1)[0]
    match = _PAREN_BINOMIAL.search(head)
    if match:
        genus, epithet = match.groups()
        if genus.endswith("."):
            if not host_genus.startswith(genus[0]):
                return None
            genus = host_genus
    else:
        plain = _PARENTHESES.sub("", head).strip()
        if not _HEAD_BINOMIAL.match(plain):
            return None
        genus, epithet = plain.split()
    if genus in _NOT_GENERA or epithet in _NOT_EPITHETS:
        return None
    return canonical_species(f"{genus} {epithet}")


def parse_bullets(text: str, host_species: str) -> list[Lookalike]:
    """The look-alikes named in " | "-joined bullets, without the host species itself, first mention kept."""
    found: dict[str, Lookalike] = {}
    for bullet in filter(None, (part.strip() for part in text.split(BULLET_SEPARATOR))):
        species = bullet_species(bullet, host_species.split()[0])
        if species is None or species == host_species:
            continue
        description = bullet.split(" - ", 1)[1] if " - " in bullet else ""
        flagged = bool(_TOXIC_WORD.search(description))
        previous = found.get(species)
        found[species] = Lookalike(species, flagged or (previous is not None and previous.flagged_toxic))
    return list(found.values())
