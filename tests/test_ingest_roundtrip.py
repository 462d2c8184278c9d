"""Property test: any values written in any layout the Darwin Core text guide allows come back from the ingest as
written (spaces trimmed, empty as NULL), one occurrence per row and its image joined."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ingest_layouts import CSV_LAYOUT, TAB_LAYOUT, write_archive

from champy.data.ingest import ingest

LINE_ENDS = {"\n": "\\n", "\r\n": "\\r\\n", "\r": "\\r"}  # as written in meta.xml
ENCODINGS = {"UTF-8": "utf-8", "UTF-16": "utf-16", "windows-1252": "cp1252"}
# Line breaks of every kind, quotes, delimiters, spaces and letters outside ASCII.
UNICODE_ONLY = "\u0085\u2028"
ALPHABET = 'aé€ ",\t\n\r' + UNICODE_ONLY


@st.composite
def archives(draw) -> tuple[dict, bytes, list[str]]:
    """(core layout, core file, the species value of each row)."""
    encoding = draw(st.sampled_from(sorted(ENCODINGS)))
    quoted = draw(st.booleans())
    line_end = draw(st.sampled_from(sorted(LINE_ENDS)))
    alphabet = ALPHABET if encoding != "windows-1252" else "".join(c for c in ALPHABET if c not in UNICODE_ONLY)
    if not quoted:  # without quotes a value cannot hold the delimiter or the line terminator
        alphabet = alphabet.replace("\t", "").replace(line_end[-1], "")
    species = draw(st.lists(st.text(alphabet, max_size=12), min_size=1, max_size=8))
    rows = [[str(number), value, "55.5", "12.5"] for number, value in enumerate(species, start=1)]
    if quoted:
        text = io.StringIO()
        csv.writer(text, lineterminator=line_end).writerows(rows)
        content, layout = text.getvalue(), CSV_LAYOUT
    else:
        content, layout = "".join("\t".join(row) + line_end for row in rows), TAB_LAYOUT
    layout = {**layout, "encoding": encoding, "linesTerminatedBy": LINE_ENDS[line_end]}
    return layout, content.encode(ENCODINGS[encoding]), species


@settings(max_examples=40, deadline=None)
@given(archives())
def test_values_come_back_as_written(archive):
    layout, content, species = archive
    media = "".join(f"{n}\thttps://img.example/{n}.jpg\t\n" for n in range(1, len(species) + 1)).encode()
    with tempfile.TemporaryDirectory() as folder:
        ingest(write_archive(Path(folder) / "archive", content, media, core_layout=layout), Path(folder) / "out")
        occurrences = duckdb.sql(f"SELECT gbifID, species FROM '{folder}/out/occurrences.parquet'").fetchall()
        images = duckdb.sql(f"SELECT gbifID FROM '{folder}/out/images.parquet'").fetchall()
    expected = {str(n): value.strip(" ") or None for n, value in enumerate(species, start=1)}
    assert dict(occurrences) == expected and len(occurrences) == len(species)
    assert sorted(gbif_id for (gbif_id,) in images) == sorted(expected)
