"""Built-in synthetic data: procedurally drawn shapes whose translations have a known answer.

Every image is a scene: an identity (background tone, tint and gradient, position, size,
shade) plus attributes. Two label sets describe the same world, as CelebA and RaFD
describe faces:

* ``synthetic`` (multi-label, like CelebA): red / green / blue (mutually exclusive
  colours, like hair colours), ``square`` (circle or square: a change of shape) and
  ``large`` (a change of size).
* ``synthetic_single`` (single-label, like RaFD's expressions): the mark drawn inside the
  shape: plain, hbar, vbar or cross.

Each label set's images carry all attributes, but know only their own labels. Because
scenes are explicit, the exact ground truth of any translation can be rendered: the same
identity with the target attributes. Everything is a pure function of (seed, index), so
a resumed run sees the same data in the same order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from stargan_keras.data.rendered import BLOCK, RenderedSource, SceneLabels
from stargan_keras.errors import UserError

MULTI_LABEL_NAMES = ("red", "green", "blue", "square", "large")
COLOURS = ("red", "green", "blue")
MARKS = ("plain", "hbar", "vbar", "cross")
_PALETTE = np.array([[0.90, 0.15, 0.15], [0.15, 0.75, 0.20], [0.15, 0.30, 0.95]], np.float32)
_MARK_COLOUR = 0.08


def sample_scenes(seed: int, stream: int, block: tf.Tensor) -> dict[str, tf.Tensor]:
    """The BLOCK scenes of one block of one stream, a pure function of its arguments."""
    key = tf.stack([tf.constant(seed, tf.int64) * 1000 + stream, tf.cast(block, tf.int64)])
    u = tf.random.stateless_uniform((BLOCK, 12), seed=key)
    return {
        "background": 0.3 + 0.4 * u[:, 0:1] + 0.08 * (u[:, 1:4] - 0.5),
        "gradient_angle": 2.0 * np.pi * u[:, 4],
        "gradient_amount": 0.2 * u[:, 5],
        "cx": 0.36 + 0.28 * u[:, 6],
        "cy": 0.36 + 0.28 * u[:, 7],
        "radius": 0.15 + 0.05 * u[:, 8],
        "shade": 0.8 + 0.2 * u[:, 9],
        "colour": tf.cast(u[:, 10] * 3.0, tf.int32),
        "square": tf.cast(u[:, 11] < 0.5, tf.float32),
        "large": tf.cast(tf.random.stateless_uniform((BLOCK,), seed=key + [0, 1 << 40]) < 0.5,
                         tf.float32),
        "mark": tf.random.stateless_uniform((BLOCK,), seed=key + [0, 2 << 40], maxval=4,
                                            dtype=tf.int32),
    }


def render(scenes: dict[str, tf.Tensor], size: int) -> tf.Tensor:
    """Images [N, size, size, 3] in [-1, 1] of a batch of scenes."""
    coords = (tf.range(size, dtype=tf.float32) + 0.5) / size
    y, x = coords[None, :, None], coords[None, None, :]

    def per_image(v):
        return tf.cast(v, tf.float32)[:, None, None]

    dx, dy = x - per_image(scenes["cx"]), y - per_image(scenes["cy"])
    radius = per_image(scenes["radius"]) * (1.0 + 0.45 * per_image(scenes["large"]))
    circle = tf.sqrt(dx * dx + dy * dy)
    square = tf.maximum(tf.abs(dx), tf.abs(dy)) / 0.9
    distance = tf.where(per_image(scenes["square"]) > 0.5, square, circle)
    softness = 0.75 / size  # anti-aliased edges, about one pixel wide
    shape = tf.sigmoid((radius - distance) / softness)

    rel_softness = softness / radius
    along_x, along_y = tf.abs(dx) / radius, tf.abs(dy) / radius
    hbar = tf.sigmoid((0.2 - along_y) / rel_softness) * tf.sigmoid((0.6 - along_x) / rel_softness)
    vbar = tf.sigmoid((0.2 - along_x) / rel_softness) * tf.sigmoid((0.6 - along_y) / rel_softness)
    marks = tf.stack([tf.zeros_like(hbar), hbar, vbar, tf.maximum(hbar, vbar)], axis=-1)
    mark = tf.reduce_sum(marks * tf.one_hot(scenes["mark"], 4)[:, None, None, :], axis=-1)

    angle = per_image(scenes["gradient_angle"])
    ramp = (x - 0.5) * tf.cos(angle) + (y - 0.5) * tf.sin(angle)
    background = (scenes["background"][:, None, None, :]
                  + (per_image(scenes["gradient_amount"]) * ramp)[..., None])
    colour = tf.gather(_PALETTE, scenes["colour"]) * scenes["shade"][:, None]
    shape, mark = shape[..., None], (mark * shape)[..., None]
    image = background * (1.0 - shape) + colour[:, None, None, :] * shape
    image = image * (1.0 - mark) + _MARK_COLOUR * mark
    return tf.clip_by_value(image, 0.0, 1.0) * 2.0 - 1.0


# Each view: its streams and where its labels live in a scene.
_VIEWS = {
    "synthetic": (0, SceneLabels(group=COLOURS, group_key="colour",
                                 flags=(("square", "square"), ("large", "large")))),
    "synthetic_single": (2, SceneLabels(classes=MARKS, class_key="mark")),
}


class SyntheticShapes(RenderedSource):
    """One label set's view of the synthetic world: a training stream and a held-out split.

    Args:
        name: "synthetic" (multi-label) or "synthetic_single" (single-label).
        image_size: side of the square images.
        seed: the world's seed; each view draws its own identities from it.
        selected_attrs: for the multi-label view, the attributes to learn (a subset of
            MULTI_LABEL_NAMES that keeps the three colours together or leaves them out).
    """

    def __init__(self, name: str, image_size: int, seed: int = 0,
                 selected_attrs: tuple[str, ...] = MULTI_LABEL_NAMES):
        if name not in _VIEWS:
            raise UserError(f"unknown synthetic dataset {name!r}")
        stream, scene_labels = _VIEWS[name]
        super().__init__(name, scene_labels, tuple(selected_attrs), image_size, seed, stream)

    def draw(self, seed: int, stream: int, block: tf.Tensor) -> dict[str, tf.Tensor]:
        return sample_scenes(seed, stream, block)

    def paint(self, scenes: dict[str, tf.Tensor]) -> tf.Tensor:
        return render(scenes, self.image_size)


def synthetic_sources(dataset: str, image_size: int, seed: int,
                      selected_attrs: tuple[str, ...]) -> list[SyntheticShapes]:
    """The sources behind --dataset=synthetic, synthetic_single or synthetic_both."""
    if dataset == "synthetic_both":
        return [SyntheticShapes("synthetic", image_size, seed, selected_attrs),
                SyntheticShapes("synthetic_single", image_size, seed)]
    return [SyntheticShapes(dataset, image_size, seed, selected_attrs)]
