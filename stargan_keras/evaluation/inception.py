"""InceptionV3 pool features for FID/KID, from a weights file (nothing is downloaded)."""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from stargan_keras.errors import MissingFileError

FID_INPUT_SIZE = 299  # the size FID is defined at


class InceptionFeatures:
    """images in [-1, 1] -> InceptionV3's 2048 average-pooled features.

    [-1, 1] is the input range Keras' InceptionV3 expects (its preprocess_input maps
    [0, 255] there), so images are only resized.

    Args:
        weights_file: InceptionV3 weights without the top, e.g. Keras'
            inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5.
        input_size: side images are resized to (at least 75).
    """

    def __init__(self, weights_file: str, input_size: int = FID_INPUT_SIZE):
        if not os.path.isfile(weights_file):
            raise MissingFileError(f"--inception_weights={weights_file}: no such file")
        self.input_size, self.weights_file = input_size, weights_file
        self.model = keras.applications.InceptionV3(
            weights=weights_file, include_top=False, pooling="avg",
            input_shape=(input_size, input_size, 3))

    @property
    def description(self) -> str:
        return (f"InceptionV3 pool features ({os.path.basename(self.weights_file)}, "
                f"{self.input_size} px)")

    def __call__(self, images: tf.Tensor) -> np.ndarray:
        resized = tf.image.resize(images, (self.input_size, self.input_size), method="bilinear")
        return self.model(resized, training=False).numpy()
