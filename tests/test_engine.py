import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.labels import LabelLayout
from stargan_keras.training.distribute import distribute
from stargan_keras.training.loop import build_model


def _setup(dataset="synthetic", **overrides):
    config = TrainConfig(dataset=dataset, **{**TINY, **overrides})
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    return config, sources, layout


def _weights(model):
    return [w.numpy() for w in model.generator.weights + model.discriminator.weights]


@pytest.mark.parametrize("dataset,sets", [("synthetic", 1), ("synthetic_both", 2)])
def test_one_step_runs_the_n_critic_schedule(dataset, sets):
    config, sources, layout = _setup(dataset, n_critic=3)
    model = build_model(config, layout)
    batch = next(iter(training_batches(sources, layout, 4, 3)))
    before = _weights(model)
    logs = tf.function(model.train_step)(batch)
    assert set(logs) == {"D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp",
                         "G/loss_fake", "G/loss_rec", "G/loss_cls"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert int(model.d_optimizer.iterations) == 3 * sets
    assert int(model.g_optimizer.iterations) == sets
    assert int(model.iteration) == 3
    assert all(np.abs(a - b).max() > 0 for a, b in zip(before, _weights(model)))


def test_d_loss_terms_match_the_paper_on_one_update():
    # n_critic=1 and a zero learning rate: the logged D terms must equal the losses
    # computed by hand from the same networks and batch.
    config, sources, layout = _setup(n_critic=1, g_lr=1e-30, d_lr=1e-30, num_iters=5,
                                     log_step=1, sample_step=1, model_save_step=1)
    model = build_model(config, layout)
    batch = next(iter(training_batches(sources, layout, 4, 1)))
    logs = model.train_step(batch)
    x, c, t = batch["images"], batch["labels"], batch["target_labels"]
    fake = model.generator([x, t])
    src_real, cls_real = model.discriminator(x)
    src_fake, _ = model.discriminator(fake)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=c, logits=cls_real)
    assert float(logs["D/loss_real"]) == pytest.approx(-float(tf.reduce_mean(src_real)), rel=1e-4)
    assert float(logs["D/loss_fake"]) == pytest.approx(float(tf.reduce_mean(src_fake)), rel=1e-4)
    assert float(logs["D/loss_cls"]) == pytest.approx(
        float(tf.reduce_sum(bce)) / 4, rel=1e-4)
    rec = model.generator([fake, c])
    assert float(logs["G/loss_rec"]) == pytest.approx(
        float(tf.reduce_mean(tf.abs(x - rec))), rel=1e-4)


def _with_sgd(model, size):
    model.compile(g_optimizer=keras.optimizers.SGD(1e-3), d_optimizer=keras.optimizers.SGD(1e-3))
    model.build_all(size)
    return model


def _single_and_mirrored(optimizer: str, cycles: int):
    """The same global batches (8 per set and iteration) trained on one device and on
    two mirrored ones (4 each) from the same weights; returns both models and the logs."""
    config, sources, layout = _setup(n_critic=2)

    def build():
        model = build_model(config, layout)
        return _with_sgd(model, config.image_size) if optimizer == "sgd" else model

    single = build()
    initial = _weights(single)
    batches = iter(training_batches(sources, layout, 8, 2, num_replicas=1, seed=3))
    single_step = tf.function(single.train_step)
    single_logs = [single_step(next(batches)) for _ in range(cycles)]

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = build()
    for variable, value in zip(mirrored.generator.weights + mirrored.discriminator.weights,
                               initial):
        variable.assign(value)
    iterator = iter(distribute(strategy, lambda workers, worker: training_batches(
        sources, layout, 4, 2, num_replicas=2, seed=3, num_workers=workers, worker=worker)))

    @tf.function
    def step(it):
        logs = strategy.run(mirrored.train_step, args=(next(it),))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in logs.items()}

    mirrored_logs = [step(iterator) for _ in range(cycles)]
    return single, mirrored, single_logs, mirrored_logs


def test_mirrored_two_devices_equal_one_device_with_adam():
    # The optimizer training uses (build_model's Adam), two cycles so Adam's moments
    # carry over. Compared: every logged term and what the networks compute. Not the raw
    # weights: Adam divides each step by the gradient's own size, so where a gradient is
    # at rounding level (G's label channels at the centre tap of its first kernel have
    # an exact gradient of 0, the instance norm cancelling them) the two devices' summing
    # orders give +-lr steps of either sign. Those weights change no output.
    single, mirrored, single_logs, mirrored_logs = _single_and_mirrored("adam", cycles=2)
    assert isinstance(mirrored.d_optimizer, type(single.d_optimizer))
    for expected, got in zip(single_logs, mirrored_logs):
        for name, value in expected.items():
            assert float(got[name]) == pytest.approx(float(value), rel=1e-5, abs=1e-6), name
    x = tf.random.stateless_uniform((4, 16, 16, 3), (5, 6), -1, 1)
    c = tf.one_hot([0, 1, 2, 0], single.layout.width)
    for a, b in ((single.generator([x, c]), mirrored.generator([x, c])),
                 *zip(single.discriminator(x), mirrored.discriminator(x))):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_mirrored_two_devices_scale_gradients_like_one_device():
    # Adam is blind to a constant factor on the gradient (its step is m / sqrt(v)), so a
    # replica loss not divided by the replica count would pass the test above. With
    # plain SGD the update is proportional to the gradient: weights must agree.
    single, mirrored, _, _ = _single_and_mirrored("sgd", cycles=1)
    for a, b in zip(_weights(single), _weights(mirrored)):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


RECIPE = dict(n_critic=1, adv_loss="r1", lambda_r1=2.0, lambda_cls_r1=3.0, g_attention=True,
              lambda_mask=0.3, g_skip=True,
              g_upsample="nearest", g_ema_decay=0.999, diff_augment=("translation", "cutout"))


def test_fast_recipe_terms_match_their_definitions_on_one_update():
    # A zero learning rate: each logged term must equal its definition computed by hand
    # from the same networks, batch and augmentation draws.
    from stargan_keras.training import augment

    config, sources, layout = _setup(g_lr=1e-30, d_lr=1e-30, num_iters=5, log_step=1,
                                     sample_step=1, model_save_step=1, **RECIPE)
    model = build_model(config, layout)
    assert model.metric_names == ("D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_r1",
                                  "D/loss_cls_r1", "G/loss_fake", "G/loss_rec", "G/loss_cls",
                                  "G/loss_mask")
    batch = next(iter(training_batches(sources, layout, 4, 1)))
    x, c, t = batch["images"], batch["labels"], batch["target_labels"]
    # Expectations from the weights before the step: even a 1e-30 update moves D's zero
    # biases off zero, which flips LeakyReLU's slope where cutout zeros meet them.
    policy = ("translation", "cutout")
    fake, mask = model.generator([x, t], return_mask=True)
    # D's update was the first D update (seed [0, 0]); G's the first G update ([1, 0]).
    seen = augment.augment(tf.concat([x, fake], 0), policy, tf.constant([0, 0]))
    src, cls = model.discriminator(seen)
    with tf.GradientTape() as tape:
        real_seen = seen[:4]
        tape.watch(real_seen)
        real_src = tf.reduce_sum(model.discriminator(real_seen)[0])
    grad = tape.gradient(real_src, real_seen)
    with tf.GradientTape() as tape:
        tape.watch(real_seen)
        per_image = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=c, logits=model.discriminator(real_seen)[1]), axis=1)
        cls_total = tf.reduce_sum(per_image)
    cls_grad = tape.gradient(cls_total, real_seen)
    expected = {
        "D/loss_real": tf.reduce_mean(tf.nn.softplus(-src[:4])),
        "D/loss_fake": tf.reduce_mean(tf.nn.softplus(src[4:])),
        "D/loss_r1": 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3])),
        "D/loss_cls_r1": 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(cls_grad),
                                                            axis=[1, 2, 3])),
        "D/loss_cls": tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=c, logits=cls[:4])) / 4,
    }
    g_src, _ = model.discriminator(augment.augment(fake, policy, tf.constant([1, 0])))
    rec, rec_mask = model.generator([fake, c], return_mask=True)
    expected["G/loss_fake"] = tf.reduce_mean(tf.nn.softplus(-g_src))
    expected["G/loss_mask"] = tf.reduce_mean(1.0 - tf.concat([mask, rec_mask], 0))
    expected["G/loss_rec"] = tf.reduce_mean(tf.abs(x - rec))
    logs = model.train_step(batch)
    assert set(logs) == set(model.metric_names)
    for name, value in expected.items():
        assert float(logs[name]) == pytest.approx(float(value), rel=1e-4, abs=1e-7), name


def test_moving_average_of_g_follows_the_warm_up_decay():
    config, sources, layout = _setup(**RECIPE)
    model = build_model(config, layout)
    before = {k: v.numpy() for k, v in model.ema_weights.items()}
    assert set(before) == {w.path.split("/", 1)[1] for w in model.generator.weights}
    for weight in model.generator.weights:
        np.testing.assert_array_equal(before[weight.path.split("/", 1)[1]], weight)
    batches = iter(training_batches(sources, layout, 4, 1))
    step = tf.function(model.train_step)
    step(next(batches))
    # After G update t = 1 the decay is min(0.999, 2 / 11).
    decay = 2 / 11
    for weight in model.generator.weights:
        key = weight.path.split("/", 1)[1]
        np.testing.assert_allclose(model.ema_weights[key],
                                   decay * before[key] + (1 - decay) * weight.numpy(),
                                   rtol=1e-5, atol=1e-7)
    averaged = model.averaged_generator()
    assert averaged is not model.generator
    for weight in averaged.weights:
        np.testing.assert_array_equal(weight, model.ema_weights[weight.path.split("/", 1)[1]])
    plain = build_model(_setup()[0], layout)
    assert plain.averaged_generator() is plain.generator and not plain.ema_weights
