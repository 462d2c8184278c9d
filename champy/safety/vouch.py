"""Can Champy vouch for the species it names? The evidence a "low" risk level needs beyond a confident answer.

A confident answer is not enough: a network that knows 3 of the many boletes answers any bolete with one of its 3,
confidently. "low" also needs the photo to be closer to the photos the species was learned from (its training
photos and its licensed reference photos) than to the photos of any species Champy has no class for ("other fungi"
training photos, reference photos of look-alikes), by a margin chosen on photos from other sources (`champy
fit-safety`). An ensemble also needs its networks to agree on the species.

The bank of photos (embeddings only) is stored beside the safety profile in `models/<model>.vouch.npz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from champy.atomic import atomic_path
from champy.edibility.advice import named
from champy.errors import ChampyError

SUFFIX = ".vouch.npz"
NEAREST = 3
"""A species' similarity to a photo: the mean of its `NEAREST` most similar photos in the bank."""


@dataclass(frozen=True)
class VouchBank:
    """Embeddings of the photos a species was learned from, and of species without a class, with their names."""

    embeddings: np.ndarray
    species: tuple[str, ...]
    paths: tuple[str, ...]

    @cached_property
    def rows(self) -> dict[str, np.ndarray]:
        """The bank's rows of each species, grouped once (every identification reads them)."""
        species = np.asarray(self.species)
        return {name: np.flatnonzero(species == name) for name in dict.fromkeys(self.species)}

    def save(self, path: Path) -> None:
        """Write the bank atomically (float16 embeddings)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                embeddings=self.embeddings.astype(np.float16),
                species=np.asarray(self.species, str),
                paths=np.asarray(self.paths, str),
            )

    @classmethod
    def load(cls, path: Path) -> VouchBank:
        """The bank at `path`; ChampyError when it is missing, unreadable or inconsistent."""
        try:
            with np.load(path, allow_pickle=False) as data:
                embeddings = np.asarray(data["embeddings"], np.float32)
                species, paths = tuple(str(s) for s in data["species"]), tuple(str(p) for p in data["paths"])
        except (OSError, ValueError, KeyError) as exc:
            raise ChampyError(f"cannot read the vouch bank {path}: {exc}") from exc
        if embeddings.ndim != 2 or not len(embeddings) or not len(species) == len(embeddings) == len(paths):
            raise ChampyError(f"cannot use the vouch bank {path}: its embeddings and names do not match")
        if not np.isfinite(embeddings).all():
            raise ChampyError(f"cannot use the vouch bank {path}: an embedding holds a value that is not finite")
        return cls(embeddings, species, paths)

    def without(self, paths: set[str]) -> VouchBank:
        """The bank without the photos at `paths` (a test photo is never compared with itself or its siblings)."""
        keep = np.asarray([p not in paths for p in self.paths], bool)
        return VouchBank(
            self.embeddings[keep], tuple(np.asarray(self.species)[keep]), tuple(np.asarray(self.paths)[keep])
        )


def bank_path(profile_file: Path) -> Path:
    """Where the bank of the profile at `profile_file` (`models/x.safety.json`) lives: `models/x.vouch.npz`."""
    return profile_file.with_name(profile_file.name.removesuffix(".safety.json") + SUFFIX)


@dataclass(frozen=True)
class Evidence:
    """How one photo compares with the bank for an answered species."""

    own: float
    """Similarity to the answered species' photos."""
    rival: float
    """Similarity to the closest species without a class."""
    rival_species: str

    @property
    def margin(self) -> float:
        return self.own - self.rival


def _nearest_mean(similarity: np.ndarray) -> float:
    return float(np.sort(similarity)[-NEAREST:].mean())


def evidence(embedding: np.ndarray, answer: str, bank: VouchBank, classes: set[str]) -> Evidence | None:
    """The evidence for `answer` in one photo's embedding, or None when the bank has no photo of it or no rival."""
    similarity = bank.embeddings @ np.asarray(embedding, np.float32)
    rivals = [name for name in bank.rows if name not in classes]
    if answer not in bank.rows or not rivals:
        return None
    scored = {name: _nearest_mean(similarity[bank.rows[name]]) for name in rivals}
    rival = max(scored, key=scored.get)
    return Evidence(_nearest_mean(similarity[bank.rows[answer]]), scored[rival], rival)


def vouch_doubt(
    embeddings: np.ndarray | None, answer: str, labels: list[dict], bank: VouchBank | None, margin: float
) -> str | None:
    """Why Champy cannot vouch for `answer` on these photos (each must clear `margin`), in plain words, or None."""
    classes = {label["name"] for label in labels}
    if bank is None or embeddings is None:
        return f"Champy has no photos to check {named(answer)} against, so it cannot vouch for the species."
    if np.shape(embeddings)[-1] != bank.embeddings.shape[1]:
        return f"Champy cannot compare this photo with its photos of {named(answer)}, so it cannot vouch for it."
    for row in np.atleast_2d(embeddings):
        found = evidence(row, answer, bank, classes)
        if found is None:
            return f"Champy has no photos to check {named(answer)} against, so it cannot vouch for the species."
        if found.margin < margin:
            rival = named(found.rival_species)
            return (
                f"Champy cannot vouch for {named(answer)}: the photo looks about as much like {rival}, a species it "
                f"does not know, as like its photos of {named(answer)}. {_relatives(answer, labels)}"
            ).strip()
    return None


def _relatives(answer: str, labels: list[dict]) -> str:
    """ "Champy knows 3 species of the Boletaceae (...), of many." for the answer's family, or ""."""
    family = next((label.get("family", "") for label in labels if label["name"] == answer), "")
    if not family:
        return ""
    members = [label["name"] for label in labels if label.get("family") == family]
    listed = ", ".join(named(name) for name in members)
    return f"Of the many {family}, Champy knows only {len(members)}: {listed}."


def members_disagree(member_probs: np.ndarray, names: list[str], other_index: int | None) -> str | None:
    """Why an ensemble cannot vouch when its networks name different species (calibrated probabilities, one row
    per member), or None when they agree."""
    known = [i for i in range(len(names)) if i != other_index]
    answers = [names[known[int(np.argmax(row[known]))]] for row in np.atleast_2d(member_probs)]
    if len(set(answers)) <= 1:
        return None
    listed = " and ".join(named(name) for name in dict.fromkeys(answers))
    return f"Champy's networks do not agree on the species ({listed}), so it cannot vouch for one."
