"""Evaluating a trained run as a library call: ``evaluate(run_dir, classifier_dir, ...)``.

Loads G from the run's checkpoint, translates held-out real images to every column of
the official test grid (cross-dataset columns of joint runs included) and summarises:
classification of translations by a classifier trained on real images (with that
classifier's own real-image error as the floor), optionally by a second classifier and
where the two disagree, reconstruction, FID/KID against real images of each target
domain and, on built-in rendered data, the error against the rendered truth and what G
gains over returning the input.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
from absl import logging

from stargan_keras.config import RENDERED_DATASETS, TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.errors import UserError
from stargan_keras.evaluation.classifier import EvaluationClassifier, real_error
from stargan_keras.evaluation.distribution_metrics import (
    frechet_distance,
    kernel_inception_distance,
)
from stargan_keras.evaluation.sweep import (
    SECOND,
    Column,
    HeldOut,
    held_out_parts,
    sweep,
    truth_summary,
)
from stargan_keras.labels import LabelLayout
from stargan_keras.run_dir import RunDirectory, restore_networks

CLASSIFIER_FEATURES = "classifier penultimate features"


def load_networks(run_dir: str, iteration: int | None = None):
    """(run, spec, G, D or None for a checkpoint of G alone, the checkpoint's iteration)."""
    run = RunDirectory(run_dir)
    generator, discriminator, restored = restore_networks(run, iteration)
    return run, run.read_spec(), generator, discriminator, restored


def run_config(run: RunDirectory, overrides: dict | None = None) -> TrainConfig:
    """The run's TrainConfig with data options replaced by ``overrides``."""
    config = dataclasses.replace(run.config(), **(overrides or {}))
    config.validate()  # names a missing or wrong data path
    return config


def evaluate(run_dir: str, classifier_dir: str, *, second_classifier_dir: str | None = None,
             overrides: dict | None = None, num_images: int = 1000, seed: int = 0,
             inception_weights: str | None = None, inception_size: int = 299,
             iteration: int | None = None, batch: int = 64, progress: bool = True) -> dict:
    """Every metric of one checkpoint of a run, as a JSON-ready dict (see report.py).

    Args:
        run_dir: the training run.
        classifier_dir: a classifier from ``classifier_training.train_and_save``
            covering every label set of the run.
        second_classifier_dir: another such classifier, best of another architecture
            (``--arch=convnet`` beside a ResNet); adds ``classification_second`` and
            ``classifier_disagreement``. None to use one classifier.
        overrides: TrainConfig data fields replacing the run's (e.g. dataset paths, or
            one dataset of a joint run).
        num_images: held-out images per dataset.
        seed: fixes the KID subsets (everything else is deterministic already).
        inception_weights: an InceptionV3 weights file for FID/KID; None to use the
            classifier's penultimate features.
        inception_size: InceptionV3 input side.
        iteration: the checkpoint; None for the latest.
        batch: images per generator call.
        progress: show a progress bar.
    """
    if num_images < 2:
        raise UserError(f"--num_images={num_images}: need at least 2 for FID")
    run, spec, generator, discriminator, restored = load_networks(run_dir, iteration)
    layout = run.layout()
    config = run_config(run, overrides)
    sources = make_sources(config)
    parts = held_out_parts(sources, layout, num_images)
    classifier = _load_classifier(classifier_dir, layout)
    second = (_load_classifier(second_classifier_dir, layout) if second_classifier_dir
              else None)
    if second is not None and second.info.get("arch") == classifier.info.get("arch"):
        logging.warning("Both classifiers are %s: their disagreement then measures the "
                        "training noise of one architecture, not a second opinion",
                        classifier.info.get("arch"))
    if inception_weights:
        from stargan_keras.evaluation.inception import InceptionFeatures

        features = InceptionFeatures(inception_weights, inception_size)
        feature_name = features.description
    else:
        features = classifier.features
        feature_name = (f"{CLASSIFIER_FEATURES} ({classifier.info.get('arch')}, "
                        f"{classifier.image_size} px)")
    full_synthetic = (config.dataset in RENDERED_DATASETS
                      and tuple(s.label_set for s in sources) == layout.label_sets)
    logging.info("Evaluating %s at iteration %d on %d image(s) per dataset", run_dir, restored,
                 num_images)
    columns = sweep(generator, layout, parts, classifier=classifier,
                    second_classifier=second, features=features,
                    truth_sources=sources if full_synthetic else None, critic=discriminator,
                    batch=batch, progress=progress)
    result = {
        "run_dir": run_dir,
        "iteration": restored,
        "dataset": config.dataset,
        "num_images": {layout.label_sets[p.set_index].name: int(p.images.shape[0])
                       for p in parts},
        "seed": seed,
        "classifier": _classifier_info(classifier, classifier_dir),
        "classification": classification_summary(columns, _floor(classifier, layout, parts)),
        "reconstruction": reconstruction_summary(columns),
        "fid_kid": {"features": feature_name,
                    **distribution_summary(columns, layout, parts, features, seed)},
    }
    if second is not None:
        result["second_classifier"] = _classifier_info(second, second_classifier_dir)
        result["classification_second"] = classification_summary(
            columns, _floor(second, layout, parts), SECOND)
        result["classifier_disagreement"] = disagreement_summary(columns)
    if full_synthetic:
        result["ground_truth"] = truth_summary(columns)
    return result


def _load_classifier(directory: str, layout: LabelLayout) -> EvaluationClassifier:
    classifier = EvaluationClassifier.load(directory)
    for label_set in layout.label_sets:
        classifier.head(label_set)  # fails early, naming the missing set
    return classifier


def _classifier_info(classifier: EvaluationClassifier, directory: str) -> dict:
    return {"path": directory, "arch": classifier.info.get("arch"),
            "image_size": classifier.image_size,
            "real_test_error_at_training": {
                k: v["error"] for k, v in classifier.info["real_test_error"].items()}}


def _floor(classifier: EvaluationClassifier, layout: LabelLayout,
           parts: list[HeldOut]) -> dict:
    """The classifier's error on the real held-out images that were translated, per set."""
    return {layout.label_sets[p.set_index].name: real_error(
        classifier, layout.label_sets[p.set_index], p.images, _set_labels(layout, p))
        for p in parts}


def _set_labels(layout: LabelLayout, part: HeldOut) -> tf.Tensor:
    start, end = layout.span(part.set_index)
    return part.labels[:, start:end]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(values)) if values else None


def classification_summary(columns: dict[str, Column], floor: dict,
                           judge: str = "") -> dict:
    """Per column: error (not in the target domain), target-label accuracy, kept rate.

    Means are over columns, each column weighing the same. ``floor`` is the
    classifier's error on the real images that were translated, per label set.
    ``judge`` is the prefix of the classifier's scores in the columns: "" for the
    evaluation classifier, ``SECOND`` for the second one. D's figures
    (``critic_target_accuracy``) come with the first only.
    """
    per_target = {}
    for key, column in columns.items():
        correct = column.values(judge + "correct")
        entry = {"error": float(1.0 - correct.mean()), "accuracy": float(correct.mean()),
                 "target_accuracy": float(column.values(judge + "target_correct").mean())}
        kept = column.values(judge + "kept") if judge + "kept" in column.scores else None
        if kept is not None and not np.all(np.isnan(kept)):
            entry["kept_rate"] = float(np.nanmean(kept))
        if not judge and "critic_target_correct" in column.scores:
            entry["critic_target_accuracy"] = float(
                column.values("critic_target_correct").mean())
        per_target[key] = entry
    return {
        "error": _mean(e["error"] for e in per_target.values()),
        "accuracy": _mean(e["accuracy"] for e in per_target.values()),
        "target_accuracy": _mean(e["target_accuracy"] for e in per_target.values()),
        "kept_rate": _mean(e.get("kept_rate") for e in per_target.values()),
        "critic_target_accuracy": _mean(e.get("critic_target_accuracy")
                                        for e in per_target.values()),
        "floor": _mean(f["error"] for f in floor.values()),
        "real_error": floor,
        "per_target": per_target,
    }


def disagreement_summary(columns: dict[str, Column]) -> dict:
    """Where the two classifiers disagree on whether the changed label reached its target.

    Per column: the share of translations that one classifier reads as asked on the
    changed label and the other does not; ``mean`` over columns, each weighing the same.
    Both high accuracy and high disagreement mean that one classifier is fooled.
    """
    per_target = {key: float(np.mean(c.values("target_correct")
                                     != c.values(SECOND + "target_correct")))
                  for key, c in columns.items()}
    return {"mean": _mean(per_target.values()), "per_target": per_target}


def reconstruction_summary(columns: dict[str, Column]) -> dict:
    """Mean L1 and PSNR of x against G(G(x, c), c_org), over all translations and per column."""
    per_target = {key: {"l1": float(c.values("rec_l1").mean()),
                        "psnr": float(c.values("rec_psnr").mean())}
                  for key, c in columns.items()}
    every = list(columns.values())
    return {"l1": float(np.concatenate([c.values("rec_l1") for c in every]).mean()),
            "psnr": float(np.concatenate([c.values("rec_psnr") for c in every]).mean()),
            "per_target": per_target}


def distribution_summary(columns: dict[str, Column], layout: LabelLayout, parts: list[HeldOut],
                         features, seed: int) -> dict:
    """FID and KID between translations into each target domain and real images of it.

    A domain is a (label set, label, value) the grid asks for: a single-label class or
    an exclusive label is always asked on ("rafd:happy", "celeba:Black_Hair"); another
    attribute is flipped, so it has an "=1" and an "=0" domain ("celeba:Male=1").
    Translations from every source set are pooled per domain; the real images are the
    held-out images of that set with that label value. Domains with fewer than two
    images on either side, or with no real images of their set, are listed without
    scores.
    """
    real = {p.set_index: (_features_in_chunks(features, p.images),
                          _set_labels(layout, p).numpy()) for p in parts}
    fakes: dict[str, tuple[int, str, float, list]] = {}
    for column in columns.values():
        label_set = layout.label_sets[column.target_set]
        values, feats = column.values("target_value"), column.values("features")
        always_on = not label_set.multi_label or bool(label_set.exclusive_group(column.label))
        for value in np.unique(values):
            name = f"{label_set.name}:{column.label}"
            if not always_on:
                name += f"={int(value)}"
            entry = fakes.setdefault(name, (column.target_set, column.label, value, []))
            entry[3].append(feats[values == value])
    per_domain = {}
    for name, (set_index, label, value, chunks) in fakes.items():
        fake = np.concatenate(chunks)
        entry = {"num_fake": int(len(fake)), "num_real": 0, "fid": None, "kid": None,
                 "kid_std": None}
        if set_index in real:
            real_feats, real_labels = real[set_index]
            column_index = layout.label_sets[set_index].index(label)
            reference = real_feats[real_labels[:, column_index] == value]
            entry["num_real"] = int(len(reference))
            if len(reference) >= 2 and len(fake) >= 2:
                entry["fid"] = frechet_distance(fake, reference)
                entry["kid"], entry["kid_std"] = kernel_inception_distance(fake, reference,
                                                                           seed=seed)
        if entry["fid"] is None:
            logging.warning("No FID/KID for %s: %d translation(s), %d real image(s)", name,
                            entry["num_fake"], entry["num_real"])
        per_domain[name] = entry
    return {"fid": _mean(e["fid"] for e in per_domain.values()),
            "kid": _mean(e["kid"] for e in per_domain.values()),
            "per_domain": per_domain}


def _features_in_chunks(features, images: tf.Tensor, batch: int = 64) -> np.ndarray:
    return np.concatenate([features(images[i:i + batch])
                           for i in range(0, int(images.shape[0]), batch)])
