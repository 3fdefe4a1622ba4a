import numpy as np
import tensorflow as tf

from stargan_keras.data.preprocess import center_crop_resize, decode_rgb


def test_center_crop_window_is_the_official_one():
    # 218 x 178 (CelebA's aligned size), crop 178: rows 20..197 are kept.
    image = np.zeros((218, 178, 3), np.uint8)
    image[20:198] = 255
    out = center_crop_resize(tf.constant(image), 178, 178).numpy()
    assert out.shape == (178, 178, 3)
    np.testing.assert_allclose(out, 1.0)


def test_range_and_resize():
    image = tf.constant(np.tile(np.array([0, 128, 255], np.uint8), (40, 60, 1)))
    out = center_crop_resize(image, None, 16).numpy()
    assert out.shape == (16, 16, 3)
    np.testing.assert_allclose(out[0, 0], [-1.0, 128 / 127.5 - 1.0, 1.0], atol=1e-6)


def test_grayscale_and_rgba_become_rgb():
    gray = tf.io.encode_png(tf.fill((5, 7, 1), tf.constant(200, tf.uint8)))
    rgba = tf.io.encode_png(tf.concat([tf.fill((5, 7, 3), tf.constant(10, tf.uint8)),
                                       tf.fill((5, 7, 1), tf.constant(0, tf.uint8))], -1))
    assert decode_rgb(gray).shape == (5, 7, 3) and int(decode_rgb(gray)[0, 0, 2]) == 200
    assert decode_rgb(rgba).shape == (5, 7, 3) and int(decode_rgb(rgba)[0, 0, 0]) == 10


def test_crop_larger_than_image_is_clipped_to_the_largest_centred_square():
    # 50 x 40 with crop 178: the centred 40 x 40 square (rows 5..44), not a stretched 50 x 40.
    image = np.zeros((50, 40, 3), np.uint8)
    image[5:45] = 255
    out = center_crop_resize(tf.constant(image), 178, 8).numpy()
    assert out.shape == (8, 8, 3)
    np.testing.assert_allclose(out, 1.0, atol=1e-5)
    # Only one side too small (30 x 60, crop 40): the 30 x 30 centre, columns 15..44.
    image = np.zeros((30, 60, 3), np.uint8)
    image[:, 15:45] = 255
    np.testing.assert_allclose(center_crop_resize(tf.constant(image), 40, 6), 1.0, atol=1e-5)
