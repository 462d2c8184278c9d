"""A probability as a person should read it: a percentage never rounded up to certainty or down to impossibility."""

from __future__ import annotations


def probability_text(probability: float, decimals: int = 1) -> str:
    """`probability` as a percentage with `decimals` decimals ('87.3 %'); where that would read '100.0 %' or '0.0 %',
    which no photo warrants, '> 99.9 %' and '< 0.1 %' instead ('> 99 %' and '< 1 %' with no decimal)."""
    shown = round(100 * probability, decimals)
    step = 10.0**-decimals
    if shown >= 100:
        return f"> {100 - step:.{decimals}f} %"
    if shown <= 0:
        return f"< {step:.{decimals}f} %"
    return f"{shown:.{decimals}f} %"
