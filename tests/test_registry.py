"""Every backbone in the registry builds, trains a step, survives an .h5 round trip, and gets a valid card."""

import warnings

import keras
import numpy as np
import pytest

from champy.models.card import validate_card
from champy.models.factory import HEAD_UNITS, create_model, inference_model, set_backbone_trainable
from champy.models.registry import get_backbone, list_backbones
from champy.models.storage import load_keras_model, save_model
from champy.paths import PROJECT_ROOT

SIZE = 96


def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


SHIPPED_BACKBONES = ("mobilenet_v2", "efficientnet_lite0")  # in the fast loop; the larger networks take 20-70 s each


@pytest.mark.parametrize(
    "name",
    [name if name in SHIPPED_BACKBONES else pytest.param(name, marks=pytest.mark.slow) for name in list_backbones()],
)
def test_backbone_builds_trains_and_round_trips(name, tmp_path):
    size = 75 if name == "inception_v3" else 64  # the smallest input each backbone accepts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = create_model(name, 3, weights=None, input_size=size, seed=1)
    spec = get_backbone(name)
    assert model.get_layer(spec.last_conv_layer) is not None  # flat graph: reachable by name
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert [model.get_layer(f"head_dense_{i}").units for i in (1, 2)] == list(HEAD_UNITS)
    assert model.get_layer("head_dropout_1").rate == pytest.approx(0.2)
    assert model.champy_weights["source"] == "random" and not model.champy_weights["pretrained"]

    set_backbone_trainable(model, spec.finetune_after)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (4, size, size, 3)).astype("float32")
    before = [w.copy() for w in model.get_layer("species").get_weights()]
    model.train_on_batch(x, np.array([0, 1, 2, 0]))
    after = model.get_layer("species").get_weights()
    assert any(not np.allclose(b, a) for b, a in zip(before, after))

    served = inference_model(model)
    path = save_model(served, tmp_path / f"{name}.h5")
    reloaded = load_keras_model(path)
    np.testing.assert_allclose(_outputs(served, x), _outputs(reloaded, x), atol=1e-6)
    np.testing.assert_allclose(_outputs(model, x), _outputs(reloaded, x), atol=1e-5)
    assert reloaded.get_layer(spec.last_conv_layer).name == spec.last_conv_layer

    card = {
        "card_version": 1,
        "name": name,
        "backbone": name,
        "weights": model.champy_weights,
        "input": {"size": size, "pixels": "RGB", "resize": "squash", "normalisation": spec.preprocessing},
        "rank": "species",
        "labels": [{"name": f"Genus s{i}", "genus": "Genus"} for i in range(3)],
        "data": {},
        "split": {},
        "metrics": {"test": {"per_class": [], "confusion_matrix": [[0] * 3] * 3}},
        "versions": {},
    }
    assert validate_card(card, num_outputs=int(reloaded.output_shape[-1])) == []
    assert validate_card(card, num_outputs=4) == ["3 labels for a model with 4 outputs"]


def test_unknown_backbone_lists_the_choices():
    from champy.errors import ChampyError

    with pytest.raises(ChampyError, match="mobilenet_v2"):
        get_backbone("alexnet")


def test_random_init_warns_loudly():
    with pytest.warns(RuntimeWarning, match="RANDOM weights"):
        create_model("mobilenet_v2", 2, weights=None, input_size=SIZE)


def test_imagenet_falls_back_to_the_shipped_weights_offline():
    model = create_model("mobilenet_v2", 2, weights="imagenet")
    origin = model.champy_weights
    # Keras cannot download here, so the weights come from models/imagenet/; with internet Keras' own are used.
    assert origin["pretrained"] and origin["source"] in ("local-file", "keras-imagenet")
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(224, 224, 3))
    if origin["source"] == "local-file":
        assert (
            origin["path"] == "models/imagenet/mobilenet_v2_1.0_224_imagenet_notop.weights.h5"
        )  # relative: cards travel
        reference.load_weights(PROJECT_ROOT / origin["path"])
        np.testing.assert_array_equal(
            model.get_layer("Conv_1").get_weights()[0], reference.get_layer("Conv_1").get_weights()[0]
        )


def test_loading_refuses_code_layers(tmp_path):
    from champy.errors import ModelLoadError

    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    path = tmp_path / "lambda.h5"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelLoadError, match="Lambda"):
        load_keras_model(path)


def test_loading_a_truncated_model_is_a_clear_error(tmp_path):
    from champy.errors import ModelLoadError

    source = tmp_path / "m.h5"
    save_model(inference_model(create_model("mobilenet_v2", 2, weights=None, input_size=SIZE)), source)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    with pytest.raises(ModelLoadError):
        load_keras_model(broken)
    with pytest.raises(ModelLoadError, match="only .h5 and .keras"):
        load_keras_model(tmp_path / "model.pkl")
