"""Image grids and PNG files."""

from __future__ import annotations

import tensorflow as tf


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """[-1, 1] floats to uint8 pixels, rounding to nearest."""
    return tf.cast(tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)), tf.uint8)


def grid(columns: list[tf.Tensor]) -> tf.Tensor:
    """One image [rows*H, cols*W, 3] from columns, each a batch [rows, H, W, 3]."""
    rows = tf.concat(columns, axis=2)  # [rows, H, cols*W, 3]
    return tf.reshape(rows, (-1,) + tuple(rows.shape[2:]))


def viewable(picture: tf.Tensor, long_side: int = 768) -> tf.Tensor:
    """``picture`` [H, W, C] scaled up by the integer factor that brings its long side to
    at least ``long_side`` (nearest neighbour: every pixel becomes a block, nothing is
    invented). A 32 px sample grid is otherwise too small to see without zooming."""
    factor = max(1, -(-long_side // max(int(picture.shape[0]), int(picture.shape[1]))))
    return tf.repeat(tf.repeat(picture, factor, axis=0), factor, axis=1)


def write_png(image_uint8: tf.Tensor, path: str) -> None:
    """Write [H, W, 3] uint8 to ``path`` via a temporary file, so readers never see half."""
    temporary = path + ".tmp"
    tf.io.write_file(temporary, tf.io.encode_png(image_uint8))
    tf.io.gfile.rename(temporary, path, overwrite=True)
