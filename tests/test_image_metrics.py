import math

import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.evaluation.image_metrics import l1_error, psnr, ssim


def _images(seed=0, n=3, size=16):
    return tf.random.stateless_uniform((n, size, size, 3), seed=(seed, 1), minval=-0.5,
                                       maxval=0.5)


def test_identical_images():
    a = _images()
    np.testing.assert_array_equal(l1_error(a, a), np.zeros(3))
    assert np.all(np.isinf(psnr(a, a).numpy()))
    np.testing.assert_allclose(ssim(a, a), np.ones(3), atol=1e-6)


def test_a_known_shift():
    a = _images()
    shifted = a + 0.5
    np.testing.assert_allclose(l1_error(shifted, a), np.full(3, 0.5), rtol=1e-6)
    # MSE 0.25 on a peak-to-peak range of 2: 10 log10(4 / 0.25) = 12.0412 dB.
    np.testing.assert_allclose(psnr(shifted, a), np.full(3, 10 * math.log10(16.0)), rtol=1e-5)


@pytest.mark.parametrize("size", [16, 8])
def test_ssim_of_flat_images_is_the_luminance_term(size):
    # Flat images have no contrast or structure, so SSIM is (2ab + C1) / (a^2 + b^2 + C1)
    # with a, b the intensities on [0, 1] and C1 = 0.01^2; windows smaller than 11 px too.
    a, b = 0.2, 0.6
    first = tf.fill((1, size, size, 3), 2 * a - 1)
    second = tf.fill((1, size, size, 3), 2 * b - 1)
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    np.testing.assert_allclose(ssim(first, second), [expected], rtol=1e-3)


def test_ssim_falls_with_noise():
    a = _images()
    noisy = a + 0.3 * tf.random.stateless_normal(a.shape, seed=(5, 5))
    assert np.all(ssim(noisy, a).numpy() < 0.9)
