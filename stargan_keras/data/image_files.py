"""Labelled image files as a training source: checked at start, read in a fixed order.

Example k of the endless training stream is file ``perm_e[k mod n]`` of epoch
``e = k // n``, where ``perm_e`` is a seeded permutation of the n files, and its random
horizontal flip is drawn statelessly from (seed, k). The stream is thus a pure function
of (seed, k): a run resumed at example k sees what an uninterrupted run would.

Bad files are handled twice. At start a cheap check (header and last bytes of every
file, tens of microseconds each) skips files that are missing, empty, not an image or truncated,
with one warning each. During training a file that still fails to decode (corrupted
mid-way, or changed since the check) is replaced by the next file of the same epoch's
permutation, with a warning naming it, so training never dies on a bad image and the
replacement is itself deterministic.
"""

from __future__ import annotations

import dataclasses
import os
import random
import struct
import sys
import time

import numpy as np
import tensorflow as tf
from absl import logging

from stargan_keras.data.preprocess import center_crop_resize, decode_rgb
from stargan_keras.errors import UserError
from stargan_keras.labels import LabelSet

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# The formats tf.io.decode_image reads, by their first bytes.
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"),
          (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))
# Start-of-frame markers (C0-CF except DHT C4, JPG C8 and DAC CC) carry the image size.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
SPLIT_SEED = 1234  # the official code's random.seed(1234) before its split
MAX_HELD_OUT = 2000  # the official CelebA test set size
_REPLACEMENT_TRIES = 8  # files tried in turn for one example before giving up
_FLIP_STREAM = 0x464C4950  # keeps flip draws apart from the pipeline's other draws


def held_out_count(n: int) -> int:
    """Images held out of n: a tenth, at least 1 and at most 2000 (CelebA's official 2000)."""
    return min(MAX_HELD_OUT, max(1, n // 10))


def split_held_out(items: list, source: str) -> tuple[list, list]:
    """(held-out, training) items: shuffled with seed 1234 as the official code, the first
    ``held_out_count`` held out. Items come in file order, so the split is reproducible."""
    if len(items) < 2:
        raise UserError(f"{source}: {len(items)} image(s); at least 2 are needed (one to "
                        "train on, one held out for sample grids)")
    shuffled = list(items)
    random.Random(SPLIT_SEED).shuffle(shuffled)
    count = held_out_count(len(shuffled))
    return shuffled[:count], shuffled[count:]


def unreadable_reason(path: str) -> tuple[str | None, tuple[int, int] | None]:
    """Why ``path`` cannot be a training image (None if it can), and its (width, height).

    Reads the header and the last bytes only: a truncated JPEG lacks its
    end-of-image marker and a truncated PNG its IEND chunk, which catches a cut-off
    download without decoding the whole file.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64))
            tail = f.read()
            image_format = _format(head)
            dims = _jpeg_dims(f) if image_format == "JPEG" else _header_dims(image_format, head)
    except FileNotFoundError:
        return "listed but missing", None
    except OSError as error:
        return f"cannot be read ({error.strerror})", None
    if size == 0:
        return "empty (0 bytes)", None
    if image_format is None:
        return "not a JPEG, PNG, BMP or GIF image", None
    if image_format == "JPEG" and b"\xff\xd9" not in tail:
        return "truncated JPEG (no end-of-image marker)", None
    if image_format == "PNG" and b"IEND" not in tail:
        return "truncated PNG (no IEND chunk)", None
    if dims is None:
        return f"corrupt {image_format} header", None
    return None, dims


def _format(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _header_dims(image_format: str, head: bytes) -> tuple[int, int] | None:
    if image_format == "PNG" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if image_format == "GIF" and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    if image_format == "BMP" and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return width, abs(height)
    return None


def _jpeg_dims(f) -> tuple[int, int] | None:
    """(width, height) from the JPEG's start-of-frame segment, walking the markers."""
    f.seek(2)
    while True:
        marker = f.read(2)
        while len(marker) == 2 and marker[1] == 0xFF:  # fill bytes before a marker
            marker = marker[1:] + f.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if 0xD0 <= marker[1] <= 0xD9 or marker[1] == 0x01:
            continue  # markers without a length
        length = f.read(2)
        if len(length) < 2 or struct.unpack(">H", length)[0] < 2:
            return None
        if marker[1] in _SOF_MARKERS:
            frame = f.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height
        f.seek(struct.unpack(">H", length)[0] - 2, os.SEEK_CUR)


def check_images(paths: list[str], crop_size: int | None, source: str) -> np.ndarray:
    """Which ``paths`` are usable images [N] bool; warns once per unusable file.

    Also counts images smaller than ``crop_size``: they are usable (the crop is clipped
    to them, see ``center_crop_resize``) but worth knowing about.
    """
    logging.info("%s: checking %d images", source, len(paths))
    started = time.perf_counter()
    usable = np.ones(len(paths), bool)
    smaller = 0
    for i, path in enumerate(paths):
        reason, dims = unreadable_reason(path)
        if reason is not None:
            logging.warning("%s: skipping %s: %s", source, path, reason)
            usable[i] = False
        elif crop_size is not None and min(dims) < crop_size:
            smaller += 1
    seconds = time.perf_counter() - started
    skipped = int((~usable).sum())
    logging.info("%s: checked %d images in %.1f s; %d unreadable and skipped%s", source,
                 len(paths), seconds, skipped, " (warnings above)" if skipped else "")
    if smaller:
        logging.info("%s: %d image(s) smaller than the %d px crop; each is cropped to its "
                     "largest centred square instead", source, smaller, crop_size)
    return usable


@dataclasses.dataclass(frozen=True)
class LabelledImages:
    """Image paths [N] and their labels float32 [N, dim]."""

    paths: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, keep: np.ndarray) -> LabelledImages:
        return LabelledImages(self.paths[keep], self.labels[keep])


def permuted_index(k: tf.Tensor, n: int, seed: int, offset: tf.Tensor | int = 0) -> tf.Tensor:
    """The file of example ``k``: entry (k mod n) + offset of epoch k // n's permutation.

    ``offset`` > 0 names the later entries of the same epoch tried when a file fails.
    """
    k = tf.cast(k, tf.int64)
    position = (k % n + tf.cast(offset, tf.int64)) % n
    epoch_seed = tf.stack([tf.constant(seed, tf.int64), k // n])
    return tf.random.experimental.index_shuffle(position, seed=epoch_seed, max_index=n - 1)


def random_flip(image: tf.Tensor, k: tf.Tensor, seed: int) -> tf.Tensor:
    """``image`` mirrored left-right or not, by a fair coin drawn statelessly from (seed, k)."""
    key = tf.random.experimental.stateless_fold_in(
        tf.constant([seed, _FLIP_STREAM], tf.int64), tf.cast(k, tf.int64))
    flip = tf.random.stateless_uniform((), seed=key) < 0.5
    return tf.cond(flip, lambda: image[:, ::-1], lambda: image)


class ImageFileSource:
    """A ``pipeline.Source`` over checked image files (see the module docstring).

    Args:
        label_set: the labels the files carry.
        train, held_out: the two splits, already checked.
        crop_size: center crop before resizing (None: the largest centred square).
        image_size: side of the images produced.
        seed: the seed of the epoch permutations and flips.
    """

    def __init__(self, label_set: LabelSet, train: LabelledImages, held_out: LabelledImages,
                 crop_size: int | None, image_size: int, seed: int = 0):
        if len(train) == 0:
            raise UserError(f"{label_set.name}: no readable training images")
        self.label_set, self.train, self.held_out_images = label_set, train, held_out
        self.crop_size, self.image_size, self.seed = crop_size, image_size, seed

    def load(self, path: tf.Tensor) -> tf.Tensor:
        """One file as a float32 [image_size, image_size, 3] image in [-1, 1], unflipped."""
        return center_crop_resize(decode_rgb(tf.io.read_file(path)), self.crop_size,
                                  self.image_size)

    def train_examples(self, start: int = 0,
                       share: tuple[int, int] | None = None) -> tf.data.Dataset:
        """The endless (image, labels) stream from example ``start`` on (``share``: see
        ``pipeline.Source``)."""
        n = len(self.train)
        paths, labels = tf.constant(self.train.paths), tf.constant(self.train.labels)
        tries = min(_REPLACEMENT_TRIES, n)

        def example(k):
            files = permuted_index(k, n, self.seed, tf.range(tries, dtype=tf.int64))

            def read(j):
                return random_flip(self.load(paths[j]), k, self.seed), labels[j], j, files[0]

            # The first candidate that decodes wins; failures are dropped in order, so
            # which file stands in is fixed by (seed, k) alone. j = -1: none decoded.
            found = tf.data.Dataset.from_tensor_slices(files).map(read).ignore_errors()
            none = tf.data.Dataset.from_tensors((
                tf.zeros((self.image_size, self.image_size, 3)), tf.zeros((self.label_set.dim,)),
                tf.constant(-1, tf.int64), files[0]))
            return found.concatenate(none).take(1)

        def report(image, label, j, wanted):
            # Kept out of the parallel interleave: its side effects would serialise it
            # when op determinism is on.
            def warn():
                with tf.control_dependencies([tf.print(
                        "WARNING: unreadable image", paths[wanted], "replaced by",
                        paths[tf.maximum(j, 0)], output_stream=sys.stderr)]):
                    return tf.constant(True)

            failed = tf.debugging.Assert(tf.greater_equal(j, 0), [
                "None of", tries, "images from", paths[wanted], "on (one epoch's order) could "
                "be decoded; is the image folder still there?"])
            with tf.control_dependencies([failed]):
                warned = tf.cond(tf.not_equal(j, wanted), warn, lambda: tf.constant(False))
            with tf.control_dependencies([warned]):
                return tf.identity(image), label

        return example_indices(start, share).interleave(
            example, cycle_length=tf.data.AUTOTUNE, block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).map(report)

    def held_out(self, count: int) -> tuple[tf.Tensor, tf.Tensor, None]:
        """The first ``count`` held-out (images, labels, None), unflipped, in a fixed order."""
        images, labels = [], []
        for path, label in zip(self.held_out_images.paths, self.held_out_images.labels):
            if len(images) == count:
                break
            try:
                images.append(self.load(tf.constant(path)))
                labels.append(label)
            except tf.errors.OpError as error:
                logging.warning("%s: skipping held-out image %s: %s", self.label_set.name, path,
                                error.message)
        if not images:
            raise UserError(f"{self.label_set.name}: no readable held-out images")
        return tf.stack(images), tf.constant(np.stack(labels)), None


def image_file_source(label_set: LabelSet, items: list[tuple[str, np.ndarray]],
                      crop_size: int | None, image_size: int, seed: int) -> ImageFileSource:
    """Split ``items`` (path, labels [dim]) in file order, check the files, build the source.

    The split comes first, as the official code splits its labels file before opening any
    image: dropping unreadable files afterwards leaves every other image's side unchanged.
    """
    paths = np.array([path for path, _ in items], dtype=str)
    labels = np.array([values for _, values in items], np.float32).reshape(len(items),
                                                                            label_set.dim)
    held, train = split_held_out(list(range(len(items))), label_set.name)
    usable = check_images(list(paths), crop_size, label_set.name)

    def part(indices):
        indices = np.array(indices, np.int64)
        return LabelledImages(paths[indices], labels[indices]).subset(usable[indices])

    return ImageFileSource(label_set, part(train), part(held), crop_size, image_size, seed)


def example_indices(start: int, share: tuple[int, int] | None = None) -> tf.data.Dataset:
    """Example numbers from ``start`` on; with ``share=(count, period)`` only the first
    ``count`` of every ``period``, so a worker decodes nothing outside its share."""
    if share is None:
        return tf.data.Dataset.range(start, 1 << 62)
    count, period = share
    return tf.data.Dataset.range(1 << 62).map(
        lambda t: start + t // count * period + t % count)
