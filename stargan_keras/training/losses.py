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


def nonsaturating_real(src_real: tf.Tensor) -> tf.Tensor:
    """D's non-saturating term on real images: E[softplus(-D_src(x))] = -E[log sigmoid]."""
    return tf.reduce_mean(tf.nn.softplus(-src_real))


def nonsaturating_fake(src_fake: tf.Tensor) -> tf.Tensor:
    """D's non-saturating term on fakes: E[softplus(D_src(G(x, c)))]."""
    return tf.reduce_mean(tf.nn.softplus(src_fake))


def nonsaturating_generator(src_fake: tf.Tensor) -> tf.Tensor:
    """G's non-saturating term: E[softplus(-D_src(G(x, c)))]."""
    return tf.reduce_mean(tf.nn.softplus(-src_fake))


def r1_penalty(gradients: tf.Tensor) -> tf.Tensor:
    """R1 (Mescheder et al. 2018): 0.5 E[||grad_x D_src(x)||^2] on real images, as
    StarGAN v2 computes it (the 0.5 is gamma / 2 with gamma carried by the weight)."""
    flat = tf.reshape(gradients, (tf.shape(gradients)[0], -1))
    return 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(flat), axis=1))


def mask_penalty(masks: tf.Tensor) -> tf.Tensor:
    """E[1 - m] of attention masks m (1: take G's colour; 0: keep the input).

    GANimation regularises its mask away from "keep everything", the solution that
    satisfies the reconstruction loss for free; this is that term for a mask whose 1
    means change.
    """
    return tf.reduce_mean(1.0 - masks)


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
