"""Ingest of small archives written here, one for each layout the Darwin Core text guide allows (and the quirks of
real exports); each test states the occurrences and images it expects."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import duckdb
import pytest

from champy.data.dwca import ArchiveError
from champy.data.ingest import ingest, is_ingested

DWC, GBIF_TERMS, DC = "http://rs.tdwg.org/dwc/terms/", "http://rs.gbif.org/terms/1.0/", "http://purl.org/dc/terms/"
TAB_LAYOUT = {"fieldsTerminatedBy": "\\t", "linesTerminatedBy": "\\n", "fieldsEnclosedBy": "", "encoding": "UTF-8"}
CSV_LAYOUT = {**TAB_LAYOUT, "fieldsTerminatedBy": ",", "fieldsEnclosedBy": '"'}
# Core: id, species, decimalLatitude, decimalLongitude; countryCode only as a default.
CORE_FIELDS = (
    f'<field index="1" term="{GBIF_TERMS}species"/><field index="2" term="{DWC}decimalLatitude"/>'
    f'<field index="3" term="{DWC}decimalLongitude"/><field default="DK" term="{DWC}countryCode"/>'
)
# Multimedia: core id, image URL, licence (a default fills the empty cells).
MEDIA_FIELDS = f'<field index="1" term="{DC}identifier"/><field index="2" default="CC0" term="{DC}license"/>'
AMANITA, BOLETUS = ("1", "Amanita muscaria", 55.5, 12.5), ("2", "Boletus edulis", 56.0, 10.0)
TWO_RECORDS = [AMANITA, BOLETUS]
THREE_IMAGES = [
    ("1", 1, "https://img.example/a1.jpg", "CC0"),
    ("1", 2, "https://img.example/a2.jpg", "CC-BY"),
    ("2", 1, "https://img.example/b1.jpg", "CC0"),
]
MEDIA_TEXT = "1\thttps://img.example/a1.jpg\t\n1\thttps://img.example/a2.jpg\tCC-BY\n2\thttps://img.example/b1.jpg\t\n"


def _attributes(layout: dict) -> str:
    return " ".join(f"{key}={quoteattr(value)}" for key, value in layout.items())


def write_archive(
    folder: Path,
    core: bytes | list[bytes],
    media: bytes = MEDIA_TEXT.encode(),
    core_layout: dict = TAB_LAYOUT,
    media_layout: dict = TAB_LAYOUT,
) -> Path:
    """A folder archive: meta.xml with the layouts given, one core file per item of `core`, one multimedia file."""
    folder.mkdir(parents=True, exist_ok=True)
    cores = core if isinstance(core, list) else [core]
    for number, content in enumerate(cores):
        (folder / f"occurrence{number}.txt").write_bytes(content)
    (folder / "multimedia.txt").write_bytes(media)
    locations = "".join(f"<location>occurrence{n}.txt</location>" for n in range(len(cores)))
    (folder / "meta.xml").write_text(
        f'<archive xmlns="http://rs.tdwg.org/dwc/text/">'
        f'<core {_attributes(core_layout)} rowType="{DWC}Occurrence"><files>{locations}</files>'
        f'<id index="0"/>{CORE_FIELDS}</core>'
        f'<extension {_attributes(media_layout)} rowType="{GBIF_TERMS}Multimedia">'
        f'<files><location>multimedia.txt</location></files><coreid index="0"/>{MEDIA_FIELDS}</extension></archive>'
    )
    return folder


def tables(out: Path) -> tuple[list[tuple], list[tuple]]:
    """(gbifID, species, latitude, longitude) per occurrence and (gbifID, n, URL, licence) per image, sorted."""
    occurrences = duckdb.sql(
        f"SELECT gbifID, species, decimalLatitude, decimalLongitude "
        f"FROM '{out / 'occurrences.parquet'}' ORDER BY gbifID"
    ).fetchall()
    images = duckdb.sql(
        f"SELECT gbifID, n, identifier, license FROM '{out / 'images.parquet'}' ORDER BY gbifID, n"
    ).fetchall()
    return occurrences, images


def ingested(tmp_path: Path, *args, **kwargs) -> tuple[dict, list[tuple], list[tuple]]:
    report = ingest(write_archive(tmp_path / "archive", *args, **kwargs), tmp_path / "out")
    return (report, *tables(tmp_path / "out"))


def test_plain_gbif_layout_uses_the_parallel_scan(tmp_path):
    report, occurrences, images = ingested(tmp_path, b"1\tAmanita muscaria\t55.5\t12.5\n2\tBoletus edulis\t56\t10\n")
    assert occurrences == TWO_RECORDS and images == THREE_IMAGES
    assert report["reading"] == {"occurrence0.txt": "parallel scan", "multimedia.txt": "parallel scan"}
    assert report["dropped"] == {}


@pytest.mark.parametrize("delimiter", [",", "\\t"])
def test_quoted_values_with_line_breaks_delimiters_and_doubled_quotes(tmp_path, delimiter):
    sep = "\t" if delimiter == "\\t" else ","
    core = (
        f'"1"{sep}"Amanita\nmuscaria"{sep}55.5{sep}12.5\r\n'
        f'2{sep}"Boletus{sep} ""edulis"""{sep}"56"{sep}10\r\n'
        f'3{sep}"Russula\r\n""x"""\n'
    ).encode()
    media = (
        f'1{sep}https://img.example/a1.jpg{sep}\n"1"{sep}"https://img.example/a2.jpg"{sep}"CC-BY"\n'
        f'2{sep}https://img.example/b1.jpg{sep}""\n'
    )
    report, occurrences, images = ingested(
        tmp_path,
        core,
        media.encode(),
        {**CSV_LAYOUT, "fieldsTerminatedBy": delimiter},
        {**CSV_LAYOUT, "fieldsTerminatedBy": delimiter},
    )
    assert occurrences == [
        ("1", "Amanita\nmuscaria", 55.5, 12.5),
        ("2", f'Boletus{sep} "edulis"', 56.0, 10.0),
        ("3", 'Russula\r\n"x"', None, None),
    ]
    assert images == THREE_IMAGES
    assert report["reading"]["occurrence0.txt"] == "quoted values: serial scan"


def test_bare_cr_u0085_and_u2028_inside_values_do_not_split_rows(tmp_path, caplog):
    core = "1\tAmanita\rmuscaria\u0085x\t55.5\t12.5\n2\tBoletus\u2028edulis\t56\t10\n".encode()
    with caplog.at_level(logging.INFO, logger="champy.data.dwca_text"):
        report, occurrences, images = ingested(tmp_path, core)
    assert occurrences == [("1", "Amanita\rmuscaria\u0085x", 55.5, 12.5), ("2", "Boletus\u2028edulis", 56.0, 10.0)]
    assert images == THREE_IMAGES
    assert report["reading"]["occurrence0.txt"] == "1 '\\r' inside values kept"
    assert "occurrence0.txt: 1 '\\r' inside values kept" in caplog.messages


@pytest.mark.parametrize(
    ("declared", "text", "note"),
    [
        # CRLF file declared LF
        ("\\n", "1\tAmanita muscaria\t55.5\t12.5\r\n2\tBoletus edulis\t56\t10\r\n", "parallel scan"),
        # LF file declared CRLF, without a last line break
        ("\\r\\n", "1\tAmanita muscaria\t55.5\t12.5\n2\tBoletus edulis\t56\t10", "parallel scan"),
        # CR-only file declared LF
        (
            "\\n",
            "1\tAmanita muscaria\t55.5\t12.5\r2\tBoletus edulis\t56\t10\r",
            "lines end with CR, not as meta.xml says",
        ),
        # CRLF file declared CR
        (
            "\\r",
            "1\tAmanita muscaria\t55.5\t12.5\r\n2\tBoletus edulis\t56\t10\r\n",
            "lines end with LF, not as meta.xml says",
        ),
    ],
)
def test_line_endings_whatever_meta_xml_declares(tmp_path, declared, text, note):
    layout = {**TAB_LAYOUT, "linesTerminatedBy": declared}
    report, occurrences, images = ingested(tmp_path, text.encode(), core_layout=layout)
    assert occurrences == TWO_RECORDS and images == THREE_IMAGES
    assert report["reading"]["occurrence0.txt"] == note


def test_cr_terminated_file_keeps_lf_inside_values(tmp_path):
    core = b"1\tAmanita\nmuscaria\t55.5\t12.5\r2\tBoletus edulis\t56\t10\r"
    report, occurrences, _ = ingested(tmp_path, core, core_layout={**TAB_LAYOUT, "linesTerminatedBy": "\\r"})
    assert occurrences == [("1", "Amanita\nmuscaria", 55.5, 12.5), BOLETUS]
    assert report["reading"]["occurrence0.txt"] == "1 '\\n' inside values kept"


def test_files_of_one_table_may_end_lines_differently(tmp_path):
    # a CR-terminated file with a CRLF inside a quoted value, beside an LF-terminated one
    cr_file, lf_file = b'1,"Amanita\r\nmuscaria",55.5,12.5\r3,Russula,,\r', b"2,Boletus edulis,56,10\n"
    report, occurrences, _ = ingested(
        tmp_path, [cr_file, lf_file], core_layout={**CSV_LAYOUT, "linesTerminatedBy": "\\r"}
    )
    assert occurrences == [("1", "Amanita\r\nmuscaria", 55.5, 12.5), BOLETUS, ("3", "Russula", None, None)]
    assert report["reading"]["occurrence0.txt"] == "quoted values: serial scan"
    assert report["reading"]["occurrence1.txt"] == "lines end with LF, not as meta.xml says"


@pytest.mark.parametrize(
    ("declared", "data", "note"),
    [
        ("windows-1252", "1\tCortinarius “façade” €\t55.5\t12.5\n".encode("cp1252"), "transcoded from cp1252 to UTF-8"),
        ("ISO-8859-1", "1\tCortinarius façade\t55.5\t12.5\n".encode("latin-1"), "transcoded from iso8859-1 to UTF-8"),
        ("UTF-16", "1\tCortinarius façade\t55.5\t12.5\n".encode("utf-16"), "transcoded from utf-16 to UTF-8"),
        (
            "UTF-16LE",
            "\ufeff1\tCortinarius façade\t55.5\t12.5\n".encode("utf-16-le"),
            "transcoded from utf-16 to UTF-8",
        ),
        ("UTF-8", b"\xef\xbb\xbf" + "1\tCortinarius façade\t55.5\t12.5\n".encode(), "parallel scan"),  # BOM, no header
        # the byte-order mark wins over meta.xml
        ("UTF-8", "1\tCortinarius façade\t55.5\t12.5\n".encode("utf-16"), "transcoded from utf-16 to UTF-8"),
    ],
)
def test_encodings_and_byte_order_marks(tmp_path, declared, data, note):
    report, occurrences, images = ingested(tmp_path, data, core_layout={**TAB_LAYOUT, "encoding": declared})
    species = "Cortinarius “façade” €" if declared == "windows-1252" else "Cortinarius façade"
    assert occurrences == [("1", species, 55.5, 12.5)] and [row[0] for row in images] == ["1", "1"]
    assert report["reading"]["occurrence0.txt"] == note


def test_unknown_or_wrong_encoding_is_a_clear_error(tmp_path):
    with pytest.raises(ArchiveError, match="unknown text encoding 'klingon'"):
        ingested(tmp_path / "a", b"1\tx\t1\t1\n", core_layout={**TAB_LAYOUT, "encoding": "klingon"})
    with pytest.raises(ArchiveError, match=r"occurrence0.txt is not valid cp1252 text \(.* near byte 2\)"):
        ingested(tmp_path / "b", b"1\t\x81\t1\t1\n", core_layout={**TAB_LAYOUT, "encoding": "windows-1252"})
    with pytest.raises(ArchiveError, match=r"occurrence0.txt is not valid utf-16-le text \(truncated data"):
        ingested(tmp_path / "c", b"1", core_layout={**TAB_LAYOUT, "encoding": "UTF-16LE"})


def test_several_files_per_table_each_with_header_lines(tmp_path):
    header = b"id\tspecies\tlat\tlon\n# second header line\n"
    report, occurrences, images = ingested(
        tmp_path,
        [header + b"1\tAmanita muscaria\t55.5\t12.5\n", b"\xef\xbb\xbf" + header + b"2\tBoletus edulis\t56\t10"],
        core_layout={**TAB_LAYOUT, "ignoreHeaderLines": "2"},
    )
    assert occurrences == TWO_RECORDS and images == THREE_IMAGES
    assert set(report["reading"]) == {"occurrence0.txt", "occurrence1.txt", "multimedia.txt"}


def test_stray_quotes_in_unquoted_and_quoted_files_are_text(tmp_path):
    core = b'1\tAmanita "fly agaric\t55.5\t12.5\n2\t"Boletus\t56\t10\n'
    _, occurrences, _ = ingested(tmp_path / "tab", core)
    assert occurrences == [("1", 'Amanita "fly agaric', 55.5, 12.5), ("2", '"Boletus', 56.0, 10.0)]
    core = b"1,Amanita 5'11\" tall,55.5,12.5\n2,Boletus edulis,56,10\n"
    _, occurrences, _ = ingested(tmp_path / "csv", core, core_layout=CSV_LAYOUT)
    assert occurrences == [("1", "Amanita 5'11\" tall", 55.5, 12.5), BOLETUS]


def test_ragged_rows_and_default_values(tmp_path):
    core = b"1\tAmanita muscaria\t55.5\t12.5\textra\tcolumns\n2\tBoletus edulis\n3\n"
    _, occurrences, images = ingested(tmp_path, core)
    assert occurrences == [AMANITA, ("2", "Boletus edulis", None, None), ("3", None, None, None)]
    assert images == THREE_IMAGES  # the empty licence cells take meta.xml's default
    countries = duckdb.sql(f"SELECT DISTINCT countryCode FROM '{tmp_path / 'out' / 'occurrences.parquet'}'")
    assert countries.fetchall() == [("DK",)]


def test_duplicate_core_ids_are_refused_without_writing_tables(tmp_path):
    core = b"1\tAmanita muscaria\t55.5\t12.5\n2\tBoletus edulis\t56\t10\n 1 \tAmanita\t55.5\t12.5\n7\ta\n7\tb\n"
    with pytest.raises(ArchiveError) as error:
        ingested(tmp_path, core)
    assert str(error.value) == (
        "archive: occurrence0.txt: 2 core ids are each on more than one occurrence row, e.g. '1' (2 rows), "
        "'7' (2 rows); each occurrence needs its own id, or its images would be joined twice"
    )
    assert not any((tmp_path / "out" / name).exists() for name in ("images.parquet", "occurrences.parquet"))


def test_rows_without_ids_urls_or_core_rows_are_dropped_and_counted(tmp_path, caplog):
    core = b"1\tAmanita muscaria\t55.5\t12.5\n \tno id\t1\t1\n\tno id either\n2\tBoletus edulis\t56\t10\n"
    media = MEDIA_TEXT + "\thttps://img.example/no-core-id.jpg\t\n2\t \t\n9\thttps://img.example/orphan.jpg\t\n"
    with caplog.at_level(logging.WARNING, logger="champy.data.ingest"):
        report, occurrences, images = ingested(tmp_path, core, media.encode())
    assert occurrences == TWO_RECORDS and images == THREE_IMAGES
    assert report["dropped"] == {
        "occurrence rows without an id": 2,
        "multimedia rows without a core id": 1,
        "multimedia rows without an image URL": 1,
        "multimedia rows whose core id is not in the core": 1,
    }
    assert "dropped 2 occurrence rows without an id" in caplog.messages


def test_already_ingested_follows_the_content_of_folders(tmp_path):
    archive = write_archive(tmp_path / "archive", b"1\tAmanita muscaria\t55.5\t12.5\n2\tBoletus edulis\t56\t10\n")
    out = tmp_path / "out"
    assert not is_ingested(archive, out)
    ingest(archive, out)
    assert is_ingested(archive, out)
    media = archive / "multimedia.txt"
    stat = media.stat()
    media.write_bytes(media.read_bytes().replace(b"a1.jpg", b"a9.jpg"))  # same size, same time: only the hash differs
    os.utime(media, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not is_ingested(archive, out)
    ingest(archive, out)
    assert is_ingested(archive, out)
    with open(media, "ab") as sink:  # edited in place: grows
        sink.write(b"2\thttps://img.example/b2.jpg\t\n")
    assert not is_ingested(archive, out)
    ingest(archive, out)
    assert len(tables(out)[1]) == 4


def test_already_ingested_follows_the_content_of_zips(tmp_path):
    folder = write_archive(tmp_path / "archive", b"1\tAmanita muscaria\t55.5\t12.5\n2\tBoletus edulis\t56\t10\n")

    def zipped(media: bytes) -> Path:
        (folder / "multimedia.txt").write_bytes(media)
        target = tmp_path / "archive.zip"
        with zipfile.ZipFile(target, "w") as bundle:
            for path in folder.iterdir():
                bundle.write(path, f"export/{path.name}")
        return target

    archive = zipped(MEDIA_TEXT.encode())
    ingest(archive, tmp_path / "out")
    assert is_ingested(archive, tmp_path / "out")
    zipped(MEDIA_TEXT.encode())  # the same content packed again
    assert is_ingested(archive, tmp_path / "out")
    zipped(MEDIA_TEXT.replace("a1.jpg", "a9.jpg").encode())
    assert not is_ingested(archive, tmp_path / "out")
