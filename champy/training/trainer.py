"""Training a Champy model end to end, from a labelled image folder to a shipped `.h5` and its card.

Two phases, as in the study: the head alone on a frozen backbone, then the top blocks unfrozen at a
lower learning rate. Each phase uses Adam (AdamW with weight decay), label smoothing, ModelCheckpoint on
validation accuracy, EarlyStopping, ReduceLROnPlateau and a CSV history, and resumes after a crash
(BackupAndRestore, finished-phase markers, cached activations). The best weights are exported without
augmentation layers, evaluated on the held-out test split, calibrated, and described in the model card.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from dataclasses import replace

import keras
import numpy as np
import pandas as pd

from champy.data.labelled import load_labelled
from champy.data.prepare import OTHER_LABEL, PreparedData, class_weights, file_list_hash, prepare
from champy.data.sources import photo_sources, without_sources
from champy.data.splits import SPLITS
from champy.edibility import lookup
from champy.errors import ChampyError
from champy.evaluation.held_out import held_out_report, predict_rows
from champy.image_batch import load_images
from champy.images import RESIZE_METHOD
from champy.models.card import CARD_VERSION, card_path, software_versions, write_card
from champy.models.factory import create_model, inference_model, set_backbone_trainable
from champy.models.registry import get_backbone
from champy.models.storage import save_model
from champy.training import cached
from champy.training.config import TrainConfig
from champy.training.distribute import (
    choose_strategy,
    is_chief,
    multi_worker_cluster,
    prepare_multi_worker_model,
    resolve_mode,
    worker_name,
)
from champy.training.pipeline import image_dataset

log = logging.getLogger(__name__)


def training_loss(num_classes: int, label_smoothing: float):
    """Cross-entropy on integer labels, with the targets smoothed when `label_smoothing` > 0."""
    if not label_smoothing:
        return "sparse_categorical_crossentropy"

    def smoothed_crossentropy(labels, probs):
        targets = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(labels, (-1,)), "int32"), num_classes)
        return keras.losses.categorical_crossentropy(targets, probs, label_smoothing=label_smoothing)

    return smoothed_crossentropy


def _compile(model: keras.Model, learning_rate: float, config: TrainConfig) -> None:
    optimizer = (
        keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay)
        if config.weight_decay
        else keras.optimizers.Adam(learning_rate)
    )
    model.compile(
        optimizer=optimizer,
        loss=training_loss(int(model.output_shape[-1]), config.label_smoothing),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(3, name="top3"),
            keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5"),
        ],
    )


def _run_phase(
    model: keras.Model, phase: int, train_data, val_data, epochs: int, learning_rate: float, config: TrainConfig
) -> pd.DataFrame:
    """Fit one phase (resumable) and leave the model at the phase's best validation accuracy."""
    run_dir = config.run_dir
    best = run_dir / f"phase{phase}.best.weights.h5"
    done = run_dir / f"phase{phase}.done"
    history = run_dir / f"history_phase{phase}.csv"
    if not done.exists() and epochs > 0:
        _compile(model, learning_rate, config)
        callbacks = [
            keras.callbacks.BackupAndRestore(str(run_dir / f"phase{phase}_backup")),
            keras.callbacks.ModelCheckpoint(
                str(best), monitor="val_accuracy", save_best_only=True, save_weights_only=True
            ),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=max(1, config.patience // 2)),
            keras.callbacks.CSVLogger(str(history), append=True),
        ]
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=epochs,
            callbacks=callbacks,
            verbose=1 if sys.stderr.isatty() else 2,
        )
        done.touch()
    if best.exists():
        model.load_weights(best)
    return pd.read_csv(history) if history.exists() else pd.DataFrame()


def _boundary(model: keras.Model, config: TrainConfig) -> str:
    """The last frozen layer of the fine-tuning phase: the configured one or the backbone's default."""
    boundary = config.finetune_after or get_backbone(model.name.removeprefix("champy_")).finetune_after
    if boundary not in {layer.name for layer in model.layers}:
        raise ChampyError(f"--finetune-after: {model.name} has no layer named {boundary!r}")
    return boundary


def _two_phases(
    model: keras.Model, fit_model: keras.Model, train_data, val_data, config: TrainConfig
) -> list[pd.DataFrame]:
    """Phase 1: the head on a frozen backbone; phase 2: the top blocks unfrozen at a lower rate.

    `fit_model` is what is fitted: the whole model, or (CPU fast path) its top, which shares layers.
    """
    after = _boundary(model, config)
    histories = []
    for phase, epochs, rate, unfreeze_after in (
        (1, config.head_epochs, config.head_learning_rate, None),
        (2, config.finetune_epochs, config.finetune_learning_rate, after),
    ):
        set_backbone_trainable(model, unfreeze_after)
        histories.append(_run_phase(fit_model, phase, train_data, val_data, epochs, rate, config))
    return histories


def _sample_weights(rows: pd.DataFrame, num_classes: int, config: TrainConfig) -> np.ndarray:
    """Each training photo's loss weight: its class's (`config.class_weights`), spread within the class by source
    with `config.source_balance`."""
    labels = rows["label_index"].to_numpy(np.int64)
    weights = class_weights(labels, num_classes, config.class_weights)
    result = np.array([weights[int(i)] for i in labels], np.float64)
    if config.source_balance:
        sources = photo_sources(rows).to_numpy()
        for label in np.unique(labels):
            mine = labels == label
            _, index, counts = np.unique(sources[mine], return_inverse=True, return_counts=True)
            spread = 1.0 / np.sqrt(counts[index])
            result[mine] *= spread * mine.sum() / spread.sum()
    return result.astype(np.float32)


def _with_extra_other(data: PreparedData, config: TrainConfig) -> PreparedData:
    """`data` with the photos of `config.extra_other` added to "other fungi" in the training split."""
    if not config.extra_other or data.other_index is None:
        return data
    classes = {label["name"] for label in data.labels}
    extra = [
        without_sources(load_labelled(folder, config.rank), config.held_out_sources) for folder in config.extra_other
    ]
    rows = pd.concat(extra, ignore_index=True)
    safe = [lookup(species).status not in ("deadly", "poisonous") for species in rows["species"]]
    rows = rows[~rows["label"].isin(classes) & np.asarray(safe, bool)].copy()
    rows["split"], rows["label_index"] = "train", data.other_index
    log.info("adding %d photos of %d species to %s (training split)", len(rows), rows["label"].nunique(), OTHER_LABEL)
    table = pd.concat([data.table, rows], ignore_index=True)
    labels = [dict(label) for label in data.labels]
    labels[data.other_index]["count"] = {
        split: int(((table["label_index"] == data.other_index) & (table["split"] == split)).sum()) for split in SPLITS
    }
    return PreparedData(table, labels, data.other_index)


def _fit_cached(model: keras.Model, data: PreparedData, config: TrainConfig) -> list[pd.DataFrame]:
    spec = get_backbone(model.name.removeprefix("champy_"))
    bottom, top = cached.split_at(model, _boundary(model, config))
    size = int(model.input_shape[1])
    train, val = data.rows("train"), data.rows("val")
    key = (
        f"{spec.name}_{_boundary(model, config)}_{size}_{config.views}v{'d' if config.degrade_views else ''}_"
        f"{file_list_hash(train, str(config.data))[:16]}"
    )
    train_views = cached.cached_views(
        config.run_dir / f"views_train_{key}.npy",
        lambda: cached.compute_views(
            bottom,
            load_images(list(train["path"]), size),
            config.views,
            config.batch_size,
            config.seed,
            config.degrade_views,
        ),
    )
    val_views = cached.cached_views(
        config.run_dir / f"views_val_{key}.npy",
        lambda: cached.compute_views(bottom, load_images(list(val["path"]), size), 1, config.batch_size, config.seed),
    )
    y_train = train["label_index"].to_numpy(np.int64)
    y_val = val["label_index"].to_numpy(np.int64)
    sequence = cached.RandomViews(
        train_views, y_train, _sample_weights(train, len(data.labels), config), config.batch_size, config.seed
    )
    validation = (val_views[0].astype(np.float32), y_val)
    return _two_phases(model, top, sequence, validation, config)


def _fit_full(model: keras.Model, data: PreparedData, config: TrainConfig) -> list[pd.DataFrame]:
    size = int(model.input_shape[1])
    train, val = data.rows("train"), data.rows("val")
    y_train = train["label_index"].to_numpy(np.int64)
    weights = _sample_weights(train, len(data.labels), config)
    train_data = image_dataset(list(train["path"]), y_train, size, config.batch_size, True, config.seed, weights)
    val_data = image_dataset(
        list(val["path"]), val["label_index"].to_numpy(np.int64), size, config.batch_size, False, config.seed
    )
    return _two_phases(model, model, train_data, val_data, config)


def _history_records(histories: list[pd.DataFrame]) -> list[dict]:
    records = []
    for phase, frame in enumerate(histories, start=1):
        for row in frame.to_dict("records"):
            records.append({"phase": phase, **{k: float(v) for k, v in row.items()}})
    return records


def _data_section(data: PreparedData, config: TrainConfig, table_size: int) -> dict:
    return {
        "source": str(config.data),
        "images_in_source": table_size,
        "images_used": int(len(data.table)),
        "file_list_sha256": file_list_hash(data.table, str(config.data)),
        "attribution": "per-image licence, author and URL in the source manifest (photos.csv / manifest.csv)",
        "min_per_class": config.min_per_class,
    }


def train(config: TrainConfig) -> dict:
    """Run a whole training and write `config.out` (.h5) and its model card; return the card."""
    mode = resolve_mode(config.mode)
    strategy = choose_strategy()  # before any other TensorFlow operation (multi-worker collectives)
    if not is_chief(strategy):  # keep clear of the chief's files
        worker_dir = config.run_dir / worker_name(strategy)
        config = replace(config, run_dir=worker_dir, out=worker_dir / config.out.name)
    keras.utils.set_random_seed(config.seed)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    table = load_labelled(config.data, config.rank)
    data = _with_extra_other(prepare(table, config.min_per_class, config.other_class, config.seed), config)
    spec = get_backbone(config.backbone)
    with strategy.scope():
        model = create_model(
            spec.name, len(data.labels), config.weights, config.input_size, augment=True, seed=config.seed
        )
        if multi_worker_cluster():
            prepare_multi_worker_model(model)
        log.info("training %s on %d images, %d classes, %s mode", spec.name, len(data.table), len(data.labels), mode)
        histories = _fit_cached(model, data, config) if mode == "cached" else _fit_full(model, data, config)
    final = inference_model(model)
    names = [label["name"] for label in data.labels]
    val, test = data.rows("val"), data.rows("test")
    report = held_out_report(
        predict_rows(final, val),
        val["label_index"].to_numpy(),
        predict_rows(final, test),
        test["label_index"].to_numpy(),
        names,
        data.other_index,
        config.max_known_flagged,
    )
    size = int(final.input_shape[1])
    card = {
        "card_version": CARD_VERSION,
        "name": config.out.stem,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backbone": spec.name,
        "weights": model.champy_weights,
        "input": {
            "size": size,
            "pixels": "RGB 0..255 float32, shape (size, size, 3)",
            "resize": RESIZE_METHOD,
            "normalisation": f"{spec.preprocessing} (inside the model, layer 'normalise')"
            if spec.preprocessing != "none"
            else "inside the backbone",
        },
        "rank": config.rank,
        "labels": data.labels,
        "other_index": data.other_index,
        "last_conv_layer": spec.last_conv_layer,
        "finetune_after": _boundary(model, config),
        "data": _data_section(data, config, len(table)),
        "split": {
            "method": (
                "stratified by class, hash of (seed, image id); rare species pooled as 'other fungi' split by "
                "whole species"
            ),
            "seed": config.seed,
            "counts": {s: int((data.table["split"] == s).sum()) for s in ("train", "val", "test")},
        },
        "metrics": {
            "measured_on": f"test split of {config.data} ({len(test)} photos never used in training)",
            **{k: report[k] for k in ("test", "test_known_species_only")},
        },
        "calibration": report["calibration"],
        "open_set": report["open_set"],
        "training": {"mode": mode, "config": config.to_dict(), "history": _history_records(histories)},
        "versions": software_versions(),
    }
    save_model(final, config.out)
    write_card(card, card_path(config.out))
    return card
