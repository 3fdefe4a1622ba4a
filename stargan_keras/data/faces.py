"""Built-in face-like data: procedurally drawn faces whose translations have a known answer.

The shapes (``synthetic.py``) have global labels: the colour, outline and size of one
object. Faces have local, structural ones, tangled with identity, and a recipe that works
on one can fail on the other. These faces are drawn from an identity (face and jaw shape,
skin tone, light, eyes and their spacing, nose, mouth, hair volume, fringe and length,
clothes, background, a few degrees of roll and yaw) drawn independently of the labels, and
attributes that change the face where a real face changes:

* hair colour (``Black_Hair``, ``Blond_Hair``, ``Brown_Hair``, one of them): the hair on
  top, at the sides and behind the head, the eyebrows and, on men, the beard;
* ``Male``: short hair instead of long hair falling behind the face, a beard and
  moustache, a squarer jaw, heavier brows, paler lips;
* ``Young`` (0: old): grey temples and streaks in the hair and brows, forehead lines,
  folds from the nose to the mouth, crow's feet and bags under the eyes;
* ``Eyeglasses``: frames around both eyes, tinted lenses, a bridge;
* an expression, RaFD's eight: the mouth's curve, opening, width, asymmetry and teeth,
  the brows' height and tilt, the eyes' opening and lines on the nose.

Two label sets describe this one world, as CelebA and RaFD describe faces:
``faces`` (multi-label, CelebA's attribute names; ``Eyeglasses`` is there to select) and
``faces_expressions`` (single-label, RaFD's expression names); ``faces_both`` trains on
both with the mask vector. Each set's images carry every attribute but know only their
own labels. Scenes are explicit, so the exact truth of any translation is the same
identity drawn with the target labels (``truth``); everything is a pure function of
(seed, index), so a resumed run sees the same data in the same order. Each set trains on
``TRAIN_FACES`` faces, like a photo collection of that size; held-out faces are others.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from stargan_keras.data.rendered import BLOCK, RenderedSource, SceneLabels
from stargan_keras.errors import UserError

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair")
ATTRIBUTES = HAIR_COLOURS + ("Male", "Young", "Eyeglasses")
DEFAULT_ATTRIBUTES = HAIR_COLOURS + ("Male", "Young")  # the official CelebA selection
EXPRESSIONS = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad",
               "surprised")  # RaFD's names and order
# How often each attribute is on (CelebA: 77 % Young, 42 % Male, 6.5 % Eyeglasses).
_P_MALE, _P_YOUNG, _P_GLASSES = 0.45, 0.65, 0.2

_HAIR_RGB = np.array([[0.09, 0.075, 0.07], [0.90, 0.76, 0.42], [0.42, 0.25, 0.12]], np.float32)
_GREY = np.array([0.74, 0.73, 0.72], np.float32)
# Per expression: mouth curve (+ smile), opening, teeth, asymmetry, width; brow raise,
# brow inner end lowered (+) or raised (-); eye opening; lines on the nose.
_EXPRESSION_TABLE = np.array([
    # curve  open  teeth  asym  width  raise  inner  eyes  nose
    [-0.35, 0.00, 0.0, 0.0, 0.85, -0.35, 1.00, 0.85, 0.3],   # angry
    [0.15, 0.00, 0.0, 1.0, 0.95, 0.00, 0.00, 0.90, 0.0],     # contemptuous
    [-0.60, 0.25, 0.0, 0.0, 0.90, -0.15, 0.60, 0.55, 1.0],   # disgusted
    [-0.45, 0.55, 0.0, 0.0, 1.05, 0.85, -0.80, 1.40, 0.0],   # fearful
    [1.00, 0.50, 1.0, 0.0, 1.15, 0.10, 0.00, 0.70, 0.0],     # happy
    [0.00, 0.00, 0.0, 0.0, 1.00, 0.00, 0.00, 1.00, 0.0],     # neutral
    [-0.90, 0.00, 0.0, 0.0, 0.95, 0.25, -1.00, 0.80, 0.0],   # sad
    [0.00, 1.00, 0.0, 0.0, 0.75, 1.00, 0.00, 1.45, 0.0],     # surprised
], np.float32)
# Each view: its streams (apart from the shapes' 0-3) and where its labels live.
_VIEWS = {
    "faces": (10, SceneLabels(group=HAIR_COLOURS, group_key="hair",
                              flags=(("Male", "male"), ("Young", "young"),
                                     ("Eyeglasses", "glasses")))),
    "faces_expressions": (12, SceneLabels(classes=EXPRESSIONS, class_key="expression")),
}
# Training faces per label set: painted once when training starts (a face costs about
# as much to paint as a training step at 64 px), then reshuffled each epoch.
TRAIN_FACES = 8192
_IDENTITY_DRAWS = 32


def sample_scenes(seed: int, stream: int, block: tf.Tensor) -> dict[str, tf.Tensor]:
    """The BLOCK scenes of one block of one stream, a pure function of its arguments."""
    key = tf.stack([tf.constant(seed, tf.int64) * 1000 + stream, tf.cast(block, tf.int64)])
    u = tf.random.stateless_uniform((BLOCK, _IDENTITY_DRAWS), seed=key)
    labels = tf.random.stateless_uniform((BLOCK, 5), seed=key + [0, 1 << 40])

    def between(i, low, high):
        return low + (high - low) * u[:, i]

    skin = between(9, 0.0, 1.0)[:, None]
    skin_rgb = ((1.0 - skin) * [0.93, 0.76, 0.64] + skin * [0.47, 0.31, 0.21]
                + 0.04 * (u[:, 10:13] - 0.5))
    return {
        # Identity.
        "background": 0.25 + 0.5 * u[:, 0:1] + 0.25 * (u[:, 1:4] - 0.5),
        "gradient_angle": 2.0 * np.pi * u[:, 4],
        "gradient_amount": between(5, 0.0, 0.25),
        "cx": between(6, 0.46, 0.54),
        "cy": between(7, 0.47, 0.53),
        "roll": between(8, -5.0, 5.0) * (math.pi / 180.0),
        "skin": skin_rgb,
        "light": between(13, -0.25, 0.25),
        "face_width": between(14, 0.22, 0.26),
        "face_length": between(15, 1.18, 1.34),
        "jaw": between(16, 0.0, 1.0),
        "yaw": between(17, -0.07, 0.07),
        "eye_spacing": between(18, 0.36, 0.44),
        "eye_height": between(19, -0.10, 0.0),
        "eye_size": between(20, 0.85, 1.15),
        "iris": tf.cast(u[:, 21] * 3.0, tf.int32),
        "nose_length": between(22, 0.22, 0.32),
        "mouth_width": between(23, 0.28, 0.36),
        "hair_volume": between(24, 0.0, 1.0),
        "fringe": between(25, 0.0, 0.25),
        "hair_length": between(26, 0.9, 1.6),
        "hair_shade": between(27, 0.85, 1.1),
        "beard": between(28, 0.6, 1.0),
        "clothes": 0.15 + 0.7 * u[:, 29:32],
        # Attributes.
        "hair": tf.cast(labels[:, 0] * 3.0, tf.int32),
        "male": tf.cast(labels[:, 1] < _P_MALE, tf.float32),
        "young": tf.cast(labels[:, 2] < _P_YOUNG, tf.float32),
        "glasses": tf.cast(labels[:, 3] < _P_GLASSES, tf.float32),
        "expression": tf.cast(labels[:, 4] * len(EXPRESSIONS), tf.int32),
    }


def _cover(signed_distance: tf.Tensor, softness: float) -> tf.Tensor:
    """Coverage in [0, 1] of a signed distance (negative inside): a linear ramp over
    ``2 * softness`` anti-aliases the edge, for a fraction of a sigmoid's cost."""
    return tf.clip_by_value(0.5 - signed_distance / (2.0 * softness), 0.0, 1.0)


def _ellipse(px, py, rx, ry):
    """Approximate signed distance to an axis-aligned ellipse centred at the origin."""
    return (tf.sqrt((px / rx) ** 2 + (py / ry) ** 2) - 1.0) * tf.minimum(rx, ry)


def _segment(px, py, ax, ay, bx, by, half_width):
    """Signed distance to a segment from (ax, ay) to (bx, by) with round ends."""
    vx, vy = bx - ax, by - ay
    t = tf.clip_by_value(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy + 1e-9), 0., 1.)
    return tf.sqrt((px - ax - t * vx) ** 2 + (py - ay - t * vy) ** 2) - half_width


def _over(image, colour, alpha):
    """Paint ``colour`` ([N, 1, 1, 3] or [N, H, W, 3]) over ``image`` with coverage alpha."""
    alpha = alpha[..., None]
    return image * (1.0 - alpha) + colour * alpha


def render(scenes: dict[str, tf.Tensor], size: int) -> tf.Tensor:
    """Images [N, size, size, 3] in [-1, 1] of a batch of scenes."""
    soft = 0.6 / size
    line = max(0.45 / size, 0.006)  # half width of a thin line: visible at any size
    coords = (tf.range(size, dtype=tf.float32) + 0.5) / size
    y, x = coords[None, :, None], coords[None, None, :]

    def p(name):
        return tf.cast(scenes[name], tf.float32)[:, None, None]

    def rgb(value):
        return tf.cast(value, tf.float32)[:, None, None, :]

    male, old, glasses = p("male"), 1.0 - p("young"), p("glasses")
    expression = tf.gather(_EXPRESSION_TABLE, scenes["expression"])
    curve, opening, teeth, asym, width, raise_, inner, eyes_open, nose_lines = (
        expression[:, i][:, None, None] for i in range(9))

    # Face frame: rotated by the roll, in image units; rx, ry: the face's half axes.
    dx, dy = x - p("cx"), y - p("cy")
    cos, sin = tf.cos(p("roll")), tf.sin(p("roll"))
    fx, fy = cos * dx + sin * dy, -sin * dx + cos * dy
    rx = p("face_width")
    ry = rx * p("face_length")
    yaw = p("yaw") * rx  # features shift sideways as the head turns

    # Background and body.
    angle = p("gradient_angle")
    ramp = (x - 0.5) * tf.cos(angle) + (y - 0.5) * tf.sin(angle)
    image = rgb(scenes["background"]) + (p("gradient_amount") * ramp)[..., None]
    image = tf.broadcast_to(image, (tf.shape(dx)[0], size, size, 3))
    skin = rgb(scenes["skin"])
    image = _over(image, rgb(scenes["clothes"]),
                  _cover(_ellipse(dx, dy - 1.85 * ry, 2.0 * rx, 0.85 * ry), soft))
    neck = tf.maximum(tf.abs(dx) - 0.45 * rx, tf.abs(dy - 1.2 * ry) - 0.65 * ry)
    image = _over(image, skin * 0.82, _cover(neck, soft))

    # Hair colour, greyed with age at the temples and in streaks.
    hair = tf.gather(_HAIR_RGB, scenes["hair"]) * scenes["hair_shade"][:, None]
    hair = tf.clip_by_value(hair, 0.0, 1.0)[:, None, None, :]
    temples = tf.sigmoid((tf.abs(fx) / rx - 0.55) * 12.0)
    streaks = 0.5 + 0.5 * tf.sin(fx / rx * 23.0 + fy / ry * 5.0)
    grey_amount = (old * (0.1 + 0.55 * temples + 0.15 * streaks))[..., None]
    aged_hair = hair * (1.0 - grey_amount) + _GREY * grey_amount
    volume = 1.0 + 0.06 * p("hair_volume")

    # Long hair behind the head, down to the shoulders (not on men).
    behind = tf.minimum(
        _ellipse(fx, fy + 0.1 * ry, 1.2 * volume * rx, 1.1 * volume * ry),
        tf.maximum(tf.abs(fx) - 1.18 * volume * rx,
                   tf.abs(fy - 0.5 * p("hair_length") * ry) - 0.5 * p("hair_length") * ry))
    image = _over(image, aged_hair * 0.8, (1.0 - male) * _cover(behind, soft))

    # Ears, then the face: rounder for women, a squarer jaw for men.
    for side in (-1.0, 1.0):
        ear = _ellipse(fx - side * 0.98 * rx - yaw, fy - 0.05 * ry, 0.15 * rx, 0.24 * ry)
        image = _over(image, skin * 0.9, _cover(ear, soft))
    u, v = (fx - 0.3 * yaw) / rx, fy / ry
    power = 2.0 + (0.6 + 1.6 * p("jaw")) * male * tf.cast(v > 0, tf.float32)
    face_distance = ((tf.abs(u) ** power + tf.abs(v) ** power) ** (1.0 / power) - 1.0) * rx
    face = _cover(face_distance, soft)
    shading = (1.0 + p("light") * u - 0.12 * tf.nn.relu(v) ** 2)[..., None]
    image = _over(image, skin * shading, face)
    skin_line = skin * 0.62

    # Feature positions in the face frame (image units).
    eye_y = p("eye_height") * ry
    eye_dx = p("eye_spacing") * rx
    nose_y = eye_y + p("nose_length") * ry + 0.12 * ry
    mouth_y = nose_y + 0.2 * ry

    # Age: forehead lines, nose-to-mouth folds, crow's feet, bags under the eyes.
    wrinkles = tf.zeros_like(fx)
    for level in (-0.62, -0.5):
        arc_y = (level + 0.08 * (fx - yaw) ** 2 / rx ** 2) * ry
        wrinkles = tf.maximum(wrinkles, _cover(
            tf.maximum(tf.abs(fy - arc_y) - line, tf.abs(fx - yaw) - 0.42 * rx), soft))
    for side in (-1.0, 1.0):
        folds = _segment(fx, fy, yaw + side * 0.2 * rx, nose_y - 0.02 * ry,
                         yaw + side * 0.36 * rx, mouth_y + 0.1 * ry, line)
        feet = tf.minimum(
            _segment(fx, fy, yaw + side * (eye_dx + 0.22 * rx), eye_y - 0.02 * ry,
                     yaw + side * (eye_dx + 0.34 * rx), eye_y - 0.1 * ry, line),
            _segment(fx, fy, yaw + side * (eye_dx + 0.22 * rx), eye_y + 0.03 * ry,
                     yaw + side * (eye_dx + 0.34 * rx), eye_y + 0.08 * ry, line))
        bags = tf.maximum(tf.abs(fy - eye_y - 0.13 * ry
                                 - 0.25 * (fx - yaw - side * eye_dx) ** 2 / rx) - line,
                          tf.abs(fx - yaw - side * eye_dx) - 0.14 * rx)
        wrinkles = tf.maximum(wrinkles, _cover(tf.minimum(tf.minimum(folds, feet), bags), soft))
    image = _over(image, skin_line, 0.85 * old * face * wrinkles)

    # Eyes: whites opened by the expression, irises, pupils, a lid line.
    for side in (-1.0, 1.0):
        ex, ey = fx - yaw - side * eye_dx, fy - eye_y
        half_w = 0.17 * rx * p("eye_size")
        half_h = 0.09 * ry * p("eye_size") * eyes_open
        white = _cover(_ellipse(ex, ey, half_w, half_h), soft)
        image = _over(image, tf.constant([0.95, 0.95, 0.93]), white)
        iris_rgb = tf.gather(tf.constant([[0.35, 0.2, 0.08], [0.2, 0.4, 0.7], [0.3, 0.45, 0.25]]),
                             scenes["iris"])[:, None, None, :]
        image = _over(image, iris_rgb, white * _cover(_ellipse(ex, ey, 0.45 * half_w,
                                                               0.45 * half_w), soft))
        image = _over(image, tf.constant([0.03, 0.03, 0.03]),
                      white * _cover(_ellipse(ex, ey, 0.2 * half_w, 0.2 * half_w), soft))
        lid = tf.maximum(tf.abs(ey + half_h * (1.0 - (ex / half_w) ** 2)) - line,
                         tf.abs(ex) - 1.05 * half_w)
        image = _over(image, skin * 0.35, _cover(lid, soft))

        # Brows: raised, and their inner end lowered or raised, by the expression.
        brow_y = eye_y - (0.2 + 0.09 * raise_) * ry
        brow = _segment(fx, fy, yaw + side * 0.14 * rx, brow_y + 0.075 * inner * ry,
                        yaw + side * (eye_dx + 0.2 * rx), brow_y - 0.02 * ry,
                        (0.035 + 0.025 * male) * ry)
        image = _over(image, aged_hair * 0.9, face * _cover(brow, soft))

    # Nose: a shadow down the bridge, nostrils, lines across the bridge (disgust, anger).
    bridge = _segment(fx, fy, yaw + 0.06 * rx, eye_y + 0.08 * ry, yaw + 0.09 * rx,
                      nose_y - 0.04 * ry, line)
    image = _over(image, skin * 0.78, 0.7 * _cover(bridge, soft))
    for side in (-1.0, 1.0):
        nostril = _ellipse(fx - yaw - side * 0.09 * rx, fy - nose_y, 0.055 * rx, 0.03 * ry)
        image = _over(image, skin * 0.45, _cover(nostril, soft))
    across = tf.zeros_like(fx)
    for level in (0.25, 0.42):
        across = tf.maximum(across, _cover(tf.maximum(
            tf.abs(fy - eye_y - level * (nose_y - eye_y)) - line, tf.abs(fx - yaw) - 0.1 * rx),
            soft))
    image = _over(image, skin_line, nose_lines * across)

    # Beard and moustache: men only, in the hair's colour, around the mouth and jaw.
    mx = fx - yaw
    half_mouth = p("mouth_width") * rx * width
    t = tf.clip_by_value(mx / half_mouth, -1.5, 1.5)
    lip_y = mouth_y - 0.09 * ry * (curve * t * t + asym * tf.nn.relu(t) ** 2)
    # Below a line that runs under the nose and drops toward the cheeks' edges.
    beard_top = nose_y + (0.1 + 0.3 * tf.minimum(((fx - yaw) / rx) ** 2, 1.0)) * ry
    beard_region = tf.maximum(face_distance, beard_top - fy)
    moustache = _ellipse(mx, fy - (nose_y + 0.085 * ry), 0.85 * half_mouth, 0.05 * ry)
    beard = tf.minimum(tf.maximum(beard_region, tf.abs(u) - 0.92), moustache)
    image = _over(image, aged_hair * 0.85, male * p("beard") * face * _cover(beard, soft))

    # Mouth: lips along a curve, opened by the expression, teeth when smiling.
    gap = opening * 0.085 * ry * tf.nn.relu(1.0 - t * t)
    inside = tf.maximum(tf.abs(mx) - half_mouth, tf.abs(fy - lip_y) - gap)
    lips = tf.maximum(tf.abs(mx) - half_mouth, tf.abs(fy - lip_y) - gap - 0.035 * ry)
    redness = 1.0 - male[..., None]  # women's lips redder, men's close to the skin
    lip_rgb = skin * (redness * tf.constant([1.0, 0.62, 0.62]) + (1.0 - redness) * 0.85)
    image = _over(image, lip_rgb, _cover(lips, soft))
    image = _over(image, tf.constant([0.2, 0.05, 0.05]), _cover(inside, soft) * tf.minimum(
        1.0, 4.0 * opening))
    upper_teeth = tf.maximum(inside, fy - lip_y)
    image = _over(image, tf.constant([0.93, 0.92, 0.86]), teeth * _cover(upper_teeth, soft))

    # Hair on the head: a cap above the hairline and locks at the sides; men's is
    # closer to the head and ends at short sideburns, women's frames the face.
    cap = _ellipse(fx, fy + 0.04 * ry, (1.04 + 0.06 * (1.0 - male)) * volume * rx,
                   (1.08 + 0.04 * (1.0 - male)) * volume * ry)
    hairline = (-0.55 + p("fringe") - 0.08 * male * old) * ry + 0.3 * ry * (fx / rx) ** 2
    side_start = (0.86 - 0.1 * (1.0 - male)) * rx
    side_end = (0.15 + 0.45 * (1.0 - male)) * ry
    sides = tf.maximum(side_start - tf.abs(fx - 0.3 * yaw), fy - side_end)
    top = _cover(tf.maximum(cap, tf.minimum(fy - hairline, sides)), soft)
    top_shading = (1.0 - 0.25 * tf.nn.relu(-fy / ry - 0.6))[..., None]
    image = _over(image, aged_hair * top_shading, top)

    # Glasses: a frame around each eye, tinted lenses, a bridge.
    for side in (-1.0, 1.0):
        ring = _ellipse(fx - yaw - side * eye_dx, fy - eye_y, 0.25 * rx, 0.16 * ry)
        image = _over(image, tf.constant([0.5, 0.6, 0.7]), 0.15 * glasses * _cover(ring, soft))
        image = _over(image, tf.constant([0.06, 0.06, 0.08]),
                      glasses * _cover(tf.abs(ring) - 1.3 * line, soft))
    bridge = _segment(fx, fy, yaw - eye_dx + 0.25 * rx, eye_y, yaw + eye_dx - 0.25 * rx, eye_y,
                      1.3 * line)
    image = _over(image, tf.constant([0.06, 0.06, 0.08]), glasses * _cover(bridge, soft))
    return tf.clip_by_value(image, 0.0, 1.0) * 2.0 - 1.0


_render_graph = tf.function(render, reduce_retracing=True)


class SyntheticFaces(RenderedSource):
    """One label set's view of the face world: a training stream and a held-out split.

    Args:
        name: "faces" (multi-label, CelebA's names) or "faces_expressions" (RaFD's).
        image_size: side of the square images.
        seed: the world's seed; each view draws its own identities from it.
        selected_attrs: for "faces", the attributes to learn (a subset of ATTRIBUTES that
            keeps the three hair colours together or leaves them out).
        train_faces: how many faces the training stream cycles through.
    """

    def __init__(self, name: str, image_size: int, seed: int = 0,
                 selected_attrs: tuple[str, ...] = DEFAULT_ATTRIBUTES,
                 train_faces: int = TRAIN_FACES):
        if name not in _VIEWS:
            raise UserError(f"unknown synthetic face dataset {name!r}")
        stream, scene_labels = _VIEWS[name]
        super().__init__(name, scene_labels, tuple(selected_attrs), image_size, seed, stream,
                         pool_size=train_faces)

    def draw(self, seed: int, stream: int, block: tf.Tensor) -> dict[str, tf.Tensor]:
        return sample_scenes(seed, stream, block)

    def paint(self, scenes: dict[str, tf.Tensor]) -> tf.Tensor:
        # A traced graph: painting op by op is several times slower (held-out faces and
        # every translation's truth are painted outside tf.data).
        return _render_graph(scenes, self.image_size)


def face_sources(dataset: str, image_size: int, seed: int,
                 selected_attrs: tuple[str, ...]) -> list[SyntheticFaces]:
    """The sources behind --dataset=faces, faces_expressions or faces_both."""
    if dataset == "faces_both":
        return [SyntheticFaces("faces", image_size, seed, selected_attrs),
                SyntheticFaces("faces_expressions", image_size, seed)]
    return [SyntheticFaces(dataset, image_size, seed, selected_attrs)]
