"""Training: dataset preparation, the CPU feature-cache fast path, the GPU path and cards.

Measuring a trained model lives in `champy.evaluation`.
"""
