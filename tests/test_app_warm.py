"""The app keeps its models warm: one warm-up per process that compiles the default for the CPU, and no Keras
session cleared between page runs."""

from __future__ import annotations

import keras
from streamlit.runtime.scriptrunner import script_runner

from champy.inference import DEFAULT_MODEL
from champy_app.support import cached_model, keep_keras_session, start_warm_up


def test_streamlit_no_longer_clears_the_keras_session_after_a_run() -> None:
    keep_keras_session()
    before = keras.layers.Dense(1).name
    script_runner._clean_problem_modules()  # what Streamlit runs after every script run
    after = keras.layers.Dense(1).name
    assert after != before  # a cleared session would restart Keras' layer names at the same one


def test_the_warm_up_loads_the_model_once_per_process() -> None:
    thread = start_warm_up(DEFAULT_MODEL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert start_warm_up(DEFAULT_MODEL) is thread
    assert cached_model(DEFAULT_MODEL).name == DEFAULT_MODEL
    assert cached_model(DEFAULT_MODEL).compiled  # the warm-up leaves the forward pass compiled for the CPU
