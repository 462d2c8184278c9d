"""A table that stays readable on a phone: a plain table on a wide screen, one card per row on a narrow one
(each cell under its column's name), so nothing scrolls sideways."""

from __future__ import annotations

import html

import pandas as pd

NARROW_PX = 640
STYLE = (
    "<style>"
    ".champy-table{border-collapse:collapse;width:100%;font-size:0.9rem}"
    ".champy-table th,.champy-table td{border-bottom:1px solid #e6e6e6;padding:0.25rem 0.5rem;text-align:left;"
    "vertical-align:top;overflow-wrap:normal;word-break:normal;hyphens:none}"
    f"@media (max-width:{NARROW_PX}px){{"
    ".champy-table thead{display:none}"
    ".champy-table tr{display:block;border:1px solid #e6e6e6;border-radius:0.5rem;margin-bottom:0.5rem;padding:0.3rem}"
    ".champy-table td{display:flex;justify-content:space-between;gap:0.8rem;border:none;padding:0.1rem 0.3rem}"
    ".champy-table td::before{content:attr(data-label);font-weight:600;color:#444}"
    ".champy-table td:first-child{font-weight:700}"
    ".champy-table td:first-child::before{content:none}}"
    "</style>"
)


def table_html(frame: pd.DataFrame) -> str:
    """`frame` (shown as text) as a stacking HTML table, its first column naming each row's card on a phone."""
    columns = [str(column) for column in frame.columns]
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{html.escape(column)}">{html.escape(str(value))}</td>'
            for column, value in zip(columns, row)
        )
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'{STYLE}<table class="champy-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
