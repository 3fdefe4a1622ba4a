"""CelebA (``--dataset=celeba``): the official folder layout, or TensorFlow Datasets.

Official layout: ``--celeba_image_dir`` (img_align_celeba/, 202,599 JPEGs of 178 x 218)
and ``--attr_path`` (list_attr_celeba.txt). As the official code, the attribute lines
are shuffled with ``random.seed(1234)`` and the first 2000 held out. The official loop
tests ``(i + 1) < 2000`` and so holds out 1999; we hold out the 2000 its README and the
paper describe, so line 2000 of the shuffled list is a test image here, a training
image there. Preprocessing: random horizontal flip (training only), center crop
``celeba_crop_size``, resize, scale to [-1, 1].

TensorFlow Datasets (``--tfds_data_dir``): ``celeb_a`` prepared in the array_record
format, which allows the random access a resumable, seeded order needs. tfds keeps no
file names, so StarGAN's split cannot be rebuilt: CelebA's own partition is used
instead, training on train + validation (182,637 images) and holding out test.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from stargan_keras.data.image_files import (
    ImageFileSource,
    example_indices,
    image_file_source,
    permuted_index,
    random_flip,
)
from stargan_keras.data.label_files import label_matrix, read_labels_file
from stargan_keras.data.preprocess import center_crop_resize
from stargan_keras.labels import CELEBA_HAIR_COLOURS, LabelSet, select_attributes


def celeba_label_set(selected_attrs: tuple[str, ...], name: str = "celeba") -> LabelSet:
    """Multi-label; the selected hair colours (two or more) form one exclusive group."""
    hair = tuple(a for a in selected_attrs if a in CELEBA_HAIR_COLOURS)
    return LabelSet(name, tuple(selected_attrs), multi_label=True,
                    exclusive=(hair,) if len(hair) > 1 else ())


def labelled_files(image_dir: str, attr_path: str, selected_attrs: tuple[str, ...] | None
                   ) -> tuple[tuple[str, ...], list[tuple[str, np.ndarray]]]:
    """The attributes chosen (all when ``selected_attrs`` is None) and (image path, their
    labels) per line of the labels file, in file order."""
    labels_file = read_labels_file(attr_path)
    if selected_attrs is None:
        selected_attrs = labels_file.names
    columns = select_attributes(labels_file.names, selected_attrs, attr_path)
    values = label_matrix(labels_file.rows, columns)
    return tuple(selected_attrs), [(os.path.join(image_dir, row.filename), values[i])
                                   for i, row in enumerate(labels_file.rows)]


def celeba_folder_source(image_dir: str, attr_path: str, selected_attrs: tuple[str, ...],
                         crop_size: int, image_size: int, seed: int) -> ImageFileSource:
    """CelebA from img_align_celeba/ and list_attr_celeba.txt, split as the official code."""
    _, items = labelled_files(image_dir, attr_path, selected_attrs)
    return image_file_source(celeba_label_set(selected_attrs), items, crop_size, image_size,
                             seed)


class TfdsCelebA:
    """A ``pipeline.Source`` over tfds ``celeb_a`` (array_record), by random access.

    Example k is record ``permuted_index(k)`` of the training split, as for files, so
    the stream is a pure function of (seed, k). Records are read through
    ``tf.numpy_function`` (tfds decodes them in Python); crop, resize and flip run in
    the graph.
    """

    TRAIN_SPLIT, HELD_OUT_SPLIT = "train+validation", "test"

    def __init__(self, data_dir: str | None, selected_attrs: tuple[str, ...], crop_size: int,
                 image_size: int, seed: int = 0):
        import tensorflow_datasets as tfds  # only this path needs it

        self._train, self._test = (
            tfds.data_source("celeb_a", split=split, data_dir=data_dir, download=False)
            for split in (self.TRAIN_SPLIT, self.HELD_OUT_SPLIT))
        all_names = tuple(self._train.dataset_info.features["attributes"].keys())
        select_attributes(all_names, selected_attrs, f"tfds celeb_a in {data_dir}")
        self.label_set = celeba_label_set(selected_attrs)
        self.crop_size, self.image_size, self.seed = crop_size, image_size, seed

    def _record(self, records, index: int) -> tuple[np.ndarray, np.ndarray]:
        record = records[int(index)]
        labels = [record["attributes"][name] for name in self.label_set.names]
        return np.asarray(record["image"], np.uint8), np.array(labels, np.float32)

    def _read(self, records, index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image, labels = tf.numpy_function(lambda i: self._record(records, i), [index],
                                          (tf.uint8, tf.float32), stateful=False)
        image.set_shape((None, None, 3))
        labels.set_shape((self.label_set.dim,))
        return center_crop_resize(image, self.crop_size, self.image_size), labels

    def train_examples(self, start: int = 0,
                       share: tuple[int, int] | None = None) -> tf.data.Dataset:
        """The endless (image, labels) stream from example ``start`` on (``share``: see
        ``pipeline.Source``)."""
        n = len(self._train)

        def example(k):
            image, labels = self._read(self._train, permuted_index(k, n, self.seed))
            return random_flip(image, k, self.seed), labels

        return example_indices(start, share).map(
            example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def held_out(self, count: int) -> tuple[tf.Tensor, tf.Tensor, None]:
        """The first ``count`` test-split (images, labels, None), unflipped."""
        pairs = [self._read(self._test, tf.constant(i, tf.int64))
                 for i in range(min(count, len(self._test)))]
        return tf.stack([p[0] for p in pairs]), tf.stack([p[1] for p in pairs]), None
