"""How each risk level looks: a filled, colour-blind-safe style with a symbol and a headline.

The four fills differ in hue and in lightness (dark red, bright orange, dark purple, pale blue: the ends of the
colour-blind-safe PuOr and RdBu schemes), so they stay apart in grey and for red-green colour blindness; the
symbol and the level's name say it in words too. Nothing is green: no answer may look safe.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from champy.safety import Risk

DANGEROUS_LEVELS = ("deadly", "poisonous")


@dataclass(frozen=True)
class RiskStyle:
    """A risk level's label, symbol, fill and text colours, and what it tells the reader to do."""

    label: str
    symbol: str
    fill: str
    ink: str
    headline: str


RISK_STYLES = {
    "deadly": RiskStyle("DEADLY", "\u2620", "#67001f", "#ffffff", "A deadly species is plausible. Do not eat it."),
    "poisonous": RiskStyle(
        "POISONOUS", "\u26a0", "#e66101", "#1a1a1a", "A poisonous species is plausible. Do not eat it."
    ),
    "uncertain": RiskStyle(
        "UNCERTAIN", "?", "#5e3c99", "#ffffff", "No identification Champy can vouch for. Do not eat it."
    ),
    "low": RiskStyle(
        "LOW RISK",
        "i",
        "#d1e5f0",
        "#053061",
        "No check found a dangerous look-alike. Edible only if an expert confirms it with the specimen in hand.",
    ),
}
UNASSESSED = RiskStyle("NOT ASSESSED", "?", "#5e3c99", "#ffffff", "The risk was not assessed. Do not eat it.")
NO_MUSHROOM_HEADLINE = "Champy sees no mushroom in this photo. For a mushroom, photograph its cap, gills and stem."


def risk_style(risk: Risk | None) -> RiskStyle:
    """The style of `risk`'s level (`UNASSESSED` without a risk)."""
    return RISK_STYLES[risk.level] if risk is not None else UNASSESSED


def headline(risk: Risk | None, verdict: str) -> str:
    """What the level tells the reader; a photo that is not a mushroom is told so, not to leave it uneaten, unless a
    danger was found in it all the same."""
    if verdict == "not_a_mushroom" and not is_dangerous(risk):
        return NO_MUSHROOM_HEADLINE
    return risk_style(risk).headline


def is_dangerous(risk: Risk | None) -> bool:
    """Whether the risk level is deadly or poisonous."""
    return risk is not None and risk.level in DANGEROUS_LEVELS


def shows_edible(risk: Risk | None) -> bool:
    """Whether 'edible' may be said near this answer: never beside a deadly or poisonous level."""
    return not is_dangerous(risk)


def level_pill(risk: Risk | None) -> str:
    """The level as a small filled pill (symbol and name), as HTML."""
    style = risk_style(risk)
    return (
        f'<span data-risk-level="{html.escape(style.label)}" style="display:inline-block;padding:0.15rem 0.55rem;'
        f"border-radius:999px;background:{style.fill};color:{style.ink};font-weight:700;font-size:0.85rem;"
        f'letter-spacing:0.03em;white-space:nowrap">{style.symbol} {html.escape(style.label)}</span>'
    )
