"""Datasets: each source yields (image in [-1, 1], labels) examples for one label set.

A source (see ``pipeline.Source``) has a ``label_set``, an endless, deterministic
``train_examples(start)`` stream and ``held_out(count)`` -> (images, labels, extra) for
sample grids and evaluation (``extra`` is the scenes for synthetic data, else None).
"""

from __future__ import annotations

from stargan_keras.config import SYNTHETIC_DATASETS, TrainConfig
from stargan_keras.data import synthetic


def make_sources(config: TrainConfig) -> list:
    """The data sources behind ``config.dataset``, in label-layout order."""
    if config.dataset in SYNTHETIC_DATASETS:
        attrs = tuple(config.selected_attrs)
        if config.selected_attrs == TrainConfig.selected_attrs:
            attrs = synthetic.MULTI_LABEL_NAMES  # CelebA's default names mean nothing here
        return synthetic.synthetic_sources(config.dataset, config.image_size, config.seed, attrs)
    raise ValueError(f"--dataset={config.dataset!r} is not supported")
