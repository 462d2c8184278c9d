"""The occurrence map: a plotly geo scatter of a species' GBIF records, drawn with the bundled world maps.

plotly.js fetches its world TopoJSON from a CDN unless told otherwise. The app serves `static/maps/`
(Streamlit static serving) and passes `plotly_config()` to `st.plotly_chart`, so the map draws offline.
"""

from __future__ import annotations

import html
from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from champy.gbif.service import SNAPSHOT, OccurrenceResult
from champy.paths import PROJECT_ROOT

TOPOJSON_URL = "app/static/maps/"
"""Where Streamlit serves `static/maps/`; plotly.js fetches `<TOPOJSON_URL>world_110m.json` (or `_50m`)."""
STATIC_MAPS_DIR = PROJECT_ROOT / "static" / "maps"
DETAILED_SPAN_DEGREES = 60.0
"""Records spread over less than this many degrees are drawn on the detailed 1:50m map."""
UNDATED_COLOUR = "#9e9e9e"
BASIS_COLOURS = {
    "HUMAN_OBSERVATION": "#1b9e77",
    "PRESERVED_SPECIMEN": "#d95f02",
    "MACHINE_OBSERVATION": "#7570b3",
    "MATERIAL_SAMPLE": "#e7298a",
    "OCCURRENCE": "#66a61e",
    "OBSERVATION": "#e6ab02",
}
ColourBy = Literal["year", "basisOfRecord"]


def plotly_config(topojson_url: str = TOPOJSON_URL) -> dict[str, object]:
    """The plotly config for `st.plotly_chart(fig, config=...)`: world maps from `topojson_url`, not the CDN."""
    return {"topojsonURL": topojson_url if topojson_url.endswith("/") else f"{topojson_url}/", "displaylogo": False}


def map_caption(result: OccurrenceResult) -> str:
    """One line saying how many records are shown, where they come from and when they were fetched."""
    when = result.fetched_at.astimezone().strftime("%Y-%m-%d %H:%M %Z") if result.fetched_at else "at an unknown time"
    if result.count == 0:
        return f"No records to show ({result.source}) · checked {when}"
    if result.source == SNAPSHOT:
        return f"{result.count:,} records from the offline snapshot ({observed_period(result.records)})"
    shown = f"{result.count:,}"
    if result.total_available and result.total_available > result.count:
        shown += f" of {result.total_available:,}"
    cached = " (cached)" if result.from_cache else ""
    return f"{shown} records from {result.source}{cached} · fetched {when}"


def observed_period(records: pd.DataFrame) -> str:
    """When the records were observed, from their own eventDate: the snapshot's date, whatever its file's age."""
    days = records["eventDate"].str.slice(0, 10)
    days = days[days.str.match(r"\d{4}-\d{2}-\d{2}$")]
    if days.empty:
        return "observation dates not recorded"
    return f"observed {days.min()} to {days.max()}" if days.min() != days.max() else f"observed {days.min()}"


def record_years(records: pd.DataFrame) -> pd.Series:
    """The year of each record's eventDate (NaN when missing); ranges like "2022-07/2022-08" count by their start."""
    return pd.to_numeric(records["eventDate"].str.slice(0, 4), errors="coerce")


def country_counts(result: OccurrenceResult) -> pd.DataFrame:
    """Records per country: columns countryCode, records and share (percent), the largest first."""
    codes = result.records["countryCode"].replace("", "unknown")
    counts = codes.value_counts().rename_axis("countryCode").reset_index(name="records")
    counts["share"] = (100 * counts["records"] / max(result.count, 1)).round(1)
    return counts.sort_values(["records", "countryCode"], ascending=[False, True], ignore_index=True)


def occurrence_figure(result: OccurrenceResult, colour_by: ColourBy = "year", titled: bool = True) -> go.Figure:
    """A world map of `result`'s records, coloured by year or basis of record, titled with their source unless
    `titled` is False (a page that says so in its own text, which wraps on a phone where a plotly title cannot)."""
    if colour_by not in ("year", "basisOfRecord"):
        raise ValueError(f"colour_by must be 'year' or 'basisOfRecord', not {colour_by!r}")
    records = result.records
    traces = _year_traces(records) if colour_by == "year" else _basis_traces(records)
    figure = go.Figure(traces)
    species = html.escape(result.species, quote=False)
    link = f'<a href="{html.escape(result.gbif_url)}">{species} on GBIF</a>'
    subtitle = f"{map_caption(result)} · {link}"
    if result.notice:
        subtitle += f"<br>{html.escape(result.notice, quote=False)}"
    figure.update_layout(
        title={"text": f"<i>{species}</i>: GBIF occurrences", "subtitle": {"text": subtitle}} if titled else None,
        margin={"l": 0, "r": 0, "t": 90 if titled else 10, "b": 0},
        legend={"title": {"text": "Basis of record" if colour_by == "basisOfRecord" else ""}},
        geo={
            "projection": {"type": "natural earth"},
            "resolution": _resolution(records),
            "showcountries": True,
            "showland": True,
            "landcolor": "#f3f1ea",
            "showocean": True,
            "oceancolor": "#dfeaf2",
            "fitbounds": "locations" if len(records) else False,
        },
    )
    return figure


def _resolution(records: pd.DataFrame) -> int:
    """50 (detailed coastlines) when the records are close together, else 110."""
    if records.empty:
        return 110
    span = max(
        records["decimalLatitude"].max() - records["decimalLatitude"].min(),
        records["decimalLongitude"].max() - records["decimalLongitude"].min(),
    )
    return 50 if span < DETAILED_SPAN_DEGREES else 110


def _points(records: pd.DataFrame, name: str, marker: dict[str, object], showlegend: bool = True) -> go.Scattergeo:
    hover = (
        records["eventDate"].replace("", "date unknown")
        + " · "
        + records["countryCode"]
        + " · "
        + records["basisOfRecord"].str.replace("_", " ").str.lower()
        + "<br>GBIF occurrence "
        + records["gbifID"]
    )
    return go.Scattergeo(
        lat=records["decimalLatitude"],
        lon=records["decimalLongitude"],
        mode="markers",
        name=name,
        marker={"size": 7, "opacity": 0.8, **marker},
        hovertext=hover,
        hoverinfo="text",
        showlegend=showlegend,
    )


def _year_traces(records: pd.DataFrame) -> list[go.Scattergeo]:
    years = record_years(records)
    dated, undated = records[years.notna()], records[years.isna()]
    traces = [
        _points(
            dated,
            "dated",
            {
                "color": years[years.notna()],
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "Year"}, "tickformat": "d", "dtick": 1},
            },
            showlegend=False,
        )
    ]
    if len(undated):
        traces.append(_points(undated, "date unknown", {"color": UNDATED_COLOUR}))
    return traces


def _basis_traces(records: pd.DataFrame) -> list[go.Scattergeo]:
    if records.empty:
        return [_points(records, "no records", {}, showlegend=False)]
    traces = []
    for basis, group in records.groupby("basisOfRecord", sort=True):
        label = basis.replace("_", " ").lower() or "unknown"
        traces.append(_points(group, label, {"color": BASIS_COLOURS.get(basis, UNDATED_COLOUR)}))
    return traces
