"""Image preprocessing shared by training, translation and export.

The official transforms are CenterCrop(crop_size) then Resize(image_size) then
scaling to [-1, 1] (plus a random horizontal flip in training only). Keeping them in
one place means a photo translated or served later is prepared exactly as the
training images were.
"""

from __future__ import annotations

import tensorflow as tf


def decode_rgb(data: tf.Tensor) -> tf.Tensor:
    """JPEG/PNG/BMP/GIF bytes to uint8 [H, W, 3]; grayscale and RGBA become RGB."""
    return tf.io.decode_image(data, channels=3, expand_animations=False)


def crop_window(height, width, crop_size: int | None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(top, left, side) of the centred square that ``center_crop_resize`` keeps.

    The side is ``crop_size``, clipped to the shorter side of the image (the whole
    shorter side when ``crop_size`` is None). The offsets round to nearest, as
    torchvision's CenterCrop does: int(round((H - h) / 2.0)).
    """
    side = tf.minimum(height, width)
    if crop_size is not None:
        side = tf.minimum(crop_size, side)

    def offset(extent):
        return tf.cast(tf.round(tf.cast(extent - side, tf.float32) / 2.0), tf.int32)

    return offset(height), offset(width), side


def center_crop_resize(image: tf.Tensor, crop_size: int | None, image_size: int) -> tf.Tensor:
    """uint8 or float [H, W, 3] -> float32 [image_size, image_size, 3] in [-1, 1].

    ``crop_size`` None crops the largest centred square. A crop larger than the image
    is clipped to that largest centred square (torchvision would pad with black instead;
    a crop that invents borders, or a non-square one that stretches the face when
    resized, is never what a user of a small photo wants).
    """
    shape = tf.shape(image)
    top, left, side = crop_window(shape[0], shape[1], crop_size)
    cropped = image[top:top + side, left:left + side]
    pixels = tf.cast(cropped, tf.float32)
    if image.dtype == tf.uint8:
        pixels = pixels / 255.0
    resized = tf.image.resize(pixels, (image_size, image_size), method="bilinear",
                              antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0) * 2.0 - 1.0
