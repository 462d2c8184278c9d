"""An ensemble model: several shipped species models answering as one.

Its card (`models/<name>.ensemble.json`, written by `champy fit-ensemble`) names the member models and their
weights. The ensemble's probabilities are the weighted average of the members' calibrated probabilities, calibrated
again by the ensemble's own temperature. The gate is one member's (named in the card), Grad-CAM of each photo's
fused answer is drawn by the member with the largest weight, and the embedding the look-alike route compares is the
members' embeddings side by side, each scaled by the square root of its weight (so its cosine similarity is the
weighted mean of the members').

An ensemble runs wherever a single model does (`identify`, `champy evaluate`, `champy fit-safety`): it has the same
`labels`, `temperature`, `gate`, `safety`, `pixels`, `load_pixels`, `predict_paths`, `outputs`, `run`, `risk` and
`compile`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from champy.errors import ModelLoadError
from champy.images import load_image
from champy.inference.model import ChampyModel, Outputs, matching_profile
from champy.models.card import model_name
from champy.safety.risk import Risk, assess_risk, member_dangers, with_member_dangers
from champy.safety.vouch import members_disagree
from champy.scoring.calibration import apply_temperature

PixelSet = dict[int, np.ndarray]
"""An ensemble's input: one pixel batch per member input size."""


def fuse(member_probs: list[np.ndarray], weights: list[float] | np.ndarray) -> np.ndarray:
    """The weighted average of the members' calibrated probabilities (the weights are scaled to sum to 1)."""
    weights = np.asarray(weights, np.float64)
    return sum(w * p for w, p in zip(weights / weights.sum(), member_probs))


def member_problems(card: dict, members: list[ChampyModel]) -> list[str]:
    """Why the loaded `members` are not the models the ensemble card was fitted with (empty when they are)."""
    problems = []
    names = [label["name"] for label in card["labels"]]
    for entry, member in zip(card["members"], members):
        if [label["name"] for label in member.labels] != names:
            problems.append(f"{member.name} has another class list")
        if str(member.card.get("created", "")) != str(entry.get("created", "")):
            problems.append(f"{member.name} was retrained after the ensemble was fitted (refit it)")
    return problems


class EnsembleModel:
    """A shipped ensemble ready for inference (load it with `load_model`; its members are loaded by `loader`)."""

    def __init__(self, path: Path, card: dict, loader: Callable[[str], ChampyModel]) -> None:
        self.path = path
        self.name = model_name(path)
        self.card = card
        try:
            self.members = [loader(entry["model"]) for entry in card["members"]]
            self.weights = np.asarray([float(entry["weight"]) for entry in card["members"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path.name}: the members are not listed as model and weight ({exc})") from None
        problems = member_problems(card, self.members)
        if problems:
            raise ModelLoadError(f"{path.name}: " + "; ".join(problems))
        self.labels: list[dict] = card["labels"]
        self.size = max(member.size for member in self.members)
        self.other_index: int | None = card.get("other_index")
        self.temperature = float(card.get("calibration", {}).get("temperature", 1.0))
        self.unknown_threshold = float(card.get("open_set", {}).get("unknown_threshold", 0.0))
        self.open_set_score: str = card.get("open_set", {}).get("score", "known_confidence")
        self.backbone = card["backbone"]
        by_name = {member.name: member for member in self.members}
        self.gate_member = by_name.get(card.get("gate_member", ""), self.members[0])
        self.gate = self.gate_member.gate
        self.explainer = self.members[int(np.argmax(self.weights))]
        self._pool = ThreadPoolExecutor(len(self.members), thread_name_prefix=f"{self.name} member")
        self.embedding_size = sum(member.embedding_size for member in self.members)  # theirs side by side
        self.safety = matching_profile(path, card, self.embedding_size)

    def compile(self, enabled: bool = True, build: bool = True) -> bool:
        """`ChampyModel.compile` for every member; True when all of them run compiled."""
        compiled = [member.compile(enabled, build) for member in self.members]  # every member, even after a False
        return all(compiled)

    @property
    def compiled(self) -> bool:
        """Whether every member's forward pass runs compiled for the CPU."""
        return all(member.compiled for member in self.members)

    def count_params(self) -> int:
        """The members' number of weights, together."""
        return sum(member.count_params() for member in self.members)

    @property
    def files(self) -> list[Path]:
        """The files the ensemble is made of: its card and its members' networks."""
        return [self.path, *(path for member in self.members for path in member.files)]

    def pixels(self, photos: list) -> PixelSet:
        """The input for decoded photos: one batch per member input size."""
        return {size: self._member_of_size(size).pixels(photos) for size in self._sizes()}

    def load_pixels(self, paths: list[str]) -> PixelSet:
        """The input for photo files, each decoded once as `identify` decodes it."""
        return self.pixels([load_image(path, draft_size=2 * self.size) for path in paths])

    def member_probabilities(self, paths: list[str], batch_size: int = 32) -> list[np.ndarray]:
        """Each member's calibrated probabilities for photo files (decoded as `identify` decodes them)."""
        batches = [[np.zeros((0, len(self.labels)))] * len(self.members)]
        for start in range(0, len(paths), batch_size):
            pixels = self.load_pixels(paths[start : start + batch_size])
            batches.append([apply_temperature(m.forward(pixels[m.size]), m.temperature) for m in self.members])
        return [np.concatenate([batch[i] for batch in batches]) for i in range(len(self.members))]

    def predict_with_members(self, paths: list[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """The fused probabilities before the ensemble's own temperature, and each member's calibrated ones
        (shape (members, photos, classes), what its open-set score reads)."""
        members = np.stack(self.member_probabilities(paths, batch_size))
        return fuse(list(members), self.weights), members

    def predict_paths(self, paths: list[str], batch_size: int = 32) -> np.ndarray:
        """The fused probabilities before the ensemble's own temperature (as `ChampyModel.predict_paths`)."""
        return self.predict_with_members(paths, batch_size)[0]

    def outputs(self, pixels: PixelSet, class_index: int | None = None, explain: bool = True) -> Outputs:
        """Fused probabilities (before the ensemble's temperature), the gate member's ImageNet features, Grad-CAM of
        each photo's fused answer (or of `class_index`), the joint embedding and each member's calibrated
        probabilities."""
        # side by side: about a fifth faster than one after the other on 2 cores in TensorFlow; compiled, the two
        # measure the same within their spread on idle cores; side by side holds up better beside a busy process
        passes = self._pool.map(
            lambda member: member.outputs(pixels[member.size], class_index, explain and member is self.explainer),
            self.members,
        )
        runs = {member.name: out for member, out in zip(self.members, passes)}
        members = np.stack([apply_temperature(runs[m.name].probs, m.temperature) for m in self.members])
        fused = fuse(list(members), self.weights)
        explained = runs[self.explainer.name]
        cams = explained.cams
        if explain and class_index is None:
            cams = self._explain_answer(pixels, fused, explained.probs, cams)
        scale = np.sqrt(self.weights / self.weights.sum())
        joint = np.concatenate([s * runs[m.name].embeddings for s, m in zip(scale, self.members)], axis=1)
        parts = tuple(runs[m.name] for m in self.members)
        return Outputs(fused, runs[self.gate_member.name].gate_features, cams, joint, members, parts)

    def risk(self, probs: np.ndarray, verdict: str, out: Outputs) -> Risk:
        """The risk of the fused answer, raised to any danger a member finds in its own answer: by its probability
        and look-alike routes on every answer, by all its routes without a confident identification (verdict
        "unknown" or "not_a_mushroom"), when the mushroom could be any of them."""
        own = assess_risk(probs, self.labels, self.other_index, verdict, out.embeddings, self.safety)
        members = {}
        for member, calibrated, part in zip(self.members, out.members, out.parts):
            answer = calibrated.mean(axis=0)
            members[member.name] = (
                member_dangers(answer, member.labels, member.other_index, part.embeddings, member.safety)
                if verdict == "mushroom"
                else member.risk(answer, verdict, part)
            )
        risk = with_member_dangers(own, members)
        names = [label["name"] for label in self.labels]
        doubt = members_disagree(out.members.mean(axis=1), names, self.other_index) if risk.level == "low" else None
        return Risk("uncertain", risk.deadly_probability, risk.poisonous_probability, [doubt]) if doubt else risk

    def run(self, pixels: PixelSet, class_index: int | None = None, explain: bool = True, with_features: bool = False):
        """As `ChampyModel.run`: (probabilities, gate features, Grad-CAM maps[, embeddings])."""
        out = self.outputs(pixels, class_index, explain)
        result = (out.probs, out.gate_features, out.cams)
        return (*result, out.embeddings) if with_features else result

    def _explain_answer(self, pixels: PixelSet, fused: np.ndarray, own: np.ndarray, cams: np.ndarray) -> np.ndarray:
        """Grad-CAM of each photo's fused answer where the explaining member alone would answer otherwise."""
        cams = cams.copy()
        answers = fused.argmax(axis=1)
        for row in np.flatnonzero(answers != own.argmax(axis=1)):
            photo = pixels[self.explainer.size][row : row + 1]
            cams[row] = self.explainer.run(photo, class_index=int(answers[row]), explain=True)[2][0]
        return cams

    def _sizes(self) -> list[int]:
        return sorted({member.size for member in self.members})

    def _member_of_size(self, size: int) -> ChampyModel:
        return next(member for member in self.members if member.size == size)


Model = ChampyModel | EnsembleModel
"""Anything `load_model` returns."""
