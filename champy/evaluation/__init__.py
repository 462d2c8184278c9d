"""Measuring models: accuracy metrics, calibration, the open-set ("unknown") rule and held-out reports.

- `metrics`: top-k accuracy, per-class precision and recall, the confusion matrix;
- `calibration`: temperature scaling and the expected calibration error;
- `openset`: the known-species confidence and the threshold that answers "unknown";
- `held_out`: the trainer's report on the validation and test splits;
- `evaluate_model`: `champy evaluate`, a saved model measured on a labelled photo folder.

Inference uses `calibration` and `openset` at answer time; nothing here imports the training code except
`evaluate_model`, which splits a folder as the trainer did.
"""
