"""Per-image distances between images in [-1, 1] (peak-to-peak 2)."""

from __future__ import annotations

import tensorflow as tf

_PEAK = 2.0  # the range of [-1, 1]


def l1_error(images: tf.Tensor, references: tf.Tensor) -> tf.Tensor:
    """Per-image mean absolute error on the [-1, 1] scale, [N]."""
    return tf.reduce_mean(tf.abs(images - references), axis=[1, 2, 3])


def psnr(images: tf.Tensor, references: tf.Tensor) -> tf.Tensor:
    """Per-image PSNR in dB for [-1, 1] images, [N]; inf when equal."""
    mse = tf.reduce_mean(tf.square(images - references), axis=[1, 2, 3])
    return 10.0 * tf.math.log(_PEAK**2 / mse) / tf.math.log(10.0)


def ssim(images: tf.Tensor, references: tf.Tensor) -> tf.Tensor:
    """Per-image SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), [N]; 1 when equal.

    SSIM's luminance term assumes non-negative intensities, so images are compared on
    [0, 1]. Images smaller than the window are compared with a window of their size.
    """
    size = min(11, int(images.shape[1]), int(images.shape[2]))
    return tf.image.ssim(_unit(images), _unit(references), max_val=1.0, filter_size=size)


def _unit(images: tf.Tensor) -> tf.Tensor:
    return (tf.cast(images, tf.float32) + 1.0) / 2.0
