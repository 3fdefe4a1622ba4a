"""Find the faces in a photo and frame each one as the training images were framed.

CelebA's training images (img_align_celeba, 178 x 218) were aligned so that the eyes lie
level at the same place in every image. A photo as people take it has the face anywhere,
at any size, tilted; a model trained on the aligned images translates it poorly. Here:

1. ``FaceDetector`` finds each face and five landmarks (eyes, nose, mouth corners) with
   MTCNN, whose weights ship inside the ``mtcnn`` wheel.
2. ``alignment`` is the similarity transform (rotation, uniform scale, shift) that puts
   the eyes level at CelebA's template positions (``TEMPLATE_EYES``) in the aligned frame
   of ``FRAME_WIDTH`` x ``FRAME_HEIGHT``; ``crop_matrix`` then applies the run's training
   crop and resize, so ``warp`` gives G its input directly from the photo.
3. ``paste`` warps G's output back into the photo with the inverse transform and blends it
   in with a soft edge: pixels outside the face's square are left exactly as they were.

Points are (x, y) in pixels, with pixel centres at integer coordinates; a transform is a
3 x 3 matrix acting on (x, y, 1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from stargan_keras.data.preprocess import crop_window
from stargan_keras.errors import MissingExtraError

# The aligned frame: img_align_celeba's size and where its faces' eyes and mouth centre sit
# (the typical positions of list_landmarks_align_celeba.txt, in pixels).
FRAME_WIDTH, FRAME_HEIGHT = 178, 218
TEMPLATE_EYES = np.array([[69.0, 111.0], [107.0, 111.0]])
TEMPLATE_MOUTH = np.array([88.0, 153.0])

# MTCNN's landmark order.
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# Photos are searched at this longest side at most: detection time grows with the photo,
# and a face must be about 20 px wide at that size to be found.
DETECT_MAX_SIDE = 1600

INSTALL_HINT = "pip install 'stargan-keras[faces]'"


@dataclasses.dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        box: (x, y, width, height) in photo pixels.
        confidence: the detector's score in [0, 1].
        landmarks: float [5, 2], (x, y) of ``LANDMARKS``; "left" is the photo's left.
    """

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray


class FaceDetector:
    """MTCNN (Zhang et al. 2016) in TensorFlow, with the weights of the ``mtcnn`` wheel.

    Args:
        min_confidence: faces scored below this are dropped.
        min_face_size: the smallest face to look for, in pixels of the searched photo.
    """

    def __init__(self, min_confidence: float = 0.9, min_face_size: int = 20):
        try:
            from mtcnn import MTCNN
        except ImportError:
            raise MissingExtraError(
                f"face framing needs the mtcnn package: {INSTALL_HINT}") from None
        self.min_confidence, self.min_face_size = min_confidence, min_face_size
        self._mtcnn = MTCNN(device="CPU:0")

    def __call__(self, pixels: np.ndarray) -> list[Face]:
        """Faces of a uint8 [H, W, 3] photo, left to right."""
        height, width = pixels.shape[:2]
        factor = min(1.0, DETECT_MAX_SIDE / max(height, width))
        searched = pixels
        if factor < 1.0:
            size = (round(height * factor), round(width * factor))
            searched = tf.cast(tf.image.resize(pixels, size, antialias=True), tf.uint8).numpy()
        found = self._mtcnn.detect_faces(np.ascontiguousarray(searched),
                                         min_face_size=self.min_face_size)
        faces = []
        for item in found:
            if item["confidence"] < self.min_confidence:
                continue
            points = np.array([item["keypoints"][name] for name in LANDMARKS], np.float64)
            box = tuple(float(v) / factor for v in item["box"])
            faces.append(Face(box, float(item["confidence"]), points / factor))
        return sorted(faces, key=lambda face: face.box[0])


def similarity(angle: float, scale: float, source: np.ndarray, target: np.ndarray
               ) -> np.ndarray:
    """The 3 x 3 transform that rotates by ``-angle`` and scales by ``scale`` about
    ``source``, then moves ``source`` to ``target``."""
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    linear = np.array([[cos, sin], [-sin, cos]])
    shift = target - linear @ source
    return np.array([[*linear[0], shift[0]], [*linear[1], shift[1]], [0.0, 0.0, 1.0]])


def alignment(landmarks: np.ndarray) -> np.ndarray:
    """Photo -> aligned frame: the eyes level, their midpoint on the template's.

    The scale is the smaller of two: the template's eye distance over the face's, and
    the template's eye-to-mouth distance over the face's. A face turned sideways has its
    eyes closer together and one tipped back a shorter eye-to-mouth distance; taking the
    smaller scale keeps either from being blown up past the frame.
    """
    left_eye, right_eye = landmarks[0], landmarks[1]
    eyes = (left_eye + right_eye) / 2.0
    mouth = (landmarks[3] + landmarks[4]) / 2.0
    eye_line = right_eye - left_eye
    template_eyes = TEMPLATE_EYES.mean(axis=0)
    scale = min(np.linalg.norm(TEMPLATE_EYES[1] - TEMPLATE_EYES[0]) / np.linalg.norm(eye_line),
                np.linalg.norm(TEMPLATE_MOUTH - template_eyes) / np.linalg.norm(mouth - eyes))
    return similarity(math.atan2(eye_line[1], eye_line[0]), scale, eyes, template_eyes)


def resize_matrix(source: tuple[int, int], target: tuple[int, int]) -> np.ndarray:
    """(width, height) -> (width, height) as ``tf.image.resize`` maps pixel centres."""
    sx, sy = target[0] / source[0], target[1] / source[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def crop_matrix(crop_size: int | None, image_size: int) -> np.ndarray:
    """Aligned frame -> G's input: the run's training crop of the frame, resized to
    ``image_size`` (``preprocess.center_crop_resize`` on an img_align_celeba image)."""
    top, left, side = (int(v) for v in crop_window(FRAME_HEIGHT, FRAME_WIDTH, crop_size))
    shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top], [0.0, 0.0, 1.0]])
    return resize_matrix((side, side), (image_size, image_size)) @ shift


def frame_matrix(scale: int = 1) -> np.ndarray:
    """Aligned frame -> the frame written at ``scale`` times its size (for training folders)."""
    return resize_matrix((FRAME_WIDTH, FRAME_HEIGHT), (FRAME_WIDTH * scale, FRAME_HEIGHT * scale))


def bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``image`` [H, W, C] read at float points (x, y) of any shape, edges extended."""
    height, width = image.shape[:2]
    x, y = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    wx, wy = (x - x0)[..., None], (y - y0)[..., None]
    top = image[y0, x0] * (1 - wx) + image[y0, x1] * wx
    bottom = image[y1, x0] * (1 - wx) + image[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def warp(pixels: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The (width, height) image whose pixel p shows the photo at ``matrix``^-1 p.

    Args:
        pixels: uint8 [H, W, 3], the photo.
        matrix: 3 x 3, photo -> output.
        size: (width, height) of the output.

    Returns:
        float32 [height, width, 3] in [0, 255]. A face much larger than the output is
        first shrunk with an antialiasing filter, so that bilinear reading does not alias.
    """
    image = pixels.astype(np.float32)
    scale = math.sqrt(abs(np.linalg.det(matrix[:2, :2])))  # output pixels per photo pixel
    if scale < 0.5:
        height, width = pixels.shape[:2]
        shrunk = (max(1, round(width * 2 * scale)), max(1, round(height * 2 * scale)))
        image = tf.image.resize(image, shrunk[::-1], antialias=True).numpy()
        matrix = matrix @ np.linalg.inv(resize_matrix((width, height), shrunk))
    columns, rows = np.meshgrid(np.arange(size[0], dtype=np.float64),
                                np.arange(size[1], dtype=np.float64))
    inverse = np.linalg.inv(matrix)
    x = inverse[0, 0] * columns + inverse[0, 1] * rows + inverse[0, 2]
    y = inverse[1, 0] * columns + inverse[1, 1] * rows + inverse[1, 2]
    return np.clip(bilinear(image, x, y), 0.0, 255.0).astype(np.float32)


def soft_edge(u: np.ndarray, v: np.ndarray, size: int, feather: float) -> np.ndarray:
    """Weight of G's output at its (u, v): 1 inside, falling linearly to 0 over the outer
    ``feather`` of the square's side, and exactly 0 outside the square."""
    distance = np.minimum(np.minimum(u + 0.5, size - 0.5 - u), np.minimum(v + 0.5, size - 0.5 - v))
    return np.clip(distance / max(feather * size, 1e-6), 0.0, 1.0)


def paste(photo: np.ndarray, face: np.ndarray, matrix: np.ndarray,
          feather: float = 0.1) -> np.ndarray:
    """The photo with ``face`` (warped by ``matrix`` from it) put back in its place.

    Args:
        photo: uint8 [H, W, 3].
        face: uint8 or float [S, S, 3] in [0, 255], an image in the frame of ``matrix``.
        matrix: 3 x 3, photo -> face.
        feather: the width of the soft edge, as a share of the face's side.

    Returns:
        uint8 [H, W, 3]; every pixel whose weight is 0 (all outside the face's square) is
        the photo's own.
    """
    size = face.shape[0]
    result = np.array(photo, copy=True)
    height, width = photo.shape[:2]
    corners = np.linalg.inv(matrix) @ np.array([[-0.5, -0.5, size - 0.5, size - 0.5],
                                                [-0.5, size - 0.5, -0.5, size - 0.5],
                                                [1.0, 1.0, 1.0, 1.0]])
    left, top = (max(0, math.floor(corners[i].min())) for i in (0, 1))
    right = min(width, math.ceil(corners[0].max()) + 1)
    bottom = min(height, math.ceil(corners[1].max()) + 1)
    if left >= right or top >= bottom:
        return result
    columns, rows = np.meshgrid(np.arange(left, right, dtype=np.float64),
                                np.arange(top, bottom, dtype=np.float64))
    u = matrix[0, 0] * columns + matrix[0, 1] * rows + matrix[0, 2]
    v = matrix[1, 0] * columns + matrix[1, 1] * rows + matrix[1, 2]
    weight = soft_edge(u, v, size, feather)[..., None]
    region = photo[top:bottom, left:right].astype(np.float64)
    blended = region * (1.0 - weight) + bilinear(face.astype(np.float64), u, v) * weight
    result[top:bottom, left:right] = np.where(
        weight > 0.0, np.clip(np.round(blended), 0, 255), region).astype(np.uint8)
    return result


@dataclasses.dataclass(frozen=True)
class Framing:
    """How a run's training images framed the face: the aligned frame, then the run's
    crop (``translator.crop_sizes_for``) resized to ``image_size``.

    CelebA runs were trained on img_align_celeba itself; RaFD and folder runs on images
    framed as ``tools.align_faces`` writes them (the same frame), or as close to it as
    their own face-centred crops come.
    """

    image_size: int
    crop_size: int | None

    def matrix(self, face: Face) -> np.ndarray:
        """Photo -> G's input for ``face``."""
        return crop_matrix(self.crop_size, self.image_size) @ alignment(face.landmarks)

    def crop(self, pixels: np.ndarray, face: Face) -> np.ndarray:
        """G's input for ``face``: float32 [S, S, 3] in [-1, 1]."""
        size = (self.image_size, self.image_size)
        return warp(pixels, self.matrix(face), size) / 127.5 - 1.0

    def paste(self, pixels: np.ndarray, face: Face, output: np.ndarray,
              feather: float = 0.1) -> np.ndarray:
        """``pixels`` with G's ``output`` [S, S, 3] in [-1, 1] for ``face`` pasted back."""
        return paste(pixels, (np.asarray(output) + 1.0) * 127.5, self.matrix(face), feather)


def aligned_image(pixels: np.ndarray, face: Face, scale: int = 1) -> np.ndarray:
    """uint8 [218 * scale, 178 * scale, 3]: ``face`` framed as img_align_celeba frames its
    faces (what ``tools.align_faces`` writes for a training folder)."""
    size = (FRAME_WIDTH * scale, FRAME_HEIGHT * scale)
    image = warp(pixels, frame_matrix(scale) @ alignment(face.landmarks), size)
    return np.round(image).astype(np.uint8)
