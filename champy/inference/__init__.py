"""The identification core: load a shipped model once, then identify photos with it.

    from champy.inference import load_model, identify
    result = identify("photo.jpg", load_model())

Names are imported on first use, so light sub-modules (the gate, decoding) load without TensorFlow.
"""

from importlib import import_module

_EXPORTS = {
    "Identification": "champy.inference.identification",
    "SpeciesCandidate": "champy.inference.identification",
    "identify": "champy.inference.identification",
    "identify_specimen": "champy.inference.identification",
    "DEFAULT_MODEL": "champy.inference.model",
    "ChampyModel": "champy.inference.model",
    "available_models": "champy.inference.model",
    "unavailable_models": "champy.inference.model",
    "load_model": "champy.inference.loader",
    "read_model_card": "champy.inference.model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'champy.inference' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
