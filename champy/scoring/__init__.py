"""Scoring: the arithmetic on a network's outputs that answers use at run time and fitting chooses.

- `calibration`: temperature scaling and the expected calibration error;
- `openset`: the known-species scores and the threshold that answers "unknown".

Pure NumPy: nothing here loads a model or reads a photo.
"""
