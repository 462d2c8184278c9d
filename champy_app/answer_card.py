"""The answer card at the top of the Identify page: the photo, what it is, how sure, and the risk level as the
card's colour, with two plain reasons and the rest behind "Why?". One HTML block: it arrives and draws at once."""

from __future__ import annotations

import html

from champy.edibility import lookup
from champy.inference import Identification
from champy.scoring.percent import probability_text
from champy_app.inline_images import image_uri
from champy_app.risk_style import headline, risk_style, shows_edible
from champy_app.wording import confidence_words, plain_reasons, short_reason

THUMBNAIL_PX = 168
"""Pixels of the card's square photo (shown at 5.5 rem: sharp on a phone's dense screen)."""
SHOWN_REASONS = 2
UNKNOWN_SPECIES = "a species Champy does not know"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def answer_lines(result: Identification) -> tuple[str, str, str]:
    """(title, second line, confidence) as HTML: the species with its common name, or what Champy can say instead."""
    top = result.species[0] if result.species else None
    if result.verdict == "not_a_mushroom":
        sure = 1.0 - result.mushroom_probability
        return "Not a mushroom", "", f"{confidence_words(sure)} · {probability_text(sure)} that it is not a mushroom"
    if result.verdict == "unknown":
        title = "A species Champy does not know"
        if result.answer_rank == "genus" and result.genus:
            title = f"An <i>{_esc(result.genus[0].name)}</i> Champy cannot name to species"
        closest = (
            f"Closest species it knows: <i>{_esc(top.name)}</i>, {probability_text(top.probability)}" if top else ""
        )
        return title, closest, f"Unsure · {probability_text(result.other_probability)} that it is {UNKNOWN_SPECIES}"
    common = lookup(top.name).common_name.split(";")[0].strip()
    return (
        f"<i>{_esc(top.name)}</i>",
        _esc(common),
        f"{confidence_words(top.probability)} · {probability_text(top.probability)}",
    )


def _reason_list(reasons: list[str]) -> str:
    return "".join(f"<li>{_esc(reason)}</li>" for reason in reasons)


def card_html(result: Identification) -> str:
    """The whole card as one HTML block (no blank line: markdown keeps it as it is)."""
    style = risk_style(result.risk)
    title, second, confidence = answer_lines(result)
    reasons = plain_reasons(result.risk.reasons if result.risk else [])
    photo = image_uri(result.photo, THUMBNAIL_PX, square=True) if result.photo is not None else ""
    thumbnail = (
        f'<img src="{photo}" alt="Your photo" style="width:5.5rem;height:5.5rem;object-fit:cover;border-radius:0.5rem;'
        f'flex:none;border:2px solid {style.ink}">'
        if photo
        else ""
    )
    shown = [short_reason(reason) for reason in reasons[:SHOWN_REASONS]]
    cut = [reason for reason, short in zip(reasons, shown) if short != reason]
    warnings = [w for w in result.warnings if shows_edible(result.risk) or "edible" not in w.lower()]
    more = [*cut, *reasons[SHOWN_REASONS:], *warnings]
    why = (
        f'<details style="margin-top:0.3rem"><summary style="cursor:pointer;font-weight:600;text-decoration:underline">'
        f'Why? ({len(more)} more)</summary><ul style="margin:0.3rem 0 0 1.1rem;padding:0">{_reason_list(more)}</ul>'
        "</details>"
        if more
        else ""
    )
    second_line = f'<div style="font-size:0.95rem">{second}</div>' if second else ""
    return (
        f'<div data-testid="champyAnswerCard" data-risk="{_esc(result.risk.level if result.risk else "unassessed")}" '
        f'role="region" aria-label="Answer: {_esc(style.label)}" style="background:{style.fill};color:{style.ink};'
        'border-radius:0.9rem;padding:0.8rem 0.9rem;margin-bottom:0.4rem;box-shadow:0 1px 4px rgba(0,0,0,0.25)">'
        f'<div style="display:flex;gap:0.8rem;align-items:center">{thumbnail}<div style="min-width:0;flex:1">'
        f'<div style="font-weight:800;font-size:1.15rem;letter-spacing:0.04em">{style.symbol} {_esc(style.label)}</div>'
        f'<div style="font-size:1.3rem;font-weight:700;line-height:1.25;overflow-wrap:anywhere">{title}</div>'
        f'{second_line}<div style="font-size:0.95rem;font-weight:600">{confidence}</div></div></div>'
        f'<div style="margin-top:0.5rem;font-weight:700">{_esc(headline(result.risk, result.verdict))}</div>'
        f'<ul style="margin:0.3rem 0 0 1.1rem;padding:0">'
        f"{_reason_list(shown)}</ul>{why}</div>"
    )
