"""Fitting: everything that learns from photos.

The networks (`trainer`, with the CPU feature-cache fast path and the GPU path), the mushroom gate (`gate_fit`),
the safety profiles and their vouch banks (`safety_fit`, `vouch_fit`) and the ensembles (`ensemble_fit`). The class
selection and split of a folder, which evaluation needs too, is `champy.data.prepare`.
"""
