"""The uploaded photos and where the model looked in each (Grad-CAM), small, side by side in one grid."""

from __future__ import annotations

import html

from champy.inference import Identification
from champy_app.inline_images import image_uri
from champy_app.support import HEAT_SCALE_HTML, RESULT_CAPTION

GRID_IMAGE_PX = 360
"""Longest side, in pixels, of each picture in the grid (shown at most about 180 px wide)."""


def _figure(uri: str, caption: str) -> str:
    return (
        f'<figure style="margin:0"><img src="{uri}" alt="{html.escape(caption)}" style="width:100%;height:auto;'
        f'border-radius:4px;display:block"><figcaption style="font-size:0.8rem;color:#555">{html.escape(caption)}'
        "</figcaption></figure>"
    )


def grid_html(result: Identification) -> str:
    """The first photo, then each photo's Grad-CAM overlay, in a grid of small cells, and the heat scale under them
    when there is an overlay; as one HTML block."""
    figures = [_figure(image_uri(result.photo, GRID_IMAGE_PX), "Your photo")] if result.photo is not None else []
    for index, overlay in enumerate(result.overlays):
        caption = RESULT_CAPTION if index == 0 else f"Photo {index + 1}: where the model looked"
        figures.append(_figure(image_uri(overlay, GRID_IMAGE_PX), caption))
    scale = f'<div style="padding-top:0.9rem">{HEAT_SCALE_HTML}</div>' if result.overlays else ""
    return (
        '<div data-testid="champyPhotoGrid" style="max-width:48rem"><p style="margin:1rem 0 0.3rem;font-weight:600">'
        'Your photos and where Champy looked</p><div style="display:grid;gap:0.5rem;'
        f'grid-template-columns:repeat(auto-fill,minmax(9rem,1fr))">{"".join(figures)}</div>{scale}</div>'
    )
