"""Licence filter: which image licences allow reuse, including commercial use and derivatives."""

from __future__ import annotations

import re

_FREE_WORDS = ({"cc0"}, {"zero"}, {"publicdomain"}, {"public", "domain"}, {"pdm"})
_RESTRICTED_WORDS = {"nc", "nd", "noncommercial", "noderivs", "noderivatives", "reserved"}


def _words(licence: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", licence.lower())) - {""}


def is_free_licence(licence: str | None) -> bool:
    """True for CC0 / public domain, CC BY and CC BY-SA (any version, URL or short form).

    Non-commercial (NC), no-derivatives (ND), "all rights reserved", blank and unrecognised
    licences are not free.
    """
    words = _words(licence or "")
    if words & _RESTRICTED_WORDS:
        return False
    if any(required <= words for required in _FREE_WORDS):
        return True
    return "by" in words and bool(words & {"cc", "creativecommons", "licenses"})
