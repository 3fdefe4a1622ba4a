import numpy as np
import pytest
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.labels import LabelLayout
from stargan_keras.run_dir import Checkpoints, RunDirectory, make_spec
from stargan_keras.training.loop import build_model


def _run(tmp_path, **overrides):
    config = TrainConfig(run_dir=str(tmp_path / "run"), **{**TINY, **overrides})
    layout = LabelLayout(tuple(s.label_set for s in make_sources(config)))
    run = RunDirectory(config.run_dir)
    run.claim(make_spec(config, layout))
    return config, layout, run


def test_networks_round_trip_through_a_checkpoint(tmp_path):
    config, layout, run = _run(tmp_path)
    model = build_model(config, layout)
    for variable in model.generator.weights + model.discriminator.weights:
        variable.assign(np.random.default_rng(0).normal(size=variable.shape))
    Checkpoints(run, generator=model.generator, discriminator=model.discriminator,
                g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer).save(10)
    # A fresh G and D of the recorded shape, restored alone (as translation does).
    generator, discriminator = run.build_networks()
    assert Checkpoints(run, generator=generator, discriminator=discriminator).restore(
        partial=True) == 10
    for saved, restored in ((model.generator, generator), (model.discriminator, discriminator)):
        assert len(saved.weights) == len(restored.weights) > 4
        for a, b in zip(saved.weights, restored.weights):
            assert a.path.split("/", 1)[1] == b.path.split("/", 1)[1]
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_claim_names_each_mismatch(tmp_path):
    _run(tmp_path)
    config = TrainConfig(run_dir=str(tmp_path / "run"), **{**TINY, "image_size": 32,
                                                           "d_conv_dim": 8})
    with pytest.raises(ValueError) as error:
        RunDirectory(config.run_dir).claim(make_spec(config, LabelLayout(tuple(
            s.label_set for s in make_sources(config)))))
    assert "image_size: run has 16, flags give 32" in str(error.value)
    assert "d_conv_dim: run has 4, flags give 8" in str(error.value)


def test_missing_checkpoint_lists_the_available_ones(tmp_path):
    config, layout, run = _run(tmp_path)
    model = build_model(config, layout)
    checkpoints = Checkpoints(run, generator=model.generator)
    checkpoints.save(5)
    with pytest.raises(FileNotFoundError, match="no checkpoint for iteration 7.*available: 5"):
        checkpoints.restore(7)


def test_config_comes_back_from_run_json(tmp_path):
    config, _, run = _run(tmp_path, seed=9, selected_attrs=("red", "green", "blue"))
    restored = run.config()
    assert restored == config and restored.selected_attrs == ("red", "green", "blue")


def test_partial_restore_refuses_a_checkpoint_without_the_network(tmp_path):
    config, layout, run = _run(tmp_path)
    model = build_model(config, layout)
    Checkpoints(run, generator=model.generator).save(5)
    generator, discriminator = run.build_networks()
    assert Checkpoints(run).holds("generator") and not Checkpoints(run).holds("discriminator")
    with pytest.raises(AssertionError, match="not bound to checkpointed values"):
        Checkpoints(run, generator=generator, discriminator=discriminator).restore(partial=True)
