"""Measuring models: accuracy metrics, held-out reports and cross-source figures.

- `metrics`: top-k accuracy, per-class precision and recall, the confusion matrix;
- `held_out`: the trainer's report on the validation and test splits;
- `evaluate_model`: `champy evaluate`, a saved model measured on a labelled photo folder;
- `cross_source`: figures per photo collection (same sources and new ones);
- `photos`: photos through a model (calibrated probabilities and embeddings) for measuring and fitting.

Evaluation reads models through `champy.inference` and never imports the fitting code (`champy.training`).
"""
