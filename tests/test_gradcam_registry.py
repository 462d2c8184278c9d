"""Grad-CAM works for every backbone in the registry on a saved and reloaded `.h5`, in TensorFlow and in NumPy from
the head's weights (what the compiled path draws)."""

import json
import warnings

import numpy as np
import pytest
from helpers import held_out_photos

from champy.images import load_model_input
from champy.inference.head import DenseHead
from champy.inference.keras_model import KerasModel, head_arrays
from champy.models.factory import create_model, inference_model
from champy.models.registry import get_backbone, list_backbones
from champy.models.storage import load_keras_model, save_model


@pytest.mark.slow
@pytest.mark.parametrize("name", list_backbones())
def test_gradcam_after_reload(name, tmp_path):
    size = 75 if name == "inception_v3" else 64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        trained = create_model(name, 3, weights=None, input_size=size, seed=2)
    path = save_model(inference_model(trained), tmp_path / f"{name}.h5")
    card = {
        "labels": [{"name": f"Genus s{i}", "genus": "Genus"} for i in range(3)],
        "input": {"size": size},
        "backbone": name,
    }
    path.with_suffix(".json").write_text(json.dumps(card))
    model = KerasModel(path, load_keras_model(path), card)
    pixels = load_model_input(held_out_photos("Amanita muscaria", 1)[0], size)[None]
    probs, gate_input, cam = model.run(pixels, class_index=1)
    conv = model.keras_model.get_layer(get_backbone(name).last_conv_layer).output.shape
    assert cam.shape == (1, conv[1], conv[2])
    assert np.isfinite(cam).all() and cam.min() >= 0.0 and cam.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(probs, model.forward(pixels), atol=1e-5)
    assert gate_input.shape == (1, 1280) and not model.shares_gate_trunk
    if name.startswith("vgg"):  # max pooling after the last convolution: no compiled form, it runs in TensorFlow
        with pytest.raises(ValueError, match="MaxPooling2D"):
            head_arrays(model.keras_model, model.conv_name)
        return
    head = DenseHead.from_arrays(head_arrays(model.keras_model, model.conv_name))
    np.testing.assert_allclose(head.grad_cam(model._pass(pixels)[0], np.array([1])), cam, atol=1e-3)
