"""Training: dataset preparation, the CPU feature-cache fast path, the GPU path, evaluation and cards."""
