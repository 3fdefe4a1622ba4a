"""Differentiable augmentation of what D sees (DiffAugment, Zhao et al. 2020).

D's classifier is what G must satisfy, and with few images a D that memorises exact
pixels can be fooled by a few exact pixels. Showing D every real and fake image shifted
and partly hidden, with the same random draws for the images of one call and gradients
flowing through to G, keeps its judgement on what survives such changes. Only
label-preserving augmentations are offered: colour jitter would change hair colour,
which is a label.
"""

from __future__ import annotations

import tensorflow as tf


def augment(images: tf.Tensor, policy: tuple[str, ...], seed: tf.Tensor) -> tf.Tensor:
    """``images`` [N, H, W, C] with each augmentation of ``policy`` applied in order.

    Args:
        images: a batch; each image draws its own shift and cutout.
        policy: names from config.AUGMENTATIONS ("translation", "cutout").
        seed: int32 [2], a stateless seed: the same seed gives the same result.
    """
    for i, name in enumerate(policy):
        step_seed = tf.random.experimental.stateless_fold_in(seed, i)
        images = AUGMENTATIONS[name](images, step_seed)
    return images


def translation(images: tf.Tensor, seed: tf.Tensor, ratio: float = 0.125) -> tf.Tensor:
    """Shift each image by up to ``ratio`` of its side in x and y, filling with zeros."""
    n, h, w = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    limit = tf.cast(tf.round(tf.cast(h, tf.float32) * ratio), tf.int32)
    shift = tf.random.stateless_uniform([n, 2], seed, -limit, limit + 1, dtype=tf.int32)
    rows = tf.range(h)[None, :] - shift[:, :1]  # source row of each output row
    cols = tf.range(w)[None, :] - shift[:, 1:]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    gathered = tf.gather(images, tf.clip_by_value(rows, 0, h - 1), axis=1, batch_dims=1)
    gathered = tf.gather(gathered, tf.clip_by_value(cols, 0, w - 1), axis=2, batch_dims=1)
    return tf.where(inside[..., None], gathered, tf.zeros_like(gathered))


def cutout(images: tf.Tensor, seed: tf.Tensor, ratio: float = 0.25) -> tf.Tensor:
    """Zero one square of side ``ratio`` * image side at a random place in each image."""
    n, h, w = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    size = tf.cast(tf.round(tf.cast(h, tf.float32) * ratio), tf.int32)
    corner = tf.random.stateless_uniform([n, 2], seed, 0, h - size + 1, dtype=tf.int32)
    rows = tf.range(h)[None, :] - corner[:, :1]
    cols = tf.range(w)[None, :] - corner[:, 1:]
    hidden = (((rows >= 0) & (rows < size))[:, :, None]
              & ((cols >= 0) & (cols < size))[:, None, :])
    return tf.where(hidden[..., None], tf.zeros_like(images), images)


AUGMENTATIONS = {"translation": translation, "cutout": cutout}
