"""Read a DwC-A table's text files with DuckDB, choosing the fastest reading that is right for each file.

DuckDB's parallel CSV scan is right for the usual GBIF export (UTF-8, tab-separated, nothing quoted). Where a
file departs from that, the reading changes, and `PreparedTable.notes` says how:
- text in any other encoding Python knows is transcoded to UTF-8 first; a byte-order mark names the encoding
  whatever meta.xml says, and is dropped;
- a line-break character that is not the file's line terminator (a bare CR in an LF or CRLF file, a bare LF in
  a CR file) is swapped for a Unicode noncharacter before the scan and put back into the values after it, as
  DuckDB would end the row there;
- when the quote character occurs in a file, its table is scanned serially: the parallel scan refuses line
  breaks inside quoted values in rows of uneven length.
CRLF always ends a line. A file with CRs but no LF is CR-terminated whatever meta.xml says; one declared
CR-terminated without a bare CR is read as LF-terminated. CR-terminated files are scanned apart, with DuckDB
told so. U+0085 and U+2028 are never line breaks.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from champy.data.dwca import ArchiveError, Field, TableSpec

CHUNK = 8 * 2**20
# Noncharacters stand in for a CR or LF inside a value while DuckDB scans the file (Unicode keeps them for
# such internal use, so a real file never holds them).
CR_STAND_IN, LF_STAND_IN = "\ufdd0", "\ufdd1"
_STRAY = {CR_STAND_IN: re.compile(rb"\r(?!\n)"), LF_STAND_IN: re.compile(rb"(?<!\r)\n")}
_RESTORED = {CR_STAND_IN: "\r", LF_STAND_IN: "\n"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedTable:
    """A table's files, ready for DuckDB, and how they are to be read."""

    spec: TableSpec
    files: tuple[Path, ...]  # LF- or CRLF-terminated
    cr_files: tuple[Path, ...]  # CR-terminated, read with DuckDB told so
    serial: bool
    stand_ins: tuple[str, ...]
    notes: dict[str, str]


@dataclass
class _Breaks:
    cr: int = 0
    lf: int = 0
    crlf: int = 0
    quoted: bool = False


def _encoding(path: Path, declared: str) -> str:
    """The codec to read `path` with: its byte-order mark's, else the declared one."""
    with open(path, "rb") as source:
        start = source.read(4)
    bom = next((name for mark, name in _BOMS if start.startswith(mark)), None)
    try:
        name = codecs.lookup(bom or declared).name
    except LookupError:
        raise ArchiveError(f"meta.xml: unknown text encoding {declared!r} for {path.name}") from None
    return "utf-8" if name in ("utf-8", "utf-8-sig", "ascii") else name


def _transcode(path: Path, target: Path, encoding: str) -> None:
    """Write `path`, read as `encoding`, to `target` as UTF-8 without a byte-order mark."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, started = 0, False
    with open(path, "rb") as source, open(target, "w", encoding="utf-8", newline="") as sink:
        while True:
            chunk = source.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise ArchiveError(
                    f"{path.name} is not valid {encoding} text ({exc.reason} near byte {offset + exc.start:,})"
                ) from None
            if not started and text:
                text, started = text.removeprefix("\ufeff"), True
            sink.write(text)
            if not chunk:
                return
            offset += len(chunk)


def _count_breaks(path: Path, quote: bytes, count_lf: bool) -> _Breaks:
    """How many CRs and CRLFs `path` holds, and whether the quote character occurs. LFs are counted when
    `count_lf`; otherwise `lf` is only zero when there is none."""
    breaks, previous = _Breaks(), b""
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            breaks.lf += chunk.count(b"\n") if count_lf else b"\n" in chunk
            if b"\r" in chunk:
                breaks.cr += chunk.count(b"\r")
                breaks.crlf += chunk.count(b"\r\n")
            breaks.crlf += previous == b"\r" and chunk.startswith(b"\n")
            breaks.quoted = breaks.quoted or bool(quote and quote in chunk)
            previous = chunk[-1:]
    return breaks


def _line_breaks(breaks: _Breaks, declared: str) -> tuple[bool, str | None, int]:
    """Whether the file is CR-terminated; the stand-in for the line-break character that is not a line terminator
    in it, and how many there are.

    A file declared LF- or CRLF-terminated is CR-terminated only if it holds no LF at all, so there `breaks.lf`
    need not be a full count.
    """
    cr_lines = breaks.cr > breaks.crlf if declared == "\r" else breaks.lf == 0 and breaks.cr > 0
    stray_lf, stray_cr = breaks.lf - breaks.crlf, breaks.cr - breaks.crlf
    if cr_lines:
        return (True, LF_STAND_IN, stray_lf) if stray_lf else (True, None, 0)
    return (False, CR_STAND_IN, stray_cr) if stray_cr else (False, None, 0)


def _replace_stray(path: Path, target: Path, stand_in: str) -> None:
    """Copy `path` to `target` with each stray line-break character replaced by `stand_in`."""
    pattern, token = _STRAY[stand_in], stand_in.encode("utf-8")
    carry = b""
    with open(path, "rb") as source, open(target, "wb") as sink:
        while chunk := source.read(CHUNK):
            chunk = carry + chunk
            carry = chunk[-1:] if chunk.endswith(b"\r") else b""  # it may pair with an LF in the next chunk
            chunk = chunk[: len(chunk) - len(carry)]
            if token in chunk:
                raise ArchiveError(f"{path.name} holds the noncharacter U+{ord(stand_in):04X}, which is not text")
            sink.write(pattern.sub(token, chunk))
        sink.write(carry)


class _ReadyFile(NamedTuple):
    path: Path  # UTF-8, what DuckDB reads
    cr_lines: bool
    quoted: bool
    stand_in: str | None
    note: str


def _prepare_file(path: Path, spec: TableSpec, work: Path) -> _ReadyFile:
    """The file DuckDB is to read for `path` and how, rewritten into `work` where needed."""
    notes = []
    encoding = _encoding(path, spec.encoding)
    if encoding != "utf-8":
        transcoded = work / f"{path.name}.utf-8"
        _transcode(path, transcoded, encoding)
        notes.append(f"transcoded from {encoding} to UTF-8")
        path = transcoded
    breaks = _count_breaks(path, spec.quote.encode("utf-8"), count_lf=spec.line_terminator == "\r")
    cr_lines, stand_in, stray = _line_breaks(breaks, spec.line_terminator)
    if stand_in is not None:
        replaced = work / f"{path.name}.breaks"
        _replace_stray(path, replaced, stand_in)
        notes.append(f"{stray:,} {_RESTORED[stand_in]!r} inside values kept")
        path = replaced
    if cr_lines != (spec.line_terminator == "\r"):
        notes.append(f"lines end with {'CR' if cr_lines else 'LF'}, not as meta.xml says")
    if breaks.quoted:
        notes.append("quoted values: serial scan")
    return _ReadyFile(path, cr_lines, breaks.quoted, stand_in, "; ".join(notes) or "parallel scan")


def prepare_table(spec: TableSpec, files: list[Path], work: Path) -> PreparedTable:
    """Check each file of a table and rewrite the ones DuckDB would misread (into `work`)."""
    lf_files, cr_files, quoted, stand_ins, notes = [], [], False, set(), {}
    for number, path in enumerate(files):
        folder = work / str(number)
        folder.mkdir(parents=True, exist_ok=True)
        ready = _prepare_file(path, spec, folder)
        (cr_files if ready.cr_lines else lf_files).append(ready.path)
        quoted |= ready.quoted
        stand_ins |= {ready.stand_in} - {None}
        notes[spec.locations[number]] = ready.note
        log.info("%s: %s", spec.locations[number], ready.note)
    return PreparedTable(spec, tuple(lf_files), tuple(cr_files), quoted, tuple(sorted(stand_ins)), notes)


def literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _read_csv(table: PreparedTable, files: tuple[Path, ...], cr_lines: bool) -> str:
    spec = table.spec
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(spec.width)) + "}"
    paths = "[" + ", ".join(literal(str(f)) for f in files) + "]"
    quote = literal(spec.quote if table.serial else "")
    new_line = ", new_line='\\r'" if cr_lines else ""  # left to itself, DuckDB can take a quoted CRLF as the style
    return (
        f"read_csv({paths}, delim={literal(spec.delimiter)}, quote={quote}, escape={quote}, header=false, "
        f"skip={spec.header_lines}, columns={columns}, null_padding=true, strict_mode=false, auto_detect=false, "
        f"encoding='utf-8', parallel={str(not table.serial).lower()}{new_line})"
    )


def scan_sql(table: PreparedTable) -> str:
    """SQL reading the table's files into text columns c0, c1, ... (short rows padded, extra columns dropped)."""
    scans = [_read_csv(table, files, cr) for files, cr in ((table.files, False), (table.cr_files, True)) if files]
    return scans[0] if len(scans) == 1 else "(" + " UNION ALL ".join(f"SELECT * FROM {s}" for s in scans) + ")"


def cell_sql(table: PreparedTable, index: int) -> str:
    """SQL for column `index`'s value: line breaks put back, spaces trimmed, empty as NULL."""
    value = f"c{index}"
    for stand_in in table.stand_ins:
        value = f"replace({value}, chr({ord(stand_in)}), chr({ord(_RESTORED[stand_in])}))"
    return f"nullif(trim({value}), '')"


def field_sql(table: PreparedTable, field: Field | None) -> str:
    """SQL for a term's value: its cell, or the meta.xml default where the cell is empty or absent."""
    if field is None:
        return "NULL::VARCHAR"
    value = cell_sql(table, field.index) if field.index is not None else "NULL::VARCHAR"
    return value if field.default is None else f"coalesce({value}, {literal(field.default.strip())})"
