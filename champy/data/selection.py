"""Filter and select: from every ingested image to a balanced, deterministic list of images to fetch.

Filter: still images of kingdom Fungi with a known taxon at the chosen rank, an accepted licence,
a host not on the blacklist, each URL once. Select: the `classes` largest classes with at least
`min_per_class` images, each capped at `per_class` images chosen by a hash of (gbifID, n).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from champy.atomic import atomic_path, write_json
from champy.data.ingest import IMAGES_FILE
from champy.data.licences import is_free_licence
from champy.data.tree import image_relpath
from champy.errors import ChampyError

SELECTED_FILE = "selected.parquet"
RULES_FILE = "selection.json"
RANKS = ("species", "genus")
_HOST = r"lower(regexp_extract(identifier, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)', 1))"
_PATH = r"regexp_extract(identifier, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(/[^?#]*)', 1)"


@dataclass(frozen=True)
class SelectionRules:
    """What the filter keeps and how many classes and images the selection takes."""

    rank: str = "species"
    classes: int = 64
    per_class: int = 4000
    min_per_class: int | None = None  # defaults to per_class
    free_licences_only: bool = False
    blacklist: tuple[tuple[str, str], ...] = ()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _blocked_sql(blacklist: tuple[tuple[str, str], ...]) -> str:
    rules = []
    for host, prefix in blacklist:
        on_host = f"(url_host = {_literal(host)} OR ends_with(url_host, {_literal('.' + host)}))"
        under = (
            f" AND (url_path = {_literal(prefix)} OR starts_with(url_path, {_literal(prefix + '/')}))" if prefix else ""
        )
        rules.append(on_host + under)
    return " OR ".join(rules) or "false"


def _judge_sql(images: Path, rules: SelectionRules) -> str:
    """(gbifID, n, label, reason) per image; `reason` is the first filter that rejects it, NULL if kept."""
    licence_rejected = (
        "license IS NULL OR license NOT IN (SELECT license FROM free_licences)" if rules.free_licences_only else "false"
    )
    return f"""
        WITH base AS (
            SELECT gbifID, n, identifier, "{rules.rank}" AS label, CASE
                WHEN NOT (lower(coalesce(type, '')) = 'stillimage' OR (type IS NULL AND lower(format) LIKE 'image/%'))
                    THEN 'not a still image'
                WHEN lower(coalesce(kingdom, '')) <> 'fungi' THEN 'not Fungi'
                WHEN "{rules.rank}" IS NULL THEN 'no {rules.rank}'
                WHEN {licence_rejected} THEN 'licence'
                WHEN {_blocked_sql(rules.blacklist)} THEN 'blacklisted host'
            END AS reason
            FROM (SELECT *, {_HOST} AS url_host, {_PATH} AS url_path FROM read_parquet({_literal(str(images))}))
        )
        SELECT gbifID, n, label, CASE
            WHEN reason IS NULL AND row_number() OVER (PARTITION BY identifier, reason IS NULL ORDER BY gbifID, n) > 1
                THEN 'duplicate URL' ELSE reason END AS reason
        FROM base
    """


def _nothing_selected(total: int, rejected: dict[str, int], minimum: int) -> str:
    kept = total - sum(rejected.values())
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(rejected.items(), key=lambda kv: -kv[1]))
    if kept == 0:
        return f"no image passed the filters (of {total}: {reasons or 'none in the archive'})"
    return f"{kept} images passed the filters but no class has {minimum} of them: lower --min-per-class"


def _free_licences(con: duckdb.DuckDBPyConnection, images: Path) -> pa.Table:
    licences = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT license FROM read_parquet({_literal(str(images))}) WHERE license IS NOT NULL"
        ).fetchall()
    ]
    return pa.table({"license": pa.array([lic for lic in licences if is_free_licence(lic)], pa.string())})


def select_images(out_dir: str | Path, rules: SelectionRules) -> dict:
    """Write `selected.parquet` (one row per image to fetch, with its relative `path`); return counts."""
    out_dir = Path(out_dir)
    images = out_dir / IMAGES_FILE
    if rules.rank not in RANKS:
        raise ChampyError(f"unknown rank {rules.rank!r}: choose one of {', '.join(RANKS)}")
    if not images.is_file():
        raise ChampyError(f"{images} not found: run `champy dataset ingest` first")
    minimum = rules.per_class if rules.min_per_class is None else rules.min_per_class
    spill = out_dir / ".select-spill"
    con = duckdb.connect(config={"memory_limit": "500MB", "threads": 2, "temp_directory": str(spill)})
    try:
        con.register("free_licences", _free_licences(con, images))
        con.execute(f"CREATE TEMP TABLE judged AS {_judge_sql(images, rules)}")
        rejected = dict(
            con.execute("SELECT reason, count(*) FROM judged WHERE reason IS NOT NULL GROUP BY reason").fetchall()
        )
        selected = con.execute(f"""
            WITH kept AS (SELECT gbifID, n, label FROM judged WHERE reason IS NULL),
            chosen AS (
                SELECT label FROM kept GROUP BY label HAVING count(*) >= {int(minimum)}
                ORDER BY count(*) DESC, label LIMIT {int(rules.classes)}
            ), picked AS (
                SELECT gbifID, n, label FROM kept JOIN chosen USING (label)
                QUALIFY row_number() OVER (PARTITION BY label ORDER BY md5(gbifID || '_' || n::VARCHAR))
                    <= {int(rules.per_class)}
            )
            SELECT i.*, p.label FROM read_parquet({_literal(str(images))}) i JOIN picked p USING (gbifID, n)
            ORDER BY p.label, i.gbifID, i.n
        """).df()
        total = con.execute("SELECT count(*) FROM judged").fetchone()[0]
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    if selected.empty:
        raise ChampyError(_nothing_selected(total, rejected, minimum))
    selected = selected.astype(object).where(selected.notna(), None)
    selected["path"] = [image_relpath(row) for row in selected.to_dict("records")]
    with atomic_path(out_dir / SELECTED_FILE) as tmp:
        selected.to_parquet(tmp, index=False)
    report = {
        "images": total,
        "rejected": rejected,
        "selected": len(selected),
        "classes": int(selected["label"].nunique()) if len(selected) else 0,
    }
    write_json(out_dir / RULES_FILE, {"rules": asdict(rules), "counts": report})
    return report


def read_selected(out_dir: str | Path) -> pd.DataFrame:
    """The selected images of `out_dir`, as `select_images` wrote them."""
    path = Path(out_dir) / SELECTED_FILE
    if not path.is_file():
        raise ChampyError(f"{path} not found: run `champy dataset build` (or ingest and select) first")
    return pd.read_parquet(path)


def read_rules(out_dir: str | Path) -> dict:
    """The selection rules `select_images` last used in `out_dir` (rank, classes, per_class, ...)."""
    path = Path(out_dir) / RULES_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))["rules"]
    except (OSError, ValueError, KeyError):
        raise ChampyError(f"{path} not found or unreadable: run the selection (`champy dataset build`) first") from None
