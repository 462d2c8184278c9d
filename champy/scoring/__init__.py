"""Scoring: the arithmetic on a network's outputs that answers use at run time and fitting chooses.

- `calibration`: temperature scaling and the expected calibration error;
- `openset`: the known-species scores and the threshold that answers "unknown";
- `percent`: a probability as a person should read it (never '100.0 %' or '0.0 %').

Pure NumPy: nothing here loads a model or reads a photo.
"""
