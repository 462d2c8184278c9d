"""Text from outside (file names, model files) made safe to print on a terminal: control characters escaped.

A file name may hold a newline (a forged answer line below the real one), terminal escape sequences (hiding or
recolouring the real answer) or invisible direction marks. `escaped` writes each as its visible escape (`\\n`,
`\\x1b`, `\\u202e`), so what is printed is exactly one line holding every character of the name.
"""

from __future__ import annotations

import unicodedata

NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
"""Controls, format characters (direction marks, zero-width characters), line and paragraph separators."""


def _escape(ch: str) -> str:
    if ch in NAMED:
        return NAMED[ch]
    if unicodedata.category(ch) in HIDDEN_CATEGORIES:
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return ch


def escaped(text: object) -> str:
    """`text` with every control, format and line-separator character (and the backslash) written as its escape;
    letters in any script, accents and emoji stay as they are."""
    return "".join(_escape(ch) for ch in str(text))
