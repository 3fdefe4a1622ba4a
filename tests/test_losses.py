import math

import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.training import losses


def test_gradient_penalty_on_known_norms():
    # Per-example gradient norms 5 and 1 -> ((5 - 1)^2 + 0^2) / 2 = 8.
    grads = tf.constant([[[[3.0, 4.0]]], [[[0.0, 1.0]]]])
    assert float(losses.gradient_penalty(grads)) == pytest.approx(8.0)


def test_gradient_penalty_through_a_linear_critic():
    # D(x) = sum(w * x) has gradient w everywhere, so the penalty is (||w|| - 1)^2 for
    # any interpolate: the analytic case the official penalty must reproduce.
    w = tf.constant(np.arange(12, dtype="float32").reshape(1, 2, 2, 3) / 10.0)
    x_hat = tf.random.stateless_uniform((4, 2, 2, 3), (7, 8))
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        total = tf.reduce_sum(x_hat * w)
    penalty = losses.gradient_penalty(tape.gradient(total, x_hat))
    expected = (float(tf.norm(w)) - 1.0) ** 2
    assert float(penalty) == pytest.approx(expected, rel=1e-5)


def test_adversarial_terms():
    src = tf.constant([[1.0, 3.0], [5.0, 7.0]])
    assert float(losses.adversarial_real(src)) == -4.0
    assert float(losses.adversarial_fake(src)) == 4.0
    assert float(losses.generator_adversarial(src)) == -4.0


def test_multi_label_classification_sums_attributes_and_averages_batch():
    logits = tf.constant([[0.0, 0.0], [0.0, 0.0]])
    targets = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    # Each attribute costs log 2; two attributes per example, averaged over two examples.
    assert float(losses.multi_label_classification(logits, targets)) == pytest.approx(
        2 * math.log(2))


def test_single_label_classification():
    logits = tf.constant([[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]])
    targets = tf.constant([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert float(losses.single_label_classification(logits, targets)) == pytest.approx(
        math.log(4) / 2, rel=1e-5)


def test_weights_drop_examples_but_keep_batch_denominator():
    logits = tf.constant([[0.0], [1e30]])
    targets = tf.constant([[1.0], [0.0]])
    loss = losses.multi_label_classification(logits, targets, tf.constant([1.0, 0.0]))
    assert float(loss) == pytest.approx(math.log(2) / 2)


def test_reconstruction_is_mean_absolute_error():
    x = tf.zeros((2, 2, 2, 3))
    assert float(losses.reconstruction(x, x + 0.25)) == pytest.approx(0.25)


def test_nonsaturating_terms_are_softplus_of_the_logits():
    src = tf.constant([[0.0], [2.0]])
    assert float(losses.nonsaturating_real(src)) == pytest.approx(
        (math.log(2) + math.log1p(math.exp(-2))) / 2, rel=1e-6)
    assert float(losses.nonsaturating_fake(src)) == pytest.approx(
        (math.log(2) + math.log1p(math.exp(2))) / 2, rel=1e-6)
    assert float(losses.nonsaturating_generator(src)) == pytest.approx(
        float(losses.nonsaturating_real(src)))


def test_r1_penalty_is_half_the_mean_squared_gradient_norm():
    # Squared norms 25 and 1 -> 0.5 * (25 + 1) / 2 = 6.5.
    grads = tf.constant([[[[3.0, 4.0]]], [[[0.0, 1.0]]]])
    assert float(losses.r1_penalty(grads)) == pytest.approx(6.5)


def test_mask_penalty_counts_what_the_mask_keeps():
    masks = tf.constant([1.0, 0.0, 0.25, 0.75])[:, None, None, None]
    assert float(losses.mask_penalty(masks)) == pytest.approx(0.5)
