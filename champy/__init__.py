"""Champy: mushroom identification from photos.

The library behind the `python -m champy` CLI and the Streamlit app: dataset building from GBIF
exports, a registry of image backbones with the study's classification head, training, and the
identification core (top-k species and genus, edibility, open-set rejection, Grad-CAM).
"""

__version__ = "0.1.0"
