"""--mixed_precision: low-precision compute, float32 variables, losses and penalty, and
float16 loss scaling; --jit_compile."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.labels import LabelLayout
from stargan_keras.models.layers import instance_norm
from stargan_keras.training.loop import build_model, train
from stargan_keras.training.precision import compute_precision


def _setup(**overrides):
    config = TrainConfig(dataset="synthetic", **{**TINY, "n_critic": 2, **overrides})
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    return config, sources, layout


def _networks(model):
    return model.generator.weights + model.discriminator.weights


def _changes(model, initial):
    """What training changed in G and D: their weights minus ``initial`` (the values of
    ``_networks(model)`` before), each network's flattened into one vector."""
    change = [(w.numpy() - w0).ravel() for w, w0 in zip(_networks(model), initial)]
    split = len(model.generator.weights)
    return {"G": np.concatenate(change[:split]), "D": np.concatenate(change[split:])}


def _copy_weights(source, target):
    for a, b in zip(_networks(source), _networks(target)):
        b.assign(a)


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_networks_compute_low_and_keep_float32_outside(precision):
    config, _, layout = _setup(mixed_precision=precision)
    model = build_model(config, layout)
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    convs = [layer for layer in model.generator._flatten_layers()
             if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == precision for layer in convs)
    assert all(w.dtype == "float32" for w in _networks(model))
    images = tf.zeros((2, 16, 16, 3))
    fake = model.generator([images, tf.zeros((2, layout.width))])
    src, cls = model.discriminator(images)
    assert (fake.dtype, src.dtype, cls.dtype) == (tf.float32,) * 3
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer) == (
        precision == "float16")


def test_instance_norm_statistics_are_float32_under_bfloat16():
    # Values 256 and 258 are exact in bfloat16, but their mean (257) and variance (1)
    # are lost if the statistics are accumulated in bfloat16; in float32 the
    # normalised values are exactly -1 and +1.
    x = np.tile([256.0, 258.0], 8 * 8 * 2).reshape(1, 16, 16, 1).astype(np.float32)
    with compute_precision("bfloat16"):
        norm = instance_norm("norm")
    norm.build(x.shape)
    out = norm(x).numpy().astype(np.float32)
    assert norm.compute_dtype == "bfloat16"
    np.testing.assert_allclose(out, np.where(x == 256.0, -1.0, 1.0), atol=1e-2)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_a_few_iterations_stay_finite_and_close_to_float32(precision):
    # Fixed initial weights: unseeded, a rare draw put bfloat16's penalty 0.03-0.06 off
    # float32's when this test ran alone (in the suite an earlier train() seeds Keras).
    keras.utils.set_random_seed(0)
    config, sources, layout = _setup()
    batches = iter(training_batches(sources, layout, 4, 2, seed=1))
    cycles = [next(batches) for _ in range(3)]
    reference = build_model(config, layout)
    low = build_model(dataclasses.replace(config, mixed_precision=precision), layout)
    _copy_weights(reference, low)
    initial = [w.numpy() for w in _networks(reference)]
    if precision == "float16":
        # The default first scale (2**15) overflows in the first updates, which are then
        # skipped (see the next test); a smaller one lets every update through.
        for optimizer in (low.d_optimizer, low.g_optimizer):
            optimizer.dynamic_scale.assign(256.0)
    reference_step, low_step = tf.function(reference.train_step), tf.function(low.train_step)
    for batch in cycles:
        expected = {k: float(v) for k, v in reference_step(batch).items()}
        got = {k: float(v) for k, v in low_step(batch).items()}
        for name, value in expected.items():
            assert np.isfinite(got[name]), name
            # bfloat16 keeps ~3 significant digits; the weights drift apart over steps.
            assert got[name] == pytest.approx(value, rel=0.03, abs=0.02), name
    assert int(low.d_optimizer.iterations) == int(reference.d_optimizer.iterations) == 6
    # An Adam step moves a weight by about lr (1e-4): the weights would match float32's
    # even if no update had been applied, so compare what the updates changed.
    expected, got = _changes(reference, initial), _changes(low, initial)
    d_error = np.linalg.norm(got["D"] - expected["D"]) / np.linalg.norm(expected["D"])
    assert d_error < 0.2  # 0.02-0.09 for initial-weight seeds 0-2
    # G's gradients pass through D and G in low precision: where they are small, their
    # sign flips, and Adam makes as large a step of each (relative errors 0.26-0.66).
    # The change still has float32's size (Adam steps are about lr whatever the
    # gradient) and its direction (cosines 0.78-0.97 for seeds 0-2).
    size = np.linalg.norm(got["G"]) / np.linalg.norm(expected["G"])
    cosine = got["G"] @ expected["G"] / (np.linalg.norm(got["G"]) * np.linalg.norm(expected["G"]))
    assert size == pytest.approx(1.0, abs=0.05) and cosine > 0.6, (size, cosine)


def test_float16_overflow_skips_the_update_halves_the_scale_and_counts():
    # Decay over the whole run of 2 iterations, so that the rate of the second update
    # (iteration 1) is not the first's.
    config, sources, layout = _setup(mixed_precision="float16", num_iters=2, num_iters_decay=2)
    model = build_model(config, layout)
    before = [w.numpy() for w in model.discriminator.weights]
    model.d_optimizer.dynamic_scale.assign(2.0**60)  # overflows float16 at once
    args = [v[0, 0] for v in model.split_cycle(
        next(iter(training_batches(sources, layout, 4, 2))))]
    model.d_update(*args)
    assert float(model.d_optimizer.dynamic_scale) == 2.0**59
    # The skipped update still counts, so the learning-rate schedule (which reads the
    # count) stays on the training loop's iteration: the next update gets iteration 1's
    # rate, d_lr - d_lr / num_iters_decay in the official solver, not d_lr again.
    assert int(model.d_optimizer.iterations) == 1
    assert float(model.d_optimizer.learning_rate) == pytest.approx(1e-4 - 1e-4 / 2)
    for a, b in zip(before, model.discriminator.weights):
        np.testing.assert_array_equal(a, b.numpy())


def test_float16_penalty_gradient_is_scaled_past_underflow():
    # D's first convolution and real/fake head scaled down make d src / d x_hat ~1e-9,
    # below float16's smallest subnormal (6e-8): without the loss scale it is all zeros.
    # Seeded: the weights (and so the size of the gradient) then do not depend on which
    # tests ran before (seeds 0-7 give relative errors of 0.002-0.004 at 2**15).
    keras.utils.set_random_seed(0)
    config, sources, layout = _setup()
    reference = build_model(config, layout)
    half = build_model(dataclasses.replace(config, mixed_precision="float16"), layout)
    _copy_weights(reference, half)
    for model in (reference, half):
        for layer in (model.discriminator.trunk[0], model.discriminator.src_head):
            layer.kernel.assign(layer.kernel * 3e-4)
    x_hat = next(iter(training_batches(sources, layout, 4, 2)))["images"][:4]
    expected = reference.penalty_gradient(x_hat).numpy()
    assert 0 < np.abs(expected).max() < 6e-8

    def relative_error(scale):
        half.d_optimizer.dynamic_scale.assign(scale)
        got = half.penalty_gradient(x_hat).numpy()
        return np.linalg.norm(got - expected) / np.linalg.norm(expected)

    assert relative_error(2.0**15) < 0.15  # the default first scale
    assert relative_error(1.0) > 0.9  # what loss scaling saves it from


@pytest.mark.slow
def test_jit_compile_trains_like_the_plain_step(tmp_path):
    runs = {}
    for jit in (False, True):
        # n_critic 1: XLA compiles the whole unrolled cycle, which is slow.
        config = TrainConfig(run_dir=str(tmp_path / f"jit_{jit}"), **{
            **TINY, "n_critic": 1, "num_iters": 2, "num_iters_decay": 1, "log_step": 1,
            "sample_step": 2, "model_save_step": 2, "jit_compile": jit})
        runs[jit] = {w.path: w.numpy() for w in _networks(train(config))}
    for path, a in runs[False].items():
        b = runs[True][path]
        if path.endswith("stem_conv/kernel"):
            # The centre tap of G's label channels has an exact gradient of 0 (the instance
            # norm cancels it; test_parity.py): Adam turns its rounding noise into +-lr steps.
            a, b = a.copy(), b.copy()
            a[3, 3, 3:] = b[3, 3, 3:] = 0
        np.testing.assert_allclose(a, b, atol=1e-4, err_msg=path)


@pytest.mark.slow
def test_bfloat16_training_run_writes_a_float32_checkpoint(tmp_path):
    config = TrainConfig(run_dir=str(tmp_path / "run"), mixed_precision="bfloat16",
                         **{**TINY, "num_iters": 5})
    model = train(config)
    reader = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints"))
    dtypes = reader.get_variable_to_dtype_map()
    assert dtypes and all(d == tf.float32 for name, d in dtypes.items()
                          if name.startswith(("generator/", "discriminator/")))
    assert all(np.isfinite(w.numpy()).all() for w in _networks(model))


def test_unknown_precision_is_refused_by_name():
    with pytest.raises(ValueError, match="--mixed_precision='float8'"):
        TrainConfig(mixed_precision="float8").validate()
