"""The StarGAN objectives as small pure functions (Choi et al. 2018, eqs. 1-7).

Each returns the mean over the examples it is given; the training step divides by the
number of replicas so that summed gradients equal those of the global batch.
"""

from __future__ import annotations

import tensorflow as tf

from stargan_keras.labels import LabelLayout


def adversarial_real(src_real: tf.Tensor) -> tf.Tensor:
    """D's WGAN term on real images: -E[D_src(x)]."""
    return -tf.reduce_mean(src_real)


def adversarial_fake(src_fake: tf.Tensor) -> tf.Tensor:
    """D's WGAN term on fakes: +E[D_src(G(x, c))]."""
    return tf.reduce_mean(src_fake)


def generator_adversarial(src_fake: tf.Tensor) -> tf.Tensor:
    """G's WGAN term: -E[D_src(G(x, c))]."""
    return -tf.reduce_mean(src_fake)


def gradient_penalty(gradients: tf.Tensor) -> tf.Tensor:
    """WGAN-GP: E[(||grad_x_hat D_src(x_hat)||_2 - 1)^2], the norm taken per example."""
    flat = tf.reshape(gradients, (tf.shape(gradients)[0], -1))
    norms = tf.sqrt(tf.reduce_sum(tf.square(flat), axis=1))
    return tf.reduce_mean(tf.square(norms - 1.0))


def multi_label_classification(logits: tf.Tensor, targets: tf.Tensor,
                               weights: tf.Tensor | None = None) -> tf.Tensor:
    """Binary cross-entropy summed over attributes, averaged over the batch.

    ``weights`` [N] selects the examples the loss counts (the mask vector's job in joint
    training); the mean still divides by the whole batch, as the official code does when
    a batch comes from one dataset.
    """
    per_example = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), axis=1)
    return _weighted_mean(per_example, weights)


def single_label_classification(logits: tf.Tensor, targets: tf.Tensor,
                                weights: tf.Tensor | None = None) -> tf.Tensor:
    """Softmax cross-entropy against one-hot targets, averaged over the batch."""
    per_example = tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    return _weighted_mean(per_example, weights)


def classification_loss(layout: LabelLayout, logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Sum over label sets of each set's loss on its own slice, for its own examples."""
    total = tf.constant(0.0, logits.dtype)
    for i, label_set in enumerate(layout.label_sets):
        start, end = layout.span(i)
        loss_fn = (multi_label_classification if label_set.multi_label
                   else single_label_classification)
        total += loss_fn(logits[:, start:end], labels[:, start:end], layout.mask(labels, i))
    return total


def reconstruction(images: tf.Tensor, reconstructed: tf.Tensor) -> tf.Tensor:
    """Cycle loss E[|x - G(G(x, c), c_org)|] (mean absolute error over all pixels)."""
    return tf.reduce_mean(tf.abs(images - reconstructed))


def _weighted_mean(per_example: tf.Tensor, weights: tf.Tensor | None) -> tf.Tensor:
    if weights is None:
        return tf.reduce_mean(per_example)
    # tf.where rather than a product, so a non-finite loss on an excluded example
    # cannot leak into the result as 0 * inf.
    kept = tf.where(weights > 0, per_example * weights, tf.zeros_like(per_example))
    return tf.reduce_sum(kept) / tf.cast(tf.shape(per_example)[0], per_example.dtype)
