"""What a reader sees of markdown escaped by `champy_app.support.as_text`: no backslash escapes, no link breaks."""

from __future__ import annotations

import re

from champy_app.support import LINK_BREAK

ESCAPED_PUNCTUATION = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown_text(markdown: str) -> str:
    """`markdown` without CommonMark's backslash escapes of ASCII punctuation and without `LINK_BREAK`s."""
    return ESCAPED_PUNCTUATION.sub(r"\1", markdown).replace(LINK_BREAK, "")
