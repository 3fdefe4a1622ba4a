"""Run directories for tests: a tiny trained run shared by a session, fresh ones, photos."""

from __future__ import annotations

import os

import numpy as np
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.labels import LabelLayout
from stargan_keras.run_dir import Checkpoints, RunDirectory, build_networks, make_spec


def trained_run(tmp_path_factory, name: str = "synthetic") -> str:
    """A tiny trained run, trained once per test session and shared by the test modules."""
    path = str(tmp_path_factory.getbasetemp() / f"issue5-{name}")
    if not os.path.exists(os.path.join(path, "checkpoints", "checkpoint")):
        from stargan_keras.training.loop import train

        train(TrainConfig(run_dir=path, dataset=name, **TINY))
    return path


def untrained_run(path: str, dataset: str, with_discriminator: bool = True,
                  **overrides) -> str:
    """A run directory with one checkpoint of fresh weights, as an importer writes one
    (of G alone when the official D is not given)."""
    from stargan_keras.data import make_sources

    config = TrainConfig(run_dir=path, dataset=dataset, **{**TINY, **overrides})
    layout = LabelLayout(tuple(s.label_set for s in make_sources(config)))
    run = RunDirectory(path)
    run.claim(make_spec(config, layout))
    generator, discriminator = build_networks(config.model_shape(), layout)
    networks = {"generator": generator}
    if with_discriminator:
        networks["discriminator"] = discriminator
    Checkpoints(run, **networks).save(0)
    return path


def untrained_joint_run(path: str, celeba_crop_size: int, rafd_crop_size: int) -> str:
    """A fresh run whose spec is a joint CelebA + RaFD run (dataset "both", with these
    crops) over the two synthetic label sets, so that no dataset is needed."""
    import json

    untrained_run(path, "synthetic_both")
    run = RunDirectory(path)
    config = TrainConfig(run_dir=path, dataset="both", celeba_crop_size=celeba_crop_size,
                         rafd_crop_size=rafd_crop_size, **TINY)
    spec = make_spec(config, run.layout())
    with open(run.spec_path, "w") as f:
        json.dump(spec, f)
    return path


def photo(height=40, width=60, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
