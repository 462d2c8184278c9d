"""Training: dataset preparation, the CPU feature-cache fast path, the GPU path and cards (measuring: champy.evaluation)."""
