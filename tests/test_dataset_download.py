"""Downloading the selected images from a local server that also misbehaves; resuming after kill -9."""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import pandas as pd
import pytest
from conftest import gbif_records, write_fungi_archive
from PIL import Image

from champy.data.download import DownloadOptions, download_images, in_shard
from champy.data.fetch import RetryPolicy
from champy.data.ingest import ingest
from champy.data.selection import SelectionRules, select_images

KINDS = ("photo", "404", "flaky", "busy", "slow", "truncated", "cut", "html")
FAST_RETRY = RetryPolicy(attempts=2, backoff=0.01, read_timeout=0.5)
EXPECTED_FAILURE = {
    "404": "HTTP 404",
    "busy": "HTTP 429 after 2 attempts",
    "slow": "Timeout after 2 attempts",
    "truncated": "truncated",
    "cut": "after 2 attempts",
    "html": "not an image",
}


def _small_records() -> list[dict]:
    """The fungal records with a genus of the two small responses, plus the first three Amanita records."""
    records = gbif_records()
    others = [
        r for r in records if r["kingdom"] == "Fungi" and r.get("genus") and r.get("species") != "Amanita muscaria"
    ]
    return others + records[:3]


def _dataset(folder: Path, server, kind_of, records=None, **rules) -> pd.DataFrame:
    numbers = count()
    folder.mkdir(parents=True, exist_ok=True)
    archive = write_fungi_archive(
        folder / "export.zip",
        records=records or _small_records(),
        url=lambda u: f"{server.base}/{kind_of(next(numbers))}/{Path(u).name}",
    )
    ingest(archive, folder)
    select_images(folder, SelectionRules(**{"rank": "genus", "per_class": 100, "min_per_class": 1, **rules}))
    return pd.read_parquet(folder / "selected.parquet")


def _valid_jpeg(path: Path, max_side: int) -> bool:
    with Image.open(path) as image:
        image.load()
        return image.format == "JPEG" and image.mode == "RGB" and max(image.size) <= max_side


def test_every_server_behaviour_ends_in_a_file_or_a_reason(tmp_path, photo_server):
    photo_server.delay = 2.0
    selected = _dataset(tmp_path, photo_server, lambda i: KINDS[i % len(KINDS)])
    assert set(selected["identifier"].str.split("/").str[3]) == set(KINDS)
    report = download_images(tmp_path, DownloadOptions(workers=4, max_side=200, retry=FAST_RETRY, progress=False))
    failures = pd.read_csv(tmp_path / "failures.csv", dtype=str).set_index("url")["reason"]
    for row in selected.itertuples():
        kind = row.identifier.split("/")[3]
        if kind in EXPECTED_FAILURE:
            assert EXPECTED_FAILURE[kind] in failures[row.identifier], (kind, failures[row.identifier])
            assert not (tmp_path / row.path).exists()
        else:
            assert _valid_jpeg(tmp_path / row.path, 200)
    flaky = [u for u in selected["identifier"] if "/flaky/" in u]
    assert all(photo_server.hits[u.split(str(photo_server.server_address[1]))[1]] == 2 for u in flaky)
    assert report["failed"] == len(failures) and report["downloaded"] == len(selected) - len(failures)

    again = download_images(tmp_path, DownloadOptions(workers=4, max_side=200, retry=FAST_RETRY, progress=False))
    assert again["already_there"] == report["downloaded"] and again["downloaded"] == 0


def test_shards_split_the_work_by_occurrence(tmp_path, photo_server):
    selected = _dataset(tmp_path, photo_server, lambda i: "photo")
    reports = [download_images(tmp_path, DownloadOptions(workers=2, shard=(i, 3), progress=False)) for i in (1, 2, 3)]
    assert sum(r["selected"] for r in reports) == len(selected) == sum(r["downloaded"] for r in reports)
    first = selected[[in_shard(g, (1, 3)) for g in selected["gbifID"]]]
    assert reports[0]["selected"] == len(first) and (tmp_path / "failures-1-of-3.csv").is_file()
    assert all((tmp_path / p).is_file() for p in selected["path"])


def test_hostile_taxon_names_stay_inside_the_dataset(tmp_path, photo_server):
    hostile = []
    for record, names in zip(
        _small_records(),
        [
            {"species": "../../../escaped", "genus": ".."},
            {"family": "a/b\\c", "order": "/etc/passwd"},
            {"genus": "nul\x00byte", "species": "Ωmega ünïcode \u202e"},
            {"phylum": "  ", "class": "CON"},
        ],
    ):
        record = copy.deepcopy(record)
        record.update(names)
        hostile.append(record)
    out = tmp_path / "out"
    selected = _dataset(out, photo_server, lambda i: "photo", records=hostile, rank="species")
    download_images(out, DownloadOptions(workers=2, progress=False))
    written = list(tmp_path.rglob("*.jpg"))
    assert written and all(p.resolve().is_relative_to((out / "Fungi").resolve()) for p in written)
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(selected["path"])
    parts = {part for path in selected["path"] for part in path.split("/")}
    assert not parts & {"..", ".", ""} and not any("\x00" in part or "\\" in part for part in parts)
    assert "Ωmega_ünïcode" in parts and "_CON" in parts


def test_kill_9_mid_download_leaves_no_corrupt_file_and_a_rerun_completes(tmp_path, photo_server):
    photo_server.delay = 0.3
    selected = _dataset(tmp_path, photo_server, lambda i: "slow")
    script = (
        "import sys; from champy.data.download import DownloadOptions, download_images; "
        "download_images(sys.argv[1], DownloadOptions(workers=2, progress=False))"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=Path(__file__).parent.parent)
    deadline = time.monotonic() + 60
    while len(list((tmp_path / "Fungi").rglob("*.jpg"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = list((tmp_path / "Fungi").rglob("*.jpg"))
    assert 3 <= len(done) < len(selected)
    assert all(_valid_jpeg(p, 512) for p in done)

    report = download_images(tmp_path, DownloadOptions(workers=4, progress=False))
    assert report["failed"] == 0 and report["already_there"] >= len(done)
    assert all(_valid_jpeg(tmp_path / p, 512) for p in selected["path"])
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "2"])
def test_bad_shard_is_a_clear_error(text):
    from champy.data.download import parse_shard
    from champy.errors import ChampyError

    with pytest.raises(ChampyError, match="shard"):
        parse_shard(text)
