"""The risk of an answer: could the mushroom in the photo be deadly or poisonous, whatever name the model gives?

Five routes, each adding a plain-language reason when it finds a danger plausible:

1. **probability**: the calibrated probability the model puts on deadly (or poisonous) species classes;
2. **confusion**: the model's known confusions: among the validation photos it answered the same way with at least
   this confidence, how many were of a deadly (or poisonous) species;
3. **genus**: the probability on a genus whose deadly members a photo cannot tell apart (`data/dangerous_genera.csv`);
4. **look-alike**: the photo's embedding is close to a licensed reference photo of a deadly species, or of a
   poisonous look-alike the model has no class for; it also runs on photos the gate rejected;
5. **table**: the edibility table names a deadly look-alike of the answered species (a puffball and an Amanita egg).

The level is "deadly" when a deadly species is plausible by any route, else "poisonous" when a poisonous one is,
else "uncertain" without a confident identification (more likely than not) of a species with edibility data,
else "low".
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from champy.edibility import lookup
from champy.edibility.advice import named
from champy.safety.genera import dangerous_genera
from champy.safety.profile import SafetyProfile, Thresholds
from champy.safety.vouch import vouch_doubt
from champy.scoring.percent import probability_text

log = logging.getLogger(__name__)
LEVELS = ("deadly", "poisonous", "uncertain", "low")
SAFE_STATUSES = frozenset({"edible", "choice", "inedible"})
MIN_SUPPORT = 20
"""The confusion route reads at least this many validation answers (the most confident ones) for a class, or all
of them when the class has fewer."""
LOW_CONFIDENCE = 0.5
""""low" needs the answered species to be more likely than not, and more likely than "a species I do not know"."""


@dataclass
class Risk:
    """The risk assessment of one answer."""

    level: str
    deadly_probability: float
    poisonous_probability: float
    reasons: list[str]
    dangerous_species: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "deadly_probability": round(self.deadly_probability, 4),
            "poisonous_probability": round(self.poisonous_probability, 4),
            "reasons": self.reasons,
            "dangerous_species": self.dangerous_species,
        }


@dataclass
class _Findings:
    """What the routes found: (status, species, reason) triples, and the probability estimates."""

    found: list[tuple[str, str, str]] = field(default_factory=list)
    deadly: float = 0.0
    poisonous: float = 0.0

    def add(self, status: str, species: str, reason: str) -> None:
        self.found.append((status, species, reason))

    def species(self, status: str) -> list[str]:
        return list(dict.fromkeys(name for found, name, _ in self.found if found == status))


def percent(value: float) -> str:
    """A probability in a reason: whole percents from 1 %, one decimal below ('> 99 %', '< 0.1 %' at the ends)."""
    return probability_text(value, 0) if value >= 0.01 else probability_text(value)


def at_least(value: float) -> str:
    """A lower bound in a reason: the whole percent at or under `value` (0.997 -> '99 %'), so "or more" stays true;
    never '100 %'."""
    tenths = min(math.floor(round(1000 * value, 6)), 990)  # rounded first: 0.29 * 1000 is 289.99999999999997
    return f"{tenths // 10} %" if value >= 0.01 else f"{tenths / 10:.1f} %"


def _probability_route(
    probs: np.ndarray, names: list[str], known: list[int], limits: Thresholds, findings: _Findings
) -> None:
    by_status: dict[str, list[tuple[str, float]]] = {"deadly": [], "poisonous": []}
    for index in known:
        status = lookup(names[index]).status
        if status in by_status:
            by_status[status].append((names[index], float(probs[index])))
    deadly = sum(p for _, p in by_status["deadly"])
    toxic = deadly + sum(p for _, p in by_status["poisonous"])
    findings.deadly, findings.poisonous = deadly, toxic
    for status, limit in (("deadly", limits.deadly_probability), ("poisonous", limits.poisonous_probability)):
        for species, probability in by_status[status]:
            if probability >= limit:
                findings.add(status, species, f"The model gives the {status} {named(species)} {percent(probability)}.")


def _confusion_route(probs: np.ndarray, names: list[str], profile: SafetyProfile, findings: _Findings) -> None:
    answer = int(np.argmax(probs))
    confidence = float(probs[answer])
    same = sorted((row for row in profile.validation if row.answer == answer), key=lambda r: -r.confidence)
    if not same:
        return
    support = [row for row in same if row.confidence >= confidence]
    if len(support) < MIN_SUPPORT:
        support = same[:MIN_SUPPORT]
    floor = min(row.confidence for row in support)
    hits = {
        status: [row.species for row in support if lookup(row.species).status == status]
        for status in ("deadly", "poisonous")
    }
    findings.deadly = max(findings.deadly, len(hits["deadly"]) / len(support))
    findings.poisonous = max(findings.poisonous, (len(hits["deadly"]) + len(hits["poisonous"])) / len(support))
    for status, found in hits.items():
        for species in dict.fromkeys(found):
            count = found.count(species)
            findings.add(
                status,
                species,
                (
                    f"In validation, {count} of {len(support)} photos the model answered {names[answer]} "
                    f"(at {at_least(floor)} or more) were the {status} {named(species)}."
                ),
            )


def _genus_route(
    probs: np.ndarray, labels: list[dict], known: list[int], limits: Thresholds, findings: _Findings
) -> None:
    mass: dict[str, float] = {}
    for index in known:
        genus = labels[index].get("genus") or labels[index]["name"].split()[0]
        mass[genus] = mass.get(genus, 0.0) + float(probs[index])
    for genus, probability in sorted(mass.items(), key=lambda item: -item[1]):
        entry = dangerous_genera().get(genus)
        if entry is None or probability < limits.dangerous_genus_probability:
            continue
        members = ", ".join(named(member) for member in entry.members[:3])
        for member in entry.members:
            status = entry.level if lookup(member).status == "unknown" else lookup(member).status
            if status in ("deadly", "poisonous"):
                findings.add(status, member, "")
        findings.add(
            entry.level,
            "",
            (
                f"{genus} ({percent(probability)} of the answer) includes {entry.level} species such as {members} "
                f"that a photo cannot tell apart: {entry.why[0].lower()}{entry.why[1:]}."
            ),
        )


def _lookalike_route(
    embeddings: np.ndarray | None, profile: SafetyProfile, names: list[str], findings: _Findings
) -> None:
    """Each photo against the bank (a specimen's views are compared one by one, never averaged)."""
    bank = profile.reference_matrix()
    if embeddings is None or not len(bank):
        return
    similarity = (np.atleast_2d(embeddings) @ bank.T).max(axis=0)
    best: dict[str, float] = {}
    for ref, score in zip(profile.references, similarity):
        best[ref.species] = max(best.get(ref.species, -1.0), float(score))
    limit = profile.thresholds.lookalike_similarity
    for species, score in sorted(best.items(), key=lambda item: -item[1]):
        status = lookup(species).status
        if score >= limit and status in ("deadly", "poisonous"):
            unknown = "" if species in names else ", a species this model has no class for"
            findings.add(
                status,
                species,
                (
                    f"The photo resembles the reference photos of the {status} {named(species)}{unknown} "
                    f"(similarity {score:.2f}, alarm at {limit:.2f})."
                ),
            )


def _table_route(species: str, findings: _Findings) -> None:
    """A deadly look-alike that the edibility table names for the answered species cannot be ruled out."""
    for lookalike in lookup(species).toxic_lookalikes:
        if lookup(lookalike).status == "deadly":
            findings.add(
                "deadly",
                lookalike,
                (f"{named(species)} has a deadly look-alike, {named(lookalike)}, that a photo cannot rule out."),
            )


def _usable(profile: SafetyProfile | None, embeddings: np.ndarray | None) -> SafetyProfile | None:
    """The profile, or None (no profile: never "low") when its look-alike bank cannot be compared with the photo's
    embeddings (another length: a profile of another model)."""
    bank = profile.reference_matrix() if profile is not None else np.zeros((0, 0))
    if embeddings is None or not len(bank) or np.shape(embeddings)[-1] == bank.shape[1]:
        return profile
    log.warning(
        "ignoring the safety profile of %s: its look-alike bank holds embeddings of %d values, the photo's have %d",
        profile.model,
        bank.shape[1],
        np.shape(embeddings)[-1],
    )
    return None


def _rejected_photo(
    embeddings: np.ndarray | None, profile: SafetyProfile | None, names: list[str], findings: _Findings
) -> Risk:
    """A photo the gate rejected: the probability and genus routes (already in `findings` when the answer is
    confident) and its resemblance to a dangerous species can still raise the risk; the table and the known
    confusions of an answer it never gave not."""
    if profile is not None:
        _lookalike_route(embeddings, profile, names, findings)
    for level in ("deadly", "poisonous"):
        reasons = list(dict.fromkeys(reason for status, _, reason in findings.found if status == level and reason))
        if reasons:
            note = "The gate judged this photo not a mushroom, but the findings below may mean it is one."
            species = [name for name in findings.species(level) if name]
            return Risk(level, findings.deadly, findings.poisonous, [note, *reasons], species)
    return Risk(
        "uncertain",
        findings.deadly,
        findings.poisonous,
        ["The photo does not look like a mushroom, so nothing was identified."],
    )


def _without_danger(
    probs: np.ndarray,
    labels: list[dict],
    other_index: int | None,
    verdict: str,
    embeddings: np.ndarray | None,
    profile: SafetyProfile | None,
    findings: _Findings,
) -> Risk:
    """ "low" for a confident identification of a species with edibility data that Champy can vouch for
    (`champy.safety.vouch`) under a safety profile, else "uncertain"."""
    names = [label["name"] for label in labels]
    known = [i for i in range(len(names)) if i != other_index]
    top = known[int(np.argmax(probs[known]))] if known else 0
    confidence = float(probs[top])
    other = float(probs[other_index]) if other_index is not None else 0.0
    status = lookup(names[top]).status
    if profile is None:
        reason = "This model has no safety profile: its known confusions and look-alikes were not checked."
    elif verdict != "mushroom":
        reason = "No confident identification: treat it as unknown."
    elif confidence < LOW_CONFIDENCE or confidence <= other:
        reason = (
            f"{names[top]} is the best guess at only {percent(confidence)}: not confident enough to call the risk low."
        )
    elif status not in SAFE_STATUSES:
        reason = f"No edibility data for {names[top]}."
    else:
        doubt = vouch_doubt(embeddings, names[top], labels, profile.vouch, profile.thresholds.vouch_margin)
        if doubt is None:
            reason = (
                f"Confident identification of {named(names[top])} ({status}); no check found a dangerous alternative."
            )
            return Risk("low", findings.deadly, findings.poisonous, [reason])
        reason = doubt
    return Risk("uncertain", findings.deadly, findings.poisonous, [reason])


def assess_risk(
    probs: np.ndarray,
    labels: list[dict],
    other_index: int | None,
    verdict: str,
    embeddings: np.ndarray | None = None,
    profile: SafetyProfile | None = None,
) -> Risk:
    """The risk of an answer from its calibrated class probabilities (averaged over the specimen's photos).

    `verdict` is the identification's ("mushroom", "unknown" or "not_a_mushroom"); `embeddings` the L2-normalised
    embedding of each photo (one row per photo); without a `profile` the confusion and look-alike routes are
    skipped, default thresholds apply and the level is never "low".
    """
    names = [label["name"] for label in labels]
    known = [i for i in range(len(names)) if i != other_index]
    profile = _usable(profile, embeddings)
    limits = profile.thresholds if profile else Thresholds()
    findings = _Findings()
    _probability_route(probs, names, known, limits, findings)
    if verdict == "not_a_mushroom":
        if known and float(probs[known].max()) >= LOW_CONFIDENCE:  # a confident answer that the gate doubts
            _genus_route(probs, labels, known, limits, findings)
        else:  # a cat is not a deadly mushroom because a sliver of probability sits on one
            findings = _Findings([], findings.deadly, findings.poisonous)
        return _rejected_photo(embeddings, profile, names, findings)
    if profile is not None:
        _confusion_route(probs, names, profile, findings)
        _lookalike_route(embeddings, profile, names, findings)
    _genus_route(probs, labels, known, limits, findings)
    if known and verdict == "mushroom":
        _table_route(names[known[int(np.argmax(probs[known]))]], findings)
    return _danger(findings) or _without_danger(probs, labels, other_index, verdict, embeddings, profile, findings)


def _danger(findings: _Findings) -> Risk | None:
    """ "deadly" or "poisonous" with every reason (the most severe first) when a route found a danger, else None."""
    ordered = sorted(findings.found, key=lambda found: LEVELS.index(found[0]))
    reasons = list(dict.fromkeys(reason for _, _, reason in ordered if reason))
    dangerous = [name for name in dict.fromkeys(findings.species("deadly") + findings.species("poisonous")) if name]
    for level in ("deadly", "poisonous"):
        if any(status == level for status, _, _ in findings.found):
            return Risk(level, findings.deadly, findings.poisonous, reasons, dangerous)
    return None


def member_dangers(
    probs: np.ndarray,
    labels: list[dict],
    other_index: int | None,
    embeddings: np.ndarray | None,
    profile: SafetyProfile | None,
) -> Risk:
    """What an ensemble member's probability and look-alike routes find in its own answer and embeddings, with its
    own profile ("uncertain" when they find no danger): beside the fused answer, whatever its verdict."""
    names = [label["name"] for label in labels]
    known = [i for i in range(len(names)) if i != other_index]
    profile = _usable(profile, embeddings)
    findings = _Findings()
    _probability_route(probs, names, known, profile.thresholds if profile else Thresholds(), findings)
    if profile is not None:
        _lookalike_route(embeddings, profile, names, findings)
    return _danger(findings) or Risk("uncertain", findings.deadly, findings.poisonous, [])


def with_member_dangers(own: Risk, members: dict[str, Risk]) -> Risk:
    """An ensemble's risk: its own assessment, raised to any danger found for one of its members (its reasons are
    kept, naming the member); whether an answer without danger is "low" or "uncertain" stays the ensemble's own
    judgement of its fused answer."""
    dangerous = {name: risk for name, risk in members.items() if risk.level in ("deadly", "poisonous")}
    levels = [own.level] + [risk.level for risk in dangerous.values()]
    level = min(levels, key=LEVELS.index)
    if level == own.level and not dangerous:
        return own
    reasons = list(own.reasons) if own.level in ("deadly", "poisonous") else []
    for name, risk in dangerous.items():
        reasons += [f"{reason} (member {name})" for reason in risk.reasons if reason not in own.reasons]
    species = [s for risk in (own, *dangerous.values()) for s in risk.dangerous_species]
    return Risk(
        level,
        max([own.deadly_probability] + [r.deadly_probability for r in dangerous.values()]),
        max([own.poisonous_probability] + [r.poisonous_probability for r in dangerous.values()]),
        list(dict.fromkeys(reasons)),
        list(dict.fromkeys(species)),
    )
