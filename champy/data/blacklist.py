"""Image hosts to skip: herbarium-sheet collections and dead servers seen in GBIF exports."""

from __future__ import annotations

from pathlib import Path

from champy.errors import ChampyError

DEFAULT_BLACKLIST = (
    "data.huh.harvard.edu",
    "fm-digital-assets.fieldmuseum.org",
    "mycoportal.org",
    "s3.msi.umn.edu",
    "mediaphoto.mnhn.fr/media",
    "unimus.no/felles",
    "oxalis.br.fgov.be/images",
)


def parse_entry(entry: str) -> tuple[str, str]:
    """`host[/path]` (a scheme is allowed) -> (lower-case host, path prefix such as `/media` or '')."""
    text = entry.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host, _, path = text.partition("/")
    return host.lower().strip("."), ("/" + path.strip("/")) if path.strip("/") else ""


def load_blacklist(path: str | Path | None) -> list[tuple[str, str]]:
    """The entries of a blacklist file (one per line, `#` comments), or the built-in defaults."""
    if path is None:
        return [parse_entry(e) for e in DEFAULT_BLACKLIST]
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ChampyError(f"cannot read the blacklist {path}: {exc}") from None
    entries = [line.split("#", 1)[0].strip() for line in lines]
    return [parse_entry(e) for e in entries if e]
