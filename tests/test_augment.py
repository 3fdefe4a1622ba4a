import numpy as np
import tensorflow as tf

from stargan_keras.training import augment

SEED = tf.constant([3, 4], tf.int32)


def _ramp(n=6, size=16):
    return tf.reshape(tf.range(n * size * size * 2, dtype=tf.float32) + 1.0, (n, size, size, 2))


def test_translation_shifts_each_image_within_an_eighth_and_fills_zeros():
    images = _ramp()
    shifted = augment.translation(images, SEED).numpy()
    for original, moved in zip(images.numpy(), shifted):
        # Find the shift that explains the result: every kept pixel is the original's
        # pixel at the shifted place, and the rest is zero.
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = np.zeros_like(original)
                ys, xs = slice(max(dy, 0), 16 + min(dy, 0)), slice(max(dx, 0), 16 + min(dx, 0))
                yo, xo = slice(max(-dy, 0), 16 + min(-dy, 0)), slice(max(-dx, 0), 16 + min(-dx, 0))
                expected[ys, xs] = original[yo, xo]
                if np.array_equal(moved, expected):
                    matches.append((dy, dx))
        assert len(matches) == 1
    assert not np.array_equal(shifted, images.numpy())


def test_cutout_zeroes_one_square_of_a_quarter_side():
    images = _ramp()
    hidden = augment.cutout(images, SEED).numpy() == 0
    for mask in hidden[..., 0]:
        rows, cols = np.nonzero(mask)
        assert mask.sum() == 16  # 4 x 4
        assert rows.max() - rows.min() == 3 and cols.max() - cols.min() == 3
    np.testing.assert_array_equal(hidden[..., 0], hidden[..., 1])


def test_augment_is_a_pure_function_of_its_seed_and_differentiable():
    images = _ramp()
    policy = ("translation", "cutout")
    a = augment.augment(images, policy, SEED)
    np.testing.assert_array_equal(a, augment.augment(images, policy, SEED))
    assert not np.array_equal(a, augment.augment(images, policy, SEED + 1))
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(augment.augment(images, policy, SEED))
    gradient = tape.gradient(total, images).numpy()
    # A pixel's gradient is 1 where it is still shown, 0 where it was hidden or shifted out.
    assert set(np.unique(gradient)) <= {0.0, 1.0} and gradient.sum() > 0
    assert gradient.sum() == (a.numpy() != 0).sum()
