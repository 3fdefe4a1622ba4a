import numpy as np
import tensorflow as tf

from stargan_keras.image_grid import viewable


def test_small_pictures_grow_by_a_whole_factor_and_large_ones_stay():
    picture = tf.constant(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3))
    grown = viewable(picture, long_side=10).numpy()
    assert grown.shape == (8, 12, 3)  # factor ceil(10 / 3) = 4
    np.testing.assert_array_equal(grown[::4, ::4], picture)
    np.testing.assert_array_equal(grown, np.repeat(np.repeat(picture, 4, 0), 4, 1))
    assert viewable(picture, long_side=3).shape == (2, 3, 3)
    big = tf.zeros((800, 600, 3), tf.uint8)
    assert viewable(big).shape == (800, 600, 3)
