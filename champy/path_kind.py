"""What a path given by the user actually is, in words, for errors that say why it cannot be used."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def _kind(path: Path) -> str | None:
    """'a folder', 'a file', 'a device', 'a pipe', 'a socket', or None when nothing is there."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


def file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as a file ('file not found', 'is a folder, not a file'...), None if it can."""
    kind = _kind(Path(path))
    if kind == "a file":
        return None
    return "file not found" if kind is None else f"is {kind}, not a file"


def folder_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be used as a folder ('folder not found', 'is a file, not a folder'...), None if it can."""
    kind = _kind(Path(path))
    if kind == "a folder":
        return None
    return "folder not found" if kind is None else f"is {kind}, not a folder"
