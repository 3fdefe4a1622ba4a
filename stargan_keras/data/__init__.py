"""Datasets: each source yields (image in [-1, 1], labels) examples for one label set.

A source (see ``pipeline.Source``) has a ``label_set``, an endless, deterministic
``train_examples(start)`` stream and ``held_out(count)`` -> (images, labels, extra) for
sample grids and evaluation (``extra`` is the scenes for synthetic data, else None).
"""

from __future__ import annotations

from stargan_keras.config import FACE_DATASETS, SYNTHETIC_DATASETS, TrainConfig
from stargan_keras.data import faces, synthetic
from stargan_keras.data.celeba import TfdsCelebA, celeba_folder_source
from stargan_keras.data.folder import folder_source
from stargan_keras.data.rafd import rafd_source
from stargan_keras.errors import UserError


def make_sources(config: TrainConfig) -> list:
    """The data sources behind ``config.dataset``, in label-layout order."""
    default_attrs = config.selected_attrs == TrainConfig.selected_attrs
    if config.dataset in SYNTHETIC_DATASETS:
        attrs = tuple(config.selected_attrs)
        if default_attrs:
            attrs = synthetic.MULTI_LABEL_NAMES  # CelebA's default names mean nothing here
        return synthetic.synthetic_sources(config.dataset, config.image_size, config.seed, attrs)
    if config.dataset in FACE_DATASETS:
        # The faces carry CelebA's attribute names, so its default selection applies.
        return faces.face_sources(config.dataset, config.image_size, config.seed,
                                  tuple(config.selected_attrs))
    if config.dataset == "folder":
        # CelebA's default names mean nothing to your own data: then learn every column.
        attrs = None if default_attrs else tuple(config.selected_attrs)
        return [folder_source(config.image_dir, config.attr_path, attrs, config.image_size,
                              config.seed)]
    sources = []
    if config.dataset in ("celeba", "both"):
        sources.append(_celeba(config))
    if config.dataset in ("rafd", "both"):
        sources.append(rafd_source(config.rafd_image_dir, config.rafd_crop_size,
                                   config.image_size, config.seed))
    if not sources:
        raise UserError(f"--dataset={config.dataset!r} is not supported")
    return sources


def _celeba(config: TrainConfig):
    attrs = tuple(config.selected_attrs)
    if config.tfds_data_dir is not None:
        return TfdsCelebA(config.tfds_data_dir, attrs, config.celeba_crop_size,
                          config.image_size, config.seed)
    return celeba_folder_source(config.celeba_image_dir, config.attr_path, attrs,
                                config.celeba_crop_size, config.image_size, config.seed)
