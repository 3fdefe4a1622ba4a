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


def center_crop_resize(image: tf.Tensor, crop_size: int | None, image_size: int) -> tf.Tensor:
    """uint8 or float [H, W, 3] -> float32 [image_size, image_size, 3] in [-1, 1].

    ``crop_size`` None crops the largest centred square. A crop larger than the image
    is clipped to that largest centred square (torchvision would pad with black instead;
    a crop that invents borders, or a non-square one that stretches the face when
    resized, is never what a user of a small photo wants).
    """
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    crop_h = crop_w = tf.minimum(height, width)
    if crop_size is not None:
        crop_h = crop_w = tf.minimum(crop_size, crop_h)
    # torchvision's CenterCrop rounds the offset to nearest: int(round((H - h) / 2.0)).
    top = tf.cast(tf.round(tf.cast(height - crop_h, tf.float32) / 2.0), tf.int32)
    left = tf.cast(tf.round(tf.cast(width - crop_w, tf.float32) / 2.0), tf.int32)
    cropped = image[top:top + crop_h, left:left + crop_w]
    pixels = tf.cast(cropped, tf.float32)
    if image.dtype == tf.uint8:
        pixels = pixels / 255.0
    resized = tf.image.resize(pixels, (image_size, image_size), method="bilinear",
                              antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0) * 2.0 - 1.0
