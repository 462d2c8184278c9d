"""The words the pages show people: model names, confidence in words, and risk reasons without developer detail."""

from __future__ import annotations

import re

from champy.inference import DEFAULT_MODEL

SHORT_DISCLAIMER = (
    "**Never eat a wild mushroom on the strength of this app.** Photo identification is often wrong: have every "
    "mushroom checked in person by an expert. Suspected poisoning: call a poison centre or the emergency number."
)
"""The disclaimer as the Identify page shows it, visible and compact (the CLI's JSON carries the full one)."""
BACKBONE_NAMES = {
    "mobilenet_v2": "MobileNetV2",
    "efficientnet_lite0": "EfficientNet-Lite0",
    "efficientnet_lite1": "EfficientNet-Lite1",
    "efficientnet_lite2": "EfficientNet-Lite2",
    "efficientnet_b0": "EfficientNet-B0",
    "resnet50": "ResNet50",
    "vgg16": "VGG16",
}
CONFIDENCE_WORDS = ((0.9, "Very likely"), (0.7, "Likely"), (0.4, "Possibly"), (0.0, "Unsure"))
"""(lowest calibrated probability, words): how sure an answer is, said in words before its number."""
_MEMBER_TAG = re.compile(r"\s*\(member [\w.-]+\)\.?\s*$")
_SIMILARITY = re.compile(r"\s*\(similarity [\d.]+, alarm at [\d.]+\)")
_SENTENCE_END = re.compile(r"(?<=\.) (?=[A-Z])")
SHORT_REASON_CHARS = 160


def model_label(name: str, backbone: str = "") -> str:
    """A model's name as people read it: the default ensemble as Champy's recommended choice, a shipped network
    (`<backbone>_species`) by the name its backbone is known by, any other network of a known backbone by that name
    and its own (two models never read alike); `name` itself otherwise."""
    if name == DEFAULT_MODEL:
        return "Champy, 3 networks together (recommended)"
    known = BACKBONE_NAMES.get(backbone)
    if not known:
        return name
    return f"{known} only" if name == f"{backbone}_species" else f"{known} only ({name})"


def confidence_words(probability: float) -> str:
    """'Very likely', 'Likely', 'Possibly' or 'Unsure' for a calibrated probability."""
    return next(words for floor, words in CONFIDENCE_WORDS if probability >= floor)


def plain_reason(reason: str) -> str:
    """A risk reason without its developer detail: no similarity figures, and a member network's finding said as
    one of Champy's networks instead of by its file name."""
    text = _SIMILARITY.sub("", reason).replace(
        "a species this model has no class for", "a species Champy does not know"
    )
    if _MEMBER_TAG.search(text):
        text = _MEMBER_TAG.sub("", text)
        text = re.sub(r"^The model gives", "One of Champy's networks alone gives", text)
        text = re.sub(r"^The photo resembles", "To one of Champy's networks, the photo resembles", text)
        text = text if text.endswith(".") else text + "."
    return text


def plain_reasons(reasons: list[str] | tuple[str, ...]) -> list[str]:
    """Every reason in plain words (`plain_reason`), each said once, in their order."""
    return list(dict.fromkeys(plain_reason(reason) for reason in reasons))


def short_reason(reason: str, limit: int = SHORT_REASON_CHARS) -> str:
    """A plain reason's first sentence; one still longer than `limit` characters stops before its colon (the genus
    route's explanation of what a photo hides is for "Why?")."""
    head = _SENTENCE_END.split(reason, maxsplit=1)[0]
    if len(head) > limit:
        head = head.split(": ", 1)[0]
    return head if head.endswith(".") else head + "."
