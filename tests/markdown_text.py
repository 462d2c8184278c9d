"""What a reader sees of markdown that `champy_app.support.as_text` escaped: the backslash escapes and link breaks gone."""

from __future__ import annotations

import re

from champy_app.support import LINK_BREAK

ESCAPED_PUNCTUATION = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown_text(markdown: str) -> str:
    """`markdown` without CommonMark's backslash escapes of ASCII punctuation and without `LINK_BREAK`s."""
    return ESCAPED_PUNCTUATION.sub(r"\1", markdown).replace(LINK_BREAK, "")
