"""Read a Darwin Core Archive's `meta.xml` and reach its text files, in a zip or a folder.

`meta.xml` says, for the core and each extension, which file holds the rows, how the file is
delimited, how many header lines to skip, which column holds which term and which terms only
have a default value. Column headers in the files themselves are never trusted.
"""

from __future__ import annotations

import hashlib
import shutil
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from champy.errors import ChampyError

OCCURRENCE = "http://rs.tdwg.org/dwc/terms/Occurrence"
MULTIMEDIA = ("http://rs.gbif.org/terms/1.0/Multimedia", "http://rs.tdwg.org/ac/terms/Multimedia")
# What a damaged zip raises in zipfile: bad headers, cut-off or corrupt data, undecodable names,
# unsupported compression or encryption.
MAX_META_BYTES = 16 * 2**20  # meta.xml is a few KB; a larger one is a zip bomb, not a descriptor
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error)
STAMP_BLOCK = 64 * 2**10  # a folder file is recognised by its size, time and a hash of its first and last blocks
_ESCAPES = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\r\\n": "\r\n"}


class ArchiveError(ChampyError):
    """An archive that is not a readable Darwin Core Archive."""


@dataclass(frozen=True)
class Field:
    """Where a term's value comes from: a column index, a default value, or both."""

    index: int | None
    default: str | None


@dataclass(frozen=True)
class TableSpec:
    """One data file (core or extension) as `meta.xml` describes it."""

    row_type: str
    locations: tuple[str, ...]
    encoding: str
    delimiter: str
    line_terminator: str
    quote: str
    header_lines: int
    id_index: int | None
    fields: dict[str, Field]

    @property
    def width(self) -> int:
        """Number of columns the rows are read with (short rows are padded, extra columns dropped)."""
        indexes = [f.index for f in self.fields.values() if f.index is not None]
        if self.id_index is not None:
            indexes.append(self.id_index)
        return max(indexes, default=-1) + 1


@dataclass(frozen=True)
class ArchiveSpec:
    """The core table and the extensions of an archive."""

    core: TableSpec
    extensions: tuple[TableSpec, ...]

    def extension(self, row_types: tuple[str, ...]) -> TableSpec | None:
        """The first extension whose row type is one of `row_types`, if any."""
        return next((ext for ext in self.extensions if ext.row_type in row_types), None)


def term_name(term: str) -> str:
    """The short name of a term URI: `http://rs.tdwg.org/dwc/terms/genus` -> `genus`."""
    return term.strip().rstrip("/").replace("#", "/").rsplit("/", 1)[-1]


def _attribute(node: ET.Element, name: str, default: str) -> str:
    value = node.get(name)
    return default if value is None else value


def _index(node: ET.Element | None, what: str) -> int | None:
    if node is None or node.get("index") is None:
        return None
    try:
        return int(node.get("index", "").strip())
    except ValueError:
        raise ArchiveError(f"meta.xml: {what} index {node.get('index')!r} is not a number") from None


def _table(node: ET.Element, ns: str, is_core: bool) -> TableSpec:
    row_type = _attribute(node, "rowType", "").strip()
    locations = tuple(
        loc.text.strip() for loc in node.iterfind(f"{ns}files/{ns}location") if loc.text and loc.text.strip()
    )
    if not locations:
        raise ArchiveError(f"meta.xml: the {row_type or 'table'} entry names no data file (<files><location>)")
    lines = _attribute(node, "linesTerminatedBy", "\\n").strip(" ")
    lines = _ESCAPES.get(lines, lines)
    if lines not in ("\n", "\r\n", "\r"):
        raise ArchiveError(f"meta.xml: unsupported line terminator {lines!r}")
    delimiter = _attribute(node, "fieldsTerminatedBy", ",")
    try:
        header_lines = int(_attribute(node, "ignoreHeaderLines", "0"))
    except ValueError:
        raise ArchiveError(f"meta.xml: ignoreHeaderLines of {locations[0]} is not a number") from None
    fields: dict[str, Field] = {}
    for field in node.iterfind(f"{ns}field"):
        name = term_name(field.get("term", ""))
        if name and name not in fields:
            fields[name] = Field(_index(field, name), field.get("default"))
    id_node = node.find(f"{ns}id" if is_core else f"{ns}coreid")
    return TableSpec(
        row_type=row_type,
        locations=locations,
        encoding=_attribute(node, "encoding", "UTF-8").strip(),
        delimiter=_ESCAPES.get(delimiter, delimiter),
        line_terminator=lines,
        quote=node.get("fieldsEnclosedBy", '"'),
        header_lines=header_lines,
        id_index=_index(id_node, "id"),
        fields=fields,
    )


def parse_meta(text: bytes | str) -> ArchiveSpec:
    """Parse the content of a `meta.xml` file."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ArchiveError(f"meta.xml is not valid XML ({exc})") from None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    core = root.find(f"{ns}core")
    if core is None:
        raise ArchiveError("meta.xml has no <core> element")
    extensions = tuple(_table(ext, ns, is_core=False) for ext in root.iterfind(f"{ns}extension"))
    return ArchiveSpec(core=_table(core, ns, is_core=True), extensions=extensions)


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(part == "__MACOSX" or part.startswith("._") for part in parts)


def _meta_location(names: list[str], archive: Path) -> str:
    candidates = sorted(
        (n for n in names if PurePosixPath(n).name.lower() == "meta.xml" and not _is_junk(n)),
        key=lambda n: (len(PurePosixPath(n).parts), n),
    )
    if not candidates:
        raise ArchiveError(
            f"{archive.name} has no meta.xml, so it is not a Darwin Core Archive "
            "(a GBIF 'simple CSV' download has no image links: request a 'Darwin Core Archive' download)"
        )
    return candidates[0]


def _file_stamp(path: Path) -> list:
    stat = path.stat()
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as source:
        digest.update(source.read(STAMP_BLOCK))
        source.seek(max(STAMP_BLOCK, stat.st_size - STAMP_BLOCK))
        digest.update(source.read(STAMP_BLOCK))
    return [stat.st_size, stat.st_mtime_ns, digest.hexdigest()]


class Archive:
    """A Darwin Core Archive on disk (zip file or folder, possibly with everything in a sub-folder)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            self._zip = None
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("meta.xml")]
        elif self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except _ZIP_ERRORS as exc:
                raise ArchiveError(f"{self.path.name} is not a readable zip file ({exc})") from None
            names = self._zip.namelist()
        else:
            raise ArchiveError(f"archive not found: {self.path}")
        self._meta = _meta_location(names, self.path)
        self._base = PurePosixPath(self._meta).parent
        self.spec = parse_meta(self._read(self._meta))

    def _read(self, name: str) -> bytes:
        try:
            if self._zip is None:
                return (self.path / name).read_bytes()
            if self._zip.getinfo(name).file_size > MAX_META_BYTES:
                limit = MAX_META_BYTES // 2**20
                raise ArchiveError(f"{self.path.name}: {name} is larger than {limit} MB: not a descriptor")
            return self._zip.read(name)
        except (KeyError, *_ZIP_ERRORS) as exc:
            raise ArchiveError(f"{self.path.name}: cannot read {name} ({exc})") from None

    def local_file(self, location: str, work_dir: Path) -> Path:
        """A path on disk for the data file `location`; zip members are extracted into `work_dir`."""
        member = (self._base / location).as_posix()
        if self._zip is None:
            path = self.path / member
            if not path.is_file():
                raise ArchiveError(f"{self.path.name}: meta.xml names {location}, which is missing")
            return path
        try:
            info = self._zip.getinfo(member)
        except KeyError:
            raise ArchiveError(f"{self.path.name}: meta.xml names {location}, which is missing") from None
        target = work_dir / PurePosixPath(location).name
        work_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(work_dir).free
        if info.file_size > free:
            raise ArchiveError(
                f"{self.path.name}: {location} unpacks to {info.file_size / 2**30:.1f} GB but only "
                f"{free / 2**30:.1f} GB are free in {work_dir}"
            )
        try:
            with self._zip.open(info) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 4 * 2**20)
        except _ZIP_ERRORS as exc:
            raise ArchiveError(f"{self.path.name}: cannot extract {location} ({exc})") from None
        return target

    def fingerprint(self, locations: Iterable[str]) -> dict[str, list]:
        """What identifies the content of meta.xml and of the data files `locations`, read without unpacking.

        A zip member is known by its size and CRC-32; a file in a folder by its size, modification time and a
        hash of its first and last blocks, so a file edited in place is noticed.
        """
        members = [self._meta, *((self._base / location).as_posix() for location in locations)]
        try:
            if self._zip is not None:
                return {m: [self._zip.getinfo(m).file_size, self._zip.getinfo(m).CRC] for m in members}
            return {m: _file_stamp(self.path / m) for m in members}
        except (KeyError, OSError) as exc:
            raise ArchiveError(f"{self.path.name}: cannot read {exc}") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
