"""The evaluation classifier: a network that tells which domain an image belongs to.

The paper measures translations with a classifier trained on real images (RaFD: 2.12%
error for StarGAN's translations, 0.45% for real images). One classifier serves every
label set of a layout: a shared trunk with one head per label set, laid out like D's
domain logits ([set 0 | set 1 | ...], no mask logits) and trained with the same
mask-weighted loss, so joint (mask vector) runs need one classifier, whose per-set
heads also judge cross-dataset translations.

A classifier directory holds:

    CLS/classifier.keras   the Keras model: images [N, S, S, 3] in [-1, 1] -> logits
    CLS/classifier.json    label layout, dataset, image size, architecture and its
                           error on real held-out images (the floor of any translation)
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from stargan_keras.errors import MissingFileError, UserError
from stargan_keras.labels import LabelLayout, LabelSet

MODEL_FILE = "classifier.keras"
INFO_FILE = "classifier.json"
FEATURES_LAYER = "features"


@dataclasses.dataclass(frozen=True)
class ResNet:
    """He et al.'s ResNet of basic blocks (two 3x3 conv-BN, identity or projection shortcut).

    Attributes:
        stem: channels of the stem convolution.
        widths: channels of each stage; every stage after the first halves the size.
        blocks: basic blocks per stage.
        imagenet_stem: the 7x7 stride-2 stem and max-pool of ImageNet models, else one
            3x3 convolution at full size.
    """

    stem: int
    widths: tuple[int, ...]
    blocks: int
    imagenet_stem: bool
    dropout: ClassVar[float] = 0.0  # none: batch norm is their only regulariser

    def trunk(self, inputs):
        if self.imagenet_stem:
            x = layers.Conv2D(self.stem, 7, strides=2, padding="same", use_bias=False,
                              name="stem_conv")(inputs)
        else:
            x = layers.Conv2D(self.stem, 3, padding="same", use_bias=False,
                              name="stem_conv")(inputs)
        x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
        if self.imagenet_stem:
            x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
        for stage, width in enumerate(self.widths):
            for block in range(self.blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                x = _basic_block(x, width, stride, f"stage{stage}_block{block}")
        return layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(x)


@dataclasses.dataclass(frozen=True)
class ConvNet:
    """A plain VGG-style stack (Simonyan & Zisserman 2015), with batch norm, no shortcuts.

    Each stage is two 3x3 conv-BN-ReLU pairs and a 2x2 max-pool; then global average
    pooling, a dense ReLU layer (the features) and dropout before the logits.

    Attributes:
        widths: channels of each stage.
        features: width of the dense layer.
        dropout: dropout rate before the logits (training only).
    """

    widths: tuple[int, ...]
    features: int
    dropout: float

    def trunk(self, inputs):
        x = inputs
        for stage, width in enumerate(self.widths):
            for i in (1, 2):
                x = layers.Conv2D(width, 3, padding="same", use_bias=False,
                                  name=f"stage{stage}_conv{i}")(x)
                x = layers.BatchNormalization(name=f"stage{stage}_bn{i}")(x)
                x = layers.ReLU(name=f"stage{stage}_relu{i}")(x)
            x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        x = layers.GlobalAveragePooling2D(name="pool")(x)
        return layers.Dense(self.features, activation="relu", name=FEATURES_LAYER)(x)


ARCHITECTURES = {
    # He et al. 2016's ResNet-18, the size the paper's classifier has.
    "resnet18": ResNet(64, (64, 128, 256, 512), 2, True),
    # Enough for the built-in synthetic shapes; trains in a minute on a CPU.
    "small": ResNet(16, (16, 32, 64), 1, False),
    # A second judge of another family than the ResNets: a translation that fools one
    # network (a partial edit, a texture it over-weighs) is less likely to fool both.
    "convnet": ConvNet((32, 64, 128), 128, 0.3),
}


def build_classifier(arch: str, image_size: int, num_logits: int) -> keras.Model:
    """The classifier network; its pooled penultimate features are layer ``features``.

    Args:
        arch: a key of ARCHITECTURES.
        image_size: input height and width.
        num_logits: outputs (the layout's ``logits_dim``).
    """
    if arch not in ARCHITECTURES:
        raise UserError(f"unknown classifier architecture {arch!r}; "
                        f"expected one of {', '.join(ARCHITECTURES)}")
    spec = ARCHITECTURES[arch]
    inputs = keras.Input((image_size, image_size, 3), name="images")
    x = spec.trunk(inputs)
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    logits = layers.Dense(num_logits, name="logits")(x)
    return keras.Model(inputs, logits, name=f"classifier_{arch}")


def _basic_block(x, width: int, stride: int, name: str):
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False,
                                 name=f"{name}_proj_conv")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    h = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False,
                      name=f"{name}_conv1")(x)
    h = layers.ReLU(name=f"{name}_relu1")(layers.BatchNormalization(name=f"{name}_bn1")(h))
    h = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(h)
    h = layers.BatchNormalization(name=f"{name}_bn2")(h)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, h]))


def predict_labels(logits: tf.Tensor, multi_label: bool) -> np.ndarray:
    """0/1 labels [N, dim] from one set's logits: each attribute's sign, or the argmax class."""
    logits = np.asarray(logits)
    if multi_label:
        return (logits > 0).astype(np.float32)
    return np.eye(logits.shape[1], dtype=np.float32)[np.argmax(logits, axis=1)]


def domain_correct(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per image [N]: does the prediction put the image in the labelled domain (all labels)?"""
    return np.all(predicted == np.asarray(labels), axis=1)


def translation_scores(predicted: np.ndarray, targets: np.ndarray, label_set: LabelSet,
                       label: str) -> dict[str, np.ndarray]:
    """How a classifier judges translations asked to change ``label`` (a grid column).

    Args:
        predicted: the classifier's 0/1 labels [N, dim] of the translations in this set.
        targets: the target labels [N, dim] G was given in this set.
        label_set: the set the column changes.
        label: the label the column changes.

    Returns:
        Per image [N]: ``correct`` (in the target domain: every label as asked),
        ``target_correct`` (the changed label as asked) and, for multi-label sets,
        ``kept`` (share of the labels outside the change that stayed as they were; NaN
        when the change touches every label).
    """
    targets = np.asarray(targets)
    i = label_set.index(label)
    scores = {"correct": domain_correct(predicted, targets),
              "target_correct": predicted[:, i] == targets[:, i]}
    if label_set.multi_label:
        touched = set(label_set.exclusive_group(label)) | {label}
        others = [j for j, name in enumerate(label_set.names) if name not in touched]
        scores["kept"] = (np.mean(predicted[:, others] == targets[:, others], axis=1)
                          if others else np.full(len(targets), np.nan))
    return scores


class EvaluationClassifier:
    """A trained classifier with what evaluation needs to know about it.

    Args:
        model: images [N, S, S, 3] in [-1, 1] -> logits [N, layout.logits_dim].
        layout: the label sets its heads predict, in logit order.
        info: the rest of classifier.json (dataset, arch, real_test_error, ...).
    """

    def __init__(self, model: keras.Model, layout: LabelLayout, info: dict):
        self.model, self.layout, self.info = model, layout, info
        self.image_size = int(model.input_shape[1])
        self._features = keras.Model(model.inputs, model.get_layer(FEATURES_LAYER).output)

    @classmethod
    def load(cls, directory: str) -> EvaluationClassifier:
        model_path, info_path = (os.path.join(directory, n) for n in (MODEL_FILE, INFO_FILE))
        for path in (model_path, info_path):
            if not os.path.exists(path):
                raise MissingFileError(f"{path} not found: is {directory} a classifier "
                                       "directory made by stargan_keras.train_classifier?")
        with open(info_path) as f:
            info = json.load(f)
        model = keras.saving.load_model(model_path, compile=False)
        return cls(model, LabelLayout.from_json(info["labels"]), info)

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.model.save(os.path.join(directory, MODEL_FILE))
        info = {**self.info, "labels": self.layout.to_json()}
        with open(os.path.join(directory, INFO_FILE), "w") as f:
            json.dump(info, f, indent=2)

    def head(self, label_set: LabelSet) -> tuple[int, int]:
        """The logit columns of ``label_set``; an error if this classifier lacks it."""
        for i, known in enumerate(self.layout.label_sets):
            if known == label_set:
                return self.layout.span(i)
        raise UserError(
            f"the classifier knows {', '.join(s.name for s in self.layout.label_sets)} "
            f"but not {label_set.name} with labels {', '.join(label_set.names)}; train one "
            "with stargan_keras.train_classifier on the run's dataset and attributes")

    def _inputs(self, images: tf.Tensor) -> tf.Tensor:
        if images.shape[1] != self.image_size or images.shape[2] != self.image_size:
            images = tf.image.resize(images, (self.image_size, self.image_size),
                                     antialias=True)
        return images

    def logits(self, images: tf.Tensor) -> np.ndarray:
        """Logits [N, layout.logits_dim]; images of another size are resized first."""
        return self.model(self._inputs(images), training=False).numpy()

    def features(self, images: tf.Tensor) -> np.ndarray:
        """The pooled penultimate features [N, F], for FID/KID without InceptionV3."""
        return self._features(self._inputs(images), training=False).numpy()

    def predict(self, images: tf.Tensor, label_set: LabelSet) -> np.ndarray:
        """0/1 labels [N, label_set.dim] of ``images`` in ``label_set``."""
        start, end = self.head(label_set)
        return predict_labels(self.logits(images)[:, start:end], label_set.multi_label)


def real_error(classifier: EvaluationClassifier, label_set: LabelSet, images: tf.Tensor,
               labels: tf.Tensor, batch: int = 256) -> dict:
    """The classifier's error on real images of one set (labels [N, dim] in that set).

    ``error`` is the share of images not put in their own domain (every label right);
    multi-label sets also get each attribute's error.
    """
    predicted = np.concatenate([classifier.predict(images[i:i + batch], label_set)
                                for i in range(0, int(images.shape[0]), batch)])
    labels = np.asarray(labels)
    result = {"error": float(1.0 - domain_correct(predicted, labels).mean()),
              "num_images": int(labels.shape[0])}
    if label_set.multi_label:
        wrong = (predicted != labels).mean(axis=0)
        result["attribute_error"] = {n: float(e) for n, e in zip(label_set.names, wrong)}
    return result
