"""A generator and classifiers with known answers: G writes its target label vector into
the image's first row, and the classifier reads it back (or its opposite, or some labels
the other way)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from stargan_keras.evaluation.classifier import EvaluationClassifier
from stargan_keras.labels import LabelLayout

SIZE = 16


def code_generator(inputs, training=False):
    """G(x, c): x with c written as +-1 into channel 0 of the first row's first pixels."""
    images, labels = inputs
    width = labels.shape[1]
    code = tf.concat([2.0 * labels - 1.0, images[:, 0, width:, 0]], axis=1)
    first_row = tf.concat([code[:, None, :, None], images[:, :1, :, 1:]], axis=3)
    return tf.concat([first_row, images[:, 1:]], axis=1)


def identity_generator(inputs, training=False):
    return inputs[0]


def code_classifier(layout: LabelLayout, right: bool = True,
                    misread: tuple[str, ...] = ()) -> EvaluationClassifier:
    """Reads the code back as logits: always right, or (right=False) every label wrong.

    ``misread`` names labels (of any set) read the other way from the rest: a judge that
    agrees with a right one everywhere except on those labels.
    """
    dim = layout.logits_dim
    names = [name for label_set in layout.label_sets for name in label_set.names]
    images = keras.Input((SIZE, SIZE, 3))
    row = layers.Flatten()(layers.Cropping2D(((0, SIZE - 1), (0, SIZE - dim)))(images))
    features = layers.Dense(dim, use_bias=False, name="features")(row)
    logits = layers.Rescaling(10.0 if right else -10.0, name="logits")(features)
    model = keras.Model(images, logits)
    kernel = np.zeros((3 * dim, dim), np.float32)
    signs = [-1.0 if name in misread else 1.0 for name in names]
    kernel[3 * np.arange(dim), np.arange(dim)] = signs  # channel 0 of pixel j -> logit j
    model.get_layer("features").set_weights([kernel])
    return EvaluationClassifier(model, layout, {"arch": "oracle"})
